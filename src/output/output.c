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

static json_t *vdi_json(struct ct_model *m, const struct ct_chain_report *r, int i)
{
	const struct ct_vdi_verdict *vv = &r->vdis[i];
	const struct ct_vdi *v = vv->vdi;
	json_t *o = json_object(), *vms = json_array();
	const char *pu = vv->is_vhd ? ct_map_get(&v->sm_config, "vhd-parent") : NULL;
	size_t n;
	struct ct_vbd *const *vbds = ct_model_vdi_vbds(m, v, &n);

	json_object_set_new(o, "uuid", ct_output_jstr(v->o.uuid));
	json_object_set_new(o, "name", ct_output_jstr(nz(v->name_label)));
	json_object_set_new(o, "managed", json_boolean(v->managed));
	json_object_set_new(o, "is_a_snapshot", json_boolean(v->is_a_snapshot));
	json_object_set_new(o, "parent", pu && *pu ? ct_output_jstr(pu) : json_null());
	json_object_set_new(o, "depth", json_integer(vv->depth));
	json_object_set_new(o, "children", json_integer(vv->children));
	json_object_set_new(o, "stacked", json_integer(vv->stacked));
	json_object_set_new(o, "pending", json_integer(vv->pending));
	json_object_set_new(o, "state", json_string_nocheck(ct_vdi_state_name(vv->state)));
	json_object_set_new(o, "no_coalesce", vv->no_coalesce ?
			    json_string_nocheck(vv->no_coalesce) : json_null());
	json_object_set_new(o, "paused", json_boolean(vv->paused));
	for (size_t k = 0; k < n; k++) {
		const struct ct_vm *vm = ct_model_vm(m, vbds[k]->vm);

		if (vm && !vm->is_control_domain)
			json_array_append_new(vms, ct_output_jstr(nz(vm->name_label)));
	}
	json_object_set_new(o, "vms", vms);
	json_object_set_new(o, "severity", json_string_nocheck(ct_severity_name(vv->severity)));
	json_object_set_new(o, "virtual_size", json_integer(v->virtual_size));
	json_object_set_new(o, "physical_utilisation", json_integer(v->physical_utilisation));
	json_object_set_new(o, "vhd", json_boolean(vv->is_vhd));
	json_object_set_new(o, "in_use", json_boolean(vv->in_use));
	json_object_set_new(o, "parent_missing", json_boolean(vv->missing_parent != NULL));
	json_object_set_new(o, "cycle", json_boolean(vv->cycle));
	json_object_set_new(o, "snapshot_time", ct_output_jtime(v->snapshot_time));
	if (vv->vm) {
		json_object_set_new(o, "vm", ct_output_jstr(nz(vv->vm->name_label)));
		json_object_set_new(o, "device", vv->vbd ? ct_output_jstr(vv->vbd->device) : json_null());
	}
	if (vv->snapshot_vm)
		json_object_set_new(o, "snapshot", ct_output_jstr(nz(vv->snapshot_vm->name_label)));
	return o;
}

