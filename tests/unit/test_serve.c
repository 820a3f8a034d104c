/* Unit tests for chaintop serve's parts: the metrics writer (label escaping, one group a
 * family across sets, OpenMetrics' # EOF), the HTTP server driven in-process (routing,
 * 400/401/404/405/431, HEAD, bearer and basic auth, the secret comparison) and the serve
 * block of the configuration. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "lib/httpd.h"
#include "lib/util.h"
#include "output/metrics.h"

/* ---- metrics ------------------------------------------------------------------------- */

START_TEST(labels_escaped_and_grouped)
{
	struct ct_metrics a, b;
	const struct ct_metrics *sets[2] = { &a, &b };
	struct ct_metrics_status s1 = { .name = "we\"ird\\pool", .up = true, .loaded = true,
					.state = "connected" };
	struct ct_metrics_status s2 = { .name = "line\nbreak", .up = false, .loaded = true,
					.state = "reconnecting", .data_at = 1000 };
	struct ct_sb out;

	ct_metrics_init(&a);
	ct_metrics_init(&b);
	ct_metrics_pool_status(&a, &s1, 2000);
	ct_metrics_pool_status(&b, &s2, 2000);
	ct_sb_init(&out);
	ct_metrics_write(&out, sets, 2, false);
	/* quote and backslash escaped; the newline sanitised to \n text, its backslash escaped */
	ck_assert_ptr_nonnull(strstr(out.buf, "chaintop_pool_up{pool=\"we\\\"ird\\\\pool\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(out.buf, "chaintop_pool_up{pool=\"line\\\\nbreak\"} 0\n"));
	/* one HELP/TYPE a family, samples of both sets together under it */
	{
		const char *t = strstr(out.buf, "# TYPE chaintop_pool_up gauge\n");
		const char *u1 = strstr(out.buf, "chaintop_pool_up{pool=\"we");
		const char *u2 = strstr(out.buf, "chaintop_pool_up{pool=\"line");
		const char *next = strstr(out.buf, "# HELP chaintop_pool_state ");

		ck_assert_ptr_nonnull(t);
		ck_assert_ptr_null(strstr(t + 1, "# TYPE chaintop_pool_up gauge"));
		ck_assert(t < u1 && u1 < u2 && u2 < next);
	}
	/* stale figures: age from the last contact; live ones 0 */
	ck_assert_ptr_nonnull(strstr(out.buf, "chaintop_pool_data_age_seconds{pool=\"line\\\\nbreak\"} 1000\n"));
	ck_assert_ptr_nonnull(strstr(out.buf, "chaintop_pool_data_age_seconds{pool=\"we\\\"ird\\\\pool\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(out.buf, "chaintop_pool_state{pool=\"line\\\\nbreak\",state=\"reconnecting\"} 1\n"));
	ck_assert_ptr_null(strstr(out.buf, "# EOF"));
	ct_sb_release(&out);
	ct_sb_init(&out);
	ct_metrics_write(&out, sets, 2, true);
	ck_assert_int_ge((int)out.len, 6);
	ck_assert_str_eq(out.buf + out.len - 6, "# EOF\n");
	ct_sb_release(&out);
	ct_metrics_release(&a);
	ct_metrics_release(&b);
}
END_TEST

START_TEST(openmetrics_negotiation)
{
	ck_assert(ct_metrics_wants_openmetrics("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"));
	ck_assert(!ct_metrics_wants_openmetrics("text/plain;version=0.0.4;q=1,*/*;q=0.1"));
	ck_assert(!ct_metrics_wants_openmetrics(NULL));
}
END_TEST

START_TEST(not_loaded_pool_is_unknown)
{
	struct ct_metrics m;
	const struct ct_metrics *set = &m;
	struct ct_output_pool p = { .name = "down", .connected = false };
	struct ct_sb out;

	ct_metrics_init(&m);
	ct_metrics_pool(&m, &p);
	ct_sb_init(&out);
	ct_metrics_write(&out, &set, 1, false);
	ck_assert_ptr_nonnull(strstr(out.buf, "chaintop_pool_severity{pool=\"down\"} 3\n"));
	ck_assert_ptr_null(strstr(out.buf, "chaintop_sr_"));
	ct_sb_release(&out);
	ct_metrics_release(&m);
}
END_TEST

/* ---- httpd, in-process --------------------------------------------------------------- */

static void handler(void *ctx, const struct ct_http_req *rq, struct ct_http_resp *rs)
{
	(void)ctx;
	if (!strcmp(rq->path, "/hello")) {
		rs->content_type = "text/plain";
		ct_sb_addf(&rs->body, "hello %s accept=%s\n", rq->query, rq->accept ? rq->accept : "-");
	} else {
		rs->status = 404;
		ct_sb_adds(&rs->body, "nope\n");
	}
}

/* Send req to the server and run it until the reply is complete; the reply is returned
 * (owned). */
static char *roundtrip(struct ct_httpd *h, const char *req, size_t len)
{
	struct pollfd fds[80];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *addr = ct_httpd_address(h);
	struct ct_sb out;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool done = false;
	size_t sent = 0;

	sa.sin_port = htons((uint16_t)atoi(strrchr(addr, ':') + 1));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ct_sb_init(&out);
	for (int rounds = 0; !done && rounds < 2000; rounds++) {
		int n = ct_httpd_pollfds(h, fds, 79);

		fds[n].fd = fd;
		fds[n].events = POLLIN | (sent < len ? POLLOUT : 0);
		fds[n].revents = 0;
		ck_assert_int_ge(poll(fds, (nfds_t)n + 1, 1000), 0);
		ct_httpd_serve(h, fds, n);
		if ((fds[n].revents & POLLOUT) && sent < len) {
			ssize_t w = send(fd, req + sent, len - sent, MSG_NOSIGNAL);

			if (w > 0)
				sent += (size_t)w;
		}
		if (fds[n].revents & (POLLIN | POLLHUP)) {
			char buf[4096];
			ssize_t r = recv(fd, buf, sizeof(buf), 0);

			if (r <= 0)
				done = true;
			else
				ct_sb_add(&out, buf, (size_t)r);
		}
	}
	close(fd);
	ck_assert(done);
	return ct_sb_detach(&out);
}

static char *get(struct ct_httpd *h, const char *req)
{
	return roundtrip(h, req, strlen(req));
}

START_TEST(httpd_routes_and_errors)
{
	struct ct_httpd_conf c = { .listen = "127.0.0.1:0", .max_request = 1024 };
	struct ct_err e;
	struct ct_httpd *h;
	char *r, *big;

	ct_err_init(&e);
	h = ct_httpd_new(&c, handler, NULL, &e);
	ck_assert_msg(h != NULL, "%s", e.msg);
	r = get(h, "GET /hello?x=1 HTTP/1.1\r\nHost: a\r\nAccept:  text/plain  \r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, "HTTP/1.1 200 OK\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "Content-Length: 28\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "Connection: close\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "\r\n\r\nhello x=1 accept=text/plain\n"));
	free(r);
	r = get(h, "GET /h%65llo HTTP/1.0\n\n");   /* bare newlines, percent-decoding */
	ck_assert_ptr_nonnull(strstr(r, "hello  accept=-"));
	free(r);
	r = get(h, "HEAD /hello HTTP/1.1\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, "HTTP/1.1 200 OK\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "Content-Length: 16\r\n"));
	ck_assert_ptr_null(strstr(r, "hello"));
	free(r);
	r = get(h, "GET /other HTTP/1.1\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, "HTTP/1.1 404 Not Found\r\n"));
	free(r);
	r = get(h, "PUT /hello HTTP/1.1\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, "HTTP/1.1 405 Method Not Allowed\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "Allow: GET, HEAD\r\n"));
	free(r);
	r = get(h, "GET hello HTTP/1.1\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, "HTTP/1.1 400 "));
	free(r);
	r = get(h, "GET /%zz HTTP/1.1\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, "HTTP/1.1 400 "));
	free(r);
	r = get(h, "GET /%00 HTTP/1.1\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, "HTTP/1.1 400 "));
	free(r);
	r = get(h, "GET / SPDY/3\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, "HTTP/1.1 400 "));
	free(r);
	r = roundtrip(h, "GET / HTTP/1.1\r\nX: \0\r\n\r\n", 24);
	ck_assert_ptr_nonnull(strstr(r, "HTTP/1.1 400 "));
	free(r);
	big = ct_xmalloc(3000);
	memset(big, 'a', 2999);
	big[2999] = '\0';
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	r = get(h, big);
	ck_assert_ptr_nonnull(strstr(r, "HTTP/1.1 431 "));
	free(r);
	free(big);
	ct_httpd_free(h);
}
END_TEST

START_TEST(httpd_auth)
{
	struct ct_httpd_conf c = { .listen = "127.0.0.1:0", .bearer = "tok" };
	struct ct_err e;
	struct ct_httpd *h;
	char *r;

	ct_err_init(&e);
	h = ct_httpd_new(&c, handler, NULL, &e);
	ck_assert_ptr_nonnull(h);
	r = get(h, "GET /hello HTTP/1.1\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, "HTTP/1.1 401 Unauthorized\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "WWW-Authenticate: Bearer realm=\"chaintop\"\r\n"));
	free(r);
	r = get(h, "GET /hello HTTP/1.1\r\nauthorization: Bearer tok\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, "HTTP/1.1 200 OK\r\n"));
	free(r);
	r = get(h, "GET /hello HTTP/1.1\r\nAuthorization: Bearer tok2\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, "HTTP/1.1 401 "));
	free(r);
	ct_httpd_free(h);

	c.bearer = NULL;
	c.basic_user = "prom";
	c.basic_password = "pw";
	h = ct_httpd_new(&c, handler, NULL, &e);
	ck_assert_ptr_nonnull(h);
	/* base64("prom:pw") = cHJvbTpwdw== */
	r = get(h, "GET /hello HTTP/1.1\r\nAuthorization: Basic cHJvbTpwdw==\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, "HTTP/1.1 200 OK\r\n"));
	free(r);
	r = get(h, "GET /hello HTTP/1.1\r\nAuthorization: Basic cHJvbTpwdQ==\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, "WWW-Authenticate: Basic realm=\"chaintop\"\r\n"));
	free(r);
	ct_httpd_free(h);

	ck_assert(ct_httpd_secret_eq("abc", "abc"));
	ck_assert(!ct_httpd_secret_eq("abd", "abc"));
	ck_assert(!ct_httpd_secret_eq("ab", "abc"));
	ck_assert(!ct_httpd_secret_eq("abcd", "abc"));
	ck_assert(!ct_httpd_secret_eq("", "abc"));
}
END_TEST

START_TEST(httpd_bad_listen)
{
	struct ct_httpd_conf c = { .listen = "localhost" };
	struct ct_err e;

	ct_err_init(&e);
	ck_assert_ptr_null(ct_httpd_new(&c, handler, NULL, &e));
	ck_assert_ptr_nonnull(strstr(e.msg, "is not HOST:PORT"));
	c.listen = "127.0.0.1:70000";
	ck_assert_ptr_null(ct_httpd_new(&c, handler, NULL, &e));
	c.listen = "[::1]:0";
	{
		struct ct_httpd *h = ct_httpd_new(&c, handler, NULL, &e);

		/* hosts without IPv6 refuse; with it the address is bracketed */
		if (h) {
			ck_assert_int_eq(strncmp(ct_httpd_address(h), "[::1]:", 6), 0);
			ct_httpd_free(h);
		}
	}
}
END_TEST

/* ---- configuration -------------------------------------------------------------------- */

static int load(struct ct_config *c, const char *text, struct ct_err *e)
{
	ct_config_init(c);
	return ct_config_load_string(c, text, "t.conf", false, e);
}

START_TEST(serve_config)
{
	struct ct_config c;
	struct ct_err e;

	ct_err_init(&e);
	ck_assert_int_eq(load(&c, "", &e), 0);
	ck_assert_str_eq(c.serve.listen, CT_SERVE_LISTEN);
	ck_assert_int_eq(c.serve.auth, CT_SERVE_AUTH_NONE);
	ct_config_release(&c);

	setenv("CT_TEST_TOKEN", "tk", 1);
	ck_assert_int_eq(load(&c, "serve = { listen = \":9100\"; auth = { type = \"bearer\"; "
			      "token_env = \"CT_TEST_TOKEN\"; }; };", &e), 0);
	ck_assert_str_eq(c.serve.listen, ":9100");
	ck_assert_int_eq(c.serve.auth, CT_SERVE_AUTH_BEARER);
	ck_assert_str_eq(c.serve.secret, "tk");
	ct_config_release(&c);

	ck_assert_int_eq(load(&c, "serve = { auth = { type = \"basic\"; username = \"p\"; "
			      "password_env = \"CT_TEST_TOKEN\"; }; };", &e), 0);
	ck_assert_int_eq(c.serve.auth, CT_SERVE_AUTH_BASIC);
	ck_assert_str_eq(c.serve.username, "p");
	ct_config_release(&c);

	ck_assert_int_lt(load(&c, "serve = { listn = \"x\"; };", &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "listen"));
	ct_config_release(&c);
	ck_assert_int_lt(load(&c, "serve = { auth = { type = \"digest\"; }; };", &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "serve.auth.type"));
	ct_config_release(&c);
	ck_assert_int_lt(load(&c, "serve = { auth = { type = \"bearer\"; token_env = \"CT_TEST_TOKEN\"; "
			      "username = \"x\"; }; };", &e), 0);
	ct_config_release(&c);
	ck_assert_int_lt(load(&c, "serve = { auth = { type = \"basic\"; password_env = \"CT_TEST_TOKEN\"; }; };", &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "username"));
	ct_config_release(&c);
	ck_assert_int_lt(load(&c, "serve = { tls_key = \"k.pem\"; };", &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "tls_cert"));
	ct_config_release(&c);
	unsetenv("CT_TEST_TOKEN");
	ck_assert_int_lt(load(&c, "serve = { auth = { type = \"bearer\"; token_env = \"CT_TEST_TOKEN\"; }; };", &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "CT_TEST_TOKEN"));
	ct_config_release(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("serve");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, labels_escaped_and_grouped);
	tcase_add_test(tc, openmetrics_negotiation);
	tcase_add_test(tc, not_loaded_pool_is_unknown);
	tcase_add_test(tc, httpd_routes_and_errors);
	tcase_add_test(tc, httpd_auth);
	tcase_add_test(tc, httpd_bad_listen);
	tcase_add_test(tc, serve_config);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
