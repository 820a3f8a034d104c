/* messages.c - the message history (m), newest first; o/Enter reads one in full. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ui.h"
#include "lib/util.h"

#define TEXT_X 17   /* "HH:MM:SS warning " */

static int messages_count(const struct ct_ui *ui)
{
	return ui->status.n;
}

/* The pager with message k (0 = newest) in full. */
static void messages_read(struct ct_ui *ui, int k)
{
	struct ct_strset lines = { 0 };
	const struct ct_ui_msg *m = ct_status_at(&ui->status, k);
	char tbuf[32], title[96];
	struct tm tm;

	if (!m)
		return;
	localtime_r(&m->t, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(title, sizeof(title), "%s %s", tbuf, ct_msg_level_name(m->level));
	ct_strset_add(&lines, m->text);
	ct_pager_open(ui, title, &lines);
	ct_strset_release(&lines);
}

static void messages_draw(struct ct_ui *ui, int top, int h)
{
	const struct ct_ui_status *s = &ui->status;
	int n = s->n, longest = 0;

	ct_list_clamp(&ui->ov, n, h - 1);
	for (int i = 0; i < h - 1 && ui->ov.top + i < n; i++) {
		int w = ct_ui_width(ct_status_at(s, ui->ov.top + i)->text);

		if (w > longest)
			longest = w;
	}
	ct_list_side_clamp(&ui->ov, longest, COLS - TEXT_X);
	ct_putf(top, 0, COLS, ui->theme.attr[R_TITLE],
		"Messages (%d, newest first)   o/Enter reads one in full   Esc/q closes%s", n,
		ct_list_side_hint(&ui->ov, longest, COLS - TEXT_X));
	for (int i = 0; i < h - 1; i++) {
		int k = ui->ov.top + i;
		char tbuf[16];

		ct_fill(top + 1 + i, 0, COLS, A_NORMAL);
		if (k >= n)
			continue;
		{
			const struct ct_ui_msg *m = ct_status_at(s, k);
			struct tm tm;
			attr_t a = ct_msg_level_attr(ui, m->level);

			localtime_r(&m->t, &tm);
			strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
			if (k == ui->ov.sel)
				a = ui->theme.attr[R_SELECTED];
			ct_putf(top + 1 + i, 0, TEXT_X, a, "%s %-7s ", tbuf, ct_msg_level_name(m->level));
			ct_put_from(top + 1 + i, TEXT_X, COLS - TEXT_X, a, m->text, ui->ov.xoff);
		}
	}
}

static void messages_key(struct ct_ui *ui, enum ct_action a)
{
	if (a == ACT_PAGER || a == ACT_ENTER) {
		messages_read(ui, ui->ov.sel);
		return;
	}
	ct_list_move(&ui->ov, a, messages_count(ui), ui->body_h - 2);
}

static struct ct_ui_list *messages_list(struct ct_ui *ui)
{
	return &ui->ov;
}

const struct ct_view_ops ct_messages_view = {
	.draw = messages_draw,
	.key = messages_key,
	.list = messages_list,
};
