/* status.c - the status line and the message history behind it (the messages view in
 * messages.c lists it). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"
#include "lib/util.h"

#define STATUS_CAP 200

const char *ct_msg_level_name(enum ct_msg_level l)
{
	switch (l) {
	case MSG_WARN: return "warning";
	case MSG_ERROR: return "error";
	default: return "info";
	}
}

void ct_status_init(struct ct_ui_status *s)
{
	memset(s, 0, sizeof(*s));
	s->cap = STATUS_CAP;
	s->ring = ct_xcalloc((size_t)s->cap, sizeof(*s->ring));
}

void ct_status_release(struct ct_ui_status *s)
{
	if (!s)
		return;
	free(s->ring);
	memset(s, 0, sizeof(*s));
}

static struct ct_ui_msg *msg_at(const struct ct_ui_status *s, int i)   /* 0 = oldest */
{
	return &s->ring[(s->head + i) % s->cap];
}

void ct_status_msg(struct ct_ui *ui, enum ct_msg_level lvl, const char *fmt, ...)
{
	struct ct_ui_status *s = &ui->status;
	struct ct_ui_msg *m;
	char raw[1280];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (s->n < s->cap) {
		m = msg_at(s, s->n);
		s->n++;
	} else {
		m = &s->ring[s->head];
		s->head = (s->head + 1) % s->cap;
	}
	m->t = time(NULL);
	m->level = lvl;
	/* messages may quote XAPI text: sanitise once here */
	ct_sanitize(raw, m->text, sizeof(m->text));
	s->shown = true;
	ui->need_frame = true;
}

const struct ct_ui_msg *ct_status_at(const struct ct_ui_status *s, int k)
{
	return k >= 0 && k < s->n ? msg_at(s, s->n - 1 - k) : NULL;
}

attr_t ct_msg_level_attr(const struct ct_ui *ui, enum ct_msg_level l)
{
	switch (l) {
	case MSG_WARN: return ui->theme.attr[R_WARN];
	case MSG_ERROR: return ui->theme.attr[R_CRIT];
	default: return ui->theme.attr[R_NORMAL];
	}
}

void ct_status_draw(struct ct_ui *ui, int y, const char *prog)
{
	ct_fill(y, 0, COLS, A_NORMAL);
	if (ui->input != IN_NONE) {
		const char *p = ui->input == IN_FILTER ? "/" : ":";

		ct_putf(y, 0, COLS, A_BOLD, "%s%s", p, ui->input_buf);
		curs_set(1);
		move(y, 1 + ct_ui_width(ui->input_buf));
		return;
	}
	curs_set(0);
	if (prog && prog[0]) {
		ct_put(y, 0, COLS, ui->theme.attr[R_WARN], prog);
		return;
	}
	if (ui->status.n > 0 && ui->status.shown) {
		const struct ct_ui_msg *m = msg_at(&ui->status, ui->status.n - 1);
		const char *lv = m->level == MSG_ERROR ? "ERROR" : m->level == MSG_WARN ? "WARN" : "INFO";

		static const char more[] = " [m: whole text]";
		int mw = (int)sizeof(more) - 1;
		char full[1400];

		snprintf(full, sizeof(full), "[%s] %s", lv, m->text);
		if (ct_ui_width(full) <= COLS || COLS < 3 * mw) {
			ct_put(y, 0, COLS, ct_msg_level_attr(ui, m->level), full);
			return;
		}
		/* cut: say where the whole text is (the newest message, first in m) */
		ct_put(y, 0, COLS - mw, ct_msg_level_attr(ui, m->level), full);
		ct_put(y, COLS - mw, mw, ui->theme.attr[R_DIM] | A_BOLD, more);
	}
}

bool ct_ui_next_match(struct ct_ui *ui, struct ct_ui_list *l, int n, int dir, ct_list_match_fn match,
		      void *ctx)
{
	bool wrapped;
	int i;

	if (!ui->filter[0]) {
		ct_status_msg(ui, MSG_INFO, "no filter: / sets one, then n and N go from match to match");
		return false;
	}
	i = ct_list_next_match(l, n, dir, match, ctx, &wrapped);
	if (i < 0) {
		ct_status_msg(ui, MSG_INFO, "no row matches '%s'", ui->filter);
		return false;
	}
	if (wrapped)
		ct_status_msg(ui, MSG_INFO, "search wrapped around");
	l->sel = i;
	return true;
}
