/* watch.c - one watcher thread a pool (see watch.h).
 *
 * Per thread: log in; take an event token that marks "now" (event.inject on the pool, or
 * event.from(["pool"], "", 0) where inject is refused); load every class in parallel into a
 * fresh model built off-lock, then swap it into the live model under the lock so readers
 * never see a half-loaded pool; then follow event.from, applying each batch under the lock,
 * one byte on the wake pipe per batch or state change.
 *
 * The on_event hook is called just before each change is applied, so for a del the model
 * still holds the record (its name can be shown) and for a mod the old record is there to
 * compare with the new snapshot. After a re-load (not the first load) the objects that
 * appeared or vanished meanwhile are reported as add/del the same way. */
#include "watch/watch.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/util.h"

#define MAX_MESSAGES 200          /* newest ordinary messages kept per pool */
#define MAX_KEPT_MESSAGES 2000    /* newest important ones (see important_message) */
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define AUTH_RETRY_MS 60000

static const enum ct_class all_classes[] = {
	CT_POOL, CT_HOST, CT_SR, CT_VDI, CT_VM, CT_VBD, CT_PBD, CT_TASK, CT_MESSAGE,
	CT_POOL_UPDATE,
};
#define N_ALL (sizeof(all_classes) / sizeof(all_classes[0]))

static const char *const event_classes[] = {
	"pool", "host", "SR", "VDI", "VM", "VBD", "PBD", "task", "message", "pool_update",
};
#define N_EVENT (sizeof(event_classes) / sizeof(event_classes[0]))

const char *ct_pool_state_name(enum ct_pool_state s)
{
	switch (s) {
	case CT_POOL_CONNECTING:
		return "connecting";
	case CT_POOL_LOADING:
		return "loading";
	case CT_POOL_CONNECTED:
		return "connected";
	case CT_POOL_RECONNECTING:
		return "reconnecting";
	case CT_POOL_AUTH_FAILED:
		return "auth-failed";
	case CT_POOL_FAILED:
		return "failed";
	case CT_POOL_STOPPED:
		return "stopped";
	}
	return "unknown";
}

struct ct_xapi *ct_watch_new_session(const struct ct_pool_conf *pc)
{
	struct ct_xapi_opts o = {
		.url = pc->url,
		.username = pc->username,
		.password = pc->password,
		.tls_verify = pc->tls.verify,
		.ca_file = pc->tls.ca_file,
		.fingerprint = pc->tls.fingerprint,
		.connect_timeout_s = 10,
		.call_timeout_s = 120,
		.originator = "chaintop",
		.name = pc->name,
		.login_timeout_s = (long)pc->limits.login_timeout,
		.stall_s = (long)pc->limits.stall_time,
		.reply_max_bytes = (uint64_t)pc->limits.reply_bytes,
		.reply_max_records = (uint64_t)pc->limits.reply_records,
	};

	return ct_xapi_new(&o);
}

/* ---- small helpers ------------------------------------------------------------------------ */

static bool is_stopping(struct ct_watchset *ws)
{
	bool s;

	pthread_mutex_lock(&ws->stop_lock);
	s = ws->stopping;
	pthread_mutex_unlock(&ws->stop_lock);
	return s;
}

static void wake(struct ct_watchset *ws)
{
	ssize_t r;

	do
		r = write(ws->wake_wr, "w", 1);
	while (r < 0 && errno == EINTR);
	/* EAGAIN: the pipe is full, the reader will wake anyway */
}

/* A status change: wake the main loop and whoever waits in ct_watchset_wait_settled. */
static void notify(struct ct_watchset *ws)
{
	wake(ws);
	pthread_mutex_lock(&ws->stop_lock);
	pthread_cond_broadcast(&ws->stop_cond);
	pthread_mutex_unlock(&ws->stop_lock);
}

/* The backoff wait of one pool: ends early when the set stops or the operator asks to
 * reconnect now. */
