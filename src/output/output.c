/* output.c - text, JSON, Nagios and Prometheus renderers for `tree` and `check`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/metrics.h"
#include "output/output.h"
#include "lib/util.h"

#define SAN_LEN 256

static const char *nz(const char *s)
{
	return s ? s : "";
}

/* Sanitised copy for terminals and line-oriented formats. */
static const char *san(const char *s, char *buf, size_t len)
{
	return ct_sanitize(nz(s), buf, len);
}

int ct_output_parse_format(const char *s, enum ct_output_format *f)
{
	static const struct { const char *name; enum ct_output_format f; } t[] = {
		{ "text", CT_FMT_TEXT }, { "json", CT_FMT_JSON },
		{ "nagios", CT_FMT_NAGIOS }, { "prometheus", CT_FMT_PROMETHEUS },
	};

	for (size_t i = 0; s && i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(s, t[i].name)) {
			*f = t[i].f;
			return 0;
		}
	return -1;
}

static enum ct_severity pool_severity(const struct ct_output_pool *p)
{
	if (!p->connected || !p->report)
		return CT_SEV_UNKNOWN;
	return p->report->worst;
}

enum ct_severity ct_output_worst(const struct ct_output_pool *p, int n)
{
	enum ct_severity w = CT_SEV_OK;

	for (int i = 0; i < n; i++) {
		enum ct_severity s = pool_severity(&p[i]);

		if (ct_severity_rank(s) > ct_severity_rank(w))
			w = s;
	}
	return w;
}

int ct_output_exit_code(enum ct_severity s)
{
	switch (s) {
	case CT_SEV_OK: return 0;
	case CT_SEV_WARNING: return 1;
	case CT_SEV_CRITICAL: return 2;
	case CT_SEV_UNKNOWN: return 3;
	}
	return 3;
}

/* Totals over the loaded pools. */
struct totals {
	int pools, down, srs, vms, vdis;
	int crit, warn;
	int max_depth, pending, stacked, orphans, garbage, broken, refused;
};

static void totals(const struct ct_output_pool *p, int n, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < n; i++) {
		const struct ct_chain_report *r = p[i].report;

		t->pools++;
		if (!p[i].connected || !r) {
			t->down++;
			continue;
		}
		t->srs += r->n_srs;
		t->vms += r->n_vms;
		t->vdis += r->n_vdis;
		for (int k = 0; k < r->n_problems; k++) {
			if (r->problems[k].severity == CT_SEV_CRITICAL)
				t->crit++;
			else if (r->problems[k].severity == CT_SEV_WARNING)
				t->warn++;
		}
		for (int k = 0; k < r->n_srs; k++) {
			const struct ct_sr_verdict *sv = &r->srs[k];

			if (sv->max_depth > t->max_depth)
				t->max_depth = sv->max_depth;
			t->pending += sv->pending;
			t->stacked += sv->stacked;
			t->orphans += sv->orphans;
			t->garbage += sv->garbage;
			t->broken += sv->broken;
		}
		for (int k = 0; k < r->n_vms; k++)
			t->refused += r->vms[k].refused;
	}
}

/* --- JSON --- */

/* A JSON string from untrusted text: jansson refuses invalid UTF-8, so fall back to the
 * sanitised form (escapes for bad bytes) rather than dropping the value. */
json_t *ct_output_jstr(const char *s)
{
	json_t *j;
	char buf[4096];

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	return json_string(ct_sanitize(s, buf, sizeof(buf)));
}

json_t *ct_output_jtime(time_t t)
{
	char buf[32];

	if (t <= 0)
		return json_null();
	ct_format_xapi_time(t, buf, sizeof(buf));
	return json_string(buf);
}

/* The document is written two ways from the same code: ct_output_json builds jansson
 * objects (for callers that keep or embed the document), ct_output_write_json writes each
 * record straight to the stream (tree --json and check --format json on a big pool, where
 * building and freeing a jansson object per VDI cost a quarter of the run). A record's
 * members go through an emitter (struct em) whose backend is one or the other; the stream
 * backend writes exactly what jansson's dump would (JSON_PRESERVE_ORDER, ", " and ": "
 * separators, UTF-8 kept, '"', '\\' and controls escaped as jansson does, reals through
 * jansson itself). */
#define JW_FLAGS (JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))
#define JW_BUF 65536

/* The output buffer: written out with one fwrite per JW_BUF bytes rather than one locked
 * stdio call a piece. */
struct jw {
	FILE *f;
	int rc;                  /* -1 after any write error */
	size_t len;
	char *buf;               /* JW_BUF bytes */
};

static void jw_flush(struct jw *w)
{
	if (w->len && fwrite(w->buf, 1, w->len, w->f) != w->len)
		w->rc = -1;
	w->len = 0;
}

