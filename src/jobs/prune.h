/* prune.h - stale snapshots and orphan disks: find them, explain them, plan their removal,
 * delete exactly that (issue 7). Used by `chaintop prune` and the console's Snapshots view.
 *
 * Three stages, each usable on its own:
 *  1. ct_prune_find: a pure function of a pool's model (caller holds its lock) that appends
 *     candidates to a list. Every candidate owns copies of all it needs once the lock is
 *     released: names, refs, uuids, sizes, reasons, its chain as text, and the effect of
 *     deleting it on the chains (GC work scheduled, space expected back).
 *  2. ct_prune_plan: from candidates (no model needed), the exact XAPI calls in the order
 *     they will be made, plus notes for disks deliberately kept. Printable in full.
 *  3. ct_prune_execute: blocking; makes its own XAPI session (ct_watch_new_session) and,
 *     before every destroying call, reads the object again with get_record on that session
 *     and re-checks the safety rules on that fresh record. Records the run in the job
 *     history (kind "prune", one item per candidate, one step per call).
 *
 * Rules (the same in finding and in the fresh re-check). Owners and the never-destroy
 * rules come from the engine (chain.h: ct_vm_owner, ct_vm_destroy_blocked,
 * ct_vdi_protected, ct_vdi_orphan), so prune and the Health view agree:
 *  - stale snapshot: a VM with is_a_snapshot that is older than stale_after (or the given
 *    older_than), or carries other_config chaintop:job naming a job no longer configured,
 *    or whose source VM (snapshot_of) is gone. Only snapshots chaintop made and manual ones
 *    are candidates by default; Xen Orchestra's (xo:backup:*) and VMSS ones
 *    (is_vmss_snapshot) need CT_PRUNE_INCLUDE_FOREIGN (or the pool's prune_include_foreign);
 *    a VM whose blocked_operations holds "destroy" never is. Its disks (VBD type Disk) and a
 *    checkpoint's suspend VDI (VM.destroy leaves it behind) are destroyed after VM.destroy
 *    unless another VM uses them or ct_vdi_protected forbids it.
 *  - orphan disk: ct_vdi_orphan's CT_ORPHAN_YES made by chaintop (chaintop:job); a plain one
 *    no tool marked (CT_OWN_NONE: someone's data, "owner unknown") and the CT_ORPHAN_FOREIGN
 *    ones (XO's disks, snapshot disks no snapshot VM holds, suspend images no VM refers to)
 *    only with CT_PRUNE_INCLUDE_FOREIGN; CT_ORPHAN_PROTECTED never. The Health view still
 *    reports every CT_ORPHAN_YES disk as an orphan.
 *  - never: a VDI that is neither a snapshot disk being removed with its VM nor an orphan as
 *    above; a VDI attached to any VM other than the snapshot being removed; a base copy
 *    (managed = false); CBT metadata, HA statefile, metadata, rrd, redo_log, pvs_cache,
 *    crashdump VDIs; a VDI SM attached without a VBD (sm_config host_*), one a storage
 *    migration copies (mirror, base_mirror), a pool update's VDI, a VDI on a raw LUN SR
 *    (iscsi, hba, shm); anything in another pool than the one named.
 * What a rule kept that would otherwise have been a candidate is listed in the list's
 * skips, with its owner and the reason.
 *
 * Threading: find runs under the model lock and never blocks; plan and execute use only
 * the candidates' copies. ct_prune_execute may run on a worker thread; its progress
 * callback is called on that thread with borrowed, sanitised strings. */
#ifndef CT_PRUNE_H
#define CT_PRUNE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "engine/chain.h"
#include "config/config.h"
#include "lib/err.h"
#include "jobs/jobstore.h"
#include "model/model.h"

enum ct_prune_kind {
	CT_PRUNE_SNAPSHOT,       /* a stale snapshot VM and its disks */
	CT_PRUNE_ORPHAN          /* an orphan VDI */
};
const char *ct_prune_kind_name(enum ct_prune_kind k);   /* "snapshot", "orphan disk" */