static void backoff_wait(struct ct_watch *w, long ms)
{
	struct ct_watchset *ws = w->set;
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ws->stop_lock);
	while (!ws->stopping && !w->retry_now) {
		if (ms < 0)   /* held: only the operator ends it */
			pthread_cond_wait(&ws->stop_cond, &ws->stop_lock);
		else if (pthread_cond_timedwait(&ws->stop_cond, &ws->stop_lock, &until) == ETIMEDOUT)
			break;
	}
	w->retry_now = false;
	pthread_mutex_unlock(&ws->stop_lock);
}

int ct_watchset_retry_now(struct ct_watchset *ws)
{
	int n = 0;

	for (int i = 0; i < ws->n; i++) {
		struct ct_watch *w = &ws->w[i];
		bool waiting, hung;
		char what[sizeof(w->waiting_for)];

		ct_model_lock(&w->model);
		waiting = w->state == CT_POOL_RECONNECTING || w->state == CT_POOL_AUTH_FAILED;
		hung = !waiting && w->reply_due > 0 && time(NULL) >= w->reply_due;
		snprintf(what, sizeof(what), "%s", w->waiting_for);
		ct_model_unlock(&w->model);
		if (!waiting && !hung)
			continue;
		pthread_mutex_lock(&ws->stop_lock);
		w->retry_now = true;
		if (hung) {
			w->abandon = true;
			snprintf(w->abandoned, sizeof(w->abandoned), "%s", what[0] ? what : "its call");
		}
		pthread_mutex_unlock(&ws->stop_lock);
		if (hung && w->started)
			ct_xapi_cancel(w->x);   /* watch_main tells this cancel from a stop */
		n++;
	}
	pthread_mutex_lock(&ws->stop_lock);
	pthread_cond_broadcast(&ws->stop_cond);
	pthread_mutex_unlock(&ws->stop_lock);
	return n;
}

void ct_watchset_trust(struct ct_watchset *ws, int i, const char *fingerprint)
{
	struct ct_watch *w;

	if (i < 0 || i >= ws->n)
		return;
	w = &ws->w[i];
	pthread_mutex_lock(&ws->stop_lock);
	free(w->trust_pin);
	w->trust_pin = ct_xstrdup(fingerprint);
	w->retry_now = true;
	pthread_cond_broadcast(&ws->stop_cond);
	pthread_mutex_unlock(&ws->stop_lock);
}

/* A call whose reply is due within due_s from now and that is dropped after limit_s
 * (due_s 0: none out). */
static void expect_reply(struct ct_watch *w, const char *method, long due_s, long limit_s)
{
	ct_model_lock(&w->model);
	w->waiting_since = due_s > 0 ? time(NULL) : 0;
	w->reply_due = due_s > 0 ? w->waiting_since + due_s : 0;
	w->give_up = due_s > 0 ? w->waiting_since + limit_s : 0;
	snprintf(w->waiting_for, sizeof(w->waiting_for), "%s", due_s > 0 ? method : "");
	ct_model_unlock(&w->model);
}

static bool keep_message(const struct ct_message *m)
{
	static const char *const kept[] = { "SR", "VDI", "VM", "Pool" };

	if (!m->cls)
		return false;
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (!strcasecmp(m->cls, kept[i]))
			return true;
	return false;
}

static int cmp_msg_newest_first(const void *a, const void *b)
{
	const struct ct_message *x = *(const struct ct_message *const *)a;
	const struct ct_message *y = *(const struct ct_message *const *)b;

	if (x->timestamp != y->timestamp)
		return x->timestamp > y->timestamp ? -1 : 1;
	return 0;
}

/* Messages no flood of ordinary ones may push out: priority 1-3 (SM's SM_GC_NO_SPACE and
 * coalesce errors are 3) and SM's tapdisk unpause failure (4). xapi posts VM_SNAPSHOTTED
 * (priority 5) on every snapshot: a night of backups must not evict them. */
static bool important_message(const struct ct_message *m)
{
	if (m->priority >= 1 && m->priority <= 3)
		return true;
	return m->name && (!strcmp(m->name, "failed to unpause tapdisk") ||
			   !strcmp(m->name, "SM_GC_NO_SPACE"));
}

