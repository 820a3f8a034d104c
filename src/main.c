/* main.c - command line: common options, then the console or a subcommand. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "ui/app.h"
#include "cli/cli.h"
#include "cli/options.h"
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

static void list_commands(FILE *f)
{
	fprintf(f, "\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
}

static const struct ct_command console = {
	.name = NULL,
	.synopsis = "[-c FILE] [--pool NAME]... [--read-only] [--no-color]\n"
		    "COMMAND [-c FILE] [--pool NAME]... [options]\n"
		    "COMMAND --help | --help | --version",
	.description = "Without a command, opens the console on the configured pools.\n",
	.more_help = list_commands,
	.footer = "See chaintop(1).\n",
	.max_args = -1,
	.usage_exit = 2,
};

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
	static const struct ct_option console_opts[] = { CT_OPT_END };
	struct ct_cli cli = { .argc = argc, .argv = argv };
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
	/* the common options before the command's name; the command reads the rest */
	if (ct_options_parse(&console, console_opts, &cli, &rc) < 0)
		goto out;
	{
		const char *nc = getenv("NO_COLOR");

		if (nc && *nc)
			cli.no_color = true;
	}
	rc = 2;
	if (ct_xapi_global_init(&e) < 0) {
		fprintf(stderr, "chaintop: %s\n", e.msg);
		goto out;
	}
	if (cli.first_arg >= argc) {
		rc = ct_console_run(&cli);
		goto cleanup;
	}
	cli.argc = argc - cli.first_arg;
	cli.argv = argv + cli.first_arg;
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
	free(cli.pools);
	return rc;
}