/* One disk of a snapshot candidate (or the orphan VDI itself, as its only disk). */
struct ct_prune_disk {
	char *ref, *uuid, *name;       /* owned; name raw (sanitise before printing) */
	char *sr_ref, *sr_uuid, *sr_name;
	int64_t virtual_size, physical_utilisation;
	bool destroy;                  /* VDI.destroy is planned for it */
	char *keep_reason;             /* owned sentence when destroy is false, else NULL */
	bool suspend;                  /* the checkpoint's suspend image (type suspend) */
	char *chain;                   /* owned: the disk's chain in the engine's words (ct_chain_text):
					 * "'name' abcd1234 <- base copy ef012345 (2 children) <- ... [depth ...]" */
};

struct ct_prune_cand {
	enum ct_prune_kind kind;
	char *pool, *pool_uuid;        /* pool name (from the configuration) and uuid */
	char *sr_ref, *sr_uuid, *sr_name;   /* SR of the (first) disk; NULL for a diskless snapshot */
	char *ref, *uuid, *name;       /* the snapshot VM, or the orphan VDI */
	char *source_uuid, *source_name;    /* snapshot_of (VM or VDI), NULL when gone or none */
	enum ct_owner owner;           /* who made it (ct_vm_owner / ct_vdi_owner) */
	char *owner_job;               /* owned: that tool's job id, or NULL */
	time_t created;                /* snapshot_time, 0 unknown */
	long long age;                 /* seconds at find time, -1 unknown */
	int64_t size;                  /* virtual size of the disks planned for destruction */
	int64_t physical;              /* their physical utilisation */
	char **reasons;                /* owned sentences: why it is a candidate */
	int n_reasons;
	struct ct_prune_disk *disks;   /* the snapshot's disks (kept ones included); the orphan */
	int n_disks;
	char *chain;                   /* owned: the chains it sits in, one line per disk */
	/* Effect of deleting this candidate alone (on the model as found): */
	char **effects;                /* owned sentences: base copies left with one child that
					* the GC will coalesce, base copies left without children
					* that it will delete, space expected back */
	int n_effects;
	int coalesces;                 /* base copies that become single-child (GC coalesces) */
	int garbage;                   /* base copies left childless (GC deletes) */
	int64_t bytes_now;             /* freed when the calls return (physical of destroyed VDIs) */
	int64_t bytes_after_gc;        /* expected back once the GC has finished: bytes_now plus
					* garbage base copies plus, at most, the coalesced children */
};

/* An object a rule kept out of the candidates although it matched (a stale snapshot of
 * Xen Orchestra, a blocked VM, an SM-attached orphan disk, ...). */
struct ct_prune_skip {
	enum ct_prune_kind kind;
	char *pool;                    /* owned copies */
	char *ref, *uuid, *name;
	char *sr_uuid, *sr_name;       /* the (first) disk's SR, or NULL */
	enum ct_owner owner;
	char *owner_job;               /* NULL when none */
	char *reason;                  /* owned sentence: why it is not planned */
	bool never;                    /* no option makes it a candidate (blocked, protected) */
};

/* What a killed backup run left, found through the job history rather than by a rule: the
 * snapshot it asked VM.snapshot for before it could tag it (its "intent": the exact name,
 * carrying the job and run id, recorded before the call) or the export task it created. */
enum ct_leftover_kind {
	CT_LEFT_SNAPSHOT,              /* killed during the snapshot step */
	CT_LEFT_TASK                   /* killed during the export step: its task.create task */
};
enum ct_leftover_state {
	CT_LEFT_FOUND,                 /* it is there: resolving removes it */
	CT_LEFT_PENDING,               /* not there yet and a VM.snapshot task is still running:
					* resolving leaves it for the next run or prune */
	CT_LEFT_NONE                   /* not there (never made, or already gone): resolving
					* records that */
};
struct ct_prune_leftover {
	enum ct_leftover_kind kind;
	enum ct_leftover_state state;
	int64_t run, item;             /* the killed run and its item in the history */
	char *pool, *job;              /* owned copies */
	char *vm_uuid, *vm_name;       /* the VM the run worked on */
	char *name;                    /* the snapshot's recorded name, or the task's label */
	char *ref, *uuid;              /* the snapshot VM or the task found; NULL when none */
	char *text;                    /* owned, sanitised: "left by interrupted run 12 of job
					* 'nightly' (killed during the snapshot step)" */
	char *action;                  /* owned, sanitised: what resolving does */
};

