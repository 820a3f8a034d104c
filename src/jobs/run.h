/* run.h - the run recorder shared by backup and prune: one run in the job history (its
 * items and steps, each committed as it ends), the job's lock file, cancellation, progress
 * text, and the notification once the run has ended.
 *
 * A history write that fails never stops the caller by itself: the recorder keeps the first
 * failure (broken, error) for the caller's policy (prune stops before its next item, backup
 * goes on) and tells on_error of each one (backup's warning line).
 *
 * Cancellation is an _Atomic flag that any thread (a signal handler too: atomic_int is lock
 * free here) sets non-zero. The run checks it between steps (ct_run_cancelled); a session
 * bound with ct_run_bind checks it inside its blocked calls, so nothing polls it from a
 * thread of its own.
 *
 * Threading: a struct ct_run is used by the thread that runs the job. */
#ifndef CT_RUN_H
#define CT_RUN_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"
#include "jobs/jobstore.h"
#include "lib/err.h"

struct ct_xapi;

struct ct_run {
	struct ct_jobstore *js;        /* the history (owned when ct_run_open opened it) */
	bool own_js;
	int64_t id;                    /* the run, once ct_run_begin recorded it; else 0 */
	atomic_int *cancel;            /* optional: non-zero stops the run */
	struct ct_xapi *x;             /* the session bound to cancel, or NULL */
	int lock_fd;                   /* the job's lock, -1 when none is held */
	bool broken;                   /* a history write failed */
	char error[1024];              /* the first such failure */
	void (*on_error)(void *ctx, const struct ct_err *e);   /* optional: each failure */
	void *ctx;
};

void ct_run_init(struct ct_run *r, atomic_int *cancel,
		 void (*on_error)(void *ctx, const struct ct_err *e), void *ctx);
/* js: an open history to use (borrowed), or NULL to open state_dir's own (created). */
int ct_run_open(struct ct_run *r, const char *state_dir, struct ct_jobstore *js, struct ct_err *e);
/* Releases the lock, unbinds the session (so it may log out), closes an owned history. */
void ct_run_close(struct ct_run *r);

/* in made safe for a file name: no '/', no control characters, no leading dot. */
void ct_run_file_name(const char *in, char *out, size_t len);
/* The lock file of a job of a kind ("<state_dir>/<kind>-<job>.lock", the job's name made
 * safe for a file name); owned. */
char *ct_run_lock_path(const char *state_dir, const char *kind, const char *job);
/* Takes that lock (flock, held until ct_run_close) and writes pid, host and start time in it;
 * when another process holds it, e names that process and says two runs never overlap. */
int ct_run_lock(struct ct_run *r, const char *state_dir, const char *kind, const char *job,
		struct ct_err *e);

/* Cancellation. */
bool ct_run_cancelled(const struct ct_run *r);
/* From now on, the flag also stops x's blocked calls (ct_xapi_cancel_with). */
void ct_run_bind(struct ct_run *r, struct ct_xapi *x);
/* The run's own last calls (destroying its task) go through the bound session even after a
 * cancel, but each ends within CT_RUN_LAST_CALLS_MS: a stalled server does not hold a stopped
 * run, and what the calls could not do stays recorded for the next run. */
#define CT_RUN_LAST_CALLS_MS 3000
void ct_run_last_calls(struct ct_run *r);

/* History. kind "backup" or "prune". Returns the run id or -1 (e says why; nothing recorded). */
int64_t ct_run_begin(struct ct_run *r, const char *kind, const char *job, const char *pool,
		     bool dry_run, struct ct_err *e);
/* The item's id, or 0 when it could not be recorded (or no run was begun). */
int64_t ct_run_item_begin(struct ct_run *r, const char *uuid, const char *name);
void ct_run_item_end(struct ct_run *r, int64_t item, const struct ct_item_result *res);
/* The step's id, or 0 when it could not be recorded (item 0: nothing is). */
int64_t ct_run_step_begin(struct ct_run *r, int64_t item, const char *name);
void ct_run_step_end(struct ct_run *r, int64_t step, enum ct_run_status st, const char *detail);
void ct_run_step_endf(struct ct_run *r, int64_t step, enum ct_run_status st, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void ct_run_end(struct ct_run *r, enum ct_run_status st, const char *summary);

/* After ct_run_end: hands the run to n (see notify.h): its report (ct_run_rec_json, items
 * included) and a one-line summary. What n could not do is added to the run's summary in the
 * history and returned in note (sentence, "" when all went well or nothing was due). */
struct ct_notify_conf;
void ct_run_notify(struct ct_run *r, const struct ct_notify_conf *n, char *note, size_t note_len);

/* A message for the progress callbacks: formatted, then sanitised (terminal-safe). */
void ct_run_vtext(char *out, size_t len, const char *fmt, va_list ap);

/* A run of the history as the JSON document `chaintop report RUN --json` prints: the run's
 * fields, with detail its items and their steps. New reference. */
json_t *ct_run_rec_json(const struct ct_run_rec *r, bool detail);

#endif
