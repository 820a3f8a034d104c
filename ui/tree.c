/* tree.c - the Tree view: pool > SR > chain forest (or pool > VM > disk > chain). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ui.h"
#include "lib/util.h"

#define INDENT_MAX 8   /* levels of tree lines drawn before the rest are counted */
#define NAME_MIN 26    /* "POOL > VM > DISK > CHAIN" and a space */

const struct ct_row *ct_tree_find_row(const struct ct_rows *rows, const char *key)
{
	for (int i = 0; i < rows->n; i++)
		if (!strcmp(rows->v[i].key, key))
			return &rows->v[i];
	return NULL;
}

void ct_tree_detail_from(struct ct_ui *ui, struct ct_ui_pool *p, struct ct_model *m,
			  const struct ct_chain_report *rep, const struct ct_row *r, time_t now)
{
	ct_strset_release(&ui->detail);
	ct_rows_detail(&ui->detail, r, &p->pv, m, rep, now);
	if (r->cls == CT_SR && m)
		ct_ui_keepup_detail(ui, p, m, rep, r->ref, &ui->detail);
	snprintf(ui->detail_key, sizeof(ui->detail_key), "%s", r->key);
}

bool ct_tree_needs_detail(const struct ct_ui *ui)
{
	return ui->show_detail && ui->view == UI_TREE && ui->overlay == OV_NONE;
}

static void tree_clamp(struct ct_ui *ui);
static int name_cols(const struct ct_ui *ui, int vi);

/* The rows of the pools shown, then the visible list (filter, grouping, expansion). */
/* The identity of visible row i: its row key. */
static void vis_key(void *ctx, int i, char *buf, size_t len)
{
	const struct ct_ui *ui = ctx;

	snprintf(buf, len, "%s", ui->all[ui->vis.idx[i]]->key);
}

static void tree_refresh(struct ct_ui *ui, bool data)
{
	(void)data;
	/* concatenate the pools shown, then the visible list */
	ui->n_all = 0;
	for (int i = 0; i < ui->n_pools; i++) {
		struct ct_ui_pool *p = &ui->pools[i];

		if (p->hidden)
			continue;
		if (ui->n_all + p->rows.n > ui->cap_all) {
			ui->cap_all = (ui->n_all + p->rows.n) * 2;
			ui->all = ct_xrealloc(ui->all, (size_t)ui->cap_all * sizeof(*ui->all));
		}
		for (int k = 0; k < p->rows.n; k++)
			ui->all[ui->n_all++] = &p->rows.v[k];
	}
	ct_rows_sort(ui->all, ui->n_all, ui->tree_sort);
	ct_vis_build(&ui->vis, ui->all, ui->n_all, &ui->toggled, ui->filter, ui->problems_only);
	ui->tree_name_w = 0;
	for (int i = 0; i < ui->vis.n; i++) {
		int w = name_cols(ui, i);

		if (w > ui->tree_name_w)
			ui->tree_name_w = w;
	}
	/* keep the selection on the same object (else on its parent, when the object went),
	 * at the same place on the screen */
	{
		int found = ct_list_find(ui->vis.n, ui->tree.key, vis_key, ui);

		if (found < 0)
			found = ct_list_find(ui->vis.n, ui->sel_parent_key, vis_key, ui);
		if (found >= 0)
			ui->tree.sel = found;
		tree_clamp(ui);
	}
}

static struct ct_row *row_at(struct ct_ui *ui, int vi)
{
	if (vi < 0 || vi >= ui->vis.n)
		return NULL;
	return ui->all[ui->vis.idx[vi]];
}

struct ct_row *ct_tree_selected(struct ct_ui *ui)
{
	return row_at(ui, ui->tree.sel);
}

/* Tree layout: rows for the tree and the detail pane below it. */
static void tree_layout(const struct ct_ui *ui, int body_h, int *tree_h, int *detail_h)
{
	int d = 0;

	if (ui->show_detail) {
		d = body_h / 3;
		if (d < 6)
			d = 6;
		if (d > 14)
			d = 14;
		if (body_h - d < 6)
			d = 0;
	}
	*detail_h = d;
	*tree_h = body_h - d;
}

static int tree_rows(const struct ct_ui *ui)
{
	int th, dh;

	tree_layout(ui, ui->body_h > 0 ? ui->body_h : LINES - 4, &th, &dh);
	return th - 1 > 1 ? th - 1 : 1;
}

