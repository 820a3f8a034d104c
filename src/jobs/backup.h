/* backup.h - gated backups: the one entry point used by `chaintop backup` and the console.
 *
 * A run selects VMs of one pool (a configured job, or an ad hoc list of selectors), and for
 * each VM in turn: gate (chain engine, the job's gate) -> snapshot (Async.VM.snapshot,
 * task followed to its end) -> tag (other_config chaintop:job/vm/time/run on the snapshot VM
 * and its VDIs) -> optional export (GET /export into <export_dir>/<vm>-<uuid>/<time>.xva) ->
 * retention (this job's snapshots by tag, newest `retention` kept). Every run, VM and step
 * is recorded in the jobstore as it ends. A lock file in the state directory keeps two runs
 * of the same job from overlapping.
 *
 * Threading: ct_backup_run blocks; call it on a worker thread from the console. It makes its
 * own XAPI session (ct_watch_new_session) and opens its own jobstore handle. Progress goes
 * through the callback, called on the calling thread (never with a model lock held); the
 * strings in struct ct_backup_progress are borrowed for the duration of the call and are
 * already sanitised.
 *
 * What the console must do:
 *  - pass its configuration (cfg; the pool's password resolved), the pool name and the VM
 *    uuid as the one selector (job = NULL, job_name NULL: the run is recorded as job "adhoc");
 *  - pass `shared` = its own watcher of that pool so the gate is judged on the console's
 *    live model and the pool is not loaded twice. The backup then takes shared->model.lock
 *    only for the time it judges or reads, and watches changes for `wait` with its own
 *    event.from on its own session (it never reads the console's wake pipe);
 *  - pass `cancel` pointing to an atomic_int it sets to non-zero to stop the run: the VM in
 *    progress is recorded `interrupted` (an export in flight is aborted and its .part file
 *    removed; a task in flight is left to XAPI and found by the next run), the run ends
 *    `interrupted`, and ct_backup_run returns within about a second;
 *  - read the result from `out` (run id for the Jobs view, counts, exit code, message).
 * Without `shared`, the run starts a ct_watchset of the one pool (event mode, not once) and
 * waits on its wake fd with poll() for `wait`. */
#ifndef CT_BACKUP_H
#define CT_BACKUP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/chain.h"   /* CT_BACKUP_ADHOC_JOB, the owner the engine recognises */
#include "config/config.h"
#include "lib/err.h"
#include "watch/watch.h"

enum ct_backup_level { CT_BACKUP_INFO, CT_BACKUP_WARN, CT_BACKUP_ERROR };

struct ct_backup_progress {
	int64_t run_id;            /* 0 before the run is recorded */
	int vm_index, n_vms;       /* 1-based index of the VM in progress; 0 when not about one */
	const char *vm_name;       /* borrowed, sanitised; NULL when not about one VM */
	const char *vm_uuid;       /* borrowed; NULL when not about one VM */
	const char *step;          /* "select", "gate", "wait", "snapshot", "tag", "export",
				    * "retention", "cleanup", "done" */
	double percent;            /* 0..100 for snapshot/export, -1 when it does not apply */
	const char *message;       /* borrowed, sanitised sentence */
	enum ct_backup_level level;
	bool tick;                 /* a transient progress update (percent or bytes so far) that a
				    * terminal may overwrite in place; the other messages are events */
};

typedef void (*ct_backup_progress_cb)(void *ctx, const struct ct_backup_progress *p);

struct ct_backup_opts {
	const struct ct_config *cfg;     /* borrowed; state_dir, gate, pools */
	const struct ct_job_conf *job;   /* a configured job, or NULL for an ad hoc run */
	/* ad hoc run (job == NULL): */
	const char *pool;                /* pool name; NULL = the only configured pool */
	const char *const *vms;          /* selectors: name glob, uuid, or "tag:NAME" */
	int n_vms;
	const char *job_name;            /* recorded job name for ad hoc runs; NULL = "adhoc" */
	/* behaviour */
	bool dry_run;                    /* judge and print what would be done; no change */
	bool force;                      /* bypass the gate (recorded as forced) */
	long long wait_override;         /* seconds: policy wait with this timeout; -1 = as configured */
	atomic_int *cancel;              /* optional: set non-zero (any thread) to stop the run */
	struct ct_watch *shared;         /* optional: a live watcher of the pool (console) */
	ct_backup_progress_cb progress;  /* optional */
	void *ctx;
};

