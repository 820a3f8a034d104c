/* chain.h - the verdict engine: judges every VDI chain of a pool, gives reasons, and
 * answers the backup gate's question. design.md section 3 has the semantics.
 *
 * A pure function of a model (caller holds its lock) and the configured limits: no
 * network, no clock (now is a parameter), no curses. Linear in the number of VDIs.
 * Verdicts point into the model (borrowed: valid while the lock is held and the model
 * unchanged); every string in a report (reasons, problems) is owned by the report. */
#ifndef CT_CHAIN_H
#define CT_CHAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config/config.h"
#include "model/model.h"

/* The job name recorded and tagged (chaintop:job) for ad hoc runs (job == NULL and
 * job_name == NULL): `chaintop backup --vm` and, unless it passes its own, the console. */
/* Owned by the engine: the owner predicates below recognise it. */
#define CT_BACKUP_ADHOC_JOB "adhoc"

enum ct_vdi_state {
	CT_VS_OK,
	CT_VS_PENDING,     /* an ancestor with exactly one child: the GC still has to coalesce */
	CT_VS_STACKED,     /* more stacked base copies above it than the tolerance allows */
	CT_VS_DEEP,        /* depth >= warn_depth */
	CT_VS_GARBAGE,     /* a base copy with no child */
	CT_VS_BROKEN,      /* vhd-parent names a uuid the SR does not have, or a cycle */
	CT_VS_ORPHAN       /* a snapshot or user VDI no VBD uses */
};
const char *ct_vdi_state_name(enum ct_vdi_state s);   /* "ok", "pending", ... */

/* SR other_config switches SM's cleanup.py reads (value "false"). */
enum { CT_SW_GC_OFF = 1, CT_SW_COALESCE_OFF = 2, CT_SW_LEAF_OFF = 4 };

enum ct_severity { CT_SEV_OK = 0, CT_SEV_WARNING = 1, CT_SEV_CRITICAL = 2, CT_SEV_UNKNOWN = 3 };
const char *ct_severity_name(enum ct_severity s);     /* "OK", "WARNING", ... */
/* For ordering problems: CRITICAL > UNKNOWN > WARNING > OK. */
int ct_severity_rank(enum ct_severity s);

struct ct_vdi_verdict {
	const struct ct_vdi *vdi;
	int sr_index;              /* into report.srs */
	int parent;                /* index into report.vdis, -1 for a root or broken link */
	int depth;                 /* VHDs from this VDI to its root, itself included; 1 if not VHD */
	int children;
	int stacked;               /* stacked base copies above (XO backup rule) */
	int pending;               /* ancestors with exactly one child (XO health rule) */
	enum ct_vdi_state state;   /* the most important state that applies */
	enum ct_severity severity;
	bool is_vhd;               /* on a VHD-based SR */
	bool is_base_copy;         /* managed = false */
	bool in_use;               /* some VBD refers to it */
	const struct ct_vm *vm;    /* first non-snapshot VM using it (live disk), or NULL */
	const struct ct_vbd *vbd;  /* that VM's VBD */
	const struct ct_vm *snapshot_vm;  /* snapshot VM owning it (snapshot disk), or NULL */
	bool cycle;                /* part of a vhd-parent cycle (or its own parent): broken */
	const char *missing_parent;  /* borrowed: the vhd-parent uuid the SR lacks, or NULL */
	int broken_above;          /* index of the nearest broken VDI at or above it, -1 none */
	bool gc_mark;              /* sm_config relinking: the GC is re-pointing it */
	bool paused;               /* sm_config paused: tapdisk paused, I/O to it frozen */
	const char *no_coalesce;   /* static: why SM will never merge this VDI into its only-child
	                            * parent ("on_boot=reset", ...), or NULL */
	int64_t merge_bytes;       /* data SM still has to merge from this VDI into its parent
	                            * (it is that parent's only child), 0 none */
	bool merge_link;           /* SM will merge this VDI into its parent (a link of the
	                            * SR's work left) */
};

