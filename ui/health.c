/* health.c - the Health view: every problem the engine reports, most severe first, with its
 * reason; Enter jumps to the object in the tree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"

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

/* A problem's identity across rebuilds: pool, object, reason. */
static void problem_key(const struct ct_ui_problem *p, bool with_reason, char *buf, size_t len)
{
	snprintf(buf, len, "%d|%d|%s|%s", p->pool, (int)p->cls, p->uuid, with_reason ? p->reason : "");
}

static void remember_selection(struct ct_ui *ui)
{
	if (ui->hl.sel >= 0 && ui->hl.sel < ui->n_health)
		problem_key(ui->health[ui->hl.sel], true, ui->hl_key, sizeof(ui->hl_key));
}

/* Put the selection back on the problem it was on (its reason may have changed: the same
 * object then), else on the row now at its place. The old pointers are not read: the
 * problems they pointed to are freed by the time the list is rebuilt. */
static void restore_selection(struct ct_ui *ui)
{
	char k[640];
	int found = -1;

	for (int pass = 0; pass < 2 && found < 0 && ui->hl_key[0]; pass++) {
		for (int i = 0; i < ui->n_health; i++) {
			problem_key(ui->health[i], pass == 0, k, sizeof(k));
			if (pass == 0 ? !strcmp(k, ui->hl_key) : !strncmp(k, ui->hl_key, strlen(k))) {
				found = i;
				break;
			}
		}
	}
	if (found >= 0)
		ui->hl.sel = found;
	if (ui->hl.sel >= ui->n_health)
		ui->hl.sel = ui->n_health - 1;
	if (ui->hl.sel < 0)
		ui->hl.sel = 0;
	if (ui->hl_key[0])
		remember_selection(ui);
}

void ct_health_rebuild(struct ct_ui *ui)
{
	int n = 0;

	for (int i = 0; i < ui->n_pools; i++)
		if (!ui->pools[i].hidden)
			n += ui->pools[i].n_problems;
	free(ui->health);
	ui->health = ct_xcalloc((size_t)n + 1, sizeof(*ui->health));
	ui->n_health = 0;
	for (int i = 0; i < ui->n_pools; i++) {
		if (ui->pools[i].hidden)
			continue;
		for (int k = 0; k < ui->pools[i].n_problems; k++) {
			struct ct_ui_problem *p = &ui->pools[i].problems[k];

			if (ui->filter[0] && !strcasestr(p->reason, ui->filter) && !strcasestr(p->uuid, ui->filter))
				continue;
			ui->health[ui->n_health++] = p;
		}
	}
	qsort(ui->health, (size_t)ui->n_health, sizeof(*ui->health), cmp_problem);
	restore_selection(ui);
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

void ct_health_draw(struct ct_ui *ui, int top, int h)
{
	const struct ct_theme *t = &ui->theme;
	int det = ui->show_detail && h >= 16 ? 6 : 0;
	int rows = h - 1 - det;
	ct_putf(top, 0, COLS, t->attr[R_TITLE], "  %-9s %-14s %-5s %s", "SEVERITY", "POOL", "KIND",
		"REASON (Enter jumps to the object in the tree)");
	ct_list_clamp(&ui->hl, ui->n_health, rows);
	for (int i = 0; i < rows; i++) {
		int k = ui->hl.top + i;
		const struct ct_ui_problem *p;
		attr_t a;
		char line[700];

		if (k >= ui->n_health)
			break;
		p = ui->health[k];
		a = p->sev == CT_SEV_CRITICAL ? t->attr[R_CRIT] : p->sev == CT_SEV_WARNING ? t->attr[R_WARN]
			: t->attr[R_DIM];
		if (k == ui->hl.sel)
			a = t->attr[R_SELECTED] | (a & (A_BOLD | A_UNDERLINE));
		snprintf(line, sizeof(line), "%c %-9s %-14.14s %-5s %s",
			 p->sev == CT_SEV_CRITICAL ? '!' : p->sev == CT_SEV_WARNING ? '*' : '?',
			 ct_severity_name(p->sev), ui->pools[p->pool].pv.name, cls_word(p->cls), p->reason);
		ct_put(top + 1 + i, 0, COLS, a, line);
	}
	if (det > 0 && ui->hl.sel >= 0 && ui->hl.sel < ui->n_health) {
		/* the selected problem's whole reason */
		const struct ct_ui_problem *p = ui->health[ui->hl.sel];
		struct ct_strset lines;
		int y = top + 1 + rows;

		memset(&lines, 0, sizeof(lines));
		ct_ui_wrap(&lines, p->reason, COLS - 2, "  ");
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
		       ui->filter[0] ? "no problem matches the filter (Esc clears it)"
				     : "no problems: every chain is within its limits");
}

void ct_health_action(struct ct_ui *ui, enum ct_action a)
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
	if (a != ACT_ENTER || ui->hl.sel < 0 || ui->hl.sel >= ui->n_health)
		return;
	p = ui->health[ui->hl.sel];
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
	} else if (p->cls != CT_VM && p->cls != CT_POOL && ui->by_vm) {
		ui->by_vm = false;
		ui->dirty_data = true;
		ct_ui_refresh(ui);
	}
	if (!key[0])
		return;
	ct_ui_select_key(ui, key);
}
