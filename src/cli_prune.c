/* cli_prune.c - `chaintop prune`: list stale snapshots and orphan disks with their reasons
 * and the effect of deleting them, print the exact plan of XAPI calls, then (after --yes or
 * a typed "yes" on a terminal) carry it out pool by pool, re-checking every object on fresh
 * data before each call. Each pool's prune is a run in the job history.
 * Exit 0 done or nothing to do, 1 some items refused or failed, 2 error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"
#include "prune.h"
#include "util.h"

#define PRUNE_LOAD_TIMEOUT_MS (180 * 1000)

static void prune_usage(FILE *f)
{
	fprintf(f,
		"usage: chaintop prune [-c FILE] [--pool NAME]... [--older-than DURATION] [--dry-run]\n"
		"                      [--yes]\n"
		"\n"
		"Finds stale snapshots and orphan disks, says why each one is listed and what deleting\n"
		"it does to the VHD chains (base copies the garbage collector will coalesce, space\n"
		"expected back), then prints the exact XAPI calls it would make, in order.\n"
		"\n"
		"  stale snapshot  a snapshot older than health.stale_after (default 14d), one made by\n"
		"                  a chaintop job that is no longer configured, or one whose VM is gone;\n"
		"                  removed with VM.destroy, then VDI.destroy of each of its disks that\n"
		"                  no other VM uses\n"
		"  orphan disk     a user or system VDI that no VM uses (no VBD), not on an ISO or\n"
		"                  removable-media SR; removed with VDI.destroy. Suspend images, CBT\n"
		"                  metadata, HA statefiles and other special VDIs are never listed, nor\n"
		"                  are base copies\n"
		"\n"
		"Right before every call the object is read again and the rules are checked on that\n"
		"fresh record; a disk another VM has attached is kept. A refused or failed call stops\n"
		"that item and the next one goes ahead. Each run is recorded in the job history\n"
		"('chaintop report').\n"
		"\n"
		"  --older-than D  age that makes a snapshot stale (30s, 15m, 2h, 14d, 1w), instead of\n"
		"                  health.stale_after\n"
		"  --dry-run       list and plan only; make no destroying call\n"
		"  --yes           delete without asking (needed when there is no terminal to ask on)\n"
		"\n"
		"Without --yes, on a terminal, it asks once: type 'yes' to go ahead.\n"
		"Exit status: 0 done or nothing to do, 1 some items refused or failed, 2 error.\n");
}

static void print_progress(void *ctx, const struct ct_prune_progress *p)
{
	(void)ctx;
	if (!p->item || (!strcmp(p->step, "check") && !p->error))
		return;
	if (!strcmp(p->step, "done"))
		printf("  [%d/%d] %s %s\n", p->item, p->n_items, p->error ? "NOT DONE:" : "ok:",
		       p->message);
	else
		printf("  [%d/%d] %s%s\n", p->item, p->n_items, p->error ? "error: " : "",
		       p->message);
	fflush(stdout);
}

/* Ask once on the terminal. Returns true when the operator typed "yes". */
static bool confirm(int n_calls, int n_pools)
{
	char line[64];

	printf("\nDelete now? This makes the %d call%s above on %d pool%s and cannot be undone.\n"
	       "Type 'yes' to go ahead, anything else to stop: ", n_calls, n_calls == 1 ? "" : "s",
	       n_pools, n_pools == 1 ? "" : "s");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	line[strcspn(line, "\r\n")] = '\0';
	return !strcmp(line, "yes");
}

