/* cli_report.c - `chaintop report`: the job history (backup and prune runs), newest first, or
 * one run in detail with every item, its steps, errors and reasons; --json for scripts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/oneshot.h"
#include "cli/options.h"
#include "config/config.h"
#include "jobs/jobstore.h"
#include "jobs/run.h"
#include "output/incident.h"
#include "output/output.h"
#include "output/runreport.h"
#include "lib/util.h"

#define REPORT_DEFAULT_LAST 20
#define STR_(x) #x
#define STR(x) STR_(x)

static const struct ct_command report_cmd = {
	.name = "report",
	.synopsis = "[-c FILE] [--last N] [--since DURATION] [--job NAME] [--failed] [--json]\n"
		    "[RUN_ID]\n"
		    "or: --incident [-c FILE] [--pool NAME]...",
	.description =
		"Without RUN_ID: the runs of backup and prune jobs, newest first (id, kind, job,\n"
		"pool, start in local time, duration, status, VMs ok/skipped/failed).\n"
		"With RUN_ID: that run in detail: every VM (or prune candidate), its steps with\n"
		"times, XAPI errors (code, parameters and what they mean), the gate's reasons and\n"
		"the chain as it was judged.\n"
		"With --incident: loads the pools as `check` does and writes a Markdown summary to\n"
		"paste in a ticket: the pools and their state, every problem with its full reason,\n"
		"the chains involved, the garbage collector per SR, and the job failures of the\n"
		"last 24 hours.\n",
	.footer =
		"Exit status: 0, or 1 with --failed when it lists a run (dry runs are never\n"
		"failures); 2 on a usage, configuration or history error. With --incident: 0, or 1\n"
		"when a pool could not be loaded, 2 on error.\n",
	.max_args = 1,
	.usage_exit = 2,
};

/* Untrusted text (XAPI names and messages kept in the history) made safe for a terminal. */
static const char *san(const char *s, char *buf, size_t len)
{
	return ct_sanitize(s ? s : "", buf, len);
}

/* Keep the runs that pass the filters (released the others), at most last (> 0) of them;
 * returns how many are left at the front of runs. */
static int filter_runs(struct ct_run_rec *runs, int n, bool failed, time_t since,
		       const char *job, int last)
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		bool keep = !(failed && runs[i].dry_run) && runs[i].start >= since &&
			    (!job || (runs[i].job && !strcmp(runs[i].job, job))) &&
			    (last <= 0 || k < last);

		if (!keep) {
			ct_run_rec_release(&runs[i]);
			continue;
		}
		if (k != i)
			runs[k] = runs[i];
		k++;
	}
	return k;
}

static void print_list(const struct ct_run_rec *runs, int n, bool failed, const char *since,
		       const char *only_job)
{
	if (n == 0) {
		char jb[128];

		if (!failed && !since && !only_job) {
			printf("no runs in the job history yet: `chaintop backup --job NAME` makes one\n");
			return;
		}
		printf("no %sruns%s%s%s%s%s in the job history\n",
		       failed ? "failed, interrupted or skipped " : "", only_job ? " of job '" : "",
		       only_job ? san(only_job, jb, sizeof(jb)) : "", only_job ? "'" : "",
		       since ? " in the last " : "", since ? since : "");
		return;
	}
	printf("  %-6s %-7s %-16s %-16s %-19s %-9s %-12s %s\n", "ID", "KIND", "JOB", "POOL",
	       "START", "DURATION", "STATUS", "OK/SKIP/FAIL");
	for (int i = 0; i < n; i++) {
		const struct ct_run_rec *r = &runs[i];
		char start[32], dur[32], job[64], pool[64], st[32];

		ct_format_local_time(r->start, start, sizeof(start));
		ct_run_duration(r->start, r->end, dur, sizeof(dur));
		snprintf(st, sizeof(st), "%s%s", ct_run_status_name(r->status), r->dry_run ? " (dry)" : "");
		printf("%s%-6lld %-7s %-16s %-16s %-19s %-9s %-12s %d/%d/%d\n", ct_run_marker(r->status),
		       (long long)r->id, r->kind ? r->kind : "?", san(r->job ? r->job : "-", job, sizeof(job)),
		       san(r->pool, pool, sizeof(pool)), start, dur, st, r->n_ok, r->n_skipped,
		       r->n_failed);
	}
}

