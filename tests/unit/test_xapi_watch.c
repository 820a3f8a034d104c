/* Unit tests for watch.c against a scripted XAPI (test_xapi_fake.h): the load, add/mod/del
 * applied with the hook called before each change, a re-load when valid_ref_counts disagree
 * twice, the wake pipe, once mode without event.inject, reconnect with backoff, refused
 * credentials, and a prompt stop. */
#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "model/model.h"
#include "lib/util.h"
#include "watch/watch.h"
#include "xapi/xapi.h"
#include "test_xapi_fake.h"

enum mode { M_NORMAL, M_AUTH, M_BROKEN };

static struct {
	pthread_mutex_t lock;
	enum mode mode;
	int vm_loads, from_calls, injects;
	bool have_a, have_new;
} W = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void w_reset(enum mode m)
{
	pthread_mutex_lock(&W.lock);
	W.mode = m;
	W.vm_loads = W.from_calls = W.injects = 0;
	W.have_a = true;
	W.have_new = false;
	pthread_mutex_unlock(&W.lock);
}

static void vm_member(struct ct_sb *b, const char *ref, const char *name)
{
	ct_sb_addf(b, "<member><name>%s</name><value><struct>"
		   "<member><name>uuid</name><value>uuid-%s</value></member>"
		   "<member><name>name_label</name><value>%s</value></member>"
		   "<member><name>power_state</name><value>Running</value></member>"
		   "</struct></value></member>", ref, name, name);
}

static int vm_count(void)
{
	return 1 + W.have_a + W.have_new;
}

static int h_xapi(struct fake *f, const char *line, const char *method, const char *body,
		  struct ct_sb *r)
{
	struct ct_sb b;
	int hang = 0;

	(void)f;
	(void)line;
	(void)body;
	ct_sb_init(&b);
	pthread_mutex_lock(&W.lock);
	if (!strcmp(method, "session.login_with_password")) {
		if (W.mode == M_AUTH)
			xmlrpc_fail(r, "SESSION_AUTHENTICATION_FAILED", "root");
		else
			xmlrpc_ok(r, "OpaqueRef:s1");
	} else if (!strcmp(method, "session.logout")) {
		xmlrpc_ok(r, "");
	} else if (W.mode == M_BROKEN) {
		respond(r, 500, NULL, "<html><body>xapi is unwell</body></html>");
	} else if (!strcmp(method, "pool.get_all")) {
		xmlrpc_ok(r, "<array><data><value>OpaqueRef:pool1</value></data></array>");
	} else if (!strcmp(method, "event.inject")) {
		W.injects++;
		xmlrpc_ok(r, "tok-0");
	} else if (!strcmp(method, "pool.get_all_records")) {
		xmlrpc_ok(r, "<struct><member><name>OpaqueRef:pool1</name><value><struct>"
			  "<member><name>uuid</name><value>pool-uuid</value></member>"
			  "<member><name>name_label</name><value>lab-pool</value></member>"
			  "</struct></value></member></struct>");
	} else if (!strcmp(method, "VM.get_all_records")) {
		W.vm_loads++;
		ct_sb_adds(&b, "<struct>");
		if (W.have_a)
			vm_member(&b, "OpaqueRef:vm-a", "vm-a");
		vm_member(&b, "OpaqueRef:vm-b", "vm-b");
		if (W.have_new)
			vm_member(&b, "OpaqueRef:vm-new", "vm-new");
		ct_sb_adds(&b, "</struct>");
		xmlrpc_ok(r, b.buf);
	} else if (strstr(method, ".get_all_records")) {
		xmlrpc_ok(r, "<struct></struct>");
	} else if (!strcmp(method, "event.from")) {
		int step = ++W.from_calls, count;

		ct_sb_adds(&b, "<struct><member><name>events</name><value><array><data>");
		if (step == 1) {
			W.have_new = true;
			ct_sb_adds(&b, "<value><struct><member><name>class</name><value>vm</value></member>"
				   "<member><name>operation</name><value>add</value></member>"
				   "<member><name>ref</name><value>OpaqueRef:vm-new</value></member>"
				   "<member><name>snapshot</name><value><struct>"
				   "<member><name>uuid</name><value>uuid-vm-new</value></member>"
				   "<member><name>name_label</name><value>vm-new</value></member>"
				   "</struct></value></member></struct></value>");
		} else if (step == 2) {
			W.have_a = false;
			ct_sb_adds(&b, "<value><struct><member><name>class</name><value>vm</value></member>"
				   "<member><name>operation</name><value>del</value></member>"
				   "<member><name>ref</name><value>OpaqueRef:vm-a</value></member>"
				   "</struct></value>");
		} else if (step > 4) {
			pthread_mutex_unlock(&W.lock);
			usleep(100000);
			pthread_mutex_lock(&W.lock);
		}
		count = step == 3 || step == 4 ? 99 : vm_count();
		ct_sb_addf(&b, "</data></array></value></member>"
			   "<member><name>valid_ref_counts</name><value><struct>"
			   "<member><name>vm</name><value><i4>%d</i4></value></member>"
			   "<member><name>pool</name><value><i4>1</i4></value></member>"
			   "</struct></value></member>"
			   "<member><name>token</name><value>tok-%d</value></member></struct>", count, step);
		xmlrpc_ok(r, b.buf);
	} else {
		xmlrpc_fail(r, "MESSAGE_METHOD_UNKNOWN", method);
	}
	pthread_mutex_unlock(&W.lock);
	ct_sb_release(&b);
	return hang;
}

