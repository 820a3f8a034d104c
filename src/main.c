/* main.c - command line: common options, then the console or a subcommand. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "ui/app.h"
#include "cli/cli.h"
#include "lib/err.h"
#include "lib/util.h"
#include "xapi/xapi.h"

static const struct {
	const char *name;
	int (*run)(struct ct_cli *);
	const char *summary;
} commands[] = {
	{ "tree", ct_cmd_tree, "load the pools, print the SR > VDI chain tree once, exit" },
	{ "events", ct_cmd_events, "print one line per model change as it arrives" },
	{ "check", ct_cmd_check, "judge every chain; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN" },
	{ "backup", ct_cmd_backup, "run a gated backup job (snapshot, export, retention)" },
	{ "prune", ct_cmd_prune, "find stale snapshots and orphan disks, delete them safely" },
	{ "report", ct_cmd_report, "show the job history and failure reports" },
	{ "scan", ct_cmd_scan, "SR.scan one SR (--sr NAME|UUID): kicks its garbage collector" },
	{ "verify", ct_cmd_verify, "check that .xva exports are complete and match their checksums" },
	{ "serve", ct_cmd_serve, "export metrics and state over HTTP for Prometheus (read-only)" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: chaintop [-c FILE] [--pool NAME]... [--read-only] [--no-color]\n"
		"       chaintop COMMAND [-c FILE] [--pool NAME]... [options]\n"
		"       chaintop COMMAND --help | --help | --version\n"
		"\n"
		"Without a command, opens the console on the configured pools.\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n"
		"common options:\n"
		"  -c, --config FILE  configuration file (default: $CHAINTOP_CONFIG,\n"
		"                     $XDG_CONFIG_HOME/chaintop/chaintop.conf, /etc/chaintop/chaintop.conf)\n"
		"  --pool NAME        only this pool (repeatable)\n"
		"  --read-only        never change anything on the pools\n"
		"  --no-color         no colours (NO_COLOR in the environment does the same)\n"
		"\n"
		"See chaintop(1).\n");
}

/* Take the common options out of argv wherever they stand; keep the rest in order. */
static int parse_common(int argc, char **argv, struct ct_cli *cli)
{
	char **rest = ct_xcalloc((size_t)argc + 1, sizeof(*rest));
	int n = 0;

	cli->pools = ct_xcalloc((size_t)argc + 1, sizeof(*cli->pools));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		bool is_config = !strcmp(a, "-c") || !strcmp(a, "--config");
		bool is_pool = !strcmp(a, "--pool");

		if (!strncmp(a, "--config=", 9)) {
			cli->config_path = a + 9;
			continue;
		}
		if (!strncmp(a, "--pool=", 7)) {
			cli->pools[cli->n_pools++] = a + 7;
			continue;
		}
		if (is_config || is_pool) {
			if (i + 1 >= argc) {
				fprintf(stderr, "chaintop: option '%s' needs a value\n", a);
				free(rest);
				return -1;
			}
			val = argv[++i];
			if (is_config)
				cli->config_path = val;
			else
				cli->pools[cli->n_pools++] = val;
		} else if (!strcmp(a, "--read-only")) {
			cli->read_only = true;
		} else if (!strcmp(a, "--no-color")) {
			cli->no_color = true;
		} else if (!strcmp(a, "--")) {
			while (++i < argc)
				rest[n++] = argv[i];
		} else {
			rest[n++] = argv[i];
		}
	}
	const char *nc = getenv("NO_COLOR");
	if (nc && *nc)
		cli->no_color = true;
	cli->argc = n;
	cli->argv = rest;
	return 0;
}

/* A core dump would hold the pool passwords and session refs: none is written, and the
 * process is not dumpable (no ptrace attach by other users either). */
static void no_core_dumps(void)
{
	struct rlimit none = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &none) < 0)
		perror("chaintop: warning: cannot disable core dumps");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		perror("chaintop: warning: cannot make the process non-dumpable");
}

int main(int argc, char **argv)
{
	struct ct_cli cli = { 0 };
	struct ct_err e;
	int rc = 2;

	no_core_dumps();
	setlocale(LC_ALL, "");
	ct_err_init(&e);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("chaintop %s\n", CT_VERSION);
			return 0;
		}
	}
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (parse_common(argc, argv, &cli) < 0) {
		usage(stderr);
		return 2;
	}
	if (ct_xapi_global_init(&e) < 0) {
		fprintf(stderr, "chaintop: %s\n", e.msg);
		goto out;
	}
	if (cli.argc == 0 || cli.argv[0][0] == '-') {
		if (cli.argc > 0 && strcmp(cli.argv[0], "--help") && strcmp(cli.argv[0], "-h")) {
			fprintf(stderr, "chaintop: unknown option '%s'\n", cli.argv[0]);
			usage(stderr);
			goto cleanup;
		}
		if (cli.argc > 0) {
			usage(stdout);
			rc = 0;
			goto cleanup;
		}
		rc = ct_console_run(&cli);
		goto cleanup;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(cli.argv[0], commands[i].name)) {
			rc = commands[i].run(&cli);
			goto cleanup;
		}
	}
	fprintf(stderr, "chaintop: unknown command '%s' (try 'chaintop --help')\n", cli.argv[0]);
cleanup:
	ct_xapi_global_cleanup();
out:
	free(cli.argv);
	free(cli.pools);
	return rc;
}
