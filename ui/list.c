/* list.c - selection and scrolling of the list views (see list.h). */
#include <stdio.h>
#include <string.h>

#include "list.h"

void ct_list_clamp(struct ct_ui_list *l, int n, int h)
{
	if (h < 1)
		h = 1;
	if (l->sel >= n)
		l->sel = n - 1;
	if (l->sel < 0)
		l->sel = 0;
	if (l->top > l->sel)
		l->top = l->sel;
	if (l->sel >= l->top + h)
		l->top = l->sel - h + 1;
	if (l->top > n - h)
		l->top = n - h;
	if (l->top < 0)
		l->top = 0;
}

bool ct_list_move(struct ct_ui_list *l, enum ct_action a, int n, int page)
{
	if (page < 1)
		page = 1;
	switch (a) {
	case ACT_UP: l->sel--; break;
	case ACT_DOWN: l->sel++; break;
	case ACT_PGUP: l->sel -= page; l->top -= page; break;
	case ACT_PGDN: l->sel += page; l->top += page; break;
	case ACT_HOME: l->sel = 0; break;
	case ACT_END: l->sel = n - 1; break;
	default: return false;
	}
	if (l->sel >= n)
		l->sel = n - 1;
	if (l->sel < 0)
		l->sel = 0;
	return true;
}

bool ct_list_scroll(struct ct_ui_list *l, enum ct_action a, int n, int h)
{
	int page = h - 1 > 1 ? h - 1 : 1;

	switch (a) {
	case ACT_UP: l->top--; break;
	case ACT_DOWN: l->top++; break;
	case ACT_PGUP: l->top -= page; break;
	case ACT_PGDN: l->top += page; break;
	case ACT_HOME: l->top = 0; break;
	case ACT_END: l->top = n; break;
	default: return false;
	}
	if (l->top > n - h)
		l->top = n - h;
	if (l->top < 0)
		l->top = 0;
	l->sel = l->top;
	return true;
}

bool ct_list_side(struct ct_ui_list *l, enum ct_action a)
{
	if (a == ACT_RIGHT)
		l->xoff += CT_LIST_SIDE_STEP;
	else if (a == ACT_LEFT)
		l->xoff -= CT_LIST_SIDE_STEP;
	else
		return false;
	if (l->xoff < 0)
		l->xoff = 0;
	return true;
}

void ct_list_side_clamp(struct ct_ui_list *l, int longest, int avail)
{
	/* scrolled, the column's first cell marks the hidden start */
	int max = longest - (avail - 1);

	if (avail < 2 || longest <= avail || max < 0)
		max = 0;
	if (l->xoff > max)
		l->xoff = max;
	if (l->xoff < 0)
		l->xoff = 0;
}

const char *ct_list_side_hint(const struct ct_ui_list *l, int longest, int avail)
{
	if (l->xoff > 0)
		return longest - l->xoff > avail - 1 ? " (scrolled: < back, > on)" : " (scrolled: < back)";
	return longest > avail ? " (> scrolls)" : "";
}

void ct_list_remember(struct ct_ui_list *l, int n, ct_list_key_fn key, void *ctx)
{
	if (l->sel >= 0 && l->sel < n)
		key(ctx, l->sel, l->key, sizeof(l->key));
}

int ct_list_find(int n, const char *want, ct_list_key_fn key, void *ctx)
{
	char k[CT_LIST_KEY];

	if (!want || !want[0])
		return -1;
	for (int i = 0; i < n; i++) {
		key(ctx, i, k, sizeof(k));
		if (!strcmp(k, want))
			return i;
	}
	return -1;
}

bool ct_list_restore(struct ct_ui_list *l, int n, ct_list_key_fn key, void *ctx)
{
	int found = ct_list_find(n, l->key, key, ctx);

	if (found >= 0)
		l->sel = found;
	if (l->sel >= n)
		l->sel = n - 1;
	if (l->sel < 0)
		l->sel = 0;
	return found >= 0;
}

int ct_list_next_match(const struct ct_ui_list *l, int n, int dir, ct_list_match_fn match, void *ctx,
		       bool *wrapped)
{
	*wrapped = false;
	for (int k = 1; k <= n; k++) {
		int i = ((l->sel + dir * k) % n + n) % n;

		if (match(ctx, i)) {
			*wrapped = dir > 0 ? i <= l->sel : i >= l->sel;
			return i;
		}
	}
	return -1;
}