static int jw_put(const char *s, size_t n, void *data)
{
	struct jw *w = data;

	if (w->len + n > JW_BUF) {
		jw_flush(w);
		if (n > JW_BUF) {
			if (fwrite(s, 1, n, w->f) != n)
				w->rc = -1;
			return w->rc;
		}
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	return 0;
}

static void jw_raw(struct jw *w, const char *s)
{
	jw_put(s, strlen(s), w);
}

/* Encodes v (stolen) whole, or with JSON_EMBED only its members, without the braces. */
static void jw_dump(struct jw *w, json_t *v, size_t flags)
{
	if (!v || json_dump_callback(v, jw_put, w, JW_FLAGS | flags) < 0)
		w->rc = -1;
	json_decref(v);
}

/* Bytes a JSON string cannot hold as they are: controls, '"' and '\\'. */
#define JE(b) ((b) < 0x20 || (b) == '"' || (b) == '\\')
#define JE4(b) JE(b), JE((b) + 1), JE((b) + 2), JE((b) + 3)
#define JE16(b) JE4(b), JE4((b) + 4), JE4((b) + 8), JE4((b) + 12)
#define JE64(b) JE16(b), JE16((b) + 16), JE16((b) + 32), JE16((b) + 48)
static const bool json_esc[256] = { JE64(0), JE64(64), JE64(128), JE64(192) };

/* s (valid UTF-8) as a JSON string, escaped as jansson escapes it. */
static void jw_esc(struct jw *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;

	jw_put("\"", 1, w);
	for (;; p++) {
		char seq[8];
		const char *e;

		if (!json_esc[*p] && *p)
			continue;
		if (p > run)
			jw_put((const char *)run, (size_t)(p - run), w);
		if (!*p)
			break;
		switch (*p) {
		case '\\': e = "\\\\"; break;
		case '"': e = "\\\""; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			snprintf(seq, sizeof(seq), "\\u%04X", (unsigned)*p);
			e = seq;
			break;
		}
		jw_raw(w, e);
		run = p + 1;
	}
	jw_put("\"", 1, w);
}

/* Untrusted text as ct_output_jstr gives it: null for NULL, the sanitised form when it is
 * not valid UTF-8 (jansson judges: strings with a non-ASCII byte are rare). */
static void jw_str(struct jw *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char buf[4096];

	if (!s) {
		jw_put("null", 4, w);
		return;
	}
	while (*p && *p < 0x80)
		p++;
	if (*p) {
		json_t *j = json_string(s);

		if (!j)
			s = ct_sanitize(s, buf, sizeof(buf));
		json_decref(j);
	}
	jw_esc(w, s);
}

/* as jansson's "%lld", without a printf per number */
static void jw_int(struct jw *w, long long v)
{
	char b[24], *p = b + sizeof(b);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	jw_put(p, (size_t)(b + sizeof(b) - p), w);
}

/* One record's members, to a jansson object (o) or to the stream (w). */
struct em {
	json_t *o;
	json_t *arr;          /* o: the array between em_arr_begin and em_arr_end */
	struct jw *w;
	bool first, afirst;   /* w: no member, no array item written yet */
};

static struct em em_obj(void)
{
	return (struct em){ .o = json_object() };
}

static struct em em_stream(struct jw *w)
{
	return (struct em){ .w = w, .first = true };
}

static void em_key(struct em *e, const char *k)
{
	struct jw *w = e->w;

	if (!e->first)
		jw_put(", ", 2, w);
	e->first = false;
	jw_put("\"", 1, w);
	jw_raw(w, k);
	jw_put("\": ", 3, w);
}

/* untrusted text (ct_output_jstr) */
static void em_str(struct em *e, const char *k, const char *s)
{
	if (e->o) {
		json_object_set_new(e->o, k, ct_output_jstr(s));
		return;
	}
	em_key(e, k);
	jw_str(e->w, s);
}

/* chaintop's own words (enum names, reasons it wrote): no UTF-8 check */
static void em_word(struct em *e, const char *k, const char *s)
{
	if (e->o) {
		json_object_set_new(e->o, k, json_string_nocheck(s));
		return;
	}
	if (!s)       /* jansson sets no member for a NULL string */
		return;
	em_key(e, k);
	jw_esc(e->w, s);
}

static void em_null(struct em *e, const char *k)
{
	if (e->o) {
		json_object_set_new(e->o, k, json_null());
		return;
	}
	em_key(e, k);
	jw_put("null", 4, e->w);
}

static void em_int(struct em *e, const char *k, long long v)
{
	if (e->o) {
		json_object_set_new(e->o, k, json_integer(v));
		return;
	}
	em_key(e, k);
	jw_int(e->w, v);
}

static void em_bool(struct em *e, const char *k, bool v)
{
	if (e->o) {
		json_object_set_new(e->o, k, json_boolean(v));
		return;
	}
	em_key(e, k);
	jw_raw(e->w, v ? "true" : "false");
}

/* reals are few (per SR): jansson formats them for both backends */
static void em_real(struct em *e, const char *k, double v)
{
	json_t *j = json_real(v);

	if (e->o) {
		json_object_set_new(e->o, k, j);
		return;
	}
	if (!j)       /* NaN or infinity: jansson sets no member */
		return;
	em_key(e, k);
	jw_dump(e->w, j, JSON_ENCODE_ANY);
}

static void em_time(struct em *e, const char *k, time_t t)
{
	char buf[32];

	if (t <= 0) {
		em_null(e, k);
		return;
	}
	ct_format_xapi_time(t, buf, sizeof(buf));
	em_str(e, k, buf);
}

/* An array of untrusted strings: em_arr_begin, em_arr_str each, em_arr_end. */
static void em_arr_begin(struct em *e, const char *k)
{
	if (e->o) {
		e->arr = json_array();
		json_object_set_new(e->o, k, e->arr);
		return;
	}
	em_key(e, k);
	jw_put("[", 1, e->w);
	e->afirst = true;
}

static void em_arr_str(struct em *e, const char *s)
{
	if (e->o) {
		json_array_append_new(e->arr, ct_output_jstr(s));
		return;
	}
	if (!e->afirst)
		jw_put(", ", 2, e->w);
	e->afirst = false;
	jw_str(e->w, s);
}

static void em_arr_end(struct em *e)
{
	if (e->o)
		e->arr = NULL;
	else
		jw_put("]", 1, e->w);
}

static void vdi_em(struct em *e, struct ct_model *m, const struct ct_chain_report *r, int i)
{
	const struct ct_vdi_verdict *vv = &r->vdis[i];
	const struct ct_vdi *v = vv->vdi;
	const char *pu = vv->is_vhd ? ct_map_get(&v->sm_config, "vhd-parent") : NULL;
	size_t n;
	struct ct_vbd *const *vbds = ct_model_vdi_vbds(m, v, &n);

	em_str(e, "uuid", v->o.uuid);
	em_str(e, "name", nz(v->name_label));
	em_bool(e, "managed", v->managed);
	em_bool(e, "is_a_snapshot", v->is_a_snapshot);
	if (pu && *pu)
		em_str(e, "parent", pu);
	else
		em_null(e, "parent");
	em_int(e, "depth", vv->depth);
	em_int(e, "children", vv->children);
	em_int(e, "stacked", vv->stacked);
	em_int(e, "pending", vv->pending);
	em_word(e, "state", ct_vdi_state_name(vv->state));
	if (vv->no_coalesce)
		em_word(e, "no_coalesce", vv->no_coalesce);
	else
		em_null(e, "no_coalesce");
	em_bool(e, "paused", vv->paused);
	em_arr_begin(e, "vms");
	for (size_t k = 0; k < n; k++) {
		const struct ct_vm *vm = ct_model_vm(m, vbds[k]->vm);

		if (vm && !vm->is_control_domain)
			em_arr_str(e, nz(vm->name_label));
	}
	em_arr_end(e);
	em_word(e, "severity", ct_severity_name(vv->severity));
	em_int(e, "virtual_size", v->virtual_size);
	em_int(e, "physical_utilisation", v->physical_utilisation);
	em_bool(e, "vhd", vv->is_vhd);
	em_bool(e, "in_use", vv->in_use);
	em_bool(e, "parent_missing", vv->missing_parent != NULL);
	em_bool(e, "cycle", vv->cycle);
	em_time(e, "snapshot_time", v->snapshot_time);
	if (vv->vm) {
		em_str(e, "vm", nz(vv->vm->name_label));
		if (vv->vbd)
			em_str(e, "device", vv->vbd->device);
		else
			em_null(e, "device");
	}
	if (vv->snapshot_vm)
		em_str(e, "snapshot", nz(vv->snapshot_vm->name_label));
}

/* The SR's members before "vdis". */
static void sr_head_em(struct em *e, const struct ct_chain_report *r, int si)
{
	const struct ct_sr_verdict *sv = &r->srs[si];
	const struct ct_sr *sr = sv->sr;

	em_str(e, "uuid", sr->o.uuid);
	em_str(e, "name", nz(sr->name_label));
	em_str(e, "type", nz(sr->type));
	em_int(e, "physical_size", sr->physical_size);
	em_int(e, "physical_utilisation", sr->physical_utilisation);
	if (sv->gc_progress >= 0)
		em_real(e, "gc", sv->gc_progress);
	else
		em_null(e, "gc");
	em_bool(e, "vhd", sv->vhd);
	em_bool(e, "thick", sv->thick);
	em_int(e, "free_bytes", sv->free_bytes);
	em_real(e, "free_percent", round(sv->free_percent * 100.0) / 100.0);
	em_int(e, "pending", sv->pending);
	em_int(e, "max_depth", sv->max_depth);
	em_int(e, "stacked", sv->stacked);
	em_int(e, "orphans", sv->orphans);
	em_int(e, "garbage", sv->garbage);
	em_int(e, "broken", sv->broken);
	em_bool(e, "gc_paused", sv->gc_paused);
	em_bool(e, "gc_no_space", sv->gc_no_space);
	em_bool(e, "gc_stalled", sv->gc_stalled);
	em_bool(e, "gc_running", sv->gc_running);
	em_bool(e, "gc_idle", sv->gc_idle);
	em_bool(e, "gc_reports_task", !sv->gc_silent);
	if (sv->gc_blocked)
		em_word(e, "gc_blocked", sv->gc_blocked);
	else
		em_null(e, "gc_blocked");
	em_int(e, "not_coalesced", sv->not_coalesced);
	em_int(e, "paused_vdis", sv->paused);
	if (sv->coalesce_error[0])
		em_str(e, "coalesce_error", sv->coalesce_error);
	else
		em_null(e, "coalesce_error");
	em_bool(e, "coalesce_failed", sv->coalesce_failed);
	em_int(e, "work_bytes", sv->work_bytes);
	em_int(e, "work_links", sv->work_links);
	em_int(e, "work_estimated", sv->work_estimated);
	em_int(e, "need_bytes", sv->need_bytes);
	if (sv->rate > 0)
		em_real(e, "merge_rate", sv->rate);
	else
		em_null(e, "merge_rate");
	if (sv->eta >= 0)
		em_int(e, "eta_seconds", sv->eta);
	else
		em_null(e, "eta_seconds");
	if (sv->gc_note)
		em_str(e, "gc_note", sv->gc_note);
	else
		em_null(e, "gc_note");
	em_word(e, "severity", ct_severity_name(sv->severity));
}

static void vm_em(struct em *e, const struct ct_vm_verdict *vv)
{
	em_str(e, "uuid", vv->vm->o.uuid);
	em_str(e, "name", nz(vv->vm->name_label));
	em_word(e, "power_state", ct_power_state_name(vv->vm->power_state));
	em_int(e, "snapshots", vv->n_snapshots);
	em_word(e, "gate", vv->refused ? "refused" : "ok");
	em_arr_begin(e, "reasons");
	for (int i = 0; i < vv->n_reasons; i++)
		em_arr_str(e, vv->reasons[i]);
	em_arr_end(e);
	/* refused only for chains the GC alone clears: seconds until the gate passes again at
	 * the measured merge rate, and the data it waits for; null when unknown */
	if (vv->gate_eta >= 0) {
		em_int(e, "gate_eta_seconds", vv->gate_eta);
		em_int(e, "gate_work_bytes", vv->gate_work);
	} else {
		em_null(e, "gate_eta_seconds");
		em_null(e, "gate_work_bytes");
	}
	em_int(e, "max_depth", vv->max_depth);
	em_word(e, "severity", ct_severity_name(vv->severity));
}

static const char *class_word(enum ct_class c)
{
	switch (c) {
	case CT_SR: return "SR";
	case CT_VDI: return "VDI";
	case CT_VM: return "VM";
	case CT_POOL: return "pool";
	default: return ct_class_name(c);
	}
}

/* The pool's members before "srs". */
static void pool_head_em(struct em *e, const struct ct_output_pool *p)
{
	const struct ct_pool *pr = p->model && p->connected ? ct_model_pool(p->model) : NULL;

	em_str(e, "name", nz(p->name));
	if (pr)
		em_str(e, "uuid", pr->o.uuid);
	else
		em_null(e, "uuid");
	em_bool(e, "connected", p->connected);
	if (p->error && *p->error)
		em_str(e, "error", p->error);
	else
		em_null(e, "error");
	if (p->state)
		em_str(e, "state", p->state);
	em_bool(e, "stale", p->stale);
	if (pr)
		em_str(e, "name_label", nz(pr->name_label));
}

/* The entry of "problems" for a pool that is not loaded. */
static void pool_problem_em(struct em *e, const struct ct_output_pool *p)
{
	em_word(e, "severity", "UNKNOWN");
	em_str(e, "pool", nz(p->name));
	em_word(e, "class", "pool");
	em_null(e, "uuid");
	em_word(e, "kind", ct_problem_kind_name(CT_PK_POOL_DOWN));
	em_null(e, "sr");
	em_null(e, "sr_name");
	em_null(e, "vm");
	em_null(e, "vm_name");
	em_null(e, "vdi");
	em_null(e, "vdi_name");
	em_str(e, "reason", p->error && *p->error ? p->error : "the pool could not be loaded");
}

/* A uuid or name member, null when the problem is not about such an object. */
static void em_str_or_null(struct em *e, const char *k, const char *s, bool have)
{
	if (have)
		em_str(e, k, nz(s));
	else
		em_null(e, k);
}

/* What a problem is about, for routing alerts without reading the sentence: the SR, VM and
 * VDI uuids and names (null when the problem is not about one). */
static void problem_subjects_em(struct em *e, const struct ct_output_pool *p,
				const struct ct_problem *pb)
{
	const struct ct_chain_report *r = p->report;
	const struct ct_sr *sr = pb->sr_index >= 0 && pb->sr_index < r->n_srs ?
		r->srs[pb->sr_index].sr : NULL;
	const struct ct_vm *vm = NULL;
	const struct ct_vdi *vdi = NULL;

	if (pb->cls == CT_VM && pb->ref) {
		vm = (const struct ct_vm *)ct_model_find(p->model, CT_VM, pb->ref);
	} else if (pb->cls == CT_VDI && pb->ref) {
		int vi;

		vdi = (const struct ct_vdi *)ct_model_find(p->model, CT_VDI, pb->ref);
		vi = vdi ? ct_chain_find_vdi(r, vdi) : -1;
		if (vi >= 0) {
			vm = r->vdis[vi].vm;
			if (!sr && r->vdis[vi].sr_index >= 0)
				sr = r->srs[r->vdis[vi].sr_index].sr;
		}
	} else if (pb->cls == CT_SR && pb->ref && !sr) {
		sr = (const struct ct_sr *)ct_model_find(p->model, CT_SR, pb->ref);
	}
	em_str_or_null(e, "sr", sr ? sr->o.uuid : NULL, sr);
	em_str_or_null(e, "sr_name", sr ? sr->name_label : NULL, sr);
	em_str_or_null(e, "vm", vm ? vm->o.uuid : NULL, vm);
	em_str_or_null(e, "vm_name", vm ? vm->name_label : NULL, vm);
	em_str_or_null(e, "vdi", vdi ? vdi->o.uuid : NULL, vdi);
	em_str_or_null(e, "vdi_name", vdi ? vdi->name_label : NULL, vdi);
}

static void problem_em(struct em *e, const struct ct_output_pool *p, const struct ct_problem *pb)
{
	em_word(e, "severity", ct_severity_name(pb->severity));
	em_str(e, "pool", nz(p->name));
	em_word(e, "class", class_word(pb->cls));
	if (pb->uuid && *pb->uuid)
		em_str(e, "uuid", pb->uuid);
	else
		em_null(e, "uuid");
	em_word(e, "kind", ct_problem_kind_name(pb->kind));
	problem_subjects_em(e, p, pb);
	em_str(e, "reason", pb->reason);
}

/* A record built as a jansson object (ct_output_json). */
static json_t *vdi_json(struct ct_model *m, const struct ct_chain_report *r, int i)
{
	struct em e = em_obj();

	vdi_em(&e, m, r, i);
	return e.o;
}

static json_t *sr_json(struct ct_model *m, const struct ct_chain_report *r, int si)
{
	const struct ct_sr_verdict *sv = &r->srs[si];
	struct em e = em_obj();
	json_t *vdis = json_array();

	sr_head_em(&e, r, si);
	for (int i = sv->first_vdi; i < sv->first_vdi + sv->n_vdi_verdicts; i++)
		json_array_append_new(vdis, vdi_json(m, r, i));
	json_object_set_new(e.o, "vdis", vdis);
	return e.o;
}

/* The top-level members after "pools" and before "problems". */
static json_t *root_tail_json(const struct ct_output_pool *p, int n, bool check, time_t now)
{
	json_t *o = json_object();

	json_object_set_new(o, "generated_at", ct_output_jtime(now));
	if (check) {
		enum ct_severity w = ct_output_worst(p, n);

		json_object_set_new(o, "status", json_string_nocheck(ct_severity_name(w)));
		json_object_set_new(o, "exit_code", json_integer(ct_output_exit_code(w)));
	}
	return o;
}

static bool pool_loaded(const struct ct_output_pool *p)
{
	return p->connected && p->report;
}

json_t *ct_output_json(const struct ct_output_pool *p, int n, bool check, time_t now)
{
	json_t *root = json_object(), *pools = json_array(), *problems = json_array(), *tail;
	const char *key;
	json_t *v;

	for (int i = 0; i < n; i++) {
		struct em o = em_obj();
		json_t *srs = json_array(), *vms = json_array();
		const struct ct_chain_report *r = p[i].report;

		pool_head_em(&o, &p[i]);
		if (pool_loaded(&p[i])) {
			for (int k = 0; k < r->n_srs; k++)
				json_array_append_new(srs, sr_json(p[i].model, r, k));
			for (int k = 0; k < r->n_vms; k++) {
				struct em e = em_obj();

				vm_em(&e, &r->vms[k]);
				json_array_append_new(vms, e.o);
			}
		}
		json_object_set_new(o.o, "srs", srs);
		json_object_set_new(o.o, "vms", vms);
		if (check)
			json_object_set_new(o.o, "severity", json_string_nocheck(ct_severity_name(pool_severity(&p[i]))));
		json_array_append_new(pools, o.o);
		if (!check)
			continue;
		if (!pool_loaded(&p[i])) {
			struct em e = em_obj();

			pool_problem_em(&e, &p[i]);
			json_array_append_new(problems, e.o);
			continue;
		}
		for (int k = 0; k < r->n_problems; k++) {
			struct em e = em_obj();

			problem_em(&e, &p[i], &r->problems[k]);
			json_array_append_new(problems, e.o);
		}
	}
	json_object_set_new(root, "pools", pools);
	tail = root_tail_json(p, n, check, now);
	json_object_foreach(tail, key, v)
		json_object_set(root, key, v);
	json_decref(tail);
	if (check)
		json_object_set_new(root, "problems", problems);
	else
		json_decref(problems);
	return root;
}

/* Streaming: the same document, not indented, one record (a pool's or an SR's own members,
 * a VDI, a VM, a problem) a line; the whole document never exists in memory. */

/* The next element of an array opened with "[": a separator and a line break. */
static void jw_next(struct jw *w, bool *first)
{
	jw_raw(w, *first ? "\n" : ",\n");
	*first = false;
}

/* The members of an object opened with "{" and a ", " when more follow. */
#define JW_MEMBERS(w, fn, ...) do { \
	struct em e_ = em_stream(w); \
	fn(&e_, __VA_ARGS__); \
	if (!e_.first) \
		jw_raw((w), ", "); \
} while (0)

