/* rows.c - display rows from a model and its chain report (no curses). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>
#include <wctype.h>

#include "rows.h"
#include "lib/htab.h"
#include "lib/util.h"
#include "watch/watch.h"

/* --- small helpers --- */

/* snprintf that cuts silently: display strings are cut on purpose. */
static void bfmt(char *dst, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void bfmt(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

void ct_rows_release(struct ct_rows *r)
{
	if (!r)
		return;
	free(r->v);
	memset(r, 0, sizeof(*r));
}

struct ct_row *ct_rows_add(struct ct_rows *r)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->v = ct_xrealloc(r->v, (size_t)r->cap * sizeof(*r->v));
	}
	memset(&r->v[r->n], 0, sizeof(r->v[r->n]));
	r->v[r->n].vstate = -1;
	r->v[r->n].used = -1;
	r->v[r->n].size = -1;
	return &r->v[r->n++];
}

/* ct_sanitize, with a fast path for the common all-printable-ASCII string. */
static void san(char *dst, size_t len, const char *src)
{
	const unsigned char *p = (const unsigned char *)(src ? src : "");
	size_t n = 0;

	while (p[n] >= 0x20 && p[n] < 0x7f)
		n++;
	if (p[n] != '\0') {
		ct_sanitize((const char *)p, dst, len);
		return;
	}
	if (len == 0)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

int ct_ui_width(const char *s)
{
	mbstate_t st;
	int w = 0;
	size_t left = 0;

	/* printable ASCII, the common case: a column a byte */
	while (s[left] >= 0x20 && s[left] < 0x7f)
		left++;
	if (!s[left])
		return (int)left;
	left = strlen(s);
	memset(&st, 0, sizeof(st));
	while (left > 0) {
		wchar_t wc;
		size_t n = mbrtowc(&wc, s, left, &st);

		if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
			memset(&st, 0, sizeof(st));
			n = 1;
			w++;
		} else {
			int cw = wcwidth(wc);

			w += cw < 0 ? 1 : cw;
		}
		s += n;
		left -= n;
	}
	return w;
}

int ct_ui_fit(const char *src, int width, bool utf8, char *out, size_t outlen)
{
	const char *ell = utf8 ? "\xe2\x80\xa6" : "...";
	int ell_w = utf8 ? 1 : 3;
	size_t o = 0, left = strlen(src);
	mbstate_t st;
	int w = 0;

	if (outlen == 0)
		return 0;
	out[0] = '\0';
	if (width <= 0)
		return 0;
	if (ct_ui_width(src) <= width) {
		bfmt(out, outlen, "%s", src);
		return ct_ui_width(out);
	}
	if (width <= ell_w) {
		bfmt(out, outlen, "%.*s", width, utf8 ? ell : "...");
		return width <= ell_w && utf8 ? 1 : width;
	}
	memset(&st, 0, sizeof(st));
	while (left > 0) {
		wchar_t wc;
		size_t n = mbrtowc(&wc, src, left, &st);
		int cw;

		if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
			memset(&st, 0, sizeof(st));
			n = 1;
			cw = 1;
		} else {
			cw = wcwidth(wc);
			if (cw < 0)
				cw = 1;
		}
		if (w + cw > width - ell_w || o + n + 4 >= outlen)
			break;
		memcpy(out + o, src, n);
		o += n;
		w += cw;
		src += n;
		left -= n;
	}
	out[o] = '\0';
	bfmt(out + o, outlen - o, "%s", ell);
	return w + ell_w;
}

/* Bytes of s that fit in `width` columns. */
static size_t fit_bytes(const char *s, int width)
{
	mbstate_t st;
	size_t o = 0, left = strlen(s);
	int w = 0;

	memset(&st, 0, sizeof(st));
	while (left > 0) {
		wchar_t wc;
		size_t n = mbrtowc(&wc, s + o, left, &st);
		int cw = 1;

		if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
			memset(&st, 0, sizeof(st));
			n = 1;
		} else {
			cw = wcwidth(wc);
			if (cw < 0)
				cw = 1;
		}
		if (w + cw > width)
			break;
		w += cw;
		o += n;
		left -= n;
	}
	return o;
}

const char *ct_ui_skip(const char *s, int cols)
{
	if (cols <= 0)
		return s;
	return s + fit_bytes(s, cols);
}

void ct_ui_wrap(struct ct_strset *out, const char *s, int width, const char *indent)
{
	struct ct_sb line;
	bool first = true;
	int iw = ct_ui_width(indent);

	if (width < iw + 10)
		width = iw + 10;
	while (*s || first) {
		int avail = first ? width : width - iw;
		size_t fit = fit_bytes(s, avail), cut = fit;

		if (s[fit]) {
			/* break at the last space that fits, if any */
			size_t k = fit;

			while (k > 0 && s[k] != ' ')
				k--;
			if (k > 0)
				cut = k;
		}
		if (cut == 0)
			cut = strlen(s) ? 1 : 0;
		ct_sb_init(&line);
		if (!first)
			ct_sb_adds(&line, indent);
		ct_sb_add(&line, s, cut);
		ct_strset_add(out, line.buf);
		ct_sb_release(&line);
		s += cut;
		while (*s == ' ')
			s++;
		first = false;
	}
}

void ct_ui_age(time_t then, time_t now, char *buf, size_t len)
{
	long long d = (long long)(now - then);

	if (then <= 0) {
		bfmt(buf, len, "never");
		return;
	}
	if (d < 0)
		d = 0;
	if (d < 60)
		bfmt(buf, len, "%llds", d);
	else if (d < 3600)
		bfmt(buf, len, "%lldm", d / 60);
	else if (d < 86400 * 2)
		bfmt(buf, len, "%lldh", d / 3600);
	else
		bfmt(buf, len, "%lldd", d / 86400);
}

static void short_uuid(const char *uuid, char buf[9])
{
	ct_short_uuid(uuid ? uuid : "", buf);
}

/* --- pointer -> verdict index --- */

struct vmap {
	const struct ct_chain_report *rep;
	struct ct_htab at;       /* VDI pointer hash -> index in rep->vdis */
};

static void vmap_init(struct vmap *m, const struct ct_chain_report *rep)
{
	m->rep = rep;
	memset(&m->at, 0, sizeof(m->at));
	ct_htab_reset(&m->at, (size_t)rep->n_vdis);
	for (int i = 0; i < rep->n_vdis; i++)
		ct_htab_add(&m->at, ct_hash_ptr(rep->vdis[i].vdi), (uint32_t)i);
}