static void print_line(void *ctx, const char *text)
{
	(void)ctx;
	printf("%s\n", text);
}

/* How long a one-shot load may take, as for tree; the failures the summary lists. */
#define INCIDENT_LOAD_TIMEOUT_MS (180 * 1000)
#define INCIDENT_FAILURES_S (24 * 3600)

/* `report --incident`: load and judge the pools as `check` does, read the runs that failed
 * in the last 24 hours, write the Markdown summary. 0, 1 when a pool could not be loaded,
 * 2 on error. */
static int report_incident(struct ct_cli *cli)
{
	struct ct_oneshot o;
	struct ct_incident in = { 0 };
	struct ct_jobstore *js = NULL;
	struct ct_run_rec *runs = NULL;
	int n = 0, rc = 2, failed = 0;
	struct ct_err e;

	ct_err_init(&e);
	if (ct_oneshot_load(&o, cli->config_path, cli->pools, cli->n_pools,
			    INCIDENT_LOAD_TIMEOUT_MS, "chaintop report's load limit of 3 minutes",
			    stderr, &e) < 0) {
		fprintf(stderr, "chaintop report: %s\n", e.msg);
		goto out;
	}
	in.now = time(NULL);
	in.failures_window = INCIDENT_FAILURES_S;
	js = ct_jobstore_open(o.conf.state_dir, &e);
	if (!js || ct_jobstore_list_runs(js, 0, true, &runs, &n, &e) < 0)
		in.history_error = e.msg;
	n = filter_runs(runs, n, true, in.now - INCIDENT_FAILURES_S, NULL, 0);
	in.failures = runs;
	in.n_failures = n;
	ct_oneshot_lock(&o);
	ct_oneshot_judge(&o, "chaintop report", true, false, in.now);
	in.pools = o.pools;
	in.n_pools = o.n;
	for (int i = 0; i < o.n; i++)
		failed += !o.pools[i].connected;
	rc = ct_incident_write(stdout, &in) < 0 ? 2 : failed ? 1 : 0;
	ct_oneshot_unlock(&o);
	if (rc == 2)
		fprintf(stderr, "chaintop report: cannot write the summary: %s\n", strerror(errno));
	for (int i = 0; i < o.n; i++) {
		char buf[1100];

		if (!o.pools[i].connected)
			fprintf(stderr, "chaintop report: pool '%s' could not be loaded: %s\n",
				o.pools[i].name, ct_sanitize(o.pools[i].error, buf, sizeof(buf)));
	}
out:
	for (int i = 0; i < n; i++)
		ct_run_rec_release(&runs[i]);
	free(runs);
	ct_jobstore_close(js);
	ct_oneshot_release(&o);
	return rc;
}

