/* runreport.h - one job run (backup or prune) as text, for `chaintop report RUN` and the
 * console's report view alike: the run, then each VM or object with its outcome, the
 * reasons (each said once: the outcome and the steps point to them instead of repeating
 * them), the XAPI error, the chain as it was judged (as text) and the steps with times. */
#ifndef CT_OUTPUT_RUNREPORT_H
#define CT_OUTPUT_RUNREPORT_H

#include <stddef.h>
#include <time.h>

#include "jobs/jobstore.h"

/* Receives each line (sanitised, no newline; "" for a blank line). */
typedef void (*ct_line_fn)(void *ctx, const char *line);

void ct_run_report_lines(const struct ct_run_rec *r, ct_line_fn fn, void *ctx);

/* "1m05s" from start to end, "3s+" while it runs (end unset), "-" without a start. */
void ct_run_duration(time_t start, time_t end, char *buf, size_t len);
/* Two-character marker of a status for lists: "  " success, "! " forced, "- " skipped,
 * "> " running, "x " failure or interrupted. */
const char *ct_run_marker(enum ct_run_status s);

#endif