struct ct_sr_verdict {
	const struct ct_sr *sr;
	bool vhd;                  /* chains apply (nfs, ext, lvm*, file, ...) */
	bool thick;                /* LVM-based: a snapshot needs the virtual size free */
	int n_vdis;
	int pending;               /* coalesce links still to do: ancestors with exactly one child of
	                            * the SR's managed non-snapshot VDIs, each ancestor counted once
	                            * (Xen Orchestra's Health count) */
	int max_depth;
	int stacked, orphans, garbage, broken, deep;
	int64_t free_bytes;        /* physical_size - physical_utilisation (>= 0) */
	double free_percent;       /* 0..100, 100 when size unknown */
	double gc_progress;        /* progress of the pending "Garbage Collection" task, -1 if none */
	bool gc_paused;            /* a VDI has sm_config relinking: the GC is at work */
	bool gc_running;           /* a pending "Garbage Collection" task applies to the SR */
	bool gc_no_space;          /* SR sm_config gc_no_space names a live SM_GC_NO_SPACE message
	                            * (or a candidate VDI carries it), or SM reported ENOSPC */
	unsigned switches;         /* CT_SW_*: SR other_config gc/coalesce/leaf-coalesce = false */
	int not_coalesced;         /* links SM will never coalesce (switches, on_boot=reset, ...):
	                            * not in pending */
	int paused;                /* VDIs with sm_config paused */
	char coalesce_error[64];   /* newest SM coalesce-error message (named after the OS error)
	                            * within 24 h, "" none */
	time_t coalesce_error_at;  /* its time, or SR sm_config last-coalesce-error */
	bool gc_silent;            /* the pool's SM does not report its GC as a task (XCP-ng < 8.3) */
	bool gc_idle;              /* work waits and no GC task has been seen for 10 minutes */
	const char *gc_blocked;    /* static: why the GC cannot run on the SR now, or NULL */
	time_t gc_failed_at;       /* a GC task of the SR ended in failure (seen then, or
	                            * remembered in the stall memory for 24 h), 0 none */
	char gc_error[96];         /* its error_info, "" when no longer known */
	/* Work left (VHD SRs): over every link SM will merge (a VDI into its only-child
	 * parent), from the block bitmaps SM caches in sm_config vhd-blocks (cleanup.py
	 * updateBlockInfo: base64 of zlib of `vhd-util read -B`), else physical_utilisation. */
	int64_t work_bytes;        /* data still to merge */
	int64_t need_bytes;        /* extra room the largest single merge needs (cleanup.py
	                            * _calcExtraSpaceForCoalescing), 0 none */
	const struct ct_vdi *need_vdi;  /* the child of that merge, or NULL */
	int work_links, work_estimated; /* links, and those measured without vhd-blocks */
	double rate;               /* measured merge rate in bytes/s (stall memory), 0 unknown */
	long long eta;             /* seconds until the work is merged at that rate, -1 unknown */
	int64_t merge_max;         /* data of the largest single merge SM will do, 0 none */
	long long patience;        /* how long the stall detector waits for a merge: stall_after,
	                            * or twice the largest merge's time at the measured rate */
	uint64_t gc_task;          /* hash of the running GC task's ref (a new one: a new run) */
	int gc_stuck;              /* base copies SM still has not merged after CT_GC_FAIL_RUNS GC
	                            * runs (a merge that fails is skipped for the rest of a run) */
	int gc_stuck_runs;         /* GC runs the oldest of them has waited */
	const struct ct_vdi *gc_stuck_vdi;  /* that base copy */
	char *gc_note;             /* owned: "GC at 40%", "GC stalled since ...", or NULL */
	bool gc_stalled;
	time_t pending_since;      /* from the stall tracker, 0 unknown */
	struct ct_gate_conf gate;  /* effective limits for this SR */
	struct ct_health_conf health;
	enum ct_severity severity;
	bool coalesce_failed;      /* a recent coalesce failure that is not about space */
	int refused_vms;           /* real VMs with a disk here that the gate refuses */
	int first_vdi, n_vdi_verdicts;   /* range in report.vdis (VDIs of an SR are contiguous) */
};

/* One judged disk of a VM, as recorded with a gate refusal. */
struct ct_gate_disk {
	const struct ct_vdi *vdi;
	const struct ct_vbd *vbd;
	int depth, stacked, pending;
	char *chain;               /* owned: "leaf <- base(1 child) <- base ...", uuids short */
};

/* What a problem or a gate refusal is about, for grouping and routing without reading the
 * sentence. A VM's gate refusal carries the kind of its cause (deep, stacked, broken,
 * sr_free); the class of the problem tells it from the VDI's or SR's own problem. */
