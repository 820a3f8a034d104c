/* test_xapi_fake.h - a scripted HTTP server in a thread for the xapi and watch unit tests.
 * Each connection is served on its own thread, one request, then closed; the handler fills
 * a complete HTTP response (or asks to hang until the server stops). */
#ifndef TEST_XAPI_FAKE_H
#define TEST_XAPI_FAKE_H

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/util.h"

struct fake;
/* Fill resp with a complete HTTP response; return 1 to hang (no answer) instead. */
typedef int (*fake_handler)(struct fake *f, const char *req_line, const char *method,
			    const char *body, struct ct_sb *resp);

struct fake {
	int fd, port;
	pthread_t th;
	fake_handler h;
	pthread_mutex_t lock;
	int calls, logins;
	atomic_int stop;
	atomic_int active;           /* connection threads still running */
	char last_session[128];
	int other_port;             /* for redirects */
};

__attribute__((unused)) static void respond(struct ct_sb *r, int status, const char *extra_headers, const char *body)
{
	ct_sb_addf(r, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
		   status, strlen(body), extra_headers ? extra_headers : "", body);
}

__attribute__((unused)) static void xmlrpc_ok(struct ct_sb *r, const char *value_xml)
{
	struct ct_sb b;

	ct_sb_init(&b);
	ct_sb_addf(&b, "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
		   "<member><name>Status</name><value>Success</value></member>"
		   "<member><name>Value</name><value>%s</value></member>"
		   "</struct></value></param></params></methodResponse>", value_xml);
	respond(r, 200, "Content-Type: text/xml\r\n", b.buf);
	ct_sb_release(&b);
}

__attribute__((unused)) static void xmlrpc_fail(struct ct_sb *r, const char *code, const char *param)
{
	struct ct_sb b;

	ct_sb_init(&b);
	ct_sb_addf(&b, "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
		   "<member><name>Status</name><value>Failure</value></member>"
		   "<member><name>ErrorDescription</name><value><array><data><value>%s</value>"
		   "<value>%s</value></data></array></value></member>"
		   "</struct></value></param></params></methodResponse>", code, param);
	respond(r, 200, "Content-Type: text/xml\r\n", b.buf);
	ct_sb_release(&b);
}

/* The first <value> text of the params (the session for most calls). */
__attribute__((unused)) static void first_param(const char *body, char *out, size_t len)
{
	const char *p = strstr(body, "<param>");
	const char *v, *e;

	out[0] = '\0';
	if (!p || !(v = strstr(p, "<value>")))
		return;
	v += 7;
	if (!strncmp(v, "<string>", 8))
		v += 8;
	e = strchr(v, '<');
	if (e)
		snprintf(out, len, "%.*s", (int)(e - v), v);
}

static void serve_one(struct fake *f, int c)
{
	struct ct_sb req, resp;
	char buf[65536], method[128] = "", line[512];
	size_t hdr_end = 0, clen = 0;
	int hang;

	ct_sb_init(&req);
	ct_sb_init(&resp);
	for (;;) {
		ssize_t n;
		char *he = strstr(req.buf, "\r\n\r\n");

		if (he && !hdr_end) {
			const char *cl = strcasestr(req.buf, "Content-Length:");

			hdr_end = (size_t)(he - req.buf) + 4;
			clen = cl && cl < he ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
		}
		if (hdr_end && req.len >= hdr_end + clen)
			break;
		n = read(c, buf, sizeof(buf));
		if (n <= 0)
			goto out;
		ct_sb_add(&req, buf, (size_t)n);
	}
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(req.buf, "\r\n"), req.buf);
	{
		const char *m = strstr(req.buf + hdr_end, "<methodName>");

		if (m)
			snprintf(method, sizeof(method), "%.*s", (int)strcspn(m + 12, "<"), m + 12);
	}
	pthread_mutex_lock(&f->lock);
	f->calls++;
	if (!strcmp(method, "session.login_with_password"))
		f->logins++;
	pthread_mutex_unlock(&f->lock);
	hang = f->h(f, line, method, req.buf + hdr_end, &resp);
	if (hang) {
		while (!f->stop)
			usleep(10000);
		goto out;
	}
	if (write(c, resp.buf, resp.len) < 0) {
		/* the client went away */
	}
out:
	close(c);
	ct_sb_release(&req);
	ct_sb_release(&resp);
}

struct conn_arg {
	struct fake *f;
	int c;
};

static void *conn_main(void *arg)
{
	struct conn_arg *a = arg;

	struct fake *f = a->f;

	serve_one(f, a->c);
	free(a);
	atomic_fetch_sub(&f->active, 1);
	return NULL;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;

	while (!f->stop) {
		struct pollfd p = { .fd = f->fd, .events = POLLIN };
		int c;
		pthread_t t;
		struct conn_arg *a;

		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(f->fd, NULL, NULL);
		if (c < 0)
			continue;
		a = ct_xmalloc(sizeof(*a));
		a->f = f;
		a->c = c;
		atomic_fetch_add(&f->active, 1);
		pthread_create(&t, NULL, conn_main, a);
		pthread_detach(t);
	}
	return NULL;
}

__attribute__((unused)) static void fake_start(struct fake *f, fake_handler h)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int one = 1;

	memset(f, 0, sizeof(*f));
	f->h = h;
	pthread_mutex_init(&f->lock, NULL);
	f->fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(f->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(f->fd, 64), 0);
	getsockname(f->fd, (struct sockaddr *)&sa, &sl);
	f->port = ntohs(sa.sin_port);
	pthread_create(&f->th, NULL, fake_main, f);
}

__attribute__((unused)) static void fake_stop(struct fake *f)
{
	f->stop = 1;
	pthread_join(f->th, NULL);
	close(f->fd);
	while (atomic_load(&f->active) > 0)   /* hanging connections see stop and end */
		usleep(2000);
	pthread_mutex_destroy(&f->lock);
}

#endif
