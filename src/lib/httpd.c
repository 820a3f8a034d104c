/* httpd.c - see httpd.h. One state machine a connection:
 * HANDSHAKE (TLS) -> READ (the request head) -> WRITE (the whole reply, built at once)
 * -> DRAIN (our side shut, read until the client closes, so unread input does not turn the
 * close into a reset that could cut the reply) -> closed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "lib/httpd.h"

enum cstate { C_HANDSHAKE, C_READ, C_WRITE, C_DRAIN };

struct client {
	int fd;
	SSL *ssl;
	enum cstate st;
	short events;              /* what the state waits for */
	int64_t deadline;          /* ct_now_ms() by which the state must end */
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off;
};

struct ct_httpd {
	struct ct_httpd_conf c;
	ct_httpd_handler handler;
	void *ctx;
	int lfd;
	char addr[80];
	SSL_CTX *tls;
	char *expect_auth;         /* "Bearer TOKEN" or "Basic BASE64", or NULL */
	char *realm;
	struct client *cl;
	int n_cl;
	int first_client_fd;       /* index in the caller's pollfd array where clients begin */
};

bool ct_httpd_secret_eq(const char *a, const char *b)
{
	size_t an = strlen(a), bn = strlen(b);
	unsigned char d = an != bn;

	for (size_t i = 0; i < bn; i++)
		d |= (unsigned char)(b[i] ^ (i < an ? a[i] : 0));
	return d == 0;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Status";
	}
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int split_listen(const char *s, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':' || (size_t)(end - s - 1) >= hlen)
			return -1;
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = '\0';
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= hlen || memchr(s, ':', (size_t)(colon - s)))
			return -1;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	if (!colon[1] || strlen(colon + 1) >= plen || strspn(colon + 1, "0123456789") !=
	    strlen(colon + 1) || atol(colon + 1) > 65535)
		return -1;
	snprintf(port, plen, "%s", colon + 1);
	return 0;
}

static int tls_error(struct ct_err *e, const char *what, const char *file)
{
	unsigned long code = ERR_get_error();
	char buf[256] = "unknown error";

	if (code)
		ERR_error_string_n(code, buf, sizeof(buf));
	ERR_clear_error();
	return ct_err_set(e, CT_E_TLS, "%s '%s': %s", what, file, buf);
}

static int setup_tls(struct ct_httpd *h, struct ct_err *e)
{
	h->tls = SSL_CTX_new(TLS_server_method());
	if (!h->tls)
		return ct_err_set(e, CT_E_TLS, "cannot create a TLS context");
	SSL_CTX_set_min_proto_version(h->tls, TLS1_2_VERSION);
	SSL_CTX_set_mode(h->tls, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(h->tls, h->c.tls_cert) != 1)
		return tls_error(e, "cannot load the TLS certificate chain", h->c.tls_cert);
	if (SSL_CTX_use_PrivateKey_file(h->tls, h->c.tls_key, SSL_FILETYPE_PEM) != 1)
		return tls_error(e, "cannot load the TLS private key", h->c.tls_key);
	if (SSL_CTX_check_private_key(h->tls) != 1)
		return tls_error(e, "the TLS private key does not match the certificate in",
				 h->c.tls_cert);
	return 0;
}

static void setup_auth(struct ct_httpd *h)
{
	if (h->c.bearer) {
		h->expect_auth = ct_xasprintf("Bearer %s", h->c.bearer);
	} else if (h->c.basic_user) {
		char *pair = ct_xasprintf("%s:%s", h->c.basic_user,
					  h->c.basic_password ? h->c.basic_password : "");
		size_t n = strlen(pair);
		unsigned char *b64 = ct_xmalloc(4 * ((n + 2) / 3) + 1);

		EVP_EncodeBlock(b64, (const unsigned char *)pair, (int)n);
		h->expect_auth = ct_xasprintf("Basic %s", (char *)b64);
		explicit_bzero(pair, n);
		explicit_bzero(b64, strlen((char *)b64));
		free(pair);
		free(b64);
	}
}