struct ct_prune_list {
	struct ct_prune_cand *c;       /* owned */
	int n, cap;
	struct ct_prune_skip *skips;   /* owned */
	int n_skips;
	struct ct_prune_leftover *left;   /* owned: what killed runs left (ct_prune_find_leftovers) */
	int n_left;
};
void ct_prune_list_init(struct ct_prune_list *l);
void ct_prune_list_release(struct ct_prune_list *l);
/* Append a deep copy of c (the console copies the tagged candidates for its worker). */
void ct_prune_list_add_copy(struct ct_prune_list *l, const struct ct_prune_cand *c);
/* Sort by pool, SR name, kind (snapshots first), then oldest first. */
void ct_prune_list_sort(struct ct_prune_list *l);

/* Find the candidates of one pool and append them to out (sorted as above within the pool),
 * and the objects kept by a rule to out's skips. m locked by the caller; older_than in
 * seconds, -1 = the configured health.stale_after (<= 0 there: age alone never makes a
 * snapshot stale). flags: CT_PRUNE_INCLUDE_FOREIGN also proposes other tools' snapshots and
 * disks (never blocked or protected ones); pc->prune_include_foreign does the same for its
 * pool. Returns the number of candidates appended. */
#define CT_PRUNE_INCLUDE_FOREIGN 1u
int ct_prune_find(struct ct_model *m, const struct ct_config *c, const struct ct_pool_conf *pc,
		  long long older_than, time_t now, unsigned flags, struct ct_prune_list *out);

/* What killed backup runs of pool pc left: each open snapshot intent (intents, from
 * ct_jobstore_list_intents) looked up in m by its name and snapshot_of (the VM's ref by the
 * recorded uuid), and each recorded export task (tasks, ct_jobstore_list_export_tasks: name =
 * the task's ref) by its ref, label and description; a task that does not carry chaintop's
 * label and description is not listed. A snapshot found here is taken out of the candidates
 * and skips of out (resolving it is the one way it goes). m locked by the caller. Returns the
 * number appended to out->left. */
int ct_prune_find_leftovers(struct ct_model *m, const struct ct_pool_conf *pc,
			    const struct ct_intent *intents, int n_intents,
			    const struct ct_intent *tasks, int n_tasks, struct ct_prune_list *out);
/* The leftovers as text: kind, name, VM, owner chaintop, the run and the action (sanitised);
 * nothing when there are none. */
void ct_prune_leftovers_print(FILE *f, const struct ct_prune_list *l);

/* The effect of deleting several candidates together. Candidates that share a chain
 * interact (deleting every snapshot above a disk collapses its base copies), so the sum of
 * their single effects is not the effect of the whole selection: this is. Counts the
 * candidates of l that belong to m's pool (by pool uuid) and whose disks are still in m.
 * m locked by the caller; *out owned, release with ct_prune_effect_release. */
struct ct_prune_effect {
	char **effects;                /* owned sentences, as in struct ct_prune_cand */
	int n_effects;
	int coalesces, garbage;
	int64_t bytes_now, bytes_after_gc;
};
void ct_prune_effect_of(struct ct_model *m, const struct ct_prune_list *l,
			struct ct_prune_effect *out);
void ct_prune_effect_release(struct ct_prune_effect *e);

/* The calls, in execution order: for each candidate, VM.destroy then VDI.destroy of each
 * disk with destroy set; for an orphan, VDI.destroy. */
struct ct_prune_call {
	int cand;                      /* index into the list given to ct_prune_plan */
	int disk;                      /* index into that candidate's disks, -1 for VM.destroy */
	const char *method;            /* static: "VM.destroy" or "VDI.destroy" */
	char *ref, *uuid, *name;       /* owned copies */
	char *text;                    /* owned, sanitised: "VM.destroy OpaqueRef:... snapshot
					* 'app01 weekly' (1a2b3c4d), pool 'lab'" */
};
struct ct_prune_plan {
	struct ct_prune_call *calls;
	int n_calls;
	char **notes;                  /* owned, sanitised: disks kept and why */
	int n_notes;
};
/* Always succeeds (0). Release with ct_prune_plan_release. */
int ct_prune_plan(const struct ct_prune_list *l, struct ct_prune_plan *out);
void ct_prune_plan_release(struct ct_prune_plan *p);
/* The plan in full, one line a call, then the notes. */
void ct_prune_plan_print(FILE *f, const struct ct_prune_plan *p);
/* The candidates grouped by pool and SR, with owners, reasons, chains and effects
 * (sanitised). */
