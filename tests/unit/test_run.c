/* test_run.c - the run recorder (history, lock, cancel, the report document) and the notify
 * runner (command: stdin, environment, exit status, timeout; configuration blocks). */
#include <check.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "jobs/jobstore.h"
#include "jobs/notify.h"
#include "jobs/run.h"
#include "lib/util.h"

static char dir[256];

static void setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/ct-run-XXXXXX", t && *t ? t : P_tmpdir);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *slurp(const char *name)
{
	char path[400], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = ct_xcalloc((size_t)n + 1, 1);
	ck_assert_int_eq((long)fread(buf, 1, (size_t)n, f), n);
	fclose(f);
	return buf;
}

/* Running, not gone and not a zombie waiting for a parent to reap it. */
static bool alive(int pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool live = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ')
		live = p[2] != 'Z' && p[2] != 'X';
	fclose(f);
	return live;
}

static struct ct_notify_conf command_conf(const char *cmd, long long timeout)
{
	struct ct_notify_conf n;

	memset(&n, 0, sizeof(n));
	n.set = true;
	n.command = (char *)cmd;
	n.on = CT_NOTIFY_ALWAYS;
	n.timeout = timeout;
	return n;
}

/* A run recorded through the recorder reads back as recorded, in the report document. */
START_TEST(test_recorder_round_trip)
{
	struct ct_run r;
	struct ct_run_rec rec;
	struct ct_item_result res;
	struct ct_err e;
	int64_t item, step;
	json_t *j;

	ct_err_init(&e);
	ct_run_init(&r, NULL, NULL, NULL);
	ck_assert_int_eq(ct_run_open(&r, dir, NULL, &e), 0);
	/* nothing is recorded before the run begins */
	ck_assert_int_eq(ct_run_item_begin(&r, "u-1", "vm1"), 0);
	ck_assert_int_gt(ct_run_begin(&r, "backup", "nightly", "lab", false, &e), 0);
	item = ct_run_item_begin(&r, "u-1", "vm1");
	ck_assert_int_gt(item, 0);
	step = ct_run_step_begin(&r, item, "snapshot");
	ck_assert_int_gt(step, 0);
	ct_run_step_endf(&r, step, CT_RUN_FAILURE, "refused: %s", "SR_BACKEND_FAILURE_44");
	memset(&res, 0, sizeof(res));
	res.status = CT_RUN_FAILURE;
	res.message = "the snapshot step failed";
	ct_run_item_end(&r, item, &res);
	ct_run_end(&r, CT_RUN_FAILURE, "job 'nightly': 1 failed");
	ck_assert(!r.broken);
	ck_assert_int_eq(ct_jobstore_run_note(r.js, r.id, "the notification failed", &e), 0);
	ck_assert_int_eq(ct_jobstore_get_run(r.js, r.id, &rec, &e), 0);
	j = ct_run_rec_json(&rec, true);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "failure");
	ck_assert_str_eq(json_string_value(json_object_get(j, "job")), "nightly");
	ck_assert_str_eq(json_string_value(json_object_get(j, "summary")),
			 "job 'nightly': 1 failed; the notification failed");
	json_t *it = json_array_get(json_object_get(j, "items"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(it, "name")), "vm1");
	json_t *st = json_array_get(json_object_get(it, "steps"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(st, "detail")), "refused: SR_BACKEND_FAILURE_44");
	/* the list form has no items */
	json_t *brief = ct_run_rec_json(&rec, false);
	ck_assert_ptr_null(json_object_get(brief, "items"));
	json_decref(brief);
	json_decref(j);
	ct_run_rec_release(&rec);
	ct_run_close(&r);
}
END_TEST

static int n_errors;
static void count_error(void *ctx, const struct ct_err *e)
{
	(void)ctx;
	(void)e;
	n_errors++;
}

