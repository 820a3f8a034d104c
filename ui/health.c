/* health.c - the Health view: every problem the engine reports, and every pool that cannot
 * be reached (with its last error and next retry), most severe first, with its reason. One
 * cause is one row: the VMs an SR keeps from being snapshotted are grouped under it (Enter
 * lists them). Enter on a problem jumps to the object in the tree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"
#include "lib/util.h"

static int cmp_problem(const void *a, const void *b)
{
	const struct ct_ui_problem *x = *(const struct ct_ui_problem *const *)a;
	const struct ct_ui_problem *y = *(const struct ct_ui_problem *const *)b;
	int rx = ct_severity_rank(x->sev), ry = ct_severity_rank(y->sev);

	if (rx != ry)
		return ry - rx;
	if (x->pool != y->pool)
		return x->pool - y->pool;
	return strcmp(x->reason, y->reason);
}

const char *ct_health_sort_name(enum ct_health_sort s)
{
	switch (s) {
	case CT_HSORT_POOL: return "pool";
	case CT_HSORT_AGE: return "age";
	default: return "severity";
	}
}

/* The top rows in the order s picks (ctx: the console); ties fall back on severity. */
static int cmp_sorted(const void *a, const void *b, void *ctx)
{
	const struct ct_ui *ui = ctx;
	const struct ct_ui_problem *x = *(const struct ct_ui_problem *const *)a;
	const struct ct_ui_problem *y = *(const struct ct_ui_problem *const *)b;
	int c;

	switch (ui->health_sort) {
	case CT_HSORT_POOL:
		c = strcmp(ui->pools[x->pool].pv.name, ui->pools[y->pool].pv.name);
		if (c)
			return c;
		break;
	case CT_HSORT_AGE:
		if (x->first_seen != y->first_seen)
			return x->first_seen < y->first_seen ? -1 : 1;
		break;
	default:
		break;
	}
	return cmp_problem(a, b);
}

/* First seen: one entry per problem identity (its kind and object; a pool's own problem
 * names the pool when it has no uuid), kept sorted by key so a rebuild finds the old time. */
struct ct_health_seen {
	char key[192];
	time_t t;
};

static int cmp_seen(const void *a, const void *b)
{
	return strcmp(((const struct ct_health_seen *)a)->key, ((const struct ct_health_seen *)b)->key);
}

static void seen_key(const struct ct_ui *ui, const struct ct_ui_problem *p, char *buf, size_t len)
{
	snprintf(buf, len, "%d|%s|%s", (int)p->kind, p->uuid, p->uuid[0] ? "" : ui->pools[p->pool].pv.name);
}

/* Stamp every problem of every pool (shown or not, filtered or not: a filter or :pool does
 * not make an old problem new) with when it was first seen; a problem that went away is
 * forgotten, and is new again if it comes back. */
static void stamp_first_seen(struct ct_ui *ui)
{
	struct ct_health_seen *next, want;
	int n = 0, k = 0;
	time_t now = time(NULL);

	for (int i = 0; i < ui->n_pools; i++)
		n += ui->pools[i].n_problems;
	next = ct_xcalloc((size_t)n + 1, sizeof(*next));
	for (int i = 0; i < ui->n_pools; i++) {
		for (int j = 0; j < ui->pools[i].n_problems; j++) {
			struct ct_ui_problem *p = &ui->pools[i].problems[j];
			const struct ct_health_seen *old;

			seen_key(ui, p, want.key, sizeof(want.key));
			old = ui->n_hseen ? bsearch(&want, ui->hseen, (size_t)ui->n_hseen, sizeof(want), cmp_seen) : NULL;
			p->first_seen = old ? old->t : now;
			want.t = p->first_seen;
			next[k++] = want;
		}
	}
	qsort(next, (size_t)n, sizeof(*next), cmp_seen);
	free(ui->hseen);
	ui->hseen = next;
	ui->n_hseen = n;
}

void ct_health_release(struct ct_ui *ui)
{
	free(ui->hseen);
	ui->hseen = NULL;
	ui->n_hseen = 0;
}