/* The SR's members before "vdis". */
static json_t *sr_head_json(const struct ct_chain_report *r, int si)
{
	const struct ct_sr_verdict *sv = &r->srs[si];
	const struct ct_sr *sr = sv->sr;
	json_t *o = json_object();

	json_object_set_new(o, "uuid", ct_output_jstr(sr->o.uuid));
	json_object_set_new(o, "name", ct_output_jstr(nz(sr->name_label)));
	json_object_set_new(o, "type", ct_output_jstr(nz(sr->type)));
	json_object_set_new(o, "physical_size", json_integer(sr->physical_size));
	json_object_set_new(o, "physical_utilisation", json_integer(sr->physical_utilisation));
	json_object_set_new(o, "gc", sv->gc_progress >= 0 ? json_real(sv->gc_progress) : json_null());
	json_object_set_new(o, "vhd", json_boolean(sv->vhd));
	json_object_set_new(o, "thick", json_boolean(sv->thick));
	json_object_set_new(o, "free_bytes", json_integer(sv->free_bytes));
	json_object_set_new(o, "free_percent", json_real(round(sv->free_percent * 100.0) / 100.0));
	json_object_set_new(o, "pending", json_integer(sv->pending));
	json_object_set_new(o, "max_depth", json_integer(sv->max_depth));
	json_object_set_new(o, "stacked", json_integer(sv->stacked));
	json_object_set_new(o, "orphans", json_integer(sv->orphans));
	json_object_set_new(o, "garbage", json_integer(sv->garbage));
	json_object_set_new(o, "broken", json_integer(sv->broken));
	json_object_set_new(o, "gc_paused", json_boolean(sv->gc_paused));
	json_object_set_new(o, "gc_no_space", json_boolean(sv->gc_no_space));
	json_object_set_new(o, "gc_stalled", json_boolean(sv->gc_stalled));
	json_object_set_new(o, "gc_running", json_boolean(sv->gc_running));
	json_object_set_new(o, "gc_idle", json_boolean(sv->gc_idle));
	json_object_set_new(o, "gc_reports_task", json_boolean(!sv->gc_silent));
	json_object_set_new(o, "gc_blocked", sv->gc_blocked ?
			    json_string_nocheck(sv->gc_blocked) : json_null());
	json_object_set_new(o, "not_coalesced", json_integer(sv->not_coalesced));
	json_object_set_new(o, "paused_vdis", json_integer(sv->paused));
	json_object_set_new(o, "coalesce_error", sv->coalesce_error[0] ?
			    ct_output_jstr(sv->coalesce_error) : json_null());
	json_object_set_new(o, "coalesce_failed", json_boolean(sv->coalesce_failed));
	json_object_set_new(o, "work_bytes", json_integer(sv->work_bytes));
	json_object_set_new(o, "work_links", json_integer(sv->work_links));
	json_object_set_new(o, "work_estimated", json_integer(sv->work_estimated));
	json_object_set_new(o, "need_bytes", json_integer(sv->need_bytes));
	json_object_set_new(o, "merge_rate", sv->rate > 0 ? json_real(sv->rate) : json_null());
	json_object_set_new(o, "eta_seconds", sv->eta >= 0 ? json_integer(sv->eta) : json_null());
	json_object_set_new(o, "gc_note", sv->gc_note ? ct_output_jstr(sv->gc_note) : json_null());
	json_object_set_new(o, "severity", json_string_nocheck(ct_severity_name(sv->severity)));
	return o;
}

static json_t *sr_json(struct ct_model *m, const struct ct_chain_report *r, int si)
{
	const struct ct_sr_verdict *sv = &r->srs[si];
	json_t *o = sr_head_json(r, si), *vdis = json_array();

	for (int i = sv->first_vdi; i < sv->first_vdi + sv->n_vdi_verdicts; i++)
		json_array_append_new(vdis, vdi_json(m, r, i));
	json_object_set_new(o, "vdis", vdis);
	return o;
}

