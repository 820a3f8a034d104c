/* oneshot.h - the one-shot load of the commands that look at the pools once (tree, check,
 * scan, prune, report --incident): configuration, one watcher a pool in once mode, wait,
 * then the pools as output/ formats them. The console keeps its watchers running instead. */
#ifndef CT_CLI_ONESHOT_H
#define CT_CLI_ONESHOT_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "config/config.h"
#include "engine/chain.h"
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
	/* filled by ct_oneshot_judge */
	struct ct_chain_report *reports;   /* one a pool (pools[i].report points here) */
	struct ct_stall stall;             /* the GC stall memory of state_dir */
	char *stall_path;
	bool have_stall;
};
int ct_oneshot_load(struct ct_oneshot *o, const char *config_path,
		    const char *const *only, int n_only, int timeout_ms,
		    const char *limit_name, FILE *warn_to, struct ct_err *e);
/* Lock / unlock every loaded pool's model (rendering and evaluation happen in between). */
void ct_oneshot_lock(struct ct_oneshot *o);
void ct_oneshot_unlock(struct ct_oneshot *o);
/* For a command about to exit: the models are left to the exit (ct_watchset_release_for_exit:
 * freeing a big pool's records one by one cost more than writing them). */
void ct_oneshot_release(struct ct_oneshot *o);

/* Judge every loaded pool as `check` does (models locked by the caller): the measured
 * merge rates and stall memory of state_dir/stall.json, the engine's verdicts and, with
 * keepup, whether each SR keeps up with the backup jobs (from the job history). A state
 * directory or file that cannot be read is a warning on stderr naming who ("chaintop
 * check"); the pools are judged without it. With saving, the state directory is made
 * ready for ct_oneshot_save_stall, which writes the memory back (check does; tree and
 * report --incident only read it). */
void ct_oneshot_judge(struct ct_oneshot *o, const char *who, bool keepup, bool saving,
		      time_t now);
void ct_oneshot_save_stall(struct ct_oneshot *o, const char *who);

#endif