/* ---- the watcher under test ----------------------------------------------------------- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ct_sb ev_log;

static void on_event(void *ctx, const char *pool, const struct ct_event *ev, const struct ct_model *m)
{
	const struct ct_vm *before = ev->cls == CT_VM ? ct_model_vm(m, ev->ref) : NULL;

	(void)ctx;
	pthread_mutex_lock(&log_lock);
	ct_sb_addf(&ev_log, "%s %s %s %s before=%s;", pool,
		   ev->op == CT_EV_ADD ? "add" : ev->op == CT_EV_DEL ? "del" : "mod",
		   ct_class_name(ev->cls), ev->ref, before ? before->name_label : "-");
	pthread_mutex_unlock(&log_lock);
}

struct setup {
	struct fake f;
	char url[64];
	struct ct_pool_conf pc;
	struct ct_config c;
	struct ct_watchset ws;
};

static void setup_start(struct setup *s, bool once)
{
	struct ct_err e;

	memset(s, 0, sizeof(*s));
	fake_start(&s->f, h_xapi);
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->f.port);
	s->pc.name = "lab";
	s->pc.url = s->url;
	s->pc.username = "root";
	s->pc.password = "secret";
	s->pc.tls.verify = true;
	s->c.pools = &s->pc;
	s->c.n_pools = 1;
	ct_err_init(&e);
	ck_assert_int_eq(ct_watchset_init(&s->ws, &s->c, NULL, 0, once, &e), 0);
	s->ws.on_event = on_event;
	ct_sb_init(&ev_log);
	ck_assert_int_eq(ct_watchset_start(&s->ws, &e), 0);
}

static int64_t setup_stop(struct setup *s)
{
	int64_t t0 = ct_now_ms(), t;

	ct_watchset_stop(&s->ws);
	t = ct_now_ms() - t0;
	ct_watchset_release(&s->ws);
	fake_stop(&s->f);
	ct_sb_release(&ev_log);
	return t;
}

static int get_int(int *p)
{
	int v;

	pthread_mutex_lock(&W.lock);
	v = *p;
	pthread_mutex_unlock(&W.lock);
	return v;
}

START_TEST(events_and_reload)
{
	struct setup s;
	struct ct_watch *w;
	struct pollfd pfd;

	w_reset(M_NORMAL);
	setup_start(&s, false);
	w = &s.ws.w[0];
	ck_assert_int_eq(ct_watchset_wait_settled(&s.ws, 5000), 0);
	/* the counts disagree twice (steps 3 and 4): a second full load follows */
	for (int i = 0; i < 250 && get_int(&W.vm_loads) < 2; i++)
		usleep(20000);
	ck_assert_int_ge(get_int(&W.vm_loads), 2);
	usleep(150000);
	ct_model_lock(&w->model);
	ck_assert_int_eq(w->state, CT_POOL_CONNECTED);
	ck_assert(w->loaded && !w->stale);
	ck_assert_int_eq(w->retries, 0);
	ck_assert_str_eq(w->error, "");
	ck_assert_ptr_nonnull(ct_model_vm(&w->model, "OpaqueRef:vm-new"));
	ck_assert_ptr_nonnull(ct_model_vm(&w->model, "OpaqueRef:vm-b"));
	ck_assert_ptr_null(ct_model_vm(&w->model, "OpaqueRef:vm-a"));
	ck_assert_str_eq(ct_model_pool(&w->model)->name_label, "lab-pool");
	ck_assert_uint_gt(w->model.generation, 0);
	ck_assert(w->last_contact > 0 && w->last_event > 0);
	ct_model_unlock(&w->model);
	pthread_mutex_lock(&log_lock);
	ck_assert_msg(strstr(ev_log.buf, "lab add VM OpaqueRef:vm-new before=-;"), "%s", ev_log.buf);
	/* the hook runs before the del is applied: the record (and its name) is still there */
	ck_assert_msg(strstr(ev_log.buf, "lab del VM OpaqueRef:vm-a before=vm-a;"), "%s", ev_log.buf);
	pthread_mutex_unlock(&log_lock);
	ck_assert_int_ge(get_int(&W.injects), 2);
	pfd.fd = ct_watchset_wake_fd(&s.ws);
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, 0), 1);
	ct_watchset_drain(&s.ws);
	ck_assert_int_lt(setup_stop(&s), 1000);
}
END_TEST

