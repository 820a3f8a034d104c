/* oneshot.h - the one-shot load of the commands that look at the pools once (tree, check,
 * scan, prune, report --incident): configuration, one watcher a pool in once mode, wait,
 * then the pools as output/ formats them. The console keeps its watchers running instead. */
#ifndef CT_CLI_ONESHOT_H
#define CT_CLI_ONESHOT_H

#include <stdbool.h>
#include <stdio.h>

#include "config/config.h"
#include "lib/err.h"
#include "output/output.h"
#include "watch/watch.h"

/* Configuration, one watcher a pool in once mode, wait until every pool has loaded or
 * failed (at most timeout_ms: every XAPI call of the load ends by then, and its failure
 * names limit_name, e.g. "check --timeout 50s"), then a struct ct_output_pool per selected
 * pool, in the watchset's order.
 * Pool names not in the configuration are an error (CT_E_USAGE) naming the known ones.
 * Config warnings are printed to warn_to (may be NULL). Release with ct_oneshot_release
 * (also after a failed load). */
struct ct_oneshot {
	struct ct_config conf;
	struct ct_watchset ws;
	bool ws_ready;
	struct ct_output_pool *pools;
	int n;
};
int ct_oneshot_load(struct ct_oneshot *o, const char *config_path,
		    const char *const *only, int n_only, int timeout_ms,
		    const char *limit_name, FILE *warn_to, struct ct_err *e);
/* Lock / unlock every loaded pool's model (rendering and evaluation happen in between). */
void ct_oneshot_lock(struct ct_oneshot *o);
void ct_oneshot_unlock(struct ct_oneshot *o);
void ct_oneshot_release(struct ct_oneshot *o);

#endif
