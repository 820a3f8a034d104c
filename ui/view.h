/* view.h - what every console view supplies (as htop's PanelClass, tig's view_ops): the
 * loop in app.c draws, refreshes and feeds keys to the current view through these and
 * knows nothing else of it. A view calls down (list, dialog, status, theme, rows, pager),
 * never up into app.c: what needs more than one view (the tree's selection for b and S,
 * Health's jump into the tree) goes through the selection or a request app.c reads. */
#ifndef CT_UI_VIEW_H
#define CT_UI_VIEW_H

#include <stdbool.h>

#include "actions.h"

struct ct_ui;
struct ct_row;
struct ct_ui_list;

/* What the keys of a view act on. */
struct ct_ui_sel {
	int pool;                    /* the pool of the selected object, -1 none */
	const struct ct_row *row;    /* the tree's row (valid until the next refresh), or NULL */
};

struct ct_view_ops {
	const char *title;           /* tab label; NULL for the overlays (help, messages, pager) */
	int bit;                     /* VW_* of the action table; 0 for the overlays */
	/* the body: h rows from line top */
	void (*draw)(struct ct_ui *ui, int top, int h);
	/* an action the loop did not take itself (movement, the view's own keys) */
	void (*key)(struct ct_ui *ui, enum ct_action a);
	/* models (data = true) or the filter, grouping, open rows or pools shown changed */
	void (*update)(struct ct_ui *ui, bool data);
	/* the view became the current one (NULL: nothing to do) */
	void (*shown)(struct ct_ui *ui);
	/* what is selected (NULL: nothing the loop needs to know) */
	void (*selection)(struct ct_ui *ui, struct ct_ui_sel *out);
	/* the view's list state (NULL: none), for what the loop does to any list */
	struct ct_ui_list *(*list)(struct ct_ui *ui);
};

extern const struct ct_view_ops ct_tree_view;       /* tree.c */
extern const struct ct_view_ops ct_health_view;     /* health.c */
extern const struct ct_view_ops ct_snap_view;       /* snapshots.c */
extern const struct ct_view_ops ct_jobs_view;       /* jobs.c */
extern const struct ct_view_ops ct_help_view;       /* help.c */
extern const struct ct_view_ops ct_messages_view;   /* messages.c */
extern const struct ct_view_ops ct_pager_view;      /* detail.c: a report or a text in full */

#endif