/* A whole record: "{" members "}". */
#define JW_RECORD(w, fn, ...) do { \
	struct em e_ = em_stream(w); \
	jw_raw((w), "{"); \
	fn(&e_, __VA_ARGS__); \
	jw_raw((w), "}"); \
} while (0)

static void jw_pool(struct jw *w, const struct ct_output_pool *p, bool check)
{
	const struct ct_chain_report *r = p->report;
	bool first;

	jw_raw(w, "{");
	JW_MEMBERS(w, pool_head_em, p);
	jw_raw(w, "\"srs\": [");
	first = true;
	for (int k = 0; pool_loaded(p) && k < r->n_srs; k++) {
		const struct ct_sr_verdict *sv = &r->srs[k];
		bool vfirst = true;

		jw_next(w, &first);
		jw_raw(w, "{");
		JW_MEMBERS(w, sr_head_em, r, k);
		jw_raw(w, "\"vdis\": [");
		for (int i = sv->first_vdi; i < sv->first_vdi + sv->n_vdi_verdicts; i++) {
			jw_next(w, &vfirst);
			JW_RECORD(w, vdi_em, p->model, r, i);
		}
		jw_raw(w, "]}");
	}
	jw_raw(w, "], \"vms\": [");
	first = true;
	for (int k = 0; pool_loaded(p) && k < r->n_vms; k++) {
		jw_next(w, &first);
		JW_RECORD(w, vm_em, &r->vms[k]);
	}
	jw_raw(w, "]");
	if (check) {
		jw_raw(w, ", \"severity\": ");
		jw_esc(w, ct_severity_name(pool_severity(p)));
	}
	jw_raw(w, "}");
}