/* A problem's identity across rebuilds: pool, object, reason (a group: pool and SR). */
static void problem_key(const struct ct_ui_problem *p, bool with_reason, char *buf, size_t len)
{
	if (p->n_members > 0)
		snprintf(buf, len, "%d|G|%s|", p->pool, p->sr_name);
	else
		snprintf(buf, len, "%d|%d|%s|%s", p->pool, (int)p->cls, p->uuid, with_reason ? p->reason : "");
}

static void entry_key(void *ctx, int i, char *buf, size_t len)
{
	const struct ct_ui *ui = ctx;

	problem_key(ui->health[i], true, buf, len);
}

static void remember_selection(struct ct_ui *ui)
{
	ct_list_remember(&ui->hl, ui->n_health, entry_key, ui);
}

/* Put the selection back on the problem it was on (its reason may have changed: the same
 * object then), else on the row now at its place. The old pointers are not read: the
 * problems they pointed to are freed by the time the list is rebuilt. */
static void restore_selection(struct ct_ui *ui)
{
	char k[640];

	if (!ct_list_restore(&ui->hl, ui->n_health, entry_key, ui) && ui->hl.key[0]) {
		for (int i = 0; i < ui->n_health; i++) {
			problem_key(ui->health[i], false, k, sizeof(k));
			if (!strncmp(k, ui->hl.key, strlen(k))) {
				ui->hl.sel = i;
				break;
			}
		}
	}
	if (ui->hl.key[0])
		remember_selection(ui);
}

static bool group_open(const struct ct_ui *ui, const struct ct_ui_problem *g)
{
	char k[640];

	problem_key(g, false, k, sizeof(k));
	return ct_strset_has(&ui->hopen, k);
}

/* Members under their group: the SR's own problems first, then the VMs, by reason. */
static int cmp_member(const void *a, const void *b)
{
	const struct ct_ui_problem *x = *(const struct ct_ui_problem *const *)a;
	const struct ct_ui_problem *y = *(const struct ct_ui_problem *const *)b;

	if ((x->cls == CT_SR) != (y->cls == CT_SR))
		return x->cls == CT_SR ? -1 : 1;
	return cmp_problem(a, b);
}

/* One cause, one row: the VMs the backup gate refuses for the free space of one SR (and that
 * SR's own problems) become one row naming the SR and how many VMs cannot be snapshotted;
 * Enter lists them. A single refused VM keeps its own row. A VM refused because its disk is
 * too deep says what the disk's own row says: that row stays, the VM's goes. */
static void make_groups(struct ct_ui *ui, struct ct_ui_problem **list, int n)
{
	ui->hgroups = ct_xcalloc((size_t)n + 1, sizeof(*ui->hgroups));
	ui->n_hgroups = 0;
	for (int i = 0; i < n; i++) {
		struct ct_ui_problem *p = list[i], *g;
		int vms = 0, gi;
		bool full = false;

		if (p->cls == CT_VM && p->deep) {
			for (int k = 0; k < n; k++)
				if (list[k]->cls == CT_VDI && list[k]->deep && list[k]->pool == p->pool &&
				    !strcmp(list[k]->vm_uuid, p->uuid))
					p->dup = true;
		}
		if (p->cls != CT_VM || !p->space || p->sr_index < 0 || p->group >= 0)
			continue;
		for (int k = i; k < n; k++)
			if (list[k]->cls == CT_VM && list[k]->space && list[k]->pool == p->pool &&
			    list[k]->sr_index == p->sr_index)
				vms++;
		if (vms < 2)
			continue;
		gi = ui->n_hgroups++;
		g = &ui->hgroups[gi];
		g->pool = p->pool;
		g->cls = CT_SR;
		g->sev = CT_SEV_OK;
		g->group = -1;
		g->sr_index = p->sr_index;
		snprintf(g->sr_name, sizeof(g->sr_name), "%s", p->sr_name);
		g->sr_free_percent = p->sr_free_percent;
		g->first_seen = p->first_seen;
		for (int k = 0; k < n; k++) {
			struct ct_ui_problem *q = list[k];

			if (q->pool != p->pool || q->sr_index != p->sr_index ||
			    !((q->cls == CT_VM && q->space) || q->cls == CT_SR))
				continue;
			q->group = gi;
			q->member = true;
			if (q->cls == CT_VM)
				g->n_members++;
			if (q->sr_full)
				full = true;
			if (q->first_seen < g->first_seen)
				g->first_seen = q->first_seen;
			if (ct_severity_rank(q->sev) > ct_severity_rank(g->sev))
				g->sev = q->sev;
			if (!g->uuid[0] && q->cls == CT_SR)
				snprintf(g->uuid, sizeof(g->uuid), "%s", q->uuid);
		}
		if (full)
			ct_fmt(g->reason, sizeof(g->reason), "SR '%s' %.1f%% free: %d VMs cannot be snapshotted",
			       g->sr_name, g->sr_free_percent, g->n_members);
		else
			ct_fmt(g->reason, sizeof(g->reason), "SR '%s' %.1f%% free, below the backup gate's minimum: %d VMs cannot be snapshotted",
			       g->sr_name, g->sr_free_percent, g->n_members);
	}
}

