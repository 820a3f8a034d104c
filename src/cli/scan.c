/* cli_scan.c - `chaintop scan --sr NAME|UUID`: SR.scan on one SR, which makes SM rescan it
 * and kick its garbage collector (an idle GC with work waiting starts again). Refused in
 * read-only mode and on read_only pools. Exit 0 scanned, 1 the call failed, 2 usage,
 * configuration or an SR that is not found (or is ambiguous). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "cli/oneshot.h"
#include "cli/options.h"
#include "output/output.h"
#include "lib/util.h"
#include "watch/watch.h"
#include "xapi/xapi.h"

#define SCAN_LOAD_TIMEOUT_MS (180 * 1000)

static const char *nz(const char *s)
{
	return s ? s : "";
}

static const struct ct_command scan_cmd = {
	.name = "scan",
	.synopsis = "[-c FILE] [--pool NAME]... --sr NAME|UUID",
	.description =
		"Calls SR.scan on one SR: SM rescans it and kicks its garbage collector, which then\n"
		"coalesces the work waiting there (the way to restart a GC that went idle). The SR\n"
		"is named by its name label or uuid; a name several SRs share must be given as a\n"
		"uuid (or narrowed with --pool). Refused with --read-only or on a read_only pool.\n",
	.footer = "Exit status: 0 scanned, 1 the scan failed, 2 usage, configuration, or no such SR.\n",
	.max_args = 0,
	.usage_exit = 2,
};

struct scan_target {
	int pool;                 /* index in the oneshot's pools */
	char *ref, *uuid, *name;  /* owned */
};

int ct_cmd_scan(struct ct_cli *cli)
{
	struct ct_oneshot o;
	struct scan_target t = { .pool = -1 };
	const char *want = NULL;
	struct ct_xapi *x = NULL;
	struct ct_xarg arg;
	const struct ct_pool_conf *pc;
	int rc = 2, matches = 0;
	char nb[128], pb[128];
	struct ct_err e;

	const struct ct_option opts[] = {
		CT_OPT_STRING("sr", 0, "NAME|UUID", &want, "the SR to scan: its name label or uuid"),
		CT_OPT_END
	};

	if (ct_options_parse(&scan_cmd, opts, cli, &rc) < 0)
		return rc;
	rc = 2;
	if (!want || !*want) {
		fprintf(stderr, "chaintop scan: say which SR with --sr NAME or --sr UUID\n");
		return 2;
	}
	if (cli->read_only) {
		fprintf(stderr, "chaintop scan: --read-only is set and a scan changes the pool "
			"(it starts the garbage collector): drop --read-only to scan\n");
		return 2;
	}
	ct_err_init(&e);
	if (ct_oneshot_load(&o, cli->config_path, cli->pools, cli->n_pools,
			    SCAN_LOAD_TIMEOUT_MS, "chaintop scan's load limit of 3 minutes",
			    stderr, &e) < 0) {
		fprintf(stderr, "chaintop scan: %s\n", e.msg);
		goto out;
	}
	ct_oneshot_lock(&o);
	for (int i = 0; i < o.n; i++) {
		struct ct_model *m = o.pools[i].model;

		if (!o.pools[i].connected || !m)
			continue;
		for (size_t k = 0; k < ct_model_count(m, CT_SR); k++) {
			const struct ct_sr *sr = (const struct ct_sr *)ct_model_at(m, CT_SR, k);

			if (strcasecmp(nz(sr->o.uuid), want) && strcmp(nz(sr->name_label), want))
				continue;
			if (++matches == 1) {
				t.pool = i;
				t.ref = ct_xstrdup(sr->o.ref);
				t.uuid = ct_xstrdup(sr->o.uuid);
				t.name = ct_xstrdup(sr->name_label);
			} else {
				fprintf(stderr, "chaintop scan: SR '%s' of pool '%s' (%s) also matches\n",
					ct_sanitize(sr->name_label, nb, sizeof(nb)),
					ct_sanitize(o.pools[i].name, pb, sizeof(pb)), nz(sr->o.uuid));
			}
		}
	}
	ct_oneshot_unlock(&o);
	if (matches == 0) {
		fprintf(stderr, "chaintop scan: no SR named or with uuid '%s' in the pools that "
			"could be read ('chaintop tree' lists them)\n", ct_sanitize(want, nb, sizeof(nb)));
		goto out;
	}
	if (matches > 1) {
		fprintf(stderr, "chaintop scan: '%s' matches %d SRs (also %s): give the uuid or "
			"--pool\n", ct_sanitize(want, nb, sizeof(nb)), matches, nz(t.uuid));
		goto out;
	}
	pc = o.ws.w[t.pool].conf;
	if (pc->read_only) {
		fprintf(stderr, "chaintop scan: pool '%s' is read_only in the configuration: not "
			"scanning SR '%s'\n", pc->name, ct_sanitize(t.name, nb, sizeof(nb)));
		goto out;
	}
	x = ct_watch_new_session(pc);
	arg = CT_XSTR(t.ref);
	if (ct_xapi_login(x, &e) < 0 || ct_xapi_call(x, "SR.scan", &arg, 1, NULL, &e) < 0) {
		fprintf(stderr, "chaintop scan: SR.scan of SR '%s' (%s) of pool '%s' failed: %s\n",
			ct_sanitize(t.name, nb, sizeof(nb)), t.uuid, pc->name, e.msg);
		rc = 1;
		goto out;
	}
	printf("SR '%s' (%s) of pool '%s' scanned: SM starts its garbage collector when there "
	       "is work ('chaintop check' shows it running)\n",
	       ct_sanitize(t.name, nb, sizeof(nb)), t.uuid, pc->name);
	rc = 0;
out:
	ct_xapi_free(x);
	free(t.ref);
	free(t.uuid);
	free(t.name);
	ct_oneshot_release(&o);
	return rc;
}
