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
#include "watch/stall_store.h"
#include "cli/cli.h"
#include "cli/oneshot.h"
#include "cli/options.h"
#include "output/output.h"
#include "lib/util.h"

/* Below the 60 s after which Nagios kills a plugin: the answer is then ours, UNKNOWN with
 * the reason, rather than Nagios' "plugin timed out". */
#define CHECK_TIMEOUT_DEFAULT_S 50

static const struct ct_command check_cmd = {
	.name = "check",
	.synopsis = "[-c FILE] [--pool NAME]... [--format text|json|nagios|prometheus]\n"
		    "[--timeout DURATION]",
	.description =
		"Loads each configured pool (or the --pool ones) once and judges every VHD chain:\n"
		"CRITICAL for a chain at health.crit_depth or deeper, an SR below\n"
		"health.crit_free_percent free, or a garbage collector out of space; WARNING for a\n"
		"VM the backup gate would refuse, a chain at health.warn_depth, an SR with\n"
		"health.coalesce_warn VDIs pending coalesce, broken chains, orphan VDIs, and a GC\n"
		"that has made no progress for health.stall_after; UNKNOWN for a pool that cannot\n"
		"be reached (the other pools are still judged).\n",
	.footer = "Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for configuration "
		  "errors).\n",
	.max_args = 0,
	.usage_exit = 3,   /* a monitoring plugin's usage error is UNKNOWN */
};

int ct_cmd_check(struct ct_cli *cli)
{
	struct ct_oneshot o;
	enum ct_output_format fmt = CT_FMT_TEXT;
	struct ct_err e;
	int rc = 3;
	time_t now;
	long long timeout_s = CHECK_TIMEOUT_DEFAULT_S;
	char limit[64], dur[32];
	const char *format = NULL, *timeout = NULL;
	const struct ct_option opts[] = {
		CT_OPT_STRING("format", 'f', "FORMAT", &format,
			      "text: a summary line, then the problems, most severe\n"
			      "first (the default); json: the tree document plus status,\n"
			      "exit_code and problems; nagios: 'CHAINTOP WARNING - ...'\n"
			      "with perfdata, then one line a problem; prometheus: gauges\n"
			      "for node_exporter's textfile collector (write them to a\n"
			      "temporary file, rename it into the collector directory)"),
		CT_OPT_STRING("timeout", 0, "DURATION", &timeout,
			      "the whole run ends within this time (default 50s, below\n"
			      "Nagios' 60 s); a pool not loaded by then is UNKNOWN, with\n"
			      "what it was waiting for"),
		CT_OPT_END
	};

	if (ct_options_parse(&check_cmd, opts, cli, &rc) < 0)
		return rc;
	rc = 3;
	if (timeout && (ct_parse_duration(timeout, &timeout_s) < 0 || timeout_s < 1 ||
			timeout_s > 24 * 3600)) {
		fprintf(stderr, "chaintop check: --timeout '%s' is not a duration from 1s "
			"to 24h: write it as 50s, 2m or 1h\n", timeout);
		return 3;
	}
	if (format && ct_output_parse_format(format, &fmt) < 0) {
		fprintf(stderr, "chaintop check: unknown format '%s': use text, json, nagios "
			"or prometheus\n", format);
		return 3;
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
	now = time(NULL);
	ct_oneshot_lock(&o);
	ct_oneshot_judge(&o, "chaintop check", true, true, now);
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
	ct_oneshot_save_stall(&o, "chaintop check");
out:
	ct_oneshot_release(&o);
	return rc;
}
