/* cli_check.c - `chaintop check`: judge every chain of the configured pools once, for
 * people (text), scripts (JSON), Nagios/Icinga and Prometheus (textfile collector).
 * Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. The coalesce stall memory lives in
 * state_dir/stall.json between runs (cron runs are minutes or hours apart). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "engine/chain.h"
#include "cli/cli.h"
#include "jobs/jobstore.h"
#include "jobs/keepup.h"
#include "cli/oneshot.h"
#include "output/output.h"
#include "lib/util.h"

/* "Can this SR keep up?" for each backup job of the pool: a WARNING on each SR where the
 * chain work the job adds per run outruns the SR's measured merge rate. *js is opened on
 * first need (and closed by the caller). Caller holds the model lock. */
static void keepup_problems(struct ct_jobstore **js, bool *js_failed, const struct ct_config *c,
			    const char *pool, struct ct_model *m, struct ct_chain_report *r)
{
	struct ct_err e;

	ct_err_init(&e);
	for (int j = 0; j < c->n_jobs; j++) {
		const struct ct_job_conf *job = &c->jobs[j];
		struct ct_disk_rec *d = NULL;
		struct ct_keepup *k = NULL;
		int n = 0, nk;

		if (!job->pool || !pool || strcmp(job->pool, pool) || *js_failed)
			continue;
		if (!*js && !(*js = ct_jobstore_open(c->state_dir, &e))) {
			fprintf(stderr, "chaintop check: warning: %s; the backup jobs' chain growth is "
				"not judged\n", e.msg);
			*js_failed = true;
			return;
		}
		if (ct_jobstore_job_disks(*js, job->name, pool, CT_KEEPUP_RUNS, &d, &n, &e) < 0) {
			fprintf(stderr, "chaintop check: warning: %s\n", e.msg);
			continue;
		}
		nk = ct_keepup_eval(d, n, c, job, pool, m, r, &k);
		for (int i = 0; i < nk; i++)
			if (!k[i].keeps_up)
				ct_chain_add_problem(r, CT_PK_FALLS_BEHIND, CT_SEV_WARNING,
						     &r->srs[k[i].sr_index].sr->o,
						     k[i].sr_index, ct_xstrdup(k[i].sentence));
		ct_keepup_release(k, nk);
		free(d);
	}
}

/* Below the 60 s after which Nagios kills a plugin: the answer is then ours, UNKNOWN with
 * the reason, rather than Nagios' "plugin timed out". */
#define CHECK_TIMEOUT_DEFAULT_S 50

static void check_usage(FILE *f)
{
	fprintf(f,
		"usage: chaintop check [-c FILE] [--pool NAME]... [--format text|json|nagios|prometheus]\n"
		"                      [--timeout DURATION]\n"
		"\n"
		"Loads each configured pool (or the --pool ones) once and judges every VHD chain:\n"
		"CRITICAL for a chain at health.crit_depth or deeper, an SR below\n"
		"health.crit_free_percent free, or a garbage collector out of space; WARNING for a\n"
		"VM the backup gate would refuse, a chain at health.warn_depth, an SR with\n"
		"health.coalesce_warn VDIs pending coalesce, broken chains, orphan VDIs, and a GC\n"
		"that has made no progress for health.stall_after; UNKNOWN for a pool that cannot\n"
		"be reached (the other pools are still judged).\n"
		"\n"
		"  --format text        a summary line, then the problems, most severe first (default)\n"
		"  --format json        the tree document plus status, exit_code and problems\n"
		"  --format nagios      'CHAINTOP WARNING - ...' with perfdata, then one line a problem\n"
		"  --format prometheus  gauges for node_exporter's textfile collector; write to a\n"
		"                       temporary file and rename it into the collector directory\n"
		"  --timeout DURATION   the whole run ends within this time (default 50s, below\n"
		"                       Nagios' 60 s); a pool not loaded by then is UNKNOWN, with\n"
		"                       what it was waiting for\n"
		"\n"
		"Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for configuration errors).\n");
}