int ct_output_write_json(FILE *f, const struct ct_output_pool *p, int n, bool check, time_t now)
{
	struct jw w = { .f = f, .buf = ct_xmalloc(JW_BUF) };
	json_t *tail;
	bool first = true;

	jw_raw(&w, "{\"pools\": [");
	for (int i = 0; i < n; i++) {
		jw_next(&w, &first);
		jw_pool(&w, &p[i], check);
	}
	jw_raw(&w, "]");
	tail = root_tail_json(p, n, check, now);
	if (json_object_size(tail) > 0)
		jw_raw(&w, ", ");
	jw_dump(&w, tail, JSON_EMBED);
	if (check) {
		jw_raw(&w, ", \"problems\": [");
		first = true;
		for (int i = 0; i < n; i++) {
			const struct ct_chain_report *r = p[i].report;

			if (!pool_loaded(&p[i])) {
				jw_next(&w, &first);
				JW_RECORD(&w, pool_problem_em, &p[i]);
				continue;
			}
			for (int k = 0; k < r->n_problems; k++) {
				jw_next(&w, &first);
				JW_RECORD(&w, problem_em, &p[i], &r->problems[k]);
			}
		}
		jw_raw(&w, "]");
	}
	jw_raw(&w, "}\n");
	jw_flush(&w);
	free(w.buf);
	if (ferror(f))
		w.rc = -1;
	return w.rc;
}

