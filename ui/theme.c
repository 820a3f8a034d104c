/* theme.c - colours, monochrome attributes and glyphs.
 *
 * Colour never carries meaning alone: every highlighted state also has an attribute that
 * reads in monochrome (bold, underline, reverse) and a marker character in the row. With
 * NO_COLOR, --no-color or a terminal without colours, only the attributes are used. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ui.h"

static bool g_utf8;   /* glyph mode for ct_put's ellipsis; set once by ct_theme_init */

struct role_def {
	short fg, bg;
	attr_t color_attr;   /* added to the colour pair */
	attr_t mono;         /* used without colours */
};

static const struct role_def roles[R_NROLES] = {
	[R_NORMAL] = { -1, -1, A_NORMAL, A_NORMAL },
	[R_HEADER] = { COLOR_WHITE, COLOR_BLUE, A_BOLD, A_REVERSE },
	[R_TITLE] = { COLOR_CYAN, -1, A_BOLD, A_BOLD | A_UNDERLINE },
	[R_SELECTED] = { COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE },
	[R_DIM] = { -1, -1, A_DIM, A_DIM },
	[R_GOOD] = { COLOR_GREEN, -1, A_NORMAL, A_NORMAL },
	[R_PENDING] = { COLOR_YELLOW, -1, A_NORMAL, A_BOLD },
	[R_STACKED] = { COLOR_MAGENTA, -1, A_BOLD, A_BOLD | A_UNDERLINE },
	[R_DEEP] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
	[R_GARBAGE] = { COLOR_CYAN, -1, A_NORMAL, A_UNDERLINE },
	[R_BROKEN] = { COLOR_RED, -1, A_BOLD, A_BOLD | A_UNDERLINE },
	[R_ORPHAN] = { COLOR_CYAN, -1, A_BOLD, A_UNDERLINE },
	[R_WARN] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
	[R_CRIT] = { COLOR_RED, -1, A_BOLD, A_BOLD | A_UNDERLINE },
	[R_INFO] = { COLOR_GREEN, -1, A_NORMAL, A_NORMAL },
	[R_BAR_USED] = { COLOR_CYAN, -1, A_NORMAL, A_NORMAL },
	[R_BAR_FREE] = { -1, -1, A_DIM, A_DIM },
	[R_STALE] = { -1, -1, A_DIM, A_DIM },
	[R_DIALOG] = { COLOR_WHITE, COLOR_BLUE, A_NORMAL, A_NORMAL },
	[R_BUTTON] = { COLOR_WHITE, COLOR_BLUE, A_NORMAL, A_NORMAL },
	[R_BUTTON_FOCUS] = { COLOR_BLACK, COLOR_WHITE, A_BOLD, A_REVERSE | A_BOLD },
	[R_TAGGED] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
};

void ct_theme_init(struct ct_theme *t, bool want_color, bool utf8)
{
	memset(t, 0, sizeof(*t));
	t->utf8 = utf8;
	g_utf8 = utf8;
	t->color = want_color && has_colors();
	if (t->color) {
		start_color();
		use_default_colors();
	}
	for (int i = 0; i < R_NROLES; i++) {
		if (t->color && COLOR_PAIRS > R_NROLES + 1) {
			init_pair((short)(i + 1), roles[i].fg, roles[i].bg);
			t->attr[i] = COLOR_PAIR(i + 1) | roles[i].color_attr;
		} else {
			t->attr[i] = roles[i].mono;
		}
	}
	if (t->color && COLOR_PAIRS <= R_NROLES + 1)
		t->color = false;
	if (utf8) {
		t->g_vline = "\xe2\x94\x82 ";        /* │  */
		t->g_tee = "\xe2\x94\x9c\xe2\x94\x80";   /* ├─ */
		t->g_last = "\xe2\x94\x94\xe2\x94\x80";  /* └─ */
		t->g_blank = "  ";
		t->g_open = "\xe2\x96\xbe";             /* ▾ */
		t->g_closed = "\xe2\x96\xb8";           /* ▸ */
		t->g_leaf = " ";
		t->g_bar_used = "\xe2\x96\x88";         /* █ */
		t->g_bar_free = "\xe2\x96\x91";         /* ░ */
	} else {
		t->g_vline = "| ";
		t->g_tee = "|-";
		t->g_last = "`-";
		t->g_blank = "  ";
		t->g_open = "-";
		t->g_closed = "+";
		t->g_leaf = " ";
		t->g_bar_used = "#";
		t->g_bar_free = ".";
	}
}

static enum ct_role state_role(int vstate)
{
	switch (vstate) {
	case CT_VS_PENDING: return R_PENDING;
	case CT_VS_STACKED: return R_STACKED;
	case CT_VS_DEEP: return R_DEEP;
	case CT_VS_GARBAGE: return R_GARBAGE;
	case CT_VS_BROKEN: return R_BROKEN;
	case CT_VS_ORPHAN: return R_ORPHAN;
	default: return R_NORMAL;
	}
}

attr_t ct_theme_state_attr(const struct ct_theme *t, int vstate, enum ct_severity sev)
{
	if (sev == CT_SEV_CRITICAL)
		return t->attr[R_CRIT];
	if (vstate > 0)
		return t->attr[state_role(vstate)];
	if (sev == CT_SEV_WARNING)
		return t->attr[R_WARN];
	if (sev == CT_SEV_UNKNOWN)
		return t->attr[R_DIM];
	return t->attr[R_NORMAL];
}

/* One ASCII character in front of each highlighted row, so states read in monochrome and
 * in a screen dump. */
char ct_theme_state_marker(int vstate, enum ct_severity sev)
{
	if (sev == CT_SEV_CRITICAL)
		return '!';
	switch (vstate) {
	case CT_VS_PENDING: return '~';
	case CT_VS_STACKED: return '=';
	case CT_VS_DEEP: return 'v';
	case CT_VS_GARBAGE: return 'x';
	case CT_VS_BROKEN: return '#';
	case CT_VS_ORPHAN: return '?';
	default: break;
	}
	if (sev == CT_SEV_WARNING)
		return '*';
	if (sev == CT_SEV_UNKNOWN)
		return '?';
	return ' ';
}

void ct_fill(int y, int x, int width, attr_t a)
{
	if (width <= 0)
		return;
	attrset(a);
	mvhline(y, x, ' ', width);
	attrset(A_NORMAL);
}

int ct_put_from(int y, int x, int width, attr_t a, const char *s, int skip)
{
	const char *rest;

	s = s ? s : "";
	if (skip <= 0 || width <= 1) {
		ct_put(y, x, width, a, s);
		return ct_ui_width(s);
	}
	/* a mark where the text goes on to the left, as the cut's ellipsis marks the right */
	rest = ct_ui_skip(s, skip);
	attrset(a);
	mvaddstr(y, x, g_utf8 ? "\xe2\x80\xa6" : "<");
	attrset(A_NORMAL);
	ct_put(y, x + 1, width - 1, a, rest);
	return ct_ui_width(s);
}

void ct_put(int y, int x, int width, attr_t a, const char *s)
{
	char buf[1024];
	int w;

	if (width <= 0)
		return;
	w = ct_ui_fit(s ? s : "", width, g_utf8, buf, sizeof(buf));
	attrset(a);
	mvaddstr(y, x, buf);
	if (w < width)
		mvhline(y, x + w, ' ', width - w);
	attrset(A_NORMAL);
}

void ct_putf(int y, int x, int width, attr_t a, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ct_put(y, x, width, a, buf);
}

void ct_fmt(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}