/* Keep the newest MAX_MESSAGES ordinary and MAX_KEPT_MESSAGES important messages of m
 * (lock held). */
static void trim_messages(struct ct_model *m)
{
	size_t n = ct_model_count(m, CT_MESSAGE), kept_imp = 0, kept = 0;
	struct ct_message **v;
	char **drop;
	size_t nd = 0;

	if (n <= MAX_MESSAGES)
		return;
	v = ct_xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = (struct ct_message *)ct_model_at(m, CT_MESSAGE, i);
	qsort(v, n, sizeof(*v), cmp_msg_newest_first);
	drop = ct_xcalloc(n, sizeof(*drop));
	for (size_t i = 0; i < n; i++) {
		size_t *c = important_message(v[i]) ? &kept_imp : &kept;

		if (*c < (c == &kept_imp ? MAX_KEPT_MESSAGES : MAX_MESSAGES))
			(*c)++;
		else
			drop[nd++] = ct_xstrdup(v[i]->o.ref);
	}
	for (size_t i = 0; i < nd; i++) {
		ct_model_del(m, CT_MESSAGE, drop[i]);
		free(drop[i]);
	}
	free(drop);
	free(v);
}

static void set_error(struct ct_watch *w, const char *msg)
{
	snprintf(w->error, sizeof(w->error), "%s", msg ? msg : "");
}

/* ---- loading ---------------------------------------------------------------------------- */

static void on_loaded_record(void *ctx, struct ct_obj *o)
{
	struct ct_model *m = ctx;

	if (o->cls == CT_MESSAGE && !keep_message((const struct ct_message *)o)) {
		ct_obj_free(o);
		return;
	}
	ct_model_put(m, o);
}

/* After a re-load: report what appeared and what vanished (live still holds the old state). */
static void report_reload(struct ct_watch *w, struct ct_model *fresh)
{
	struct ct_watchset *ws = w->set;

	for (size_t k = 0; k < N_ALL; k++) {
		enum ct_class c = all_classes[k];

		for (size_t i = 0; i < ct_model_count(fresh, c); i++) {
			struct ct_obj *o = ct_model_at(fresh, c, i);

			if (!ct_model_find(&w->model, c, o->ref)) {
				struct ct_event ev = { .op = CT_EV_ADD, .cls = c, .ref = o->ref,
						       .snapshot = o };

				ws->on_event(ws->on_event_ctx, w->conf->name, &ev, &w->model);
			}
		}
		for (size_t i = 0; i < ct_model_count(&w->model, c); i++) {
			struct ct_obj *o = ct_model_at(&w->model, c, i);

			if (!ct_model_find(fresh, c, o->ref)) {
				struct ct_event ev = { .op = CT_EV_DEL, .cls = c, .ref = o->ref };

				ws->on_event(ws->on_event_ctx, w->conf->name, &ev, &w->model);
			}
		}
	}
}

/* A token marking "now", taken before the load so nothing is missed in between. */
static int take_token(struct ct_watch *w, char **token, struct ct_err *e)
{
	struct ct_strset pools = { 0 };
	struct ct_event_batch b;
	int rc;

	*token = NULL;
	if (ct_xapi_call_set(w->x, "pool.get_all", NULL, 0, &pools, e) == 0 && pools.n > 0) {
		struct ct_err ie;

		ct_err_init(&ie);
		rc = ct_xapi_event_inject(w->x, CT_POOL, pools.v[0], token, &ie);
		ct_strset_release(&pools);
		if (rc == 0 && *token && **token)
			return 0;
		free(*token);
		*token = NULL;
		if (ie.code == CT_E_CANCEL || ie.code == CT_E_NET || ie.code == CT_E_TIMEOUT ||
		    ie.code == CT_E_TLS) {
			*e = ie;
			return -1;
		}
		/* inject refused (read-only role, old xapi): an event.from on the one pool
		 * object gives a current token just as well */
	} else {
		ct_strset_release(&pools);
		if (e->code == CT_E_CANCEL || e->code == CT_E_NET || e->code == CT_E_TIMEOUT ||
		    e->code == CT_E_TLS)
			return -1;
	}
	{
		const char *cls[] = { "pool" };

		if (ct_xapi_event_from(w->x, cls, 1, "", 0.0, &b, e) < 0)
			return -1;
		*token = b.token;
		b.token = NULL;
		ct_event_batch_release(&b);
	}
	return 0;
}

