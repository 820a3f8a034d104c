/* serve.c - `chaintop serve`: keep every configured pool live (the console's watcher: one
 * thread a pool following event.from) and answer over HTTP:
 *   GET /metrics        Prometheus text 0.0.4, or OpenMetrics 1.0 when the Accept header asks
 *   GET /healthz        "ok" and one line a pool (the process answers: 200 even with pools down)
 *   GET /api/v1/state   the `tree --json` document, current
 *
 * Two threads beside the watchers. The judging thread follows the watchers' wake pipe:
 * when a pool changes (at most once a second a pool), and every REJUDGE_S for what time
 * alone changes (ages, stalls, ETAs), it judges the pool again (ct_chain_refresh, as the
 * console does), builds its metric samples aside and swaps them in under pub_lock. This
 * thread runs the poll() loop of the HTTP server (src/lib/httpd.c) and the signal pipe; a
 * scrape only formats the published samples under pub_lock: no XAPI call, no model lock,
 * no wait for a judgement, so a pool that is big, down or slow never delays it. A pool that
 * is down keeps its last known figures, with chaintop_pool_up 0 and
 * chaintop_pool_data_age_seconds saying how old they are. /api/v1/state reads the models
 * through the reports, so it takes judge_lock (between two pools' judgements) and the
 * models' locks.
 *
 * Transitions (a pool down, a new CRITICAL problem, an SR's GC stalled) go to the global
 * notify block (config.h) once they have lasted serve.notify_after, one message a pool and
 * judgement, sent by a third thread so a slow command or webhook never holds a judgement.
 *
 * Read-only by construction: this file makes no XAPI session of its own and includes
 * nothing that can change a pool (no jobs/backup.h, jobs/prune.h or xapi/xapi.h); the only
 * calls to the pools are the watchers' (login, pool.get_all, get_all_records, event.from,
 * logout). The HTTP side accepts GET and HEAD only. tests/integration/test_serve.sh checks
 * both against the simulator's call log. */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "cli/stopsig.h"
#include "config/config.h"
#include "engine/chain.h"
#include "jobs/jobstore.h"
#include "jobs/keepup.h"
#include "jobs/notify.h"
#include "lib/err.h"
#include "lib/httpd.h"
#include "lib/util.h"
#include "output/metrics.h"
#include "output/output.h"
#include "watch/stall_store.h"
#include "watch/watch.h"

#define REJUDGE_S 10          /* judge again this often with no change (time-based verdicts) */
#define MIN_REFRESH_MS 1000   /* at most this often a pool on changes */
#define JOBS_EVERY_S 30       /* job history re-read at least this often */
#define JOBS_MIN_S 5          /* ... and at most this often while a run writes to it */
#define JOBS_RUNS 500         /* newest runs read from the history */

struct job_disks {
	const struct ct_job_conf *job;
	struct ct_disk_rec *d;
	int n;
};

/* A pool's connection status, copied under its model lock. */
struct pstatus {
	char state[24];
	bool loaded, stale, live;
	time_t last_event, data_at;
	int retries;
};

/* A condition worth waking someone for, from its first sighting until it clears. */
struct alert {
	char *key;                   /* "pool_down", "critical:broken:UUID", "gc_stalled:UUID" */
	char *type;                  /* pool_down, critical, gc_stalled */
	char *text;                  /* the reason, as check words it */
	time_t first;
	bool seen, sent;
};

struct spool {
	struct ct_watch *w;
	struct alert *al;            /* under judge_lock */
	int n_al, cap_al;
	/* under judge_lock (the judging thread's, and /api/v1/state's) */
	struct ct_stall stall;
	struct ct_chain_report rep;
	bool have_rep;
	uint64_t rep_gen;
	int64_t rep_ms;
	bool dirty;
	struct pstatus cur;
	struct ct_metrics fig_next;  /* built here, then swapped with fig */
	bool shown;                  /* for the log lines */
	enum ct_pool_state shown_state;
	/* under pub_lock: what scrapes read */
	struct pstatus pub;
	struct ct_metrics fig;       /* the engine's figures of the last judgement */
};