struct ct_httpd *ct_httpd_new(const struct ct_httpd_conf *c, ct_httpd_handler handler, void *ctx,
			      struct ct_err *e)
{
	struct ct_httpd *h = ct_xcalloc(1, sizeof(*h));
	struct addrinfo hints = { 0 }, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[64], port[8], hb[INET6_ADDRSTRLEN];
	int one = 1, rc;

	h->c = *c;
	h->lfd = -1;
	h->handler = handler;
	h->ctx = ctx;
	if (h->c.max_clients <= 0)
		h->c.max_clients = 64;
	if (h->c.max_request == 0)
		h->c.max_request = 8192;
	if (h->c.timeout_ms <= 0)
		h->c.timeout_ms = 10000;
	h->realm = ct_xstrdup(c->realm ? c->realm : "chaintop");
	h->cl = ct_xcalloc((size_t)h->c.max_clients, sizeof(*h->cl));
	if (split_listen(c->listen ? c->listen : "", host, sizeof(host), port, sizeof(port)) < 0) {
		ct_err_set(e, CT_E_CONFIG, "listen address '%s' is not HOST:PORT (such as "
			   "127.0.0.1:9739, [::1]:9739 or :9739 for every address)",
			   c->listen ? c->listen : "");
		goto fail;
	}
	if ((c->tls_cert != NULL) != (c->tls_key != NULL)) {
		ct_err_set(e, CT_E_CONFIG, "TLS needs both a certificate and a key file");
		goto fail;
	}
	if (c->tls_cert && setup_tls(h, e) < 0)
		goto fail;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (rc != 0) {
		ct_err_set(e, CT_E_NET, "cannot resolve listen address '%s': %s", c->listen,
			   gai_strerror(rc));
		goto fail;
	}
	h->lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (h->lfd < 0) {
		ct_err_set(e, CT_E_NET, "cannot create a socket for '%s': %s", c->listen,
			   strerror(errno));
		goto fail;
	}
	setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(h->lfd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(h->lfd, 128) < 0) {
		ct_err_set(e, CT_E_NET, "cannot listen on '%s': %s%s", c->listen, strerror(errno),
			   errno == EADDRINUSE ? " (another process has it: pick another "
			   "serve.listen port)" : errno == EACCES ? " (ports below 1024 need "
			   "privileges)" : "");
		goto fail;
	}
	freeaddrinfo(ai);
	ai = NULL;
	if (getsockname(h->lfd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, hb, sizeof(hb));
			snprintf(h->addr, sizeof(h->addr), "[%s]:%u", hb, ntohs(s6->sin6_port));
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &s4->sin_addr, hb, sizeof(hb));
			snprintf(h->addr, sizeof(h->addr), "%s:%u", hb, ntohs(s4->sin_port));
		}
	}
	setup_auth(h);
	return h;
fail:
	if (ai)
		freeaddrinfo(ai);
	ct_httpd_free(h);
	return NULL;
}

static void client_close(struct ct_httpd *h, int i)
{
	struct client *c = &h->cl[i];

	if (c->ssl)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	free(c->out);
	h->cl[i] = h->cl[--h->n_cl];
	memset(&h->cl[h->n_cl], 0, sizeof(h->cl[h->n_cl]));
}

void ct_httpd_free(struct ct_httpd *h)
{
	if (!h)
		return;
	while (h->n_cl > 0)
		client_close(h, h->n_cl - 1);
	if (h->lfd >= 0)
		close(h->lfd);
	if (h->tls)
		SSL_CTX_free(h->tls);
	if (h->expect_auth) {
		explicit_bzero(h->expect_auth, strlen(h->expect_auth));
		free(h->expect_auth);
	}
	free(h->realm);
	free(h->cl);
	free(h);
}

const char *ct_httpd_address(const struct ct_httpd *h)
{
	return h->addr;
}

bool ct_httpd_tls(const struct ct_httpd *h)
{
	return h->tls != NULL;
}