int ct_cmd_report(struct ct_cli *cli)
{
	struct ct_config cfg;
	struct ct_jobstore *js = NULL;
	struct ct_run_rec *runs = NULL, run;
	bool failed = false, json = false, have_run = false;
	int last = REPORT_DEFAULT_LAST, n = 0, rc = 2;
	long long id = 0;
	struct ct_err e;

	const char *last_s = NULL, *since_s = NULL, *job = NULL;
	bool incident = false;
	long long since = 0;
	const struct ct_option opts[] = {
		CT_OPT_STRING("last", 0, "N", &last_s,
			      "the N newest runs (default " STR(REPORT_DEFAULT_LAST) "; 0 = all)"),
		CT_OPT_STRING("since", 0, "DURATION", &since_s,
			      "only runs started in this time, with its unit (30m, 24h, 7d)"),
		CT_OPT_STRING("job", 0, "NAME", &job, "only runs of this job (ad hoc runs: adhoc)"),
		CT_OPT_BOOL("failed", 0, &failed,
			    "only runs that failed, were interrupted or skipped VMs (not dry\n"
			    "runs); exit 1 when there is one"),
		CT_OPT_BOOL("json", 0, &json, "one JSON document instead of text"),
		CT_OPT_BOOL("incident", 0, &incident,
			    "a Markdown incident summary of the pools (see above)"),
		CT_OPT_END
	};

	if (ct_options_parse(&report_cmd, opts, cli, &rc) < 0)
		return rc;
	rc = 2;
	if (last_s) {
		char *end;

		last = (int)strtol(last_s, &end, 10);
		if (!*last_s || *end || last < 0) {
			fprintf(stderr, "chaintop report: --last needs a number of runs (0 = all)\n");
			return 2;
		}
	}
	if (since_s) {
		char vb[64];
		int pr = ct_parse_duration_unit(since_s, &since);

		ct_sanitize(since_s, vb, sizeof(vb));
		if (pr == -2) {
			fprintf(stderr, "chaintop report: --since '%s' has no unit: write '%sh' for "
				"hours or '%sd' for days (units: s, m, h, d, w)\n", vb, vb, vb);
			return 2;
		}
		if (pr < 0 || since <= 0) {
			fprintf(stderr, "chaintop report: --since '%s' is not a duration: use a "
				"number with s, m, h, d or w, such as 24h\n", vb);
			return 2;
		}
	}
	if (cli->first_arg < cli->argc) {
		const char *a = cli->argv[cli->first_arg];
		char *end;

		id = strtoll(a, &end, 10);
		if (*end || id <= 0) {
			fprintf(stderr, "chaintop report: '%s' is not a run id; `chaintop report` lists them\n", a);
			return 2;
		}
		have_run = true;
	}
	if (incident && (have_run || json || failed || last_s || since_s || job)) {
		fprintf(stderr, "chaintop report: --incident takes only the common options "
			"(-c FILE, --pool NAME): it summarises the pools as they are now\n");
		return 2;
	}
	if (have_run && (failed || last_s || since_s || job)) {
		fprintf(stderr, "chaintop report: RUN_ID shows one run; --last, --since, --job and "
			"--failed choose runs for the list: give one or the other\n");
		return 2;
	}
	if (incident)
		return report_incident(cli);
	ct_err_init(&e);
	ct_config_init(&cfg);
	if (ct_config_load(&cfg, cli->config_path, true, &e) < 0) {
		fprintf(stderr, "chaintop report: %s\n", e.msg);
		goto out;
	}
	js = ct_jobstore_open(cfg.state_dir, &e);
	if (!js) {
		fprintf(stderr, "chaintop report: %s\n", e.msg);
		goto out;
	}
	if (have_run) {
		if (ct_jobstore_get_run(js, id, &run, &e) < 0) {
			fprintf(stderr, "chaintop report: %s\n", e.msg);
			goto out;
		}
		if (json) {
			json_t *doc = json_object();

			json_object_set_new(doc, "run", ct_run_rec_json(&run, true));
			json_dumpf(doc, stdout, JSON_INDENT(2));
			printf("\n");
			json_decref(doc);
		} else {
			ct_run_report_lines(&run, print_line, NULL);
		}
		ct_run_rec_release(&run);
		rc = 0;
		goto out;
	}
	/* the filters are applied here, the limit after them */
	if (ct_jobstore_list_runs(js, failed || since || job ? 0 : last, failed, &runs, &n,
				  &e) < 0) {
		fprintf(stderr, "chaintop report: %s\n", e.msg);
		goto out;
	}
	n = filter_runs(runs, n, failed, since ? time(NULL) - (time_t)since : 0, job, last);
	if (json) {
		json_t *doc = json_object(), *a = json_array();

		for (int i = 0; i < n; i++)
			json_array_append_new(a, ct_run_rec_json(&runs[i], false));
		json_object_set_new(doc, "runs", a);
		json_dumpf(doc, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(doc);
	} else {
		print_list(runs, n, failed, since_s, job);
	}
	rc = failed && n > 0 ? 1 : 0;
out:
	for (int i = 0; i < n; i++)
		ct_run_rec_release(&runs[i]);
	free(runs);
	ct_jobstore_close(js);
	ct_config_release(&cfg);
	return rc;
}