static void tree_clamp(struct ct_ui *ui)
{
	int th, dh, h;

	tree_layout(ui, ui->body_h > 0 ? ui->body_h : LINES - 4, &th, &dh);
	h = th - 1;   /* column titles */
	if (h < 1)
		h = 1;
	if (ui->tree.sel >= ui->vis.n)
		ui->tree.sel = ui->vis.n - 1;
	if (ui->tree.sel < 0)
		ui->tree.sel = 0;
	/* keep the selected row on the same screen line when possible */
	ui->tree.top = ui->tree.sel - ui->sel_screen;
	ct_list_clamp(&ui->tree, ui->vis.n, h);
	ui->sel_screen = ui->tree.sel - ui->tree.top;
	{
		const struct ct_row *r = ct_tree_selected(ui);

		if (r) {
			snprintf(ui->tree.key, sizeof(ui->tree.key), "%s", r->key);
			snprintf(ui->sel_parent_key, sizeof(ui->sel_parent_key), "%s", r->parent_key);
		}
	}
}

/* Make the row with this key visible (open its ancestors, clear filters hiding it) and
 * select it; false (and a message) when it is not in the tree. The caller refreshes. */
bool ct_tree_select_key(struct ct_ui *ui, const char *key)
{
	const struct ct_row *r = NULL;
	char cur[CT_ROW_KEY];

	for (int i = 0; i < ui->n_pools && !r; i++) {
		if (ui->pools[i].hidden)
			continue;
		r = ct_tree_find_row(&ui->pools[i].rows, key);
		if (r) {
			/* open every ancestor */
			snprintf(cur, sizeof(cur), "%s", r->parent_key);
			for (int guard = 0; cur[0] && guard < 64; guard++) {
				const struct ct_row *a = ct_tree_find_row(&ui->pools[i].rows, cur);

				if (!a)
					break;
				if (!ct_row_is_open(a, &ui->toggled)) {
					if (ct_strset_has(&ui->toggled, a->key)) {
						/* remove the toggle */
						for (size_t k = 0; k < ui->toggled.n; k++) {
							if (!strcmp(ui->toggled.v[k], a->key)) {
								free(ui->toggled.v[k]);
								ui->toggled.v[k] = ui->toggled.v[--ui->toggled.n];
								break;
							}
						}
					} else {
						ct_strset_add(&ui->toggled, a->key);
					}
				}
				snprintf(cur, sizeof(cur), "%s", a->parent_key);
			}
		}
	}
	if (!r) {
		ct_status_msg(ui, MSG_WARN, "that object is not in the tree any more (it may have been coalesced or deleted)");
		return false;
	}
	/* the tree's filter (ui->filter may still be the view's jumped from) */
	ui->view_filter[UI_TREE][0] = '\0';
	if (ui->filter_view == UI_TREE)
		ui->filter[0] = '\0';
	ui->problems_only = false;
	snprintf(ui->tree.key, sizeof(ui->tree.key), "%s", key);
	ui->sel_parent_key[0] = '\0';
	ui->sel_screen = (ui->body_h > 4 ? ui->body_h : 20) / 3;
	ui->dirty_view = true;
	ui->view = UI_TREE;
	return true;
}

static void build_detail(struct ct_ui *ui)
{
	struct ct_row *r = ct_tree_selected(ui);
	struct ct_ui_pool *p;
	struct ct_model *m;
	struct ct_chain_report rep;
	bool have = false;
	time_t now = time(NULL);

	if (!r) {
		ct_strset_release(&ui->detail);
		ui->detail_key[0] = '\0';
		return;
	}
	p = &ui->pools[r->pool];
	m = &p->w->model;
	memset(&rep, 0, sizeof(rep));
	ct_model_lock(m);
	if (p->have_rep && p->rep_gen == m->generation) {
		/* the model has not changed since the rows were built: moving the cursor
		 * costs no evaluation */
		ct_tree_detail_from(ui, p, m, &p->rep, r, now);
		ct_model_unlock(m);
		return;
	}
	if (p->pv.loaded && ct_chain_eval(m, ui->cfg, p->w->conf, now, &p->stall, &rep) == 0)
		have = true;
	ct_tree_detail_from(ui, p, m, have ? &rep : NULL, r, now);
	if (have)
		ct_chain_report_release(&rep);
	ct_model_unlock(m);
}


struct tree_cols {
	int marker, name, depth, size, state, info;   /* widths */
};