struct serve {
	struct ct_config *cfg;
	struct ct_watchset *ws;
	struct spool *p;
	int n;
	struct ct_httpd *h;
	time_t started;
	pthread_mutex_t pub_lock, judge_lock;
	pthread_t judge;
	int stop_rd, stop_wr;        /* a byte ends the judging thread */
	/* under judge_lock */
	struct ct_jobstore *js;
	bool js_failed;
	struct ct_metrics jobs_next;
	time_t jobs_at;
	struct timespec db_mtime;
	struct job_disks *jd;        /* keep-up: each job's recorded disks */
	int n_jd;
	/* under pub_lock */
	struct ct_metrics jobs;
	/* transitions waiting to be sent (under nq_lock), and the thread that sends them */
	const struct ct_notify_conf *notify;   /* NULL: no notify block wants them */
	pthread_mutex_t nq_lock;
	pthread_cond_t nq_cond;
	struct nmsg { char *json, *summary, *pool; } *nq;
	int n_nq, cap_nq;
	bool nq_stop;
	pthread_t notifier;
};

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;

	fputs("chaintop serve: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

/* ---- job history ---------------------------------------------------------------------- */

static void db_mtime(const struct serve *sv, struct timespec *ts)
{
	struct stat st;
	char *path = ct_xasprintf("%s/jobs.db-wal", sv->cfg->state_dir);

	memset(ts, 0, sizeof(*ts));
	if (stat(path, &st) == 0)
		*ts = st.st_mtim;
	free(path);
	path = ct_xasprintf("%s/jobs.db", sv->cfg->state_dir);
	if (stat(path, &st) == 0 && (st.st_mtim.tv_sec > ts->tv_sec ||
				     (st.st_mtim.tv_sec == ts->tv_sec &&
				      st.st_mtim.tv_nsec > ts->tv_nsec)))
		*ts = st.st_mtim;
	free(path);
}

/* Re-read the job history when it changed (at most every JOBS_MIN_S: a running backup
 * writes to it at every step), else every JOBS_EVERY_S. */
static void refresh_jobs(struct serve *sv, time_t now, bool force)
{
	struct timespec mt;
	struct ct_err e;

	if (sv->js_failed || !sv->cfg->state_dir || !*sv->cfg->state_dir)
		return;
	if (!force && now - sv->jobs_at < JOBS_MIN_S)
		return;
	db_mtime(sv, &mt);
	if (!force && now - sv->jobs_at < JOBS_EVERY_S && mt.tv_sec == sv->db_mtime.tv_sec &&
	    mt.tv_nsec == sv->db_mtime.tv_nsec)
		return;
	ct_err_init(&e);
	if (!sv->js && !(sv->js = ct_jobstore_open(sv->cfg->state_dir, &e))) {
		logf_("warning: %s; no job metrics are served", e.msg);
		sv->js_failed = true;
		return;
	}
	sv->jobs_at = now;
	sv->db_mtime = mt;
	ct_metrics_reset(&sv->jobs_next);
	if (ct_metrics_jobs(&sv->jobs_next, sv->js, JOBS_RUNS, &e) < 0) {
		logf_("warning: cannot read the job history: %s", e.msg);
		ct_metrics_reset(&sv->jobs_next);
	}
	pthread_mutex_lock(&sv->pub_lock);
	{
		struct ct_metrics t = sv->jobs;

		sv->jobs = sv->jobs_next;
		sv->jobs_next = t;
	}
	pthread_mutex_unlock(&sv->pub_lock);
	for (int i = 0; i < sv->n_jd; i++) {
		struct job_disks *jd = &sv->jd[i];

		free(jd->d);
		jd->d = NULL;
		jd->n = 0;
		if (!jd->job->pool)
			continue;
		if (ct_jobstore_job_disks(sv->js, jd->job->name, jd->job->pool, CT_KEEPUP_RUNS,
					  &jd->d, &jd->n, &e) < 0)
			jd->n = 0;
	}
	/* the keep-up verdicts depend on the disks just read */
	for (int i = 0; i < sv->n; i++)
		sv->p[i].dirty = true;
}

/* ---- pools ---------------------------------------------------------------------------- */

static void log_state(struct spool *sp)
{
	struct ct_watch *w = sp->w;
	char name[256], err[1100];

	if (sp->shown && sp->shown_state == w->state)
		return;
	if (!sp->shown && (w->state == CT_POOL_CONNECTING || w->state == CT_POOL_LOADING))
		return;
	sp->shown = true;
	sp->shown_state = w->state;
	ct_sanitize(w->conf->name, name, sizeof(name));
	ct_sanitize(w->error, err, sizeof(err));
	if (w->state == CT_POOL_CONNECTED)
		logf_("pool '%s' connected: %zu SRs, %zu VDIs, %zu VMs", name,
		      ct_model_count(&w->model, CT_SR), ct_model_count(&w->model, CT_VDI),
		      ct_model_count(&w->model, CT_VM));
	else if (w->state == CT_POOL_RECONNECTING || w->state == CT_POOL_AUTH_FAILED)
		logf_("pool '%s' %s (attempt %d)%s%s%s", name, ct_pool_state_name(w->state),
		      w->retries, err[0] ? ": " : "", err,
		      w->loaded ? "; its last known figures are served as stale" : "");
	else
		logf_("pool '%s' %s", name, ct_pool_state_name(w->state));
}

/* Keep-up problems of the backup jobs on this pool (as `check` adds them): each job that
 * outruns an SR's garbage collector, and the jobs together where none does alone. */
static void keepup(struct serve *sv, struct spool *sp)
{
	struct ct_keepup_job *jobs = ct_xcalloc((size_t)sv->n_jd + 1, sizeof(*jobs));
	struct ct_keepup *k = NULL;
	int nj = 0, nk;

	for (int j = 0; j < sv->n_jd; j++)
		if (sv->jd[j].n && !strcmp(sv->jd[j].job->pool, sp->w->conf->name))
			jobs[nj++] = (struct ct_keepup_job){ sv->jd[j].job, sv->jd[j].d, sv->jd[j].n };
	nk = ct_keepup_pool(jobs, nj, sv->cfg, sp->w->conf->name, &sp->w->model, &sp->rep, &k);
	ct_keepup_add_problems(&sp->rep, k, nk);
	ct_keepup_release(k, nk);
	free(jobs);
}

/* Publish the status, and the figures just built when fig_next is set. */
static void publish(struct serve *sv, struct spool *sp, bool figures)
{
	pthread_mutex_lock(&sv->pub_lock);
	sp->pub = sp->cur;
	if (figures) {
		struct ct_metrics t = sp->fig;

		sp->fig = sp->fig_next;
		sp->fig_next = t;
	}
	pthread_mutex_unlock(&sv->pub_lock);
}

/* ---- transitions ------------------------------------------------------------------------ */

static void alert_seen(struct spool *sp, const char *key, const char *type, const char *text,
		       time_t now)
{
	for (int i = 0; i < sp->n_al; i++)
		if (!strcmp(sp->al[i].key, key)) {
			sp->al[i].seen = true;
			return;
		}
	if (sp->n_al == sp->cap_al) {
		sp->cap_al = sp->cap_al ? sp->cap_al * 2 : 8;
		sp->al = ct_xrealloc(sp->al, (size_t)sp->cap_al * sizeof(*sp->al));
	}
	sp->al[sp->n_al++] = (struct alert){ .key = ct_xstrdup(key), .type = ct_xstrdup(type),
					     .text = ct_xstrdup(text), .first = now, .seen = true };
}

static void alert_free(struct alert *a)
{
	free(a->key);
	free(a->type);
	free(a->text);
}

/* Queue one message for the notifier thread (takes the strings). */
static void notify_queue(struct serve *sv, char *json, char *summary, char *pool)
{
	pthread_mutex_lock(&sv->nq_lock);
	if (sv->n_nq == sv->cap_nq) {
		sv->cap_nq = sv->cap_nq ? sv->cap_nq * 2 : 8;
		sv->nq = ct_xrealloc(sv->nq, (size_t)sv->cap_nq * sizeof(*sv->nq));
	}
	sv->nq[sv->n_nq++] = (struct nmsg){ json, summary, pool };
	pthread_cond_signal(&sv->nq_cond);
	pthread_mutex_unlock(&sv->nq_lock);
}

/* The pool's conditions now; those that have lasted notify_after and were not sent yet go
 * out as one message; cleared ones are forgotten (they page again if they come back). */
static void alerts_update(struct serve *sv, struct spool *sp, time_t now)
{
	struct ct_watch *w = sp->w;
	json_t *doc, *ev;
	int n_new = 0;
	const char *first = NULL;
	char name[256];

	if (!sv->notify)
		return;
	for (int i = 0; i < sp->n_al; i++)
		sp->al[i].seen = false;
	if (w->state == CT_POOL_RECONNECTING || w->state == CT_POOL_AUTH_FAILED ||
	    w->state == CT_POOL_FAILED) {
		char *t = ct_xasprintf("pool '%s' is %s: %s", w->conf->name,
				       ct_pool_state_name(w->state),
				       w->error[0] ? w->error : "no answer from its master");

		alert_seen(sp, "pool_down", "pool_down", t, now);
		free(t);
	}
	for (int i = 0; sp->have_rep && i < sp->rep.n_problems; i++) {
		const struct ct_problem *pb = &sp->rep.problems[i];
		char key[256];

		if (pb->severity == CT_SEV_CRITICAL) {
			snprintf(key, sizeof(key), "critical:%s:%s", ct_problem_kind_name(pb->kind),
				 pb->uuid ? pb->uuid : "");
			alert_seen(sp, key, "critical", pb->reason, now);
		} else if (pb->kind == CT_PK_GC_STALLED) {
			snprintf(key, sizeof(key), "gc_stalled:%s", pb->uuid ? pb->uuid : "");
			alert_seen(sp, key, "gc_stalled", pb->reason, now);
		}
	}
	for (int i = 0; i < sp->n_al;) {
		if (!sp->al[i].seen) {
			alert_free(&sp->al[i]);
			sp->al[i] = sp->al[--sp->n_al];
			continue;
		}
		if (!sp->al[i].sent && now - sp->al[i].first >= sv->cfg->serve.notify_after)
			n_new++;
		i++;
	}
	if (!n_new)
		return;
	ct_sanitize(w->conf->name, name, sizeof(name));
	doc = json_object();
	ev = json_array();
	json_object_set_new(doc, "kind", json_string("transition"));
	json_object_set_new(doc, "pool", json_string(name));
	json_object_set_new(doc, "time", json_integer((json_int_t)now));
	for (int i = 0; i < sp->n_al; i++) {
		struct alert *a = &sp->al[i];
		json_t *o;
		char text[1200];

		if (a->sent || now - a->first < sv->cfg->serve.notify_after)
			continue;
		a->sent = true;
		ct_sanitize(a->text, text, sizeof(text));
		o = json_object();
		json_object_set_new(o, "type", json_string(a->type));
		json_object_set_new(o, "key", json_string(a->key));
		json_object_set_new(o, "since", json_integer((json_int_t)a->first));
		json_object_set_new(o, "text", json_string(text));
		json_array_append_new(ev, o);
		if (!first)
			first = a->text;
	}
	json_object_set_new(doc, "events", ev);
	{
		char text[600];

		ct_sanitize(first, text, sizeof(text));
		notify_queue(sv, json_dumps(doc, JSON_INDENT(2)),
			     n_new == 1 ? ct_xasprintf("chaintop serve: pool '%s': %s", name, text) :
			     ct_xasprintf("chaintop serve: pool '%s': %d new problems, first: %s",
					  name, n_new, text), ct_xstrdup(name));
	}
	json_decref(doc);
}

/* The notifier thread: sends what alerts_update queued, one at a time; a failure is logged
 * (the next transition is tried anyway). Messages still queued at the stop are dropped,
 * said in the log. */
static void *notifier_main(void *arg)
{
	struct serve *sv = arg;

	pthread_mutex_lock(&sv->nq_lock);
	for (;;) {
		struct nmsg m;

		while (!sv->n_nq && !sv->nq_stop)
			pthread_cond_wait(&sv->nq_cond, &sv->nq_lock);
		if (sv->nq_stop)
			break;
		m = sv->nq[0];
		memmove(sv->nq, sv->nq + 1, (size_t)--sv->n_nq * sizeof(*sv->nq));
		pthread_mutex_unlock(&sv->nq_lock);
		{
			char *env[2] = { ct_xasprintf("CHAINTOP_KIND=transition"),
					 ct_xasprintf("CHAINTOP_POOL=%s", m.pool) };
			struct ct_notify_msg msg = { .json = m.json, .summary = m.summary,
						     .env = (const char *const *)env, .n_env = 2 };
			struct ct_err e;

			ct_err_init(&e);
			if (ct_notify_send(sv->notify, &msg, &e) < 0)
				logf_("warning: notifying of '%s' failed: %s", m.summary, e.msg);
			else
				logf_("notified: %s", m.summary);
			free(env[0]);
			free(env[1]);
		}
		free(m.json);
		free(m.summary);
		free(m.pool);
		pthread_mutex_lock(&sv->nq_lock);
	}
	for (int i = 0; i < sv->n_nq; i++) {
		logf_("not notified (stopping): %s", sv->nq[i].summary);
		free(sv->nq[i].json);
		free(sv->nq[i].summary);
		free(sv->nq[i].pool);
	}
	sv->n_nq = 0;
	pthread_mutex_unlock(&sv->nq_lock);
	return NULL;
}

/* judge_lock and the model lock held: copy the status, judge again when due, rebuild the
 * figures, publish. */
static void refresh_locked(struct serve *sv, struct spool *sp, time_t now, bool force)
{
	struct ct_watch *w = sp->w;
	struct ct_model *m = &w->model;
	struct pstatus *c = &sp->cur;
	int64_t ms = ct_now_ms();
	bool was_live = c->live, was_loaded = c->loaded;

	snprintf(c->state, sizeof(c->state), "%s", ct_pool_state_name(w->state));
	c->loaded = w->loaded || ct_model_count(m, CT_SR) > 0;
	c->stale = w->stale;
	c->live = w->state == CT_POOL_CONNECTED && !w->stale && c->loaded;
	c->last_event = w->last_event;
	c->retries = w->retries;
	if (c->live)
		c->data_at = w->last_contact > 0 ? w->last_contact : now;
	else if (was_live && w->last_contact > 0)
		c->data_at = w->last_contact;
	log_state(sp);
	/* changes keep coming: at most once a second, but a pool that just loaded or
	 * reconnected never shows as up without its figures */
	if (!force && ((!sp->dirty && m->generation == sp->rep_gen &&
			ms - sp->rep_ms < REJUDGE_S * 1000) ||
		       (ms - sp->rep_ms < MIN_REFRESH_MS && was_live == c->live &&
			was_loaded == c->loaded))) {
		publish(sv, sp, false);
		alerts_update(sv, sp, now);
		return;
	}
	if (c->loaded) {
		sp->have_rep = ct_chain_refresh(m, sv->cfg, w->conf, now, &sp->stall, &sp->rep) == 0;
		if (!sp->have_rep)
			ct_chain_report_release(&sp->rep);
		else
			keepup(sv, sp);
	} else if (sp->have_rep) {
		ct_chain_report_release(&sp->rep);
		sp->have_rep = false;
	}
	sp->rep_gen = m->generation;
	sp->rep_ms = ms;
	sp->dirty = false;
	ct_metrics_reset(&sp->fig_next);
	{
		struct ct_output_pool op = {
			.name = w->conf->name,
			.connected = c->loaded && sp->have_rep,
			.stale = c->stale,
			.model = m,
			.report = sp->have_rep ? &sp->rep : NULL,
		};

		ct_metrics_pool(&sp->fig_next, &op);
	}
	publish(sv, sp, true);
	alerts_update(sv, sp, now);
}

static void refresh_all(struct serve *sv, bool force)
{
	time_t now = time(NULL);

	pthread_mutex_lock(&sv->judge_lock);
	refresh_jobs(sv, now, false);
	pthread_mutex_unlock(&sv->judge_lock);
	for (int i = 0; i < sv->n; i++) {
		struct spool *sp = &sv->p[i];
		struct ct_model *m = &sp->w->model;

		/* one pool at a time: /api/v1/state gets its turn between two */
		pthread_mutex_lock(&sv->judge_lock);
		ct_model_lock(m);
		refresh_locked(sv, sp, now, force);
		ct_model_unlock(m);
		pthread_mutex_unlock(&sv->judge_lock);
	}
}

/* The judging thread: the watchers' wake pipe, and a tick for what time changes. */
static void *judge_main(void *arg)
{
	struct serve *sv = arg;

	refresh_all(sv, true);
	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = ct_watchset_wake_fd(sv->ws), .events = POLLIN },
			{ .fd = sv->stop_rd, .events = POLLIN },
		};

		if (poll(fds, 2, 1000) < 0 && errno != EINTR)
			break;
		if (fds[1].revents & POLLIN)
			break;
		if (fds[0].revents & POLLIN) {
			ct_watchset_drain(sv->ws);
			pthread_mutex_lock(&sv->judge_lock);
			for (int i = 0; i < sv->n; i++)
				sv->p[i].dirty = true;
			pthread_mutex_unlock(&sv->judge_lock);
		}
		refresh_all(sv, false);
	}
	return NULL;
}