enum ct_problem_kind {
	CT_PK_OTHER,
	CT_PK_BROKEN,              /* vhd-parent missing or a cycle (a VM: its disk sits on one) */
	CT_PK_DEEP,                /* chain depth (VDI: health limits; VM: the gate's limit) */
	CT_PK_STACKED,             /* stacked base copies above a VM's disk (gate) */
	CT_PK_ORPHAN,              /* a disk no VM uses */
	CT_PK_SR_FREE,             /* SR free space (SR: critical; VM: below the gate's need) */
	CT_PK_GC_NO_SPACE,         /* SM_GC_NO_SPACE */
	CT_PK_GC_NEEDS_SPACE,      /* the largest merge needs more room than the SR has */
	CT_PK_COALESCE_ERROR,      /* SM reported a coalesce error */
	CT_PK_GC_FAILED,           /* a GC task ended in failure */
	CT_PK_GC_BLOCKED,          /* the GC cannot run (switch off, SR unplugged) */
	CT_PK_PENDING,             /* many links pending coalesce */
	CT_PK_GC_IDLE,             /* work waits, no GC ran for 10 minutes */
	CT_PK_GC_STALLED,          /* no merge finished for stall_after */
	CT_PK_PAUSED_FROZEN,       /* sm_config paused and no GC: I/O frozen */
	CT_PK_UNPAUSE_FAILED,      /* SM could not unpause a tapdisk */
	CT_PK_DOM0_ATTACHED,       /* a disk plugged into a control domain */
	CT_PK_FALLS_BEHIND,        /* a backup job adds chain work faster than the SR merges */
	CT_PK_POOL_DOWN            /* the pool could not be reached or loaded (outside the engine) */
};
/* Stable token for JSON and the console: "other", "broken", "deep", "stacked", "orphan",
 * "sr_free", "gc_no_space", "gc_needs_space", "coalesce_error", "gc_failed", "gc_blocked",
 * "pending", "gc_idle", "gc_stalled", "paused_frozen", "unpause_failed", "dom0_attached",
 * "pool_down" */
const char *ct_problem_kind_name(enum ct_problem_kind k);

struct ct_vm_verdict {
	const struct ct_vm *vm;
	bool refused;              /* the gate would refuse a snapshot now */
	char **reasons;            /* owned sentences; empty when ok */
	enum ct_problem_kind *kinds;   /* owned: the kind of each reason */
	int n_reasons;
	int n_snapshots;
	int max_depth;
	enum ct_severity severity;
	/* Refused only for its chains, and the garbage collector alone can bring them under
	 * the limits: the data still to merge on them, and the time that takes at the
	 * measured merge rate of their SRs (the largest over its SRs), -1 unknown. */
	int64_t gate_work;
	long long gate_eta;
};

struct ct_problem {
	enum ct_severity severity;
	enum ct_class cls;         /* object it is about: CT_SR, CT_VDI, CT_VM or CT_POOL */
	char *ref;                 /* owned copy of that object's ref */
	char *uuid;                /* owned */
	char *reason;              /* owned sentence naming pool, SR, VM, VDI, figure and limit */
	int sr_index;              /* into report.srs, -1 when not about one SR */
	enum ct_problem_kind kind;
};

/* Per-SR memory of how long coalescing has been behind (for "GC stalled since ...").
 * The console keeps one in memory; `check` loads and saves it in the state directory
 * (watch/stall_store.h: the engine itself does no I/O). */
struct ct_stall_entry {
	char sr_uuid[40];
	int pending;               /* pending count when last seen */
	time_t since;              /* since when it has not gone down */
	double gc_progress;        /* last seen GC progress, -1 none */
	time_t gc_progress_at;     /* when the GC last made progress */
	time_t gc_seen_at;         /* when a GC task was last seen on the SR, 0 never */
	time_t gc_failed_at;       /* when a failed GC task was last seen */
	int64_t work_last;         /* work_bytes when last seen */
	time_t work_at;            /* when */
	double rate;               /* merge rate, bytes/s (moving average of observed merges) */
	uint64_t gc_task;          /* hash of the GC task ref last seen running */
	struct ct_stall_cand *cand;   /* owned: base copies waiting to be merged, GC runs each */
	int n_cand, cap_cand;
};
/* A base copy SM has to merge, and how many GC runs started since it was first seen. */
struct ct_stall_cand {
	uint64_t h;                /* hash of its uuid */
	int runs;
};
/* GC runs after which a base copy still waiting means the GC fails to merge it. */
#define CT_GC_FAIL_RUNS 3
/* Since when a VDI has been seen paused (sm_config paused) with no GC running. */
struct ct_paused_entry {
	char vdi_uuid[40];
	time_t since;
	bool seen;                 /* seen in the latest evaluation */
};
struct ct_stall {
	struct ct_stall_entry *e;
	int n, cap;
	struct ct_paused_entry *p;
	int np, pcap;
};
void ct_stall_release(struct ct_stall *s);

