/* xapi.h - one XAPI session over XML-RPC/HTTPS (xmlrpc-c encodes the requests, libcurl is
 * the transport, decode.c reads every reply as it streams in, with limits on depth and size).
 *
 * Knows nothing of the model: it hands out typed records (struct ct_obj from model.h is
 * only the record type) and events. A struct ct_xapi is used by one thread at a time; the
 * watcher and every action worker make their own. ct_xapi_cancel may be called from any
 * thread to abort a blocked call (event.from) promptly.
 *
 * Errors: every function returns 0 or -1 with e filled. XAPI failures carry the code and
 * params (CT_E_XAPI); SESSION_INVALID is handled inside (log in again, retry the call once),
 * HOST_IS_SLAVE inside login (reconnect to the master it names). */
#ifndef CT_XAPI_H
#define CT_XAPI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "model/model.h"
#include "xapi/event.h"

struct ct_xapi_opts {
	const char *url;          /* "https://host[:port]" */
	const char *username;
	const char *password;     /* copied; wiped on free */
	bool tls_verify;          /* default true */
	const char *ca_file;      /* NULL = system CAs */
	const char *fingerprint;  /* "sha256:AB:CD:..." pin of the server certificate, or NULL */
	long connect_timeout_s;   /* default 10 */
	long call_timeout_s;      /* default 120; event.from calls get timeout + 30 */
	const char *originator;   /* default "chaintop" */
	const char *name;         /* the pool's name, for messages; NULL = none */
	long login_timeout_s;     /* whole login call; default 10 */
	long stall_s;             /* a reply that moves less than CT_XAPI_STALL_BYTES_PER_S
				     for this long is dropped; default 20 */
	uint64_t reply_max_bytes; /* bytes of one XML-RPC reply; default CT_XAPI_REPLY_BYTES */
	uint64_t reply_max_records;  /* records of one reply; default CT_XAPI_REPLY_RECORDS */
};

/* Defaults sized for a 20,000-VM pool: the simulator's big scenario sends about 17 KB of
 * VDI records, 15 KB of VM records and 9 KB of VBD records a VM (5.9 VDI, 1.9 VM and
 * 5.4 VBD records), so the largest reply of such a pool is about 340 MB and 120,000
 * records; the defaults leave room for three to four times that. */
#define CT_XAPI_REPLY_BYTES ((uint64_t)1 << 30)
#define CT_XAPI_REPLY_RECORDS ((uint64_t)500000)
#define CT_XAPI_STALL_BYTES_PER_S 1024

struct ct_xapi;

/* The server certificate seen by the last TLS failure of a session (what the operator needs
 * to decide whether to trust it). Strings are sanitised for a terminal. */
struct ct_xapi_cert {
	bool seen;                /* a certificate was presented */
	bool untrusted;           /* verification failed and no pin is configured */
	bool mismatch;            /* a pin is configured and this certificate is another */
	char fingerprint[100];    /* SHA-256, "AB:CD:..." */
	char subject[256], issuer[256];
	char not_before[32], not_after[32];   /* "2026-01-31 12:00:00 UTC" */
	char verify_error[128];   /* OpenSSL's reason, "" none */
};

/* Returns owned; free with ct_xapi_free (logs out first if logged in). */
struct ct_xapi *ct_xapi_new(const struct ct_xapi_opts *o);
void ct_xapi_free(struct ct_xapi *x);

int ct_xapi_login(struct ct_xapi *x, struct ct_err *e);
void ct_xapi_logout(struct ct_xapi *x);
/* Current master URL (changes after HOST_IS_SLAVE) and session ref (for HTTP handlers).
 * Borrowed until the next call on x. */
const char *ct_xapi_url(const struct ct_xapi *x);
const char *ct_xapi_session(const struct ct_xapi *x);
/* Every transfer started from now on ends by deadline_ms (ct_now_ms clock; 0 = none);
 * `why` names the limit in messages, e.g. "check --timeout 50s" (copied). */
/* The certificate of the last TLS failure of x's calls; false when no call of x has failed
 * on TLS yet. */
bool ct_xapi_last_cert(const struct ct_xapi *x, struct ct_xapi_cert *out);
/* Pin the server certificate from now on ("sha256:AB:..."), as the fingerprint option does.
 * Returns false when fp is not a SHA-256 fingerprint. Same thread as the calls. */
bool ct_xapi_set_pin(struct ct_xapi *x, const char *fp);
void ct_xapi_set_deadline(struct ct_xapi *x, int64_t deadline_ms, const char *why);
/* Abort the call in progress (and make later calls fail with CT_E_CANCEL until reset). */
void ct_xapi_cancel(struct ct_xapi *x);
void ct_xapi_reset_cancel(struct ct_xapi *x);
/* From now on, flag set non-zero (by any thread) cancels x as ct_xapi_cancel does, within
 * about a second; NULL forgets it. Checked by x's own thread, no helper thread needed. The
 * flag is honoured once: after ct_xapi_reset_cancel, calls go through again (a run's last
 * clean-up calls) until ct_xapi_cancel_with names a flag again. Same thread as the calls. */
