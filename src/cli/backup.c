/* cli_backup.c - `chaintop backup`: runs a configured job or an ad hoc backup of VMs through
 * ct_backup_run (the same code the console uses), prints progress lines and a summary.
 * Exit 0 every VM succeeded, 1 some were skipped, 2 any failed (or the run could not start). */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobs/backup.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "config/config.h"
#include "lib/util.h"

static atomic_int stop_requested;   /* lock free: set from the signal handler */

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static const struct ct_command backup_cmd = {
	.name = "backup",
	.synopsis = "[-c FILE] (--job NAME | --vm NAME|UUID [--pool NAME])\n"
		    "[--dry-run] [--wait DURATION] [--force] [--quiet]",
	.description =
		"For each VM of the job (or each --vm, on one pool): gate -> snapshot -> tag ->\n"
		"export (jobs with mode = \"export\") -> retention, each step kept in the job history\n"
		"(`chaintop report`). The gate refuses a snapshot that would outrun the SR's\n"
		"coalescing (stacked base copies, chain depth, free space): with policy skip the\n"
		"VM is skipped with the reasons; with policy wait it is judged again on every change\n"
		"until it passes or wait_timeout ends.\n",
	.footer =
		"Two runs of one job never overlap (a lock in state_dir). Ctrl-C stops the run and\n"
		"records it as interrupted; the next run removes a snapshot the interrupted one left\n"
		"half made.\n"
		"Exit status: 0 every VM succeeded, 1 some were skipped, 2 any failed or the run\n"
		"could not start.\n",
	.max_args = 0,
	.usage_exit = 2,
};

struct cli_progress {
	bool tty;
	bool quiet;       /* --quiet: warnings and errors only */
	bool open_tick;   /* a tick line is on screen without its newline */
};

static void on_progress(void *ctx, const struct ct_backup_progress *p)
{
	struct cli_progress *cp = ctx;
	char prefix[320] = "";

	if (p->vm_name)
		snprintf(prefix, sizeof(prefix), "[%d/%d %s] ", p->vm_index, p->n_vms, p->vm_name);
	if (cp->quiet && (p->tick || p->level == CT_BACKUP_INFO))
		return;
	/* a refusal that skips the VM: its "skipped" line follows with the same reasons */
	if (cp->quiet && p->step && !strcmp(p->step, "gate") &&
	    !strncmp(p->message, "gate refused: ", 14))
		return;
	if (p->tick) {
		if (!cp->tty)
			return;   /* logs keep events only */
		printf("\r\033[K%s%s", prefix, p->message);
		cp->open_tick = true;
		fflush(stdout);
		return;
	}
	if (cp->open_tick) {
		printf("\r\033[K");
		cp->open_tick = false;
	}
	printf("%s%s%s\n", prefix, p->level == CT_BACKUP_ERROR ? "ERROR: " :
	       p->level == CT_BACKUP_WARN ? "WARNING: " : "", p->message);
	fflush(stdout);
}

int ct_cmd_backup(struct ct_cli *cli)
{
	struct ct_config cfg;
	struct ct_backup_opts o;
	struct ct_backup_summary sum;
	struct cli_progress cp = { 0 };
	struct sigaction sa, old_int, old_term;
	const char *job = NULL;
	const char **vms = NULL;
	int n_vms = 0, rc = 2;
	bool quiet = false;
	struct ct_err e;
	const char *wait = NULL;
	const struct ct_option opts[] = {
		CT_OPT_STRING("job", 0, "NAME", &job,
			      "a job of the configuration (jobs = ( { name = ...; } ))"),
		CT_OPT_LIST("vm", 0, "NAME|UUID", &vms, &n_vms,
			    "an ad hoc backup (snapshot only, no retention) of this VM; a name\n"
			    "may be a glob, tag:NAME selects by tag; repeatable"),
		CT_OPT_BOOL("dry-run", 'n', &o.dry_run,
			    "judge and print what would be done; nothing is changed"),
		CT_OPT_STRING("wait", 0, "DURATION", &wait,
			      "policy wait with this timeout (\"90s\", \"15m\", \"2h\")"),
		CT_OPT_BOOL("force", 0, &o.force, "bypass the gate (recorded as forced)"),
		CT_OPT_BOOL("quiet", 'q', &quiet,
			    "print only problems (skipped or failed VMs, warnings, errors) and\n"
			    "nothing when all went well: cron mails stay short"),
		CT_OPT_END
	};

	memset(&o, 0, sizeof(o));
	o.wait_override = -1;
	ct_config_init(&cfg);
	if (ct_options_parse(&backup_cmd, opts, cli, &rc) < 0)
		goto out_args;
	rc = 2;
	if (wait && ct_parse_duration(wait, &o.wait_override) < 0) {
		fprintf(stderr, "chaintop backup: --wait '%s' is not a duration: use e.g. 90s, 15m, 2h\n",
			wait);
		goto usage;
	}
	if ((job != NULL) == (n_vms > 0)) {
		fprintf(stderr, "chaintop backup: name either a job (--job NAME) or VMs (--vm NAME|UUID)\n");
		goto usage;
	}
	if (cli->n_pools > 1) {
		fprintf(stderr, "chaintop backup: a backup runs on one pool; give --pool once\n");
		goto usage;
	}
	ct_err_init(&e);
	if (ct_config_load(&cfg, cli->config_path, false, &e) < 0) {
		fprintf(stderr, "chaintop backup: %s\n", e.msg);
		goto out;
	}
	for (int i = 0; i < cfg.n_warnings; i++)
		fprintf(stderr, "chaintop: warning: %s\n", cfg.warnings[i]);
	o.cfg = &cfg;
	if (job) {
		o.job = ct_config_job(&cfg, job);
		if (!o.job) {
			struct ct_sb sb;

			ct_sb_init(&sb);
			for (int i = 0; i < cfg.n_jobs; i++)
				ct_sb_addf(&sb, "%s'%s'", i ? ", " : "", cfg.jobs[i].name);
			fprintf(stderr, "chaintop backup: no job named '%s' in the configuration; %s%s\n", job,
				cfg.n_jobs ? "the configured jobs are " : "add one under jobs = ( ... )",
				sb.buf);
			ct_sb_release(&sb);
			goto out;
		}
		if (cli->n_pools == 1 && strcmp(cli->pools[0], o.job->pool) != 0) {
			fprintf(stderr, "chaintop backup: job '%s' runs on pool '%s', not '%s'\n", job,
				o.job->pool, cli->pools[0]);
			goto out;
		}
	} else {
		o.vms = vms;
		o.n_vms = n_vms;
		o.pool = cli->n_pools == 1 ? cli->pools[0] : NULL;
	}
	cp.tty = isatty(STDOUT_FILENO);
	cp.quiet = quiet;
	o.progress = on_progress;
	o.ctx = &cp;
	o.cancel = &stop_requested;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if (ct_backup_run(&o, &sum, &e) < 0) {
		if (cp.open_tick)
			printf("\n");
		fflush(stdout);
		fprintf(stderr, "chaintop backup: %s\n", e.msg);
		if (sum.run_id > 0)
			fprintf(stderr, "chaintop backup: run %lld recorded; `chaintop report %lld` shows it\n",
				(long long)sum.run_id, (long long)sum.run_id);
		rc = sum.exit_code;
	} else {
		rc = sum.exit_code;
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
out:
	ct_config_release(&cfg);
	free(vms);
	return rc;
usage:
	ct_options_usage(stderr, &backup_cmd, opts);
	rc = 2;
out_args:
	ct_config_release(&cfg);
	free(vms);
	return rc;
}