/* ---- HTTP ----------------------------------------------------------------------------- */

static void serve_metrics(struct serve *sv, const struct ct_http_req *rq, struct ct_http_resp *rs)
{
	struct ct_metrics status;
	const struct ct_metrics **sets = ct_xcalloc((size_t)sv->n + 3, sizeof(*sets));
	time_t now = time(NULL);
	bool om = ct_metrics_wants_openmetrics(rq->accept);
	int k = 0;

	ct_metrics_init(&status);
	pthread_mutex_lock(&sv->pub_lock);
	for (int i = 0; i < sv->n; i++) {
		struct spool *sp = &sv->p[i];
		struct ct_metrics_status st = {
			.name = sp->w->conf->name,
			.up = sp->pub.live,
			.loaded = sp->pub.loaded,
			.state = sp->pub.state,
			.last_event = sp->pub.last_event,
			.data_at = sp->pub.data_at,
			.retries = sp->pub.retries,
		};

		ct_metrics_pool_status(&status, &st, now);
	}
	sets[k++] = &status;
	for (int i = 0; i < sv->n; i++)
		sets[k++] = &sv->p[i].fig;
	sets[k++] = &sv->jobs;
	ct_metrics_write(&rs->body, sets, k, om);
	pthread_mutex_unlock(&sv->pub_lock);
	rs->content_type = om ? CT_METRICS_CTYPE_OPENMETRICS : CT_METRICS_CTYPE_TEXT;
	free(sets);
	ct_metrics_release(&status);
}