void ct_prune_list_print(FILE *f, const struct ct_prune_list *l);
/* The skips: "kept (not planned)" lines with owner and reason (sanitised); nothing when
 * there are none. */
void ct_prune_skips_print(FILE *f, const struct ct_prune_list *l);
/* Who made a candidate or skip, in the words of `prune --dry-run` ("chaintop job 'nightly'",
 * "Xen Orchestra backup job ...", "no tool (a manual snapshot)"): owned, sanitised. The
 * console's OWNER column uses it too, so both say the same. */
char *ct_prune_owner_text(enum ct_owner o, const char *job);

/* Execution. */
struct ct_prune_progress {
	int64_t run_id;                /* 0 before the run is recorded */
	int item, n_items;             /* 1-based candidate in progress; 0 when not about one */
	const char *object;            /* borrowed, sanitised "snapshot 'x' (1a2b3c4d)", or NULL */
	const char *step;              /* "check", "VM.destroy", "VDI.destroy", "done" */
	const char *message;           /* borrowed, sanitised sentence */
	bool error;                    /* the message reports a refusal or a failure */
};
typedef void (*ct_prune_progress_cb)(void *ctx, const struct ct_prune_progress *p);

struct ct_prune_opts {
	const struct ct_config *cfg;        /* borrowed: state_dir */
	const struct ct_pool_conf *pc;      /* borrowed: the pool named; its password resolved */
	const struct ct_prune_list *cands;  /* borrowed: every candidate here is executed; all
					     * must belong to pc (others are refused) */
	bool dry_run;                  /* re-check on fresh data and record, but destroy nothing */
	atomic_int *cancel;            /* optional: non-zero stops before the next call; the
					* rest is recorded as skipped ("cancelled") */
	ct_prune_progress_cb progress; /* optional */
	void *ctx;
	struct ct_jobstore *js;        /* optional: NULL = open cfg->state_dir's own handle */
};

/* Outcome of one candidate. */
struct ct_prune_result {
	char *uuid, *name;             /* owned copies of the candidate's */
	enum ct_prune_kind kind;
	enum ct_run_status status;     /* SUCCESS, FAILURE (XAPI error), SKIPPED (refused by a
					* safety rule on fresh data, or cancelled) */
	char *message;                 /* owned sentence; may quote XAPI's error text:
					* sanitise before printing */
	char xapi_code[64];            /* the XAPI error code when a call failed, else "" */
	int calls_done;                /* destroying calls that succeeded */
	int vdis_kept;                 /* disks left in place (another VM uses them, ...) */
};

struct ct_prune_summary {
	int64_t run_id;                /* 0 when nothing was recorded */
	int n_items, n_ok, n_failed, n_refused, n_cancelled;
	int64_t bytes_now;             /* physical utilisation of the VDIs destroyed */
	struct ct_prune_result *items; /* owned, one per candidate, in order */
	int exit_code;                 /* 0 all done, 1 some refused/failed/cancelled, 2 error */
	char message[1024];            /* one sentence summing the run up */
};
void ct_prune_summary_release(struct ct_prune_summary *s);

/* Returns 0 when the run was carried out (whatever each item's outcome: see
 * out->exit_code); -1 when it could not start (no password, no session, login failed, pool
 * record unreadable, jobstore unusable): e says why, out->exit_code is 2, and no destroying
 * call was made. A candidate of another pool than o->pc (by name or by the session's pool
 * uuid) is refused as an item. An empty list returns 0 at once without logging in.
 * Steps recorded per item: "check snapshot 'x' (uuid8)", "VM.destroy 'x' (uuid8)",
 * "check disk ...", "VDI.destroy ..." (skipped steps in a dry run). */
int ct_prune_execute(const struct ct_prune_opts *o, struct ct_prune_summary *out,
		     struct ct_err *e);

/* Resolve what killed runs of o->pc left (ct_backup_resolve_intents, then
 * ct_backup_resolve_tasks, on a session of its own): each outcome is recorded as a "recover"
 * step of the killed run's item and reported through o->progress (step "recover"). Needs
 * o->pc and o->cfg (o->cands and o->dry_run are not used). *n_resolved gets how many were resolved. */
int ct_prune_resolve_leftovers(const struct ct_prune_opts *o, int *n_resolved, struct ct_err *e);

#endif
