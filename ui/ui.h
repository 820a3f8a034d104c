/* ui.h - the console's internal state, shared by the ui/ files (not by src/).
 *
 * One thread (the UI thread) owns everything here except struct ct_ui_worker's shared
 * part, which a worker thread fills under its mutex. The UI reads a pool's model only
 * under that model's lock, copies what it shows into rows, and draws after unlocking.
 *
 * Who calls whom (no circle): app.c (the loop) wires the views of view.h together and
 * calls into everything; the views (tree, health, snapshots, jobs, help, messages, pager)
 * and their actions (backup, scan, trust, keepup) call only down, into pools.c, dialog.c,
 * worker.c, detail.c's pager, status.c, list.c, theme.c and rows.c, never up into app.c:
 * a view asks the loop for something through its selection or a request field
 * (jump_key). */
#ifndef CT_UI_UI_H
#define CT_UI_UI_H

#include <curses.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "actions.h"
#include "engine/chain.h"
#include "cli/cli.h"
#include "config/config.h"
#include "jobs/jobstore.h"
#include "list.h"
#include "rows.h"
#include "view.h"
#include "watch/watch.h"

enum ct_ui_view { UI_TREE, UI_HEALTH, UI_SNAP, UI_JOBS, UI_NVIEWS };

enum ct_ui_overlay { OV_NONE, OV_HELP, OV_MESSAGES, OV_REPORT };

enum ct_ui_input { IN_NONE, IN_FILTER, IN_COMMAND };

enum ct_msg_level { MSG_INFO, MSG_WARN, MSG_ERROR };

/* Theme roles: each has a colour pair and a monochrome attribute. */
enum ct_role {
	R_NORMAL,
	R_HEADER,
	R_TITLE,
	R_SELECTED,
	R_DIM,
	R_GOOD,
	R_PENDING,
	R_STACKED,
	R_DEEP,
	R_GARBAGE,
	R_BROKEN,
	R_ORPHAN,
	R_WARN,
	R_CRIT,
	R_INFO,
	R_BAR_USED,
	R_BAR_FREE,
	R_STALE,
	R_DIALOG,
	R_BUTTON,
	R_BUTTON_FOCUS,
	R_TAGGED,
	R_NROLES
};

struct ct_theme {
	bool color;
	bool utf8;
	attr_t attr[R_NROLES];
	/* glyphs */
	const char *g_vline, *g_tee, *g_last, *g_blank, *g_open, *g_closed, *g_leaf;
	const char *g_bar_used, *g_bar_free;
};

struct ct_ui_problem {
	int pool;
	enum ct_severity sev;
	enum ct_class cls;
	enum ct_problem_kind kind;           /* the engine's kind (pool_down for a down pool) */
	char uuid[40];
	char ref[80];
	char reason[480];                    /* the engine's sentence, without "of pool 'NAME'"
					      * (the POOL column says it) */
	char lead[96];                       /* what is wrong, first: "27 VHDs deep (limit 25)" */
	/* the SR the problem is about or caused by (-1 none), for grouping one cause */
	int sr_index;
	char sr_name[96];
	double sr_free_percent;
	bool sr_full;                        /* below its critical free space, or GC out of space */
	bool space;                          /* VM rows: refused for the SR's free space */
	bool deep;                           /* VDI rows: too deep; VM rows: refused for depth */
	char vm_uuid[40];                    /* VDI rows: the VM using the disk */
	/* a pool that cannot be reached (cls CT_POOL, the watcher's state) */
	bool pool_down;
	bool held, unresponsive;             /* waits for the operator / not answering */
	time_t waiting_since;
	int head_len;                        /* reason[0..head_len): what is wrong; then the error */
	time_t next_retry, last_contact;
	/* Health rows only (health.c): a group of one cause and its members */
	int group;                           /* -1 none; else index into ui->hgroups */
	int n_members;                       /* group rows: members */
	bool member;                         /* drawn indented under its group row */
	bool dup;                            /* the same fact as another row: not shown */
	time_t first_seen;                   /* when this console first saw it (a group: its oldest) */
};

/* Orders of the Health view (s). */
enum ct_health_sort {
	CT_HSORT_SEVERITY,   /* most severe first, then pool, then reason */
	CT_HSORT_POOL,       /* by pool name, then severity */
	CT_HSORT_AGE,        /* first seen by this console, oldest first */
	CT_HSORT_COUNT
};
const char *ct_health_sort_name(enum ct_health_sort s);