/* --- check: text --- */

void ct_output_summary(const struct ct_output_pool *p, int n, char *buf, size_t len)
{
	struct totals t;
	struct ct_sb sb;
	char *s;

	totals(p, n, &t);
	ct_sb_init(&sb);
	ct_sb_addf(&sb, "%d pool%s", t.pools, t.pools == 1 ? "" : "s");
	if (t.down)
		ct_sb_addf(&sb, " (%d unreachable)", t.down);
	ct_sb_addf(&sb, ", %d SR%s, %d VM%s: ", t.srs, t.srs == 1 ? "" : "s", t.vms,
		   t.vms == 1 ? "" : "s");
	if (!t.crit && !t.warn && !t.down)
		ct_sb_adds(&sb, "all chains healthy");
	else
		ct_sb_addf(&sb, "%d critical, %d warning%s", t.crit, t.warn, t.warn == 1 ? "" : "s");
	if (t.down)
		ct_sb_addf(&sb, ", %d unknown", t.down);
	ct_sb_addf(&sb, "; deepest chain %d, %d pending coalesce, %d orphan%s", t.max_depth,
		   t.pending, t.orphans, t.orphans == 1 ? "" : "s");
	s = ct_sb_detach(&sb);
	snprintf(buf, len, "%s", s);
	free(s);
	ct_sb_release(&sb);
}