static void serve_state(struct serve *sv, struct ct_http_resp *rs)
{
	struct ct_output_pool *op = ct_xcalloc((size_t)sv->n + 1, sizeof(*op));
	time_t now = time(NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	/* the document reads the models through the reports: both current, under every lock */
	pthread_mutex_lock(&sv->judge_lock);
	for (int i = 0; i < sv->n; i++) {
		struct spool *sp = &sv->p[i];

		ct_model_lock(&sp->w->model);
		if (sp->w->model.generation != sp->rep_gen)
			refresh_locked(sv, sp, now, true);
		op[i].name = sp->w->conf->name;
		op[i].connected = sp->cur.loaded && sp->have_rep;
		op[i].stale = !sp->cur.live && sp->cur.loaded;
		op[i].state = sp->cur.state;
		op[i].error = sp->cur.loaded ? NULL : sp->w->error[0] ? sp->w->error :
			      "the pool has not been loaded yet";
		op[i].model = &sp->w->model;
		op[i].report = sp->have_rep ? &sp->rep : NULL;
	}
	f = open_memstream(&buf, &len);
	if (!f || ct_output_write_json(f, op, sv->n, false, now) < 0 || fclose(f) != 0) {
		if (f && buf == NULL)
			fclose(f);
		rs->status = 500;
		ct_sb_adds(&rs->body, "cannot build the state document\n");
	} else {
		rs->content_type = "application/json";
		ct_sb_add(&rs->body, buf, len);
	}
	free(buf);
	for (int i = sv->n - 1; i >= 0; i--)
		ct_model_unlock(&sv->p[i].w->model);
	pthread_mutex_unlock(&sv->judge_lock);
	free(op);
}

static void serve_health(struct serve *sv, struct ct_http_resp *rs)
{
	int up = 0;

	pthread_mutex_lock(&sv->pub_lock);
	for (int i = 0; i < sv->n; i++)
		up += sv->p[i].pub.live;
	ct_sb_addf(&rs->body, "ok: %d of %d pools connected, up %lld s\n", up, sv->n,
		   (long long)(time(NULL) - sv->started));
	for (int i = 0; i < sv->n; i++) {
		char name[256];

		ct_sanitize(sv->p[i].w->conf->name, name, sizeof(name));
		ct_sb_addf(&rs->body, "pool %s: %s%s\n", name, sv->p[i].pub.state,
			   !sv->p[i].pub.live && sv->p[i].pub.loaded ? " (figures stale)" : "");
	}
	pthread_mutex_unlock(&sv->pub_lock);
}

static void handle(void *ctx, const struct ct_http_req *rq, struct ct_http_resp *rs)
{
	struct serve *sv = ctx;

	if (!strcmp(rq->path, "/metrics")) {
		serve_metrics(sv, rq, rs);
	} else if (!strcmp(rq->path, "/healthz")) {
		serve_health(sv, rs);
	} else if (!strcmp(rq->path, "/api/v1/state")) {
		serve_state(sv, rs);
	} else if (!strcmp(rq->path, "/")) {
		ct_sb_adds(&rs->body, "chaintop serve: GET /metrics (Prometheus), /healthz, "
			   "/api/v1/state (the tree --json document)\n");
	} else {
		rs->status = 404;
		ct_sb_adds(&rs->body, "not found: try /metrics, /healthz or /api/v1/state\n");
	}
}

/* ---- command -------------------------------------------------------------------------- */

static const struct ct_command serve_cmd = {
	.name = "serve",
	.synopsis = "[-c FILE] [--pool NAME]... [--listen HOST:PORT]",
	.description =
		"Keeps every configured pool (or the --pool ones) live through event.from and\n"
		"serves over HTTP (HTTPS with serve.tls_cert and serve.tls_key):\n"
		"  GET /metrics        Prometheus text format (OpenMetrics when asked)\n"
		"  GET /healthz        ok, and each pool's connection state\n"
		"  GET /api/v1/state   the tree --json document, current\n"
		"Read-only: it never changes anything on the pools.\n",
	.footer = "Runs until SIGINT or SIGTERM. Logs to standard error.\n",
	.max_args = 0,
	.usage_exit = 2,
};

int ct_cmd_serve(struct ct_cli *cli)
{
	struct ct_config cfg;
	struct ct_watchset ws;
	struct serve sv;
	struct ct_err e;
	struct ct_httpd_conf hc = { 0 };
	struct ct_stopsig stop = CT_STOPSIG_INIT;
	struct pollfd *fds = NULL;
	const char *listen_opt = NULL;
	int stop_pipe[2] = { -1, -1 };
	bool ws_inited = false, judging = false;
	int rc = 2;

	{
		const struct ct_option opts[] = {
			CT_OPT_STRING("listen", 0, "HOST:PORT", &listen_opt,
				      "address to listen on (default serve.listen, else " CT_SERVE_LISTEN ";\n"
				      "port 0 picks a free one, printed at start)"),
			CT_OPT_END
		};

		if (ct_options_parse(&serve_cmd, opts, cli, &rc) < 0)
			return rc;
		rc = 2;
	}
	memset(&ws, 0, sizeof(ws));
	memset(&sv, 0, sizeof(sv));
	sv.stop_rd = sv.stop_wr = -1;
	pthread_mutex_init(&sv.pub_lock, NULL);
	pthread_mutex_init(&sv.judge_lock, NULL);
	pthread_mutex_init(&sv.nq_lock, NULL);
	pthread_cond_init(&sv.nq_cond, NULL);
	ct_err_init(&e);
	ct_config_init(&cfg);
	ct_metrics_init(&sv.jobs);
	ct_metrics_init(&sv.jobs_next);
	if (ct_config_load(&cfg, cli->config_path, false, &e) < 0) {
		fprintf(stderr, "chaintop serve: %s\n", e.msg);
		goto out;
	}
	for (int i = 0; i < cfg.n_warnings; i++)
		logf_("warning: %s", cfg.warnings[i]);
	if (cfg.n_pools == 0) {
		fprintf(stderr, "chaintop serve: the configuration%s%s%s lists no pools: add a "
			"pools = ( { name = ...; url = ...; } ) entry\n", cfg.path ? " '" : "",
			cfg.path ? cfg.path : "", cfg.path ? "'" : "");
		goto out;
	}
	for (int i = 0; i < cli->n_pools; i++)
		if (!ct_config_pool(&cfg, cli->pools[i])) {
			fprintf(stderr, "chaintop serve: no pool named '%s' in the configuration\n",
				cli->pools[i]);
			goto out;
		}
	if (ct_watchset_init(&ws, &cfg, cli->pools, cli->n_pools, false, &e) < 0) {
		fprintf(stderr, "chaintop serve: %s\n", e.msg);
		goto out;
	}
	ws_inited = true;
	/* the event long-poll is the heartbeat, as in the console: a master that stops
	 * answering is down within CT_WATCH_HEARTBEAT_S + CT_WATCH_REPLY_GRACE_S */
	ws.event_timeout_s = CT_WATCH_HEARTBEAT_S;
	sv.cfg = &cfg;
	sv.ws = &ws;
	sv.n = ws.n;
	sv.started = time(NULL);
	sv.p = ct_xcalloc((size_t)ws.n + 1, sizeof(*sv.p));
	for (int i = 0; i < ws.n; i++) {
		sv.p[i].w = &ws.w[i];
		sv.p[i].dirty = true;
		ct_metrics_init(&sv.p[i].fig);
		ct_metrics_init(&sv.p[i].fig_next);
		snprintf(sv.p[i].pub.state, sizeof(sv.p[i].pub.state), "%s",
			 ct_pool_state_name(ws.w[i].state));
		sv.p[i].cur = sv.p[i].pub;
		/* the merge rates `check` measured, as the console starts from them */
		if (cfg.state_dir && *cfg.state_dir) {
			char *sp = ct_xasprintf("%s/stall.json", cfg.state_dir);
			struct ct_err se;

			ct_err_init(&se);
			if (ct_stall_load(&sv.p[i].stall, sp, &se) < 0) {
				ct_stall_release(&sv.p[i].stall);
				memset(&sv.p[i].stall, 0, sizeof(sv.p[i].stall));
			}
			free(sp);
		}
	}
	sv.jd = ct_xcalloc((size_t)cfg.n_jobs + 1, sizeof(*sv.jd));
	for (int j = 0; j < cfg.n_jobs; j++)
		sv.jd[sv.n_jd++].job = &cfg.jobs[j];
	hc.listen = listen_opt ? listen_opt : cfg.serve.listen;
	hc.tls_cert = cfg.serve.tls_cert;
	hc.tls_key = cfg.serve.tls_key;
	if (cfg.serve.auth == CT_SERVE_AUTH_BEARER) {
		hc.bearer = cfg.serve.secret;
	} else if (cfg.serve.auth == CT_SERVE_AUTH_BASIC) {
		hc.basic_user = cfg.serve.username;
		hc.basic_password = cfg.serve.secret;
	}
	hc.realm = "chaintop";
	sv.h = ct_httpd_new(&hc, handle, &sv, &e);
	if (!sv.h) {
		fprintf(stderr, "chaintop serve: %s\n", e.msg);
		goto out;
	}
	if (pipe(stop_pipe) < 0 || ct_stopsig_install(&stop) < 0) {
		fprintf(stderr, "chaintop serve: cannot create a pipe: %s\n", strerror(errno));
		goto out;
	}
	sv.stop_rd = stop_pipe[0];
	sv.stop_wr = stop_pipe[1];
	if (ct_watchset_start(&ws, &e) < 0) {
		fprintf(stderr, "chaintop serve: %s\n", e.msg);
		goto out;
	}
	refresh_jobs(&sv, time(NULL), true);
	{
		const struct ct_notify_conf *n = ct_config_notify(&cfg, NULL);

		if (n && ct_notify_due(n, true)) {
			if ((errno = pthread_create(&sv.notifier, NULL, notifier_main, &sv)) != 0) {
				fprintf(stderr, "chaintop serve: cannot start a thread: %s\n",
					strerror(errno));
				goto out;
			}
			sv.notify = n;
			logf_("transitions (pool down, new CRITICAL, GC stalled) lasting %llds go to "
			      "the notify block's %s", cfg.serve.notify_after,
			      n->command ? "command" : "webhook");
		}
	}
	if ((errno = pthread_create(&sv.judge, NULL, judge_main, &sv)) != 0) {
		fprintf(stderr, "chaintop serve: cannot start a thread: %s\n", strerror(errno));
		goto out;
	}
	judging = true;
	logf_("listening on %s://%s for %d pool%s%s", ct_httpd_tls(sv.h) ? "https" : "http",
	      ct_httpd_address(sv.h), ws.n, ws.n == 1 ? "" : "s",
	      cfg.serve.auth == CT_SERVE_AUTH_BEARER ? " (bearer token required)" :
	      cfg.serve.auth == CT_SERVE_AUTH_BASIC ? " (basic authentication required)" : "");
	fds = ct_xcalloc((size_t)ct_httpd_nfds(sv.h) + 1, sizeof(*fds));
	for (;;) {
		int nh, t, timeout = 1000;

		fds[0].fd = stop.fd[0];
		fds[0].events = POLLIN;
		fds[0].revents = 0;
		nh = ct_httpd_pollfds(sv.h, fds + 1, ct_httpd_nfds(sv.h));
		t = ct_httpd_timeout(sv.h);
		if (t >= 0 && t < timeout)
			timeout = t;
		if (poll(fds, (nfds_t)nh + 1, timeout) < 0 && errno != EINTR)
			break;
		if (fds[0].revents & POLLIN) {
			logf_("stopping");
			break;
		}
		ct_httpd_serve(sv.h, fds + 1, nh);
	}
	rc = 0;
out:
	free(fds);
	if (judging) {
		char c = 'q';

		if (write(sv.stop_wr, &c, 1) < 0)
			logf_("warning: cannot stop the judging thread: %s", strerror(errno));
		pthread_join(sv.judge, NULL);
	}
	if (sv.notify) {
		pthread_mutex_lock(&sv.nq_lock);
		sv.nq_stop = true;
		pthread_cond_signal(&sv.nq_cond);
		pthread_mutex_unlock(&sv.nq_lock);
		pthread_join(sv.notifier, NULL);
	}
	free(sv.nq);
	pthread_mutex_destroy(&sv.nq_lock);
	pthread_cond_destroy(&sv.nq_cond);
	if (ws_inited) {
		ct_watchset_stop(&ws);
	}
	for (int i = 0; sv.p && i < sv.n; i++) {
		if (sv.p[i].have_rep)
			ct_chain_report_release(&sv.p[i].rep);
		ct_stall_release(&sv.p[i].stall);
		ct_metrics_release(&sv.p[i].fig);
		ct_metrics_release(&sv.p[i].fig_next);
		for (int k = 0; k < sv.p[i].n_al; k++)
			alert_free(&sv.p[i].al[k]);
		free(sv.p[i].al);
	}
	free(sv.p);
	for (int j = 0; j < sv.n_jd; j++)
		free(sv.jd[j].d);
	free(sv.jd);
	ct_metrics_release(&sv.jobs);
	ct_metrics_release(&sv.jobs_next);
	ct_jobstore_close(sv.js);
	ct_httpd_free(sv.h);
	if (ws_inited)
		ct_watchset_release(&ws);
	ct_stopsig_restore(&stop);
	if (stop_pipe[0] >= 0)
		close(stop_pipe[0]);
	if (stop_pipe[1] >= 0)
		close(stop_pipe[1]);
	pthread_mutex_destroy(&sv.pub_lock);
	pthread_mutex_destroy(&sv.judge_lock);
	ct_config_release(&cfg);
	return rc;
}