struct ct_ui_pool {
	struct ct_watch *w;                  /* borrowed from the watchset */
	struct ct_pool_view pv;
	struct ct_rows rows;
	uint64_t built_gen;
	bool built, built_by_vm;
	time_t built_at;
	long built_sig;                      /* pool state the rows were built with */
	struct ct_stall stall;
	/* the report the rows were built from, kept for the detail pane while the model is
	 * at rep_gen (its verdicts point into the model) */
	struct ct_chain_report rep;
	bool have_rep;
	uint64_t rep_gen;
	struct ct_ui_problem *problems;
	int n_problems;
	bool read_only;                      /* per-pool read_only or --read-only */
	bool hidden;                         /* :pool NAME shows one pool */
	char posted_err[1100];               /* the last connection error put in the messages */
	bool posted_unresp;
	bool trust_asked;                    /* the certificate dialog was shown for this error */
	int trust_retries;                   /* at that failure count */
	bool have_cert;                      /* cert: the last TLS failure's certificate */
	struct ct_xapi_cert cert;
	/* the bell (ui.bell): the CRITICAL problems at the last build, and whether the pool
	 * was down; primed once loaded, so what was wrong at start-up does not ring */
	struct ct_strset crit_seen;
	bool was_down, bell_primed;
};

struct ct_ui_msg {
	time_t t;
	enum ct_msg_level level;
	char text[1280];                     /* connection errors are kept whole */
};

struct ct_ui_status {
	struct ct_ui_msg *ring;
	int cap, n, head;                    /* head = index of the oldest */
	bool shown;                          /* the newest message is on the status line */
};

struct ct_ui;

/* A modal dialog: text lines, Cancel (focus first) and an OK button, optional typed word.
 * OK calls on_confirm with the payload, which it then owns (the dialog is closed first). */
struct ct_ui_dialog {
	bool open;
	char title[160];
	struct ct_strset lines;
	char ok_label[48];
	bool ok_enabled;                     /* false: only Cancel (e.g. nothing to do) */
	int focus;                           /* 0 Cancel, 1 OK, 2 the second action */
	char confirm_word[48];               /* typed confirmation when not empty */
	char typed[64];
	bool yes_key;                        /* y confirms (a [y/N] question) */
	int scroll;
	void (*on_confirm)(struct ct_ui *ui, void *payload);
	void *payload;                       /* what OK runs; freed by payload_free if not run */
	void (*payload_free)(void *);
	char cancel_label[48];               /* "" = "Cancel" */
	char alt_label[48];                  /* a second action ("" = none), after OK */
	void (*on_alt)(struct ct_ui *ui);
};