/* Calls fn for every problem in severity order across pools (unreachable pools as
 * UNKNOWN), with the pool name. */
typedef void (*problem_fn)(void *ctx, enum ct_severity sev, const char *pool, const char *text);

static void each_problem(const struct ct_output_pool *p, int n, problem_fn fn, void *ctx)
{
	static const enum ct_severity order[] = { CT_SEV_CRITICAL, CT_SEV_UNKNOWN, CT_SEV_WARNING };

	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
		for (int i = 0; i < n; i++) {
			const struct ct_chain_report *r = p[i].report;

			if (!p[i].connected || !r) {
				if (order[o] == CT_SEV_UNKNOWN) {
					char *t = ct_xasprintf("pool '%s' could not be loaded: %s", nz(p[i].name),
							       p[i].error && *p[i].error ? p[i].error :
							       "no reason given");
					fn(ctx, CT_SEV_UNKNOWN, p[i].name, t);
					free(t);
				}
				continue;
			}
			for (int k = 0; k < r->n_problems; k++)
				if (r->problems[k].severity == order[o])
					fn(ctx, order[o], p[i].name, r->problems[k].reason);
		}
	}
}

static void text_problem(void *ctx, enum ct_severity sev, const char *pool, const char *text)
{
	FILE *f = ctx;
	char buf[2048];

	(void)pool;
	fprintf(f, "%-8s %s\n", ct_severity_name(sev), san(text, buf, sizeof(buf)));
}

void ct_output_check_text(FILE *f, const struct ct_output_pool *p, int n)
{
	char sum[512];

	ct_output_summary(p, n, sum, sizeof(sum));
	fprintf(f, "chaintop %s: %s\n", ct_severity_name(ct_output_worst(p, n)), sum);
	each_problem(p, n, text_problem, f);
}

/* --- check: nagios --- */

struct nagios_ctx {
	FILE *f;
	char first[600];
	int count;
};

/* Nagios splits on '|' (perfdata): keep it out of the text. */
static void nagios_clean(const char *s, char *buf, size_t len)
{
	san(s, buf, len);
	for (char *q = buf; *q; q++)
		if (*q == '|')
			*q = '/';
}

static void nagios_first(void *ctx, enum ct_severity sev, const char *pool, const char *text)
{
	struct nagios_ctx *c = ctx;

	(void)sev;
	(void)pool;
	if (c->count++ == 0)
		nagios_clean(text, c->first, sizeof(c->first));
}

static void nagios_line(void *ctx, enum ct_severity sev, const char *pool, const char *text)
{
	struct nagios_ctx *c = ctx;
	char buf[2048];

	(void)pool;
	nagios_clean(text, buf, sizeof(buf));
	fprintf(c->f, "%s: %s\n", ct_severity_name(sev), buf);
}

void ct_output_nagios(FILE *f, const struct ct_config *c, const struct ct_output_pool *p, int n)
{
	struct totals t;
	struct nagios_ctx nc = { .f = f };
	enum ct_severity w = ct_output_worst(p, n);
	char sum[512];

	totals(p, n, &t);
	ct_output_summary(p, n, sum, sizeof(sum));
	each_problem(p, n, nagios_first, &nc);
	fprintf(f, "CHAINTOP %s - %s", ct_severity_name(w), sum);
	if (nc.count)
		fprintf(f, "; %s", nc.first);
	fprintf(f, " | max_depth=%d;%d;%d pending=%d;%d; stacked=%d;; orphans=%d;; garbage=%d;; "
		"broken=%d;; refused_vms=%d;; problems_critical=%d;; problems_warning=%d;; "
		"pools=%d;; pools_unreachable=%d;;1\n",
		t.max_depth, c->health.warn_depth, c->health.crit_depth, t.pending,
		c->health.coalesce_warn, t.stacked, t.orphans, t.garbage, t.broken, t.refused,
		t.crit, t.warn, t.pools, t.down);
	each_problem(p, n, nagios_line, &nc);
}

/* --- check: prometheus --- */