static void health_rebuild(struct ct_ui *ui)
{
	struct ct_ui_problem **list, **top;
	int n = 0, nl = 0, nt = 0;

	for (int i = 0; i < ui->n_pools; i++)
		if (!ui->pools[i].hidden)
			n += ui->pools[i].n_problems;
	free(ui->health);
	free(ui->hgroups);
	stamp_first_seen(ui);
	ui->n_health_all = 0;
	list = ct_xcalloc((size_t)n + 1, sizeof(*list));
	for (int i = 0; i < ui->n_pools; i++) {
		if (ui->pools[i].hidden)
			continue;
		for (int k = 0; k < ui->pools[i].n_problems; k++) {
			struct ct_ui_problem *p = &ui->pools[i].problems[k];

			p->group = -1;
			p->member = false;
			p->dup = false;
			ui->n_health_all++;
			if (ui->filter[0] && !ct_text_match(p->reason, ui->filter) &&
			    !ct_text_match(p->uuid, ui->filter) && !ct_text_match(p->lead, ui->filter))
				continue;
			list[nl++] = p;
		}
	}
	make_groups(ui, list, nl);
	top = ct_xcalloc((size_t)(nl + ui->n_hgroups) + 1, sizeof(*top));
	for (int i = 0; i < nl; i++)
		if (!list[i]->member && !list[i]->dup)
			top[nt++] = list[i];
	for (int g = 0; g < ui->n_hgroups; g++)
		top[nt++] = &ui->hgroups[g];
	qsort_r(top, (size_t)nt, sizeof(*top), cmp_sorted, ui);
	ui->health = ct_xcalloc((size_t)(nt + nl) + 1, sizeof(*ui->health));
	ui->n_health = 0;
	for (int i = 0; i < nt; i++) {
		int gi = top[i] >= ui->hgroups && top[i] < ui->hgroups + ui->n_hgroups ? (int)(top[i] - ui->hgroups) : -1;
		int first;

		ui->health[ui->n_health++] = top[i];
		if (gi < 0 || !group_open(ui, top[i]))
			continue;
		first = ui->n_health;
		for (int k = 0; k < nl; k++)
			if (list[k]->member && list[k]->group == gi)
				ui->health[ui->n_health++] = list[k];
		qsort(ui->health + first, (size_t)(ui->n_health - first), sizeof(*ui->health), cmp_member);
	}
	free(top);
	free(list);
	restore_selection(ui);
}

/* The text of a row. A pool that is down leads with what is wrong and when the next attempt
 * is (worded now, so it counts down), then how old the data kept for it is, then the error. */
