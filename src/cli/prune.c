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

#include <jansson.h>

#include "cli/cli.h"
#include "cli/oneshot.h"
#include "cli/options.h"
#include "output/output.h"
#include "jobs/prune.h"
#include "lib/util.h"

#define PRUNE_LOAD_TIMEOUT_MS (180 * 1000)

static const struct ct_command prune_cmd = {
	.name = "prune",
	.synopsis = "[-c FILE] [--pool NAME]... [--older-than DURATION] [--dry-run]\n"
		    "[--json] [--include-foreign] [--yes]",
	.description =
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
		"Only what chaintop made and manual snapshots past the age are candidates. Xen\n"
		"Orchestra's backup snapshots and disks (other_config xo:backup:*), VMSS snapshots\n"
		"(is_vmss_snapshot), snapshot disks or suspend images no VM holds and unused disks\n"
		"no tool marked (owner unknown) are listed as kept unless --include-foreign is\n"
		"given. Never proposed: a VM whose blocked_operations holds destroy, a VDI SM has\n"
		"attached (sm_config host_*), one a storage migration copies (mirror, base_mirror),\n"
		"a pool update's VDI, VDIs on raw LUN SRs (iscsi, hba, shm). A checkpoint's suspend\n"
		"image goes with it (VM.destroy leaves it behind).\n"
		"\n"
		"Right before every call the object is read again and the rules are checked on that\n"
		"fresh record; a disk another VM has attached is kept. A refused or failed call stops\n"
		"that item and the next one goes ahead. Each run is recorded in the job history\n"
		"('chaintop report').\n",
	.footer =
		"Without --yes, on a terminal, it asks once: type 'yes' to go ahead.\n"
		"Exit status: 0 done or nothing to do, 1 some items refused or failed, 2 error.\n",
	.max_args = 0,
	.usage_exit = 2,
};

static void print_progress(void *ctx, const struct ct_prune_progress *p)
{
	(void)ctx;
	if (!strcmp(p->step, "recover")) {   /* what a killed backup run left */
		printf("  %s%s\n", p->error ? "error: " : "", p->message);
		fflush(stdout);
		return;
	}
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

static json_t *jstrs(char *const *v, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, ct_output_jstr(v[i]));
	return a;
}

static json_t *cand_json(const struct ct_prune_cand *c, int index)
{
	json_t *o = json_object(), *disks = json_array();

	json_object_set_new(o, "index", json_integer(index));
	json_object_set_new(o, "kind", json_string(c->kind == CT_PRUNE_SNAPSHOT ? "snapshot" :
						   "orphan"));
	json_object_set_new(o, "ref", ct_output_jstr(c->ref));
	json_object_set_new(o, "uuid", ct_output_jstr(c->uuid));
	json_object_set_new(o, "name", ct_output_jstr(c->name));
	json_object_set_new(o, "owner", json_string(ct_owner_token(c->owner)));
	json_object_set_new(o, "owner_job", ct_output_jstr(c->owner_job));
	json_object_set_new(o, "sr_uuid", ct_output_jstr(c->sr_uuid));
	json_object_set_new(o, "sr_name", ct_output_jstr(c->sr_name));
	json_object_set_new(o, "source_uuid", ct_output_jstr(c->source_uuid));
	json_object_set_new(o, "source_name", ct_output_jstr(c->source_name));
	json_object_set_new(o, "created", ct_output_jtime(c->created));
	json_object_set_new(o, "age_seconds", c->age >= 0 ? json_integer(c->age) : json_null());
	json_object_set_new(o, "virtual_size", json_integer(c->size));
	json_object_set_new(o, "physical_utilisation", json_integer(c->physical));
	json_object_set_new(o, "reasons", jstrs(c->reasons, c->n_reasons));
	json_object_set_new(o, "effects", jstrs(c->effects, c->n_effects));
	json_object_set_new(o, "bytes_now", json_integer(c->bytes_now));
	json_object_set_new(o, "bytes_after_gc", json_integer(c->bytes_after_gc));
	for (int k = 0; k < c->n_disks; k++) {
		const struct ct_prune_disk *d = &c->disks[k];
		json_t *dj = json_object();

		json_object_set_new(dj, "ref", ct_output_jstr(d->ref));
		json_object_set_new(dj, "uuid", ct_output_jstr(d->uuid));
		json_object_set_new(dj, "name", ct_output_jstr(d->name));
		json_object_set_new(dj, "sr_uuid", ct_output_jstr(d->sr_uuid));
		json_object_set_new(dj, "virtual_size", json_integer(d->virtual_size));
		json_object_set_new(dj, "physical_utilisation", json_integer(d->physical_utilisation));
		json_object_set_new(dj, "destroy", json_boolean(d->destroy));
		json_object_set_new(dj, "suspend_image", json_boolean(d->suspend));
		json_object_set_new(dj, "keep_reason", ct_output_jstr(d->keep_reason));
		json_object_set_new(dj, "chain", ct_output_jstr(d->chain));
		json_array_append_new(disks, dj);
	}
	json_object_set_new(o, "disks", disks);
	return o;
}

