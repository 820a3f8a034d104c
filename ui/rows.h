/* rows.h - display rows for the console, built from a pool's model and its chain report.
 *
 * Curses-free on purpose: everything here is plain data and string work, so the layout
 * decisions (what rows exist, their identity, order, tree shape, filtering) do not depend
 * on the screen. The caller holds the model lock while building; every string in a row is
 * a sanitised copy, so rows stay valid after the lock is released. */
#ifndef CT_UI_ROWS_H
#define CT_UI_ROWS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "engine/chain.h"
#include "config/config.h"
#include "model/model.h"

enum ct_row_kind {
	CT_ROW_POOL,
	CT_ROW_SR,
	CT_ROW_VDI,      /* a disk, base copy or snapshot disk */
	CT_ROW_VM,       /* VM grouping only */
	CT_ROW_NOTE      /* "loading...", "no data" */
};

enum ct_vdi_role { CT_ROLE_NONE, CT_ROLE_BASE, CT_ROLE_DISK, CT_ROLE_SNAPSHOT, CT_ROLE_OTHER };

#define CT_ROW_KEY 112
#define CT_ROW_LEVELS 24   /* deeper rows are drawn at this indentation */

struct ct_row {
	enum ct_row_kind kind;
	enum ct_vdi_role role;
	int pool;                  /* index in the console's pool list */
	int level;                 /* 0 pool, 1 SR or VM, ... */
	char key[CT_ROW_KEY];      /* identity kept across rebuilds: "p:NAME", "s:UUID", ... */
	char parent_key[CT_ROW_KEY];
	bool has_children;
	bool default_open;         /* expanded unless the operator toggled it */
	char name[192];            /* sanitised display name, not cut */
	int depth;                 /* chain depth, 0 = none (formatted when drawn) */
	int64_t size;              /* bytes, -1 = none (formatted when drawn) */
	char state[16];            /* "ok", "PENDING", ... */
	char info[224];            /* sanitised secondary text */
	char sr_type[16];          /* SR rows */
	double used;               /* SR rows: used fraction 0..1, -1 none */
	int vstate;                /* enum ct_vdi_state, -1 for rows without one */
	enum ct_severity sev;
	bool problem;              /* highlighted: a state other than ok or a severity */
	bool stale;                /* the pool's data is from before a connection loss */
	bool refused;              /* VM rows: the gate would refuse */
	enum ct_class cls;         /* object the row stands for */
	char uuid[40];
	char ref[80];
	char vm_uuid[40];          /* VM using the disk (live disks, VM rows) */
	char vm_ref[80];
	char vm_name[96];
};

struct ct_rows {
	struct ct_row *v;
	int n, cap;
};
void ct_rows_release(struct ct_rows *r);
struct ct_row *ct_rows_add(struct ct_rows *r);   /* zeroed row appended; pointer valid until the next add */

/* Per-pool status the header and pool row show. */
struct ct_pool_view {
	const char *name;          /* borrowed from the configuration */
	int state;                 /* enum ct_pool_state */
	int retries;
	bool loaded, stale, read_only;
	time_t last_event, last_contact;
	char error[1100];          /* sanitised */
	/* a call whose reply is overdue (the heartbeat), and since when; the watcher gives up
	 * on it at give_up */
	bool unresponsive;
	time_t waiting_since, give_up;
	int due_s;                 /* the reply was due this long after the call */
	char waiting_for[40];
	bool held;                 /* waits for the operator: a retry cannot fix the failure */
	int n_crit, n_warn, n_unknown;
};

/* Append the rows of one pool. by_vm selects the VM grouping (pool > VM > disk > chain).
 * The model lock is held by the caller; report is the evaluation of that model. */
void ct_rows_build_pool(struct ct_rows *out, int pool_index, const struct ct_pool_view *pv,
			struct ct_model *m, const struct ct_chain_report *rep, bool by_vm,
			bool utf8, time_t now);

/* The pool row's INFO text (its state, and the age of the data when stale): also redone
 * every second so the age counts. */
void ct_rows_pool_info(struct ct_row *r, const struct ct_pool_view *pv, time_t now);

/* Visible rows after collapse, filter and "problems only": indexes into rows (an array of
 * row pointers, the pools' rows one after the other), with the tree
 * prefix codes of each: per level one of '|' (line continues), ' ' (blank), then 't' (tee)
 * or 'l' (last child) for the row's own level. */
struct ct_vis {
	int *idx;
	char (*tree)[CT_ROW_LEVELS + 1];
	int n, cap;
};
void ct_vis_release(struct ct_vis *v);
/* toggled: keys whose open/closed state differs from the row's default. A non-empty filter
 * (case-insensitive substring of the name, info or uuid) and problems_only keep matching
 * rows and their ancestors, and show matches inside collapsed rows. */
void ct_vis_build(struct ct_vis *out, struct ct_row *const *rows, int n,
		  const struct ct_strset *toggled, const char *filter, bool problems_only);
bool ct_row_is_open(const struct ct_row *r, const struct ct_strset *toggled);
/* Orders of the tree's siblings (the pools keep their configured order). */
enum ct_tree_sort {
	CT_TSORT_CHAIN,     /* the engine's order, as `chaintop tree` prints it */
	CT_TSORT_DEPTH,     /* deepest chain first (the subtree's deepest row) */
	CT_TSORT_PENDING,   /* most rows waiting for the GC first (PENDING in the subtree) */
	CT_TSORT_SIZE,      /* largest first (the row's own size on disk) */
	CT_TSORT_NAME,      /* by name, case-insensitive */
	CT_TSORT_COUNT
};
const char *ct_tree_sort_name(enum ct_tree_sort s);
/* Reorder rows (one or more pools, each in preorder) so that at every level below the pools
 * the siblings follow s, each moving with its whole subtree; ties keep their order. */
void ct_rows_sort(struct ct_row **rows, int n, enum ct_tree_sort s);

/* needle is in hay, case-insensitively for all of Unicode (towlower over wide characters,
 * in the locale's encoding); an empty needle matches everything. */
bool ct_text_match(const char *hay, const char *needle);
/* The filter matches the row itself (name, uuid, info or VM), not only one of its children. */
bool ct_row_matches(const struct ct_row *r, const char *filter);

/* Detail pane text for the object behind row r (lines owned by out). Model lock held. */
void ct_rows_detail(struct ct_strset *out, const struct ct_row *r, const struct ct_pool_view *pv,
		    struct ct_model *m, const struct ct_chain_report *rep, time_t now);

/* Copy src into out (size outlen) cut to at most `width` terminal columns; a cut string
 * ends with the ellipsis ("…" or "..."). Returns the columns used. */
int ct_ui_fit(const char *src, int width, bool utf8, char *out, size_t outlen);
/* Append s to out cut into lines of at most `width` columns at spaces (a word longer
 * than the width is cut hard); continuation lines start with `indent`. */
void ct_ui_wrap(struct ct_strset *out, const char *s, int width, const char *indent);
/* The rest of s after its first `cols` terminal columns (a text scrolled sideways). */
const char *ct_ui_skip(const char *s, int cols);
/* Terminal columns a UTF-8 string takes. */
int ct_ui_width(const char *s);

/* "3s", "5m", "2d" ago for the header and ages. */
void ct_ui_age(time_t then, time_t now, char *buf, size_t len);

#endif
