/* test_jobstore.c - the job history: schema, round trips, interrupted runs, upgrades. */
#include <check.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobs/jobstore.h"
#include "lib/util.h"

static char dir[256];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ct-jobstore-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static int db_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char path[300];
	int v = -1;

	snprintf(path, sizeof(path), "%s/jobs.db", dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void db_exec(const char *sql)
{
	sqlite3 *db;
	char path[300];

	snprintf(path, sizeof(path), "%s/jobs.db", dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

START_TEST(test_schema_created)
{
	struct ct_err e;
	struct ct_jobstore *js;
	char sub[256];

	ct_err_init(&e);
	snprintf(sub, sizeof(sub), "%.200s/a/b", dir);
	js = ct_jobstore_open(sub, &e);
	ck_assert_msg(js != NULL, "%s", e.msg);
	ct_jobstore_close(js);
	/* the schema is at the current version, in WAL mode */
	{
		char top[256];

		memcpy(top, dir, sizeof(top));
		snprintf(dir, sizeof(dir), "%.200s/a/b", top);
		ck_assert_int_eq(db_int("PRAGMA user_version"), 5);
		ck_assert_int_eq(db_int("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('runs','items','steps')"), 3);
		ck_assert_int_eq(db_int("SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
		memcpy(dir, top, sizeof(dir));
	}
}
END_TEST

/* jobs.db and its -wal and -shm files are 0600 whatever the umask; a symbolic link in
 * place of jobs.db is not followed; a world-writable state directory is refused. */
START_TEST(test_private_files)
{
	static const char *const files[] = { "jobs.db", "jobs.db-wal", "jobs.db-shm" };
	struct ct_err e;
	struct ct_jobstore *js;
	char path[300], target[300];
	struct stat st;
	mode_t old = umask(0);

	ct_err_init(&e);
	js = ct_jobstore_open(dir, &e);
	ck_assert_msg(js != NULL, "%s", e.msg);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		ck_assert_msg(stat(path, &st) == 0, "%s missing", files[i]);
		ck_assert_msg((st.st_mode & 07777) == 0600, "%s has mode %04o", files[i],
			      (unsigned)(st.st_mode & 07777));
	}
	ct_jobstore_close(js);
	snprintf(path, sizeof(path), "%s/jobs.db", dir);
	snprintf(target, sizeof(target), "%s/elsewhere.db", dir);
	ck_assert_int_eq(rename(path, target), 0);
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_ptr_null(ct_jobstore_open(dir, &e));
	ck_assert_msg(strstr(e.msg, "symbolic link"), "%s", e.msg);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_ptr_null(ct_jobstore_open(dir, &e));
	ck_assert_msg(strstr(e.msg, "can be written by group or others"), "%s", e.msg);
	umask(old);
}
END_TEST

START_TEST(test_round_trip)
{
	struct ct_err e;
	struct ct_jobstore *js;
	struct ct_run_rec r;
	const char *params[] = { "", "There is insufficient space", "" };
	const char *reasons[] = { "disk xvda has 2 stacked base copies (tolerance 1)" };
	int64_t run, item, step, item2;

	ct_err_init(&e);
	js = ct_jobstore_open(dir, &e);
	ck_assert_ptr_nonnull(js);
	run = ct_jobstore_run_begin(js, "backup", "nightly", "lab", false, &e);
	ck_assert_int_gt(run, 0);
	item = ct_jobstore_item_begin(js, run, "uuid-1", "web01", &e);
	ck_assert_int_gt(item, 0);
	step = ct_jobstore_step_begin(js, item, "gate", &e);
	ck_assert_int_gt(step, 0);
	ck_assert_int_eq(ct_jobstore_step_end(js, step, CT_RUN_SUCCESS, "ok", &e), 0);
	step = ct_jobstore_step_begin(js, item, "snapshot", &e);
	ck_assert_int_eq(ct_jobstore_step_end(js, step, CT_RUN_FAILURE, "SR_BACKEND_FAILURE_44", &e), 0);
	ck_assert_int_eq(ct_jobstore_item_end(js, item, &(struct ct_item_result){
		.status = CT_RUN_FAILURE, .message = "out of space", .xapi_code = "SR_BACKEND_FAILURE_44",
		.xapi_params = params, .n_xapi_params = 3, .bytes = 1234 }, &e), 0);
	item2 = ct_jobstore_item_begin(js, run, "uuid-2", "stacked-vm", &e);
	ck_assert_int_eq(ct_jobstore_item_end(js, item2, &(struct ct_item_result){
		.status = CT_RUN_SKIPPED, .reasons = reasons, .n_reasons = 1,
		.chain_json = "[{\"disk\":\"xvda\"}]" }, &e), 0);
	ck_assert_int_eq(ct_jobstore_run_end(js, run, CT_RUN_FAILURE, "1 failed, 1 skipped", &e), 0);

	ck_assert_int_eq(ct_jobstore_get_run(js, run, &r, &e), 0);
	ck_assert_str_eq(r.kind, "backup");
	ck_assert_str_eq(r.job, "nightly");
	ck_assert_str_eq(r.pool, "lab");
	ck_assert_str_eq(r.summary, "1 failed, 1 skipped");
	ck_assert_int_eq(r.pid, getpid());
	ck_assert_int_eq(r.status, CT_RUN_FAILURE);
	ck_assert_int_eq(r.n_failed, 1);
	ck_assert_int_eq(r.n_skipped, 1);
	ck_assert_int_eq(r.n_ok, 0);
	ck_assert_int_eq(r.n_items, 2);
	ck_assert_str_eq(r.items[0].obj_name, "web01");
	ck_assert_str_eq(r.items[0].xapi_code, "SR_BACKEND_FAILURE_44");
	ck_assert_int_eq(r.items[0].n_xapi_params, 3);
	ck_assert_str_eq(r.items[0].xapi_params[1], "There is insufficient space");
	ck_assert_int_eq(r.items[0].bytes, 1234);
	ck_assert_int_eq(r.items[0].n_steps, 2);
	ck_assert_str_eq(r.items[0].steps[0].name, "gate");
	ck_assert_int_eq(r.items[0].steps[1].status, CT_RUN_FAILURE);
	ck_assert_int_gt(r.items[0].steps[1].end, 0);
	ck_assert_int_eq(r.items[1].status, CT_RUN_SKIPPED);
	ck_assert_int_eq(r.items[1].n_reasons, 1);
	ck_assert_str_eq(r.items[1].reasons[0], reasons[0]);
	ck_assert_str_eq(r.items[1].chain_json, "[{\"disk\":\"xvda\"}]");
	ck_assert_ptr_null(r.items[1].xapi_code);
	ct_run_rec_release(&r);
	ck_assert_int_eq(ct_jobstore_get_run(js, run + 100, &r, &e), -1);
	ct_jobstore_close(js);
}
END_TEST

START_TEST(test_status_names)
{
	for (int s = CT_RUN_RUNNING; s <= CT_RUN_FORCED; s++)
		ck_assert_int_eq(ct_run_status_from_name(ct_run_status_name(s)), s);
	ck_assert_int_eq(ct_run_status_from_name("bogus"), -1);
}
END_TEST

START_TEST(test_interrupted_dead_pid)
{
	struct ct_err e;
	struct ct_jobstore *js;
	struct ct_run_rec r;
	int64_t run = 0, mine;
	int fds[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct ct_jobstore *cjs;
		int64_t cr, ci, cs;

		ct_err_init(&e);
		cjs = ct_jobstore_open(dir, &e);
		cr = ct_jobstore_run_begin(cjs, "backup", "nightly", "lab", false, &e);
		ci = ct_jobstore_item_begin(cjs, cr, "u", "web01", &e);
		cs = ct_jobstore_step_begin(cjs, ci, "export", &e);
		(void)cs;
		if (write(fds[1], &cr, sizeof(cr)) != sizeof(cr))
			_exit(2);
		for (;;)
			pause();
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &run, sizeof(run)), (ssize_t)sizeof(run));
	close(fds[0]);

	ct_err_init(&e);
	/* while the writer lives, its run stays running */
	js = ct_jobstore_open(dir, &e);
	ck_assert_ptr_nonnull(js);
	mine = ct_jobstore_run_begin(js, "backup", "other", "lab", false, &e);
	ck_assert_int_eq(ct_jobstore_get_run(js, run, &r, &e), 0);
	ck_assert_int_eq(r.status, CT_RUN_RUNNING);
	ct_run_rec_release(&r);

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	/* a handle kept open (the console) sees it when it lists the runs */
	{
		struct ct_run_rec *runs;
		int n;

		ck_assert_int_eq(ct_jobstore_list_runs(js, 0, true, &runs, &n, &e), 0);
		ck_assert_int_eq(n, 1);
		ck_assert_int_eq(runs[0].id, run);
		ck_assert_int_eq(runs[0].status, CT_RUN_INTERRUPTED);
		ct_run_rec_release(&runs[0]);
		free(runs);
	}
	ct_jobstore_close(js);
	js = ct_jobstore_open(dir, &e);
	ck_assert_ptr_nonnull(js);
	ck_assert_int_eq(ct_jobstore_get_run(js, run, &r, &e), 0);
	ck_assert_int_eq(r.status, CT_RUN_INTERRUPTED);
	ck_assert_int_gt(r.end, 0);
	ck_assert_int_eq(r.n_items, 1);
	ck_assert_int_eq(r.items[0].status, CT_RUN_INTERRUPTED);
	ck_assert_int_eq(r.items[0].steps[0].status, CT_RUN_INTERRUPTED);
	ck_assert_int_eq(r.n_failed, 1);
	ct_run_rec_release(&r);
	/* our own run (this process is alive) is left alone */
	ck_assert_int_eq(ct_jobstore_get_run(js, mine, &r, &e), 0);
	ck_assert_int_eq(r.status, CT_RUN_RUNNING);
	ct_run_rec_release(&r);
	ct_jobstore_close(js);
}
END_TEST

START_TEST(test_upgrade_from_v0)
{
	struct ct_err e;
	struct ct_jobstore *js;
	struct ct_run_rec r;
	int64_t run;

	/* a version-0 file holding something else: tables are created beside it */
	db_exec("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('kept')");
	ck_assert_int_eq(db_int("PRAGMA user_version"), 0);
	ct_err_init(&e);
	js = ct_jobstore_open(dir, &e);
	ck_assert_msg(js != NULL, "%s", e.msg);
	run = ct_jobstore_run_begin(js, "prune", NULL, "lab", true, &e);
	ck_assert_int_gt(run, 0);
	ck_assert_int_eq(ct_jobstore_run_end(js, run, CT_RUN_SUCCESS, NULL, &e), 0);
	ct_jobstore_close(js);
	ck_assert_int_eq(db_int("PRAGMA user_version"), 5);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM notes"), 1);
	/* reopening a current file changes nothing */
	js = ct_jobstore_open(dir, &e);
	ck_assert_ptr_nonnull(js);
	ck_assert_int_eq(ct_jobstore_get_run(js, run, &r, &e), 0);
	ck_assert_str_eq(r.kind, "prune");
	ck_assert_ptr_null(r.job);
	ck_assert(r.dry_run);
	ct_run_rec_release(&r);
	ct_jobstore_close(js);
}
END_TEST

START_TEST(test_upgrade_from_v1)
{
	struct ct_err e;
	struct ct_jobstore *js;
	struct ct_run_rec r;

	/* a version-1 file with a finished run: its data survives the upgrade */
	db_exec("CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, job TEXT, pool TEXT,"
		" dry_run INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, start INTEGER NOT NULL,"
		" end INTEGER NOT NULL DEFAULT 0, host TEXT, pid INTEGER);"
		"CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL,"
		" obj_uuid TEXT, obj_name TEXT, status TEXT NOT NULL, start INTEGER NOT NULL,"
		" end INTEGER NOT NULL DEFAULT 0, message TEXT, snapshot_uuid TEXT, xapi_code TEXT,"
		" xapi_params TEXT, reasons TEXT);"
		"CREATE TABLE steps (id INTEGER PRIMARY KEY AUTOINCREMENT, item_id INTEGER NOT NULL,"
		" name TEXT NOT NULL, status TEXT NOT NULL, start INTEGER NOT NULL,"
		" end INTEGER NOT NULL DEFAULT 0, detail TEXT);"
		"INSERT INTO runs VALUES (1, 'backup', 'old', 'lab', 0, 'success', 1000, 1010, 'h', 1);"
		"INSERT INTO items VALUES (1, 1, 'u', 'vm', 'success', 1000, 1010, NULL, 's', NULL, NULL, '[\"a\"]');"
		"PRAGMA user_version = 1;");
	ct_err_init(&e);
	js = ct_jobstore_open(dir, &e);
	ck_assert_msg(js != NULL, "%s", e.msg);
	ck_assert_int_eq(ct_jobstore_get_run(js, 1, &r, &e), 0);
	ck_assert_str_eq(r.job, "old");
	ck_assert_int_eq(r.n_items, 1);
	ck_assert_int_eq(r.items[0].bytes, 0);
	ck_assert_int_eq(r.items[0].n_reasons, 1);
	ck_assert_int_eq(r.n_ok, 1);
	ct_run_rec_release(&r);
	ct_jobstore_close(js);
	ck_assert_int_eq(db_int("PRAGMA user_version"), 5);
}
END_TEST

START_TEST(test_disks_per_run)
{
	struct ct_err e;
	struct ct_jobstore *js;
	struct ct_disk_rec *d;
	int64_t run[3], item;
	int n;

	ct_err_init(&e);
	js = ct_jobstore_open(dir, &e);
	ck_assert_msg(js != NULL, "%s", e.msg);
	for (int k = 0; k < 3; k++) {
		run[k] = ct_jobstore_run_begin(js, "backup", "nightly", "lab", k == 1, &e);
		item = ct_jobstore_item_begin(js, run[k], "vm-u", "web01", &e);
		ck_assert_int_eq(ct_jobstore_item_disk(js, item, "sr-u", "vdi-a", 100 + k, 1000, &e), 0);
		ck_assert_int_eq(ct_jobstore_item_disk(js, item, "sr-u", "vdi-b", 200 + k, 2000, &e), 0);
		ct_jobstore_run_end(js, run[k], CT_RUN_SUCCESS, NULL, &e);
	}
	/* another job's run is not this job's */
	run[1] = ct_jobstore_run_begin(js, "backup", "weekly", "lab", false, &e);
	item = ct_jobstore_item_begin(js, run[1], "vm-u", "web01", &e);
	ct_jobstore_item_disk(js, item, "sr-u", "vdi-a", 999, 1000, &e);
	ck_assert_int_eq(ct_jobstore_job_disks(js, "nightly", "lab", 8, &d, &n, &e), 0);
	/* the dry run recorded nothing that counts: runs 0 and 2, oldest first */
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(d[0].run, run[0]);
	ck_assert_str_eq(d[0].vdi_uuid, "vdi-a");
	ck_assert_int_eq(d[0].physical_utilisation, 100);
	ck_assert_str_eq(d[3].sr_uuid, "sr-u");
	ck_assert_int_eq(d[3].physical_utilisation, 202);
	ck_assert_int_eq(d[3].virtual_size, 2000);
	ck_assert_int_gt(d[3].at, 0);
	free(d);
	/* only the newest run */
	ck_assert_int_eq(ct_jobstore_job_disks(js, "nightly", "lab", 1, &d, &n, &e), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(d[0].physical_utilisation, 102);
	free(d);
	ct_jobstore_close(js);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
	struct ct_err e;

	db_exec("PRAGMA user_version = 99");
	ct_err_init(&e);
	ck_assert_ptr_null(ct_jobstore_open(dir, &e));
	ck_assert_int_eq(e.code, CT_E_DB);
	ck_assert_ptr_nonnull(strstr(e.msg, "newer"));
}
END_TEST

START_TEST(test_list_newest_first_and_failed)
{
	struct ct_err e;
	struct ct_jobstore *js;
	struct ct_run_rec *runs;
	int n;
	int64_t ids[4];
	enum ct_run_status st[4] = { CT_RUN_SUCCESS, CT_RUN_FAILURE, CT_RUN_SUCCESS, CT_RUN_SKIPPED };

	ct_err_init(&e);
	js = ct_jobstore_open(dir, &e);
	for (int i = 0; i < 4; i++) {
		ids[i] = ct_jobstore_run_begin(js, "backup", "j", "lab", false, &e);
		ck_assert_int_eq(ct_jobstore_run_end(js, ids[i], st[i], NULL, &e), 0);
	}
	/* all starts fall in the same second: ids break ties, newest first */
	ck_assert_int_eq(ct_jobstore_list_runs(js, 0, false, &runs, &n, &e), 0);
	ck_assert_int_eq(n, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(runs[i].id, ids[3 - i]);
	ck_assert_ptr_null(runs[0].items);
	for (int i = 0; i < n; i++)
		ct_run_rec_release(&runs[i]);
	free(runs);

	ck_assert_int_eq(ct_jobstore_list_runs(js, 2, false, &runs, &n, &e), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(runs[0].id, ids[3]);
	for (int i = 0; i < n; i++)
		ct_run_rec_release(&runs[i]);
	free(runs);

	ck_assert_int_eq(ct_jobstore_list_runs(js, 0, true, &runs, &n, &e), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(runs[0].id, ids[3]);
	ck_assert_int_eq(runs[0].status, CT_RUN_SKIPPED);
	ck_assert_int_eq(runs[1].id, ids[1]);
	for (int i = 0; i < n; i++)
		ct_run_rec_release(&runs[i]);
	free(runs);
	ct_jobstore_close(js);
}
END_TEST

START_TEST(test_two_handles)
{
	struct ct_err e;
	struct ct_jobstore *w, *r;
	struct ct_run_rec *runs;
	int n;
	int64_t run;

	ct_err_init(&e);
	w = ct_jobstore_open(dir, &e);
	r = ct_jobstore_open(dir, &e);
	ck_assert_ptr_nonnull(w);
	ck_assert_ptr_nonnull(r);
	run = ct_jobstore_run_begin(w, "backup", "j", "lab", false, &e);
	ck_assert_int_eq(ct_jobstore_list_runs(r, 0, false, &runs, &n, &e), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(runs[0].id, run);
	ck_assert_int_eq(runs[0].status, CT_RUN_RUNNING);
	ct_run_rec_release(&runs[0]);
	free(runs);
	ct_jobstore_close(w);
	ct_jobstore_close(r);
}
END_TEST

START_TEST(test_bad_dir)
{
	struct ct_err e;

	ct_err_init(&e);
	ck_assert_ptr_null(ct_jobstore_open("/proc/no/such/dir", &e));
	ck_assert_int_ne(e.code, CT_OK);
	ck_assert_ptr_null(ct_jobstore_open(NULL, &e));
	ct_jobstore_close(NULL);
	ct_run_rec_release(NULL);
}
END_TEST


START_TEST(test_intents_and_export_time)
{
	struct ct_err e;
	struct ct_jobstore *js;
	struct ct_intent *iv = NULL;
	struct ct_run_rec r;
	struct ct_item_result res;
	int64_t run, item, item2;
	int n = -1;

	ct_err_init(&e);
	js = ct_jobstore_open(dir, &e);
	ck_assert_ptr_nonnull(js);
	run = ct_jobstore_run_begin(js, "backup", "nightly", "lab", false, &e);
	item = ct_jobstore_item_begin(js, run, "vm-uuid-1", "web01", &e);
	item2 = ct_jobstore_item_begin(js, run, "vm-uuid-2", "web02", &e);
	ck_assert_int_eq(ct_jobstore_item_intent(js, item, "chaintop nightly run 1 20260101T00:00:00Z", &e), 0);
	ck_assert_int_eq(ct_jobstore_item_intent(js, item2, "chaintop nightly run 1 20260101T00:00:01Z", &e), 0);
	/* a running run's intents belong to it */
	ck_assert_int_eq(ct_jobstore_list_intents(js, NULL, NULL, &iv, &n, &e), 0);
	ck_assert_int_eq(n, 0);
	ct_intents_release(iv, n);
	ck_assert_int_eq(ct_jobstore_intent_done(js, item2, &e), 0);
	memset(&res, 0, sizeof(res));
	res.status = CT_RUN_SUCCESS;
	res.bytes = 1 << 20;
	res.export_ms = 250;
	ck_assert_int_eq(ct_jobstore_item_end(js, item2, &res, &e), 0);
	ck_assert_int_eq(ct_jobstore_run_end(js, run, CT_RUN_INTERRUPTED, "killed", &e), 0);
	/* ended: the open one is listed, by pool and VM too */
	ck_assert_int_eq(ct_jobstore_list_intents(js, "lab", NULL, &iv, &n, &e), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(iv[0].name, "chaintop nightly run 1 20260101T00:00:00Z");
	ck_assert_str_eq(iv[0].vm_uuid, "vm-uuid-1");
	ck_assert_str_eq(iv[0].job, "nightly");
	ck_assert_int_eq(iv[0].run, run);
	ck_assert_int_eq(iv[0].item, item);
	ct_intents_release(iv, n);
	ck_assert_int_eq(ct_jobstore_list_intents(js, "other", NULL, &iv, &n, &e), 0);
	ck_assert_int_eq(n, 0);
	ct_intents_release(iv, n);
	ck_assert_int_eq(ct_jobstore_list_intents(js, NULL, "vm-uuid-2", &iv, &n, &e), 0);
	ck_assert_int_eq(n, 0);
	ct_intents_release(iv, n);
	ck_assert_int_eq(ct_jobstore_intent_done(js, item, &e), 0);
	ck_assert_int_eq(ct_jobstore_list_intents(js, NULL, NULL, &iv, &n, &e), 0);
	ck_assert_int_eq(n, 0);
	ct_intents_release(iv, n);
	ck_assert_int_eq(ct_jobstore_get_run(js, run, &r, &e), 0);
	ck_assert_str_eq(r.items[0].intent, "chaintop nightly run 1 20260101T00:00:00Z");
	ck_assert(r.items[0].intent_done);
	ck_assert_int_eq(r.items[1].export_ms, 250);
	ck_assert_int_eq(r.items[1].bytes, 1 << 20);
	ct_run_rec_release(&r);
	ct_jobstore_close(js);
}
END_TEST

/* The export task a run created is recorded until destroyed; a killed run's is listed. */
START_TEST(test_export_tasks)
{
	struct ct_err e;
	struct ct_jobstore *js;
	struct ct_intent *iv = NULL;
	int64_t run, item, item2;
	int n = -1;

	ct_err_init(&e);
	js = ct_jobstore_open(dir, &e);
	ck_assert_ptr_nonnull(js);
	run = ct_jobstore_run_begin(js, "backup", "nightly", "lab", false, &e);
	item = ct_jobstore_item_begin(js, run, "vm-uuid-1", "web01", &e);
	item2 = ct_jobstore_item_begin(js, run, "vm-uuid-2", "web02", &e);
	ck_assert_int_eq(ct_jobstore_item_export_task(js, item, "OpaqueRef:task-1", &e), 0);
	ck_assert_int_eq(ct_jobstore_item_export_task(js, item2, "OpaqueRef:task-2", &e), 0);
	/* a running run's tasks belong to it */
	ck_assert_int_eq(ct_jobstore_list_export_tasks(js, NULL, NULL, &iv, &n, &e), 0);
	ck_assert_int_eq(n, 0);
	ct_intents_release(iv, n);
	/* destroyed by the run: no longer recorded */
	ck_assert_int_eq(ct_jobstore_item_export_task(js, item2, NULL, &e), 0);
	ck_assert_int_eq(ct_jobstore_run_end(js, run, CT_RUN_INTERRUPTED, "killed", &e), 0);
	ck_assert_int_eq(ct_jobstore_list_export_tasks(js, "lab", "vm-uuid-1", &iv, &n, &e), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(iv[0].name, "OpaqueRef:task-1");
	ck_assert_str_eq(iv[0].job, "nightly");
	ck_assert_int_eq(iv[0].run, run);
	ck_assert_int_eq(iv[0].item, item);
	ct_intents_release(iv, n);
	ck_assert_int_eq(ct_jobstore_list_export_tasks(js, "lab", "vm-uuid-2", &iv, &n, &e), 0);
	ck_assert_int_eq(n, 0);
	ct_intents_release(iv, n);
	ct_jobstore_close(js);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("jobstore");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_schema_created);
	tcase_add_test(tc, test_private_files);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_status_names);
	tcase_add_test(tc, test_interrupted_dead_pid);
	tcase_add_test(tc, test_upgrade_from_v0);
	tcase_add_test(tc, test_upgrade_from_v1);
	tcase_add_test(tc, test_newer_schema_refused);
	tcase_add_test(tc, test_disks_per_run);
	tcase_add_test(tc, test_list_newest_first_and_failed);
	tcase_add_test(tc, test_two_handles);
	tcase_add_test(tc, test_bad_dir);
	tcase_add_test(tc, test_intents_and_export_time);
	tcase_add_test(tc, test_export_tasks);
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