static json_t *left_json(const struct ct_prune_leftover *k)
{
	json_t *o = json_object();
	static const char *const states[] = { "found", "pending", "none" };

	json_object_set_new(o, "kind", json_string(k->kind == CT_LEFT_SNAPSHOT ? "snapshot" :
						   "export_task"));
	json_object_set_new(o, "state", json_string(states[k->state]));
	json_object_set_new(o, "run", json_integer(k->run));
	json_object_set_new(o, "job", ct_output_jstr(k->job));
	json_object_set_new(o, "step", json_string(k->kind == CT_LEFT_SNAPSHOT ? "snapshot" :
						   "export"));
	json_object_set_new(o, "owner", json_string("chaintop"));
	json_object_set_new(o, "vm_uuid", ct_output_jstr(k->vm_uuid));
	json_object_set_new(o, "vm_name", ct_output_jstr(k->vm_name));
	json_object_set_new(o, "name", ct_output_jstr(k->name));
	json_object_set_new(o, "ref", ct_output_jstr(k->ref));
	json_object_set_new(o, "uuid", ct_output_jstr(k->uuid));
	json_object_set_new(o, "reason", ct_output_jstr(k->text));
	json_object_set_new(o, "action", ct_output_jstr(k->action));
	return o;
}

static json_t *skip_json(const struct ct_prune_skip *k)
{
	json_t *o = json_object();

	json_object_set_new(o, "kind", json_string(k->kind == CT_PRUNE_SNAPSHOT ? "snapshot" :
						   "orphan"));
	json_object_set_new(o, "ref", ct_output_jstr(k->ref));
	json_object_set_new(o, "uuid", ct_output_jstr(k->uuid));
	json_object_set_new(o, "name", ct_output_jstr(k->name));
	json_object_set_new(o, "sr_uuid", ct_output_jstr(k->sr_uuid));
	json_object_set_new(o, "sr_name", ct_output_jstr(k->sr_name));
	json_object_set_new(o, "owner", json_string(ct_owner_token(k->owner)));
	json_object_set_new(o, "owner_job", ct_output_jstr(k->owner_job));
	json_object_set_new(o, "reason", ct_output_jstr(k->reason));
	json_object_set_new(o, "never", json_boolean(k->never));
	return o;
}

