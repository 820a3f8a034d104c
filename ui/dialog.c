/* dialog.c - the modal confirmation dialog: names the pool, the objects and the exact XAPI
 * calls; focus starts on Cancel; a typed word is needed for large deletions. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"
#include "lib/util.h"

void ct_dialog_open(struct ct_ui *ui, const char *title, const char *ok_label)
{
	ct_dialog_close(ui);
	ui->dlg.open = true;
	snprintf(ui->dlg.title, sizeof(ui->dlg.title), "%s", title);
	snprintf(ui->dlg.ok_label, sizeof(ui->dlg.ok_label), "%s", ok_label);
	ui->dlg.ok_enabled = true;
	ui->dlg.focus = 0;
	ui->need_frame = true;
}

void ct_dialog_line(struct ct_ui *ui, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	{
		/* wrap to the screen, continuation lines indented under the text */
		char indent[32];
		size_t n = strspn(buf, " ");

		if (n > 20)
			n = 20;
		memset(indent, ' ', n + 4);
		indent[n + 4] = '\0';
		ct_ui_wrap(&ui->dlg.lines, buf, COLS - 8, indent);
	}
}

void ct_dialog_action(struct ct_ui *ui, void (*on_confirm)(struct ct_ui *ui, void *payload),
		      void *payload, void (*payload_free)(void *))
{
	ui->dlg.on_confirm = on_confirm;
	ui->dlg.payload = payload;
	ui->dlg.payload_free = payload_free;
}

void ct_dialog_close(struct ct_ui *ui)
{
	struct ct_ui_dialog *d = &ui->dlg;

	ct_strset_release(&d->lines);
	if (d->payload && d->payload_free)
		d->payload_free(d->payload);
	memset(d, 0, sizeof(*d));
	ui->need_frame = true;
}

void ct_dialog_alt(struct ct_ui *ui, const char *label, void (*fn)(struct ct_ui *ui))
{
	snprintf(ui->dlg.alt_label, sizeof(ui->dlg.alt_label), "%s", label);
	ui->dlg.on_alt = fn;
}

void ct_dialog_cancel_label(struct ct_ui *ui, const char *label)
{
	snprintf(ui->dlg.cancel_label, sizeof(ui->dlg.cancel_label), "%s", label);
}

static int n_buttons(const struct ct_ui_dialog *d)
{
	return !d->ok_enabled ? 1 : d->alt_label[0] ? 3 : 2;
}

bool ct_dialog_active(const struct ct_ui *ui)
{
	return ui->dlg.open;
}

/* OK: the dialog closes, then its action runs with the payload (which it now owns). */
static void confirm(struct ct_ui *ui)
{
	void (*fn)(struct ct_ui *, void *) = ui->dlg.on_confirm;
	void *payload = ui->dlg.payload;

	ui->dlg.payload = NULL;
	ct_dialog_close(ui);
	if (fn)
		fn(ui, payload);
}

static bool dialog_key(struct ct_ui *ui, int ch)
{
	struct ct_ui_dialog *d = &ui->dlg;
	bool typing = d->confirm_word[0] != '\0';

	ui->need_frame = true;
	switch (ch) {
	case 27:
		ct_status_msg(ui, MSG_INFO, "%s: cancelled, nothing was changed", d->title);
		ct_dialog_close(ui);
		return false;
	case '\t':
	case KEY_RIGHT:
		d->focus = (d->focus + 1) % n_buttons(d);
		return false;
	case KEY_BTAB:
	case KEY_LEFT:
		d->focus = (d->focus + n_buttons(d) - 1) % n_buttons(d);
		return false;
	case KEY_UP:
		if (d->scroll > 0)
			d->scroll--;
		return false;
	case KEY_DOWN:
		d->scroll++;
		return false;
	case KEY_PPAGE:
		d->scroll -= 10;
		if (d->scroll < 0)
			d->scroll = 0;
		return false;
	case KEY_NPAGE:
		d->scroll += 10;
		return false;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		if (typing && d->typed[0])
			d->typed[strlen(d->typed) - 1] = '\0';
		return false;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (d->focus == 0) {
			ct_status_msg(ui, MSG_INFO, "%s: cancelled, nothing was changed", d->title);
			ct_dialog_close(ui);
			return false;
		}
		if (d->focus == 2) {
			void (*fn)(struct ct_ui *) = d->on_alt;

			ct_dialog_close(ui);
			if (fn)
				fn(ui);
			return false;
		}
		if (typing && strcmp(d->typed, d->confirm_word)) {
			ct_status_msg(ui, MSG_WARN, "type '%s' exactly to confirm, or Esc to cancel",
				      d->confirm_word);
			return false;
		}
		return true;
	default:
		break;
	}
	if (typing && ch >= 32 && ch < 127) {
		size_t l = strlen(d->typed);

		if (l + 1 < sizeof(d->typed)) {
			d->typed[l] = (char)ch;
			d->typed[l + 1] = '\0';
		}
		return false;
	}
	if (!typing && d->yes_key && (ch == 'y' || ch == 'Y'))
		return true;
	if (!typing && (ch == 'q' || ch == 'n' || (d->yes_key && ch == 'N'))) {
		ct_status_msg(ui, MSG_INFO, "%s: cancelled, nothing was changed", d->title);
		ct_dialog_close(ui);
	}
	return false;
}

void ct_dialog_key(struct ct_ui *ui, int ch)
{
	if (dialog_key(ui, ch))
		confirm(ui);
}

