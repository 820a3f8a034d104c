/* keepup.h - "can this SR keep up?": the chain work a backup job's snapshots add per run,
 * from the job history, against the SR's measured merge rate.
 *
 * Each snapshot of a VHD disk turns the leaf into a base copy holding what was written
 * since the previous snapshot; once older snapshots go, the garbage collector merges it.
 * On a file-based VHD SR (nfs, ext, ...) the leaf's physical_utilisation right before the
 * snapshot is that data: the history records it (ct_jobstore_item_disk). A run's chain
 * work on an SR is the sum over the disks the job's previous run snapshotted too (their
 * leaves then hold one run's writes). LVM-based SRs are left out: an attached leaf is
 * inflated to its full size there, so the figure is not in XAPI.
 *
 * Pure: no network, no clock. Strings returned are owned by the result. */
#ifndef CT_KEEPUP_H
#define CT_KEEPUP_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/chain.h"
#include "config/config.h"
#include "jobs/jobstore.h"
#include "model/model.h"

struct ct_keepup {
	int sr_index;              /* into the report's srs */
	double added_rate;         /* bytes/s of chain work the job adds (over the runs seen) */
	int64_t per_run;           /* average bytes a run adds */
	long long cycle;           /* average seconds between runs */
	int runs;                  /* pairs of consecutive runs measured */
	double merge_rate;         /* the SR's measured merge rate, bytes/s */
	bool keeps_up;
	double growth;             /* links each chain gains a run (0 when it keeps up) */
	int depth_now, limit;      /* deepest of the job's disks on the SR now; the gate's limit */
	long long runs_to_limit;   /* runs until that depth at that growth, -1 unknown/never */
	char *sentence;            /* owned: "SR 'nfs-01' of pool 'lab' merges ..." */
};

/* The keep-up figures of job (its configuration: name and gate) for each SR where they are
 * known: the history has two consecutive runs sharing a disk there, the SR is a
 * file-based VHD SR and its merge rate is measured (report from ct_chain_eval with the
 * stall memory; caller holds the model lock). d, n: ct_jobstore_job_disks for the job;
 * c gives the global gate the job's limit overrides.
 * *out owned: ct_keepup_release. Returns the number of entries. */
int ct_keepup_eval(const struct ct_disk_rec *d, int n, const struct ct_config *c,
		   const struct ct_job_conf *job, const char *pool_name, struct ct_model *m, const struct ct_chain_report *r,
		   struct ct_keepup **out);
void ct_keepup_release(struct ct_keepup *k, int n);

/* The jobs of one pool together: each job's snapshots add chain work to the SRs its disks
 * are on, and an SR's garbage collector merges for all of them. On an SR where no job alone
 * outruns the merge rate but their sum does, one entry (sr_index, added_rate = the sum,
 * merge_rate, growth, keeps_up false, sentence naming every job with its share; per_run,
 * cycle and runs_to_limit 0/-1: the jobs' cycles differ). An SR where one job already
 * falls behind has that job's own entry and gets none here. jobs[i] is the result of
 * ct_keepup_eval for job names[i]. *out owned: ct_keepup_release. Returns the count. */
int ct_keepup_combine(struct ct_keepup *const *jobs, const int *n_per_job, const char *const *names,
		      int n_jobs, const struct ct_chain_report *r, const char *pool_name,
		      struct ct_keepup **out);

/* One backup job of a pool and its recorded disks (ct_jobstore_job_disks). */
struct ct_keepup_job {
	const struct ct_job_conf *job;
	const struct ct_disk_rec *d;
	int n;
};

/* Every keep-up verdict of a pool's jobs in one array: each job's (ct_keepup_eval), then
 * the jobs together (ct_keepup_combine). *out owned: ct_keepup_release. Returns the count. */
int ct_keepup_pool(const struct ct_keepup_job *jobs, int n_jobs, const struct ct_config *c,
		   const char *pool_name, struct ct_model *m, const struct ct_chain_report *r,
		   struct ct_keepup **out);
/* A WARNING (falls_behind) in r for each verdict of k that does not keep up. */
void ct_keepup_add_problems(struct ct_chain_report *r, const struct ct_keepup *k, int n);

/* How many runs of a job's history ct_keepup_eval looks at. */
#define CT_KEEPUP_RUNS 8

#endif