int ct_httpd_nfds(const struct ct_httpd *h)
{
	return 1 + h->c.max_clients;
}

int ct_httpd_pollfds(struct ct_httpd *h, struct pollfd *fds, int max)
{
	int n = 0;

	if (max < 1)
		return 0;
	/* at the limit, new connections wait in the backlog */
	fds[n].fd = h->n_cl < h->c.max_clients ? h->lfd : -1;
	fds[n].events = POLLIN;
	fds[n++].revents = 0;
	for (int i = 0; i < h->n_cl && n < max; i++) {
		fds[n].fd = h->cl[i].fd;
		fds[n].events = h->cl[i].events;
		fds[n++].revents = 0;
	}
	return n;
}

int ct_httpd_timeout(const struct ct_httpd *h)
{
	int64_t now = ct_now_ms(), best = -1;

	for (int i = 0; i < h->n_cl; i++) {
		int64_t left = h->cl[i].deadline - now;

		if (left < 0)
			left = 0;
		if (best < 0 || left < best)
			best = left;
	}
	return best > 1000000 ? 1000000 : (int)best;
}

/* ---- replies -------------------------------------------------------------------------- */

static void reply(struct ct_httpd *h, struct client *c, int status, const char *ctype,
		  const char *extra, const char *body, size_t blen, bool head)
{
	struct ct_sb sb;

	ct_sb_init(&sb);
	ct_sb_addf(&sb, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		   "Cache-Control: no-store\r\nConnection: close\r\n%s\r\n", status,
		   reason(status), ctype ? ctype : "text/plain; charset=utf-8", blen,
		   extra ? extra : "");
	if (!head && blen)
		ct_sb_add(&sb, body, blen);
	free(c->in);
	c->in = NULL;
	c->in_len = 0;
	c->out_len = sb.len;
	c->out_off = 0;
	c->out = ct_sb_detach(&sb);
	c->st = C_WRITE;
	c->events = POLLOUT;
	c->deadline = ct_now_ms() + h->c.timeout_ms;
}

