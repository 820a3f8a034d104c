/* detail.c - the detail pane under the tree: the selected object's fields, chain to the
 * root, VMs using it, gate verdict, recent tasks and messages (built in rows.c). */
#include <stdio.h>
#include <string.h>

#include "ui.h"
#include "lib/util.h"

void ct_pager_open(struct ct_ui *ui, const char *title, const struct ct_strset *lines)
{
	ct_strset_release(&ui->report);
	for (size_t i = 0; i < lines->n; i++) {
		char clean[1200];
		size_t ind = strspn(lines->v[i], " ");
		char indent[24];

		if (ind > 16)
			ind = 16;
		memset(indent, ' ', ind + 4);
		indent[ind + 4] = '\0';
		ct_sanitize(lines->v[i], clean, sizeof(clean));
		if (!clean[0])
			ct_strset_add(&ui->report, "");
		else
			ct_ui_wrap(&ui->report, clean, COLS - 1 > 20 ? COLS - 1 : 20, indent);
	}
	if (ui->report.n == 0)
		ct_strset_add(&ui->report, "(nothing selected)");
	ct_fmt(ui->report_title, sizeof(ui->report_title), "%s", title);
	ui->overlay = OV_REPORT;
	memset(&ui->ov, 0, sizeof(ui->ov));
	ui->need_frame = true;
}

void ct_detail_draw(struct ct_ui *ui, int y, int x, int h, int w)
{
	const struct ct_theme *t = &ui->theme;

	if (h <= 0)
		return;
	attrset(t->attr[R_DIM]);
	mvhline(y, x, ACS_HLINE, w);
	attrset(A_NORMAL);
	ct_put(y, x + 2, 12, t->attr[R_TITLE], " Detail (i) ");
	for (int i = 1; i < h; i++) {
		size_t k = (size_t)(i - 1);

		ct_fill(y + i, x, w, A_NORMAL);
		if (k < ui->detail.n) {
			const char *s = ui->detail.v[k];
			attr_t a = s[0] != ' ' ? A_BOLD : A_NORMAL;

			if (strstr(s, "REFUSED") || strstr(s, "CRITICAL"))
				a |= t->attr[R_CRIT];
			else if (strstr(s, "WARNING"))
				a |= t->attr[R_WARN];
			ct_put(y + i, x + 1, w - 1, a, s);
		}
	}
	if (ui->detail.n > (size_t)(h - 1))
		ct_putf(y + h - 1, x + w - 36, 36, t->attr[R_DIM], " (%zu more lines: o reads all) ",
			ui->detail.n - (size_t)(h - 2));
}

/* The pager overlay: a run's report or a text in full, scrolled by its top line. */
static void pager_draw(struct ct_ui *ui, int top, int h)
{
	int n = (int)ui->report.n;

	ct_putf(top, 0, COLS, ui->theme.attr[R_TITLE], "%s   Esc/q closes, Up/Down scrolls", ui->report_title);
	for (int i = 0; i < h - 1; i++) {
		int k = ui->ov.top + i;
		attr_t a = A_NORMAL;
		const char *s;

		if (k >= n)
			break;
		s = ui->report.v[k];
		if (strstr(s, ": failure") || strstr(s, "XAPI error") || strstr(s, ": interrupted"))
			a = ui->theme.attr[R_CRIT];
		else if (strstr(s, ": skipped") || strstr(s, "reason:"))
			a = ui->theme.attr[R_WARN];
		else if (s[0] && s[0] != ' ')
			a = A_BOLD;
		ct_put(top + 1 + i, 0, COLS, a, s);
	}
}

static void pager_key(struct ct_ui *ui, enum ct_action a)
{
	ct_list_scroll(&ui->ov, a, (int)ui->report.n, ui->body_h - 1);
}

const struct ct_view_ops ct_pager_view = {
	.draw = pager_draw,
	.key = pager_key,
	.list = NULL,
};