/* Columns for a screen `width` wide whose longest visible NAME (tree lines included) takes
 * name_w columns: NAME gets what that needs (at least its title, at most what it had
 * before INFO was given the rest), INFO everything else, so a wide terminal shows whole
 * INFO texts instead of blank NAME padding. */
static void tree_cols(struct tree_cols *c, int width, int name_w)
{
	int cap;

	c->marker = 2;
	c->depth = 6;
	c->size = 11;
	c->state = 10;
	c->info = width >= 120 ? 46 : width >= 100 ? 36 : 22;
	if (width < 80) {
		/* a phone's SSH client: the name, its state and some info; depth and size are in
		 * the detail pane */
		c->depth = 0;
		c->size = 0;
		c->info = width >= 70 ? 20 : 14;
	}
	cap = width - c->marker - c->depth - c->size - c->state - c->info - 1;
	if (cap > 40 && cap > width * 2 / 5)
		cap = width * 2 / 5 > 40 ? width * 2 / 5 : 40;
	c->name = name_w + 1;
	if (c->name < NAME_MIN)
		c->name = NAME_MIN;
	if (c->name > cap)
		c->name = cap;
	if (c->name < 10)
		c->name = 10;
	c->info = width - c->marker - c->depth - c->size - c->state - c->name - 1;
}

/* Columns the NAME cell of visible row vi takes as draw_row writes it. */
static int name_cols(const struct ct_ui *ui, int vi)
{
	const struct ct_row *r = ui->all[ui->vis.idx[vi]];
	int n = (int)strlen(ui->vis.tree[vi]), w;

	if (n > INDENT_MAX) {
		char more[16];

		snprintf(more, sizeof(more), "+%d ", n - INDENT_MAX + 1);
		w = (INDENT_MAX - 2) * 2 + 1 + (int)strlen(more) + 2;
	} else {
		w = n * 2;
	}
	if (r->kind != CT_ROW_NOTE)
		w += 1;
	return w + 1 + ct_ui_width(r->name);
}

static void draw_bar(const struct ct_ui *ui, int y, int x, int w, double used, attr_t base)
{
	int n = used < 0 ? 0 : (int)(used * w + 0.5);

	if (w <= 0)
		return;
	move(y, x);
	for (int i = 0; i < w; i++) {
		attrset(i < n ? (ui->theme.color ? ui->theme.attr[R_BAR_USED] : base) : (base | A_DIM));
		addstr(i < n ? ui->theme.g_bar_used : ui->theme.g_bar_free);
	}
	attrset(A_NORMAL);
}

static void draw_row(struct ct_ui *ui, int y, int vi, const struct tree_cols *c, bool selected)
{
	const struct ct_row *r = row_at(ui, vi);
	const struct ct_theme *t = &ui->theme;
	char name[512], num[32];
	attr_t base, st_attr;
	int x = 0, o = 0;
	const char *tree;

	if (!r)
		return;
	tree = ui->vis.tree[vi];
	st_attr = ct_theme_state_attr(t, r->vstate, r->refused ? CT_SEV_WARNING : r->sev);
	if (r->kind == CT_ROW_POOL)
		base = A_BOLD;
	else if (r->kind == CT_ROW_SR || r->kind == CT_ROW_VM)
		base = A_BOLD;
	else if (r->kind == CT_ROW_NOTE)
		base = t->attr[R_DIM];
	else
		base = A_NORMAL;
	if (r->problem && r->kind == CT_ROW_VDI)
		base = st_attr;
	if (r->stale)
		base = (base & ~A_COLOR) | A_DIM;
	if (selected) {
		base = t->attr[R_SELECTED] | (base & (A_BOLD | A_UNDERLINE));
		st_attr = base;
	}
	/* marker */
	{
		char m[3] = { ' ', ' ', '\0' };

		if (r->problem)
			m[0] = r->refused ? '*' : ct_theme_state_marker(r->vstate, r->sev);
		if (r->stale)
			m[1] = '.';
		ct_put(y, x, c->marker, base, m);
		x += c->marker;
	}
	/* tree prefix, open/closed glyph and name; a deep chain's indent stops at INDENT_MAX
	 * levels and says how many it hides ("┆+19"), so the name stays on screen */
	{
		int n = (int)strlen(tree);

		for (int i = 0; i < n && o < (int)sizeof(name) - 24; i++) {
			const char *p = &tree[i];
			const char *g = *p == '|' ? t->g_vline : *p == 't' ? t->g_tee : *p == 'l' ? t->g_last
				: t->g_blank;

			if (n > INDENT_MAX && i == INDENT_MAX - 2) {
				o += snprintf(name + o, sizeof(name) - (size_t)o, "%s+%d ",
					      t->utf8 ? "\xe2\x94\x86" : ":", n - INDENT_MAX + 1);
				i = n - 2;   /* the row's own tee comes next */
				continue;
			}
			o += snprintf(name + o, sizeof(name) - (size_t)o, "%s", g);
		}
	}
	if (r->kind != CT_ROW_NOTE)
		o += snprintf(name + o, sizeof(name) - (size_t)o, "%s",
			      r->has_children ? (ct_row_is_open(r, &ui->toggled) || ui->filter[0] || ui->problems_only
						 ? t->g_open : t->g_closed) : t->g_leaf);
	snprintf(name + o, sizeof(name) - (size_t)o, " %s", r->name);
	ct_put(y, x, c->name, base, name);
	x += c->name;
	if (r->depth > 0)
		snprintf(num, sizeof(num), "%5d ", r->depth);
	else
		num[0] = '\0';
	ct_put(y, x, c->depth, base, num);
	x += c->depth;
	if (r->size >= 0) {
		char b[16];

		ct_format_bytes(r->size, b, sizeof(b));
		snprintf(num, sizeof(num), "%10s ", b);
	} else {
		num[0] = '\0';
	}
	ct_put(y, x, c->size, base, num);
	x += c->size;
	ct_put(y, x, c->state, r->problem ? st_attr | A_BOLD : base, r->state);
	x += c->state;
	if (r->kind == CT_ROW_SR && c->info >= 24) {
		snprintf(num, sizeof(num), "%-6.6s", r->sr_type);
		ct_put(y, x, 7, base, num);
		draw_bar(ui, y, x + 7, 10, r->used, base);
		ct_put(y, x + 17, COLS - x - 17, base, "");
		ct_put_from(y, x + 18, COLS - x - 18, base, r->info, ui->tree.xoff);
	} else {
		ct_put_from(y, x, COLS - x, base, r->info, ui->tree.xoff);
	}
}