/* Log in if needed, take a token, load everything and swap it in. */
static int session_and_load(struct ct_watch *w, char **token, bool fresh_login,
			    struct ct_err *e)
{
	struct ct_watchset *ws = w->set;
	struct ct_model fresh;
	int rc = -1;

	free(*token);
	*token = NULL;
	if (fresh_login || !ct_xapi_session(w->x)) {
		int lr;

		expect_reply(w, "session.login_with_password", CT_WATCH_REPLY_GRACE_S,
			     w->conf->limits.login_timeout > 0 ? (long)w->conf->limits.login_timeout : 10);
		lr = ct_xapi_login(w->x, e);
		expect_reply(w, NULL, 0, 0);
		if (lr < 0)
			return -1;
	}
	ct_model_lock(&w->model);
	snprintf(w->master_url, sizeof(w->master_url), "%s", ct_xapi_url(w->x));
	w->last_contact = time(NULL);
	if (!w->loaded && w->state == CT_POOL_CONNECTING)
		w->state = CT_POOL_LOADING;
	ct_model_unlock(&w->model);
	notify(ws);
	/* once mode follows no events: no token (event.inject would touch the pool object and
	 * wake every other client watching it, at each run of tree or check) */
	if (!ws->once && take_token(w, token, e) < 0)
		return -1;

	ct_model_init(&fresh);
	ct_model_lock(&fresh);
	rc = ct_xapi_load_classes(w->x, all_classes, N_ALL, on_loaded_record, &fresh, e);
	if (rc == 0)
		trim_messages(&fresh);
	ct_model_unlock(&fresh);
	if (rc == 0) {
		ct_model_lock(&w->model);
		ct_model_lock(&fresh);
		if (w->loaded && ws->on_event)
			report_reload(w, &fresh);
		ct_model_swap(&w->model, &fresh);
		ct_model_unlock(&fresh);
		w->state = CT_POOL_CONNECTED;
		w->loaded = true;
		w->stale = false;
		w->retries = 0;
		w->error[0] = '\0';
		w->next_retry = 0;
		w->last_contact = time(NULL);
		snprintf(w->master_url, sizeof(w->master_url), "%s", ct_xapi_url(w->x));
		ct_model_unlock(&w->model);
		notify(ws);
	}
	ct_model_release(&fresh);
	return rc;
}

/* ---- following events ------------------------------------------------------------------ */

/* Fill in snapshots xapi did not send for add/mod (not expected, but cheap to handle). */
static int fetch_missing(struct ct_watch *w, struct ct_event_batch *b, struct ct_err *e)
{
	for (size_t i = 0; i < b->n; i++) {
		struct ct_event *ev = &b->ev[i];

		if (ev->op == CT_EV_DEL || ev->snapshot || ev->cls == CT_MESSAGE)
			continue;
		if (ct_xapi_get_record(w->x, ev->cls, ev->ref, &ev->snapshot, e) < 0) {
			if (ct_err_is(e, "HANDLE_INVALID")) {   /* gone already: a del follows */
				ev->snapshot = NULL;
				continue;
			}
			return -1;
		}
	}
	return 0;
}