/* The dry run as one JSON document (docs/chaintop.1 describes it). */
static int write_json(const struct ct_oneshot *o, const struct ct_prune_list *lists,
		      const struct ct_prune_plan *plans, const struct ct_prune_effect *effects,
		      char *const *pool_uuids, unsigned flags, long long older_than, time_t now)
{
	json_t *doc = json_object(), *pools = json_array();
	int rc;

	json_object_set_new(doc, "dry_run", json_true());
	json_object_set_new(doc, "generated", ct_output_jtime(now));
	json_object_set_new(doc, "include_foreign",
			    json_boolean(flags & CT_PRUNE_INCLUDE_FOREIGN));
	json_object_set_new(doc, "older_than_seconds",
			    older_than > 0 ? json_integer(older_than) : json_null());
	for (int i = 0; i < o->n; i++) {
		const struct ct_pool_conf *pc = o->ws.w[i].conf;
		const struct ct_prune_list *l = &lists[i];
		json_t *pj = json_object(), *cands = json_array(), *skips = json_array();
		json_t *calls = json_array(), *left = json_array();

		json_object_set_new(pj, "pool", ct_output_jstr(pc->name));
		json_object_set_new(pj, "connected", json_boolean(o->pools[i].connected));
		json_object_set_new(pj, "error", o->pools[i].connected ? json_null() :
				    ct_output_jstr(o->pools[i].error ? o->pools[i].error :
						   "not loaded"));
		json_object_set_new(pj, "read_only", json_boolean(pc->read_only));
		json_object_set_new(pj, "include_foreign",
				    json_boolean((flags & CT_PRUNE_INCLUDE_FOREIGN) ||
						 pc->prune_include_foreign));
		json_object_set_new(pj, "pool_uuid", ct_output_jstr(pool_uuids[i]));
		for (int k = 0; k < l->n; k++)
			json_array_append_new(cands, cand_json(&l->c[k], k));
		for (int k = 0; k < l->n_skips; k++)
			json_array_append_new(skips, skip_json(&l->skips[k]));
		for (int k = 0; k < l->n_left; k++)
			json_array_append_new(left, left_json(&l->left[k]));
		for (int k = 0; k < plans[i].n_calls; k++) {
			const struct ct_prune_call *c = &plans[i].calls[k];
			json_t *cj = json_object();

			json_object_set_new(cj, "step", json_integer(k + 1));
			json_object_set_new(cj, "method", json_string(c->method));
			json_object_set_new(cj, "ref", ct_output_jstr(c->ref));
			json_object_set_new(cj, "uuid", ct_output_jstr(c->uuid));
			json_object_set_new(cj, "name", ct_output_jstr(c->name));
			json_object_set_new(cj, "candidate", json_integer(c->cand));
			json_object_set_new(cj, "text", ct_output_jstr(c->text));
			json_array_append_new(calls, cj);
		}
		json_object_set_new(pj, "candidates", cands);
		json_object_set_new(pj, "kept", skips);
		json_object_set_new(pj, "interrupted", left);
		json_object_set_new(pj, "plan", calls);
		json_object_set_new(pj, "notes", jstrs(plans[i].notes, plans[i].n_notes));
		json_object_set_new(pj, "effect", l->n > 1 ? jstrs(effects[i].effects,
								     effects[i].n_effects) :
				    l->n == 1 ? jstrs(l->c[0].effects, l->c[0].n_effects) :
				    json_array());
		json_array_append_new(pools, pj);
	}
	json_object_set_new(doc, "pools", pools);
	rc = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) < 0 ? -1 : 0;
	printf("\n");
	json_decref(doc);
	return rc;
}