struct ct_backup_summary {
	int64_t run_id;            /* 0 when nothing was recorded (dry run, lock refused, ...) */
	int n_vms, n_ok, n_skipped, n_failed;
	bool interrupted;
	int exit_code;             /* 0 every VM succeeded, 1 some skipped, 2 any failed/error */
	char message[1024];        /* one sentence summing the run up */
};

/* Runs the backup. Returns 0 when the run was carried out (whatever the VMs' outcome:
 * see out->exit_code), -1 when it could not start or was stopped early (no such job or
 * pool, no VM matched, lock held by another run, pool unreachable, jobstore unusable,
 * cancelled): e says why and out->exit_code is 2 (1 when cancelled). */
int ct_backup_run(const struct ct_backup_opts *o, struct ct_backup_summary *out, struct ct_err *e);

/* Snapshots killed backup runs may have left untraced. A backup records the exact name it
 * gives a snapshot (carrying the job and run id) in the history before it calls VM.snapshot;
 * a run killed before the snapshot was recorded leaves that intent open. This finds each open
 * intent of pool `pool` (NULL = any) and VM `vm_uuid` (NULL = any) by that name and
 * snapshot_of, removes the snapshot (disks no other VM uses with it), and records what it did
 * as a "recover" step of the killed run's item; when no such snapshot exists and no
 * VM.snapshot task is pending, it records that none was made. dry_run only reports. Messages
 * go to cb (step "cleanup"). Used by every backup for the VM it works on, and by prune.
 * x: a logged-in session of that pool; js: an open job history. *n_resolved may be NULL. */
struct ct_xapi;
struct ct_jobstore;
/* An intent younger than this with no snapshot and no VM.snapshot task is left open: the
 * call may still be on its way into xapi. */
#define CT_BACKUP_INTENT_GRACE_S 300
int ct_backup_resolve_intents(struct ct_xapi *x, struct ct_jobstore *js, const char *pool,
			      const char *vm_uuid, bool dry_run, ct_backup_progress_cb cb, void *ctx,
			      int *n_resolved, struct ct_err *e);

/* Export tasks killed runs left. Every export runs under a task chaintop creates
 * (task.create) with the label and description below and records in the history until it is
 * destroyed. This finds each recorded task of runs no longer running (pool / vm_uuid NULL =
 * any), destroys it when xapi still has it with exactly that label and description (any other
 * task is never touched), records a "recover" step on the killed run's item and clears the
 * record; a task already gone is recorded as such. Same arguments as above. */
int ct_backup_resolve_tasks(struct ct_xapi *x, struct ct_jobstore *js, const char *pool,
			    const char *vm_uuid, bool dry_run, ct_backup_progress_cb cb, void *ctx,
			    int *n_resolved, struct ct_err *e);
/* The name_label and name_description of the export task of run `run` of job `job`, item
 * `item` (the history's item id); owned. */
char *ct_backup_export_task_label(const char *vm_uuid, const char *job, int64_t run);
char *ct_backup_export_task_desc(const char *job, int64_t run, int64_t item);
/* True when label and description are those chaintop gives the export task recorded as t
 * (ct_jobstore_list_export_tasks). */
struct ct_intent;
bool ct_backup_export_task_is(const struct ct_intent *t, const char *label, const char *desc);

/* The lock file of a job in the state directory ("<state_dir>/backup-<job>.lock"); owned. */
char *ct_backup_lock_path(const char *state_dir, const char *job);

#endif
