/* Unit tests for xapi.c against a scripted HTTP server in a thread: log in again on
 * SESSION_INVALID, timeouts, cancellation, HTTP errors, HTTP GET with a redirect to another
 * host and the task-id header, parallel record loads; plus the pure helpers (the master's
 * URL from HOST_IS_SLAVE, fingerprint spellings). xapi.c is included so its static helpers
 * can be tested; the archive's copy is then not linked. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xapi/xapi.c"
#include "test_xapi_fake.h"

static struct ct_xapi *client(struct fake *f, long call_timeout)
{
	char url[64];
	struct ct_xapi_opts o = {
		.url = url, .username = "root", .password = "secret", .tls_verify = true,
		.call_timeout_s = call_timeout,
	};

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f->port);
	return ct_xapi_new(&o);
}

/* ---- handlers ------------------------------------------------------------------------- */

static int h_session(struct fake *f, const char *line, const char *method, const char *body,
		     struct ct_sb *r)
{
	char s[128];

	(void)line;
	first_param(body, s, sizeof(s));
	if (!strcmp(method, "session.login_with_password")) {
		char v[64];

		pthread_mutex_lock(&f->lock);
		snprintf(v, sizeof(v), "OpaqueRef:session-%d", f->logins);
		pthread_mutex_unlock(&f->lock);
		xmlrpc_ok(r, v);
	} else if (!strcmp(method, "session.logout")) {
		xmlrpc_ok(r, "");
	} else if (!strcmp(s, "OpaqueRef:session-1")) {
		xmlrpc_fail(r, "SESSION_INVALID", s);
	} else if (!strcmp(method, "VM.get_all")) {
		xmlrpc_ok(r, "<array><data><value>OpaqueRef:a</value><value><string>OpaqueRef:b</string></value></data></array>");
	} else if (!strcmp(method, "VM.get_name_label")) {
		xmlrpc_ok(r, "web &amp; db");
	} else if (!strcmp(method, "VM.destroy")) {
		xmlrpc_ok(r, "");
	} else if (!strcmp(method, "pool.get_other_config")) {
		xmlrpc_ok(r, "<struct></struct>");
	} else if (!strcmp(method, "VM.get_power_state")) {
		xmlrpc_fail(r, "RBAC_PERMISSION_DENIED", "VM.get_power_state");
	} else if (!strcmp(method, "broken")) {
		respond(r, 500, "Content-Type: text/html\r\n",
			"<html><body><h1>Internal error</h1><p>Bad request body</p></body></html>");
	} else if (!strcmp(method, "slow")) {
		return 1;
	} else if (strstr(method, ".get_all_records")) {
		if (!strncmp(method, "VDI.", 4))
			xmlrpc_ok(r, "<struct><member><name>OpaqueRef:v1</name><value><struct>"
				  "<member><name>uuid</name><value>v1</value></member></struct></value></member>"
				  "<member><name>OpaqueRef:v2</name><value><struct>"
				  "<member><name>uuid</name><value>v2</value></member></struct></value></member>"
				  "</struct>");
		else if (!strncmp(method, "SR.", 3))
			xmlrpc_ok(r, "<struct><member><name>OpaqueRef:s1</name><value><struct>"
				  "<member><name>uuid</name><value>s1</value></member></struct></value></member>"
				  "</struct>");
		else if (!strncmp(method, "VBD.", 4))
			respond(r, 200, "Content-Type: text/xml\r\n", "<methodResponse><params><param><value><struct>"
				"<member><name>Status</name><value>Success</value></member><member><name>Value");
		else
			xmlrpc_ok(r, "<struct></struct>");
	} else {
		xmlrpc_fail(r, "MESSAGE_METHOD_UNKNOWN", method);
	}
	return 0;
}

