/* help.c - the help screen (?) and the key-hint line, both generated from the action
 * table (actions.h). */
#include <stdio.h>
#include <string.h>

#include "ui.h"

static int view_bit(enum ct_ui_view v)
{
	return 1 << v;
}

void ct_hints_draw(struct ct_ui *ui, int y, const char *fixed)
{
	char buf[1024];
	size_t o = 0;
	int vb = view_bit(ui->view);

	buf[0] = '\0';
	if (fixed) {
		snprintf(buf, sizeof(buf), "%s", fixed);
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

static int help_lines(const struct ct_ui *ui)
{
	(void)ui;
	return ACT_COUNT + 8;
}

static void help_draw(struct ct_ui *ui, int top, int h)
{
	int n = help_lines(ui);
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

static void help_key(struct ct_ui *ui, enum ct_action a)
{
	ct_list_scroll(&ui->ov, a, help_lines(ui), ui->body_h - 1);
}

const struct ct_view_ops ct_help_view = {
	.draw = help_draw,
	.key = help_key,
};
