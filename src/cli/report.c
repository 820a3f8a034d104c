/* cli_report.c - `chaintop report`: the job history (backup and prune runs), newest first, or
 * one run in detail with every item, its steps, errors and reasons; --json for scripts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cli.h"
#include "config/config.h"
#include "jobs/jobstore.h"
#include "jobs/run.h"
#include "output/output.h"
#include "lib/util.h"

#define REPORT_DEFAULT_LAST 20

static void report_usage(FILE *f)
{
	fprintf(f,
		"usage: chaintop report [-c FILE] [--last N] [--failed] [--json] [RUN_ID]\n"
		"\n"
		"Without RUN_ID: the runs of backup and prune jobs, newest first (id, kind, job,\n"
		"pool, start in local time, duration, status, VMs ok/skipped/failed).\n"
		"With RUN_ID: that run in detail: every VM (or prune candidate), its steps with\n"
		"times, XAPI errors (code, parameters and what they mean), the gate's reasons and\n"
		"the chain as it was judged.\n"
		"\n"
		"  --last N   the N newest runs (default %d; 0 = all)\n"
		"  --failed   only runs that failed, were interrupted or skipped VMs\n"
		"  --json     one JSON document instead of text\n",
		REPORT_DEFAULT_LAST);
}

static void fmt_dur(time_t start, time_t end, char *buf, size_t len)
{
	if (start <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	if (end <= 0) {
		char d[32];
		size_t l;

		ct_format_duration((long long)(time(NULL) - start), d, sizeof(d));
		l = strlen(d);
		if (l + 2 <= len) {
			memcpy(buf, d, l);
			buf[l] = '+';
			buf[l + 1] = '\0';
		} else {
			snprintf(buf, len, "-");
		}
		return;
	}
	ct_format_duration((long long)(end - start), buf, len);
}

static const char *marker(enum ct_run_status s)
{
	switch (s) {
	case CT_RUN_SUCCESS: return "  ";
	case CT_RUN_FORCED: return "! ";
	case CT_RUN_SKIPPED: return "- ";
	case CT_RUN_RUNNING: return "> ";
	default: return "x ";
	}
}

/* Untrusted text (XAPI names and messages kept in the history) made safe for a terminal. */
static const char *san(const char *s, char *buf, size_t len)
{
	return ct_sanitize(s ? s : "", buf, len);
}

static void print_list(const struct ct_run_rec *runs, int n, bool failed)
{
	if (n == 0) {
		printf("%s\n", failed ? "no failed, interrupted or skipped runs in the job history" :
		       "no runs in the job history yet: `chaintop backup --job NAME` makes one");
		return;
	}
	printf("  %-6s %-7s %-16s %-16s %-19s %-9s %-12s %s\n", "ID", "KIND", "JOB", "POOL",
	       "START", "DURATION", "STATUS", "OK/SKIP/FAIL");
	for (int i = 0; i < n; i++) {
		const struct ct_run_rec *r = &runs[i];
		char start[32], dur[32], job[64], pool[64], st[32];

		ct_format_local_time(r->start, start, sizeof(start));
		fmt_dur(r->start, r->end, dur, sizeof(dur));
		snprintf(st, sizeof(st), "%s%s", ct_run_status_name(r->status), r->dry_run ? " (dry)" : "");
		printf("%s%-6lld %-7s %-16s %-16s %-19s %-9s %-12s %d/%d/%d\n", marker(r->status),
		       (long long)r->id, r->kind ? r->kind : "?", san(r->job ? r->job : "-", job, sizeof(job)),
		       san(r->pool, pool, sizeof(pool)), start, dur, st, r->n_ok, r->n_skipped,
		       r->n_failed);
	}
}

static void print_chain(const char *chain_json)
{
	json_t *a = json_loads(chain_json, 0, NULL);
	size_t i;
	json_t *d;
	char b1[256], b2[256], b3[1024];

	if (!json_is_array(a)) {
		json_decref(a);
		return;
	}
	printf("      chain as judged:\n");
	json_array_foreach(a, i, d) {
		printf("        %s '%s' (%s): depth %lld, %lld stacked, %lld pending\n",
		       san(json_string_value(json_object_get(d, "device")), b1, sizeof(b1)),
		       san(json_string_value(json_object_get(d, "vdi")), b2, sizeof(b2)),
		       san(json_string_value(json_object_get(d, "vdi_uuid")), b3, sizeof(b3)),
		       (long long)json_integer_value(json_object_get(d, "depth")),
		       (long long)json_integer_value(json_object_get(d, "stacked")),
		       (long long)json_integer_value(json_object_get(d, "pending")));
		printf("          %s\n", san(json_string_value(json_object_get(d, "chain")), b3, sizeof(b3)));
	}
	json_decref(a);
}

