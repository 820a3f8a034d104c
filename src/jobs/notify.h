/* notify.h - hands a JSON document and a one-line summary to a notify block of the
 * configuration (config.h: struct ct_notify_conf):
 *  - command: run with /bin/sh -c in a process group of its own, the document on its stdin,
 *    the summary in CHAINTOP_SUMMARY and the caller's variables in its environment; it must
 *    exit 0 within the block's timeout, else its process group is killed (SIGKILL);
 *  - webhook: the document POSTed as application/json with libcurl, under the TLS rules of a
 *    pool (xapi.h: CA verification, ca_file, fingerprint pin), within the timeout.
 * After each backup and prune run the recorder sends the run's report (run.h:
 * ct_run_notify); anything else with a document to report can call ct_notify_send.
 *
 * Blocking; safe on any thread (the command is started with posix_spawn, its environment
 * built before). Never raises SIGPIPE. */
#ifndef CT_NOTIFY_H
#define CT_NOTIFY_H

#include <stdbool.h>

#include "config/config.h"
#include "lib/err.h"

struct ct_notify_msg {
	const char *json;              /* the document */
	const char *summary;           /* one line (CHAINTOP_SUMMARY) */
	const char *const *env;        /* more variables for the command, "NAME=value" */
	int n_env;
};

/* Whether n wants to hear of an outcome (failed: the run did not end in success). */
bool ct_notify_due(const struct ct_notify_conf *n, bool failed);

/* Sends m through n. 0 when the command exited 0 or the webhook answered 2xx; -1 with e saying
 * what went wrong (exit status and the start of its output, killed after the timeout, cannot
 * be started, HTTP status, TLS, ...). */
int ct_notify_send(const struct ct_notify_conf *n, const struct ct_notify_msg *m, struct ct_err *e);

#endif