static void reply_text(struct ct_httpd *h, struct client *c, int status, const char *extra,
		       const char *text)
{
	reply(h, c, status, NULL, extra, text, strlen(text), false);
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decode in place; -1 on a bad escape or a decoded NUL. */
static int pct_decode(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (*r == '%') {
			int a = hexval((unsigned char)r[1]), b = a < 0 ? -1 : hexval((unsigned char)r[2]);

			if (b < 0 || (a == 0 && b == 0))
				return -1;
			*w++ = (char)(a * 16 + b);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return 0;
}

/* The request head is complete in c->in (NUL-terminated, the blank line cut off). */
static void handle_request(struct ct_httpd *h, struct client *c)
{
	char *line = c->in, *eol = strchr(line, '\n'), *method, *target, *version, *sp;
	const char *accept = NULL, *auth = NULL;
	struct ct_http_req rq = { 0 };
	struct ct_http_resp rs = { 0 };
	char *q;
	char *hdr;

	if (eol) {
		*eol = '\0';
		hdr = eol + 1;
	} else {
		hdr = line + strlen(line);
	}
	if (eol && eol > line && eol[-1] == '\r')
		eol[-1] = '\0';
	method = line;
	sp = strchr(method, ' ');
	if (!sp) {
		reply_text(h, c, 400, NULL, "malformed request line\n");
		return;
	}
	*sp = '\0';
	target = sp + 1;
	sp = strchr(target, ' ');
	if (!sp) {
		reply_text(h, c, 400, NULL, "malformed request line\n");
		return;
	}
	*sp = '\0';
	version = sp + 1;
	if (strncmp(version, "HTTP/1.", 7) || !version[7] || version[8]) {
		reply_text(h, c, strncmp(version, "HTTP/", 5) ? 400 : 505, NULL,
			   "only HTTP/1.0 and HTTP/1.1 are served\n");
		return;
	}
	/* headers: only Accept and Authorization matter */
	while (*hdr) {
		char *next = strchr(hdr, '\n'), *colon, *v;

		if (next)
			*next++ = '\0';
		else
			next = hdr + strlen(hdr);
		{
			size_t l = strlen(hdr);

			if (l && hdr[l - 1] == '\r')
				hdr[l - 1] = '\0';
		}
		colon = strchr(hdr, ':');
		if (!colon || colon == hdr || strcspn(hdr, " \t") < (size_t)(colon - hdr)) {
			reply_text(h, c, 400, NULL, "malformed header line\n");
			return;
		}
		*colon = '\0';
		v = colon + 1;
		v += strspn(v, " \t");
		for (char *t = v + strlen(v); t > v && (t[-1] == ' ' || t[-1] == '\t'); t--)
			t[-1] = '\0';
		if (!strcasecmp(hdr, "Accept"))
			accept = v;
		else if (!strcasecmp(hdr, "Authorization"))
			auth = v;
		hdr = next;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		reply_text(h, c, 405, "Allow: GET, HEAD\r\n",
			   "only GET and HEAD are served: this server is read-only\n");
		return;
	}
	if (target[0] != '/') {
		reply_text(h, c, 400, NULL, "the request target must be a path\n");
		return;
	}
	q = strchr(target, '?');
	if (q)
		*q++ = '\0';
	if (pct_decode(target) < 0) {
		reply_text(h, c, 400, NULL, "bad percent-encoding in the path\n");
		return;
	}
	if (h->expect_auth && (!auth || !ct_httpd_secret_eq(auth, h->expect_auth))) {
		char extra[200];

		snprintf(extra, sizeof(extra), "WWW-Authenticate: %s realm=\"%s\"\r\n",
			 h->c.bearer ? "Bearer" : "Basic", h->realm);
		reply_text(h, c, 401, extra, auth ? "wrong credentials\n" :
			   "authentication required\n");
		return;
	}
	rq.method = method;
	rq.path = target;
	rq.query = q ? q : "";
	rq.accept = accept;
	rq.head = !strcmp(method, "HEAD");
	rs.status = 200;
	ct_sb_init(&rs.body);
	h->handler(h->ctx, &rq, &rs);
	{
		char extra[120] = "";

		if (rs.allow)
			snprintf(extra, sizeof(extra), "Allow: %s\r\n", rs.allow);
		reply(h, c, rs.status, rs.content_type, extra, rs.body.buf ? rs.body.buf : "",
		      rs.body.len, rq.head);
	}
	ct_sb_release(&rs.body);
}

/* ---- I/O ------------------------------------------------------------------------------ */

/* Read or write through TLS or the socket: > 0 bytes, 0 end of stream, -1 error,
 * -2 would block (c->events set for the retry). */
static ssize_t c_io(struct client *c, void *buf, size_t len, bool wr)
{
	if (c->ssl) {
		int r = wr ? SSL_write(c->ssl, buf, (int)len) : SSL_read(c->ssl, buf, (int)len);

		if (r > 0)
			return r;
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			c->events = POLLIN;
			return -2;
		case SSL_ERROR_WANT_WRITE:
			c->events = POLLOUT;
			return -2;
		case SSL_ERROR_ZERO_RETURN:
			return 0;
		default:
			ERR_clear_error();
			return -1;
		}
	}
	for (;;) {
		ssize_t r = wr ? send(c->fd, buf, len, MSG_NOSIGNAL) : recv(c->fd, buf, len, 0);

		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->events = wr ? POLLOUT : POLLIN;
			return -2;
		}
		return -1;
	}
}