/* Apply one batch (lock held). Returns true when the counts disagree with the model. */
static bool apply_batch(struct ct_watch *w, struct ct_event_batch *b)
{
	struct ct_watchset *ws = w->set;
	bool mismatch = false;

	for (size_t i = 0; i < b->n; i++) {
		struct ct_event *ev = &b->ev[i];

		if (ev->op != CT_EV_DEL && !ev->snapshot)
			continue;
		if (ev->cls == CT_MESSAGE && ev->op != CT_EV_DEL &&
		    !keep_message((const struct ct_message *)ev->snapshot))
			continue;
		if (ev->op == CT_EV_DEL && !ct_model_find(&w->model, ev->cls, ev->ref))
			continue;
		if (ws->on_event)
			ws->on_event(ws->on_event_ctx, w->conf->name, ev, &w->model);
		if (ev->op == CT_EV_DEL) {
			ct_model_del(&w->model, ev->cls, ev->ref);
		} else {
			ct_model_put(&w->model, ev->snapshot);
			ev->snapshot = NULL;
		}
		if (ev->cls == CT_MESSAGE)
			trim_messages(&w->model);
	}
	for (int c = 0; c < CT_NCLASSES; c++) {
		if (c == CT_MESSAGE || b->valid_ref_counts[c] < 0)
			continue;
		if ((size_t)b->valid_ref_counts[c] != ct_model_count(&w->model, (enum ct_class)c))
			mismatch = true;
	}
	return mismatch;
}

/* Follow events until stopped (0), a failure (-1, e set) or a re-load is due (1). */
static int follow_events(struct ct_watch *w, char **token, struct ct_err *e)
{
	struct ct_watchset *ws = w->set;
	int mismatches = 0;

	for (;;) {
		struct ct_event_batch b;
		char *before;
		bool relogged, mismatch;

		if (is_stopping(ws))
			return 0;
		before = ct_xstrdup(ct_xapi_session(w->x));
		/* the long-poll answers by its timeout: later, the master is not answering */
		expect_reply(w, "event.from", (long)ws->event_timeout_s + CT_WATCH_REPLY_GRACE_S,
			     (long)ws->event_timeout_s + 30);
		if (ct_xapi_event_from(w->x, event_classes, N_EVENT, *token, ws->event_timeout_s, &b,
				       e) < 0) {
			expect_reply(w, NULL, 0, 0);
			free(before);
			return -1;
		}
		relogged = !before || !ct_xapi_session(w->x) ||
			   strcmp(before, ct_xapi_session(w->x));
		free(before);
		free(*token);
		*token = b.token;
		b.token = NULL;
		if (fetch_missing(w, &b, e) < 0) {
			ct_event_batch_release(&b);
			return -1;
		}
		ct_model_lock(&w->model);
		mismatch = apply_batch(w, &b);
		w->last_contact = time(NULL);
		w->reply_due = w->waiting_since = w->give_up = 0;
		w->waiting_for[0] = '\0';
		if (b.n > 0)
			w->last_event = w->last_contact;
		ct_model_unlock(&w->model);
		if (b.n > 0)
			wake(ws);
		ct_event_batch_release(&b);
		/* the session expired (xapi restarted?): the token may not mean the same any more,
		 * so read everything again, as Xen Orchestra does */
		if (relogged)
			return 1;
		/* valid_ref_counts disagree: events were missed (xapi keeps a bounded list of
		 * deletions). Twice in a row, to let a change racing the count settle. */
		mismatches = mismatch ? mismatches + 1 : 0;
		if (mismatches >= 2)
			return 1;
	}
}

/* ---- the thread -------------------------------------------------------------------------- */

static void record_failure(struct ct_watch *w, const struct ct_err *e, long *backoff_ms,
			   unsigned int *seed)
{
	long delay;
	bool auth = e->code == CT_E_AUTH, fatal = auth;
	struct ct_xapi_cert cert;
	bool have_cert = e->code == CT_E_TLS && ct_xapi_last_cert(w->x, &cert);

	/* a certificate that failed verification or is not the pinned one, or refused
	 * credentials: retrying changes nothing until someone changes something */
	if (have_cert && cert.seen && (cert.untrusted || cert.mismatch || cert.verify_error[0]))
		fatal = true;
	if (fatal && w->set->hold_fatal) {
		delay = -1;
	} else if (auth) {
		delay = AUTH_RETRY_MS;
	} else {
		/* jitter: 80% .. 120% of the current step */
		delay = *backoff_ms * (80 + (long)(rand_r(seed) % 41)) / 100;
		*backoff_ms = *backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *backoff_ms * 2;
	}
	ct_model_lock(&w->model);
	w->state = auth ? CT_POOL_AUTH_FAILED : CT_POOL_RECONNECTING;
	w->retries++;
	w->stale = w->loaded;
	w->next_retry = delay < 0 ? 0 : time(NULL) + (delay + 999) / 1000;
	w->held = delay < 0;
	w->have_cert = have_cert;
	if (have_cert)
		w->cert = cert;
	w->reply_due = w->waiting_since = w->give_up = 0;
	set_error(w, e->msg);
	ct_model_unlock(&w->model);
	notify(w->set);
	backoff_wait(w, delay);
}