int ct_cmd_check(struct ct_cli *cli)
{
	struct ct_oneshot o;
	struct ct_chain_report *reports = NULL;
	struct ct_stall stall = { 0 };
	enum ct_output_format fmt = CT_FMT_TEXT;
	char *stall_path = NULL;
	bool have_stall = false, js_failed = false;
	struct ct_jobstore *js = NULL;
	struct ct_err e;
	int rc = 3;
	time_t now;
	long long timeout_s = CHECK_TIMEOUT_DEFAULT_S;
	char limit[64], dur[32];

	for (int i = 1; i < cli->argc; i++) {
		const char *a = cli->argv[i], *val = NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			check_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--timeout") || !strncmp(a, "--timeout=", 10)) {
			const char *t = a[9] == '=' ? a + 10 : NULL;

			if (!t && i + 1 >= cli->argc) {
				fprintf(stderr, "chaintop check: --timeout needs a duration, such as 50s "
					"or 2m\n");
				return 3;
			}
			if (!t)
				t = cli->argv[++i];
			if (ct_parse_duration(t, &timeout_s) < 0 || timeout_s < 1 ||
			    timeout_s > 24 * 3600) {
				fprintf(stderr, "chaintop check: --timeout '%s' is not a duration from 1s "
					"to 24h: write it as 50s, 2m or 1h\n", t);
				return 3;
			}
			continue;
		} else if (!strncmp(a, "--format=", 9)) {
			val = a + 9;
		} else if (!strcmp(a, "--format") || !strcmp(a, "-f")) {
			if (i + 1 >= cli->argc) {
				fprintf(stderr, "chaintop check: --format needs a value: text, json, "
					"nagios or prometheus\n");
				return 3;
			}
			val = cli->argv[++i];
		} else {
			fprintf(stderr, "chaintop check: unknown argument '%s'\n", a);
			check_usage(stderr);
			return 3;
		}
		if (val && ct_output_parse_format(val, &fmt) < 0) {
			fprintf(stderr, "chaintop check: unknown format '%s': use text, json, nagios "
				"or prometheus\n", val);
			return 3;
		}
	}
	ct_err_init(&e);
	ct_format_duration(timeout_s, dur, sizeof(dur));
	snprintf(limit, sizeof(limit), "check --timeout %s", dur);
	/* a little of the time is kept for judging and writing the answer */
	if (ct_oneshot_load(&o, cli->config_path, cli->pools, cli->n_pools,
			    (int)(timeout_s > 5 ? timeout_s * 1000 - 2500 : timeout_s * 500),
			    limit, stderr, &e) < 0) {
		if (fmt == CT_FMT_NAGIOS)
			printf("CHAINTOP UNKNOWN - %s\n", e.msg);
		else
			fprintf(stderr, "chaintop check: %s\n", e.msg);
		goto out;
	}
	if (o.conf.state_dir && *o.conf.state_dir) {
		stall_path = ct_xasprintf("%s/stall.json", o.conf.state_dir);
		if (ct_state_dir_ready(o.conf.state_dir, &e) < 0)
			fprintf(stderr, "chaintop check: warning: %s; GC stall detection forgets "
				"between runs\n", e.msg);
		else if (ct_stall_load(&stall, stall_path, &e) < 0)
			fprintf(stderr, "chaintop check: warning: %s\n", e.msg);
		else
			have_stall = true;
	}
	now = time(NULL);
	reports = ct_xcalloc((size_t)o.n + 1, sizeof(*reports));
	ct_oneshot_lock(&o);
	for (int i = 0; i < o.n; i++) {
		struct ct_output_pool *p = &o.pools[i];

		if (!p->connected)
			continue;
		ct_chain_eval(p->model, &o.conf, o.ws.w[i].conf, now, have_stall ? &stall : NULL,
			      &reports[i]);
		p->report = &reports[i];
		if (have_stall)   /* the rates live in the state directory, as the history does */
			keepup_problems(&js, &js_failed, &o.conf, o.ws.w[i].conf->name, p->model,
					&reports[i]);
	}
	switch (fmt) {
	case CT_FMT_TEXT:
		ct_output_check_text(stdout, o.pools, o.n);
		break;
	case CT_FMT_JSON:
		ct_output_write_json(stdout, o.pools, o.n, true, now);
		break;
	case CT_FMT_NAGIOS:
		ct_output_nagios(stdout, &o.conf, o.pools, o.n);
		break;
	case CT_FMT_PROMETHEUS:
		ct_output_prometheus(stdout, o.pools, o.n, now);
		break;
	}
	rc = ct_output_exit_code(ct_output_worst(o.pools, o.n));
	ct_oneshot_unlock(&o);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "chaintop check: cannot write the output: %s\n", strerror(errno));
		rc = 3;
	}
	if (have_stall && ct_stall_save(&stall, stall_path, &e) < 0)
		fprintf(stderr, "chaintop check: warning: %s\n", e.msg);
out:
	if (reports)
		for (int i = 0; i < o.n; i++)
			ct_chain_report_release(&reports[i]);
	free(reports);
	free(stall_path);
	ct_stall_release(&stall);
	ct_jobstore_close(js);
	ct_oneshot_release(&o);
	return rc;
}