/* A history write that fails is kept (the first one) and reported, never fatal. */
START_TEST(test_recorder_broken_history)
{
	struct ct_run r;
	struct ct_err e;

	ct_err_init(&e);
	n_errors = 0;
	ct_run_init(&r, NULL, count_error, NULL);
	ck_assert_int_eq(ct_run_open(&r, dir, NULL, &e), 0);
	ck_assert_int_gt(ct_run_begin(&r, "prune", "prune", "lab", false, &e), 0);
	{
		sqlite3 *db;
		char *path = ct_xasprintf("%s/jobs.db", dir);

		ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(db, "DROP TABLE steps", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
		free(path);
	}
	ck_assert_int_eq(ct_run_step_begin(&r, 1, "check"), 0);
	ck_assert(r.broken);
	ck_assert_int_eq(n_errors, 1);
	ck_assert(r.error[0] != '\0');
	ct_run_close(&r);
}
END_TEST

/* The lock: a second holder is told who has it; released on close. */
START_TEST(test_recorder_lock)
{
	struct ct_run a, b;
	struct ct_err e;
	char *p = ct_run_lock_path("/var/lib/chaintop", "backup", "night/ly");

	ck_assert_str_eq(p, "/var/lib/chaintop/backup-night_ly.lock");
	free(p);
	ct_err_init(&e);
	ct_run_init(&a, NULL, NULL, NULL);
	ct_run_init(&b, NULL, NULL, NULL);
	ck_assert_int_eq(ct_run_lock(&a, dir, "backup", "nightly", &e), 0);
	ck_assert_int_eq(ct_run_lock(&b, dir, "backup", "nightly", &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "job 'nightly' is already running (pid"));
	ct_run_close(&a);
	ct_err_init(&e);
	ck_assert_int_eq(ct_run_lock(&b, dir, "backup", "nightly", &e), 0);
	ct_run_close(&b);
}
END_TEST

START_TEST(test_recorder_cancel_flag)
{
	atomic_int flag = 0;
	struct ct_run r;

	ct_run_init(&r, &flag, NULL, NULL);
	ck_assert(!ct_run_cancelled(&r));
	atomic_store(&flag, 1);
	ck_assert(ct_run_cancelled(&r));
	ct_run_init(&r, NULL, NULL, NULL);
	ck_assert(!ct_run_cancelled(&r));
}
END_TEST

/* The command gets the document on stdin, the summary and the caller's variables. */
START_TEST(test_notify_command)
{
	char cmd[700], *in, *env;
	const char *vars[] = { "CHAINTOP_JOB=nightly", "CHAINTOP_STATUS=failure" };
	struct ct_notify_msg m = { "{\"run\": {\"id\": 7}}", "job 'nightly' failed", vars, 2 };
	struct ct_notify_conf n;
	struct ct_err e;

	snprintf(cmd, sizeof(cmd), "cat > '%s/in'; env > '%s/env'", dir, dir);
	n = command_conf(cmd, 10);
	ct_err_init(&e);
	ck_assert_int_eq(ct_notify_send(&n, &m, &e), 0);
	in = slurp("in");
	env = slurp("env");
	ck_assert_str_eq(in, "{\"run\": {\"id\": 7}}");
	ck_assert_ptr_nonnull(strstr(env, "CHAINTOP_SUMMARY=job 'nightly' failed\n"));
	ck_assert_ptr_nonnull(strstr(env, "CHAINTOP_JOB=nightly\n"));
	ck_assert_ptr_nonnull(strstr(env, "CHAINTOP_STATUS=failure\n"));
	ck_assert_ptr_nonnull(strstr(env, "PATH="));   /* the rest is inherited */
	free(in);
	free(env);
}
END_TEST

/* A command that does not read a large document: no SIGPIPE, its exit status counts. */
START_TEST(test_notify_command_ignores_stdin)
{
	struct ct_notify_conf n = command_conf("exit 0", 10);
	struct ct_notify_msg m = { NULL, "s", NULL, 0 };
	char *big = ct_xcalloc(4 << 20, 1);
	struct ct_err e;

	memset(big, 'x', (4 << 20) - 1);
	m.json = big;
	ct_err_init(&e);
	ck_assert_int_eq(ct_notify_send(&n, &m, &e), 0);
	free(big);
}
END_TEST

START_TEST(test_notify_command_fails)
{
	struct ct_notify_conf n = command_conf("echo 'no mail server' >&2; exit 3", 10);
	struct ct_notify_msg m = { "{}", "s", NULL, 0 };
	struct ct_err e;

	ct_err_init(&e);
	ck_assert_int_eq(ct_notify_send(&n, &m, &e), -1);
	ck_assert_str_eq(e.msg, "the notify command exited with status 3; its output: no mail server");
	n = command_conf("no-such-command-chaintop", 10);
	ct_err_init(&e);
	ck_assert_int_eq(ct_notify_send(&n, &m, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "could not be run (exit status 127"));
}
END_TEST

/* A hanging command is killed with what it started once the timeout has passed. */
START_TEST(test_notify_command_timeout)
{
	char cmd[600], *pid;
	struct ct_notify_conf n;
	struct ct_notify_msg m = { "{}", "s", NULL, 0 };
	struct ct_err e;

	snprintf(cmd, sizeof(cmd), "sleep 300 & echo $! > '%s/child'; wait", dir);
	n = command_conf(cmd, 1);
	ct_err_init(&e);
	ck_assert_int_eq(ct_notify_send(&n, &m, &e), -1);
	ck_assert_int_eq(e.code, CT_E_TIMEOUT);
	ck_assert_ptr_nonnull(strstr(e.msg, "did not finish within 1s and was killed"));
	pid = slurp("child");
	ck_assert_ptr_nonnull(pid);
	/* the shell's child was in its process group: killed too */
	for (int i = 0; i < 50 && alive(atoi(pid)); i++)
		usleep(100 * 1000);
	ck_assert(!alive(atoi(pid)));
	free(pid);
}
END_TEST

START_TEST(test_notify_due)
{
	struct ct_notify_conf n;

	memset(&n, 0, sizeof(n));
	ck_assert(!ct_notify_due(&n, true));   /* no block */
	n.set = true;
	n.on = CT_NOTIFY_FAILURE;
	ck_assert(ct_notify_due(&n, true));
	ck_assert(!ct_notify_due(&n, false));
	n.on = CT_NOTIFY_ALWAYS;
	ck_assert(ct_notify_due(&n, false));
	n.on = CT_NOTIFY_NEVER;
	ck_assert(!ct_notify_due(&n, true));
}
END_TEST

static const char *const pools =
	"pools = ( { name = \"lab\"; url = \"https://10.0.0.1\"; username = \"root\"; password = \"x\"; } );\n";

static int load(struct ct_config *c, const char *rest, struct ct_err *e)
{
	char *text = ct_xasprintf("%s%s", pools, rest);
	int rc;

	ct_config_init(c);
	ct_err_init(e);
	rc = ct_config_load_string(c, text, "t.conf", false, e);
	free(text);
	return rc;
}

START_TEST(test_notify_config)
{
	struct ct_config c;
	struct ct_err e;
	const struct ct_notify_conf *n;

	ck_assert_int_eq(load(&c,
		"notify = { command = \"mail-it\"; };\n"
		"jobs = ( { name = \"a\"; pool = \"lab\"; vms = [ \"x\" ]; },\n"
		"  { name = \"b\"; pool = \"lab\"; vms = [ \"x\" ];\n"
		"    notify = { webhook = \"https://hooks.example.com/x\"; on = \"always\"; timeout = \"5s\"; }; },\n"
		"  { name = \"c\"; pool = \"lab\"; vms = [ \"x\" ]; notify = { on = \"never\"; }; } );\n",
		&e), 0);
	n = ct_config_notify(&c, NULL);
	ck_assert_ptr_nonnull(n);
	ck_assert_str_eq(n->command, "mail-it");
	ck_assert_int_eq(n->on, CT_NOTIFY_FAILURE);
	ck_assert_int_eq(n->timeout, 60);
	ck_assert_ptr_eq(ct_config_notify(&c, ct_config_job(&c, "a")), n);
	n = ct_config_notify(&c, ct_config_job(&c, "b"));
	ck_assert_str_eq(n->webhook, "https://hooks.example.com/x");
	ck_assert_int_eq(n->on, CT_NOTIFY_ALWAYS);
	ck_assert_int_eq(n->timeout, 5);
	ck_assert(n->tls.verify);
	ck_assert_ptr_null(ct_config_notify(&c, ct_config_job(&c, "c")));
	ct_config_release(&c);

	/* none configured */
	ck_assert_int_eq(load(&c, "", &e), 0);
	ck_assert_ptr_null(ct_config_notify(&c, NULL));
	ct_config_release(&c);

	/* http:// is warned about, as for pools */
	ck_assert_int_eq(load(&c, "notify = { webhook = \"http://127.0.0.1:9/x\"; };\n", &e), 0);
	ck_assert_int_ge(c.n_warnings, 1);   /* the plain password key is warned about too */
	ck_assert_ptr_nonnull(strstr(c.warnings[c.n_warnings - 1], "the webhook of every job uses http://"));
	ct_config_release(&c);
}
END_TEST

START_TEST(test_notify_config_errors)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "notify = { on = \"always\"; };", "has neither command nor webhook" },
		{ "notify = { command = \"a\"; webhook = \"https://h/x\"; };", "both command and webhook" },
		{ "notify = { command = \"a\"; on = \"sometimes\"; };", "'sometimes' is not a choice" },
		{ "notify = { webhook = \"ftp://h/x\"; };", "is not an http:// or https:// URL" },
		{ "notify = { command = \"a\"; tls = { verify = false; }; };", "is only used with webhook" },
		{ "notify = { command = \"a\"; timout = 5; };", "did you mean 'timeout'" },
		{ "notify = { command = \"a\"; timeout = \"2h\"; };", "out of range" },
	};
	struct ct_config c;
	struct ct_err e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(load(&c, bad[i].text, &e), -1);
		ck_assert_msg(strstr(e.msg, bad[i].msg) != NULL, "%s: %s", bad[i].text, e.msg);
		ct_config_release(&c);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("run");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_recorder_round_trip);
	tcase_add_test(tc, test_recorder_broken_history);
	tcase_add_test(tc, test_recorder_lock);
	tcase_add_test(tc, test_recorder_cancel_flag);
	tcase_add_test(tc, test_notify_command);
	tcase_add_test(tc, test_notify_command_ignores_stdin);
	tcase_add_test(tc, test_notify_command_fails);
	tcase_add_test(tc, test_notify_command_timeout);
	tcase_add_test(tc, test_notify_due);
	tcase_add_test(tc, test_notify_config);
	tcase_add_test(tc, test_notify_config_errors);
	suite_add_tcase(s, tc);
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