struct ct_chain_report {
	const char *pool_name;     /* borrowed from the config */
	struct ct_vdi_verdict *vdis;
	int n_vdis;
	struct ct_sr_verdict *srs;
	int n_srs;
	struct ct_vm_verdict *vms; /* real VMs only (no snapshots, templates, control domains) */
	int n_vms;
	struct ct_problem *problems;   /* sorted: most severe first */
	int n_problems;
	enum ct_severity worst;
	struct ct_chain_index *idx;    /* private: lookups for ct_chain_find_* */
};

/* Judge the whole pool. stall may be NULL (no stall detection); when given it is updated
 * with this evaluation's figures. Returns 0, or -1 only on allocation-free internal errors. */
int ct_chain_eval(struct ct_model *m, const struct ct_config *c, const struct ct_pool_conf *pc,
		  time_t now, struct ct_stall *stall, struct ct_chain_report *out);
void ct_chain_report_release(struct ct_chain_report *r);

/* Bring a report from an earlier ct_chain_eval (or an empty, zeroed one) up to date with the
 * model, giving what ct_chain_eval would. When no VDI, VBD or VM has changed since, and the
 * SRs are the same ones, the forest, the VDI users and every VM's disks are kept and only
 * the judging is done again (limits, GC activity, space, states, gates, problems): what a
 * task's progress, a message, an SR's usage or time passing can change. Otherwise the report
 * is released and evaluated anew. */
int ct_chain_refresh(struct ct_model *m, const struct ct_config *c, const struct ct_pool_conf *pc,
		     time_t now, struct ct_stall *stall, struct ct_chain_report *r);

/* Add a problem found outside the engine (the keep-up check of the job history) to a
 * report: reason is taken (owned by the report); the problems stay sorted, worst and the
 * SR's severity follow. The next refresh drops it. */
void ct_chain_add_problem(struct ct_chain_report *r, enum ct_problem_kind kind,
			  enum ct_severity sev, const struct ct_obj *o, int sr_index, char *reason);

/* The chain of report VDI vi as one line, leaf first (owned by the caller):
 * "'web01 0' 1a2b3c4d <- base copy 5e6f7a8b (1 child) <- ... [depth 3, 1 stacked, 1 pending]" */
char *ct_chain_text(const struct ct_chain_report *r, int vi);

/* Index helpers into a report (-1 when absent). */
int ct_chain_find_vdi(const struct ct_chain_report *r, const struct ct_vdi *v);
int ct_chain_find_vm(const struct ct_chain_report *r, const struct ct_vm *vm);

/* The gate for one VM with explicit limits (a job's gate over the SR's), read from a report
 * of the pool that is current with the model (ct_chain_eval or ct_chain_refresh since the
 * model last changed; same lock held): a job of many VMs judges the pool once, not once a
 * VM. Fills reasons and the judged disks (owned by the caller: free with
 * ct_gate_result_release). Returns true when the snapshot may go ahead. */
struct ct_gate_result {
	bool ok;
	char **reasons;
	enum ct_problem_kind *kinds;   /* the kind of each reason */
	int n_reasons;
	struct ct_gate_disk *disks;
	int n_disks;
};
bool ct_chain_gate_vm(const struct ct_chain_report *r, struct ct_model *m,
		      const struct ct_config *c, const struct ct_pool_conf *pc,
		      const struct ct_gate_conf *job_gate, const struct ct_vm *vm, time_t now,
		      struct ct_gate_result *out);
void ct_gate_result_release(struct ct_gate_result *g);

/* ---- owners, and what chaintop never destroys -----------------------------------------
 * One set of rules for `prune` (src/jobs/prune.c) and the Health view (the orphan state above):
 * a VDI is an orphan to delete only when ct_vdi_orphan says CT_ORPHAN_YES. Pure functions
 * of the records (caller holds the model lock); strings returned are borrowed from the
 * records or static. */

enum ct_owner {
	CT_OWN_CHAINTOP,         /* other_config chaintop:job names a job of this configuration
	                          * (or the ad hoc backups' one) */
	CT_OWN_CHAINTOP_OTHER,   /* chaintop:job names a job this configuration does not have */
	CT_OWN_XO,               /* other_config xo:backup:job (a Xen Orchestra backup job) */
	CT_OWN_VMSS,             /* VM.is_vmss_snapshot: xapi's VM snapshot schedule */
	CT_OWN_MANUAL,           /* a snapshot VM no tool marked (made by hand) */
	CT_OWN_UNKNOWN,          /* a snapshot disk no snapshot VM holds (VDI.snapshot, as CBT
	                          * backup tools make them), or a suspend image no VM refers to */
	CT_OWN_NONE              /* a plain disk: no VM, no tool's mark */
};
/* "chaintop", "chaintop (job not configured here)", "Xen Orchestra", "VMSS", "manual",
 * "unknown", "none" */
