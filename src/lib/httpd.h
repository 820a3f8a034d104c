/* httpd.h - a small HTTP/1.1 server for a poll() loop, for `chaintop serve`: several
 * clients at once, one request a connection (Connection: close), GET and HEAD only, no
 * request body. Limits: the request head (request line and headers) at most max_request
 * bytes (431 beyond), a request that does not arrive whole within timeout_ms gets 408,
 * a reply the client does not read within it is dropped, at most max_clients connections
 * (more wait in the kernel's backlog). Optional TLS (OpenSSL, PEM certificate chain and
 * key) and bearer-token or basic authentication, compared in constant time.
 *
 * Nothing here blocks: every socket is non-blocking and the caller's loop polls the
 * descriptors ct_httpd_pollfds gives, then calls ct_httpd_serve with the results. The
 * handler runs on that loop's thread and fills the reply; it must not block either. */
#ifndef CT_HTTPD_H
#define CT_HTTPD_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"
#include "lib/util.h"

struct ct_http_req {
	const char *method;        /* "GET" or "HEAD" (others are refused before the handler) */
	const char *path;          /* decoded target without the query, e.g. "/metrics" */
	const char *query;         /* after '?', "" when none */
	const char *accept;        /* the Accept header, or NULL */
	bool head;                 /* HEAD: the body is computed but not sent */
};

struct ct_http_resp {
	int status;                /* 200 unless set */
	const char *content_type;  /* default "text/plain; charset=utf-8" */
	struct ct_sb body;
	const char *allow;         /* Allow header (with 405), or NULL */
};

typedef void (*ct_httpd_handler)(void *ctx, const struct ct_http_req *rq,
				 struct ct_http_resp *rs);

struct ct_httpd_conf {
	const char *listen;        /* "HOST:PORT", "[V6ADDR]:PORT" or ":PORT" (all addresses);
	                            * port 0 picks a free one (ct_httpd_address tells it) */
	const char *tls_cert;      /* PEM certificate chain and key files: both or neither */
	const char *tls_key;
	const char *bearer;        /* expected token (Authorization: Bearer ...), or NULL */
	const char *basic_user;    /* with basic_password: Authorization: Basic, or NULL */
	const char *basic_password;
	const char *realm;         /* WWW-Authenticate realm */
	int max_clients;           /* default 64 */
	size_t max_request;        /* default 8192 */
	int timeout_ms;            /* default 10000 */
};

struct ct_httpd;

/* Binds and listens; e says which address failed and why. */
struct ct_httpd *ct_httpd_new(const struct ct_httpd_conf *c, ct_httpd_handler h, void *ctx,
			      struct ct_err *e);
void ct_httpd_free(struct ct_httpd *h);
/* "127.0.0.1:9739" or "[::1]:9739", the port as bound. */
const char *ct_httpd_address(const struct ct_httpd *h);
bool ct_httpd_tls(const struct ct_httpd *h);
/* Descriptors to poll: at most ct_httpd_nfds; returns how many were written. */
int ct_httpd_nfds(const struct ct_httpd *h);
int ct_httpd_pollfds(struct ct_httpd *h, struct pollfd *fds, int max);
/* Milliseconds until the next connection times out (-1: none waits). */
int ct_httpd_timeout(const struct ct_httpd *h);
/* Accept, read, answer, write and expire, after poll() filled the revents of the fds that
 * ct_httpd_pollfds gave (the same array, n entries). */
void ct_httpd_serve(struct ct_httpd *h, const struct pollfd *fds, int n);

/* a and b equal, in time that depends only on the length of b (the secret). */
bool ct_httpd_secret_eq(const char *a, const char *b);

#endif
