/* test_backup.c - ct_backup_run as the console calls it: with the console's own live watcher
 * (shared), a progress callback and a cancel flag, against the simulator's `backup` scenario
 * (GC frozen). Also the usage errors and the lock path. An integration test (it starts
 * tests/sim/xapi_sim.py; run from the top directory), built by the Makefile. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobs/backup.h"
#include "config/config.h"
#include "jobs/jobstore.h"
#include "lib/util.h"
#include "watch/watch.h"
#include "xapi/xapi.h"

static pid_t sim_pid;
static char sim_url[256];
static char state_dir[128];
static struct ct_config cfg;

static void start_sim(void)
{
	int fds[2];
	FILE *f;
	char line[512];

	ck_assert_int_eq(pipe(fds), 0);
	sim_pid = fork();
	ck_assert_int_ge(sim_pid, 0);
	if (sim_pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execlp("python3", "python3", "tests/sim/xapi_sim.py", "--port", "0", "--scenario",
		       "backup", "--gc-speed", "0", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_msg(fgets(line, sizeof(line), f) != NULL, "the simulator did not start");
	ck_assert_msg(sscanf(line, "ready %255s", sim_url) == 1, "unexpected: %s", line);
	fclose(f);
}

static void setup(void)
{
	struct ct_err e;
	char *text;

	start_sim();
	snprintf(state_dir, sizeof(state_dir), "/tmp/ct-backup-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(state_dir));
	setenv("CHAINTOP_TEST_PASSWORD", "chaintop-demo", 1);
	text = ct_xasprintf("pools = ( { name = \"backup-lab\"; url = \"%s\"; username = \"root\";"
			    " password_env = \"CHAINTOP_TEST_PASSWORD\"; } );\n"
			    "state_dir = \"%s\";\n", sim_url, state_dir);
	ct_err_init(&e);
	ct_config_init(&cfg);
	ck_assert_msg(ct_config_load_string(&cfg, text, "test.conf", false, &e) == 0, "%s", e.msg);
	free(text);
	ck_assert_int_eq(ct_xapi_global_init(&e), 0);
}

static void teardown(void)
{
	char cmd[200];
	int st;

	ct_config_release(&cfg);
	ct_xapi_global_cleanup();
	if (sim_pid > 0) {
		kill(sim_pid, SIGTERM);
		waitpid(sim_pid, &st, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state_dir);
	ck_assert_int_eq(system(cmd), 0);
}

struct seen {
	char steps[1024];
	int n;
	bool saw_vm_name;
};

static void on_progress(void *ctx, const struct ct_backup_progress *p)
{
	struct seen *s = ctx;
	size_t l = strlen(s->steps);

	s->n++;
	if (p->vm_name && !strcmp(p->vm_name, "web01"))
		s->saw_vm_name = true;
	if (!p->tick && p->step && l + strlen(p->step) + 2 < sizeof(s->steps))
		snprintf(s->steps + l, sizeof(s->steps) - l, "%s,", p->step);
	ck_assert_ptr_nonnull(p->message);
}

static void start_watch(struct ct_watchset *ws)
{
	struct ct_err e;
	const char *only[1] = { "backup-lab" };

	ct_err_init(&e);
	ck_assert_int_eq(ct_watchset_init(ws, &cfg, only, 1, false, &e), 0);
	ck_assert_int_eq(ct_watchset_start(ws, &e), 0);
	ck_assert_int_eq(ct_watchset_wait_settled(ws, 20000), 0);
	ck_assert(ws->w[0].loaded);
}

START_TEST(shared_watcher_snapshot)
{
	struct ct_watchset ws;
	struct ct_backup_opts o;
	struct ct_backup_summary sum;
	struct seen seen = { 0 };
	struct ct_jobstore *js;
	struct ct_run_rec r;
	const char *sel[1] = { "web01" };
	atomic_int cancel = 0;
	struct ct_err e;

	start_watch(&ws);
	memset(&o, 0, sizeof(o));
	o.cfg = &cfg;
	o.pool = "backup-lab";
	o.vms = sel;
	o.n_vms = 1;
	o.wait_override = -1;
	o.cancel = &cancel;
	o.shared = &ws.w[0];
	o.progress = on_progress;
	o.ctx = &seen;
	ct_err_init(&e);
	ck_assert_msg(ct_backup_run(&o, &sum, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(sum.exit_code, 0);
	ck_assert_int_eq(sum.n_ok, 1);
	ck_assert_int_gt(sum.run_id, 0);
	ck_assert(seen.saw_vm_name);
	ck_assert_msg(strstr(seen.steps, "gate,") && strstr(seen.steps, "snapshot,") &&
		      strstr(seen.steps, "tag,") && strstr(seen.steps, "done,"), "%s", seen.steps);

	js = ct_jobstore_open(state_dir, &e);
	ck_assert_ptr_nonnull(js);
	ck_assert_int_eq(ct_jobstore_get_run(js, sum.run_id, &r, &e), 0);
	ck_assert_str_eq(r.job, CT_BACKUP_ADHOC_JOB);
	ck_assert_int_eq(r.status, CT_RUN_SUCCESS);
	ck_assert_int_eq(r.n_items, 1);
	ck_assert_ptr_nonnull(r.items[0].snapshot_uuid);
	ck_assert_int_eq(r.items[0].n_steps, 4);   /* gate, recheck, snapshot, tag */
	ct_run_rec_release(&r);
	ct_jobstore_close(js);

	/* the console's watcher sees the tagged snapshot through its own events */
	for (int i = 0; i < 50; i++) {
		bool found = false;

		ct_model_lock(&ws.w[0].model);
		for (size_t k = 0; k < ct_model_count(&ws.w[0].model, CT_VM); k++) {
			const struct ct_vm *vm = (const struct ct_vm *)ct_model_at(&ws.w[0].model, CT_VM, k);
			const char *j = ct_map_get(&vm->other_config, "chaintop:job");

			if (vm->is_a_snapshot && j && !strcmp(j, CT_BACKUP_ADHOC_JOB))
				found = true;
		}
		ct_model_unlock(&ws.w[0].model);
		if (found)
			break;
		ck_assert_int_lt(i, 49);
		usleep(100 * 1000);
	}
	ct_watchset_stop(&ws);
	ct_watchset_release(&ws);
}
END_TEST