const char *ct_owner_name(enum ct_owner o);
/* Stable token for JSON: "chaintop", "chaintop-other", "xo", "vmss", "manual", "unknown",
 * "none" */
const char *ct_owner_token(enum ct_owner o);
/* ISO libraries, udev (removable media), hot-plug SRs and an unknown SR (NULL) hold nothing
 * chaintop may delete. */
bool ct_sr_removable(const struct ct_sr *sr);
/* Owned by another tool: prune needs --include-foreign (or the pool's
 * prune_include_foreign) to propose deleting it. */
bool ct_owner_is_foreign(enum ct_owner o);

/* Owner of a snapshot VM; *job gets the job id (chaintop job name, XO job id) or NULL. c may
 * be NULL (every chaintop job then counts as configured). */
enum ct_owner ct_vm_owner(const struct ct_vm *vm, const struct ct_config *c, const char **job);
/* Owner of a disk by its own marks: chaintop:job, xo:backup:job (XO writes its keys on the
 * snapshot's VDIs too), else CT_OWN_UNKNOWN for a snapshot or suspend disk, CT_OWN_NONE. */
enum ct_owner ct_vdi_owner(const struct ct_vdi *v, const struct ct_config *c, const char **job);

/* The reason a VM's blocked_operations gives for "destroy" (xapi refuses VM.destroy with
 * OPERATION_BLOCKED), or NULL when destroy is not blocked. */
const char *ct_vm_destroy_blocked(const struct ct_vm *vm);

/* Lookups the disk rules need, built on first use: the VMs holding a suspend image and the
 * pool updates' VDIs. Init is free; release after the last call (model still locked). */
struct ct_owner_ctx {
	struct ct_model *m;
	const struct ct_config *c;
	bool built;
	const struct ct_vm **suspend_vms;     /* private */
	int n_suspend;
	const struct ct_pool_update **updates;  /* private */
	int n_updates;
};
void ct_owner_ctx_init(struct ct_owner_ctx *x, struct ct_model *m, const struct ct_config *c);
void ct_owner_ctx_release(struct ct_owner_ctx *x);
/* The VM (a suspended VM or a checkpoint) whose suspend_VDI is v, or NULL. */
const struct ct_vm *ct_owner_suspend_holder(struct ct_owner_ctx *x, const struct ct_vdi *v);

/* Why no one may destroy this VDI through chaintop, --include-foreign or not; NULL when
 * nothing forbids it. Written into why (a sentence without a final period):
 *  - sm_config host_<ref>: SM has it attached on a host without a VBD;
 *  - sm_config mirror / base_mirror: a storage migration is copying it;
 *  - it is the VDI of a pool_update (xapi owns the update's ISO);
 *  - its SR is raw LUN-per-VDI (iscsi, hba, rawhba: VDI.destroy only forgets the LUN) or
 *    shm (SM cannot delete there). */
const char *ct_vdi_protected(struct ct_owner_ctx *x, const struct ct_vdi *v, char *why,
			     size_t len);
/* The same rules that read only the VDI and its SR records (all but the pool update one),
 * for records read fresh before a destroying call. m (may be NULL) names the host. */
const char *ct_vdi_protected_rec(const struct ct_model *m, const struct ct_vdi *v,
				 const struct ct_sr *sr, char *why, size_t len);

enum ct_orphan {
	CT_ORPHAN_NO,            /* used, special, busy, or not a disk to judge */
	CT_ORPHAN_YES,           /* no one uses it, no other tool owns it: Health shows it as
	                          * ORPHAN; prune proposes it when chaintop made it, a plain
	                          * one (CT_OWN_NONE) only with --include-foreign */
	CT_ORPHAN_FOREIGN,       /* unused, but another tool owns it or the owner is unknown:
	                          * listed and kept unless foreign objects are included */
	CT_ORPHAN_PROTECTED      /* unused, but ct_vdi_protected forbids destroying it */
};
struct ct_orphan_verdict {
	enum ct_orphan kind;
	enum ct_owner owner;
	const char *job;         /* borrowed, or NULL */
	char why[512];           /* the sentence: why it is an orphan, or why it is kept */
};
/* The orphan rule. Unused means: managed, not missing, type user or system (or suspend: a
 * suspend image no VM refers to, owner unknown), virtual size > 0, no operation running,
 * on an SR that is not ISO/udev/hot-plug, no VBD refers to it and it is no VM's suspend
 * image. Returns out->kind. */
enum ct_orphan ct_vdi_orphan(struct ct_owner_ctx *x, const struct ct_vdi *v,
			     struct ct_orphan_verdict *out);

#endif
