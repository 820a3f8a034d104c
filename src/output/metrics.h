/* metrics.h - chaintop's metrics in the Prometheus text exposition format (0.0.4) and in
 * OpenMetrics 1.0, for `check --format prometheus` (a textfile for node_exporter) and
 * `chaintop serve` (GET /metrics).
 *
 * Samples are gathered into sets (one a pool, one for the job history, ...) that can be
 * built at different times and kept; ct_metrics_write merges any number of sets into one
 * exposition, each family once, with its HELP and TYPE lines, in a fixed order. Label
 * values are sanitised (ct_sanitize: valid UTF-8, no control characters) and escaped.
 * Every family is a gauge. */
#ifndef CT_METRICS_H
#define CT_METRICS_H

#include <stdbool.h>
#include <time.h>

#include "jobs/jobstore.h"
#include "lib/util.h"
#include "output/output.h"

struct ct_msample {
	int fam;
	char *labels;              /* owned: `pool="lab",sr="nfs"` (escaped), "" for none */
	double v;
};

struct ct_metrics {
	struct ct_msample *s;
	int n, cap;
};

void ct_metrics_init(struct ct_metrics *m);
void ct_metrics_reset(struct ct_metrics *m);   /* empty, keeps the array */
void ct_metrics_release(struct ct_metrics *m);

/* A pool's connection as a long-running process sees it (serve). Times 0 = unknown. */
struct ct_metrics_status {
	const char *name;
	bool up;                   /* connected, following events, data current */
	bool loaded;               /* figures exist (current, or kept from before a loss) */
	const char *state;         /* watcher state name ("connected", "reconnecting", ...);
	                            * NULL for a one-shot load (check): no state, no retries */
	time_t last_event;         /* last event applied */
	time_t data_at;            /* when the figures were last known current (last contact
	                            * while the pool was live) */
	int retries;
};
/* chaintop_pool_up, _state, _last_event_age_seconds, _data_age_seconds,
 * _reconnect_attempts. */
void ct_metrics_pool_status(struct ct_metrics *m, const struct ct_metrics_status *st,
			    time_t now);

/* The engine's figures for a loaded pool (p->report set; caller holds the model lock):
 * pool totals, severity (check status), problems by kind and severity, every SR's
 * figures, one series per VDI problem (at most CT_METRICS_VDI_PROBLEMS a pool). A pool
 * not loaded gets only its severity (3, UNKNOWN). */
#define CT_METRICS_VDI_PROBLEMS 200
void ct_metrics_pool(struct ct_metrics *m, const struct ct_output_pool *p);

/* Job metrics from the history (the job in label job_name: Prometheus keeps `job` for the
 * scrape): per backup or prune job and pool, the last run (start,
 * end, duration, status, items ok/skipped/failed, bytes exported), the last success; per
 * VM, the last successful backup. Reads the newest max_runs runs (their items for backup
 * runs). Returns 0 or -1 with e set. */
int ct_metrics_jobs(struct ct_metrics *m, struct ct_jobstore *js, int max_runs, struct ct_err *e);

/* `check`: the time the figures were made. */
void ct_metrics_check_timestamp(struct ct_metrics *m, time_t now);

/* The exposition of the given sets. openmetrics: OpenMetrics 1.0 text (ends with # EOF). */
void ct_metrics_write(struct ct_sb *out, const struct ct_metrics *const *sets, int n,
		      bool openmetrics);

#define CT_METRICS_CTYPE_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define CT_METRICS_CTYPE_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"
/* Whether an Accept header asks for OpenMetrics (as Prometheus sends it). */
bool ct_metrics_wants_openmetrics(const char *accept);

#endif