static int vmap_get(const struct vmap *m, const void *p)
{
	struct ct_hprobe pr;
	long v;

	if (!p)
		return -1;
	for (ct_htab_probe(&m->at, ct_hash_ptr(p), &pr); (v = ct_htab_next(&m->at, &pr)) >= 0;)
		if ((const void *)m->rep->vdis[v].vdi == p)
			return (int)v;
	return -1;
}

static void vmap_release(struct vmap *m)
{
	ct_htab_release(&m->at);
	memset(m, 0, sizeof(*m));
}

/* --- row content --- */

static const char *state_word(int vs)
{
	switch (vs) {
	case CT_VS_OK: return "ok";
	case CT_VS_PENDING: return "PENDING";
	case CT_VS_STACKED: return "STACKED";
	case CT_VS_DEEP: return "DEEP";
	case CT_VS_GARBAGE: return "GARBAGE";
	case CT_VS_BROKEN: return "BROKEN";
	case CT_VS_ORPHAN: return "ORPHAN";
	}
	return "?";
}

static enum ct_vdi_role vdi_role(const struct ct_vdi_verdict *vv)
{
	if (vv->is_base_copy)
		return CT_ROLE_BASE;
	if (vv->snapshot_vm || vv->vdi->is_a_snapshot)
		return CT_ROLE_SNAPSHOT;
	if (vv->vm)
		return CT_ROLE_DISK;
	return CT_ROLE_OTHER;
}

static time_t vdi_snap_time(const struct ct_vdi_verdict *vv)
{
	if (vv->snapshot_vm && vv->snapshot_vm->snapshot_time > 0)
		return vv->snapshot_vm->snapshot_time;
	return vv->vdi->snapshot_time;
}