START_TEST(relogin_on_session_invalid)
{
	struct fake f;
	struct ct_xapi *x;
	struct ct_err e;
	struct ct_strset set = { 0 };
	char *s = NULL;

	fake_start(&f, h_session);
	x = client(&f, 10);
	ct_err_init(&e);
	ck_assert_int_eq(ct_xapi_login(x, &e), 0);
	ck_assert_str_eq(ct_xapi_session(x), "OpaqueRef:session-1");
	/* session-1 is refused: log in again, retry once, succeed */
	ck_assert_msg(ct_xapi_call_set(x, "VM.get_all", NULL, 0, &set, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(set.n, 2);
	ck_assert_str_eq(set.v[1], "OpaqueRef:b");
	ck_assert_str_eq(ct_xapi_session(x), "OpaqueRef:session-2");
	ck_assert_int_eq(f.logins, 2);
	ct_strset_release(&set);
	/* bare-text string values, entities */
	{
		struct ct_xarg a[1] = { CT_XSTR("OpaqueRef:a") };

		ck_assert_int_eq(ct_xapi_call(x, "VM.get_name_label", a, 1, &s, &e), 0);
		ck_assert_str_eq(s, "web & db");
		free(s);
	}
	/* a void result is the empty string (<value></value>) */
	ck_assert_msg(ct_xapi_call(x, "VM.destroy", NULL, 0, &s, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(s, "");
	free(s);
	/* RBAC is reported as such, with the code kept */
	ck_assert_int_eq(ct_xapi_call(x, "VM.get_power_state", NULL, 0, &s, &e), -1);
	ck_assert(ct_err_is(&e, "RBAC_PERMISSION_DENIED"));
	ck_assert_ptr_nonnull(strstr(e.msg, "RBAC_PERMISSION_DENIED"));
	/* a Value that is not a string */
	ck_assert_int_eq(ct_xapi_call(x, "pool.get_other_config", NULL, 0, &s, &e), -1);
	ck_assert_int_eq(e.code, CT_E_PROTO);
	/* an unknown method keeps XAPI's code */
	ck_assert_int_eq(ct_xapi_call(x, "VM.no_such_call", NULL, 0, &s, &e), -1);
	ck_assert(ct_err_is(&e, "MESSAGE_METHOD_UNKNOWN"));
	ct_xapi_free(x);   /* logs out */
	fake_stop(&f);
}
END_TEST

START_TEST(http_error_and_timeout)
{
	struct fake f;
	struct ct_xapi *x;
	struct ct_err e;
	char *s = NULL;
	int64_t t0;

	fake_start(&f, h_session);
	x = client(&f, 1);
	ct_err_init(&e);
	ck_assert_int_eq(ct_xapi_login(x, &e), 0);
	/* HTTP 500 with an HTML page: CT_E_NET with the status and the page's text */
	ck_assert_int_eq(ct_xapi_call(x, "broken", NULL, 0, &s, &e), -1);
	ck_assert_int_eq(e.code, CT_E_NET);
	ck_assert_msg(strstr(e.msg, "500") && strstr(e.msg, "Bad request body"), "%s", e.msg);
	/* a server that never answers: the per-call timeout (1 s here) */
	t0 = ct_now_ms();
	ck_assert_int_eq(ct_xapi_call(x, "slow", NULL, 0, &s, &e), -1);
	ck_assert_int_eq(e.code, CT_E_TIMEOUT);
	ck_assert_int_lt(ct_now_ms() - t0, 3000);
	ct_xapi_free(x);
	fake_stop(&f);
}
END_TEST

static void *cancel_later(void *arg)
{
	usleep(200000);
	ct_xapi_cancel(arg);
	return NULL;
}

START_TEST(cancel_is_prompt)
{
	struct fake f;
	struct ct_xapi *x;
	struct ct_err e;
	char *s = NULL;
	pthread_t t;
	int64_t t0;

	fake_start(&f, h_session);
	x = client(&f, 60);
	ct_err_init(&e);
	ck_assert_int_eq(ct_xapi_login(x, &e), 0);
	t0 = ct_now_ms();
	pthread_create(&t, NULL, cancel_later, x);
	ck_assert_int_eq(ct_xapi_call(x, "slow", NULL, 0, &s, &e), -1);
	pthread_join(t, NULL);
	ck_assert_int_eq(e.code, CT_E_CANCEL);
	ck_assert_int_lt(ct_now_ms() - t0, 1000);
	/* later calls fail at once until reset */
	ck_assert_int_eq(ct_xapi_call(x, "VM.get_name_label", NULL, 0, &s, &e), -1);
	ck_assert_int_eq(e.code, CT_E_CANCEL);
	ct_xapi_reset_cancel(x);
	ck_assert_msg(ct_xapi_call(x, "VM.get_name_label", NULL, 0, &s, &e) == 0, "%s", e.msg);
	free(s);
	ct_xapi_free(x);
	fake_stop(&f);
}
END_TEST

static void *flag_later(void *arg)
{
	usleep(200000);
	atomic_store((atomic_int *)arg, 1);
	return NULL;
}

/* The caller's flag (a run's cancel) stops a blocked call without anyone calling
 * ct_xapi_cancel; it is honoured once, so the run's last calls go after a reset. */
START_TEST(cancel_with_flag)
{
	struct fake f;
	struct ct_xapi *x;
	struct ct_err e;
	char *s = NULL;
	atomic_int flag = 0;
	pthread_t t;

	fake_start(&f, h_session);
	x = client(&f, 60);   /* "slow" would hold the call for a minute */
	ct_err_init(&e);
	ck_assert_int_eq(ct_xapi_login(x, &e), 0);
	ct_xapi_cancel_with(x, &flag);
	ck_assert_msg(ct_xapi_call(x, "VM.get_name_label", NULL, 0, &s, &e) == 0, "%s", e.msg);
	free(s);
	s = NULL;
	pthread_create(&t, NULL, flag_later, &flag);
	ck_assert_int_eq(ct_xapi_call(x, "slow", NULL, 0, &s, &e), -1);
	pthread_join(t, NULL);
	ck_assert_int_eq(e.code, CT_E_CANCEL);
	ck_assert_int_eq(ct_xapi_call(x, "VM.get_name_label", NULL, 0, &s, &e), -1);
	ck_assert_int_eq(e.code, CT_E_CANCEL);
	ct_xapi_reset_cancel(x);   /* the flag is still set: honoured once */
	ck_assert_msg(ct_xapi_call(x, "VM.get_name_label", NULL, 0, &s, &e) == 0, "%s", e.msg);
	free(s);
	ct_xapi_free(x);
	fake_stop(&f);
}
END_TEST

static size_t n_records;
static void count_record(void *ctx, struct ct_obj *o)
{
	(void)ctx;
	n_records++;
	ct_obj_free(o);
}

START_TEST(parallel_loads)
{
	struct fake f;
	struct ct_xapi *x;
	struct ct_err e;
	enum ct_class good[] = { CT_POOL, CT_SR, CT_VDI, CT_VM, CT_HOST };
	enum ct_class bad[] = { CT_SR, CT_VBD };

	fake_start(&f, h_session);
	x = client(&f, 10);
	ct_err_init(&e);
	n_records = 0;
	/* not logged in yet: the load logs in, meets SESSION_INVALID on session-1, logs in
	 * again and runs the refused calls once more */
	ck_assert_msg(ct_xapi_load_classes(x, good, 5, count_record, NULL, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(n_records, 3);
	ck_assert_int_eq(f.logins, 2);
	/* a truncated reply fails the load with a message naming the call */
	n_records = 0;
	ck_assert_int_eq(ct_xapi_load_classes(x, bad, 2, count_record, NULL, &e), -1);
	ck_assert_int_eq(e.code, CT_E_PROTO);
	ck_assert_msg(strstr(e.msg, "VBD.get_all_records") && strstr(e.msg, "ended"), "%s", e.msg);
	ct_xapi_free(x);
	fake_stop(&f);
}
END_TEST

/* HTTP GET: 302 to "another host" (a second server), task-id header, streamed body. */
static int h_export_target(struct fake *f, const char *line, const char *method, const char *body,
			   struct ct_sb *r)
{
	(void)f;
	(void)method;
	(void)body;
	if (strstr(line, "GET /export?ref=OpaqueRef:vm1&session_id=OpaqueRef%3Asession-1 "))
		respond(r, 200, "task-id: OpaqueRef:task-9\r\nContent-Type: application/octet-stream\r\n",
			"xva-bytes-0123456789");
	else
		respond(r, 404, NULL, "<html><body>no such export</body></html>");
	return 0;
}

static struct fake *g_target;

static int h_export_master(struct fake *f, const char *line, const char *method, const char *body,
			   struct ct_sb *r)
{
	if (!strncmp(line, "GET /export?", 12)) {
		char hdr[256];

		snprintf(hdr, sizeof(hdr), "Location: http://127.0.0.1:%d%.*s\r\ntask-id: OpaqueRef:wrong\r\n",
			 g_target->port, (int)(strstr(line, " HTTP/") - (line + 4)), line + 4);
		respond(r, 302, hdr, "");
		return 0;
	}
	if (!strncmp(line, "GET /missing", 12)) {
		respond(r, 404, NULL, "<html><body>not found</body></html>");
		return 0;
	}
	return h_session(f, line, method, body, r);
}

static int collect_bytes(void *ctx, const void *buf, size_t n)
{
	ct_sb_add(ctx, buf, n);
	return 0;
}

START_TEST(http_get_redirect)
{
	struct fake m, t;
	struct ct_xapi *x;
	struct ct_err e;
	struct ct_sb got;
	char *task = NULL;

	fake_start(&t, h_export_target);
	g_target = &t;
	fake_start(&m, h_export_master);
	x = client(&m, 10);
	ct_err_init(&e);
	ct_sb_init(&got);
	ck_assert_int_eq(ct_xapi_login(x, &e), 0);
	ck_assert_msg(ct_xapi_http_get(x, "/export?ref=OpaqueRef:vm1", collect_bytes, &got, &task,
				       &e) == 0, "%s", e.msg);
	ck_assert_str_eq(got.buf, "xva-bytes-0123456789");
	ck_assert_ptr_nonnull(task);
	ck_assert_str_eq(task, "OpaqueRef:task-9");
	free(task);
	task = NULL;
	got.len = 0;
	ck_assert_int_eq(ct_xapi_http_get(x, "/missing", collect_bytes, &got, &task, &e), -1);
	ck_assert_int_eq(e.code, CT_E_NET);
	ck_assert_msg(strstr(e.msg, "404") && !strstr(e.msg, "session"), "%s", e.msg);
	ck_assert_uint_eq(got.len, 0);   /* an error page is not handed to the writer */
	free(task);
	ct_sb_release(&got);
	ct_xapi_free(x);
	fake_stop(&m);
	fake_stop(&t);
}
END_TEST

START_TEST(master_urls)
{
	static const struct {
		const char *cur, *param, *want;
	} cases[] = {
		{ "https://10.0.0.2", "10.0.0.1", "https://10.0.0.1" },
		{ "https://10.0.0.2:8443", "10.0.0.1", "https://10.0.0.1:8443" },
		{ "http://127.0.0.1:4000", "127.0.0.1:5000", "http://127.0.0.1:5000" },
		{ "https://pool.example", "fe80::1", "https://[fe80::1]" },
		{ "https://[fe80::2]:8443", "fe80::1", "https://[fe80::1]:8443" },
		{ "https://h", "[fe80::1]:9443", "https://[fe80::1]:9443" },
		{ "https://h:1/", "master-2.example.com", "https://master-2.example.com:1" },
		{ "https://h", "[2001:db8::7]", "https://[2001:db8::7]" },
	};
	/* a URL, a path, user info, spaces or control characters: refused, never followed
	 * (an https pool would otherwise log in over http and send its password in clear) */
	static const char *const refused[] = {
		"http://10.0.0.1", "https://master.example:2", "10.0.0.1/x", "root@10.0.0.1",
		"10.0.0.1 ", " 10.0.0.9\n", "10.0.0.1\r\nHost: x", "10.0.0.1:0", "10.0.0.1:99999",
		"10.0.0.1:80x", "[fe80::1", "[fe80::1]x", "fe80::1%eth0", "a?b", "a#b", "",
		"\xe2\x80\xae" "10.0.0.1", "host:",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *u = master_url(cases[i].cur, cases[i].param);

		ck_assert_msg(u && !strcmp(u, cases[i].want), "%s + %s: %s", cases[i].cur,
			      cases[i].param, u ? u : "(refused)");
		free(u);
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char *u = master_url("https://10.0.0.2", refused[i]);

		ck_assert_msg(u == NULL, "'%s' was accepted as %s", refused[i], u);
	}
}
END_TEST

/* A member that names "http://..." as its master: the login fails with a message naming
 * the pool and the address, and nothing is sent to the address. */
static int h_slave_url(struct fake *f, const char *line, const char *method, const char *body,
		       struct ct_sb *r)
{
	char url[64];

	(void)line;
	(void)body;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f->other_port);
	if (!strcmp(method, "session.login_with_password"))
		xmlrpc_fail(r, "HOST_IS_SLAVE", url);
	else
		xmlrpc_fail(r, "MESSAGE_METHOD_UNKNOWN", method);
	return 0;
}

START_TEST(host_is_slave_url_refused)
{
	struct fake f, other;
	struct ct_xapi_opts o = { .username = "root", .password = "secret", .tls_verify = true,
				  .call_timeout_s = 5, .name = "lab" };
	struct ct_xapi *x;
	struct ct_err e;
	char url[64];

	fake_start(&other, h_session);
	fake_start(&f, h_slave_url);
	f.other_port = other.port;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);
	o.url = url;
	x = ct_xapi_new(&o);
	ct_err_init(&e);
	ck_assert_int_eq(ct_xapi_login(x, &e), -1);
	ck_assert_int_eq(e.code, CT_E_PROTO);
	ck_assert_msg(strstr(e.msg, "pool 'lab'") && strstr(e.msg, "HOST_IS_SLAVE") &&
		      strstr(e.msg, "'http://127.0.0.1:") && strstr(e.msg, "not a host address"),
		      "%s", e.msg);
	ck_assert_int_eq(other.calls, 0);
	ck_assert_str_eq(ct_xapi_url(x), url);
	ct_xapi_free(x);
	fake_stop(&f);
	fake_stop(&other);
}
END_TEST

/* An endless get_all_records stops at the configured number of records or bytes, with a
 * sentence naming the limit, the pool, the class and the key that raises it. */
static int h_many(struct fake *f, const char *line, const char *method, const char *body,
		  struct ct_sb *r)
{
	struct ct_sb v;

	(void)f;
	(void)line;
	(void)body;
	if (!strcmp(method, "session.login_with_password")) {
		xmlrpc_ok(r, "OpaqueRef:session-0");
		return 0;
	}
	if (!strcmp(method, "session.logout")) {
		xmlrpc_ok(r, "");
		return 0;
	}
	ct_sb_init(&v);
	ct_sb_adds(&v, "<struct>");
	for (int i = 0; i < 50; i++)
		ct_sb_addf(&v, "<member><name>OpaqueRef:v%d</name><value><struct><member><name>uuid"
			   "</name><value>v%d</value></member></struct></value></member>", i, i);
	ct_sb_adds(&v, "</struct>");
	xmlrpc_ok(r, v.buf);
	ct_sb_release(&v);
	return 0;
}

START_TEST(reply_limits)
{
	struct fake f;
	struct ct_xapi_opts o = { .username = "root", .password = "secret", .tls_verify = true,
				  .call_timeout_s = 5, .name = "lab", .reply_max_records = 10 };
	struct ct_xapi *x;
	struct ct_err e;
	char url[64];

	fake_start(&f, h_many);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);
	o.url = url;
	x = ct_xapi_new(&o);
	ct_err_init(&e);
	n_records = 0;
	ck_assert_int_eq(ct_xapi_get_all_records(x, CT_VDI, NULL, count_record, NULL, &e), -1);
	ck_assert_msg(strstr(e.msg, "limits.reply_records") && strstr(e.msg, "pool 'lab'") &&
		      strstr(e.msg, "class VDI") && strstr(e.msg, "limit of 10 records"), "%s", e.msg);
	ck_assert_int_le(n_records, 10);
	ct_xapi_free(x);
	o.reply_max_records = 0;
	o.reply_max_bytes = 2000;
	x = ct_xapi_new(&o);
	ck_assert_int_eq(ct_xapi_get_all_records(x, CT_VDI, NULL, count_record, NULL, &e), -1);
	ck_assert_msg(strstr(e.msg, "limits.reply_bytes") && strstr(e.msg, "class VDI"), "%s",
		      e.msg);
	ct_xapi_free(x);
	/* the defaults take it */
	o.reply_max_bytes = 0;
	x = ct_xapi_new(&o);
	n_records = 0;
	ck_assert_msg(ct_xapi_get_all_records(x, CT_VDI, NULL, count_record, NULL, &e) == 0, "%s",
		      e.msg);
	ck_assert_int_eq(n_records, 50);
	ct_xapi_free(x);
	fake_stop(&f);
}
END_TEST

/* A login that gets no answer ends after login_timeout, whatever the call timeout. */
static int h_hang(struct fake *f, const char *line, const char *method, const char *body,
		  struct ct_sb *r)
{
	(void)f;
	(void)line;
	(void)method;
	(void)body;
	(void)r;
	return 1;
}

START_TEST(login_timeout)
{
	struct fake f;
	struct ct_xapi_opts o = { .username = "root", .password = "secret", .tls_verify = true,
				  .call_timeout_s = 60, .login_timeout_s = 1 };
	struct ct_xapi *x;
	struct ct_err e;
	char url[64];

	fake_start(&f, h_hang);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);
	o.url = url;
	x = ct_xapi_new(&o);
	ct_err_init(&e);
	ck_assert_int_eq(ct_xapi_login(x, &e), -1);
	ck_assert_int_eq(e.code, CT_E_TIMEOUT);
	ct_xapi_free(x);
	/* a deadline ends the login earlier still, and says whose limit it was */
	o.login_timeout_s = 60;
	x = ct_xapi_new(&o);
	ct_xapi_set_deadline(x, ct_now_ms() + 300, "check --timeout 1s");
	ck_assert_int_eq(ct_xapi_login(x, &e), -1);
	ck_assert_int_eq(e.code, CT_E_TIMEOUT);
	ck_assert_msg(strstr(e.msg, "check --timeout 1s") && strstr(e.msg, "session.login_with_password"),
		      "%s", e.msg);
	ct_xapi_free(x);
	fake_stop(&f);
}
END_TEST

/* The login request carries the password XML-escaped, put in after xmlrpc-c encoded the
 * call around a placeholder (so xmlrpc-c never holds it). */
START_TEST(login_request_secret)
{
	struct ct_xapi_opts o = { .url = "http://127.0.0.1:1", .username = "root",
				  .password = "p&w<o>r\rd\"x" };
	struct ct_xarg args[4] = { CT_XSTR("root"), CT_XSTR(SECRET_MARK), CT_XSTR("1.0"),
				   CT_XSTR("chaintop") };
	struct ct_xapi *x = ct_xapi_new(&o);
	struct ct_err e;
	char *body = NULL;
	size_t len = 0;

	ct_err_init(&e);
	ck_assert_int_eq(build_request("session.login_with_password", NULL, args, 4, &body, &len,
				       &e), 0);
	ck_assert_int_eq(splice_secret(x, &body, &len, &e), 0);
	ck_assert_uint_eq(len, strlen(body));
	ck_assert_msg(strstr(body, "<string>p&amp;w&lt;o&gt;r&#13;d\"x</string>"), "%s", body);
	ck_assert_ptr_null(strstr(body, SECRET_MARK));
	ck_assert_ptr_nonnull(strstr(body, "<string>chaintop</string>"));
	free(body);
	ct_xapi_free(x);
	o.password = "bad\x01";
	x = ct_xapi_new(&o);
	ck_assert_int_eq(build_request("session.login_with_password", NULL, args, 4, &body, &len,
				       &e), 0);
	ck_assert_int_eq(splice_secret(x, &body, &len, &e), -1);
	ck_assert_ptr_null(body);
	ck_assert_int_eq(e.code, CT_E_CONFIG);
	ct_xapi_free(x);
}
END_TEST

START_TEST(fingerprints)
{
	unsigned char a[32], b[32];
	char text[128];
	const char *hex = "5FD017E060509 2E202131 84FD7D840B55F9FD43C677A1EB0AFF0EBCD0D74CDC2";

	ck_assert(parse_fingerprint("sha256:5F:D0:17:E0:60:50:92:E2:02:13:18:4F:D7:D8:40:B5:5F:9F:D4:3C:67:7A:1E:B0:AF:F0:EB:CD:0D:74:CD:C2", a));
	ck_assert(parse_fingerprint("5fd017e06050 92e20213184fd7d840b55f9fd43c677a1eb0aff0ebcd0d74cdc2", b));
	ck_assert(!memcmp(a, b, 32));
	ck_assert(parse_fingerprint("SHA256 Fingerprint=5F:D0:17:E0:60:50:92:E2:02:13:18:4F:D7:D8:40:B5:5F:9F:D4:3C:67:7A:1E:B0:AF:F0:EB:CD:0D:74:CD:C2", b));
	ck_assert(!memcmp(a, b, 32));
	ck_assert(parse_fingerprint(hex, b));
	ck_assert(!parse_fingerprint("sha256:5F:D0", b));
	ck_assert(!parse_fingerprint("sha1:5F:D0:17:E0:60:50:92:E2:02:13:18:4F:D7:D8:40:B5:5F:9F:D4:3C", b));
	ck_assert(!parse_fingerprint("zz:D0:17:E0:60:50:92:E2:02:13:18:4F:D7:D8:40:B5:5F:9F:D4:3C:67:7A:1E:B0:AF:F0:EB:CD:0D:74:CD:C2", b));
	format_fingerprint(a, text, sizeof(text));
	ck_assert_str_eq(text, "5F:D0:17:E0:60:50:92:E2:02:13:18:4F:D7:D8:40:B5:5F:9F:D4:3C:67:7A:1E:B0:AF:F0:EB:CD:0D:74:CD:C2");
}
END_TEST

START_TEST(bad_pin_and_no_server)
{
	struct ct_xapi_opts o = { .url = "http://127.0.0.1:1", .username = "root", .password = "x",
				  .tls_verify = true, .fingerprint = "sha256:12:34", .connect_timeout_s = 2 };
	struct ct_xapi *x = ct_xapi_new(&o);
	struct ct_err e;

	ct_err_init(&e);
	ck_assert_int_eq(ct_xapi_login(x, &e), -1);
	ck_assert_int_eq(e.code, CT_E_CONFIG);
	ct_xapi_free(x);
	o.fingerprint = NULL;
	x = ct_xapi_new(&o);
	ck_assert_int_eq(ct_xapi_login(x, &e), -1);
	ck_assert_int_eq(e.code, CT_E_NET);
	ck_assert_msg(strstr(e.msg, "127.0.0.1:1"), "%s", e.msg);
	ct_xapi_free(x);
}
END_TEST

/* Issue 11 item 2: replies to ordinary calls go through decode.c too. A login reply nested
 * 180,000 elements deep (1.2 MB) made xmlrpc-c overflow the stack freeing its parse tree;
 * now it is refused by the decoder's depth limit. Faults, Values of the wrong shape and
 * scalar types keep clear messages. */
static int h_hostile(struct fake *f, const char *line, const char *method, const char *body,
		     struct ct_sb *r)
{
	(void)f;
	(void)line;
	(void)body;
	if (!strcmp(method, "session.login_with_password")) {
		struct ct_sb deep;

		ct_sb_init(&deep);
		for (int i = 0; i < 90000; i++)
			ct_sb_adds(&deep, "<array><data><value>");
		for (int i = 0; i < 90000; i++)
			ct_sb_adds(&deep, "</value></data></array>");
		xmlrpc_ok(r, deep.buf);
		ct_sb_release(&deep);
	} else if (!strcmp(method, "fault")) {
		respond(r, 200, "Content-Type: text/xml\r\n", "<?xml version=\"1.0\"?><methodResponse>"
			"<fault><value><struct><member><name>faultCode</name><value><int>-32601</int>"
			"</value></member><member><name>faultString</name><value><string>no such "
			"method</string></value></member></struct></value></fault></methodResponse>");
	} else if (!strcmp(method, "bool")) {
		xmlrpc_ok(r, "<boolean>1</boolean>");
	} else if (!strcmp(method, "nil")) {
		xmlrpc_ok(r, "<nil/>");
	} else if (!strcmp(method, "struct")) {
		xmlrpc_ok(r, "<struct><member><name>a</name><value>b</value></member></struct>");
	} else if (!strcmp(method, "set")) {
		xmlrpc_ok(r, "<array><data><value>a</value><value><i4>2</i4></value></data></array>");
	} else if (!strcmp(method, "badset")) {
		xmlrpc_ok(r, "<array><data><value>a</value><value><struct></struct></value></data></array>");
	} else if (!strcmp(method, "notxml")) {
		respond(r, 200, "Content-Type: text/html\r\n", "<html><body>hello</body></html>");
	} else {
		xmlrpc_fail(r, "MESSAGE_METHOD_UNKNOWN", method);
	}
	return 0;
}

START_TEST(small_replies_decoded)
{
	struct fake f;
	struct ct_xapi *x;
	struct ct_err e;
	struct ct_strset set = { 0 };
	char *s = NULL;

	fake_start(&f, h_hostile);
	x = client(&f, 10);
	ct_err_init(&e);
	ck_assert_int_eq(ct_xapi_login(x, &e), -1);
	ck_assert_int_eq(e.code, CT_E_PROTO);
	ck_assert_msg(strstr(e.msg, "nested deeper") && strstr(e.msg, "session.login_with_password"),
		      "%s", e.msg);
	/* the rest needs a session: pretend one */
	x->session = ct_xstrdup("OpaqueRef:s");
	ck_assert_int_eq(ct_xapi_call(x, "fault", NULL, 0, &s, &e), -1);
	ck_assert_int_eq(e.code, CT_E_PROTO);
	ck_assert_msg(strstr(e.msg, "XML-RPC fault (-32601: no such method") &&
		      strstr(e.msg, "pool master"), "%s", e.msg);
	ck_assert_int_eq(ct_xapi_call(x, "bool", NULL, 0, &s, &e), 0);
	ck_assert_str_eq(s, "true");
	free(s);
	ck_assert_int_eq(ct_xapi_call(x, "nil", NULL, 0, &s, &e), 0);
	ck_assert_str_eq(s, "");
	free(s);
	ck_assert_int_eq(ct_xapi_call(x, "struct", NULL, 0, &s, &e), -1);
	ck_assert_msg(e.code == CT_E_PROTO && strstr(e.msg, "not a string") && strstr(e.msg, "to struct"),
		      "%s", e.msg);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(ct_xapi_call_set(x, "set", NULL, 0, &set, &e), 0);
	ck_assert_uint_eq(set.n, 2);
	ck_assert_str_eq(set.v[1], "2");
	ct_strset_release(&set);
	ck_assert_int_eq(ct_xapi_call_set(x, "badset", NULL, 0, &set, &e), -1);
	ck_assert_msg(e.code == CT_E_PROTO && strstr(e.msg, "not a set of strings"), "%s", e.msg);
	ck_assert_int_eq(ct_xapi_call_set(x, "struct", NULL, 0, &set, &e), -1);
	ck_assert_msg(strstr(e.msg, "not a set of strings"), "%s", e.msg);
	ct_strset_release(&set);
	ck_assert_int_eq(ct_xapi_call(x, "notxml", NULL, 0, &s, &e), -1);
	ck_assert_msg(e.code == CT_E_PROTO && strstr(e.msg, "notxml"), "%s", e.msg);
	ck_assert_int_eq(ct_xapi_call(x, "other", NULL, 0, &s, &e), -1);
	ck_assert(ct_err_is(&e, "MESSAGE_METHOD_UNKNOWN"));
	ct_xapi_free(x);
	fake_stop(&f);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xapi");
	TCase *tc = tcase_create("xapi");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, relogin_on_session_invalid);
	tcase_add_test(tc, http_error_and_timeout);
	tcase_add_test(tc, cancel_is_prompt);
	tcase_add_test(tc, cancel_with_flag);
	tcase_add_test(tc, parallel_loads);
	tcase_add_test(tc, http_get_redirect);
	tcase_add_test(tc, master_urls);
	tcase_add_test(tc, host_is_slave_url_refused);
	tcase_add_test(tc, reply_limits);
	tcase_add_test(tc, login_timeout);
	tcase_add_test(tc, login_request_secret);
	tcase_add_test(tc, fingerprints);
	tcase_add_test(tc, bad_pin_and_no_server);
	tcase_add_test(tc, small_replies_decoded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	struct ct_err e;
	int failed;

	ct_err_init(&e);
	if (ct_xapi_global_init(&e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return EXIT_FAILURE;
	}
	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	ct_xapi_global_cleanup();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