static void row_text(const struct ct_ui_problem *p, time_t now, char *buf, size_t len)
{
	char a[16], b[16], when[64], kept[64];

	if (!p->pool_down) {
		ct_fmt(buf, len, "%s%s%s", p->lead, p->lead[0] ? ": " : "", p->reason);
		return;
	}
	if (p->held) {
		snprintf(when, sizeof(when), "no retry until you press R");
	} else if (p->unresponsive && p->next_retry > now) {
		ct_ui_age(p->waiting_since, now, b, sizeof(b));
		ct_ui_age(now, p->next_retry, a, sizeof(a));
		snprintf(when, sizeof(when), "waiting %s, reconnects in %s", b, a);
	} else if (p->next_retry > now) {
		ct_ui_age(now, p->next_retry, a, sizeof(a));
		snprintf(when, sizeof(when), "next retry in %s (R: now)", a);
	} else {
		snprintf(when, sizeof(when), "retrying now");
	}
	if (p->last_contact > 0) {
		ct_ui_age(p->last_contact, now, b, sizeof(b));
		snprintf(kept, sizeof(kept), "data from %s ago (stale)", b);
	} else {
		snprintf(kept, sizeof(kept), "no data yet");
	}
	ct_fmt(buf, len, "%.*s, %s, %s%s", p->head_len, p->reason, when, kept, p->reason + p->head_len);
}

static const char *cls_word(enum ct_class c)
{
	switch (c) {
	case CT_SR: return "SR";
	case CT_VDI: return "VDI";
	case CT_VM: return "VM";
	case CT_POOL: return "pool";
	default: return "object";
	}
}

/* The text of row k: its reason (a group's with how to open it). */
static void list_text(struct ct_ui *ui, int k, time_t now, char *text, size_t len)
{
	const struct ct_ui_problem *p = ui->health[k];

	row_text(p, now, text, len);
	if (p->n_members > 0)
		ct_fmt(text + strlen(text), len - strlen(text), " [%s Enter %s them]",
		       group_open(ui, p) ? "-" : "+", group_open(ui, p) ? "hides" : "lists");
}

