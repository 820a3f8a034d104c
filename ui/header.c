/* header.c - the header line (each pool's state, or one summary with many pools or a narrow
 * terminal) and the tab line (views, filter, modes). */
#include <stdio.h>
#include <string.h>

#include "ui.h"
#include "lib/util.h"

static const char *pool_state_short(const struct ct_pool_view *pv, char *buf, size_t len)
{
	if (pv->held) {
		snprintf(buf, len, "%s, WAITING FOR YOU", pv->state == CT_POOL_AUTH_FAILED ?
			 "auth failed" : "certificate refused");
		return buf;
	}
	if (pv->unresponsive) {
		snprintf(buf, len, "NOT ANSWERING");
		return buf;
	}
	switch (pv->state) {
	case CT_POOL_CONNECTING: snprintf(buf, len, "connecting"); break;
	case CT_POOL_LOADING: snprintf(buf, len, "loading"); break;
	case CT_POOL_CONNECTED: snprintf(buf, len, "connected"); break;
	case CT_POOL_RECONNECTING: snprintf(buf, len, "reconnecting (%d)", pv->retries); break;
	case CT_POOL_AUTH_FAILED: snprintf(buf, len, "auth failed"); break;
	case CT_POOL_FAILED: snprintf(buf, len, "failed"); break;
	default: snprintf(buf, len, "stopped"); break;
	}
	return buf;
}

/* One header segment for a pool: state, time since the last event, problem counts. */
static void pool_segment(const struct ct_ui_pool *p, time_t now, char *buf, size_t len)
{
	char st[48], age[16], when[32];

	pool_state_short(&p->pv, st, sizeof(st));
	if (p->pv.last_event > 0) {
		ct_ui_age(p->pv.last_event, now, age, sizeof(age));
		snprintf(when, sizeof(when), "event %s ago", age);
	} else {
		snprintf(when, sizeof(when), "no event yet");
	}
	snprintf(buf, len, "| %s: %s%s, %s, %dC %dW%s%s ", p->pv.name, st, p->pv.stale ? " STALE" : "",
		 when, p->pv.n_crit, p->pv.n_warn, p->read_only ? " RO" : "", p->hidden ? " (hidden)" : "");
}

static void header_first(const struct ct_ui *ui, char *buf, size_t len)
{
	snprintf(buf, len, " chaintop%s ", ui->read_only ? " [READ-ONLY]" : "");
}

/* The header text (also used to decide whether a clock tick changes the screen). */
/* With many pools or a narrow terminal the header is one summary, worst state first, so
 * the worst state is always on screen: "5 pools: 1 DOWN (lab) · 1 connecting · 3 ok". */
static bool header_compact(const struct ct_ui *ui, const char *full)
{
	return ui->n_pools >= 5 || ct_ui_width(full) > COLS;
}

static void compact_text(struct ct_ui *ui, char *buf, size_t len)
{
	int ok = 0, conn = 0, down = 0, crit = 0, warn = 0;
	char names[160];
	size_t o = 0;
	const char *dot = ui->theme.utf8 ? " \xc2\xb7 " : ", ";

	names[0] = '\0';
	for (int i = 0; i < ui->n_pools; i++) {
		const struct ct_pool_view *pv = &ui->pools[i].pv;

		crit += pv->n_crit;
		warn += pv->n_warn;
		if (pv->state == CT_POOL_CONNECTED && !pv->stale && !pv->unresponsive) {
			ok++;
		} else if ((pv->state == CT_POOL_CONNECTING || pv->state == CT_POOL_LOADING) &&
			   !pv->stale && !pv->unresponsive) {
			conn++;
		} else {
			down++;
			if (o < sizeof(names) - 1)
				o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", down > 1 ? ", " : "",
						      pv->name);
		}
	}
	header_first(ui, buf, len);
	o = strlen(buf);
	o += (size_t)snprintf(buf + o, len - o, "| %d pool%s: ", ui->n_pools, ui->n_pools == 1 ? "" : "s");
	if (down && o < len)
		o += (size_t)snprintf(buf + o, len - o, "%d DOWN (%s)%s", down, names, conn || ok ? dot : "");
	if (conn && o < len)
		o += (size_t)snprintf(buf + o, len - o, "%d connecting%s", conn, ok ? dot : "");
	if (ok && o < len)
		o += (size_t)snprintf(buf + o, len - o, "%d ok", ok);
	if (o < len)
		snprintf(buf + o, len - o, " | %dC %dW ", crit, warn);
}