static void fill_vdi_row(struct ct_row *r, const struct ct_vdi_verdict *vv, time_t now)
{
	const struct ct_vdi *v = vv->vdi;
	char sname[128], vname[128], dev[32], age[16], su[9], extra[64];

	r->kind = CT_ROW_VDI;
	r->cls = CT_VDI;
	r->role = vdi_role(vv);
	san(r->uuid, sizeof(r->uuid), v->o.uuid);
	san(r->ref, sizeof(r->ref), v->o.ref);
	san(vname, sizeof(vname), v->name_label && *v->name_label ? v->name_label : "(no name)");
	short_uuid(v->o.uuid, su);
	extra[0] = '\0';
	if (vv->stacked > 0 || vv->pending > 0)
		bfmt(extra, sizeof(extra), ", %d stacked, %d pending above", vv->stacked, vv->pending);
	switch (r->role) {
	case CT_ROLE_BASE:
		bfmt(r->name, sizeof(r->name), "base copy %s", su);
		bfmt(r->info, sizeof(r->info), "base copy, %d %s%s", vv->children,
			 vv->children == 1 ? "child" : "children", extra);
		break;
	case CT_ROLE_DISK:
		san(sname, sizeof(sname), vv->vm->name_label);
		san(dev, sizeof(dev), vv->vbd && vv->vbd->device && *vv->vbd->device ? vv->vbd->device
				      : vv->vbd && vv->vbd->userdevice ? vv->vbd->userdevice : "?");
		bfmt(r->name, sizeof(r->name), "%s %s", sname, dev);
		bfmt(r->info, sizeof(r->info), "disk '%s'%s", vname, extra);
		break;
	case CT_ROLE_SNAPSHOT:
		if (vv->snapshot_vm)
			san(sname, sizeof(sname), vv->snapshot_vm->name_label);
		else
			bfmt(sname, sizeof(sname), "%s", vname);
		ct_ui_age(vdi_snap_time(vv), now, age, sizeof(age));
		bfmt(r->name, sizeof(r->name), "%s", sname);
		bfmt(r->info, sizeof(r->info), "snapshot, %s old%s%s", age,
			 vv->in_use ? "" : ", unused", vv->snapshot_vm ? "" : ", no snapshot VM");
		break;
	default:
		bfmt(r->name, sizeof(r->name), "%s", vname);
		bfmt(r->info, sizeof(r->info), "%s%s", vv->in_use ? "disk in use" : "disk not in use",
			 extra);
		break;
	}
	r->depth = vv->depth;
	r->size = v->physical_utilisation;
	r->vstate = vv->state;
	r->sev = vv->severity;
	if (r->role == CT_ROLE_SNAPSHOT && vv->state == CT_VS_DEEP) {
		/* a snapshot is never snapshotted again: its depth is the chain's, flagged on the
		 * live disk at the chain's end, not on every snapshot along it */
		r->vstate = CT_VS_OK;
		r->sev = CT_SEV_OK;
	}
	bfmt(r->state, sizeof(r->state), "%s%s", state_word(r->vstate),
		 r->sev == CT_SEV_CRITICAL ? "!" : "");
	r->problem = r->vstate != CT_VS_OK || r->sev != CT_SEV_OK;
	if (vv->vm) {
		san(r->vm_uuid, sizeof(r->vm_uuid), vv->vm->o.uuid);
		san(r->vm_ref, sizeof(r->vm_ref), vv->vm->o.ref);
		san(r->vm_name, sizeof(r->vm_name), vv->vm->name_label);
	}
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

static void add_note(struct ct_rows *out, int pool, int level, const char *parent_key,
		     const char *key, const char *text, bool stale)
{
	struct ct_row *r = ct_rows_add(out);

	r->kind = CT_ROW_NOTE;
	r->pool = pool;
	r->level = level;
	r->cls = CT_POOL;
	bfmt(r->key, sizeof(r->key), "%s", key);
	bfmt(r->parent_key, sizeof(r->parent_key), "%s", parent_key);
	san(r->name, sizeof(r->name), text);
	r->stale = stale;
}

/* SR grouping: the VDI forest of one SR, in the engine's preorder (report.vdis holds an SR's
 * VDIs contiguous, each parent before its children, siblings in the engine's order with a
 * uuid tie-break), so the console and `chaintop tree` list chains alike. A parent index
 * outside the SR's slice or not before the row (the engine cuts cycles and broken links)
 * makes the VDI a root of its own. */
static void add_sr_forest(struct ct_rows *out, int pool, const struct ct_chain_report *rep,
			  const struct ct_sr_verdict *sv, const char *sr_key, bool stale, time_t now)
{
	int first = sv->first_vdi, n = sv->n_vdi_verdicts;
	int *row_of, *lvl;

	if (n <= 0)
		return;
	row_of = ct_xcalloc((size_t)n + 1, sizeof(int));
	lvl = ct_xcalloc((size_t)n + 1, sizeof(int));
	for (int li = 0; li < n; li++) {
		int vi = first + li, p = rep->vdis[vi].parent, pl = p - first;
		struct ct_row *r = ct_rows_add(out);

		fill_vdi_row(r, &rep->vdis[vi], now);
		r->pool = pool;
		r->stale = stale;
		r->default_open = true;
		bfmt(r->key, sizeof(r->key), "d:%s", r->uuid);
		row_of[li] = out->n - 1;
		if (p >= first && pl < li) {
			struct ct_row *pr = &out->v[row_of[pl]];

			lvl[li] = lvl[pl] + 1;
			pr->has_children = true;
			bfmt(r->parent_key, sizeof(r->parent_key), "%s", pr->key);
		} else {
			lvl[li] = 2;
			bfmt(r->parent_key, sizeof(r->parent_key), "%s", sr_key);
		}
		r->level = lvl[li];
	}
	free(row_of);
	free(lvl);
}

static void fill_sr_row(struct ct_row *r, const struct ct_sr_verdict *sv)
{
	const struct ct_sr *sr = sv->sr;
	char note[96];

	r->kind = CT_ROW_SR;
	r->cls = CT_SR;
	san(r->uuid, sizeof(r->uuid), sr->o.uuid);
	san(r->ref, sizeof(r->ref), sr->o.ref);
	san(r->name, sizeof(r->name), sr->name_label && *sr->name_label ? sr->name_label : "(no name)");
	san(r->sr_type, sizeof(r->sr_type), sr->type);
	if (sv->vhd)
		r->depth = sv->max_depth;
	r->size = sr->physical_size;
	r->used = sr->physical_size > 0 ? (double)sr->physical_utilisation / (double)sr->physical_size : -1;
	if (r->used > 1)
		r->used = 1;
	note[0] = '\0';
	if (sv->gc_note)
		san(note, sizeof(note), sv->gc_note);
	else if (sv->gc_progress >= 0)
		bfmt(note, sizeof(note), "GC %d%%", (int)(sv->gc_progress * 100 + 0.5));
	if (sv->vhd)
		bfmt(r->info, sizeof(r->info), "%.0f%% free, %d VDIs, %d pending coalesce%s%s%s",
			 sv->free_percent, sv->n_vdis, sv->pending, note[0] ? ", " : "", note,
			 sv->gc_paused ? ", GC relinking a chain" : "");
	else
		bfmt(r->info, sizeof(r->info), "%.0f%% free, %d VDIs, no VHD chains",
			 sv->free_percent, sv->n_vdis);
	r->sev = sv->severity;
	bfmt(r->state, sizeof(r->state), "%s", sv->severity == CT_SEV_OK ? "ok"
		 : ct_severity_name(sv->severity));
	r->problem = sv->severity != CT_SEV_OK || sv->pending > 0 || sv->stacked > 0;
	r->default_open = sv->vhd;
}

/* SRs in the report's order (the engine sorts them by name, then uuid, as `tree` lists them). */
static void build_by_sr(struct ct_rows *out, int pool, const char *pool_key,
			const struct ct_chain_report *rep, bool stale, time_t now)
{
	for (int i = 0; i < rep->n_srs; i++) {
		const struct ct_sr_verdict *sv = &rep->srs[i];
		struct ct_row *r = ct_rows_add(out);
		char key[CT_ROW_KEY];

		fill_sr_row(r, sv);
		r->pool = pool;
		r->level = 1;
		r->stale = stale;
		r->has_children = sv->n_vdi_verdicts > 0;
		bfmt(r->key, sizeof(r->key), "s:%s", r->uuid);
		bfmt(r->parent_key, sizeof(r->parent_key), "%s", pool_key);
		bfmt(key, sizeof(key), "%s", r->key);
		add_sr_forest(out, pool, rep, sv, key, stale, now);
	}
}

/* A VM row takes its disks' worst state (severity first, then a chain state other than ok),
 * so a closed VM row still says that one of its disks needs a look. Its own verdict (the
 * gate refusing it) stays first. */
static void vm_rollup(struct ct_rows *out, int vmrow)
{
	struct ct_row *vr = &out->v[vmrow];
	const struct ct_row *worst = NULL;

	for (int i = vmrow + 1; i < out->n; i++) {
		const struct ct_row *d = &out->v[i];

		if (!d->problem || d->kind != CT_ROW_VDI)
			continue;
		if (!worst || ct_severity_rank(d->sev) > ct_severity_rank(worst->sev) ||
		    (worst->vstate == CT_VS_OK && d->vstate != CT_VS_OK &&
		     ct_severity_rank(d->sev) == ct_severity_rank(worst->sev)))
			worst = d;
	}
	if (!worst)
		return;
	/* the VM's own word stays when it is at least as bad (REFUSED, or a worse severity) */
	if (!vr->refused && (vr->sev == CT_SEV_OK || ct_severity_rank(worst->sev) > ct_severity_rank(vr->sev)))
		bfmt(vr->state, sizeof(vr->state), "%s", worst->state);
	if (ct_severity_rank(worst->sev) > ct_severity_rank(vr->sev))
		vr->sev = worst->sev;
	vr->problem = true;
}

static void vm_disk_rows(struct ct_rows *out, int pool, struct ct_model *m,
			 const struct ct_chain_report *rep, const struct vmap *vm_map,
			 const struct ct_vm_verdict *vmv, const char *vm_key, bool stale, time_t now)
{
	size_t nvbd = 0;
	struct ct_vbd *const *vbds = ct_model_vm_vbds(m, vmv->vm, &nvbd);

	for (size_t b = 0; b < nvbd; b++) {
		const struct ct_vbd *vbd = vbds[b];
		const struct ct_vdi *v;
		struct ct_row *r;
		char dkey[CT_ROW_KEY], dev[32], vname[128];
		int vi, di;

		if (vbd->type != CT_VBD_DISK)
			continue;
		v = ct_model_vdi(m, vbd->vdi);
		vi = vmap_get(vm_map, v);
		if (vi < 0)
			continue;
		r = ct_rows_add(out);
		fill_vdi_row(r, &rep->vdis[vi], now);
		san(dev, sizeof(dev), vbd->device && *vbd->device ? vbd->device : vbd->userdevice);
		san(vname, sizeof(vname), v->name_label);
		bfmt(r->name, sizeof(r->name), "%s '%s'", dev, vname);
		r->pool = pool;
		r->level = 2;
		r->stale = stale;
		r->default_open = true;
		bfmt(r->key, sizeof(r->key), "%s/d:%s", vm_key, r->uuid);
		bfmt(r->parent_key, sizeof(r->parent_key), "%s", vm_key);
		bfmt(dkey, sizeof(dkey), "%s", r->key);
		di = out->n - 1;
		/* the chain up to the root */
		{
			int p = rep->vdis[vi].parent, guard = 0;

			while (p >= 0 && guard++ < 256) {
				struct ct_row *a = ct_rows_add(out);

				out->v[di].has_children = true;
				fill_vdi_row(a, &rep->vdis[p], now);
				a->pool = pool;
				a->level = 3;
				a->stale = stale;
				bfmt(a->key, sizeof(a->key), "%s/a:%s", dkey, a->uuid);
				bfmt(a->parent_key, sizeof(a->parent_key), "%s", dkey);
				p = rep->vdis[p].parent;
			}
		}
		/* snapshots of this disk */
		for (size_t s = 0; s < v->snapshots.n; s++) {
			int si = vmap_get(vm_map, ct_model_vdi(m, v->snapshots.v[s]));
			struct ct_row *sr;

			if (si < 0)
				continue;
			sr = ct_rows_add(out);
			fill_vdi_row(sr, &rep->vdis[si], now);
			sr->pool = pool;
			sr->level = 3;
			sr->stale = stale;
			bfmt(sr->key, sizeof(sr->key), "%s/s:%s", dkey, sr->uuid);
			bfmt(sr->parent_key, sizeof(sr->parent_key), "%s", dkey);
			out->v[di].has_children = true;
		}
	}
}

static void build_by_vm(struct ct_rows *out, int pool, const char *pool_key, struct ct_model *m,
			const struct ct_chain_report *rep, bool stale, time_t now)
{
	struct vmap map;

	/* VMs in the report's order: by name, then uuid */
	vmap_init(&map, rep);
	for (int i = 0; i < rep->n_vms; i++) {
		const struct ct_vm_verdict *vmv = &rep->vms[i];
		struct ct_row *r = ct_rows_add(out);
		char key[CT_ROW_KEY];
		int before;

		r->kind = CT_ROW_VM;
		r->cls = CT_VM;
		r->pool = pool;
		r->level = 1;
		r->stale = stale;
		san(r->uuid, sizeof(r->uuid), vmv->vm->o.uuid);
		san(r->ref, sizeof(r->ref), vmv->vm->o.ref);
		san(r->name, sizeof(r->name), vmv->vm->name_label);
		bfmt(r->vm_uuid, sizeof(r->vm_uuid), "%s", r->uuid);
		bfmt(r->vm_ref, sizeof(r->vm_ref), "%s", r->ref);
		bfmt(r->vm_name, sizeof(r->vm_name), "%s", r->name);
		bfmt(r->key, sizeof(r->key), "m:%s", r->uuid);
		bfmt(r->parent_key, sizeof(r->parent_key), "%s", pool_key);
		if (vmv->max_depth > 0)
			r->depth = vmv->max_depth;
		r->refused = vmv->refused;
		r->sev = vmv->severity;
		bfmt(r->state, sizeof(r->state), "%s", vmv->refused ? "REFUSED"
			 : vmv->severity == CT_SEV_OK ? "ok" : ct_severity_name(vmv->severity));
		r->problem = vmv->refused || vmv->severity != CT_SEV_OK;
		bfmt(r->info, sizeof(r->info), "%s, %d snapshot%s%s%s",
			 ct_power_state_name(vmv->vm->power_state), vmv->n_snapshots,
			 vmv->n_snapshots == 1 ? "" : "s", vmv->refused ? ", gate: " : "",
			 vmv->refused && vmv->n_reasons > 0 ? "refused" : "");
		r->default_open = rep->n_vms <= 50;
		bfmt(key, sizeof(key), "%s", r->key);
		before = out->n;
		vm_disk_rows(out, pool, m, rep, &map, vmv, key, stale, now);
		out->v[before - 1].has_children = out->n > before;
		vm_rollup(out, before - 1);
	}
	vmap_release(&map);
}

static const char *pool_state_word(const struct ct_pool_view *pv, char *buf, size_t len)
{
	switch (pv->state) {
	case CT_POOL_CONNECTING: bfmt(buf, len, "connecting"); break;
	case CT_POOL_LOADING: bfmt(buf, len, "loading"); break;
	case CT_POOL_CONNECTED: bfmt(buf, len, "connected"); break;
	case CT_POOL_RECONNECTING: bfmt(buf, len, "reconnecting (%d)", pv->retries); break;
	case CT_POOL_AUTH_FAILED: bfmt(buf, len, "auth failed"); break;
	case CT_POOL_FAILED: bfmt(buf, len, "failed"); break;
	default: bfmt(buf, len, "stopped"); break;
	}
	return buf;
}

void ct_rows_pool_info(struct ct_row *r, const struct ct_pool_view *pv, time_t now)
{
	char st[48], age[16];

	pool_state_word(pv, st, sizeof(st));
	ct_ui_age(pv->last_contact, now, age, sizeof(age));
	bfmt(r->info, sizeof(r->info), "%s%s%s%s, %d critical, %d warning", st,
		 pv->stale ? ", STALE data, last contact " : "", pv->stale ? age : "",
		 pv->stale ? " ago" : "", pv->n_crit, pv->n_warn);
}

void ct_rows_build_pool(struct ct_rows *out, int pool_index, const struct ct_pool_view *pv,
			struct ct_model *m, const struct ct_chain_report *rep, bool by_vm,
			bool utf8, time_t now)
{
	struct ct_row *r = ct_rows_add(out);
	const struct ct_pool *prec = m ? ct_model_pool(m) : NULL;
	char st[48], pname[128], key[CT_ROW_KEY];

	(void)utf8;
	r->kind = CT_ROW_POOL;
	r->cls = CT_POOL;
	r->pool = pool_index;
	r->level = 0;
	r->stale = pv->stale;
	bfmt(r->key, sizeof(r->key), "p:%s", pv->name);
	san(r->name, sizeof(r->name), pv->name);
	if (prec) {
		san(pname, sizeof(pname), prec->name_label);
		if (pname[0] && strcmp(pname, r->name)) {
			size_t l = strlen(r->name);

			bfmt(r->name + l, sizeof(r->name) - l, " (%s)", pname);
		}
		san(r->uuid, sizeof(r->uuid), prec->o.uuid);
		san(r->ref, sizeof(r->ref), prec->o.ref);
	}
	ct_rows_pool_info(r, pv, now);
	r->sev = rep ? rep->worst : CT_SEV_UNKNOWN;
	bfmt(r->state, sizeof(r->state), "%s", r->sev == CT_SEV_OK ? "ok" : ct_severity_name(r->sev));
	r->problem = r->sev != CT_SEV_OK;
	r->default_open = true;
	bfmt(key, sizeof(key), "%s", r->key);
	if (!rep || !pv->loaded) {
		char text[320];

		r->has_children = true;
		if (pv->error[0])
			bfmt(text, sizeof(text), "no data yet: %s", pv->error);
		else
			bfmt(text, sizeof(text), "%s...", pool_state_word(pv, st, sizeof(st)));
		add_note(out, pool_index, 1, key, "n:load", text, pv->stale);
		return;
	}
	{
		int before = out->n;

		if (by_vm)
			build_by_vm(out, pool_index, key, m, rep, pv->stale, now);
		else
			build_by_sr(out, pool_index, key, rep, pv->stale, now);
		if (out->n == before)
			add_note(out, pool_index, 1, key, "n:empty",
				 by_vm ? "no VMs in this pool" : "no SRs in this pool", pv->stale);
		out->v[before - 1].has_children = true;
	}
}

/* --- visibility --- */

void ct_vis_release(struct ct_vis *v)
{
	if (!v)
		return;
	free(v->idx);
	free(v->tree);
	memset(v, 0, sizeof(*v));
}

bool ct_row_is_open(const struct ct_row *r, const struct ct_strset *toggled)
{
	bool t = toggled && toggled->n && ct_strset_has(toggled, r->key);

	return r->default_open != t;
}

const char *ct_tree_sort_name(enum ct_tree_sort s)
{
	static const char *const names[CT_TSORT_COUNT] = { "chain order", "depth", "pending", "size", "name" };

	return s >= 0 && s < CT_TSORT_COUNT ? names[s] : "chain order";
}

struct sort_blk {
	int start, end;       /* the subtree: rows[start..end) */
	long long key;        /* larger first (depth, pending, size) */
	const char *name;
};

static int cmp_blk_key(const void *a, const void *b)
{
	const struct sort_blk *x = a, *y = b;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return x->start - y->start;
}

static int cmp_blk_name(const void *a, const void *b)
{
	const struct sort_blk *x = a, *y = b;
	int c = strcasecmp(x->name, y->name);

	return c ? c : x->start - y->start;
}

static long long blk_key(struct ct_row *const *rows, int a, int b, enum ct_tree_sort s)
{
	long long k = s == CT_TSORT_SIZE ? rows[a]->size : 0;

	for (int i = a; i < b && s != CT_TSORT_SIZE; i++) {
		if (s == CT_TSORT_DEPTH && rows[i]->depth > k)
			k = rows[i]->depth;
		else if (s == CT_TSORT_PENDING && rows[i]->kind == CT_ROW_VDI && rows[i]->vstate == CT_VS_PENDING)
			k++;
	}
	return k;
}

/* Sort the sibling subtrees in rows[a..b), whose first row is at the siblings' level, then
 * the children of each. tmp has room for b - a rows. */
static void sort_range(struct ct_row **rows, int a, int b, enum ct_tree_sort s, struct ct_row **tmp)
{
	struct sort_blk *blk;
	int nb = 0, o = 0;

	if (b - a < 2)
		return;
	blk = ct_xcalloc((size_t)(b - a) + 1, sizeof(*blk));
	for (int i = a; i < b;) {
		int j = i + 1;

		while (j < b && rows[j]->level > rows[i]->level)
			j++;
		blk[nb].start = i;
		blk[nb].end = j;
		blk[nb].key = blk_key(rows, i, j, s);
		blk[nb].name = rows[i]->name;
		nb++;
		i = j;
	}
	/* rows at level 0 are the pools (and notes kept with them): they keep their order */
	if (nb > 1 && rows[a]->level > 0) {
		qsort(blk, (size_t)nb, sizeof(*blk), s == CT_TSORT_NAME ? cmp_blk_name : cmp_blk_key);
		for (int k = 0; k < nb; k++)
			for (int i = blk[k].start; i < blk[k].end; i++)
				tmp[o++] = rows[i];
		memcpy(rows + a, tmp, (size_t)(b - a) * sizeof(*rows));
		/* the blocks moved: their new places, in order */
		o = a;
		for (int k = 0; k < nb; k++) {
			int len = blk[k].end - blk[k].start;

			blk[k].start = o;
			blk[k].end = o + len;
			o += len;
		}
	}
	for (int k = 0; k < nb; k++)
		sort_range(rows, blk[k].start + 1, blk[k].end, s, tmp);
	free(blk);
}

void ct_rows_sort(struct ct_row **rows, int n, enum ct_tree_sort s)
{
	struct ct_row **tmp;

	if (s == CT_TSORT_CHAIN || n < 2)
		return;
	tmp = ct_xcalloc((size_t)n + 1, sizeof(*tmp));
	sort_range(rows, 0, n, s, tmp);
	free(tmp);
}

static bool ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* Lower-cased wide copy of s (NULL when s is not valid in the locale's encoding). */
static wchar_t *wide_lower(const char *s)
{
	size_t n = mbstowcs(NULL, s, 0);
	wchar_t *w;

	if (n == (size_t)-1)
		return NULL;
	w = ct_xmalloc((n + 1) * sizeof(*w));
	mbstowcs(w, s, n + 1);
	for (size_t i = 0; i < n; i++)
		w[i] = (wchar_t)towlower((wint_t)w[i]);
	return w;
}

bool ct_text_match(const char *hay, const char *needle)
{
	wchar_t *h, *n;
	bool m;

	if (!needle || !*needle)
		return true;
	if (!hay || !*hay)
		return false;
	if (ascii(hay) && ascii(needle))   /* the common case, without allocating */
		return strcasestr(hay, needle) != NULL;
	h = wide_lower(hay);
	n = h ? wide_lower(needle) : NULL;
	/* a text the locale cannot decode is compared byte by byte (ASCII case only) */
	m = h && n ? wcsstr(h, n) != NULL : strcasestr(hay, needle) != NULL;
	free(h);
	free(n);
	return m;
}

bool ct_row_matches(const struct ct_row *r, const char *filter)
{
	return ct_text_match(r->name, filter) || ct_text_match(r->uuid, filter) ||
	       ct_text_match(r->info, filter) || ct_text_match(r->vm_name, filter);
}

static bool row_matches(const struct ct_row *r, const char *filter, bool problems_only)
{
	if (problems_only && !r->problem)
		return false;
	return !filter || !*filter || ct_row_matches(r, filter);
}

/* End (exclusive) of the subtree of row i (rows in preorder). */
static int subtree_end(struct ct_row *const *rows, int n, int i)
{
	int j = i + 1;

	while (j < n && rows[j]->level > rows[i]->level && rows[j]->pool == rows[i]->pool)
		j++;
	return j;
}

/* The rows a filter keeps for themselves: a match keeps its whole chain, so a VM's disk
 * brings its base copies and the snapshots taken of it (whose names need not name the VM),
 * and a VM row (VM grouping) brings its disks and their chains. The chain is the subtree of
 * the topmost disk row above the match. */
static bool *chain_matches(struct ct_row *const *rows, int n, const char *filter, bool problems_only)
{
	bool *m = ct_xcalloc((size_t)n + 1, sizeof(bool));
	int top = -1;   /* the chain root of the rows being walked */

	for (int i = 0; i < n; i++) {
		const struct ct_row *r = rows[i];
		int from, to;

		if (r->kind != CT_ROW_VDI)
			top = -1;
		else if (top < 0 || r->level <= rows[top]->level || r->pool != rows[top]->pool)
			top = i;
		if (!ct_row_matches(r, filter))
			continue;
		if (r->kind == CT_ROW_VDI)
			from = top;
		else if (r->kind == CT_ROW_VM)
			from = i;
		else {
			m[i] = true;
			continue;
		}
		to = subtree_end(rows, n, from);
		for (int j = from; j < to; j++)
			m[j] = true;
	}
	if (problems_only)
		for (int i = 0; i < n; i++)
			m[i] = m[i] && rows[i]->problem;
	return m;
}

/* Problems only, no filter: the problem rows, and under a disk with a problem (VM grouping)
 * the base copies it waits on, which may be fine themselves but are what the disk needs. */
static bool *waited_on(struct ct_row *const *rows, int n)
{
	bool *m = ct_xcalloc((size_t)n + 1, sizeof(bool));

	for (int i = 0; i < n; i++) {
		const struct ct_row *r = rows[i];
		int end;

		m[i] = m[i] || r->problem;
		if (!r->problem || r->kind != CT_ROW_VDI || r->role != CT_ROLE_DISK)
			continue;
		end = subtree_end(rows, n, i);
		for (int j = i + 1; j < end; j++)
			if (rows[j]->level == r->level + 1 && rows[j]->role == CT_ROLE_BASE)
				m[j] = true;
	}
	return m;
}

void ct_vis_build(struct ct_vis *out, struct ct_row *const *rows, int n,
		  const struct ct_strset *toggled, const char *filter, bool problems_only)
{
	bool filtering = (filter && *filter) || problems_only;
	bool *keep = NULL;
	bool flag[CT_ROW_LEVELS + 2];

	out->n = 0;
	if (out->cap < n + 1) {
		out->cap = n + 1;
		out->idx = ct_xrealloc(out->idx, (size_t)out->cap * sizeof(*out->idx));
		out->tree = ct_xrealloc(out->tree, (size_t)out->cap * sizeof(*out->tree));
	}
	if (filtering) {
		bool *whole = NULL;

		if (filter && *filter)
			whole = chain_matches(rows, n, filter, problems_only);
		else
			whole = waited_on(rows, n);
		keep = ct_xcalloc((size_t)n + 1, sizeof(bool));
		memset(flag, 0, sizeof(flag));
		for (int i = n - 1; i >= 0; i--) {
			const struct ct_row *r = rows[i];
			int L = r->level > CT_ROW_LEVELS ? CT_ROW_LEVELS : r->level;
			bool k = r->level == 0 || (whole ? whole[i] : row_matches(r, filter, problems_only)) ||
				 flag[L + 1];

			for (int j = L + 1; j <= CT_ROW_LEVELS + 1; j++)
				flag[j] = false;
			keep[i] = k;
			if (k)
				flag[L] = true;
		}
		free(whole);
	}
	/* collapse: skip the descendants of a closed row (not while filtering) */
	for (int i = 0; i < n; i++) {
		const struct ct_row *r = rows[i];

		if (keep && !keep[i])
			continue;
		out->idx[out->n++] = i;
		if (!filtering && r->has_children && !ct_row_is_open(r, toggled)) {
			int j = i + 1;

			while (j < n && rows[j]->level > r->level && rows[j]->pool == r->pool)
				j++;
			i = j - 1;
		}
	}
	free(keep);
	/* tree prefixes: does the row at each level have a later visible sibling? */
	{
		bool more[CT_ROW_LEVELS + 2];
		bool *has_next = ct_xcalloc((size_t)out->n + 1, sizeof(bool));
		bool seen[CT_ROW_LEVELS + 2];

		memset(seen, 0, sizeof(seen));
		for (int vi = out->n - 1; vi >= 0; vi--) {
			const struct ct_row *r = rows[out->idx[vi]];
			int L = r->level > CT_ROW_LEVELS ? CT_ROW_LEVELS : r->level;

			has_next[vi] = seen[L];
			seen[L] = true;
			for (int j = L + 1; j <= CT_ROW_LEVELS + 1; j++)
				seen[j] = false;
			if (L == 0)
				memset(seen, 0, sizeof(seen));
		}
		memset(more, 0, sizeof(more));
		for (int vi = 0; vi < out->n; vi++) {
			const struct ct_row *r = rows[out->idx[vi]];
			int L = r->level > CT_ROW_LEVELS ? CT_ROW_LEVELS : r->level;
			char *t = out->tree[vi];
			int o = 0;

			for (int j = 1; j < L; j++)
				t[o++] = more[j] ? '|' : ' ';
			if (L >= 1)
				t[o++] = has_next[vi] ? 't' : 'l';
			t[o] = '\0';
			more[L] = has_next[vi];
		}
		free(has_next);
	}
}

/* --- detail pane --- */

static void line(struct ct_strset *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(struct ct_strset *out, const char *fmt, ...)
{
	char buf[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ct_strset_add(out, buf);
}

static void detail_problems(struct ct_strset *out, const struct ct_chain_report *rep, const char *ref)
{
	int shown = 0;

	for (int i = 0; i < rep->n_problems && shown < 6; i++) {
		const struct ct_problem *p = &rep->problems[i];
		char reason[512];

		if (!p->ref || strcmp(p->ref, ref))
			continue;
		san(reason, sizeof(reason), p->reason);
		line(out, "  %s: %s", ct_severity_name(p->severity), reason);
		shown++;
	}
}

static void detail_tasks_messages(struct ct_strset *out, struct ct_model *m, const char *ref,
				  const char *uuid, time_t now)
{
	size_t n = 0;
	struct ct_task *const *tasks = ct_model_tasks_for(m, ref, &n);
	char name[128], age[16], body[256];

	if (n > 0) {
		line(out, "Tasks:");
		for (size_t i = 0; i < n && i < 5; i++) {
			san(name, sizeof(name), tasks[i]->name_label);
			ct_ui_age(tasks[i]->created, now, age, sizeof(age));
			line(out, "  %s: %s %d%%, started %s ago", name,
			     ct_task_status_name(tasks[i]->status), (int)(tasks[i]->progress * 100), age);
		}
	}
	if (uuid && *uuid) {
		struct ct_message *const *msgs = ct_model_messages_for(m, uuid, &n);

		if (n > 0) {
			line(out, "Messages:");
			for (size_t i = 0; i < n && i < 5; i++) {
				san(name, sizeof(name), msgs[i]->name);
				san(body, sizeof(body), msgs[i]->body);
				ct_ui_age(msgs[i]->timestamp, now, age, sizeof(age));
				line(out, "  %s ago %s (priority %lld) %s", age, name,
				     (long long)msgs[i]->priority, body);
			}
		}
	}
}

/* A live disk answers for its VM's gate too. */
static void detail_gate(struct ct_strset *out, struct ct_model *m, const struct ct_chain_report *rep,
			const char *vm_ref)
{
	const struct ct_vm *vm = ct_model_vm(m, vm_ref);
	char name[128];
	int i;

	if (!vm)
		return;
	i = ct_chain_find_vm(rep, vm);
	san(name, sizeof(name), vm->name_label);
	if (i >= 0 && rep->vms[i].refused) {
		line(out, "Gate for VM '%s': REFUSED", name);
		if (rep->vms[i].gate_eta >= 0) {
			char eb[32], wb[16];

			ct_format_duration(rep->vms[i].gate_eta, eb, sizeof(eb));
			ct_format_bytes(rep->vms[i].gate_work, wb, sizeof(wb));
			line(out, "  the gate should pass again in about %s (%s still to merge on its chains)",
			     eb, wb);
		}
		for (int k = 0; k < rep->vms[i].n_reasons && k < 6; k++) {
			char reason[512];

			san(reason, sizeof(reason), rep->vms[i].reasons[k]);
			line(out, "  - %s", reason);
		}
	} else if (i >= 0) {
		line(out, "Gate for VM '%s': a snapshot may go ahead now", name);
	}
}

static void detail_vdi(struct ct_strset *out, struct ct_model *m, const struct ct_chain_report *rep,
		       const struct ct_vdi *v, const char *gate_vm_ref, time_t now)
{
	int vi = ct_chain_find_vdi(rep, v);
	const struct ct_vdi_verdict *vv = vi >= 0 ? &rep->vdis[vi] : NULL;
	const struct ct_sr *sr = ct_model_sr(m, v->sr);
	char name[160], srname[128], vs[16], ps[16], su[9];
	size_t nvbd = 0;
	struct ct_vbd *const *vbds;

	san(name, sizeof(name), v->name_label);
	san(srname, sizeof(srname), sr ? sr->name_label : "?");
	line(out, "VDI '%s'  uuid %s", name, nz(v->o.uuid));
	ct_format_bytes(v->virtual_size, vs, sizeof(vs));
	ct_format_bytes(v->physical_utilisation, ps, sizeof(ps));
	line(out, "  SR '%s'  virtual %s  physical %s  %s%s%s", srname, vs, ps,
	     v->managed ? "managed" : "base copy (unmanaged)", v->is_a_snapshot ? "  snapshot" : "",
	     v->read_only ? "  read-only" : "");
	if (vv)
		line(out, "  depth %d  children %d  stacked %d  pending %d  state %s  %s", vv->depth,
		     vv->children, vv->stacked, vv->pending, state_word(vv->state),
		     ct_severity_name(vv->severity));
	detail_problems(out, rep, v->o.ref);
	if (gate_vm_ref)
		detail_gate(out, m, rep, gate_vm_ref);
	if (vv) {
		int p = vv->parent, guard = 0;

		line(out, "Chain to root:");
		line(out, "  %s %s depth %d", ct_short_uuid(nz(v->o.uuid), su), vv->is_base_copy ? "base copy" : name, vv->depth);
		while (p >= 0 && guard++ < 64) {
			const struct ct_vdi_verdict *pv = &rep->vdis[p];
			char pn[128];

			san(pn, sizeof(pn), pv->vdi->name_label);
			short_uuid(pv->vdi->o.uuid, su);
			line(out, "  <- %s %s depth %d, %d %s", su, pv->is_base_copy ? "base copy" : pn,
			     pv->depth, pv->children, pv->children == 1 ? "child" : "children");
			p = pv->parent;
		}
	}
	vbds = ct_model_vdi_vbds(m, v, &nvbd);
	if (nvbd > 0) {
		line(out, "Used by:");
		for (size_t i = 0; i < nvbd && i < 6; i++) {
			const struct ct_vm *vm = ct_model_vm(m, vbds[i]->vm);
			char vmn[128], dev[32];

			san(vmn, sizeof(vmn), vm ? vm->name_label : "?");
			san(dev, sizeof(dev), vbds[i]->device && *vbds[i]->device ? vbds[i]->device
					      : vbds[i]->userdevice);
			line(out, "  %s '%s' %s %s%s", vm && vm->is_a_snapshot ? "snapshot" : "VM", vmn, dev,
			     vbds[i]->read_only ? "RO" : "RW",
			     vbds[i]->currently_attached ? ", attached" : "");
		}
	} else {
		line(out, "Used by: nothing (no VBD)");
	}
	detail_tasks_messages(out, m, v->o.ref, v->o.uuid, now);
}

static void detail_sr(struct ct_strset *out, struct ct_model *m, const struct ct_chain_report *rep,
		      const struct ct_sr *sr, time_t now)
{
	char name[160], type[32], sz[16], used[16];
	const struct ct_sr_verdict *sv = NULL;

	for (int i = 0; i < rep->n_srs; i++)
		if (rep->srs[i].sr == sr)
			sv = &rep->srs[i];
	san(name, sizeof(name), sr->name_label);
	san(type, sizeof(type), sr->type);
	ct_format_bytes(sr->physical_size, sz, sizeof(sz));
	ct_format_bytes(sr->physical_utilisation, used, sizeof(used));
	line(out, "SR '%s' (%s%s)  uuid %s", name, type, sr->shared ? ", shared" : "", nz(sr->o.uuid));
	line(out, "  size %s  used %s", sz, used);
	if (sv) {
		char note[128];

		san(note, sizeof(note), sv->gc_note ? sv->gc_note : "");
		line(out, "  %.1f%% free  %d VDIs  pending %d  stacked %d  max depth %d  orphans %d  garbage %d  broken %d",
		     sv->free_percent, sv->n_vdis, sv->pending, sv->stacked, sv->max_depth, sv->orphans,
		     sv->garbage, sv->broken);
		line(out, "  GC: %s%s%s%s", sv->gc_progress >= 0 ? "running" : "no task",
		     sv->gc_paused ? ", relinking" : "", sv->gc_no_space ? ", out of space" : "",
		     note[0] ? "" : "");
		if (note[0])
			line(out, "  %s", note);
		if (sv->vhd && sv->work_links > 0) {
			char wb[16], nb[16], fb[16], rb[16], eb[32];

			ct_format_bytes(sv->work_bytes, wb, sizeof(wb));
			ct_format_bytes(sv->need_bytes, nb, sizeof(nb));
			ct_format_bytes(sv->free_bytes, fb, sizeof(fb));
			if (sv->work_estimated)
				line(out, "  GC work left %s in %d merge%s (%d estimated: no vhd-blocks)", wb,
				     sv->work_links, sv->work_links == 1 ? "" : "s", sv->work_estimated);
			else
				line(out, "  GC work left %s in %d merge%s", wb, sv->work_links,
				     sv->work_links == 1 ? "" : "s");
			line(out, "  the largest merge needs %s free; the SR has %s", nb, fb);
			if (sv->rate > 0 && sv->eta >= 0) {
				ct_format_bytes((int64_t)(sv->rate * 3600.0), rb, sizeof(rb));
				ct_format_duration(sv->eta, eb, sizeof(eb));
				line(out, "  merging %s/h: every chain healthy in about %s", rb, eb);
			} else {
				line(out, "  merge rate not measured yet (it is, once a merge finishes while watched)");
			}
		}
		if (sv->not_coalesced > 0)
			line(out, "  %d link%s SM will not coalesce (leaf-coalesce switches, on_boot=reset, ...)",
			     sv->not_coalesced, sv->not_coalesced == 1 ? "" : "s");
		line(out, "  limits: tolerance %d, max depth %d, min free %d%%, warn depth %d, crit depth %d",
		     sv->gate.tolerance, sv->gate.max_depth, sv->gate.min_free_percent,
		     sv->health.warn_depth, sv->health.crit_depth);
	}
	detail_problems(out, rep, sr->o.ref);
	detail_tasks_messages(out, m, sr->o.ref, sr->o.uuid, now);
}

static void detail_vm(struct ct_strset *out, struct ct_model *m, const struct ct_chain_report *rep,
		      const struct ct_vm *vm, time_t now)
{
	int i = ct_chain_find_vm(rep, vm);
	char name[160];

	san(name, sizeof(name), vm->name_label);
	line(out, "VM '%s'  uuid %s  %s", name, nz(vm->o.uuid), ct_power_state_name(vm->power_state));
	if (i >= 0) {
		const struct ct_vm_verdict *vv = &rep->vms[i];

		line(out, "  snapshots %d  deepest disk %d", vv->n_snapshots, vv->max_depth);
		if (!vv->refused) {
			line(out, "Gate: a snapshot may go ahead now");
		} else {
			line(out, "Gate: REFUSED");
			if (vv->gate_eta >= 0) {
				char eb[32], wb[16];

				ct_format_duration(vv->gate_eta, eb, sizeof(eb));
				ct_format_bytes(vv->gate_work, wb, sizeof(wb));
				line(out, "  the gate should pass again in about %s (%s still to merge on its chains)",
				     eb, wb);
			}
			for (int r = 0; r < vv->n_reasons && r < 8; r++) {
				char reason[512];

				san(reason, sizeof(reason), vv->reasons[r]);
				line(out, "  - %s", reason);
			}
		}
	}
	detail_problems(out, rep, vm->o.ref);
	{
		size_t nvbd = 0;
		struct ct_vbd *const *vbds = ct_model_vm_vbds(m, vm, &nvbd);

		if (nvbd > 0)
			line(out, "Disks:");
		for (size_t b = 0; b < nvbd && b < 8; b++) {
			const struct ct_vdi *v = ct_model_vdi(m, vbds[b]->vdi);
			int vi = v ? ct_chain_find_vdi(rep, v) : -1;
			char dev[32], vn[128];

			if (vbds[b]->type != CT_VBD_DISK || !v)
				continue;
			san(dev, sizeof(dev), vbds[b]->device && *vbds[b]->device ? vbds[b]->device
					      : vbds[b]->userdevice);
			san(vn, sizeof(vn), v->name_label);
			if (vi >= 0)
				line(out, "  %s '%s' depth %d, %d stacked, %d pending, %s", dev, vn,
				     rep->vdis[vi].depth, rep->vdis[vi].stacked, rep->vdis[vi].pending,
				     state_word(rep->vdis[vi].state));
			else
				line(out, "  %s '%s'", dev, vn);
		}
	}
	detail_tasks_messages(out, m, vm->o.ref, vm->o.uuid, now);
}

void ct_rows_detail(struct ct_strset *out, const struct ct_row *r, const struct ct_pool_view *pv,
		    struct ct_model *m, const struct ct_chain_report *rep, time_t now)
{
	char st[48], age[16], age2[16];

	if (r->kind == CT_ROW_POOL || r->kind == CT_ROW_NOTE || !rep) {
		pool_state_word(pv, st, sizeof(st));
		ct_ui_age(pv->last_event, now, age, sizeof(age));
		ct_ui_age(pv->last_contact, now, age2, sizeof(age2));
		line(out, "Pool '%s'  %s%s%s", pv->name, st, pv->read_only ? "  read-only" : "",
		     pv->stale ? "  STALE data" : "");
		line(out, "  last event %s%s, last contact %s%s", age, pv->last_event > 0 ? " ago" : "",
		     age2, pv->last_contact > 0 ? " ago" : "");
		line(out, "  problems: %d critical, %d warning, %d unknown", pv->n_crit, pv->n_warn,
		     pv->n_unknown);
		if (pv->error[0])
			line(out, "  last error: %s", pv->error);
		if (rep)
			line(out, "  %d SRs, %d VDIs, %d VMs", rep->n_srs, rep->n_vdis, rep->n_vms);
		return;
	}
	if (!m)
		return;
	if (r->cls == CT_VDI) {
		const struct ct_vdi *v = ct_model_vdi(m, r->ref);

		if (v)
			detail_vdi(out, m, rep, v, r->role == CT_ROLE_DISK ? r->vm_ref : NULL, now);
		else
			line(out, "VDI %s is gone from the pool", r->uuid);
	} else if (r->cls == CT_SR) {
		const struct ct_sr *sr = ct_model_sr(m, r->ref);

		if (sr)
			detail_sr(out, m, rep, sr, now);
	} else if (r->cls == CT_VM) {
		const struct ct_vm *vm = ct_model_vm(m, r->ref);

		if (vm)
			detail_vm(out, m, rep, vm, now);
	}
}
