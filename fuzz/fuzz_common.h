/* fuzz_common.h - helpers shared by the libFuzzer harnesses: chunk sizes drawn from the
 * input, and a canonical text of a decoded record (every field decode.c keeps, through the
 * field tables of model.h) so two decodings can be compared byte for byte. Harnesses that
 * use record_text include decode.c first. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"

/* xorshift32: the chunk sizes of one run, from a seed taken from the input. */
static uint32_t fz_next(uint32_t *s)
{
	uint32_t x = *s ? *s : 0x9E3779B9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

/* Feed data[0..n) in chunks whose sizes (1 to max) come from seed; 0 or -1. */
static int fz_feed(struct ct_decoder *d, const uint8_t *data, size_t n, uint32_t seed, size_t max,
		   struct ct_err *e)
{
	size_t off = 0;

	while (off < n) {
		size_t k = 1 + fz_next(&seed) % max;

		if (k > n - off)
			k = n - off;
		if (ct_decoder_feed(d, data + off, k, e) < 0)
			return -1;
		off += k;
	}
	return 0;
}

#ifdef FUZZ_HAVE_FIELDS
static void fz_str(struct ct_sb *sb, const char *s)
{
	if (!s) {
		ct_sb_adds(sb, "(null)");
		return;
	}
	ct_sb_addf(sb, "%zu:", strlen(s));
	ct_sb_adds(sb, s);
}

/* Every kept field of o, in table order. */
static void record_text(struct ct_sb *sb, const struct ct_obj *o)
{
	size_t n;
	const struct ct_field *fs = ct_class_fields(o->cls, &n);

	ct_sb_addf(sb, "[%d ", (int)o->cls);
	fz_str(sb, o->ref);
	for (size_t i = 0; i < n; i++) {
		const struct ct_field *f = &fs[i];
		const char *p = (const char *)o + f->off;

		ct_sb_addf(sb, " %s=", f->name);
		switch ((enum ct_field_kind)f->kind) {
		case CT_F_STR:
			fz_str(sb, *(char *const *)p);
			break;
		case CT_F_BOOL:
		case CT_F_VBDMODE:
			ct_sb_addf(sb, "%d", *(const bool *)p);
			break;
		case CT_F_INT:
			ct_sb_addf(sb, "%lld", (long long)*(const int64_t *)p);
			break;
		case CT_F_DOUBLE:
			ct_sb_addf(sb, "%a", *(const double *)p);
			break;
		case CT_F_TIME:
			ct_sb_addf(sb, "%lld", (long long)*(const time_t *)p);
			break;
		case CT_F_POWER:
		case CT_F_VDITYPE:
		case CT_F_VBDTYPE:
		case CT_F_TASKSTATUS:
			ct_sb_addf(sb, "%d", *(const int *)p);
			break;
		case CT_F_SET:
		case CT_F_MAPVALS: {
			const struct ct_strset *s = (const struct ct_strset *)p;

			for (size_t k = 0; k < s->n; k++)
				fz_str(sb, s->v[k]);
			break;
		}
		case CT_F_MAP: {
			const struct ct_map *m = (const struct ct_map *)p;

			for (size_t k = 0; k < m->n; k++) {
				fz_str(sb, m->k[k]);
				fz_str(sb, m->v[k]);
			}
			break;
		}
		}
	}
	ct_sb_adds(sb, "]\n");
}
#endif

#endif
