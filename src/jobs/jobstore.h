/* jobstore.h - durable job history in SQLite (WAL) under the state directory.
 *
 * A run is one execution of a backup job or a prune; it has one item per VM (backup) or per
 * candidate (prune), and each item has steps. Every call commits before it returns, so a
 * crash loses nothing already reported. A run left in `running` by a process that is gone
 * is marked `interrupted` by ct_jobstore_open and ct_jobstore_list_runs (the pid and host are
 * recorded with the run).
 * Strings returned in structs are owned by those structs. */
#ifndef CT_JOBSTORE_H
#define CT_JOBSTORE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "lib/err.h"

enum ct_run_status {
	CT_RUN_RUNNING,
	CT_RUN_SUCCESS,
	CT_RUN_FAILURE,
	CT_RUN_SKIPPED,
	CT_RUN_INTERRUPTED,
	CT_RUN_FORCED      /* item only: gate bypassed with --force, then succeeded */
};
const char *ct_run_status_name(enum ct_run_status s);   /* "running", "success", ... */
int ct_run_status_from_name(const char *s);             /* -1 if unknown */

struct ct_jobstore;

/* Opens (creating directories and the schema, upgrading an older schema in place).
 * Returns owned; free with ct_jobstore_close. */
struct ct_jobstore *ct_jobstore_open(const char *state_dir, struct ct_err *e);
void ct_jobstore_close(struct ct_jobstore *js);

/* kind: "backup" or "prune". Returns the run id (> 0) or -1. */
int64_t ct_jobstore_run_begin(struct ct_jobstore *js, const char *kind, const char *job,
			      const char *pool, bool dry_run, struct ct_err *e);
int ct_jobstore_run_end(struct ct_jobstore *js, int64_t run, enum ct_run_status st,
			const char *summary, struct ct_err *e);
/* Adds a sentence to an ended run's summary (what happened after it ended: a notification
 * that failed). */
int ct_jobstore_run_note(struct ct_jobstore *js, int64_t run, const char *note, struct ct_err *e);

/* One item of a run (a VM for backups, a snapshot/VDI for prunes). Returns id or -1. */
int64_t ct_jobstore_item_begin(struct ct_jobstore *js, int64_t run, const char *obj_uuid,
			       const char *obj_name, struct ct_err *e);
/* Ends an item. xapi_code/params from the ct_err when the item failed; reasons are the
 * gate's sentences; chain_json the chains as judged (JSON text) for a gate refusal. */
struct ct_item_result {
	enum ct_run_status status;
	const char *message;        /* one sentence, may be NULL */
	const char *snapshot_uuid;  /* may be NULL */
	int64_t bytes;              /* backup: bytes exported; prune: bytes on disk of what it
				     * destroyed (back once the GC has run); 0 if none */
	int64_t export_ms;          /* time the export transfer took, 0 if none */
	const char *xapi_code;      /* may be NULL */
	const char *const *xapi_params;
	int n_xapi_params;
	const char *const *reasons;
	int n_reasons;
	const char *chain_json;     /* may be NULL */
};
int ct_jobstore_item_end(struct ct_jobstore *js, int64_t item, const struct ct_item_result *r,
			 struct ct_err *e);
/* A disk of the VM of a backup item, as it was right before its snapshot: SR, VDI, and the
 * data its leaf held (physical_utilisation) — on a file-based VHD SR, what the snapshot
 * turns into a base copy the garbage collector merges later. */
int ct_jobstore_item_disk(struct ct_jobstore *js, int64_t item, const char *sr_uuid,
			  const char *vdi_uuid, int64_t physical_utilisation, int64_t virtual_size,
			  struct ct_err *e);
struct ct_disk_rec {
	int64_t run;
	time_t at;                  /* when it was recorded (right before the snapshot) */
	char sr_uuid[40], vdi_uuid[40];
	int64_t physical_utilisation, virtual_size;
};
/* The disks recorded by the newest max_runs (<= 0: all) non-dry backup runs of job on pool
 * that recorded any, oldest run first. *out owned (free it). */