static void draw_list(struct ct_ui *ui, int top, int h)
{
	struct tree_cols c;
	int rows = h - 1, info_x, longest = 0;
	const char *hint;

	tree_cols(&c, COLS, ui->tree_name_w);
	info_x = c.marker + c.name + c.depth + c.size + c.state;
	ct_list_clamp(&ui->tree, ui->vis.n, rows);
	/* the INFO texts on screen bound the sideways scroll (an SR's bar comes before its text) */
	for (int i = 0; i < rows && ui->tree.top + i < ui->vis.n; i++) {
		const struct ct_row *r = row_at(ui, ui->tree.top + i);
		int w = ct_ui_width(r->info) + (r->kind == CT_ROW_SR && c.info >= 24 ? 18 : 0);

		if (w > longest)
			longest = w;
	}
	ct_list_side_clamp(&ui->tree, longest, COLS - info_x);
	hint = ct_list_side_hint(&ui->tree, longest, COLS - info_x);
	{
		char title[320];

		if (c.depth > 0)
			snprintf(title, sizeof(title), "%-*s%-*.*s %*s %*s %-*s%s%s", c.marker, "", c.name - 1,
				 c.name - 1, ui->by_vm ? "POOL > VM > DISK > CHAIN" : "POOL > SR > CHAINS",
				 c.depth - 1, "DEPTH", c.size - 1, "SIZE", c.state, "STATE", "INFO", hint);
		else
			snprintf(title, sizeof(title), "%-*s%-*.*s %-*s%s%s", c.marker, "", c.name - 1, c.name - 1,
				 ui->by_vm ? "POOL > VM > DISK > CHAIN" : "POOL > SR > CHAINS", c.state, "STATE",
				 "INFO", hint);
		ct_put(top, 0, COLS, ui->theme.attr[R_TITLE], title);
	}
	ui->sel_screen = ui->tree.sel - ui->tree.top;
	for (int i = 0; i < rows; i++) {
		int vi = ui->tree.top + i;

		if (vi >= ui->vis.n)
			break;
		draw_row(ui, top + 1 + i, vi, &c, vi == ui->tree.sel);
	}
	if (ui->vis.n == 0)
		ct_put(top + 1, 2, COLS - 2, ui->theme.attr[R_DIM],
		       ui->filter[0] || ui->problems_only ? "nothing matches; x clears the filter, p toggles problems only"
							  : "no pools to show");
}