START_TEST(once_mode)
{
	struct setup s;
	struct ct_watch *w;

	w_reset(M_NORMAL);
	setup_start(&s, true);
	w = &s.ws.w[0];
	ck_assert_int_eq(ct_watchset_wait_settled(&s.ws, 5000), 0);
	ct_model_lock(&w->model);
	ck_assert_int_eq(w->state, CT_POOL_CONNECTED);
	ck_assert(w->loaded);
	ck_assert_uint_eq(ct_model_count(&w->model, CT_VM), 2);
	ct_model_unlock(&w->model);
	setup_stop(&s);
	ck_assert_int_eq(get_int(&W.injects), 0);
	ck_assert_int_eq(get_int(&W.from_calls), 0);
}
END_TEST

START_TEST(reconnect_with_backoff)
{
	struct setup s;
	struct ct_watch *w;

	w_reset(M_BROKEN);
	setup_start(&s, false);
	w = &s.ws.w[0];
	ck_assert_int_eq(ct_watchset_wait_settled(&s.ws, 5000), 0);
	usleep(1500000);   /* the first retry comes after about a second */
	ct_model_lock(&w->model);
	ck_assert_int_eq(w->state, CT_POOL_RECONNECTING);
	ck_assert_int_ge(w->retries, 2);
	ck_assert(!w->loaded && !w->stale);
	ck_assert_msg(strstr(w->error, "500") && strstr(w->error, "xapi is unwell"), "%s", w->error);
	ck_assert(w->next_retry > 0);
	ct_model_unlock(&w->model);
	ck_assert_int_lt(setup_stop(&s), 1000);
}
END_TEST

START_TEST(refused_credentials)
{
	struct setup s;
	struct ct_watch *w;

	w_reset(M_AUTH);
	setup_start(&s, false);
	w = &s.ws.w[0];
	ck_assert_int_eq(ct_watchset_wait_settled(&s.ws, 5000), 0);
	ct_model_lock(&w->model);
	ck_assert_int_eq(w->state, CT_POOL_AUTH_FAILED);
	ck_assert_msg(strstr(w->error, "refused user 'root'"), "%s", w->error);
	ck_assert(w->next_retry >= time(NULL) + 50);   /* slow retries */
	ct_model_unlock(&w->model);
	ck_assert_int_lt(setup_stop(&s), 1000);

	/* once mode: the single attempt fails */
	w_reset(M_AUTH);
	setup_start(&s, true);
	w = &s.ws.w[0];
	ck_assert_int_eq(ct_watchset_wait_settled(&s.ws, 5000), 0);
	ct_model_lock(&w->model);
	ck_assert_int_eq(w->state, CT_POOL_FAILED);
	ck_assert(!w->loaded);
	ct_model_unlock(&w->model);
	setup_stop(&s);
}
END_TEST

START_TEST(unknown_pool_name)
{
	struct ct_pool_conf pc = { .name = "lab", .url = "http://127.0.0.1:1", .username = "root",
				   .password = "x" };
	struct ct_config c;
	struct ct_watchset ws;
	struct ct_err e;
	const char *only[] = { "nope" };

	memset(&c, 0, sizeof(c));
	c.pools = &pc;
	c.n_pools = 1;
	ct_err_init(&e);
	ck_assert_int_eq(ct_watchset_init(&ws, &c, only, 1, false, &e), -1);
	ck_assert_int_eq(e.code, CT_E_USAGE);
	ck_assert_msg(strstr(e.msg, "'nope'") && strstr(e.msg, "'lab'"), "%s", e.msg);
	pc.password = NULL;
	ck_assert_int_eq(ct_watchset_init(&ws, &c, NULL, 0, false, &e), -1);
	ck_assert_int_eq(e.code, CT_E_CONFIG);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = tcase_create("watch");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, events_and_reload);
	tcase_add_test(tc, once_mode);
	tcase_add_test(tc, reconnect_with_backoff);
	tcase_add_test(tc, refused_credentials);
	tcase_add_test(tc, unknown_pool_name);
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
