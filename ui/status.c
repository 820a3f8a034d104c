/* status.c - the status line with its message history, the key-hint line and the help
 * screen (both generated from the action table). */
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

int ct_messages_count(const struct ct_ui *ui)
{
	return ui->status.n;
}

void ct_messages_read(struct ct_ui *ui, int k)
{
	const struct ct_ui_status *s = &ui->status;
	struct ct_strset lines = { 0 };
	const struct ct_ui_msg *m;
	char tbuf[32], title[96];
	struct tm tm;

	if (k < 0 || k >= s->n)
		return;
	m = msg_at(s, s->n - 1 - k);
	localtime_r(&m->t, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(title, sizeof(title), "%s %s", tbuf, ct_msg_level_name(m->level));
	ct_strset_add(&lines, m->text);
	ct_pager_open(ui, title, &lines);
	ct_strset_release(&lines);
}

static attr_t level_attr(const struct ct_ui *ui, enum ct_msg_level l)
{
	switch (l) {
	case MSG_WARN: return ui->theme.attr[R_WARN];
	case MSG_ERROR: return ui->theme.attr[R_CRIT];
	default: return ui->theme.attr[R_NORMAL];
	}
}

void ct_status_draw(struct ct_ui *ui, int y)
{
	char prog[300];

	ct_fill(y, 0, COLS, A_NORMAL);
	if (ui->input != IN_NONE) {
		const char *p = ui->input == IN_FILTER ? "/" : ":";

		ct_putf(y, 0, COLS, A_BOLD, "%s%s", p, ui->input_buf);
		curs_set(1);
		move(y, 1 + ct_ui_width(ui->input_buf));
		return;
	}
	curs_set(0);
	ct_worker_status_text(&ui->worker, prog, sizeof(prog));
	if (prog[0]) {
		ct_put(y, 0, COLS, ui->theme.attr[R_WARN], prog);
		return;
	}
	if (ui->status.n > 0 && ui->status.shown) {
		const struct ct_ui_msg *m = msg_at(&ui->status, ui->status.n - 1);
		const char *lv = m->level == MSG_ERROR ? "ERROR" : m->level == MSG_WARN ? "WARN" : "INFO";

		ct_putf(y, 0, COLS, level_attr(ui, m->level), "[%s] %s", lv, m->text);
	}
}

void ct_messages_draw(struct ct_ui *ui, int top, int h)
{
	const struct ct_ui_status *s = &ui->status;
	int n = s->n;

	ct_putf(top, 0, COLS, ui->theme.attr[R_TITLE],
		"Messages (%d, newest first)   o/Enter reads one in full   Esc/q closes", n);
	ct_list_clamp(&ui->ov, n, h - 1);
	for (int i = 0; i < h - 1; i++) {
		int k = ui->ov.top + i;
		char tbuf[16];

		ct_fill(top + 1 + i, 0, COLS, A_NORMAL);
		if (k >= n)
			continue;
		{
			const struct ct_ui_msg *m = msg_at(s, n - 1 - k);
			struct tm tm;
			attr_t a = level_attr(ui, m->level);

			localtime_r(&m->t, &tm);
			strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
			if (k == ui->ov.sel)
				a = ui->theme.attr[R_SELECTED];
			ct_putf(top + 1 + i, 0, COLS, a, "%s %-7s %s", tbuf, ct_msg_level_name(m->level),
				m->text);
		}
	}
}

static int view_bit(enum ct_ui_view v)
{
	return 1 << v;
}

void ct_hints_draw(struct ct_ui *ui, int y)
{
	char buf[1024];
	size_t o = 0;
	int vb = view_bit(ui->view);

	buf[0] = '\0';
	if (ct_dialog_active(ui)) {
		o += (size_t)snprintf(buf, sizeof(buf),
				      " Tab/Left/Right move focus  Enter press the focused button  Esc cancel");
	} else if (ui->overlay != OV_NONE) {
		o += (size_t)snprintf(buf, sizeof(buf), " Up/Down scroll  Esc/q close");
	} else {
		for (int i = 0; i < ACT_COUNT && o < sizeof(buf) - 64; i++) {
			const struct ct_action_def *a = &ct_actions[i];
			bool disabled;

			if (!(a->flags & AF_HINT) || !(a->views & vb))
				continue;
			disabled = (a->flags & AF_CHANGES) && ui->read_only;
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, " %s %s%s ", a->label, a->name,
					      disabled ? "(off)" : "");
		}
		if (o < sizeof(buf) - 16)
			snprintf(buf + o, sizeof(buf) - o, " 1-4/Tab views");
	}
	ct_put(y, 0, COLS, ui->theme.attr[R_HEADER], buf);
}

/* The help screen: every action with its keys, views and help text. */
static void help_line(struct ct_ui *ui, int i, char *buf, size_t len, attr_t *a)
{
	const struct ct_action_def *d = &ct_actions[i];
	char views[32];
	int o = 0;

	views[0] = '\0';
	if (d->views == VW_ALL) {
		snprintf(views, sizeof(views), "all");
	} else {
		static const char *names[] = { "tree", "health", "snap", "jobs" };

		for (int v = 0; v < 4; v++)
			if (d->views & (1 << v))
				o += snprintf(views + o, sizeof(views) - (size_t)o, "%s%s", o ? "," : "", names[v]);
	}
	snprintf(buf, len, "  %-8s %-10s %-17s %s%s%s", d->label, d->name, views, d->help,
		 (d->flags & AF_DESTRUCTIVE) ? " [destructive: confirm dialog]" : "",
		 (d->flags & AF_CHANGES) && ui->read_only ? " [disabled: --read-only]" : "");
	*a = (d->flags & AF_CHANGES) && ui->read_only ? ui->theme.attr[R_DIM] : A_NORMAL;
}

int ct_help_lines(const struct ct_ui *ui)
{
	(void)ui;
	return ACT_COUNT + 8;
}

void ct_help_draw(struct ct_ui *ui, int top, int h)
{
	int n = ct_help_lines(ui);
	static const char *legend[] = {
		"",
		"Row markers (they read without colour too):",
		"  ~ PENDING coalesce   = STACKED base copies   v DEEP chain   x GARBAGE base copy",
		"  # BROKEN parent link   ? ORPHAN disk   ! CRITICAL   * WARNING",
		"Pool states in the header: connected, loading, reconnecting (n), auth failed; STALE = data",
		"  kept from before the connection was lost.  RO = read-only (actions off).",
		"",
	};

	ct_putf(top, 0, COLS, ui->theme.attr[R_TITLE], "chaintop %s help   %s",
		CT_VERSION, "Esc/q closes, Up/Down scrolls");
	ct_list_clamp(&ui->ov, n, h - 1);
	/* help scrolls by top only */
	for (int i = 0; i < h - 1; i++) {
		int k = ui->ov.top + i;
		char buf[512];
		attr_t a = A_NORMAL;

		ct_fill(top + 1 + i, 0, COLS, A_NORMAL);
		if (k == 0) {
			ct_put(top + 1 + i, 0, COLS, A_BOLD, "  key      action     views             what it does");
			continue;
		}
		k--;
		if (k < ACT_COUNT) {
			help_line(ui, k, buf, sizeof(buf), &a);
			ct_put(top + 1 + i, 0, COLS, a, buf);
			continue;
		}
		k -= ACT_COUNT;
		if (k < (int)(sizeof(legend) / sizeof(legend[0])))
			ct_put(top + 1 + i, 0, COLS, A_NORMAL, legend[k]);
	}
}