static void toggle_key(struct ct_ui *ui, const char *key)
{
	for (size_t k = 0; k < ui->toggled.n; k++) {
		if (!strcmp(ui->toggled.v[k], key)) {
			free(ui->toggled.v[k]);
			ui->toggled.v[k] = ui->toggled.v[--ui->toggled.n];
			return;
		}
	}
	ct_strset_add(&ui->toggled, key);
}

/* Open or close one row (toggled holds the rows whose state is not their default). */
static void set_open(struct ct_ui *ui, const struct ct_row *r, bool open)
{
	if (!r->has_children || ct_row_is_open(r, &ui->toggled) == open)
		return;
	toggle_key(ui, r->key);
	ui->dirty_view = true;
}

/* Open every row, or close every row below the pools. */
static void set_all_open(struct ct_ui *ui, bool open)
{
	for (int i = 0; i < ui->n_all; i++)
		if (open || ui->all[i]->level > 0)
			set_open(ui, ui->all[i], open);
	ui->dirty_view = true;
}

/* h / Left: scroll INFO back while it is scrolled, else close the open row, else select
 * its parent. */
static void collapse_key(struct ct_ui *ui, const struct ct_row *r, int th)
{
	if (ui->tree.xoff > 0) {
		ct_list_side(&ui->tree, ACT_LEFT);
		return;
	}
	if (!r)
		return;
	if (r->has_children && ct_row_is_open(r, &ui->toggled) && !ui->filter[0] && !ui->problems_only) {
		set_open(ui, r, false);
		return;
	}
	for (int i = ui->tree.sel - 1; i >= 0; i--) {
		const struct ct_row *p = row_at(ui, i);

		if (p && !strcmp(p->key, r->parent_key)) {
			ui->tree.sel = i;
			ct_list_clamp(&ui->tree, ui->vis.n, th);
			ui->sel_screen = ui->tree.sel - ui->tree.top;
			tree_clamp(ui);
			return;
		}
	}
}

/* n/N: a row the filter matches itself; parents kept only to show a match are not. */
static bool row_is_match(void *ctx, int vi)
{
	struct ct_ui *ui = ctx;
	const struct ct_row *r = row_at(ui, vi);

	return r && ct_row_matches(r, ui->filter);
}

static void next_match(struct ct_ui *ui, int dir, int th)
{
	if (!ct_ui_next_match(ui, &ui->tree, ui->vis.n, dir, row_is_match, ui))
		return;
	ct_list_clamp(&ui->tree, ui->vis.n, th);
	ui->sel_screen = ui->tree.sel - ui->tree.top;
	tree_clamp(ui);
}

/* The uuid to the terminal's clipboard: OSC 52 (xterm, kitty, iTerm2, tmux with
 * set-clipboard, ...); a terminal that ignores it still shows it in the status line. */
static void copy_uuid(struct ct_ui *ui, const struct ct_row *r)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char out[16 + 4 * (sizeof(r->uuid) / 3 + 1)];
	const unsigned char *u = (const unsigned char *)r->uuid;
	size_t len = strlen(r->uuid), o;

	if (!len) {
		ct_status_msg(ui, MSG_INFO, "'%s' has no uuid to copy", r->name);
		return;
	}
	o = (size_t)snprintf(out, sizeof(out), "\033]52;c;");
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)u[i] << 16 | (i + 1 < len ? (unsigned)u[i + 1] << 8 : 0) |
			     (i + 2 < len ? u[i + 2] : 0);

		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? b64[v & 63] : '=';
	}
	out[o++] = '\a';
	fflush(stdout);
	if (write(STDOUT_FILENO, out, o) != (ssize_t)o)
		ct_status_msg(ui, MSG_INFO, "uuid of '%s': %s (could not write to the terminal to copy it)", r->name, r->uuid);
	else
		ct_status_msg(ui, MSG_INFO, "uuid of '%s' copied (OSC 52): %s", r->name, r->uuid);
}

