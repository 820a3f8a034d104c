/* fuzz_decode: the streaming decoder (src/xapi/decode.c) on every reply kind, fed in chunks whose
 * sizes come from the input, and compared with a one-shot decoding of the same bytes: valid
 * XML must decode the same whatever the chunking, invalid XML must fail both ways. The
 * verdict on well-formedness is also compared with libexpat's: a reply expat refuses must not
 * decode (outside decode.c's documented leniencies: invalid UTF-8 becomes U+FFFD, a stray
 * '&' in text chaintop skips), and a reply expat accepts must not be called ill-formed
 * (outside its documented refusals: comments, CDATA, DOCTYPE, tags over 1024 bytes).
 *
 * Input: byte 0 = kind (low 3 bits), class (next 4 bits), lower limits (top bit); byte 1 =
 * chunk seed (and the largest chunk); the reply follows. decode.c is included so the
 * harness can print every kept field through decode.c's own tables. */
#include "xapi/decode.c"

#include <expat.h>

#define FUZZ_HAVE_FIELDS
#include "fuzz_common.h"

struct run {
	struct ct_sb out;
	char err[sizeof(((struct ct_err *)0)->msg)];   /* the failure's sentence, "" on success */
};

static void on_record(void *ctx, struct ct_obj *o)
{
	struct run *r = ctx;

	record_text(&r->out, o);
	ct_obj_free(o);
}

/* Decode and describe the outcome in r->out: what was decoded, or the error's class. */
static void run_once(struct run *r, enum ct_dec_kind kind, enum ct_class cls, bool small,
		     const uint8_t *data, size_t n, uint32_t seed, size_t max)
{
	struct ct_decoder *d = ct_decoder_new(kind, cls, on_record, r);
	struct ct_err e;
	int rc;

	ct_err_init(&e);
	if (small)
		ct_decoder_set_limits(d, 64, 12, 8);
	rc = max ? fz_feed(d, data, n, seed, max, &e) : ct_decoder_feed(d, data, n, &e);
	if (rc == 0)
		rc = ct_decoder_finish(d, &e);
	if (rc < 0) {
		/* where a failure is noticed may depend on the chunking, not whether or why */
		if (e.code != CT_E_PROTO && e.code != CT_E_XAPI)
			__builtin_trap();
		r->out.len = 0;
		ct_sb_addf(&r->out, "error %d %s", (int)e.code, e.code == CT_E_XAPI ? e.msg : "");
		snprintf(r->err, sizeof(r->err), "%s", e.msg);
		ct_decoder_free(d);
		return;
	}
	switch (kind) {
	case CT_DEC_RECORD: {
		struct ct_obj *o = ct_decoder_take_record(d);

		if (!o || o->cls != cls)
			__builtin_trap();
		record_text(&r->out, o);
		ct_obj_free(o);
		break;
	}
	case CT_DEC_EVENTS: {
		struct ct_event_batch b;

		ct_decoder_take_events(d, &b);
		if (!b.token)
			__builtin_trap();
		ct_sb_adds(&r->out, "token ");
		fz_str(&r->out, b.token);
		for (int c = 0; c < CT_NCLASSES; c++)
			ct_sb_addf(&r->out, " %d", b.valid_ref_counts[c]);
		for (size_t i = 0; i < b.n; i++) {
			ct_sb_addf(&r->out, "\nev %d %d ", (int)b.ev[i].op, (int)b.ev[i].cls);
			fz_str(&r->out, b.ev[i].ref);
			if (b.ev[i].snapshot)
				record_text(&r->out, b.ev[i].snapshot);
		}
		ct_event_batch_release(&b);
		break;
	}
	case CT_DEC_FRAGMENT:
	case CT_DEC_STRING: {
		char *s = ct_decoder_take_string(d);

		if (!s)
			__builtin_trap();
		fz_str(&r->out, s);
		free(s);
		break;
	}
	case CT_DEC_SET: {
		struct ct_strset set;

		ct_decoder_take_set(d, &set);
		for (size_t i = 0; i < set.n; i++)
			fz_str(&r->out, set.v[i]);
		ct_strset_release(&set);
		break;
	}
	default:
		ct_sb_addf(&r->out, "records %zu", ct_decoder_records(d));
		break;
	}
	if (ct_decoder_bytes(d) != n)
		__builtin_trap();
	ct_decoder_free(d);
}