static void health_draw(struct ct_ui *ui, int top, int h)
{
	const struct ct_theme *t = &ui->theme;
	int det = ui->show_detail && h >= 16 ? 6 : 0;
	int rows = h - 1 - det;
	time_t now = time(NULL);
	int pw = 4, text_x, longest = 0;
	int aw = ui->health_sort == CT_HSORT_AGE ? 6 : 0;   /* AGE: how long it has been seen */
	char text[1100];

	/* POOL as wide as the longest pool name shown (capped): REASON gets the rest */
	for (int i = 0; i < ui->n_pools; i++)
		if (!ui->pools[i].hidden && ct_ui_width(ui->pools[i].pv.name) > pw)
			pw = ct_ui_width(ui->pools[i].pv.name);
	if (pw > (COLS >= 120 ? 24 : 14))
		pw = COLS >= 120 ? 24 : 14;
	text_x = 2 + 10 + pw + 1 + 6 + aw;
	ct_list_clamp(&ui->hl, ui->n_health, rows);
	for (int i = 0; i < rows && ui->hl.top + i < ui->n_health; i++) {
		int w;

		list_text(ui, ui->hl.top + i, now, text, sizeof(text));
		w = ct_ui_width(text) + (ui->health[ui->hl.top + i]->member ? 4 : 0);
		if (w > longest)
			longest = w;
	}
	ct_list_side_clamp(&ui->hl, longest, COLS - text_x);
	ct_putf(top, 0, COLS, t->attr[R_TITLE], "  %-9s %-*s %-5s %-*sREASON%s %s", "SEVERITY", pw, "POOL",
		"KIND", aw, aw ? "AGE" : "", ct_list_side_hint(&ui->hl, longest, COLS - text_x),
		"(Enter jumps to the object in the tree, or opens a group)");
	for (int i = 0; i < rows; i++) {
		int k = ui->hl.top + i;
		const struct ct_ui_problem *p;
		attr_t a;
		char line[256], pool[96], full[1200], age[16];

		if (k >= ui->n_health)
			break;
		p = ui->health[k];
		list_text(ui, k, now, text, sizeof(text));
		a = p->sev == CT_SEV_CRITICAL ? t->attr[R_CRIT] : p->sev == CT_SEV_WARNING ? t->attr[R_WARN]
			: t->attr[R_DIM];
		if (k == ui->hl.sel)
			a = t->attr[R_SELECTED] | (a & (A_BOLD | A_UNDERLINE));
		ct_ui_fit(ui->pools[p->pool].pv.name, pw, t->utf8, pool, sizeof(pool));
		age[0] = '\0';
		if (aw)
			ct_ui_age(p->first_seen, now, age, sizeof(age));
		ct_fmt(line, sizeof(line), "%c %-9s %s%*s %-5s %-*s",
		       p->sev == CT_SEV_CRITICAL ? '!' : p->sev == CT_SEV_WARNING ? '*' : '?',
		       ct_severity_name(p->sev), pool, pw - ct_ui_width(pool), "", cls_word(p->cls), aw, age);
		ct_put(top + 1 + i, 0, text_x, a, line);
		ct_fmt(full, sizeof(full), "%s%s", p->member ? "  - " : "", text);
		ct_put_from(top + 1 + i, text_x, COLS - text_x, a, full, ui->hl.xoff);
	}
	if (det > 0 && ui->hl.sel >= 0 && ui->hl.sel < ui->n_health) {
		/* the selected problem's whole reason */
		const struct ct_ui_problem *p = ui->health[ui->hl.sel];
		struct ct_strset lines;
		int y = top + 1 + rows;

		memset(&lines, 0, sizeof(lines));
		row_text(p, now, text, sizeof(text));
		ct_ui_wrap(&lines, text, COLS - 2, "  ");
		attrset(t->attr[R_DIM]);
		mvhline(y, 0, ACS_HLINE, COLS);
		attrset(A_NORMAL);
		ct_putf(y, 2, 40, t->attr[R_TITLE], " %s, pool '%s' (i hides) ", ct_severity_name(p->sev),
			ui->pools[p->pool].pv.name);
		for (int i = 0; i < det - 1 && (size_t)i < lines.n; i++)
			ct_put(y + 1 + i, 1, COLS - 1, A_NORMAL, lines.v[i]);
		ct_strset_release(&lines);
	}
	if (ui->n_health == 0)
		ct_put(top + 1, 2, COLS - 2, t->attr[R_GOOD],
		       ui->filter[0] ? "no problem matches the filter (x clears it)"
				     : "no problems: every chain is within its limits");
}

/* n/N: a row the filter matches itself (a group row holds matches but may not be one). */
static bool row_is_match(void *ctx, int i)
{
	const struct ct_ui *ui = ctx;
	const struct ct_ui_problem *p = ui->health[i];

	return ct_text_match(p->reason, ui->filter) || ct_text_match(p->uuid, ui->filter) ||
	       ct_text_match(p->lead, ui->filter);
}