static void tree_key(struct ct_ui *ui, enum ct_action a)
{
	int th = tree_rows(ui);
	struct ct_row *r;

	if (ct_list_move(&ui->tree, a, ui->vis.n, th > 1 ? th - 1 : 1)) {
		if (a == ACT_PGUP || a == ACT_PGDN)
			ct_list_clamp(&ui->tree, ui->vis.n, th);
		ui->sel_screen = ui->tree.sel - ui->tree.top;
		if (ui->sel_screen < 0 || ui->sel_screen >= th)
			ui->sel_screen = ui->sel_screen < 0 ? 0 : th - 1;
		tree_clamp(ui);
		return;
	}
	r = ct_tree_selected(ui);
	switch (a) {
	case ACT_NEXTMATCH:
	case ACT_PREVMATCH:
		next_match(ui, a == ACT_NEXTMATCH ? 1 : -1, th);
		return;
	case ACT_COPY:
		if (r)
			copy_uuid(ui, r);
		return;
	case ACT_EXPAND:
		/* a closed row opens; otherwise Right/l scroll INFO as > does */
		if (r && r->has_children && !ct_row_is_open(r, &ui->toggled) && !ui->filter[0] &&
		    !ui->problems_only)
			set_open(ui, r, true);
		else
			ct_list_side(&ui->tree, ACT_RIGHT);
		return;
	case ACT_COLLAPSE:
		collapse_key(ui, r, th);
		return;
	case ACT_SORT:
		ui->tree_sort = (enum ct_tree_sort)((ui->tree_sort + 1) % CT_TSORT_COUNT);
		ui->dirty_view = true;
		ct_status_msg(ui, MSG_INFO, "tree sorted by %s (s: %s next)", ct_tree_sort_name(ui->tree_sort),
			      ct_tree_sort_name((enum ct_tree_sort)((ui->tree_sort + 1) % CT_TSORT_COUNT)));
		return;
	case ACT_EXPANDALL:
	case ACT_COLLAPSEALL:
		if (ui->filter[0] || ui->problems_only) {
			ct_status_msg(ui, MSG_INFO, "rows stay open while a filter is on; x clears it, p toggles problems only");
			return;
		}
		set_all_open(ui, a == ACT_EXPANDALL);
		ct_status_msg(ui, MSG_INFO, a == ACT_EXPANDALL ? "every row open (- closes them)"
				: "rows below the pools closed (+ opens every row)");
		return;
	case ACT_ENTER:
		if (!r)
			return;
		if (!r->has_children) {
			ct_status_msg(ui, MSG_INFO, "'%s' has nothing below it; its details are in the pane below (i), o reads them in full",
				      r->name);
			return;
		}
		if (ui->filter[0] || ui->problems_only) {
			ct_status_msg(ui, MSG_INFO, "rows stay open while a filter is on; x clears it");
			return;
		}
		toggle_key(ui, r->key);
		ui->dirty_view = true;
		return;
	case ACT_PROBLEMS:
		ui->problems_only = !ui->problems_only;
		ui->dirty_view = true;
		ct_status_msg(ui, MSG_INFO, ui->problems_only ? "showing only rows with problems (p again shows all)"
				: "showing every row");
		return;
	case ACT_GROUP:
		ui->by_vm = !ui->by_vm;
		ui->dirty_data = true;
		ui->dirty_view = true;
		ct_status_msg(ui, MSG_INFO, ui->by_vm ? "grouped by VM: VM > disks > their chains (v for SRs)"
				: "grouped by SR: SR > chain forest (v for VMs)");
		return;
	case ACT_DETAIL:
		ui->show_detail = !ui->show_detail;
		ui->detail_key[0] = '\0';
		tree_clamp(ui);
		return;
	case ACT_PAGER: {
		char title[256];

		if (!r)
			return;
		if (strcmp(ui->detail_key, ui->tree.key))
			build_detail(ui);
		ct_fmt(title, sizeof(title), "Detail of '%s'", r->name);
		ct_pager_open(ui, title, &ui->detail);
		return;
	}
	default:
		return;
	}
}

/* The tree, and the selected object's detail pane below it. */
static void tree_draw(struct ct_ui *ui, int top, int h)
{
	int th, dh;

	tree_layout(ui, h, &th, &dh);
	draw_list(ui, top, th);
	if (dh > 0) {
		if (strcmp(ui->detail_key, ui->tree.key))
			build_detail(ui);
		ct_detail_draw(ui, top + th, 0, dh, COLS);
	}
}

static void tree_selection(struct ct_ui *ui, struct ct_ui_sel *out)
{
	const struct ct_row *r = ct_tree_selected(ui);

	out->row = r;
	out->pool = r ? r->pool : -1;
}

static struct ct_ui_list *tree_list(struct ct_ui *ui)
{
	return &ui->tree;
}

const struct ct_view_ops ct_tree_view = {
	.title = "Tree",
	.bit = VW_TREE,
	.draw = tree_draw,
	.key = tree_key,
	.update = tree_refresh,
	.selection = tree_selection,
	.list = tree_list,
};