void ct_xapi_cancel_with(struct ct_xapi *x, atomic_int *flag);

/* Argument of an ordinary call; the session ref is prepended by the call itself. */
enum ct_xarg_type { CT_XARG_STR, CT_XARG_STRSET, CT_XARG_DOUBLE, CT_XARG_BOOL };
struct ct_xarg {
	enum ct_xarg_type type;
	const char *s;
	const char *const *set;
	size_t n;
	double d;
	bool b;
};
#define CT_XSTR(v) ((struct ct_xarg){ .type = CT_XARG_STR, .s = (v) })

/* A call whose Value is a string (ref, uuid, void ""): *out owned (may pass NULL). */
int ct_xapi_call(struct ct_xapi *x, const char *method, const struct ct_xarg *args, size_t nargs,
		 char **out, struct ct_err *e);
/* A call whose Value is a set of strings (e.g. VM.get_VBDs). */
int ct_xapi_call_set(struct ct_xapi *x, const char *method, const struct ct_xarg *args,
		     size_t nargs, struct ct_strset *out, struct ct_err *e);

/* <class>.get_all_records, or get_all_records_where when where != NULL. */
int ct_xapi_get_all_records(struct ct_xapi *x, enum ct_class c, const char *where,
			    ct_record_cb cb, void *ctx, struct ct_err *e);
/* Several classes at once, fetched in parallel on one thread; cb gets every record. */
int ct_xapi_load_classes(struct ct_xapi *x, const enum ct_class *cls, size_t n,
			 ct_record_cb cb, void *ctx, struct ct_err *e);
/* <class>.get_record; *out owned. */
int ct_xapi_get_record(struct ct_xapi *x, enum ct_class c, const char *ref,
		       struct ct_obj **out, struct ct_err *e);

/* event.from(classes, token, timeout); events of classes chaintop does not keep are
 * skipped. */
int ct_xapi_event_from(struct ct_xapi *x, const char *const *classes, size_t nclasses,
		       const char *token, double timeout_s, struct ct_event_batch *out,
		       struct ct_err *e);
/* event.inject(class, ref): a token that marks "now" before a full load. *token owned. */
int ct_xapi_event_inject(struct ct_xapi *x, enum ct_class c, const char *ref, char **token,
			 struct ct_err *e);

/* Parse a task result (XML-RPC value fragment "<value>OpaqueRef:..</value>") into a string. */
int ct_xapi_parse_task_result(const char *fragment, char **out, struct ct_err *e);

/* HTTP GET on the master (e.g. "/export?ref=...&use_compression=zstd"; session_id is
 * appended). Follows redirects to other hosts. Streams the body to write_cb (return
 * non-zero to abort). *task_id owned (from the task-id header, may be NULL). */
typedef int (*ct_http_write_cb)(void *ctx, const void *buf, size_t n);
int ct_xapi_http_get(struct ct_xapi *x, const char *path_query, ct_http_write_cb write_cb,
		     void *ctx, char **task_id, struct ct_err *e);

/* An HTTP GET that the master may redirect to another host of the pool (xapi's export.ml
 * answers 302 to the member holding a VM's local disks). Redirects are followed by hand: never
 * from https to http, and each target is checked with the pin redirect_cb gives for it. The
 * callback gets the target's "host[:port]" as in the Location and fills *pin ("sha256:AB:..",
 * owned; NULL verifies with the configured CAs) and *source (owned, how the pin was learnt,
 * for messages), or returns -1 with e saying why that host is refused. Error messages name
 * the host and the check that failed. Otherwise as ct_xapi_http_get (no retry on 401). */
typedef int (*ct_http_redirect_cb)(void *ctx, const char *host, char **pin, char **source,
				   struct ct_err *e);
int ct_xapi_http_get_redirected(struct ct_xapi *x, const char *path_query,
				ct_http_redirect_cb redirect_cb, void *rctx,
				ct_http_write_cb write_cb, void *ctx, char **task_id,
				struct ct_err *e);

/* POST body (content_type, e.g. "application/json") to x's url as configured: no session,
 * no XML-RPC (a notification webhook; x needs no login). The TLS rules of a pool's calls:
 * CA verification (ca_file), or the fingerprint pin; a redirect is not followed; the whole
 * exchange ends within timeout_s (> 0). 0 on a 2xx answer, else -1 with e (HTTP status and
 * body, TLS failure with the fingerprint seen, timeout). */
int ct_xapi_http_post(struct ct_xapi *x, const char *content_type, const char *body, size_t len,
		      long timeout_s, struct ct_err *e);

/* Global init/cleanup of libcurl; call once in main before threads. */
int ct_xapi_global_init(struct ct_err *e);
void ct_xapi_global_cleanup(void);

#endif