static void health_key(struct ct_ui *ui, enum ct_action a)
{
	const struct ct_ui_problem *p;
	char key[CT_ROW_KEY];

	if (ct_list_move(&ui->hl, a, ui->n_health, ui->body_h - 2)) {
		remember_selection(ui);
		return;
	}
	if (a == ACT_DETAIL) {
		ui->show_detail = !ui->show_detail;
		return;
	}
	if (a == ACT_NEXTMATCH || a == ACT_PREVMATCH) {
		if (ct_ui_next_match(ui, &ui->hl, ui->n_health, a == ACT_NEXTMATCH ? 1 : -1, row_is_match, ui))
			remember_selection(ui);
		return;
	}
	if (a == ACT_SORT) {
		ui->health_sort = (enum ct_health_sort)((ui->health_sort + 1) % CT_HSORT_COUNT);
		remember_selection(ui);
		health_rebuild(ui);
		ct_status_msg(ui, MSG_INFO, "problems sorted by %s (s: %s next)", ct_health_sort_name(ui->health_sort),
			      ct_health_sort_name((enum ct_health_sort)((ui->health_sort + 1) % CT_HSORT_COUNT)));
		return;
	}
	if (a == ACT_PAGER && ui->hl.sel >= 0 && ui->hl.sel < ui->n_health) {
		/* the whole text; a group's with every problem it holds */
		struct ct_strset lines;
		char text[1100], title[200];
		time_t now = time(NULL);

		p = ui->health[ui->hl.sel];
		memset(&lines, 0, sizeof(lines));
		row_text(p, now, text, sizeof(text));
		ct_strset_add(&lines, text);
		for (int g = 0; g < ui->n_hgroups && p->n_members > 0; g++) {
			if (&ui->hgroups[g] != p)
				continue;
			for (int i = 0; i < ui->n_pools; i++) {
				for (int k = 0; k < ui->pools[i].n_problems; k++) {
					const struct ct_ui_problem *q = &ui->pools[i].problems[k];

					if (q->member && q->group == g) {
						row_text(q, now, text, sizeof(text));
						ct_strset_add(&lines, "");
						ct_strset_add(&lines, text);
					}
				}
			}
		}
		ct_fmt(title, sizeof(title), "%s, pool '%s'", ct_severity_name(p->sev), ui->pools[p->pool].pv.name);
		ct_pager_open(ui, title, &lines);
		ct_strset_release(&lines);
		return;
	}
	if (a != ACT_ENTER || ui->hl.sel < 0 || ui->hl.sel >= ui->n_health)
		return;
	p = ui->health[ui->hl.sel];
	if (p->n_members > 0) {
		/* a group: open or close it */
		char k[640];
		bool was = group_open(ui, p);

		problem_key(p, false, k, sizeof(k));
		if (was) {
			for (size_t i = 0; i < ui->hopen.n; i++) {
				if (!strcmp(ui->hopen.v[i], k)) {
					free(ui->hopen.v[i]);
					ui->hopen.v[i] = ui->hopen.v[--ui->hopen.n];
					break;
				}
			}
		} else {
			ct_strset_add(&ui->hopen, k);
		}
		remember_selection(ui);
		health_rebuild(ui);
		return;
	}
	key[0] = '\0';
	switch (p->cls) {
	case CT_SR:
		snprintf(key, sizeof(key), "s:%s", p->uuid);
		break;
	case CT_VDI:
		snprintf(key, sizeof(key), "d:%s", p->uuid);
		break;
	case CT_POOL:
		snprintf(key, sizeof(key), "p:%s", ui->pools[p->pool].pv.name);
		break;
	case CT_VM:
		snprintf(key, sizeof(key), "m:%s", p->uuid);
		break;
	default:
		break;
	}
	if (p->cls == CT_VM && !ui->by_vm) {
		/* in the SR grouping, a VM problem lands on its first disk */
		const struct ct_rows *rows = &ui->pools[p->pool].rows;

		for (int i = 0; i < rows->n; i++) {
			if (rows->v[i].kind == CT_ROW_VDI && rows->v[i].role == CT_ROLE_DISK &&
			    !strcmp(rows->v[i].vm_uuid, p->uuid)) {
				snprintf(key, sizeof(key), "%s", rows->v[i].key);
				break;
			}
		}
	}
	if (!key[0])
		return;
	/* the loop selects it in the tree, out of the VM grouping when the row is an SR's */
	snprintf(ui->jump_key, sizeof(ui->jump_key), "%s", key);
	ui->jump_by_sr = p->cls != CT_VM && p->cls != CT_POOL && ui->by_vm;
}

static void health_refresh(struct ct_ui *ui, bool data)
{
	(void)data;
	health_rebuild(ui);
}

static struct ct_ui_list *health_list(struct ct_ui *ui)
{
	return &ui->hl;
}

const struct ct_view_ops ct_health_view = {
	.title = "Health",
	.bit = VW_HEALTH,
	.draw = health_draw,
	.key = health_key,
	.update = health_refresh,
	.list = health_list,
};
