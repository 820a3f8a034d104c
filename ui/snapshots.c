/* snapshots.c - the Snapshots view: stale snapshots and orphan disks (src/prune) grouped by
 * pool and SR, each with its source VM, its owner (in prune --dry-run's words), SIZE (the
 * physical utilisation of the disks it would destroy, as everywhere in the console), SPACE
 * BACK (what deleting it gives back once the GC has run: the prune engine's effect), its
 * reasons; sorted by age, size or space back.
 * Space tags; `d` deletes the tagged (or the selected) candidates after a dialog listing
 * every object and XAPI call, focus on Cancel, a typed word for more than 10 items. The
 * deletion runs on the worker thread through ct_prune_execute (fresh re-checks before each
 * call) and is recorded in the job history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/prune.h"
#include "ui.h"
#include "lib/util.h"

#define TYPED_ABOVE 10

enum snap_sort { SORT_AGE, SORT_SIZE, SORT_BACK, SORT_N };

static const char *sort_name(enum snap_sort m)
{
	return m == SORT_SIZE ? "size" : m == SORT_BACK ? "space back" : "age";
}

struct snap_entry {
	int cand;                  /* index into list, -1 for a group header */
	char text[256];            /* header text */
};

/* The list holds every candidate of the pools shown; the entries are the rows on screen
 * (group headers, then the candidates that match the filter). The selection is kept by
 * identity (l.key: "c:pool/uuid" or "g:pool/SR name"), never by index: the list is rebuilt
 * on every model change and the filter can shrink it under the selection. */
struct ct_ui_snap {
	struct ct_prune_list list;
	struct snap_entry *e;
	int n_e;
	struct ct_ui_list l;
	enum snap_sort sort;
	struct ct_strset tagged;   /* "pool/uuid" */
	bool stale;                /* models changed while the view was not shown */
	char filter[128];          /* the filter the entries were built with */
	struct ct_strset detail;
};

void ct_snap_init(struct ct_ui *ui)
{
	ui->snap = ct_xcalloc(1, sizeof(*ui->snap));
	ct_prune_list_init(&ui->snap->list);
	ui->snap->stale = true;
}

void ct_snap_release(struct ct_ui *ui)
{
	struct ct_ui_snap *s = ui->snap;

	if (!s)
		return;
	ct_prune_list_release(&s->list);
	free(s->e);
	ct_strset_release(&s->tagged);
	ct_strset_release(&s->detail);
	free(s);
	ui->snap = NULL;
}

static void tag_key(const struct ct_prune_cand *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", c->pool ? c->pool : "", c->uuid ? c->uuid : "");
}

static bool is_tagged(const struct ct_ui_snap *s, const struct ct_prune_cand *c)
{
	char k[256];

	tag_key(c, k, sizeof(k));
	return ct_strset_has(&s->tagged, k);
}

static void untag(struct ct_ui_snap *s, const char *k)
{
	for (size_t j = 0; j < s->tagged.n; j++) {
		if (!strcmp(s->tagged.v[j], k)) {
			free(s->tagged.v[j]);
			s->tagged.v[j] = s->tagged.v[--s->tagged.n];
			return;
		}
	}
}

