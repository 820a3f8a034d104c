/* oneshot.c - load the configured pools once for a command (see oneshot.h). */
#include <stdlib.h>
#include <string.h>

#include "cli/oneshot.h"
#include "jobs/jobstore.h"
#include "jobs/keepup.h"
#include "lib/util.h"
#include "watch/stall_store.h"

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
	for (int i = 0; o->reports && i < o->n; i++)
		ct_chain_report_release(&o->reports[i]);
	free(o->reports);
	free(o->stall_path);
	ct_stall_release(&o->stall);
	if (o->ws_ready) {
		ct_watchset_stop(&o->ws);
		ct_watchset_release_for_exit(&o->ws);
	}
	free(o->pools);
	ct_config_release(&o->conf);
	memset(o, 0, sizeof(*o));
}

/* "Can this SR keep up?" for each backup job of the pool: a WARNING on each SR where the
 * chain work the job adds per run outruns the SR's measured merge rate, and one where the
 * jobs together outrun it though none does alone. *js is opened on first need (and closed
 * by the caller). Caller holds the model lock. */
static void keepup_problems(const char *who, struct ct_jobstore **js, bool *js_failed,
			    const struct ct_config *c, const char *pool, struct ct_model *m,
			    struct ct_chain_report *r)
{
	struct ct_keepup_job *jobs = ct_xcalloc((size_t)c->n_jobs + 1, sizeof(*jobs));
	struct ct_keepup *k = NULL;
	int nj = 0, nk;
	struct ct_err e;

	ct_err_init(&e);
	for (int j = 0; j < c->n_jobs; j++) {
		const struct ct_job_conf *job = &c->jobs[j];
		struct ct_disk_rec *d = NULL;
		int n = 0;

		if (!job->pool || !pool || strcmp(job->pool, pool) || *js_failed)
			continue;
		if (!*js && !(*js = ct_jobstore_open(c->state_dir, &e))) {
			fprintf(stderr, "%s: warning: %s; the backup jobs' chain growth is "
				"not judged\n", who, e.msg);
			*js_failed = true;
			break;
		}
		if (ct_jobstore_job_disks(*js, job->name, pool, CT_KEEPUP_RUNS, &d, &n, &e) < 0) {
			fprintf(stderr, "%s: warning: %s\n", who, e.msg);
			continue;
		}
		jobs[nj++] = (struct ct_keepup_job){ job, d, n };
	}
	nk = ct_keepup_pool(jobs, nj, c, pool, m, r, &k);
	ct_keepup_add_problems(r, k, nk);
	ct_keepup_release(k, nk);
	for (int j = 0; j < nj; j++)
		free((void *)jobs[j].d);
	free(jobs);
}

void ct_oneshot_judge(struct ct_oneshot *o, const char *who, bool keepup, bool saving,
		      time_t now)
{
	struct ct_jobstore *js = NULL;
	bool js_failed = false;
	struct ct_err e;

	ct_err_init(&e);
	if (o->conf.state_dir && *o->conf.state_dir && !o->stall_path) {
		o->stall_path = ct_xasprintf("%s/stall.json", o->conf.state_dir);
		if (saving && ct_state_dir_ready(o->conf.state_dir, &e) < 0)
			fprintf(stderr, "%s: warning: %s; GC stall detection forgets between runs\n",
				who, e.msg);
		else if (ct_stall_load(&o->stall, o->stall_path, &e) < 0)
			fprintf(stderr, "%s: warning: %s\n", who, e.msg);
		else
			o->have_stall = true;
	}
	if (!o->reports)
		o->reports = ct_xcalloc((size_t)o->n + 1, sizeof(*o->reports));
	for (int i = 0; i < o->n; i++) {
		struct ct_output_pool *p = &o->pools[i];

		if (!p->connected)
			continue;
		ct_chain_report_release(&o->reports[i]);
		ct_chain_eval(p->model, &o->conf, o->ws.w[i].conf, now,
			      o->have_stall ? &o->stall : NULL, &o->reports[i]);
		p->report = &o->reports[i];
		/* the rates live in the state directory, as the history does */
		if (keepup && o->have_stall)
			keepup_problems(who, &js, &js_failed, &o->conf, o->ws.w[i].conf->name,
					p->model, &o->reports[i]);
	}
	ct_jobstore_close(js);
}

void ct_oneshot_save_stall(struct ct_oneshot *o, const char *who)
{
	struct ct_err e;

	ct_err_init(&e);
	if (o->have_stall && ct_stall_save(&o->stall, o->stall_path, &e) < 0)
		fprintf(stderr, "%s: warning: %s\n", who, e.msg);
}