/* Whether the operator dropped this pool's call (ct_watchset_retry_now); clears it. */
static bool take_abandon(struct ct_watch *w)
{
	bool a;

	pthread_mutex_lock(&w->set->stop_lock);
	a = w->abandon;
	w->abandon = false;
	pthread_mutex_unlock(&w->set->stop_lock);
	return a;
}

static void *watch_main(void *arg)
{
	struct ct_watch *w = arg;
	struct ct_watchset *ws = w->set;
	char *token = NULL;
	long backoff_ms = BACKOFF_MIN_MS;
	unsigned int seed = (unsigned int)time(NULL) ^ (unsigned int)(uintptr_t)w;
	bool fresh_login = false;

	while (!is_stopping(ws)) {
		struct ct_err e;
		char *pin;
		int rc;

		ct_err_init(&e);
		pthread_mutex_lock(&ws->stop_lock);
		pin = w->trust_pin;
		w->trust_pin = NULL;
		pthread_mutex_unlock(&ws->stop_lock);
		if (pin) {   /* the operator trusted the certificate: a fresh login with the pin */
			ct_xapi_set_pin(w->x, pin);
			free(pin);
			fresh_login = true;
		}
		ct_model_lock(&w->model);
		w->held = false;
		ct_model_unlock(&w->model);
		if (session_and_load(w, &token, fresh_login, &e) == 0) {
			fresh_login = false;
			backoff_ms = BACKOFF_MIN_MS;
			if (ws->once)
				break;
			rc = follow_events(w, &token, &e);
			if (rc == 0)
				break;
			if (rc == 1)
				continue;
		}
		if (e.code == CT_E_CANCEL && !is_stopping(ws) && take_abandon(w)) {
			/* the operator dropped a call the master was not answering: a failure
			 * like a timeout, and the next attempt starts at once */
			char what[sizeof(w->abandoned)];

			pthread_mutex_lock(&ws->stop_lock);
			snprintf(what, sizeof(what), "%s", w->abandoned);
			pthread_mutex_unlock(&ws->stop_lock);
			ct_xapi_reset_cancel(w->x);
			ct_err_init(&e);
			ct_err_set(&e, CT_E_TIMEOUT, "the master did not answer %s; dropped it and "
				   "reconnecting now, as you asked (R)", what);
		}
		if (e.code == CT_E_CANCEL || is_stopping(ws))
			break;
		if (ws->once) {
			ct_model_lock(&w->model);
			w->state = CT_POOL_FAILED;
			w->retries++;
			set_error(w, e.msg);
			ct_model_unlock(&w->model);
			notify(ws);
			break;
		}
		/* connection lost: log in afresh next time (which also goes back to the configured
		 * url if the master we were redirected to is gone); log out first when the host
		 * still answers, so sessions do not pile up on it */
		if (e.code == CT_E_NET)
			ct_xapi_logout(w->x);
		fresh_login = e.code == CT_E_NET || e.code == CT_E_TIMEOUT || e.code == CT_E_TLS;
		record_failure(w, &e, &backoff_ms, &seed);
	}
	free(token);
	ct_xapi_reset_cancel(w->x);
	ct_xapi_logout(w->x);
	ct_model_lock(&w->model);
	if (!ws->once) {
		w->state = CT_POOL_STOPPED;
	} else if (w->state != CT_POOL_CONNECTED && w->state != CT_POOL_FAILED) {
		w->state = CT_POOL_FAILED;
		if (!w->error[0])
			set_error(w, "stopped before the pool was loaded");
	}
	ct_model_unlock(&w->model);
	notify(ws);
	return NULL;
}