void ct_output_prometheus(FILE *f, const struct ct_output_pool *p, int n, time_t now)
{
	struct ct_metrics m;
	const struct ct_metrics *set = &m;
	struct ct_sb out;
	char name[SAN_LEN], err[1024];

	/* the reason a pool is not loaded, for whoever reads the file (scrapers skip comments) */
	for (int i = 0; i < n; i++)
		if (!p[i].connected || !p[i].report)
			fprintf(f, "# chaintop: pool '%s' is UNKNOWN: %s\n",
				san(p[i].name, name, sizeof(name)),
				san(p[i].error && *p[i].error ? p[i].error : "not loaded", err,
				    sizeof(err)));
	ct_metrics_init(&m);
	for (int i = 0; i < n; i++) {
		struct ct_metrics_status st = {
			.name = p[i].name,
			.up = p[i].connected && p[i].report,
			.loaded = p[i].connected && p[i].report,
		};

		ct_metrics_pool_status(&m, &st, now);
		ct_metrics_pool(&m, &p[i]);
	}
	ct_metrics_check_timestamp(&m, now);
	ct_sb_init(&out);
	ct_metrics_write(&out, &set, 1, false);
	if (out.len)
		fwrite(out.buf, 1, out.len, f);
	ct_sb_release(&out);
	ct_metrics_release(&m);
}

/* --- tree --- */

struct glyphs {
	const char *tee, *last, *bar, *blank;
};

static const struct glyphs utf8_glyphs = { "\u251c\u2500 ", "\u2514\u2500 ", "\u2502  ", "   " };
static const struct glyphs ascii_glyphs = { "|- ", "`- ", "|  ", "   " };

static void state_marker(const struct ct_vdi_verdict *vv, const struct ct_sr_verdict *sv,
			 char *buf, size_t len)
{
	char u[SAN_LEN];

	switch (vv->state) {
	case CT_VS_STACKED:
		snprintf(buf, len, "[stacked: %d above, tolerance %d]", vv->stacked, sv->gate.tolerance);
		break;
	case CT_VS_PENDING:
		snprintf(buf, len, "[pending: %d coalesce link%s above]", vv->pending,
			 vv->pending == 1 ? "" : "s");
		break;
	case CT_VS_BROKEN:
		if (vv->cycle)
			snprintf(buf, len, "[BROKEN: vhd-parent cycle]");
		else
			snprintf(buf, len, "[BROKEN: parent %s missing]",
				 san(vv->missing_parent, u, sizeof(u)));
		break;
	case CT_VS_DEEP:
		snprintf(buf, len, "[%s: depth %d]", vv->severity == CT_SEV_CRITICAL ? "DEEP, CRITICAL" :
			 "deep", vv->depth);
		break;
	case CT_VS_ORPHAN:
		snprintf(buf, len, "[ORPHAN: no VM uses it]");
		break;
	case CT_VS_GARBAGE:
		snprintf(buf, len, "[garbage: awaiting GC]");
		break;
	default:
		snprintf(buf, len, "[ok]");
	}
}

static void vdi_line(FILE *f, const struct ct_output_pool *p, const struct ct_chain_report *r,
		     int i, time_t now)
{
	const struct ct_vdi_verdict *vv = &r->vdis[i];
	const struct ct_sr_verdict *sv = &r->srs[vv->sr_index];
	const struct ct_vdi *v = vv->vdi;
	char name[SAN_LEN], vmn[SAN_LEN], dev[64], u[9], vs[32], pu[32], mark[SAN_LEN], age[32];

	ct_short_uuid(v->o.uuid, u);
	ct_format_bytes(v->virtual_size, vs, sizeof(vs));
	ct_format_bytes(v->physical_utilisation, pu, sizeof(pu));
	state_marker(vv, sv, mark, sizeof(mark));
	if (vv->is_base_copy) {
		fprintf(f, "base copy %s, %d child%s", u, vv->children, vv->children == 1 ? "" : "ren");
	} else if (v->is_a_snapshot) {
		time_t t = vv->snapshot_vm && vv->snapshot_vm->snapshot_time > 0 ?
			vv->snapshot_vm->snapshot_time : v->snapshot_time;

		fprintf(f, "snapshot '%s' %s",
			san(vv->snapshot_vm ? vv->snapshot_vm->name_label : v->name_label, name,
			    sizeof(name)), u);
		if (t > 0 && now >= t) {
			ct_format_duration((long long)(now - t), age, sizeof(age));
			fprintf(f, " (%s ago)", age);
		}
	} else {
		fprintf(f, "'%s' %s", san(v->name_label, name, sizeof(name)), u);
		if (vv->vm) {
			bool named = vv->vbd && vv->vbd->device && *vv->vbd->device;

			/* device ("xvda") is set while attached, else the disk's position */
			fprintf(f, " VM '%s' %s%s", san(vv->vm->name_label, vmn, sizeof(vmn)),
				named ? "" : "#", san(named ? vv->vbd->device :
						      vv->vbd ? vv->vbd->userdevice : "", dev, sizeof(dev)));
		}
		else if (vv->in_use)
			fprintf(f, " (in use)");
	}
	if (vv->is_vhd)
		fprintf(f, ", depth %d", vv->depth);
	fprintf(f, ", %s (%s used) %s", vs, pu, mark);
	if (vv->no_coalesce)
		fprintf(f, " [SM will not coalesce this: %s]", vv->no_coalesce);
	if (vv->paused)
		fprintf(f, " [paused%s]", sv->gc_running ? "" : ": disk I/O frozen");
	(void)p;
	fputc('\n', f);
}