/* Returns false when the connection is to be closed. */
static bool step(struct ct_httpd *h, struct client *c)
{
	for (;;) {
		switch (c->st) {
		case C_HANDSHAKE: {
			int r = SSL_accept(c->ssl);

			if (r == 1) {
				c->st = C_READ;
				c->events = POLLIN;
				continue;
			}
			switch (SSL_get_error(c->ssl, r)) {
			case SSL_ERROR_WANT_READ:
				c->events = POLLIN;
				return true;
			case SSL_ERROR_WANT_WRITE:
				c->events = POLLOUT;
				return true;
			default:
				ERR_clear_error();
				return false;   /* a plain-HTTP client or a failed handshake */
			}
		}
		case C_READ: {
			size_t room = h->c.max_request + 1 - c->in_len;
			char *end;
			ssize_t r;

			if (!c->in)
				c->in = ct_xmalloc(h->c.max_request + 2);
			r = c_io(c, c->in + c->in_len, room, false);
			if (r == -2)
				return true;
			if (r <= 0)
				return false;   /* gone before asking anything */
			c->in_len += (size_t)r;
			c->in[c->in_len] = '\0';
			if (memchr(c->in, '\0', c->in_len)) {
				reply_text(h, c, 400, NULL, "NUL byte in the request\n");
				continue;
			}
			end = strstr(c->in, "\r\n\r\n");
			if (!end)
				end = strstr(c->in, "\n\n");
			if (end) {
				*end = '\0';
				handle_request(h, c);
				continue;
			}
			if (c->in_len > h->c.max_request) {
				reply_text(h, c, 431, NULL, "request head too large\n");
				continue;
			}
			break;
		}
		case C_WRITE: {
			ssize_t r = c_io(c, c->out + c->out_off, c->out_len - c->out_off, true);

			if (r == -2)
				return true;
			if (r <= 0)
				return false;
			c->out_off += (size_t)r;
			if (c->out_off < c->out_len)
				break;
			free(c->out);
			c->out = NULL;
			if (c->ssl) {
				SSL_shutdown(c->ssl);   /* close_notify; no wait for the peer's */
				return false;
			}
			shutdown(c->fd, SHUT_WR);
			c->st = C_DRAIN;
			c->events = POLLIN;
			c->deadline = ct_now_ms() + 2000;
			break;
		}
		case C_DRAIN: {
			char buf[512];
			ssize_t r = c_io(c, buf, sizeof(buf), false);

			if (r == -2)
				return true;
			if (r <= 0)
				return false;
			break;
		}
		}
	}
}

static void accept_clients(struct ct_httpd *h)
{
	while (h->n_cl < h->c.max_clients) {
		int fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c;

		if (fd < 0)
			return;   /* EAGAIN, or a connection reset before we took it */
		set_nonblock(fd);
		c = &h->cl[h->n_cl++];
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->deadline = ct_now_ms() + h->c.timeout_ms;
		c->events = POLLIN;
		c->st = C_READ;
		if (h->tls) {
			c->ssl = SSL_new(h->tls);
			if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
				ERR_clear_error();
				client_close(h, h->n_cl - 1);
				continue;
			}
			c->st = C_HANDSHAKE;
		}
	}
}

void ct_httpd_serve(struct ct_httpd *h, const struct pollfd *fds, int n)
{
	/* the clients polled are the first n - 1 of h->cl: new ones are appended after them
	 * and closed ones swapped from the end, so walk backwards */
	for (int i = n - 2; i >= 0; i--) {
		struct client *c;

		if (i >= h->n_cl)
			continue;
		c = &h->cl[i];
		if (fds[i + 1].fd != c->fd)
			continue;
		if (fds[i + 1].revents & (POLLIN | POLLOUT | POLLHUP | POLLERR)) {
			if (!step(h, c)) {
				client_close(h, i);
				continue;
			}
		}
		if (ct_now_ms() >= c->deadline) {
			if (c->st == C_READ && c->in_len > 0) {
				/* asked something, never finished: say so, with a fresh deadline */
				reply_text(h, c, 408, NULL, "the request did not arrive in time\n");
				if (!step(h, c))
					client_close(h, i);
			} else {
				client_close(h, i);
			}
		}
	}
	if (n > 0 && (fds[0].revents & POLLIN))
		accept_clients(h);
}
