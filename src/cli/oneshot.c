/* oneshot.c - load the configured pools once for a command (see oneshot.h). */
#include <stdlib.h>
#include <string.h>

#include "cli/oneshot.h"
#include "lib/util.h"

int ct_oneshot_load(struct ct_oneshot *o, const char *config_path,
		    const char *const *only, int n_only, int timeout_ms,
		    const char *limit_name, FILE *warn_to, struct ct_err *e)
{
	int64_t start = ct_now_ms();

	memset(o, 0, sizeof(*o));
	ct_config_init(&o->conf);
	if (ct_config_load(&o->conf, config_path, false, e) < 0)
		return -1;
	for (int i = 0; warn_to && i < o->conf.n_warnings; i++)
		fprintf(warn_to, "chaintop: warning: %s\n", o->conf.warnings[i]);
	if (o->conf.n_pools == 0)
		return ct_err_set(e, CT_E_CONFIG, "the configuration%s%s%s lists no pools: add a "
				  "pools = ( { name = ...; url = ...; } ) entry",
				  o->conf.path ? " '" : "", o->conf.path ? o->conf.path : "",
				  o->conf.path ? "'" : "");
	for (int i = 0; i < n_only; i++) {
		if (!ct_config_pool(&o->conf, only[i])) {
			struct ct_sb sb;

			ct_sb_init(&sb);
			for (int k = 0; k < o->conf.n_pools; k++)
				ct_sb_addf(&sb, "%s'%s'", k ? ", " : "", o->conf.pools[k].name);
			ct_err_set(e, CT_E_USAGE, "no pool named '%s' in the configuration; the "
				   "configured pools are %s", only[i], sb.buf);
			ct_sb_release(&sb);
			return -1;
		}
	}
	if (ct_watchset_init(&o->ws, &o->conf, only, n_only, true, e) < 0)
		return -1;
	o->ws_ready = true;
	/* the calls themselves end by the deadline, each failure saying what it waited for;
	 * the wait below has a little more so they can report it */
	o->ws.deadline_ms = start + timeout_ms;
	o->ws.deadline_why = ct_xstrdup(limit_name ? limit_name : "the load's time limit");
	if (ct_watchset_start(&o->ws, e) < 0)
		return -1;
	ct_watchset_wait_settled(&o->ws, timeout_ms + 1000);
	o->n = o->ws.n;
	o->pools = ct_xcalloc((size_t)o->n + 1, sizeof(*o->pools));
	for (int i = 0; i < o->n; i++) {
		struct ct_watch *w = &o->ws.w[i];
		struct ct_output_pool *p = &o->pools[i];

		ct_model_lock(&w->model);
		p->name = w->conf->name;
		p->connected = w->loaded;
		p->stale = w->stale;
		p->state = ct_pool_state_name(w->state);
		if (!w->loaded)
			p->error = w->error[0] ? w->error :
				"the pool did not finish loading in time (is the pool master answering?)";
		p->model = &w->model;
		ct_model_unlock(&w->model);
	}
	return 0;
}

void ct_oneshot_lock(struct ct_oneshot *o)
{
	for (int i = 0; i < o->n; i++)
		ct_model_lock(o->pools[i].model);
}

void ct_oneshot_unlock(struct ct_oneshot *o)
{
	for (int i = o->n - 1; i >= 0; i--)
		ct_model_unlock(o->pools[i].model);
}

void ct_oneshot_release(struct ct_oneshot *o)
{
	if (!o)
		return;
	if (o->ws_ready) {
		ct_watchset_stop(&o->ws);
		ct_watchset_release(&o->ws);
	}
	free(o->pools);
	ct_config_release(&o->conf);
	memset(o, 0, sizeof(*o));
}