static json_t *vm_json(const struct ct_vm_verdict *vv)
{
	json_t *o = json_object(), *rs = json_array();

	json_object_set_new(o, "uuid", ct_output_jstr(vv->vm->o.uuid));
	json_object_set_new(o, "name", ct_output_jstr(nz(vv->vm->name_label)));
	json_object_set_new(o, "power_state", json_string_nocheck(ct_power_state_name(vv->vm->power_state)));
	json_object_set_new(o, "snapshots", json_integer(vv->n_snapshots));
	json_object_set_new(o, "gate", json_string_nocheck(vv->refused ? "refused" : "ok"));
	for (int i = 0; i < vv->n_reasons; i++)
		json_array_append_new(rs, ct_output_jstr(vv->reasons[i]));
	json_object_set_new(o, "reasons", rs);
	/* refused only for chains the GC alone clears: seconds until the gate passes again at
	 * the measured merge rate, and the data it waits for; null when unknown */
	json_object_set_new(o, "gate_eta_seconds", vv->gate_eta >= 0 ? json_integer(vv->gate_eta)
			    : json_null());
	json_object_set_new(o, "gate_work_bytes", vv->gate_eta >= 0 ? json_integer(vv->gate_work)
			    : json_null());
	json_object_set_new(o, "max_depth", json_integer(vv->max_depth));
	json_object_set_new(o, "severity", json_string_nocheck(ct_severity_name(vv->severity)));
	return o;
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
static json_t *pool_head_json(const struct ct_output_pool *p)
{
	json_t *o = json_object();
	const struct ct_pool *pr = p->model && p->connected ? ct_model_pool(p->model) : NULL;

	json_object_set_new(o, "name", ct_output_jstr(nz(p->name)));
	json_object_set_new(o, "uuid", pr ? ct_output_jstr(pr->o.uuid) : json_null());
	json_object_set_new(o, "connected", json_boolean(p->connected));
	json_object_set_new(o, "error", p->error && *p->error ? ct_output_jstr(p->error) : json_null());
	if (p->state)
		json_object_set_new(o, "state", json_string(p->state));
	json_object_set_new(o, "stale", json_boolean(p->stale));
	if (pr)
		json_object_set_new(o, "name_label", ct_output_jstr(nz(pr->name_label)));
	return o;
}

/* The entry of "problems" for a pool that is not loaded. */
static json_t *pool_problem_json(const struct ct_output_pool *p)
{
	json_t *q = json_object();

	json_object_set_new(q, "severity", json_string_nocheck("UNKNOWN"));
	json_object_set_new(q, "pool", ct_output_jstr(nz(p->name)));
	json_object_set_new(q, "class", json_string_nocheck("pool"));
	json_object_set_new(q, "uuid", json_null());
	json_object_set_new(q, "kind", json_string_nocheck(ct_problem_kind_name(CT_PK_POOL_DOWN)));
	json_object_set_new(q, "reason", ct_output_jstr(p->error && *p->error ? p->error :
					      "the pool could not be loaded"));
	return q;
}

static json_t *problem_json(const struct ct_output_pool *p, const struct ct_problem *pb)
{
	json_t *q = json_object();

	json_object_set_new(q, "severity", json_string_nocheck(ct_severity_name(pb->severity)));
	json_object_set_new(q, "pool", ct_output_jstr(nz(p->name)));
	json_object_set_new(q, "class", json_string_nocheck(class_word(pb->cls)));
	json_object_set_new(q, "uuid", pb->uuid && *pb->uuid ? ct_output_jstr(pb->uuid) : json_null());
	json_object_set_new(q, "kind", json_string_nocheck(ct_problem_kind_name(pb->kind)));
	json_object_set_new(q, "reason", ct_output_jstr(pb->reason));
	return q;
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
		json_t *o = pool_head_json(&p[i]), *srs = json_array(), *vms = json_array();
		const struct ct_chain_report *r = p[i].report;

		if (pool_loaded(&p[i])) {
			for (int k = 0; k < r->n_srs; k++)
				json_array_append_new(srs, sr_json(p[i].model, r, k));
			for (int k = 0; k < r->n_vms; k++)
				json_array_append_new(vms, vm_json(&r->vms[k]));
		}
		json_object_set_new(o, "srs", srs);
		json_object_set_new(o, "vms", vms);
		if (check)
			json_object_set_new(o, "severity", json_string_nocheck(ct_severity_name(pool_severity(&p[i]))));
		json_array_append_new(pools, o);
		if (!check)
			continue;
		if (!pool_loaded(&p[i])) {
			json_array_append_new(problems, pool_problem_json(&p[i]));
			continue;
		}
		for (int k = 0; k < r->n_problems; k++)
			json_array_append_new(problems, problem_json(&p[i], &r->problems[k]));
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

/* Streaming writer: the document's skeleton ({"pools": [ ... ]}, the constant keys of the
 * big arrays and the separators between records) is written here; every value, and every
 * member of the small per-record objects, is encoded by jansson, one record at a time, so
 * the whole document never exists in memory. One record (a pool's or an SR's own members,
 * a VDI, a VM, a problem) a line. jansson hands its output over in many small pieces (a
 * quote, a key, ": ", a number): they are gathered in a buffer written out with one fwrite
 * per JW_BUF bytes rather than one locked stdio call a piece. */
#define JW_FLAGS (JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))
#define JW_BUF 65536

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

/* An object's members (stolen v), then ", " when more members follow. */
static void jw_members(struct jw *w, json_t *v)
{
	bool any = json_object_size(v) > 0;

	jw_dump(w, v, JSON_EMBED);
	if (any)
		jw_raw(w, ", ");
}

/* The next element of an array opened with "[": a separator and a line break. */
static void jw_next(struct jw *w, bool *first)
{
	jw_raw(w, *first ? "\n" : ",\n");
	*first = false;
}

static void jw_pool(struct jw *w, const struct ct_output_pool *p, bool check)
{
	const struct ct_chain_report *r = p->report;
	bool first;

	jw_raw(w, "{");
	jw_members(w, pool_head_json(p));
	jw_raw(w, "\"srs\": [");
	first = true;
	for (int k = 0; pool_loaded(p) && k < r->n_srs; k++) {
		const struct ct_sr_verdict *sv = &r->srs[k];
		bool vfirst = true;

		jw_next(w, &first);
		jw_raw(w, "{");
		jw_members(w, sr_head_json(r, k));
		jw_raw(w, "\"vdis\": [");
		for (int i = sv->first_vdi; i < sv->first_vdi + sv->n_vdi_verdicts; i++) {
			jw_next(w, &vfirst);
			jw_dump(w, vdi_json(p->model, r, i), 0);
		}
		jw_raw(w, "]}");
	}
	jw_raw(w, "], \"vms\": [");
	first = true;
	for (int k = 0; pool_loaded(p) && k < r->n_vms; k++) {
		jw_next(w, &first);
		jw_dump(w, vm_json(&r->vms[k]), 0);
	}
	jw_raw(w, "]");
	if (check) {
		jw_raw(w, ", \"severity\": ");
		jw_dump(w, json_string_nocheck(ct_severity_name(pool_severity(p))), JSON_ENCODE_ANY);
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
				jw_dump(&w, pool_problem_json(&p[i]), 0);
				continue;
			}
			for (int k = 0; k < r->n_problems; k++) {
				jw_next(&w, &first);
				jw_dump(&w, problem_json(&p[i], &r->problems[k]), 0);
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

static void summary(const struct ct_output_pool *p, int n, char *buf, size_t len)
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

	summary(p, n, sum, sizeof(sum));
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
	summary(p, n, sum, sizeof(sum));
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

/* --- one-shot load for tree and check --- */

int ct_output_oneshot_load(struct ct_output_oneshot *o, const char *config_path,
			   const char *const *only, int n_only, int timeout_ms,
			   const char *limit_name, FILE *warn_to, struct ct_err *e)
{
	int64_t start = ct_now_ms();

	memset(o, 0, sizeof(*o));
	ct_config_init(&o->conf);
	if (ct_config_load(&o->conf, config_path, false, e) < 0)
		return -1;
	for (int i = 0; warn_to && i < o->conf.n_warnings; i++)
		fprintf(warn_to, "chaintop: warning: %s\n", o->conf.warnings[i]);
	if (o->conf.n_pools == 0)
		return ct_err_set(e, CT_E_CONFIG, "the configuration%s%s%s lists no pools: add a "
				  "pools = ( { name = ...; url = ...; } ) entry",
				  o->conf.path ? " '" : "", o->conf.path ? o->conf.path : "",
				  o->conf.path ? "'" : "");
	for (int i = 0; i < n_only; i++) {
		if (!ct_config_pool(&o->conf, only[i])) {
			struct ct_sb sb;

			ct_sb_init(&sb);
			for (int k = 0; k < o->conf.n_pools; k++)
				ct_sb_addf(&sb, "%s'%s'", k ? ", " : "", o->conf.pools[k].name);
			ct_err_set(e, CT_E_USAGE, "no pool named '%s' in the configuration; the "
				   "configured pools are %s", only[i], sb.buf);
			ct_sb_release(&sb);
			return -1;
		}
	}
	if (ct_watchset_init(&o->ws, &o->conf, only, n_only, true, e) < 0)
		return -1;
	o->ws_ready = true;
	/* the calls themselves end by the deadline, each failure saying what it waited for;
	 * the wait below has a little more so they can report it */
	o->ws.deadline_ms = start + timeout_ms;
	o->ws.deadline_why = ct_xstrdup(limit_name ? limit_name : "the load's time limit");
	if (ct_watchset_start(&o->ws, e) < 0)
		return -1;
	ct_watchset_wait_settled(&o->ws, timeout_ms + 1000);
	o->n = o->ws.n;
	o->pools = ct_xcalloc((size_t)o->n + 1, sizeof(*o->pools));
	for (int i = 0; i < o->n; i++) {
		struct ct_watch *w = &o->ws.w[i];
		struct ct_output_pool *p = &o->pools[i];

		ct_model_lock(&w->model);
		p->name = w->conf->name;
		p->connected = w->loaded;
		p->stale = w->stale;
		p->state = ct_pool_state_name(w->state);
		if (!w->loaded)
			p->error = w->error[0] ? w->error :
				"the pool did not finish loading in time (is the pool master answering?)";
		p->model = &w->model;
		ct_model_unlock(&w->model);
	}
	return 0;
}

void ct_output_oneshot_lock(struct ct_output_oneshot *o)
{
	for (int i = 0; i < o->n; i++)
		ct_model_lock(o->pools[i].model);
}

void ct_output_oneshot_unlock(struct ct_output_oneshot *o)
{
	for (int i = o->n - 1; i >= 0; i--)
		ct_model_unlock(o->pools[i].model);
}

void ct_output_oneshot_release(struct ct_output_oneshot *o)
{
	if (!o)
		return;
	if (o->ws_ready) {
		ct_watchset_stop(&o->ws);
		ct_watchset_release(&o->ws);
	}
	free(o->pools);
	ct_config_release(&o->conf);
	memset(o, 0, sizeof(*o));
}
