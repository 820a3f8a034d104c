/* cli_tree.c - `chaintop tree`: load the pools once, print pool > SR > VDI chain forest
 * (or the JSON document of design.md section 4) and exit. */
#include <errno.h>
#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/chain.h"
#include "watch/stall_store.h"
#include "cli/cli.h"
#include "cli/oneshot.h"
#include "cli/options.h"
#include "output/output.h"
#include "lib/util.h"

/* How long a one-shot command waits for the slowest pool. */
#define TREE_LOAD_TIMEOUT_MS (180 * 1000)

static const struct ct_command tree_cmd = {
	.name = "tree",
	.synopsis = "[-c FILE] [--pool NAME]... [--json]",
	.description =
		"Connects to each configured pool (or the --pool ones), loads it once, prints\n"
		"pool > SR > VDI chain forest and exits. Each VDI line shows the VM and device using\n"
		"it (or the snapshot name and age), its depth, size and state: ok, pending (coalesce\n"
		"links above it), stacked (more stacked base copies than the gate tolerates), deep,\n"
		"garbage (childless base copy), broken (missing parent or a cycle), orphan.\n",
	.footer =
		"Exit status: 0 when every pool loaded, 1 when one could not be loaded (the others\n"
		"are still printed), 2 on a usage or configuration error.\n",
	.max_args = 0,
	.usage_exit = 2,
};

static bool locale_is_utf8(void)
{
	const char *cs = nl_langinfo(CODESET);

	return cs && (!strcasecmp(cs, "UTF-8") || !strcasecmp(cs, "utf8"));
}

int ct_cmd_tree(struct ct_cli *cli)
{
	struct ct_oneshot o;
	struct ct_err e;
	bool json = false;
	int rc = 2, failed = 0;
	time_t now;

	const struct ct_option opts[] = {
		CT_OPT_BOOL("json", 0, &json,
			    "print one JSON document instead (pools, srs, vdis, vms; see chaintop(1))"),
		CT_OPT_END
	};

	if (ct_options_parse(&tree_cmd, opts, cli, &rc) < 0)
		return rc;
	rc = 2;
	ct_err_init(&e);
	if (ct_oneshot_load(&o, cli->config_path, cli->pools, cli->n_pools,
			    TREE_LOAD_TIMEOUT_MS, "chaintop tree's load limit of 3 minutes", stderr,
			    &e) < 0) {
		fprintf(stderr, "chaintop tree: %s\n", e.msg);
		goto out;
	}
	/* the merge rates `check` and the console measured (read only: tree saves nothing) */
	now = time(NULL);
	ct_oneshot_lock(&o);
	ct_oneshot_judge(&o, "chaintop tree", false, false, now);
	for (int i = 0; i < o.n; i++)
		if (!o.pools[i].connected)
			failed++;
	if (json) {
		if (ct_output_write_json(stdout, o.pools, o.n, false, now) < 0)
			fprintf(stderr, "chaintop tree: cannot write the output: %s\n", strerror(errno));
	} else {
		ct_output_tree_text(stdout, o.pools, o.n, locale_is_utf8(), now);
	}
	ct_oneshot_unlock(&o);
	fflush(stdout);
	for (int i = 0; i < o.n; i++) {
		char buf[1100];

		if (!o.pools[i].connected)
			fprintf(stderr, "chaintop tree: pool '%s' could not be loaded: %s\n",
				o.pools[i].name, ct_sanitize(o.pools[i].error, buf, sizeof(buf)));
	}
	rc = failed ? 1 : 0;
out:
	ct_oneshot_release(&o);
	return rc;
}