static int strcmp0(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_cand(const void *pa, const void *pb, void *ctx)
{
	const struct ct_prune_cand *a = pa, *b = pb;
	enum snap_sort mode = *(const enum snap_sort *)ctx;
	int r = strcmp0(a->pool, b->pool);

	if (r)
		return r;
	if ((r = strcmp0(a->sr_name, b->sr_name)))
		return r;
	if (mode == SORT_SIZE && a->physical != b->physical)
		return a->physical > b->physical ? -1 : 1;
	if (mode == SORT_BACK && a->bytes_after_gc != b->bytes_after_gc)
		return a->bytes_after_gc > b->bytes_after_gc ? -1 : 1;
	if (a->age != b->age)
		return a->age > b->age ? -1 : 1;
	return strcmp0(a->uuid, b->uuid);
}

static bool cand_matches(const struct ct_prune_cand *c, const char *filter)
{
	/* the source VM's name too: a snapshot's own name need not contain it */
	return !filter[0] || (c->name && strcasestr(c->name, filter)) ||
	       (c->uuid && strcasestr(c->uuid, filter)) || (c->sr_name && strcasestr(c->sr_name, filter)) ||
	       (c->source_name && strcasestr(c->source_name, filter));
}

/* Identity of entry i (see l.key). */
static void entry_key(void *ctx, int i, char *buf, size_t len)
{
	const struct ct_ui_snap *s = ctx;
	const struct snap_entry *en = &s->e[i];
	const struct ct_prune_cand *c;

	if (en->cand >= 0) {
		c = &s->list.c[en->cand];
		snprintf(buf, len, "c:%s/%s", c->pool ? c->pool : "", c->uuid ? c->uuid : "");
		return;
	}
	/* a header: the group of the candidate after it */
	c = i + 1 < s->n_e && s->e[i + 1].cand >= 0 ? &s->list.c[s->e[i + 1].cand] : NULL;
	snprintf(buf, len, "g:%s/%s", c && c->pool ? c->pool : "", c && c->sr_name ? c->sr_name : "");
}

/* Entries of the candidates that match the filter, a header before each pool and SR. */
static void build_entries(struct ct_ui_snap *s)
{
	const char *pool = NULL, *sr = NULL;
	bool first = true;

	free(s->e);
	s->e = ct_xcalloc((size_t)s->list.n * 2 + 2, sizeof(*s->e));
	s->n_e = 0;
	for (int i = 0; i < s->list.n; i++) {
		const struct ct_prune_cand *c = &s->list.c[i];

		if (!cand_matches(c, s->filter))
			continue;
		if (first || strcmp0(pool, c->pool) || strcmp0(sr, c->sr_name)) {
			struct snap_entry *h = &s->e[s->n_e++];
			char pn[96], sn[96], b[16];
			int n = 0;
			int64_t bytes = 0;

			for (int k = i; k < s->list.n && !strcmp0(s->list.c[k].pool, c->pool) &&
			     !strcmp0(s->list.c[k].sr_name, c->sr_name); k++) {
				if (!cand_matches(&s->list.c[k], s->filter))
					continue;
				n++;
				bytes += s->list.c[k].bytes_after_gc;
			}
			ct_sanitize(c->pool ? c->pool : "", pn, sizeof(pn));
			ct_sanitize(c->sr_name ? c->sr_name : "(no disk)", sn, sizeof(sn));
			ct_format_bytes(bytes, b, sizeof(b));
			ct_fmt(h->text, sizeof(h->text), "pool '%s' > SR '%s': %d candidate%s, about %s back after GC",
			       pn, sn, n, n == 1 ? "" : "s", b);
			h->cand = -1;
			pool = c->pool;
			sr = c->sr_name;
			first = false;
		}
		s->e[s->n_e].cand = i;
		s->e[s->n_e].text[0] = '\0';
		s->n_e++;
	}
}

static void remember_selection(struct ct_ui_snap *s)
{
	ct_list_remember(&s->l, s->n_e, entry_key, s);
}

/* Sort, rebuild the entries, and put the selection back on the object it was on; if that
 * object is gone (deleted, coalesced away, filtered out), on the row now at its place. */
static void rebuild(struct ct_ui *ui)
{
	struct ct_ui_snap *s = ui->snap;
	int found;

	snprintf(s->filter, sizeof(s->filter), "%s", ui->filter);
	if (s->list.n > 1)   /* an empty list has no array at all */
		qsort_r(s->list.c, (size_t)s->list.n, sizeof(*s->list.c), cmp_cand, &s->sort);
	build_entries(s);
	found = ct_list_find(s->n_e, s->l.key, entry_key, s);
	if (found >= 0)
		s->l.sel = found;
	else if (!s->l.key[0] && s->l.sel == 0)
		s->l.sel = 1;   /* start on the first candidate rather than its group header */
	if (s->l.sel >= s->n_e)
		s->l.sel = s->n_e - 1;
	if (s->l.sel < 0)
		s->l.sel = 0;
	if (found < 0 && s->l.sel < s->n_e && s->e[s->l.sel].cand < 0 && s->l.sel + 1 < s->n_e)
		s->l.sel++;   /* a header took the place: the candidate below it */
	/* what is selected on screen is what the keys act on, and what stays selected when
	 * the filter is cleared */
	if (s->l.key[0] && s->n_e > 0)
		remember_selection(s);
	ui->need_frame = true;
}

/* The filter changed: the entries only (the candidates are the same). */
static void snap_filter_changed(struct ct_ui *ui)
{
	struct ct_ui_snap *s = ui->snap;

	if (!s || s->stale || !strcmp(s->filter, ui->filter))
		return;
	rebuild(ui);
}

static void snap_reload(struct ct_ui *ui)
{
	struct ct_ui_snap *s = ui->snap;
	struct ct_strset keep;
	time_t now = time(NULL);

	if (!s)
		return;
	if (ui->view != UI_SNAP) {
		s->stale = true;   /* computed when the view is shown */
		return;
	}
	ct_prune_list_release(&s->list);
	ct_prune_list_init(&s->list);
	/* the entries index the old list: none until rebuilt */
	s->n_e = 0;
	for (int i = 0; i < ui->n_pools; i++) {
		struct ct_ui_pool *p = &ui->pools[i];
		struct ct_model *m = &p->w->model;

		if (p->hidden)
			continue;
		ct_model_lock(m);
		if (p->w->loaded)
			ct_prune_find(m, ui->cfg, p->w->conf, -1, now, 0, &s->list);
		ct_model_unlock(m);
	}
	/* drop tags of candidates that are gone */
	memset(&keep, 0, sizeof(keep));
	for (int i = 0; i < s->list.n; i++) {
		char k[256];

		tag_key(&s->list.c[i], k, sizeof(k));
		if (ct_strset_has(&s->tagged, k))
			ct_strset_add(&keep, k);
	}
	ct_strset_release(&s->tagged);
	s->tagged = keep;
	rebuild(ui);
	s->stale = false;
}

static void fmt_age(long long age, char *buf, size_t len)
{
	if (age < 0) {
		snprintf(buf, len, "?");
		return;
	}
	ct_format_duration(age, buf, len);
}

static void cand_detail(struct ct_ui *ui, const struct ct_prune_cand *c)
{
	struct ct_ui_snap *s = ui->snap;
	char buf[700];

	ct_strset_release(&s->detail);
	{
		char *who = ct_prune_owner_text(c->owner, c->owner_job);
		char b1[16], b2[16];

		if (c->kind == CT_PRUNE_SNAPSHOT)
			snprintf(buf, sizeof(buf), "of VM: %s", c->source_name ? c->source_name : "(gone)");
		else
			snprintf(buf, sizeof(buf), "snapshot of VDI: %s", c->source_name ? c->source_name :
				 "(none: not a snapshot disk, or its VDI is gone)");
		ct_strset_add(&s->detail, buf);
		snprintf(buf, sizeof(buf), "owner: %s", who);
		ct_strset_add(&s->detail, buf);
		free(who);
		ct_format_bytes(c->physical, b1, sizeof(b1));
		ct_format_bytes(c->bytes_after_gc, b2, sizeof(b2));
		snprintf(buf, sizeof(buf), "size: %s on disk (physical utilisation of the disks it destroys); "
			 "space back: about %s once the GC has run", b1, b2);
		ct_strset_add(&s->detail, buf);
	}
	for (int i = 0; i < c->n_reasons; i++) {
		snprintf(buf, sizeof(buf), "why: %s", c->reasons[i]);
		ct_strset_add(&s->detail, buf);
	}
	for (int i = 0; i < c->n_effects; i++) {
		snprintf(buf, sizeof(buf), "effect: %s", c->effects[i]);
		ct_strset_add(&s->detail, buf);
	}
	for (int i = 0; i < c->n_disks; i++) {
		const struct ct_prune_disk *d = &c->disks[i];
		char sz[16], ph[16];

		ct_format_bytes(d->virtual_size, sz, sizeof(sz));
		ct_format_bytes(d->physical_utilisation, ph, sizeof(ph));
		snprintf(buf, sizeof(buf), "%s '%s' (%.8s) %s on disk, %s virtual, on SR '%s': %s%s",
			 d->suspend ? "suspend image" : c->kind == CT_PRUNE_SNAPSHOT ? "snapshot disk" : "disk",
			 d->name ? d->name : "", d->uuid ? d->uuid : "", ph, sz, d->sr_name ? d->sr_name : "",
			 d->destroy ? "VDI.destroy planned" : "kept: ", d->destroy ? "" : d->keep_reason ? d->keep_reason : "");
		ct_strset_add(&s->detail, buf);
		if (d->chain) {
			snprintf(buf, sizeof(buf), "  chain: %s", d->chain);
			ct_strset_add(&s->detail, buf);
		}
	}
}

/* The OWNER column: the engine's owner names (ct_owner_name), with the job for chaintop's
 * own; the detail pane has the sentence prune --dry-run prints. */
static void owner_col(const struct ct_prune_cand *c, char *buf, size_t len)
{
	char jb[128];

	ct_sanitize(c->owner_job ? c->owner_job : "?", jb, sizeof(jb));
	if (c->owner == CT_OWN_CHAINTOP)
		ct_fmt(buf, len, "chaintop '%s'", jb);
	else if (c->owner == CT_OWN_CHAINTOP_OTHER)
		ct_fmt(buf, len, "other chaintop '%s'", jb);
	else
		ct_fmt(buf, len, "%s", ct_owner_name(c->owner));
}

/* The VM column: the VM a snapshot is of ("-" when gone; an orphan disk has none). */
static const char *vm_col(const struct ct_prune_cand *c)
{
	return c->kind == CT_PRUNE_SNAPSHOT && c->source_name ? c->source_name : "-";
}

/* Column widths: NAME, VM and OWNER as wide as their longest text, shrunk (widest first)
 * until WHY keeps a readable width; what is cut is in the detail pane and the pager. */
static void fit_widths(int *w, int n, int room)
{
	for (;;) {
		int sum = 0, big = 0;

		for (int i = 0; i < n; i++) {
			sum += w[i];
			if (w[i] > w[big])
				big = i;
		}
		if (sum <= room || w[big] <= 4)
			return;
		w[big]--;
	}
}

#define FIXED_W 49   /* tag, kind, the separators, AGE, SIZE, SPACE BACK */

static void snap_draw(struct ct_ui *ui, int top, int h)
{
	struct ct_ui_snap *s = ui->snap;
	const struct ct_theme *t = &ui->theme;
	int list_h, det_h = h >= 20 ? h / 3 : 0, why_x, longest = 0;
	int w[3] = { 4, 2, 5 };   /* NAME, VM, OWNER */
	int nw, vw, ow, min_why = COLS / 4 < 34 ? COLS / 4 : 34, info_y;
	char info_text[96] = "";
	char title[256];

	if (!s)
		return;
	if (s->stale)
		snap_reload(ui);
	list_h = h - det_h - 1;
	ct_list_clamp(&s->l, s->n_e, list_h);
	for (int i = 0; i < s->n_e; i++) {
		const struct ct_prune_cand *c = s->e[i].cand >= 0 ? &s->list.c[s->e[i].cand] : NULL;
		char name[160];

		if (!c)
			continue;
		ct_sanitize(c->name ? c->name : "", name, sizeof(name));
		if (ct_ui_width(name) > w[0])
			w[0] = ct_ui_width(name);
		ct_sanitize(vm_col(c), name, sizeof(name));
		if (ct_ui_width(name) > w[1])
			w[1] = ct_ui_width(name);
		owner_col(c, name, sizeof(name));
		if (ct_ui_width(name) > w[2])
			w[2] = ct_ui_width(name);
	}
	fit_widths(w, 3, COLS - FIXED_W - min_why);
	nw = w[0];
	vw = w[1];
	ow = w[2];
	why_x = FIXED_W + nw + vw + ow;
	for (int i = 0; i < list_h && s->l.top + i < s->n_e; i++) {
		const struct snap_entry *en = &s->e[s->l.top + i];
		char why[400];

		if (en->cand < 0 || s->list.c[en->cand].n_reasons == 0)
			continue;
		ct_sanitize(s->list.c[en->cand].reasons[0], why, sizeof(why));
		if (ct_ui_width(why) > longest)
			longest = ct_ui_width(why);
	}
	ct_list_side_clamp(&s->l, longest, COLS - why_x);
	snprintf(title, sizeof(title), "  %-3s %-8s %-*s %-*s %-*s %8s %9s %10s  %s%s", "TAG", "KIND", nw, "NAME",
		 vw, "VM", ow, "OWNER", "AGE", "SIZE", "SPACE BACK", "WHY",
		 ct_list_side_hint(&s->l, longest, COLS - why_x));
	ct_put(top, 0, COLS, t->attr[R_TITLE], title);
	{   /* on the detail pane's rule when there is one: the title line is WHY's */
		int iy = det_h > 0 ? top + 1 + list_h : top;
		char info[96];
		int iw;

		int shown = 0;

		for (int i = 0; i < s->n_e; i++)
			if (s->e[i].cand >= 0 && is_tagged(s, &s->list.c[s->e[i].cand]))
				shown++;
		if (shown < (int)s->tagged.n)
			snprintf(info, sizeof(info), " %d tagged (%d hidden by the filter), sorted by %s (s) ", shown,
				 (int)s->tagged.n - shown, sort_name(s->sort));
		else
			snprintf(info, sizeof(info), " %d tagged, sorted by %s (s) ", shown, sort_name(s->sort));
		iw = (int)strlen(info);
		info_y = iy;
		if (COLS - iw > 60)
			snprintf(info_text, sizeof(info_text), "%s", info);
	}
	for (int i = 0; i < list_h; i++) {
		int k = s->l.top + i;
		char line[1200], name[160], vm[160], why[400], age[16], sz[16], back[16];
		char cn[200], cv[200], co[200], who[200];
		const struct ct_prune_cand *c;
		attr_t a;
		bool tg;

		if (k >= s->n_e)
			break;
		if (s->e[k].cand < 0) {
			a = A_BOLD;
			if (k == s->l.sel)
				a = t->attr[R_SELECTED] | A_BOLD;
			ct_put(top + 1 + i, 0, COLS, a, s->e[k].text);
			continue;
		}
		c = &s->list.c[s->e[k].cand];
		tg = is_tagged(s, c);
		ct_sanitize(c->name ? c->name : "", name, sizeof(name));
		ct_sanitize(vm_col(c), vm, sizeof(vm));
		ct_sanitize(c->n_reasons > 0 ? c->reasons[0] : "", why, sizeof(why));
		fmt_age(c->age, age, sizeof(age));
		ct_format_bytes(c->physical, sz, sizeof(sz));
		ct_format_bytes(c->bytes_after_gc, back, sizeof(back));
		owner_col(c, who, sizeof(who));
		ct_ui_fit(name, nw, t->utf8, cn, sizeof(cn));
		ct_ui_fit(vm, vw, t->utf8, cv, sizeof(cv));
		ct_ui_fit(who, ow, t->utf8, co, sizeof(co));
		snprintf(line, sizeof(line), "%c [%c] %-8s %s%*s %s%*s %s%*s %8s %9s %10s  ", tg ? '+' : ' ',
			 tg ? 'x' : ' ', c->kind == CT_PRUNE_ORPHAN ? "orphan" : "snapshot", cn,
			 nw - ct_ui_width(cn), "", cv, vw - ct_ui_width(cv), "", co, ow - ct_ui_width(co), "",
			 age, sz, back);
		a = tg ? t->attr[R_TAGGED] : c->kind == CT_PRUNE_ORPHAN ? t->attr[R_ORPHAN] : A_NORMAL;
		if (k == s->l.sel)
			a = t->attr[R_SELECTED] | (a & (A_BOLD | A_UNDERLINE));
		ct_put(top + 1 + i, 0, why_x < COLS ? why_x : COLS, a, line);
		ct_put_from(top + 1 + i, why_x, COLS - why_x, a, why, s->l.xoff);
	}
	if (s->n_e == 0)
		ct_put(top + 1, 2, COLS - 2, t->attr[R_GOOD],
		       ui->filter[0] ? "no candidate matches the filter (x clears it)"
				     : "no stale snapshots and no orphan disks in the pools shown");
	if (det_h > 0) {
		int y = top + 1 + list_h;

		attrset(t->attr[R_DIM]);
		mvhline(y, 0, ACS_HLINE, COLS);
		attrset(A_NORMAL);
		ct_put(y, 2, 50, t->attr[R_TITLE], " VM, owner, size, why, effect of deleting, disks ");
		ct_strset_release(&s->detail);
		if (s->l.sel >= 0 && s->l.sel < s->n_e && s->e[s->l.sel].cand >= 0)
			cand_detail(ui, &s->list.c[s->e[s->l.sel].cand]);
		for (int i = 0; i < det_h - 1 && (size_t)i < s->detail.n; i++) {
			char clean[700];

			ct_sanitize(s->detail.v[i], clean, sizeof(clean));
			ct_put(y + 1 + i, 1, COLS - 1, strncmp(clean, "why", 3) ? A_NORMAL : A_BOLD, clean);
		}
	}
	if (info_text[0])
		ct_put(info_y, COLS - (int)strlen(info_text), (int)strlen(info_text), t->attr[R_TITLE], info_text);
}

/* --- deletion --- */

struct prune_req {
	struct ct_prune_list list;
	char pool[128];
	const struct ct_config *cfg;
	const struct ct_pool_conf *pc;
};

static void prune_req_free(void *p)
{
	struct prune_req *r = p;

	if (!r)
		return;
	ct_prune_list_release(&r->list);
	free(r);
}

static void on_progress(void *ctx, const struct ct_prune_progress *p)
{
	struct ct_ui_worker *w = ctx;

	ct_ui_worker_progress(w, "%d/%d %s%s%s%s%s", p->item, p->n_items, p->step ? p->step : "",
			      p->object ? " " : "", p->object ? p->object : "",
			      p->message && *p->message ? ": " : "", p->message ? p->message : "");
}

static void prune_work(struct ct_ui_worker *w, void *arg)
{
	struct prune_req *r = arg;
	struct ct_prune_opts o;
	struct ct_prune_summary sum;
	struct ct_err e;

	memset(&o, 0, sizeof(o));
	memset(&sum, 0, sizeof(sum));
	ct_err_init(&e);
	o.cfg = r->cfg;
	o.pc = r->pc;
	o.cands = &r->list;
	o.cancel = &w->cancel;
	o.progress = on_progress;
	o.ctx = w;
	if (ct_prune_execute(&o, &sum, &e) < 0) {
		ct_ui_worker_finish(w, MSG_ERROR, sum.run_id, "deletion on pool '%s' did not start, nothing was deleted: %s",
				    r->pool, e.msg);
		ct_prune_summary_release(&sum);
		return;
	}
	ct_ui_worker_finish(w, sum.exit_code == 0 ? MSG_INFO : sum.exit_code == 1 ? MSG_WARN : MSG_ERROR,
			    sum.run_id, "deletion on pool '%s': %s (run %lld in the Jobs view, 4)", r->pool,
			    sum.message, (long long)sum.run_id);
	ct_prune_summary_release(&sum);
}

static void delete_confirmed(struct ct_ui *ui, void *payload);

/* "snapshot 'pre-patch' of VM 'mail'", "orphan disk 'scratch'": what the object is, never a
 * wording that reads like the live VM or its disk. */
static void cand_label(const struct ct_prune_cand *c, char *buf, size_t len)
{
	char name[160], src[160];

	ct_sanitize(c->name ? c->name : "", name, sizeof(name));
	ct_sanitize(c->source_name ? c->source_name : "", src, sizeof(src));
	if (c->kind == CT_PRUNE_SNAPSHOT && c->source_name)
		snprintf(buf, len, "snapshot '%s' of VM '%s'", name, src);
	else if (c->kind == CT_PRUNE_SNAPSHOT)
		snprintf(buf, len, "snapshot '%s' (its VM is gone)", name);
	else if (c->source_name)
		snprintf(buf, len, "orphan snapshot disk '%s' (of disk '%s')", name, src);
	else
		snprintf(buf, len, "orphan disk '%s'", name);
}

/* One step of the plan, in words: the call, the ref it is made on, and what that object is.
 * A VM's snapshot disks carry the live disk's name, so a disk is named as the snapshot disk
 * it is, with the VDI it is a snapshot of (read from the model, m locked). */
static void step_text(struct ct_model *m, const struct ct_prune_list *l, const struct ct_prune_call *call,
		      char *buf, size_t len)
{
	const struct ct_prune_cand *c = &l->c[call->cand];
	char ref[96], what[400], ph[16], ub[9], sb[9], name[160];
	const struct ct_prune_disk *d;
	const struct ct_vdi *v, *of = NULL;

	ct_sanitize(call->ref ? call->ref : "", ref, sizeof(ref));
	if (call->disk < 0) {
		cand_label(c, what, sizeof(what));
		snprintf(buf, len, "%s %s (%s)  [%s]", call->method, what, ct_short_uuid(c->uuid, ub), ref);
		return;
	}
	d = &c->disks[call->disk];
	ct_sanitize(d->name ? d->name : "", name, sizeof(name));
	ct_format_bytes(d->physical_utilisation, ph, sizeof(ph));
	v = d->uuid ? (const struct ct_vdi *)ct_model_find_uuid(m, CT_VDI, d->uuid) : NULL;
	if (v && v->is_a_snapshot && !ct_ref_is_null(v->snapshot_of))
		of = ct_model_vdi(m, v->snapshot_of);
	if (d->suspend)
		snprintf(what, sizeof(what), "suspend image '%s' (%s, %s on disk) of the snapshot", name,
			 ct_short_uuid(d->uuid, ub), ph);
	else if (v && v->is_a_snapshot && of)
		snprintf(what, sizeof(what), "%s '%s' (snapshot of VDI %s, %s on disk)",
			 c->kind == CT_PRUNE_SNAPSHOT ? "snapshot disk" : "orphan snapshot disk", name,
			 ct_short_uuid(of->o.uuid, sb), ph);
	else if (v && v->is_a_snapshot)
		snprintf(what, sizeof(what), "%s '%s' (%s, snapshot of a VDI that is gone, %s on disk)",
			 c->kind == CT_PRUNE_SNAPSHOT ? "snapshot disk" : "orphan snapshot disk", name,
			 ct_short_uuid(d->uuid, ub), ph);
	else
		snprintf(what, sizeof(what), "%s '%s' (%s, not a snapshot, %s on disk)",
			 c->kind == CT_PRUNE_SNAPSHOT ? "disk only this snapshot uses" : "orphan disk", name,
			 ct_short_uuid(d->uuid, ub), ph);
	snprintf(buf, len, "%s %s  [%s]", call->method, what, ref);
}

static void open_delete_dialog(struct ct_ui *ui)
{
	struct ct_ui_snap *s = ui->snap;
	struct prune_req *req;
	struct ct_prune_plan plan;
	const char *pool = NULL, *why = NULL;
	int pool_index = -1;
	int64_t now_b = 0, gc_b = 0;
	int coalesces = 0, garbage = 0;
	char title[256], b1[16], b2[16];

	req = ct_xcalloc(1, sizeof(*req));
	ct_prune_list_init(&req->list);
	/* the tagged candidates on screen: a tag hidden by the filter does not delete */
	for (int i = 0; i < s->n_e; i++)
		if (s->e[i].cand >= 0 && is_tagged(s, &s->list.c[s->e[i].cand]))
			ct_prune_list_add_copy(&req->list, &s->list.c[s->e[i].cand]);
	if (req->list.n == 0 && s->l.sel >= 0 && s->l.sel < s->n_e && s->e[s->l.sel].cand >= 0)
		ct_prune_list_add_copy(&req->list, &s->list.c[s->e[s->l.sel].cand]);
	if (req->list.n == 0) {
		prune_req_free(req);
		ct_status_msg(ui, MSG_INFO, "nothing to delete: select a snapshot or disk, or tag some with Space");
		return;
	}
	for (int i = 0; i < req->list.n; i++) {
		if (pool && strcmp0(pool, req->list.c[i].pool)) {
			ct_status_msg(ui, MSG_WARN, "the tagged items span pools '%s' and '%s'; delete one pool's at a time (:pool NAME)",
				      pool, req->list.c[i].pool);
			prune_req_free(req);
			return;
		}
		pool = req->list.c[i].pool;
	}
	for (int i = 0; i < ui->n_pools; i++)
		if (!strcmp0(ui->pools[i].w->conf->name, pool))
			pool_index = i;
	if (pool_index < 0) {
		ct_status_msg(ui, MSG_ERROR, "pool '%s' is not in the configuration any more", pool);
		prune_req_free(req);
		return;
	}
	if (ct_ui_pool_read_only(ui, pool_index, &why)) {
		prune_req_free(req);
		ct_status_msg(ui, MSG_WARN, "delete is disabled: %s (read-only mode, shown in the header)", why);
		return;
	}
	if (ct_worker_busy(&ui->worker)) {
		prune_req_free(req);
		ct_status_msg(ui, MSG_WARN, "%s is still running; one action at a time", ui->worker.what);
		return;
	}
	snprintf(req->pool, sizeof(req->pool), "%s", pool);
	req->cfg = ui->cfg;
	req->pc = ui->pools[pool_index].w->conf;
	if (req->list.n == 1) {
		char lab[400];

		cand_label(&req->list.c[0], lab, sizeof(lab));
		ct_fmt(title, sizeof(title), "Delete %s", lab);
	} else {
		snprintf(title, sizeof(title), "Delete %d items from pool '%s'", req->list.n, pool);
	}
	ct_dialog_open(ui, title, "Delete");
	ct_dialog_line(ui, "Objects (pool '%s'):", pool);
	for (int i = 0; i < req->list.n; i++) {
		const struct ct_prune_cand *c = &req->list.c[i];
		char lab[400], age[16], sz[16], sr[128];
		char *who = ct_prune_owner_text(c->owner, c->owner_job);

		cand_label(c, lab, sizeof(lab));
		ct_sanitize(c->sr_name ? c->sr_name : "-", sr, sizeof(sr));
		fmt_age(c->age, age, sizeof(age));
		ct_format_bytes(c->physical, sz, sizeof(sz));
		ct_dialog_line(ui, "  %s (%.8s), %s old, %s on disk, SR '%s'", lab, c->uuid ? c->uuid : "", age, sz, sr);
		ct_dialog_line(ui, "      made by: %s", who);
		free(who);
		for (int k = 0; k < c->n_reasons; k++) {
			char r[400];

			ct_sanitize(c->reasons[k], r, sizeof(r));
			ct_dialog_line(ui, "      why: %s", r);
		}
		now_b += c->bytes_now;
		gc_b += c->bytes_after_gc;
		coalesces += c->coalesces;
		garbage += c->garbage;
	}
	memset(&plan, 0, sizeof(plan));
	ct_prune_plan(&req->list, &plan);
	ct_dialog_line(ui, "%s", "");
	ct_dialog_line(ui, "XAPI calls, in this order (%d):", plan.n_calls);
	{
		struct ct_model *m = &ui->pools[pool_index].w->model;

		ct_model_lock(m);
		for (int i = 0; i < plan.n_calls; i++) {
			char step[700];

			step_text(m, &req->list, &plan.calls[i], step, sizeof(step));
			ct_dialog_line(ui, "  %2d. %s", i + 1, step);
		}
		ct_model_unlock(m);
	}
	for (int i = 0; i < plan.n_notes; i++)
		ct_dialog_line(ui, "  note: %s", plan.notes[i]);
	ct_prune_plan_release(&plan);
	ct_format_bytes(now_b, b1, sizeof(b1));
	ct_format_bytes(gc_b, b2, sizeof(b2));
	ct_dialog_line(ui, "%s", "");
	ct_dialog_line(ui, "Effect: %s freed when the calls return, about %s once the GC has finished;", b1, b2);
	ct_dialog_line(ui, "  the GC will coalesce %d base cop%s and delete %d childless one%s.", coalesces,
		       coalesces == 1 ? "y" : "ies", garbage, garbage == 1 ? "" : "s");
	ct_dialog_line(ui, "Each object is read again and re-checked right before its call; a refused or failed");
	ct_dialog_line(ui, "call stops that item and the others go on. Results: status line, then the Jobs view (4).");
	if (req->list.n > TYPED_ABOVE)
		snprintf(ui->dlg.confirm_word, sizeof(ui->dlg.confirm_word), "delete %d", req->list.n);
	ct_dialog_action(ui, delete_confirmed, req, prune_req_free);
}

static void delete_confirmed(struct ct_ui *ui, void *payload)
{
	struct prune_req *req = payload;
	char what[320];

	if (!req)
		return;
	snprintf(what, sizeof(what), "deletion of %d item%s on pool '%s'", req->list.n,
		 req->list.n == 1 ? "" : "s", req->pool);
	/* the worker owns req now */
	if (ct_worker_start(ui, what, prune_work, req, prune_req_free) == 0)
		ct_strset_release(&ui->snap->tagged);
}

/* n/N: a candidate the filter matches (group headers are not matches). */
static bool entry_is_match(void *ctx, int i)
{
	const struct ct_ui *ui = ctx;
	const struct ct_ui_snap *s = ui->snap;

	return s->e[i].cand >= 0 && cand_matches(&s->list.c[s->e[i].cand], ui->filter);
}

static void snap_key(struct ct_ui *ui, enum ct_action a)
{
	struct ct_ui_snap *s = ui->snap;

	if (!s)
		return;
	if (ct_list_move(&s->l, a, s->n_e, ui->body_h / 2)) {
		/* group headers are stepped over (Space on one still tags its group: Home/PgUp reach them) */
		if (s->l.sel >= 0 && s->l.sel < s->n_e && s->e[s->l.sel].cand < 0) {
			if (a == ACT_DOWN && s->l.sel + 1 < s->n_e)
				s->l.sel++;
			else if (a == ACT_UP && s->l.sel > 0)
				s->l.sel--;
		}
		remember_selection(s);
		return;
	}
	switch (a) {
	case ACT_NEXTMATCH:
	case ACT_PREVMATCH:
		if (ct_ui_next_match(ui, &s->l, s->n_e, a == ACT_NEXTMATCH ? 1 : -1, entry_is_match, ui))
			remember_selection(s);
		return;
	case ACT_SORT:
		s->sort = (s->sort + 1) % SORT_N;
		remember_selection(s);
		rebuild(ui);
		ct_status_msg(ui, MSG_INFO, "candidates sorted by %s (%s first)", sort_name(s->sort),
			      s->sort == SORT_AGE ? "oldest" : s->sort == SORT_SIZE ? "largest on disk" :
			      "most space back");
		return;
	case ACT_TAG: {
		char k[256];

		if (s->l.sel < 0 || s->l.sel >= s->n_e)
			return;
		if (s->e[s->l.sel].cand < 0) {
			/* a group header: tag or untag the whole group */
			int first = s->l.sel + 1, last = first;
			bool all = true;

			while (last < s->n_e && s->e[last].cand >= 0)
				last++;
			for (int i = first; i < last; i++)
				if (!is_tagged(s, &s->list.c[s->e[i].cand]))
					all = false;
			for (int i = first; i < last; i++) {
				tag_key(&s->list.c[s->e[i].cand], k, sizeof(k));
				if (all)
					untag(s, k);
				else if (!ct_strset_has(&s->tagged, k))
					ct_strset_add(&s->tagged, k);
			}
			return;
		}
		tag_key(&s->list.c[s->e[s->l.sel].cand], k, sizeof(k));
		if (ct_strset_has(&s->tagged, k))
			untag(s, k);
		else
			ct_strset_add(&s->tagged, k);
		if (s->l.sel < s->n_e - 1)
			s->l.sel++;
		if (s->e[s->l.sel].cand < 0 && s->l.sel < s->n_e - 1)
			s->l.sel++;   /* over the next group's header */
		remember_selection(s);
		return;
	}
	case ACT_DELETE:
		open_delete_dialog(ui);
		return;
	case ACT_PAGER: {
		const struct ct_prune_cand *c;
		char title[256];

		if (s->l.sel < 0 || s->l.sel >= s->n_e || s->e[s->l.sel].cand < 0)
			return;
		c = &s->list.c[s->e[s->l.sel].cand];
		cand_detail(ui, c);
		ct_fmt(title, sizeof(title), "%s '%s'", ct_prune_kind_name(c->kind), c->name ? c->name : "");
		ct_pager_open(ui, title, &s->detail);
		return;
	}
	case ACT_ENTER:
		ct_status_msg(ui, MSG_INFO, "Space tags, d deletes the tagged (or the selected) items, s sorts");
		return;
	default:
		return;
	}
}

static void snap_update(struct ct_ui *ui, bool data)
{
	if (data)
		snap_reload(ui);
	else
		snap_filter_changed(ui);
}

static struct ct_ui_list *snap_list(struct ct_ui *ui)
{
	return ui->snap ? &ui->snap->l : NULL;
}

const struct ct_view_ops ct_snap_view = {
	.title = "Snapshots",
	.bit = VW_SNAP,
	.draw = snap_draw,
	.key = snap_key,
	.update = snap_update,
	.shown = snap_reload,
	.list = snap_list,
};