int ct_cmd_prune(struct ct_cli *cli)
{
	struct ct_output_oneshot o;
	struct ct_prune_list *lists = NULL;
	struct ct_prune_plan *plans = NULL;
	struct ct_prune_effect *effects = NULL;
	long long older_than = -1;
	bool dry_run = false, yes = false, load_failed = false;
	int rc = 2, total = 0, n_calls = 0, n_pools_todo = 0;
	struct ct_err e;
	time_t now;

	for (int i = 1; i < cli->argc; i++) {
		const char *a = cli->argv[i], *val = NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			prune_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--dry-run") || !strcmp(a, "-n")) {
			dry_run = true;
		} else if (!strcmp(a, "--yes") || !strcmp(a, "-y")) {
			yes = true;
		} else if (!strncmp(a, "--older-than=", 13)) {
			val = a + 13;
		} else if (!strcmp(a, "--older-than")) {
			if (i + 1 >= cli->argc) {
				fprintf(stderr, "chaintop prune: --older-than needs a duration, such "
					"as 14d or 2w\n");
				return 2;
			}
			val = cli->argv[++i];
		} else {
			fprintf(stderr, "chaintop prune: unknown argument '%s'\n", a);
			prune_usage(stderr);
			return 2;
		}
		if (val && (ct_parse_duration(val, &older_than) < 0 || older_than <= 0)) {
			fprintf(stderr, "chaintop prune: --older-than '%s' is not a duration: use a "
				"number with s, m, h, d or w, such as 14d\n", val);
			return 2;
		}
	}
	if (cli->read_only && !dry_run) {
		fprintf(stderr, "chaintop prune: --read-only is set and prune deletes objects: "
			"drop --read-only, or add --dry-run to only list them\n");
		return 2;
	}
	ct_err_init(&e);
	if (ct_output_oneshot_load(&o, cli->config_path, cli->pools, cli->n_pools,
				   PRUNE_LOAD_TIMEOUT_MS, "chaintop prune's load limit of 3 minutes",
				   stderr, &e) < 0) {
		fprintf(stderr, "chaintop prune: %s\n", e.msg);
		goto out;
	}
	now = time(NULL);
	lists = ct_xcalloc((size_t)o.n + 1, sizeof(*lists));
	plans = ct_xcalloc((size_t)o.n + 1, sizeof(*plans));
	effects = ct_xcalloc((size_t)o.n + 1, sizeof(*effects));
	ct_output_oneshot_lock(&o);
	for (int i = 0; i < o.n; i++) {
		struct ct_output_pool *p = &o.pools[i];
		const struct ct_pool_conf *pc = o.ws.w[i].conf;

		ct_prune_list_init(&lists[i]);
		if (!p->connected) {
			char nb[128];

			fprintf(stderr, "chaintop prune: pool '%s' could not be read, so nothing there "
				"is listed or deleted: %s\n", ct_sanitize(p->name, nb, sizeof(nb)),
				p->error ? p->error : "not loaded");
			load_failed = true;
			continue;
		}
		if (pc->read_only && !dry_run) {
			fprintf(stderr, "chaintop prune: pool '%s' is read_only in the configuration: "
				"its candidates are listed but nothing there is deleted\n", pc->name);
		}
		if (ct_prune_find(p->model, &o.conf, pc, older_than, now, &lists[i]) > 1)
			ct_prune_effect_of(p->model, &lists[i], &effects[i]);
	}
	ct_output_oneshot_unlock(&o);

	for (int i = 0; i < o.n; i++)
		total += lists[i].n;
	if (total == 0) {
		printf("Nothing to prune: no stale snapshot and no orphan disk%s.\n",
		       load_failed ? " in the pools that could be read" : "");
		rc = load_failed ? 2 : 0;
		goto out;
	}
	printf("%d candidate%s:\n\n", total, total == 1 ? "" : "s");
	for (int i = 0; i < o.n; i++)
		if (lists[i].n)
			ct_prune_list_print(stdout, &lists[i]);
	for (int i = 0; i < o.n; i++) {
		const struct ct_pool_conf *pc = o.ws.w[i].conf;

		if (!lists[i].n)
			continue;
		ct_prune_plan(&lists[i], &plans[i]);
		printf("\nPool '%s'%s. ", pc->name, pc->read_only ? " (read_only: not carried out)" : "");
		ct_prune_plan_print(stdout, &plans[i]);
		if (effects[i].n_effects) {
			printf("Effect of the whole plan (the candidates share chains, so this is "
			       "not the sum of the single effects):\n");
			for (int k = 0; k < effects[i].n_effects; k++)
				printf("  effect: %s\n", effects[i].effects[k]);
		}
		if (!pc->read_only) {
			n_calls += plans[i].n_calls;
			n_pools_todo++;
		}
	}
	fflush(stdout);
	if (dry_run) {
		printf("\nDry run: nothing was deleted. Run again without --dry-run to delete.\n");
		rc = load_failed ? 2 : 0;
		goto out;
	}
	if (n_calls == 0) {
		printf("\nNothing to delete.\n");
		rc = load_failed ? 2 : 0;
		goto out;
	}
	if (!yes) {
		if (!isatty(STDIN_FILENO)) {
			fprintf(stderr, "chaintop prune: refusing to delete without confirmation: there "
				"is no terminal to ask on. Re-run with --yes to make the %d call%s "
				"above, or with --dry-run to only list them.\n", n_calls,
				n_calls == 1 ? "" : "s");
			rc = 2;
			goto out;
		}
		if (!confirm(n_calls, n_pools_todo)) {
			printf("Stopped: nothing was deleted.\n");
			rc = load_failed ? 2 : 0;
			goto out;
		}
	}
	rc = 0;
	for (int i = 0; i < o.n; i++) {
		const struct ct_pool_conf *pc = o.ws.w[i].conf;
		struct ct_prune_opts po = { 0 };
		struct ct_prune_summary sum;

		if (!lists[i].n || pc->read_only)
			continue;
		po.cfg = &o.conf;
		po.pc = pc;
		po.cands = &lists[i];
		po.progress = print_progress;
		printf("\nPruning pool '%s' (%d item%s):\n", pc->name, lists[i].n,
		       lists[i].n == 1 ? "" : "s");
		fflush(stdout);
		ct_err_init(&e);
		if (ct_prune_execute(&po, &sum, &e) < 0) {
			char msg[1100];

			fprintf(stderr, "chaintop prune: %s\n", ct_sanitize(e.msg, msg, sizeof(msg)));
			rc = 2;
		} else {
			char line[1100];

			printf("%s\n", ct_sanitize(sum.message, line, sizeof(line)));
			for (int k = 0; k < sum.n_items; k++) {
				const struct ct_prune_result *r = &sum.items[k];
				char msg[1200];

				if (r->status == CT_RUN_SUCCESS)
					continue;
				ct_sanitize(r->message ? r->message : "", msg, sizeof(msg));
				printf("  %s: %s%s%s%s\n", r->status == CT_RUN_FAILURE ? "FAILED" :
				       "REFUSED", msg,
				       r->xapi_code[0] ? " [" : "", r->xapi_code,
				       r->xapi_code[0] ? "]" : "");
			}
			if (sum.run_id > 0)
				printf("Recorded as run %lld: 'chaintop report %lld' shows it.\n",
				       (long long)sum.run_id, (long long)sum.run_id);
			if (sum.exit_code > rc)
				rc = sum.exit_code;
		}
		ct_prune_summary_release(&sum);
	}
	if (load_failed)
		rc = 2;
out:
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "chaintop prune: cannot write the output: %s\n", strerror(errno));
		rc = 2;
	}
	if (lists)
		for (int i = 0; i < o.n; i++) {
			ct_prune_list_release(&lists[i]);
			ct_prune_plan_release(&plans[i]);
			ct_prune_effect_release(&effects[i]);
		}
	free(lists);
	free(plans);
	free(effects);
	ct_output_oneshot_release(&o);
	return rc;
}
