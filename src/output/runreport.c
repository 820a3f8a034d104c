/* runreport.c - a job run as text lines (see runreport.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "output/runreport.h"
#include "lib/util.h"

static const char *nz(const char *s)
{
	return s ? s : "";
}

void ct_run_duration(time_t start, time_t end, char *buf, size_t len)
{
	char d[32];

	if (start <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	if (end <= 0) {
		ct_format_duration((long long)(time(NULL) - start), d, sizeof(d));
		snprintf(buf, len, "%s+", d);
		return;
	}
	ct_format_duration((long long)(end - start), buf, len);
}

const char *ct_run_marker(enum ct_run_status s)
{
	switch (s) {
	case CT_RUN_SUCCESS: return "  ";
	case CT_RUN_FORCED: return "! ";
	case CT_RUN_SKIPPED: return "- ";
	case CT_RUN_RUNNING: return "> ";
	default: return "x ";
	}
}

struct out {
	ct_line_fn fn;
	void *ctx;
};

/* One line, sanitised as a whole (history text comes from the pools). */
static void line(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(struct out *o, const char *fmt, ...)
{
	va_list ap;
	char *raw, *clean;
	size_t n;

	va_start(ap, fmt);
	if (vasprintf(&raw, fmt, ap) < 0)
		raw = NULL;
	va_end(ap);
	if (!raw) {
		o->fn(o->ctx, "(out of memory)");
		return;
	}
	n = strlen(raw) * 4 + 1;   /* every byte may become "\xNN" */
	clean = ct_xmalloc(n);
	ct_sanitize(raw, clean, n);
	o->fn(o->ctx, clean);
	free(clean);
	free(raw);
}

#define SEE_REASONS "see the reasons"

/* text with every reason of the item it repeats replaced by "see the reasons" (said once
 * even where several reasons were joined with "; "). Owned by the caller. */
static char *without_reasons(const char *text, const struct ct_item_rec *it)
{
	struct ct_sb sb;
	const char *p = text;
	bool last_was_ref = false;

	ct_sb_init(&sb);
	while (*p) {
		int hit = -1;
		size_t hl = 0;

		for (int k = 0; k < it->n_reasons; k++) {
			size_t l = it->reasons[k] ? strlen(it->reasons[k]) : 0;

			if (l > hl && !strncmp(p, it->reasons[k], l)) {
				hit = k;
				hl = l;
			}
		}
		if (hit >= 0) {
			if (!last_was_ref)
				ct_sb_adds(&sb, SEE_REASONS);
			last_was_ref = true;
			p += hl;
			continue;
		}
		if (last_was_ref && !strncmp(p, "; ", 2)) {
			/* "; " between two reasons: keep it only if no reason follows */
			const char *q = p + 2;
			bool next = false;

			for (int k = 0; k < it->n_reasons && !next; k++)
				next = it->reasons[k] && *it->reasons[k] &&
				       !strncmp(q, it->reasons[k], strlen(it->reasons[k]));
			if (next) {
				p = q;
				continue;
			}
		}
		last_was_ref = false;
		ct_sb_add(&sb, p, 1);
		p++;
	}
	return ct_sb_detach(&sb);
}

/* The chain each disk had when the gate judged it: one line a disk, the chain as text. */
static void chain_lines(struct out *o, const char *chain_json)
{
	json_t *a = json_loads(chain_json, 0, NULL), *d;
	size_t i;

	if (!json_is_array(a) || !json_array_size(a)) {
		json_decref(a);
		return;
	}
	line(o, "    chain as judged:");
	json_array_foreach(a, i, d) {
		const char *dev = json_string_value(json_object_get(d, "device"));
		const char *chain = json_string_value(json_object_get(d, "chain"));

		if (chain)
			line(o, "      %s%s%s", dev && *dev ? dev : "", dev && *dev ? ": " : "", chain);
		else   /* written before the chain text was kept: the figures alone */
			line(o, "      %s '%s': depth %lld, %lld stacked, %lld pending", nz(dev),
			     nz(json_string_value(json_object_get(d, "vdi"))),
			     (long long)json_integer_value(json_object_get(d, "depth")),
			     (long long)json_integer_value(json_object_get(d, "stacked")),
			     (long long)json_integer_value(json_object_get(d, "pending")));
	}
	json_decref(a);
}

static void item_lines(struct out *o, const struct ct_run_rec *r, const struct ct_item_rec *it)
{
	char dur[32], su[9], sz[32], start[32];

	ct_run_duration(it->start, it->end, dur, sizeof(dur));
	line(o, "%s", "");
	line(o, "%s%s (%s): %s, %s", ct_run_marker(it->status), nz(it->obj_name),
	     ct_short_uuid(nz(it->obj_uuid), su), ct_run_status_name(it->status), dur);
	if (it->message) {
		char *m = without_reasons(it->message, it);

		line(o, "    %s", m);
		free(m);
	}
	if (it->snapshot_uuid)
		line(o, "    snapshot: %s", it->snapshot_uuid);
	if (it->bytes > 0 && r->kind && !strcmp(r->kind, "prune")) {
		ct_format_bytes(it->bytes, sz, sizeof(sz));
		line(o, "    destroyed: %s (%lld bytes) on disk, back on the SR once its garbage "
		     "collector has run", sz, (long long)it->bytes);
	} else if (it->bytes > 0) {
		ct_format_bytes(it->bytes, sz, sizeof(sz));
		if (it->export_ms > 0) {
			char rate[32];

			ct_format_bytes((int64_t)((double)it->bytes * 1000.0 / (double)it->export_ms),
					rate, sizeof(rate));
			line(o, "    exported: %s (%lld bytes) in %.1f s, %s/s", sz, (long long)it->bytes,
			     (double)it->export_ms / 1000.0, rate);
		} else {
			line(o, "    exported: %s (%lld bytes)", sz, (long long)it->bytes);
		}
	}
	if (it->xapi_code) {
		struct ct_sb sb;

		ct_sb_init(&sb);
		for (int k = 0; k < it->n_xapi_params; k++)
			ct_sb_addf(&sb, "%s\"%s\"", k ? ", " : " [", nz(it->xapi_params[k]));
		line(o, "    XAPI error: %s%s%s", it->xapi_code, sb.buf, it->n_xapi_params ? "]" : "");
		ct_sb_release(&sb);
	}
	if (it->n_reasons)
		line(o, "    reasons:");
	for (int k = 0; k < it->n_reasons; k++) {
		bool dup = false;

		for (int j = 0; j < k && !dup; j++)
			dup = !strcmp(nz(it->reasons[j]), nz(it->reasons[k]));
		if (!dup)
			line(o, "      - %s", nz(it->reasons[k]));
	}
	if (it->chain_json)
		chain_lines(o, it->chain_json);
	if (it->n_steps)
		line(o, "    steps:");
	for (int k = 0; k < it->n_steps; k++) {
		const struct ct_step_rec *s = &it->steps[k];
		char *d = s->detail ? without_reasons(s->detail, it) : NULL;

		ct_format_local_time(s->start, start, sizeof(start));
		ct_run_duration(s->start, s->end, dur, sizeof(dur));
		line(o, "      %s %-10s %-11s %-6s %s", strlen(start) > 11 ? start + 11 : start,
		     nz(s->name), ct_run_status_name(s->status), dur, nz(d));
		free(d);
	}
}

void ct_run_report_lines(const struct ct_run_rec *r, ct_line_fn fn, void *ctx)
{
	struct out o = { fn, ctx };
	char start[32], end[32], dur[32];

	ct_format_local_time(r->start, start, sizeof(start));
	ct_format_local_time(r->end, end, sizeof(end));
	ct_run_duration(r->start, r->end, dur, sizeof(dur));
	line(&o, "Run %lld: %s%s of job '%s' on pool '%s': %s", (long long)r->id,
	     r->kind ? r->kind : "?", r->dry_run ? " (dry run)" : "", r->job ? r->job : "-",
	     nz(r->pool), ct_run_status_name(r->status));
	if (r->end > 0)
		line(&o, "  started %s, ended %s (%s), on host %s, pid %ld", start, end, dur,
		     r->host && *r->host ? r->host : "(unknown)", r->pid);
	else
		line(&o, "  started %s, running for %s, on host %s, pid %ld", start, dur,
		     r->host && *r->host ? r->host : "(unknown)", r->pid);
	line(&o, "  %d ok, %d skipped, %d failed", r->n_ok, r->n_skipped, r->n_failed);
	if (r->summary)
		line(&o, "  %s", r->summary);
	for (int i = 0; i < r->n_items; i++)
		item_lines(&o, r, &r->items[i]);
	if (r->n_items == 0) {
		line(&o, "%s", "");
		line(&o, "  no items recorded");
	}
}