/* ---- the set -------------------------------------------------------------------------- */

int ct_watchset_init(struct ct_watchset *ws, const struct ct_config *c,
		     const char *const *only, int n_only, bool once, struct ct_err *e)
{
	int fds[2];
	pthread_condattr_t ca;
	const struct ct_pool_conf **sel;
	int n = 0;

	memset(ws, 0, sizeof(*ws));
	ws->wake_rd = ws->wake_wr = -1;
	if (c->n_pools == 0)
		return ct_err_set(e, CT_E_CONFIG, "the configuration%s%s%s lists no pools: add a "
				  "pools = ( { name = ...; url = ...; } ) entry",
				  c->path ? " '" : "", c->path ? c->path : "", c->path ? "'" : "");
	sel = ct_xcalloc((size_t)c->n_pools + (size_t)(n_only > 0 ? n_only : 0) + 1, sizeof(*sel));
	if (n_only <= 0) {
		for (int i = 0; i < c->n_pools; i++)
			sel[n++] = &c->pools[i];
	} else {
		for (int i = 0; i < n_only; i++) {
			const struct ct_pool_conf *pc = ct_config_pool(c, only[i]);
			bool dup = false;

			if (!pc) {
				struct ct_sb sb;

				ct_sb_init(&sb);
				for (int k = 0; k < c->n_pools; k++)
					ct_sb_addf(&sb, "%s'%s'", k ? ", " : "", c->pools[k].name);
				ct_err_set(e, CT_E_USAGE, "no pool named '%s' in the configuration; the "
					   "configured pools are %s", only[i], sb.buf);
				ct_sb_release(&sb);
				free(sel);
				return -1;
			}
			for (int k = 0; k < n; k++)
				dup = dup || sel[k] == pc;
			if (!dup)
				sel[n++] = pc;
		}
	}
	for (int i = 0; i < n; i++) {
		if (!sel[i]->password) {
			ct_err_set(e, CT_E_CONFIG, "pool '%s' has no password: set password_file or "
				   "password_env in its configuration", sel[i]->name);
			free(sel);
			return -1;
		}
	}
	if (pipe(fds) < 0) {
		free(sel);
		return ct_err_set(e, CT_E_IO, "cannot create the wake pipe: %s", strerror(errno));
	}
	for (int i = 0; i < 2; i++) {
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
		fcntl(fds[i], F_SETFD, FD_CLOEXEC);
	}
	ws->wake_rd = fds[0];
	ws->wake_wr = fds[1];
	pthread_mutex_init(&ws->stop_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ws->stop_cond, &ca);
	pthread_condattr_destroy(&ca);
	ws->once = once;
	ws->event_timeout_s = 30;
	ws->n = n;
	ws->w = ct_xcalloc((size_t)n + 1, sizeof(*ws->w));
	for (int i = 0; i < n; i++) {
		struct ct_watch *w = &ws->w[i];

		w->conf = sel[i];
		ct_model_init(&w->model);
		w->state = CT_POOL_CONNECTING;
		w->set = ws;
		snprintf(w->master_url, sizeof(w->master_url), "%s", sel[i]->url ? sel[i]->url : "");
	}
	free(sel);
	return 0;
}

int ct_watchset_start(struct ct_watchset *ws, struct ct_err *e)
{
	for (int i = 0; i < ws->n; i++) {
		struct ct_watch *w = &ws->w[i];
		int rc;

		if (w->started)
			continue;
		if (!w->x)
			w->x = ct_watch_new_session(w->conf);
		if (ws->deadline_ms > 0)
			ct_xapi_set_deadline(w->x, ws->deadline_ms, ws->deadline_why);
		rc = pthread_create(&w->thread, NULL, watch_main, w);
		if (rc != 0)
			return ct_err_set(e, CT_E_NOMEM, "cannot start the watcher thread of pool "
					  "'%s': %s", w->conf->name, strerror(rc));
		w->started = true;
	}
	return 0;
}