int ct_cmd_prune(struct ct_cli *cli)
{
	struct ct_oneshot o;
	struct ct_jobstore *js = NULL;
	struct ct_intent **intents = NULL, **tasks = NULL;
	int *n_intents = NULL, *n_tasks = NULL, n_left = 0;
	struct ct_prune_list *lists = NULL;
	struct ct_prune_plan *plans = NULL;
	struct ct_prune_effect *effects = NULL;
	char **pool_uuids = NULL;
	long long older_than = -1;
	bool dry_run = false, yes = false, load_failed = false, json = false;
	unsigned flags = 0;
	int rc = 2, total = 0, n_calls = 0, n_pools_todo = 0, n_resolve = 0;
	struct ct_err e;
	time_t now;

	const char *val = NULL;
	bool foreign = false;
	const struct ct_option opts[] = {
		CT_OPT_STRING("older-than", 0, "D", &val,
			      "age that makes a snapshot stale, with its unit (30s, 15m, 2h, 14d,\n"
			      "1w), instead of health.stale_after; a bare number is refused"),
		CT_OPT_BOOL("dry-run", 'n', &dry_run, "list and plan only; make no destroying call"),
		CT_OPT_BOOL("json", 0, &json,
			    "with --dry-run: one JSON document (candidates, owners, reasons,\n"
			    "effects, what is kept and why, the exact call plan)"),
		CT_OPT_BOOL("include-foreign", 0, &foreign,
			    "also propose what another tool owns (Xen Orchestra, VMSS)\n"
			    "and what has no known owner (unused disks no tool marked);\n"
			    "never blocked or protected objects"),
		CT_OPT_BOOL("yes", 'y', &yes,
			    "delete without asking (needed when there is no terminal to ask on)"),
		CT_OPT_END
	};

	if (ct_options_parse(&prune_cmd, opts, cli, &rc) < 0)
		return rc;
	rc = 2;
	if (foreign)
		flags |= CT_PRUNE_INCLUDE_FOREIGN;
	if (val) {
		char vb[64];
		int pr = ct_parse_duration_unit(val, &older_than);

		ct_sanitize(val, vb, sizeof(vb));
		if (pr == -2) {
			fprintf(stderr, "chaintop prune: --older-than '%s' has no unit: write "
				"'%ss' if you mean seconds, or '%sd' for days (units: s, m, h, "
				"d, w); nothing was listed or deleted\n", vb, vb, vb);
			return 2;
		}
		if (pr < 0 || older_than <= 0) {
			fprintf(stderr, "chaintop prune: --older-than '%s' is not a duration: "
				"use a number with s, m, h, d or w, such as 14d\n", vb);
			return 2;
		}
	}
	if (json && !dry_run) {
		fprintf(stderr, "chaintop prune: --json prints the plan for automation and deletes "
			"nothing: add --dry-run\n");
		return 2;
	}
	if (cli->read_only && !dry_run) {
		fprintf(stderr, "chaintop prune: --read-only is set and prune deletes objects: "
			"drop --read-only, or add --dry-run to only list them\n");
		return 2;
	}
	ct_err_init(&e);
	if (ct_oneshot_load(&o, cli->config_path, cli->pools, cli->n_pools,
			    PRUNE_LOAD_TIMEOUT_MS, "chaintop prune's load limit of 3 minutes",
			    stderr, &e) < 0) {
		fprintf(stderr, "chaintop prune: %s\n", e.msg);
		goto out;
	}
	now = time(NULL);
	lists = ct_xcalloc((size_t)o.n + 1, sizeof(*lists));
	plans = ct_xcalloc((size_t)o.n + 1, sizeof(*plans));
	effects = ct_xcalloc((size_t)o.n + 1, sizeof(*effects));
	pool_uuids = ct_xcalloc((size_t)o.n + 1, sizeof(*pool_uuids));
	intents = ct_xcalloc((size_t)o.n + 1, sizeof(*intents));
	tasks = ct_xcalloc((size_t)o.n + 1, sizeof(*tasks));
	n_intents = ct_xcalloc((size_t)o.n + 1, sizeof(*n_intents));
	n_tasks = ct_xcalloc((size_t)o.n + 1, sizeof(*n_tasks));
	/* what killed backup runs left is known only to the job history */
	ct_err_init(&e);
	js = o.conf.state_dir ? ct_jobstore_open(o.conf.state_dir, &e) : NULL;
	if (!js && o.conf.state_dir) {
		char mb[1100];

		fprintf(stderr, "chaintop prune: warning: %s; what interrupted backup runs left is not "
			"listed\n", ct_sanitize(e.msg, mb, sizeof(mb)));
	}
	for (int i = 0; js && i < o.n; i++) {
		const struct ct_pool_conf *pc = o.ws.w[i].conf;

		ct_err_init(&e);
		if (!o.pools[i].connected)
			continue;
		if (ct_jobstore_list_intents(js, pc->name, NULL, &intents[i], &n_intents[i], &e) < 0 ||
		    ct_jobstore_list_export_tasks(js, pc->name, NULL, &tasks[i], &n_tasks[i], &e) < 0) {
			char mb[1100];

			fprintf(stderr, "chaintop prune: warning: pool '%s': %s; what interrupted backup "
				"runs left is not listed\n", pc->name, ct_sanitize(e.msg, mb, sizeof(mb)));
		}
	}
	ct_oneshot_lock(&o);
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
		{
			const struct ct_pool *pr = ct_model_pool(p->model);

			pool_uuids[i] = ct_xstrdup(pr ? pr->o.uuid : NULL);
		}
		ct_prune_find(p->model, &o.conf, pc, older_than, now, flags, &lists[i]);
		n_left += ct_prune_find_leftovers(p->model, pc, intents[i], n_intents[i], tasks[i],
						  n_tasks[i], &lists[i]);
		if (lists[i].n > 1)
			ct_prune_effect_of(p->model, &lists[i], &effects[i]);
	}
	ct_oneshot_unlock(&o);

	if (json) {
		for (int i = 0; i < o.n; i++)
			ct_prune_plan(&lists[i], &plans[i]);
		rc = write_json(&o, lists, plans, effects, pool_uuids, flags, older_than, now) < 0 ||
		     load_failed ? 2 : 0;
		goto out;
	}

	for (int i = 0; i < o.n; i++)
		total += lists[i].n;
	for (int i = 0; i < o.n; i++)
		if (lists[i].n_skips) {
			ct_prune_skips_print(stdout, &lists[i]);
			printf("\n");
		}
	for (int i = 0; i < o.n; i++)
		if (lists[i].n_left) {
			ct_prune_leftovers_print(stdout, &lists[i]);
			printf("\n");
		}
	if (total == 0 && n_left == 0) {
		printf("Nothing to prune: no stale snapshot and no orphan disk%s.\n",
		       load_failed ? " in the pools that could be read" : "");
		rc = load_failed ? 2 : 0;
		goto out;
	}
	if (total)
		printf("%d candidate%s:\n\n", total, total == 1 ? "" : "s");
	for (int i = 0; i < o.n; i++)
		if (lists[i].n)
			ct_prune_list_print(stdout, &lists[i]);
	for (int i = 0; i < o.n; i++) {
		const struct ct_pool_conf *pc = o.ws.w[i].conf;

		/* pending ones too: resolving re-checks them on fresh data */
		if (!pc->read_only)
			n_resolve += lists[i].n_left;
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
	if (n_calls == 0 && n_resolve == 0) {
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
		if (!confirm(n_calls + n_resolve, n_pools_todo ? n_pools_todo : 1)) {
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

		if (pc->read_only)
			continue;
		po.cfg = &o.conf;
		po.pc = pc;
		po.cands = &lists[i];
		po.progress = print_progress;
		po.js = js;
		if (lists[i].n_left) {
			int nres = 0;

			printf("\nResolving what interrupted backup runs left on pool '%s':\n", pc->name);
			fflush(stdout);
			ct_err_init(&e);
			if (ct_prune_resolve_leftovers(&po, &nres, &e) < 0) {
				char msg[1100];

				fprintf(stderr, "chaintop prune: %s\n", ct_sanitize(e.msg, msg, sizeof(msg)));
				if (rc < 1)
					rc = 1;
			}
			printf("%d resolved; each is recorded as a \"recover\" step of its run "
			       "('chaintop report RUN' shows it).\n", nres);
		}
		if (!lists[i].n)
			continue;
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
	for (int i = 0; pool_uuids && i < o.n; i++)
		free(pool_uuids[i]);
	free(pool_uuids);
	for (int i = 0; intents && i < o.n; i++) {
		ct_intents_release(intents[i], n_intents[i]);
		ct_intents_release(tasks[i], n_tasks[i]);
	}
	free(intents);
	free(tasks);
	free(n_intents);
	free(n_tasks);
	ct_jobstore_close(js);
	free(lists);
	free(plans);
	free(effects);
	ct_oneshot_release(&o);
	return rc;
}
