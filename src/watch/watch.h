/* watch.h - one watcher thread a pool: log in, load every class, then follow event.from
 * and apply add/mod/del to the pool's model. On failure: state RECONNECTING with the
 * reason, exponential backoff with jitter (1 s .. 60 s), the model kept (stale) until the
 * next successful load. A byte on the wake pipe tells the main loop that something changed.
 *
 * Status fields of struct ct_watch are protected by the model's lock. */
#ifndef CT_WATCH_H
#define CT_WATCH_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "config/config.h"
#include "model/model.h"
#include "xapi/xapi.h"

/* The event long-poll's timeout in the console: with CT_WATCH_REPLY_GRACE_S it bounds how
 * long a master that stopped answering looks healthy. */
#define CT_WATCH_HEARTBEAT_S 5
#define CT_WATCH_REPLY_GRACE_S 5

enum ct_pool_state {
	CT_POOL_CONNECTING,     /* first login in progress */
	CT_POOL_LOADING,        /* logged in, reading records */
	CT_POOL_CONNECTED,      /* model live, following events */
	CT_POOL_RECONNECTING,   /* lost; retrying with backoff, model stale */
	CT_POOL_AUTH_FAILED,    /* credentials refused: retried slowly, needs the operator */
	CT_POOL_FAILED,         /* once mode: the single attempt failed */
	CT_POOL_STOPPED
};
const char *ct_pool_state_name(enum ct_pool_state s);

/* Called on the watcher thread with the model lock held, once per event just before it is
 * applied (so a `del` can still name the object and a `mod` see the old record), for
 * `chaintop events`. Must not block. */
typedef void (*ct_watch_event_cb)(void *ctx, const char *pool, const struct ct_event *ev,
				  const struct ct_model *m);

struct ct_watch {
	const struct ct_pool_conf *conf;   /* borrowed from the config */
	struct ct_model model;
	/* status, under model.lock */
	enum ct_pool_state state;
	int retries;                       /* consecutive failures */
	bool loaded;                       /* the model holds a complete load */
	bool stale;                        /* model kept from before a connection loss */
	time_t last_contact;               /* last successful XAPI reply, 0 never */
	time_t last_event;                 /* last applied event, 0 never */
	time_t next_retry;
	bool retry_now;                    /* under set->stop_lock: end the backoff wait */
	bool abandon;                      /* under set->stop_lock: the operator dropped the call
					    * the master was not answering (its cancel is no stop) */
	char abandoned[40];                /* under set->stop_lock: that call's method */
	char error[1024];                  /* last failure, operator sentence; "" if none */
	char master_url[512];              /* after HOST_IS_SLAVE redirection */
	/* heartbeat: a call is out (login, or the event long-poll) whose reply is due by
	 * reply_due; past it the master is not answering (0: none out) */
	time_t reply_due, waiting_since, give_up;   /* give_up: when the call is dropped */
	char waiting_for[40];              /* that call's method */
	/* with hold_fatal: the last failure is one a retry cannot fix (TLS verification, pin
	 * mismatch, refused login); no retry until ct_watchset_retry_now */
	bool held;
	bool have_cert;                    /* cert: the last TLS failure's certificate */
	struct ct_xapi_cert cert;
	char *trust_pin;                   /* under set->stop_lock: pin to use from the next try */
	/* private */
	struct ct_watchset *set;
	struct ct_xapi *x;
	pthread_t thread;
	bool started;
};

struct ct_watchset {
	struct ct_watch *w;
	int n;
	bool once;                  /* load once and stop (tree/check), no event loop */
	double event_timeout_s;     /* event.from timeout, default 30 */
	bool hold_fatal;            /* wait for the operator after a failure a retry cannot fix
	                             * (set before ct_watchset_start) */
	ct_watch_event_cb on_event;
	void *on_event_ctx;
	int wake_rd, wake_wr;       /* pipe: one byte per change batch */
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;   /* backoff sleeps wait on it so stop is prompt */
	bool stopping;
	/* once mode: every call of every watcher ends by this ct_now_ms time (0 = none);
	 * deadline_why (owned) names the limit in messages. Set before ct_watchset_start. */
	int64_t deadline_ms;
	char *deadline_why;
};

/* Prepare one watcher per selected pool (all when n_only == 0). Pools whose password is
 * NULL must have been resolved by the caller first. */
int ct_watchset_init(struct ct_watchset *ws, const struct ct_config *c,
		     const char *const *only, int n_only, bool once, struct ct_err *e);
int ct_watchset_start(struct ct_watchset *ws, struct ct_err *e);
/* Block until every watcher has loaded once or failed once (once mode: until all threads
 * finished), or timeout_ms passed. Returns the number still not settled. */
int ct_watchset_wait_settled(struct ct_watchset *ws, int timeout_ms);
/* Read end to poll(); ct_watchset_drain empties it. */
int ct_watchset_wake_fd(const struct ct_watchset *ws);
void ct_watchset_drain(struct ct_watchset *ws);
/* The operator's "reconnect now": end the wait before the next attempt of every pool that
 * is retrying, and drop the call of every pool whose master is not answering (its reply
 * overdue) so it logs in afresh at once instead of at the call's own time limit. Returns
 * how many pools reconnect now. */
int ct_watchset_retry_now(struct ct_watchset *ws);
/* Pin pool i's server certificate (fingerprint "sha256:...") from its next attempt, which
 * starts now. */
void ct_watchset_trust(struct ct_watchset *ws, int i, const char *fingerprint);
/* Stop every thread (cancels blocked calls), join, log out. */
void ct_watchset_stop(struct ct_watchset *ws);
void ct_watchset_release(struct ct_watchset *ws);
/* The same for a process about to exit: the models are left to the exit (freed only in
 * builds with a leak checker). */
void ct_watchset_release_for_exit(struct ct_watchset *ws);

/* Make an XAPI session for a pool from its configuration (actions use their own). */
struct ct_xapi *ct_watch_new_session(const struct ct_pool_conf *pc);

#endif
