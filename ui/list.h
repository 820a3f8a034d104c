/* list.h - the state of one scrolling list (selection, first row on screen, and the
 * identity of the selected object), shared by every list view. Plain data: no curses, no
 * console state, so any view can use it and it calls nothing above it.
 *
 * Lists are rebuilt on every model change and a filter can shrink them under the
 * selection, so the selection is kept by identity (key), never by index alone: a view
 * remembers the key of what is selected after each move and finds it again after each
 * rebuild (the stale-index crashes of issue 12 came from indexing a new list with an old
 * position). */
#ifndef CT_UI_LIST_H
#define CT_UI_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "actions.h"

#define CT_LIST_KEY 640

struct ct_ui_list {
	int sel, top;
	int xoff;                /* columns the last (text) column is scrolled sideways */
	char key[CT_LIST_KEY];   /* the selected object's identity; empty: none yet */
};

/* Columns one > or < scrolls sideways (htop's horizontal step). */
#define CT_LIST_SIDE_STEP 20

/* The identity of entry i of a view's list (written into buf). */
typedef void (*ct_list_key_fn)(void *ctx, int i, char *buf, size_t len);

/* Whether entry i of a view's list matches its filter (n and N go from match to match). */
typedef bool (*ct_list_match_fn)(void *ctx, int i);

/* Keep sel within [0, n) and the selection inside the h rows on screen. */
void ct_list_clamp(struct ct_ui_list *l, int n, int h);
/* Move the selection by a movement action (page rows for PgUp/PgDn); returns false (and
 * changes nothing) for any other action. */
bool ct_list_move(struct ct_ui_list *l, enum ct_action a, int n, int page);
/* Scroll a text of n lines by its top line, h lines on screen (sel follows top); false
 * for an action that is no movement. */
bool ct_list_scroll(struct ct_ui_list *l, enum ct_action a, int n, int h);
/* Scroll the text column sideways by a scroll-right/scroll-left action; false for any
 * other action. */
bool ct_list_side(struct ct_ui_list *l, enum ct_action a);
/* Bound the sideways scroll: the longest text on screen takes `longest` columns and its
 * column shows `avail`; nothing to scroll puts it back at the start. */
void ct_list_side_clamp(struct ct_ui_list *l, int longest, int avail);
/* What the text column's title adds: "" when everything fits, else how to scroll it. */
const char *ct_list_side_hint(const struct ct_ui_list *l, int longest, int avail);
/* Record the identity of the selected entry (nothing when the list is empty). */
void ct_list_remember(struct ct_ui_list *l, int n, ct_list_key_fn key, void *ctx);
/* The index of the entry whose identity is want (an empty want matches nothing), or -1. */
int ct_list_find(int n, const char *want, ct_list_key_fn key, void *ctx);
/* After a rebuild: select the remembered object if it is still there (returns true), else
 * keep the position, clamped to the new length. */
bool ct_list_restore(struct ct_ui_list *l, int n, ct_list_key_fn key, void *ctx);
/* The entry n (dir 1) or N (dir -1) selects: the next or previous one match accepts from
 * the selection, wrapping around (*wrapped then says so); -1 when none matches. */
int ct_list_next_match(const struct ct_ui_list *l, int n, int dir, ct_list_match_fn match, void *ctx,
		       bool *wrapped);

#endif