static void sr_line(FILE *f, const struct ct_sr_verdict *sv)
{
	const struct ct_sr *sr = sv->sr;
	char name[SAN_LEN], type[64], u[9], used[32], size[32], fr[32];

	ct_short_uuid(sr->o.uuid, u);
	fprintf(f, "SR '%s' %s (%s", san(sr->name_label, name, sizeof(name)), u,
		san(sr->type, type, sizeof(type)));
	if (!sv->vhd) {
		fprintf(f, ", no VHD chains): %d VDI%s\n", sv->n_vdis, sv->n_vdis == 1 ? "" : "s");
		return;
	}
	fprintf(f, ", %s)", sv->thick ? "thick" : "thin");
	if (sr->physical_size > 0) {
		ct_format_bytes(sr->physical_utilisation, used, sizeof(used));
		ct_format_bytes(sr->physical_size, size, sizeof(size));
		ct_format_bytes(sv->free_bytes, fr, sizeof(fr));
		fprintf(f, ": %s used of %s, %s free (%.1f%%)", used, size, fr, sv->free_percent);
	}
	fprintf(f, "; %d VDI%s, %d pending coalesce, deepest %d; %s", sv->n_vdis,
		sv->n_vdis == 1 ? "" : "s", sv->pending, sv->max_depth,
		sv->gc_note ? sv->gc_note : sv->gc_running ? "GC running" : "no GC running");
	if (sv->not_coalesced > 0)
		fprintf(f, ", %d link%s SM will not coalesce", sv->not_coalesced,
			sv->not_coalesced == 1 ? "" : "s");
	if (sv->work_links > 0) {
		ct_format_bytes(sv->work_bytes, used, sizeof(used));
		ct_format_bytes(sv->need_bytes, size, sizeof(size));
		fprintf(f, "; work left %s in %d merge%s%s, the largest needs %s free", used,
			sv->work_links, sv->work_links == 1 ? "" : "s",
			sv->work_estimated ? " (estimated: no vhd-blocks)" : "", size);
		if (sv->rate > 0 && sv->eta >= 0) {
			ct_format_bytes((int64_t)(sv->rate * 3600.0), fr, sizeof(fr));
			ct_format_duration(sv->eta, type, sizeof(type));
			fprintf(f, ", merging %s/h: ETA %s", fr, type);
		}
	}
	if (sv->severity != CT_SEV_OK)
		fprintf(f, " [%s]", ct_severity_name(sv->severity));
	fputc('\n', f);
}

static void tree_pool(FILE *f, const struct ct_output_pool *p, const struct glyphs *g, time_t now)
{
	const struct ct_chain_report *r = p->report;
	const struct ct_pool *pr = ct_model_pool(p->model);
	char name[SAN_LEN], u[9];
	int *last_child, *last_root;
	char *is_last;

	ct_short_uuid(pr ? pr->o.uuid : "", u);
	fprintf(f, "pool '%s' %s: %d SR%s, %d VM%s; %s%s\n", san(p->name, name, sizeof(name)), u,
		r->n_srs, r->n_srs == 1 ? "" : "s", r->n_vms, r->n_vms == 1 ? "" : "s",
		ct_severity_name(r->worst), p->stale ? " (stale data)" : "");
	last_child = ct_xcalloc((size_t)r->n_vdis + 1, sizeof(*last_child));
	last_root = ct_xcalloc((size_t)r->n_srs + 1, sizeof(*last_root));
	is_last = ct_xcalloc((size_t)r->n_vdis + 1, 1);
	for (int i = 0; i < r->n_vdis; i++)
		last_child[i] = -1;
	for (int s = 0; s < r->n_srs; s++)
		last_root[s] = -1;
	/* preorder: the last child of a node is the child with the highest index */
	for (int i = 0; i < r->n_vdis; i++) {
		if (r->vdis[i].parent >= 0)
			last_child[r->vdis[i].parent] = i;
		else
			last_root[r->vdis[i].sr_index] = i;
	}
	for (int i = 0; i < r->n_vdis; i++) {
		int par = r->vdis[i].parent;

		is_last[i] = par >= 0 ? last_child[par] == i : last_root[r->vdis[i].sr_index] == i;
	}
	for (int s = 0; s < r->n_srs; s++) {
		const struct ct_sr_verdict *sv = &r->srs[s];
		bool sr_last = s == r->n_srs - 1;

		fputs(sr_last ? g->last : g->tee, f);
		sr_line(f, sv);
		for (int i = sv->first_vdi; i < sv->first_vdi + sv->n_vdi_verdicts; i++) {
			/* ancestors' "more siblings below" bars, from the root down */
			int chain[64], nc = 0;

			for (int a = r->vdis[i].parent; a >= 0 && nc < 64; a = r->vdis[a].parent)
				chain[nc++] = a;
			fputs(sr_last ? g->blank : g->bar, f);
			if (nc == 64)
				fputs("... ", f);
			while (nc > 0)
				fputs(is_last[chain[--nc]] ? g->blank : g->bar, f);
			fputs(is_last[i] ? g->last : g->tee, f);
			vdi_line(f, p, r, i, now);
		}
	}
	free(last_child);
	free(last_root);
	free(is_last);
}

void ct_output_tree_text(FILE *f, const struct ct_output_pool *p, int n, bool utf8, time_t now)
{
	const struct glyphs *g = utf8 ? &utf8_glyphs : &ascii_glyphs;
	char name[SAN_LEN], err[1024];

	for (int i = 0; i < n; i++) {
		if (i > 0)
			fputc('\n', f);
		if (!p[i].connected || !p[i].report || !p[i].model) {
			fprintf(f, "pool '%s': not loaded: %s\n", san(p[i].name, name, sizeof(name)),
				san(p[i].error && *p[i].error ? p[i].error : "no reason given", err,
				    sizeof(err)));
			continue;
		}
		tree_pool(f, &p[i], g, now);
	}
}
