/* incident.h - the incident summary: one Markdown document, ready to paste in a ticket, of
 * what chaintop sees now: the pools and their state, every problem with its full reason
 * (grouped by severity as `check` prints them), the chains those problems are about, the
 * garbage collector of each SR, and the job runs that failed lately.
 * `chaintop report --incident` writes it; the console can write the same document from
 * its own models and reports (the caller holds every model's lock). */
#ifndef CT_OUTPUT_INCIDENT_H
#define CT_OUTPUT_INCIDENT_H

#include <stdio.h>
#include <time.h>

#include "jobs/jobstore.h"
#include "output/output.h"

/* Chains listed at most (the rest is counted; `chaintop tree` has them all). */
#define CT_INCIDENT_MAX_CHAINS 200

struct ct_incident {
	const struct ct_output_pool *pools;   /* judged pools (report set) and unloaded ones */
	int n_pools;
	const struct ct_run_rec *failures;    /* failed, interrupted or skipped runs (not dry
					       * runs), newest first */
	int n_failures;
	long long failures_window;            /* seconds the failures cover (86400: 24 h) */
	const char *history_error;            /* why the job history could not be read, or NULL */
	time_t now;
};

/* Writes the document; every text from a pool or the history is sanitised and escaped for
 * Markdown. Returns 0, or -1 on a write error (errno set). */
int ct_incident_write(FILE *f, const struct ct_incident *in);

#endif