START_TEST(shared_watcher_wait_deadline)
{
	struct ct_watchset ws;
	struct ct_backup_opts o;
	struct ct_backup_summary sum;
	const char *sel[1] = { "stacked-vm" };
	struct ct_err e;
	int64_t t0;

	start_watch(&ws);
	memset(&o, 0, sizeof(o));
	o.cfg = &cfg;
	o.vms = sel;
	o.n_vms = 1;
	o.wait_override = 2;
	o.shared = &ws.w[0];
	ct_err_init(&e);
	t0 = ct_now_ms();
	ck_assert_msg(ct_backup_run(&o, &sum, &e) == 0, "%s", e.msg);
	ck_assert_int_ge(ct_now_ms() - t0, 2000);
	ck_assert_int_lt(ct_now_ms() - t0, 10000);
	ck_assert_int_eq(sum.exit_code, 1);
	ck_assert_int_eq(sum.n_skipped, 1);
	ck_assert_ptr_nonnull(strstr(sum.message, "1 skipped"));
	ct_watchset_stop(&ws);
	ct_watchset_release(&ws);
}
END_TEST

struct bg_run {
	struct ct_backup_opts o;
	struct ct_backup_summary sum;
	struct ct_err e;
	int rc;
};

static void *bg_main(void *p)
{
	struct bg_run *r = p;

	r->rc = ct_backup_run(&r->o, &r->sum, &r->e);
	return NULL;
}

START_TEST(shared_watcher_wait_gc)
{
	struct ct_watchset ws;
	struct bg_run r;
	const char *sel[1] = { "stacked-vm" };
	pthread_t t;
	char *cmd;
	int64_t t0;

	start_watch(&ws);
	memset(&r, 0, sizeof(r));
	r.o.cfg = &cfg;
	r.o.vms = sel;
	r.o.n_vms = 1;
	r.o.wait_override = 60;
	r.o.shared = &ws.w[0];
	ct_err_init(&r.e);
	ck_assert_int_eq(pthread_create(&t, NULL, bg_main, &r), 0);
	usleep(1000 * 1000);
	/* the GC starts: the shared model changes, the gate passes, the snapshot follows */
	cmd = ct_xasprintf("curl -sf -X POST '%s/sim/gc/speed?f=40' >/dev/null", sim_url);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	t0 = ct_now_ms();
	pthread_join(t, NULL);
	ck_assert_msg(r.rc == 0, "%s", r.e.msg);
	ck_assert_int_eq(r.sum.exit_code, 0);
	ck_assert_int_eq(r.sum.n_ok, 1);
	ck_assert_int_lt(ct_now_ms() - t0, 20000);
	ct_watchset_stop(&ws);
	ct_watchset_release(&ws);
}
END_TEST

START_TEST(cancelled_before_start)
{
	struct ct_backup_opts o;
	struct ct_backup_summary sum;
	const char *sel[1] = { "web01" };
	atomic_int cancel = 1;
	struct ct_err e;

	memset(&o, 0, sizeof(o));
	o.cfg = &cfg;
	o.vms = sel;
	o.n_vms = 1;
	o.wait_override = -1;
	o.cancel = &cancel;
	ct_err_init(&e);
	ck_assert_int_eq(ct_backup_run(&o, &sum, &e), -1);
	ck_assert_int_eq(e.code, CT_E_CANCEL);
	ck_assert(sum.interrupted);
	ck_assert_int_ne(sum.exit_code, 0);
}
END_TEST

START_TEST(usage_errors)
{
	struct ct_backup_opts o;
	struct ct_backup_summary sum;
	const char *sel[1] = { "no-such-vm" };
	struct ct_err e;

	memset(&o, 0, sizeof(o));
	o.cfg = &cfg;
	o.wait_override = -1;
	ct_err_init(&e);
	ck_assert_int_eq(ct_backup_run(&o, &sum, &e), -1);   /* no VM given */
	ck_assert_int_eq(e.code, CT_E_USAGE);
	ck_assert_int_eq(sum.exit_code, 2);
	o.vms = sel;
	o.n_vms = 1;
	o.pool = "elsewhere";
	ck_assert_int_eq(ct_backup_run(&o, &sum, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "no pool named 'elsewhere'"));
	o.pool = NULL;
	ck_assert_int_eq(ct_backup_run(&o, &sum, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "matches 'no-such-vm'"));
}
END_TEST

START_TEST(lock_path)
{
	char *p = ct_backup_lock_path("/var/lib/chaintop", "night/ly");

	ck_assert_str_eq(p, "/var/lib/chaintop/backup-night_ly.lock");
	free(p);
	p = ct_backup_lock_path("/s", ".hidden");
	ck_assert_str_eq(p, "/s/backup-_hidden.lock");
	free(p);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("backup");
	TCase *tc = tcase_create("sim");
	TCase *tp = tcase_create("pure");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, shared_watcher_snapshot);
	tcase_add_test(tc, shared_watcher_wait_deadline);
	tcase_add_test(tc, shared_watcher_wait_gc);
	tcase_add_test(tc, cancelled_before_start);
	tcase_add_test(tc, usage_errors);
	tcase_add_test(tp, lock_path);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tp);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