int ct_jobstore_job_disks(struct ct_jobstore *js, const char *job, const char *pool, int max_runs,
			  struct ct_disk_rec **out, int *n, struct ct_err *e);

/* A step inside an item ("gate", "snapshot", "tag", "export", "retention", "destroy VM",
 * ...). Steps are committed as they end. */
int64_t ct_jobstore_step_begin(struct ct_jobstore *js, int64_t item, const char *name,
			       struct ct_err *e);
int ct_jobstore_step_end(struct ct_jobstore *js, int64_t step, enum ct_run_status st,
			 const char *detail, struct ct_err *e);

/* A backup records the exact name of the snapshot it is about to make, before the call, and
 * marks it done once the snapshot is recorded (or found and resolved by a later run or prune):
 * a run killed in between leaves an intent that ct_jobstore_list_intents returns. */
int ct_jobstore_item_intent(struct ct_jobstore *js, int64_t item, const char *snapshot_name,
			    struct ct_err *e);
int ct_jobstore_intent_done(struct ct_jobstore *js, int64_t item, struct ct_err *e);
struct ct_intent {
	int64_t item, run;
	char *vm_uuid, *vm_name, *name, *job, *pool;   /* owned */
	time_t when;
};
/* Unresolved intents of runs no longer running (runs of dead processes are marked
 * interrupted first); pool / vm_uuid NULL = any. *out owned: ct_intents_release. */
int ct_jobstore_list_intents(struct ct_jobstore *js, const char *pool, const char *vm_uuid,
			     struct ct_intent **out, int *n, struct ct_err *e);
void ct_intents_release(struct ct_intent *v, int n);

/* The task a backup created for an export (task.create), recorded right after it was made and
 * cleared (task_ref NULL) once it is destroyed: a killed run leaves it recorded, and only
 * tasks recorded here are ever destroyed as leftovers. */
int ct_jobstore_item_export_task(struct ct_jobstore *js, int64_t item, const char *task_ref,
				 struct ct_err *e);
/* Recorded export tasks of runs no longer running (runs of dead processes are marked
 * interrupted first), as struct ct_intent with `name` = the task's ref; pool / vm_uuid NULL =
 * any. *out owned: ct_intents_release. */
int ct_jobstore_list_export_tasks(struct ct_jobstore *js, const char *pool, const char *vm_uuid,
				  struct ct_intent **out, int *n, struct ct_err *e);

/* Reading back, for reports and the console's Jobs view. */
struct ct_step_rec {
	int64_t id;
	char *name;
	enum ct_run_status status;
	time_t start, end;          /* end 0 while running */
	char *detail;
};
struct ct_item_rec {
	int64_t id;
	char *obj_uuid, *obj_name;
	enum ct_run_status status;
	time_t start, end;
	char *message, *snapshot_uuid, *xapi_code;
	char **xapi_params;
	int n_xapi_params;
	char **reasons;
	int n_reasons;
	char *chain_json;
	int64_t bytes;
	int64_t export_ms;          /* 0 when no export */
	char *intent;               /* snapshot name recorded before the call, or NULL */
	bool intent_done;           /* that snapshot was made and recorded, or resolved later */
	struct ct_step_rec *steps;
	int n_steps;
};
struct ct_run_rec {
	int64_t id;
	char *kind, *job, *pool, *summary, *host;
	long pid;
	bool dry_run;
	enum ct_run_status status;
	time_t start, end;
	int n_ok, n_failed, n_skipped;   /* item counts */
	struct ct_item_rec *items;       /* filled by ct_jobstore_get_run only */
	int n_items;
};
void ct_run_rec_release(struct ct_run_rec *r);

/* Newest first; limit <= 0 = all; failed_only keeps failure/interrupted/skipped runs.
 * *runs owned: release each then free the array. */
int ct_jobstore_list_runs(struct ct_jobstore *js, int limit, bool failed_only,
			  struct ct_run_rec **runs, int *n, struct ct_err *e);
int ct_jobstore_get_run(struct ct_jobstore *js, int64_t id, struct ct_run_rec *out,
			struct ct_err *e);

#endif