/* A background action (backup, prune). The shared part is under `lock`. */
struct ct_ui_worker {
	pthread_t thread;
	bool running;                        /* UI thread's view: a thread exists to join */
	pthread_mutex_t lock;
	char progress[256];                  /* shared */
	bool finished;                       /* shared: the thread has ended its work */
	enum ct_msg_level result_level;      /* shared */
	char result[480];                    /* shared */
	int64_t run_id;                      /* shared */
	int wake_fd;                         /* write end of the UI's self-pipe */
	atomic_int cancel;                   /* set by the UI to stop the action (quit) */
	void (*fn)(struct ct_ui_worker *w, void *arg);
	void *arg;
	void (*arg_free)(void *);
	char what[320];
	int64_t started_ms;
};
void ct_ui_worker_progress(struct ct_ui_worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ct_ui_worker_finish(struct ct_ui_worker *w, enum ct_msg_level lvl, int64_t run_id,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

struct ct_ui_snap;    /* snapshots.c */
struct ct_ui_jobs;    /* jobs.c */

struct ct_ui {
	struct ct_cli *cli;
	struct ct_config *cfg;
	struct ct_watchset *ws;
	struct ct_theme theme;
	struct ct_ui_pool *pools;
	int n_pools;
	bool read_only;                      /* --read-only */
	bool quit;
	bool quit_after_worker;              /* q chose to quit once the running action ends */
	int self_pipe[2];

	enum ct_ui_view view;
	enum ct_ui_overlay overlay;
	enum ct_ui_input input;
	char input_buf[256];
	char filter[128];                    /* the current view's filter (each view has its own) */
	char view_filter[UI_NVIEWS][128];    /* each view's filter while ui->filter is another's */
	enum ct_ui_view filter_view;         /* the view ui->filter belongs to */
	enum ct_tree_sort tree_sort;         /* s in the tree */
	bool bell_pending;                   /* ring once at the next frame (ct_ui_bell) */
	bool problems_only, by_vm, show_detail;
	struct ct_strset toggled;            /* row keys whose open state was toggled */

	/* tree view */
	struct ct_row **all;                 /* rows of the pools shown, pool after pool */
	int n_all, cap_all;
	struct ct_vis vis;
	int tree_name_w;                     /* columns of the longest visible NAME cell */
	struct ct_ui_list tree;
	char sel_parent_key[CT_ROW_KEY];     /* the selected row's parent (tree.key: the row) */
	int sel_screen;                      /* selected row's line within the body, kept on updates */
	struct ct_strset detail;
	char detail_key[CT_ROW_KEY];
	int detail_pool;

	/* health view */
	struct ct_ui_problem **health;       /* pointers into pools[].problems and hgroups, sorted */
	int n_health;
	int n_health_all;                    /* problems of the pools shown, before the filter */
	struct ct_ui_problem *hgroups;       /* group rows (one cause, several problems) */
	int n_hgroups;
	struct ct_strset hopen;              /* keys of the groups the operator opened */
	struct ct_ui_list hl;
	enum ct_health_sort health_sort;     /* s in Health */
	/* when each problem (kind + object) was first seen, sorted by key, kept across
	 * rebuilds while the problem lasts (health.c owns it) */
	struct ct_health_seen *hseen;
	int n_hseen;
	/* Enter on a problem: the tree row to select (app.c does it), and whether the tree
	 * must leave the VM grouping for it first */
	char jump_key[CT_ROW_KEY];
	bool jump_by_sr;

	struct ct_ui_snap *snap;
	struct ct_ui_jobs *jobs;

	/* overlays */
	struct ct_ui_list ov;
	struct ct_strset report;             /* OV_REPORT lines */
	char report_title[160];

	struct ct_ui_dialog dlg;
	struct ct_ui_status status;
	struct ct_ui_worker worker;
	struct ct_jobstore *js;              /* opened lazily, NULL if unavailable */
	char js_error[1024];

	/* frame control */
	bool dirty_data;                     /* models changed: rebuild rows */
	bool dirty_view;                     /* filter, grouping, expansion changed */
	bool need_frame;
	bool too_small;
	int64_t last_frame_ms;
	int64_t last_tick_ms;
	uint64_t frames, ticks;
	char last_header[1024];
	int body_top, body_h;                /* rows of the current view's body */
};


/* theme.c */
void ct_theme_init(struct ct_theme *t, bool want_color, bool utf8);
attr_t ct_theme_state_attr(const struct ct_theme *t, int vstate, enum ct_severity sev);
char ct_theme_state_marker(int vstate, enum ct_severity sev);
void ct_put(int y, int x, int width, attr_t a, const char *s);  /* cut, padded */
/* ct_put of s scrolled `skip` columns sideways (a mark shows the hidden start); returns the
 * columns s takes in all, so the caller can bound the scroll. */
int ct_put_from(int y, int x, int width, attr_t a, const char *s, int skip);
void ct_putf(int y, int x, int width, attr_t a, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void ct_fill(int y, int x, int width, attr_t a);
/* snprintf for display text that may be cut on purpose. */
void ct_fmt(char *dst, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* status.c */
const char *ct_msg_level_name(enum ct_msg_level l);
void ct_status_init(struct ct_ui_status *s);
void ct_status_release(struct ct_ui_status *s);
/* I: the incident summary of the pools shown, to a new file (incident.c). */
void ct_incident_key(struct ct_ui *ui);
/* A transition worth the operator's ear (a new CRITICAL, a pool going down, a failed run):
 * one bell at the next frame however many came together, unless ui.bell = false. */
void ct_ui_bell(struct ct_ui *ui);
void ct_status_msg(struct ct_ui *ui, enum ct_msg_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Free what the Health view keeps across rebuilds (the first-seen table). */
void ct_health_release(struct ct_ui *ui);
/* n (dir 1) or N (-1) in a list view: select the next or previous entry match accepts,
 * wrapping around, and say in the status line when it wrapped, when nothing matches or when
 * there is no filter. True when the selection moved (the view then clamps and remembers it). */
bool ct_ui_next_match(struct ct_ui *ui, struct ct_ui_list *l, int n, int dir, ct_list_match_fn match,
		      void *ctx);
/* the status line: the prompt, else the running action's progress (prog), else the newest
 * message */
void ct_status_draw(struct ct_ui *ui, int y, const char *prog);
/* message k of the history, 0 = newest; NULL past the end */
const struct ct_ui_msg *ct_status_at(const struct ct_ui_status *s, int k);
attr_t ct_msg_level_attr(const struct ct_ui *ui, enum ct_msg_level l);

/* help.c (the view is ct_help_view): the key-hint line, the current view's keys unless a
 * fixed text is given (dialogs, overlays) */
void ct_hints_draw(struct ct_ui *ui, int y, const char *fixed);

/* trust.c: the first-contact certificate dialog (the loop checks after each rebuild) */
void ct_trust_check(struct ct_ui *ui);

/* dialog.c: open, add lines, then ct_dialog_action says what OK runs */
void ct_dialog_open(struct ct_ui *ui, const char *title, const char *ok_label);
void ct_dialog_line(struct ct_ui *ui, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ct_dialog_action(struct ct_ui *ui, void (*on_confirm)(struct ct_ui *ui, void *payload),
		      void *payload, void (*payload_free)(void *));
void ct_dialog_close(struct ct_ui *ui);
/* A third button (after OK) that runs fn, and another label for Cancel. */
void ct_dialog_alt(struct ct_ui *ui, const char *label, void (*fn)(struct ct_ui *ui));
void ct_dialog_cancel_label(struct ct_ui *ui, const char *label);
/* q while the worker runs a backup or a deletion: cancel it and quit, quit once it has
 * ended, or stay. */
void ct_dialog_quit(struct ct_ui *ui);
bool ct_dialog_active(const struct ct_ui *ui);
/* A key for the open dialog: moves focus, cancels, or confirms (closes it, then runs
 * on_confirm). */
void ct_dialog_key(struct ct_ui *ui, int ch);
void ct_dialog_draw(struct ct_ui *ui);

/* pools.c */
void ct_pool_status(struct ct_ui_pool *p);          /* the watcher's state into p->pv */
bool ct_pool_down(const struct ct_pool_view *pv);   /* cannot be reached: a problem row */
bool ct_pools_rebuild(struct ct_ui *ui);            /* true when some pool's rows changed */

/* header.c */
/* the header's text; true when it is the compact summary */
bool ct_header_text(struct ct_ui *ui, char *buf, size_t len, time_t now);
void ct_header_draw(struct ct_ui *ui, time_t now);
void ct_tabs_draw(struct ct_ui *ui, int y, const struct ct_view_ops *const *views, int n);

/* tree.c (the view is ct_tree_view) */
struct ct_row *ct_tree_selected(struct ct_ui *ui);
const struct ct_row *ct_tree_find_row(const struct ct_rows *rows, const char *key);
bool ct_tree_select_key(struct ct_ui *ui, const char *key);
/* the detail pane is shown and needs the selected row's detail */
bool ct_tree_needs_detail(const struct ct_ui *ui);
/* the detail pane's lines for row r of pool p (the model lock held) */
void ct_tree_detail_from(struct ct_ui *ui, struct ct_ui_pool *p, struct ct_model *m,
			 const struct ct_chain_report *rep, const struct ct_row *r, time_t now);

/* detail.c */
void ct_detail_draw(struct ct_ui *ui, int y, int x, int h, int w);
/* Show lines (copied, wrapped to the screen) in the scrolling pager overlay. */
void ct_pager_open(struct ct_ui *ui, const char *title, const struct ct_strset *lines);

/* jobs.c */
void ct_jobs_init(struct ct_ui *ui);
void ct_jobs_release(struct ct_ui *ui);
void ct_jobs_reload(struct ct_ui *ui);
struct ct_jobstore *ct_ui_jobstore(struct ct_ui *ui);

/* snapshots.c */
void ct_snap_init(struct ct_ui *ui);
void ct_snap_release(struct ct_ui *ui);

/* backup.c: b on a tree row (a VM or one of its disks) */
void ct_backup_start_dialog(struct ct_ui *ui, const struct ct_row *r);

/* worker.c */
void ct_worker_init(struct ct_ui_worker *w, int wake_fd);
bool ct_worker_busy(struct ct_ui_worker *w);
int ct_worker_start(struct ct_ui *ui, const char *what, void (*fn)(struct ct_ui_worker *, void *),
		    void *arg, void (*arg_free)(void *));
/* Called by the UI loop on a wake: collects a finished worker (join, status message);
 * returns true when an action ended (its run is then in the job history). */
bool ct_worker_poll(struct ct_ui *ui);
void ct_worker_release(struct ct_ui_worker *w);
void ct_worker_status_text(struct ct_ui_worker *w, char *buf, size_t len);

/* scan.c: S on an SR row (SR.scan after a dialog) */
void ct_scan_start_dialog(struct ct_ui *ui, const struct ct_row *r);

/* keepup.c: the SR detail's "can this SR keep up?" lines, inserted into detail */
void ct_ui_keepup_detail(struct ct_ui *ui, struct ct_ui_pool *p, struct ct_model *m,
			 const struct ct_chain_report *rep, const char *sr_ref,
			 struct ct_strset *detail);
void ct_ui_keepup_release(void);

/* Whether actions that change pool `pool` (-1: no pool in particular) are off, and why. */
static inline bool ct_ui_pool_read_only(const struct ct_ui *ui, int pool, const char **why)
{
	if (ui->read_only) {
		if (why)
			*why = "chaintop was started with --read-only";
		return true;
	}
	if (pool >= 0 && pool < ui->n_pools && ui->pools[pool].read_only) {
		if (why)
			*why = "the pool is configured with read_only = true";
		return true;
	}
	return false;
}

#endif
