/* detail.c - the detail pane under the tree: the selected object's fields, chain to the
 * root, VMs using it, gate verdict, recent tasks and messages (built in rows.c). */
#include <string.h>

#include "ui.h"

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
		ct_putf(y + h - 1, x + w - 28, 28, t->attr[R_DIM], " (%zu more lines) ",
			ui->detail.n - (size_t)(h - 2));
}