static bool settled(const struct ct_watch *w, bool once)
{
	if (once)
		return w->state == CT_POOL_CONNECTED || w->state == CT_POOL_FAILED ||
		       w->state == CT_POOL_STOPPED;
	return w->loaded || w->retries > 0 || w->state == CT_POOL_AUTH_FAILED ||
	       w->state == CT_POOL_FAILED || w->state == CT_POOL_STOPPED ||
	       w->state == CT_POOL_RECONNECTING;
}

int ct_watchset_wait_settled(struct ct_watchset *ws, int timeout_ms)
{
	struct timespec until;
	int left = 0;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ws->stop_lock);
	for (;;) {
		left = 0;
		for (int i = 0; i < ws->n; i++) {
			struct ct_watch *w = &ws->w[i];

			ct_model_lock(&w->model);
			if (!settled(w, ws->once))
				left++;
			ct_model_unlock(&w->model);
		}
		if (left == 0 || ws->stopping)
			break;
		if (pthread_cond_timedwait(&ws->stop_cond, &ws->stop_lock, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&ws->stop_lock);
	if (left > 0) {   /* count again after a timeout */
		left = 0;
		for (int i = 0; i < ws->n; i++) {
			ct_model_lock(&ws->w[i].model);
			left += !settled(&ws->w[i], ws->once);
			ct_model_unlock(&ws->w[i].model);
		}
	}
	return left;
}

int ct_watchset_wake_fd(const struct ct_watchset *ws)
{
	return ws->wake_rd;
}

void ct_watchset_drain(struct ct_watchset *ws)
{
	char buf[256];

	while (read(ws->wake_rd, buf, sizeof(buf)) > 0)
		;
}

void ct_watchset_stop(struct ct_watchset *ws)
{
	if (!ws || !ws->w)
		return;
	pthread_mutex_lock(&ws->stop_lock);
	ws->stopping = true;
	pthread_cond_broadcast(&ws->stop_cond);
	pthread_mutex_unlock(&ws->stop_lock);
	for (int i = 0; i < ws->n; i++)
		if (ws->w[i].started)
			ct_xapi_cancel(ws->w[i].x);
	for (int i = 0; i < ws->n; i++) {
		if (ws->w[i].started) {
			pthread_join(ws->w[i].thread, NULL);
			ws->w[i].started = false;
		}
	}
}

void ct_watchset_release(struct ct_watchset *ws)
{
	if (!ws)
		return;
	if (ws->w) {
		ct_watchset_stop(ws);
		for (int i = 0; i < ws->n; i++) {
			ct_xapi_free(ws->w[i].x);
			ws->w[i].x = NULL;
			ct_model_release(&ws->w[i].model);
			free(ws->w[i].trust_pin);
			ws->w[i].trust_pin = NULL;
		}
		free(ws->w);
		ws->w = NULL;
		free(ws->deadline_why);
		ws->deadline_why = NULL;
		pthread_mutex_destroy(&ws->stop_lock);
		pthread_cond_destroy(&ws->stop_cond);
		if (ws->wake_rd >= 0)
			close(ws->wake_rd);
		if (ws->wake_wr >= 0)
			close(ws->wake_wr);
		ws->wake_rd = ws->wake_wr = -1;
	}
	ws->n = 0;
}

/* Builds with a leak checker free everything at exit, so that it sees every real leak. */
#if defined(__SANITIZE_ADDRESS__)
#define CT_LEAK_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define CT_LEAK_CHECK 1
#endif
#endif

void ct_watchset_release_for_exit(struct ct_watchset *ws)
{
#ifndef CT_LEAK_CHECK
	if (ws && ws->w) {
		ct_watchset_stop(ws);
		/* the models' objects go back to the system with the process, at once: freeing
		 * a big pool's hundreds of thousands of allocations one by one is ~5 % of a
		 * one-shot command's CPU */
		for (int i = 0; i < ws->n; i++)
			ct_model_init(&ws->w[i].model);
	}
#endif
	ct_watchset_release(ws);
}