/* Returns true when the text is the compact summary. */
bool ct_header_text(struct ct_ui *ui, char *buf, size_t len, time_t now)
{
	size_t o;

	header_first(ui, buf, len);
	o = strlen(buf);
	for (int i = 0; i < ui->n_pools && o < len - 1; i++) {
		struct ct_ui_pool *p = &ui->pools[i];

		ct_model_lock(&p->w->model);
		ct_pool_status(p);
		ct_model_unlock(&p->w->model);
		pool_segment(p, now, buf + o, len - o);
		o += strlen(buf + o);
	}
	if (!header_compact(ui, buf))
		return false;
	compact_text(ui, buf, len);
	return true;
}

void ct_header_draw(struct ct_ui *ui, time_t now)
{
	char buf[1024], first[64];
	int x;
	bool compact = ct_header_text(ui, buf, sizeof(buf), now);

	snprintf(ui->last_header, sizeof(ui->last_header), "%s", buf);
	ct_fill(0, 0, COLS, ui->theme.attr[R_HEADER]);
	header_first(ui, first, sizeof(first));
	x = ct_ui_width(first);
	if (compact) {
		ct_put(0, 0, COLS, ui->theme.attr[R_HEADER] | A_BOLD, buf);
		return;
	}
	ct_put(0, 0, COLS, ui->theme.attr[R_HEADER] | A_BOLD, first);
	/* segment by segment so each pool's state carries its own attribute */
	for (int i = 0; i < ui->n_pools && x < COLS; i++) {
		struct ct_ui_pool *p = &ui->pools[i];
		char seg[256];
		attr_t a = ui->theme.attr[R_HEADER];

		pool_segment(p, now, seg, sizeof(seg));
		if (p->pv.state != CT_POOL_CONNECTED || p->pv.stale)
			a |= A_BOLD | A_UNDERLINE;
		if (p->hidden)
			a |= A_DIM;
		ct_put(0, x, COLS - x, a, seg);
		x += ct_ui_width(seg);
	}
}

void ct_tabs_draw(struct ct_ui *ui, int y, const struct ct_view_ops *const *views, int n)
{
	int x = 0;
	char extra[256];
	int o = 0;

	ct_fill(y, 0, COLS, A_NORMAL);
	for (int v = 0; v < n; v++) {
		char lab[48];
		attr_t a = v == (int)ui->view ? ui->theme.attr[R_SELECTED] | A_BOLD : A_NORMAL;
		int n_badge = 0;

		if (v == UI_HEALTH)
			n_badge = ui->n_health_all;   /* every problem, whatever Health's filter */
		if (n_badge)
			snprintf(lab, sizeof(lab), " %d %s (%d) ", v + 1, views[v]->title, n_badge);
		else
			snprintf(lab, sizeof(lab), " %d %s ", v + 1, views[v]->title);
		ct_put(y, x, (int)strlen(lab), a, lab);
		x += (int)strlen(lab) + 1;
	}
	extra[0] = '\0';
	if (ui->filter[0])
		o += snprintf(extra + o, sizeof(extra) - (size_t)o, " filter: %s ", ui->filter);
	/* what problems-only leaves out (every row is a candidate: matches show even inside
	 * collapsed rows) */
	if (ui->problems_only && o < (int)sizeof(extra))
		o += snprintf(extra + o, sizeof(extra) - (size_t)o, " [problems only: %d of %d rows hidden]",
			      ui->n_all - ui->vis.n, ui->n_all);
	if (ui->view == UI_TREE && ui->tree_sort != CT_TSORT_CHAIN && o < (int)sizeof(extra))
		o += snprintf(extra + o, sizeof(extra) - (size_t)o, " [sorted by %s]", ct_tree_sort_name(ui->tree_sort));
	if (ui->view == UI_HEALTH && ui->health_sort != CT_HSORT_SEVERITY && o < (int)sizeof(extra))
		o += snprintf(extra + o, sizeof(extra) - (size_t)o, " [sorted by %s]",
			      ct_health_sort_name(ui->health_sort));
	if (ui->by_vm && o < (int)sizeof(extra))
		o += snprintf(extra + o, sizeof(extra) - (size_t)o, " [by VM]");
	if (extra[0] && x < COLS)
		ct_put(y, x, COLS - x, A_BOLD, extra);
}