static bool expat_well_formed(const uint8_t *data, size_t n)
{
	XML_Parser p = XML_ParserCreate(NULL);
	bool ok = XML_Parse(p, (const char *)data, (int)n, 1) == XML_STATUS_OK;

	XML_ParserFree(p);
	return ok;
}

/* Strict UTF-8 without U+FFFE/U+FFFF (what expat accepts). */
static bool utf8_ok(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		unsigned long cp;

		if (!len || i + len > n)
			return false;
		cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF) ||
		    cp == 0xFFFE || cp == 0xFFFF)
			return false;
		i += len;
	}
	return true;
}

/* Inputs where decode.c is lenient on purpose: invalid UTF-8, a '&' that starts no valid
 * reference (decode.c does not look at text it skips), "]]>" in text. */
static bool lenient_input(const uint8_t *s, size_t n)
{
	if (!utf8_ok(s, n) || memmem(s, n, "]]>", 3))
		return true;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *semi;

		if (s[i] != '&')
			continue;
		semi = memchr(s + i + 1, ';', n - i - 1 < 64 ? n - i - 1 : 64);
		if (!semi || reference((const char *)s + i + 1, (size_t)(semi - s - i - 1)) < 0)
			return true;
	}
	return false;
}

static void compare_with_expat(const struct run *r, const uint8_t *data, size_t n)
{
	static const char prefix[] = "the reply is not well-formed XML (";
	bool ours_malformed = !strncmp(r->err, prefix, sizeof(prefix) - 1) &&
			      strncmp(r->err + sizeof(prefix) - 1, "a tag longer", 12) &&
			      strncmp(r->err + sizeof(prefix) - 1, "a processing instruction longer", 31);
	bool ours_ok = strncmp(r->out.buf, "error ", 6) != 0;
	bool wf = expat_well_formed(data, n);

	if (wf && ours_malformed) {
		fprintf(stderr, "expat accepts what decode.c calls ill-formed: %s\n", r->err);
		__builtin_trap();
	}
	if (!wf && ours_ok && !lenient_input(data, n)) {
		fprintf(stderr, "decode.c accepts what expat refuses\n");
		__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum ct_dec_kind kinds[] = {
		CT_DEC_RECORDS, CT_DEC_RECORD, CT_DEC_EVENTS, CT_DEC_FRAGMENT, CT_DEC_STRING,
		CT_DEC_SET, CT_DEC_RECORDS, CT_DEC_EVENTS,
	};
	struct run whole, chunked;
	enum ct_dec_kind kind;
	enum ct_class cls;
	bool small;
	uint32_t seed;

	if (size < 2)
		return 0;
	kind = kinds[data[0] & 7];
	cls = (enum ct_class)(((data[0] >> 3) & 15) % CT_NCLASSES);
	small = data[0] & 0x80;
	seed = data[1] * 2654435761u + 1;
	ct_sb_init(&whole.out);
	ct_sb_init(&chunked.out);
	whole.err[0] = chunked.err[0] = '\0';
	run_once(&whole, kind, cls, small, data + 2, size - 2, 0, 0);
	run_once(&chunked, kind, cls, small, data + 2, size - 2, seed, 1 + data[1] % 67);
	if (whole.out.len != chunked.out.len || memcmp(whole.out.buf, chunked.out.buf, whole.out.len)) {
		fprintf(stderr, "one-shot and chunked decodings differ:\n--- one-shot\n%s\n--- "
			"chunked\n%s\n", whole.out.buf, chunked.out.buf);
		__builtin_trap();
	}
	if (!small)   /* lowered limits refuse what expat accepts */
		compare_with_expat(&whole, data + 2, size - 2);
	ct_sb_release(&whole.out);
	ct_sb_release(&chunked.out);
	return 0;
}