static void print_run(const struct ct_run_rec *r)
{
	char start[32], end[32], dur[32], buf[2048], b2[256];

	ct_format_local_time(r->start, start, sizeof(start));
	ct_format_local_time(r->end, end, sizeof(end));
	fmt_dur(r->start, r->end, dur, sizeof(dur));
	printf("Run %lld: %s%s of job '%s' on pool '%s': %s\n", (long long)r->id,
	       r->kind ? r->kind : "?", r->dry_run ? " (dry run)" : "",
	       san(r->job ? r->job : "-", buf, sizeof(buf)), san(r->pool, b2, sizeof(b2)),
	       ct_run_status_name(r->status));
	printf("  started %s, ended %s (%s), on host %s, pid %ld\n", start, end, dur,
	       san(r->host, b2, sizeof(b2)), r->pid);
	printf("  %d ok, %d skipped, %d failed\n", r->n_ok, r->n_skipped, r->n_failed);
	if (r->summary)
		printf("  %s\n", san(r->summary, buf, sizeof(buf)));
	for (int i = 0; i < r->n_items; i++) {
		const struct ct_item_rec *it = &r->items[i];
		char su[9], sz[32];

		fmt_dur(it->start, it->end, dur, sizeof(dur));
		printf("\n%s%s (%s): %s, %s\n", marker(it->status), san(it->obj_name, buf, sizeof(buf)),
		       ct_short_uuid(it->obj_uuid ? it->obj_uuid : "", su),
		       ct_run_status_name(it->status), dur);
		if (it->message)
			printf("    %s\n", san(it->message, buf, sizeof(buf)));
		if (it->snapshot_uuid)
			printf("    snapshot: %s\n", san(it->snapshot_uuid, buf, sizeof(buf)));
		if (it->bytes > 0) {
			ct_format_bytes(it->bytes, sz, sizeof(sz));
			if (it->export_ms > 0) {
				char rate[32];

				ct_format_bytes((int64_t)((double)it->bytes * 1000.0 / (double)it->export_ms),
						rate, sizeof(rate));
				printf("    exported: %s (%lld bytes) in %.1f s, %s/s\n", sz, (long long)it->bytes,
				       (double)it->export_ms / 1000.0, rate);
			} else {
				printf("    exported: %s (%lld bytes)\n", sz, (long long)it->bytes);
			}
		}
		if (it->xapi_code) {
			printf("    XAPI error: %s", san(it->xapi_code, buf, sizeof(buf)));
			for (int k = 0; k < it->n_xapi_params; k++)
				printf("%s\"%s\"", k ? ", " : " [", san(it->xapi_params[k], buf, sizeof(buf)));
			printf("%s\n", it->n_xapi_params ? "]" : "");
		}
		if (it->n_reasons)
			printf("    reasons:\n");
		for (int k = 0; k < it->n_reasons; k++)
			printf("      - %s\n", san(it->reasons[k], buf, sizeof(buf)));
		if (it->chain_json)
			print_chain(it->chain_json);
		if (it->n_steps)
			printf("    steps:\n");
		for (int k = 0; k < it->n_steps; k++) {
			const struct ct_step_rec *s = &it->steps[k];

			ct_format_local_time(s->start, start, sizeof(start));
			fmt_dur(s->start, s->end, dur, sizeof(dur));
			printf("      %s %-10s %-11s %-6s %s\n", start + 11, san(s->name, b2, sizeof(b2)),
			       ct_run_status_name(s->status), dur, san(s->detail, buf, sizeof(buf)));
		}
	}
	if (r->n_items == 0)
		printf("\n  no items recorded\n");
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

	for (int i = 1; i < cli->argc; i++) {
		const char *a = cli->argv[i];
		char *end;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			report_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--failed")) {
			failed = true;
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--last")) {
			if (i + 1 >= cli->argc || (last = (int)strtol(cli->argv[i + 1], &end, 10), *end) ||
			    last < 0) {
				fprintf(stderr, "chaintop report: --last needs a number of runs (0 = all)\n");
				return 2;
			}
			i++;
		} else if (a[0] != '-' && !have_run) {
			id = strtoll(a, &end, 10);
			if (*end || id <= 0) {
				fprintf(stderr, "chaintop report: '%s' is not a run id; `chaintop report` lists them\n", a);
				return 2;
			}
			have_run = true;
		} else {
			fprintf(stderr, "chaintop report: unknown argument '%s'\n", a);
			report_usage(stderr);
			return 2;
		}
	}
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
			print_run(&run);
		}
		ct_run_rec_release(&run);
		rc = 0;
		goto out;
	}
	if (ct_jobstore_list_runs(js, last, failed, &runs, &n, &e) < 0) {
		fprintf(stderr, "chaintop report: %s\n", e.msg);
		goto out;
	}
	if (json) {
		json_t *doc = json_object(), *a = json_array();

		for (int i = 0; i < n; i++)
			json_array_append_new(a, ct_run_rec_json(&runs[i], false));
		json_object_set_new(doc, "runs", a);
		json_dumpf(doc, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(doc);
	} else {
		print_list(runs, n, failed);
	}
	rc = 0;
out:
	for (int i = 0; i < n; i++)
		ct_run_rec_release(&runs[i]);
	free(runs);
	ct_jobstore_close(js);
	ct_config_release(&cfg);
	return rc;
}