void ct_dialog_draw(struct ct_ui *ui)
{
	struct ct_ui_dialog *d = &ui->dlg;
	const struct ct_theme *t = &ui->theme;
	attr_t da = t->attr[R_DIALOG];
	int maxw = 0, w, h, y0, x0, body_h, nlines = (int)d->lines.n;
	int extra = d->confirm_word[0] ? 2 : 0;

	for (size_t i = 0; i < d->lines.n; i++) {
		int lw = ct_ui_width(d->lines.v[i]);

		if (lw > maxw)
			maxw = lw;
	}
	w = maxw + 4;
	if (w < 60)
		w = 60;
	if (w > COLS - 4)
		w = COLS - 4;
	h = nlines + 5 + extra;
	if (h > LINES - 2)
		h = LINES - 2;
	body_h = h - 5 - extra;
	if (body_h < 1)
		body_h = 1;
	if (d->scroll > nlines - body_h)
		d->scroll = nlines - body_h > 0 ? nlines - body_h : 0;
	y0 = (LINES - h) / 2;
	x0 = (COLS - w) / 2;
	for (int y = 0; y < h; y++)
		ct_fill(y0 + y, x0, w, da);
	attrset(da);
	mvaddch(y0, x0, ACS_ULCORNER);
	mvhline(y0, x0 + 1, ACS_HLINE, w - 2);
	mvaddch(y0, x0 + w - 1, ACS_URCORNER);
	mvvline(y0 + 1, x0, ACS_VLINE, h - 2);
	mvvline(y0 + 1, x0 + w - 1, ACS_VLINE, h - 2);
	mvaddch(y0 + h - 1, x0, ACS_LLCORNER);
	mvhline(y0 + h - 1, x0 + 1, ACS_HLINE, w - 2);
	mvaddch(y0 + h - 1, x0 + w - 1, ACS_LRCORNER);
	attrset(A_NORMAL);
	{
		char tt[200];
		int tw;

		snprintf(tt, sizeof(tt), " %s ", d->title);
		tw = ct_ui_width(tt);
		ct_put(y0, x0 + 2, tw < w - 4 ? tw : w - 4, da | A_BOLD, tt);
	}
	for (int i = 0; i < body_h; i++) {
		int k = d->scroll + i;

		if (k < nlines)
			ct_put(y0 + 2 + i, x0 + 2, w - 4, da, d->lines.v[k]);
	}
	if (nlines > body_h)
		ct_putf(y0 + h - 3 - extra, x0 + w - 24, 20, da | A_DIM, "%d-%d of %d, Up/Down",
			d->scroll + 1, d->scroll + body_h, nlines);
	if (extra) {
		ct_putf(y0 + h - 4, x0 + 2, w - 4, da | A_BOLD, "Type '%s' to enable %s: %s_",
			d->confirm_word, d->ok_label, d->typed);
	}
	{
		/* the buttons centred, in order: Cancel, OK, the second action */
		const char *labels[3] = { d->cancel_label[0] ? d->cancel_label : "Cancel", d->ok_label,
					  d->alt_label };
		char lab[3][64];
		int nb = n_buttons(d), total = 0, by = y0 + h - 2, bx;

		for (int i = 0; i < nb; i++) {
			snprintf(lab[i], sizeof(lab[i]), d->focus == i ? "[> %s <]" : "[  %s  ]", labels[i]);
			total += (int)strlen(lab[i]) + (i ? 4 : 0);
		}
		bx = x0 + (w - total) / 2;
		if (bx < x0 + 1)
			bx = x0 + 1;
		for (int i = 0; i < nb; i++) {
			int lw = (int)strlen(lab[i]);

			ct_put(by, bx, lw, d->focus == i ? t->attr[R_BUTTON_FOCUS] : t->attr[R_BUTTON], lab[i]);
			bx += lw + 4;
		}
	}
}

/* --- q while an action runs --- */

static void quit_cancel(struct ct_ui *ui, void *payload)
{
	(void)payload;
	if (ui->worker.running)
		atomic_store(&ui->worker.cancel, 1);
	ui->quit = true;   /* the loop's exit waits for the worker, which stops at once */
}

static void quit_after(struct ct_ui *ui)
{
	if (!ui->worker.running) {
		ui->quit = true;
		return;
	}
	ui->quit_after_worker = true;
	ct_status_msg(ui, MSG_INFO, "chaintop quits when %s has ended (q asks again)", ui->worker.what);
}

void ct_dialog_quit(struct ct_ui *ui)
{
	char prog[300];

	ct_worker_status_text(&ui->worker, prog, sizeof(prog));
	ct_dialog_open(ui, "Quit while an action runs?", "Cancel it and quit");
	ct_dialog_line(ui, "%s is still running:", ui->worker.what);
	ct_dialog_line(ui, "  %s", prog);
	ct_dialog_line(ui, "%s", "");
	ct_dialog_line(ui, "Cancel it and quit: it stops at once: a gate wait ends, a running snapshot or export task");
	ct_dialog_line(ui, "  is cancelled (task.cancel), a deletion stops before its next call and the rest is not");
	ct_dialog_line(ui, "  attempted. What it finished stays done; the run and what it did are in the job history");
	ct_dialog_line(ui, "  (chaintop report, the Jobs view next time).");
	ct_dialog_line(ui, "Quit when it ends: it runs to its end with the console open, then chaintop quits by");
	ct_dialog_line(ui, "  itself; q asks again meanwhile.");
	ct_dialog_line(ui, "Stay (Esc): nothing changes, it goes on.");
	ct_dialog_cancel_label(ui, "Stay");
	ct_dialog_action(ui, quit_cancel, NULL, NULL);
	ct_dialog_alt(ui, "Quit when it ends", quit_after);
}
