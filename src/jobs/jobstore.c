/* jobstore.c - the job history: SQLite (WAL, busy timeout) in the state directory.
 *
 * Schema versions (PRAGMA user_version), each upgrade applied in place in one transaction:
 *   0  empty file (or a file made by something else: tables created beside it)
 *   1  runs, items, steps
 *   2  items.bytes and items.chain_json; runs.summary
 *   3  items.export_ms (transfer time of an export); items.intent and items.intent_done (the
 *      exact name of a snapshot about to be made, recorded before the call, so a killed run
 *      leaves nothing the next run cannot find)
 *   4  disks: each VM disk's size when the backup snapshotted it (chain growth per run)
 *   5  items.export_task (the ref of the task chaintop created for an export, kept until it
 *      is destroyed, so the task of a killed run is found and destroyed by the next run or
 *      prune, and no other task ever is)
 * Lists (XAPI error params, reasons) are stored as JSON arrays of strings. Times are Unix
 * seconds (UTC). Every write is its own transaction, committed before the call returns. */
#include "jobs/jobstore.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "lib/util.h"

#define JS_VERSION 5   /* the number of schema steps in upgrade() */
#define JS_BUSY_MS 10000

struct ct_jobstore {
	sqlite3 *db;
	char *path;
	char host[256];
};

static const char *status_names[] = {
	[CT_RUN_RUNNING] = "running",
	[CT_RUN_SUCCESS] = "success",
	[CT_RUN_FAILURE] = "failure",
	[CT_RUN_SKIPPED] = "skipped",
	[CT_RUN_INTERRUPTED] = "interrupted",
	[CT_RUN_FORCED] = "forced",
};

const char *ct_run_status_name(enum ct_run_status s)
{
	if ((unsigned)s < sizeof(status_names) / sizeof(status_names[0]))
		return status_names[s];
	return "unknown";
}

int ct_run_status_from_name(const char *s)
{
	if (!s)
		return -1;
	for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (strcmp(status_names[i], s) == 0)
			return (int)i;
	return -1;
}

static int db_err(struct ct_jobstore *js, struct ct_err *e, const char *what)
{
	return ct_err_set(e, CT_E_DB, "job history %s: %s failed: %s; check that the state directory is writable and the disk not full",
			  js->path, what, sqlite3_errmsg(js->db));
}

static int exec(struct ct_jobstore *js, const char *sql, struct ct_err *e)
{
	char *msg = NULL;

	if (sqlite3_exec(js->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		ct_err_set(e, CT_E_DB, "job history %s: %s; check that the state directory is writable and the disk not full",
			   js->path, msg ? msg : sqlite3_errmsg(js->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static const char schema_v1[] =
	"CREATE TABLE IF NOT EXISTS runs ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, job TEXT, pool TEXT,"
	" dry_run INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, start INTEGER NOT NULL,"
	" end INTEGER NOT NULL DEFAULT 0, host TEXT, pid INTEGER);"
	"CREATE TABLE IF NOT EXISTS items ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL REFERENCES runs(id),"
	" obj_uuid TEXT, obj_name TEXT, status TEXT NOT NULL, start INTEGER NOT NULL,"
	" end INTEGER NOT NULL DEFAULT 0, message TEXT, snapshot_uuid TEXT, xapi_code TEXT,"
	" xapi_params TEXT, reasons TEXT);"
	"CREATE TABLE IF NOT EXISTS steps ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, item_id INTEGER NOT NULL REFERENCES items(id),"
	" name TEXT NOT NULL, status TEXT NOT NULL, start INTEGER NOT NULL,"
	" end INTEGER NOT NULL DEFAULT 0, detail TEXT);"
	"CREATE INDEX IF NOT EXISTS runs_start ON runs(start);"
	"CREATE INDEX IF NOT EXISTS items_run ON items(run_id);"
	"CREATE INDEX IF NOT EXISTS steps_item ON steps(item_id);";

static const char schema_v2[] =
	"ALTER TABLE items ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE items ADD COLUMN chain_json TEXT;"
	"ALTER TABLE runs ADD COLUMN summary TEXT;";

static const char schema_v3[] =
	"ALTER TABLE items ADD COLUMN export_ms INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE items ADD COLUMN intent TEXT;"
	"ALTER TABLE items ADD COLUMN intent_done INTEGER NOT NULL DEFAULT 0;";

static const char schema_v4[] =
	"CREATE TABLE IF NOT EXISTS disks ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, item_id INTEGER NOT NULL REFERENCES items(id),"
	" sr_uuid TEXT NOT NULL, vdi_uuid TEXT NOT NULL, physical_utilisation INTEGER NOT NULL,"
	" virtual_size INTEGER NOT NULL, at INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS disks_item ON disks(item_id);";

static const char schema_v5[] =
	"ALTER TABLE items ADD COLUMN export_task TEXT;";

static int user_version(struct ct_jobstore *js, int *v, struct ct_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(js->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return db_err(js, e, "reading the schema version");
	rc = sqlite3_step(st);
	*v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return db_err(js, e, "reading the schema version");
	return 0;
}

static int upgrade(struct ct_jobstore *js, struct ct_err *e)
{
	static const char *steps[] = { schema_v1, schema_v2, schema_v3, schema_v4, schema_v5 };
	int v;

	if (exec(js, "BEGIN IMMEDIATE", e) < 0)
		return -1;
	if (user_version(js, &v, e) < 0)
		goto fail;
	if (v > JS_VERSION) {
		ct_err_set(e, CT_E_DB, "job history %s has schema version %d, newer than this chaintop knows (%d); use the newer chaintop or another state_dir",
			   js->path, v, JS_VERSION);
		goto fail;
	}
	for (; v < JS_VERSION; v++) {
		char pragma[64];

		if (exec(js, steps[v], e) < 0)
			goto fail;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if (exec(js, pragma, e) < 0)
			goto fail;
	}
	return exec(js, "COMMIT", e);
fail:
	sqlite3_exec(js->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static bool pid_alive(long pid)
{
	if (pid <= 0)
		return false;
	if (pid == (long)getpid())
		return true;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* Runs left `running` by a process of this host that no longer exists. */
static int mark_dead_runs(struct ct_jobstore *js, struct ct_err *e)
{
	sqlite3_stmt *st;
	int64_t *dead = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	time_t now = time(NULL);

	if (sqlite3_prepare_v2(js->db, "SELECT id, pid FROM runs WHERE status = 'running' AND host = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return db_err(js, e, "looking for interrupted runs");
	sqlite3_bind_text(st, 1, js->host, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (pid_alive((long)sqlite3_column_int64(st, 1)))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			dead = ct_xrealloc(dead, cap * sizeof(*dead));
		}
		dead[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < n && rc == 0; i++) {
		static const char *sql[] = {
			"UPDATE steps SET status = 'interrupted', end = ?2 WHERE status = 'running'"
			" AND item_id IN (SELECT id FROM items WHERE run_id = ?1)",
			"UPDATE items SET status = 'interrupted', end = ?2,"
			" message = COALESCE(message, 'the process running this backup ended before it finished (killed or crashed)')"
			" WHERE status = 'running' AND run_id = ?1",
			"UPDATE runs SET status = 'interrupted', end = ?2,"
			" summary = COALESCE(summary, 'interrupted: the process running it ended before it finished (killed or crashed)')"
			" WHERE id = ?1",
		};

		if (exec(js, "BEGIN IMMEDIATE", e) < 0) {
			rc = -1;
			break;
		}
		for (size_t k = 0; k < sizeof(sql) / sizeof(sql[0]); k++) {
			if (sqlite3_prepare_v2(js->db, sql[k], -1, &st, NULL) != SQLITE_OK) {
				rc = db_err(js, e, "marking an interrupted run");
				break;
			}
			sqlite3_bind_int64(st, 1, dead[i]);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
			if (sqlite3_step(st) != SQLITE_DONE)
				rc = db_err(js, e, "marking an interrupted run");
			sqlite3_finalize(st);
			if (rc < 0)
				break;
		}
		if (rc < 0)
			sqlite3_exec(js->db, "ROLLBACK", NULL, NULL, NULL);
		else
			rc = exec(js, "COMMIT", e);
	}
	free(dead);
	return rc;
}

struct ct_jobstore *ct_jobstore_open(const char *state_dir, struct ct_err *e)
{
	struct ct_jobstore *js;

	if (!state_dir || !*state_dir) {
		ct_err_set(e, CT_E_CONFIG, "no state directory for the job history; set state_dir in the configuration");
		return NULL;
	}
	if (ct_state_dir_ready(state_dir, e) < 0)
		return NULL;
	js = ct_xcalloc(1, sizeof(*js));
	js->path = ct_xasprintf("%s/jobs.db", state_dir);
	if (gethostname(js->host, sizeof(js->host) - 1) < 0)
		snprintf(js->host, sizeof(js->host), "localhost");
	/* created (or set) 0600 here, whatever the umask: SQLite gives its -wal, -shm and
	 * -journal files the database file's mode */
	{
		int fd = ct_open_private(js->path, O_RDWR | O_CREAT);

		if (fd < 0) {
			ct_err_set(e, CT_E_DB, "cannot open the job history %s: %s; check the state "
				   "directory (a symbolic link is not followed)", js->path,
				   strerror(errno));
			goto fail;
		}
		close(fd);
	}
	if (sqlite3_open_v2(js->path, &js->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		ct_err_set(e, CT_E_DB, "cannot open the job history %s: %s; check the state directory's permissions",
			   js->path, js->db ? sqlite3_errmsg(js->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(js->db, JS_BUSY_MS);
	if (exec(js, "PRAGMA journal_mode = WAL", e) < 0 ||
	    exec(js, "PRAGMA synchronous = FULL", e) < 0 ||
	    exec(js, "PRAGMA foreign_keys = ON", e) < 0 ||
	    upgrade(js, e) < 0 || mark_dead_runs(js, e) < 0)
		goto fail;
	return js;
fail:
	ct_jobstore_close(js);
	return NULL;
}

void ct_jobstore_close(struct ct_jobstore *js)
{
	if (!js)
		return;
	if (js->db)
		sqlite3_close(js->db);
	free(js->path);
	free(js);
}

/* One statement, bound by the caller through the callback, run to completion. */
static int run_stmt(struct ct_jobstore *js, const char *sql, sqlite3_stmt **out, struct ct_err *e,
		    const char *what)
{
	if (sqlite3_prepare_v2(js->db, sql, -1, out, NULL) != SQLITE_OK)
		return db_err(js, e, what);
	return 0;
}

static int finish_stmt(struct ct_jobstore *js, sqlite3_stmt *st, struct ct_err *e, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(js, e, what);
	return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

int64_t ct_jobstore_run_begin(struct ct_jobstore *js, const char *kind, const char *job,
			      const char *pool, bool dry_run, struct ct_err *e)
{
	sqlite3_stmt *st;

	if (run_stmt(js, "INSERT INTO runs (kind, job, pool, dry_run, status, start, host, pid)"
		     " VALUES (?, ?, ?, ?, 'running', ?, ?, ?)", &st, e, "recording a run") < 0)
		return -1;
	bind_text(st, 1, kind ? kind : "backup");
	bind_text(st, 2, job);
	bind_text(st, 3, pool);
	sqlite3_bind_int(st, 4, dry_run);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
	bind_text(st, 6, js->host);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)getpid());
	if (finish_stmt(js, st, e, "recording a run") < 0)
		return -1;
	return (int64_t)sqlite3_last_insert_rowid(js->db);
}

int ct_jobstore_run_end(struct ct_jobstore *js, int64_t run, enum ct_run_status s,
			const char *summary, struct ct_err *e)
{
	sqlite3_stmt *st;

	if (run_stmt(js, "UPDATE runs SET status = ?, end = ?, summary = ? WHERE id = ?", &st, e,
		     "ending a run") < 0)
		return -1;
	bind_text(st, 1, ct_run_status_name(s));
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	bind_text(st, 3, summary);
	sqlite3_bind_int64(st, 4, run);
	return finish_stmt(js, st, e, "ending a run");
}

int ct_jobstore_run_note(struct ct_jobstore *js, int64_t run, const char *note, struct ct_err *e)
{
	sqlite3_stmt *st;

	if (run_stmt(js, "UPDATE runs SET summary = COALESCE(summary || '; ', '') || ? WHERE id = ?",
		     &st, e, "adding a note to a run") < 0)
		return -1;
	bind_text(st, 1, note);
	sqlite3_bind_int64(st, 2, run);
	return finish_stmt(js, st, e, "adding a note to a run");
}

int64_t ct_jobstore_item_begin(struct ct_jobstore *js, int64_t run, const char *obj_uuid,
			       const char *obj_name, struct ct_err *e)
{
	sqlite3_stmt *st;

	if (run_stmt(js, "INSERT INTO items (run_id, obj_uuid, obj_name, status, start)"
		     " VALUES (?, ?, ?, 'running', ?)", &st, e, "recording an item") < 0)
		return -1;
	sqlite3_bind_int64(st, 1, run);
	bind_text(st, 2, obj_uuid);
	bind_text(st, 3, obj_name);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
	if (finish_stmt(js, st, e, "recording an item") < 0)
		return -1;
	return (int64_t)sqlite3_last_insert_rowid(js->db);
}

static char *json_list(const char *const *v, int n)
{
	json_t *a;
	char *s;

	if (n <= 0)
		return NULL;
	a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i] ? v[i] : ""));
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

static void parse_list(const char *text, char ***out, int *n)
{
	json_t *a;
	json_error_t err;

	*out = NULL;
	*n = 0;
	if (!text)
		return;
	a = json_loads(text, 0, &err);
	if (!json_is_array(a)) {
		json_decref(a);
		return;
	}
	*out = ct_xcalloc(json_array_size(a) + 1, sizeof(char *));
	for (size_t i = 0; i < json_array_size(a); i++) {
		const char *s = json_string_value(json_array_get(a, i));

		(*out)[(*n)++] = ct_xstrdup(s ? s : "");
	}
	json_decref(a);
}

int ct_jobstore_item_end(struct ct_jobstore *js, int64_t item, const struct ct_item_result *r,
			 struct ct_err *e)
{
	sqlite3_stmt *st;
	char *params = NULL, *reasons = NULL;
	int rc;

	if (run_stmt(js, "UPDATE items SET status = ?, end = ?, message = ?, snapshot_uuid = ?,"
		     " bytes = ?, xapi_code = ?, xapi_params = ?, reasons = ?, chain_json = ?,"
		     " export_ms = ? WHERE id = ?", &st, e, "ending an item") < 0)
		return -1;
	params = json_list(r->xapi_params, r->n_xapi_params);
	reasons = json_list(r->reasons, r->n_reasons);
	bind_text(st, 1, ct_run_status_name(r->status));
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	bind_text(st, 3, r->message);
	bind_text(st, 4, r->snapshot_uuid && *r->snapshot_uuid ? r->snapshot_uuid : NULL);
	sqlite3_bind_int64(st, 5, r->bytes);
	bind_text(st, 6, r->xapi_code && *r->xapi_code ? r->xapi_code : NULL);
	bind_text(st, 7, params);
	bind_text(st, 8, reasons);
	bind_text(st, 9, r->chain_json);
	sqlite3_bind_int64(st, 10, r->export_ms);
	sqlite3_bind_int64(st, 11, item);
	rc = finish_stmt(js, st, e, "ending an item");
	free(params);
	free(reasons);
	return rc;
}

int ct_jobstore_item_disk(struct ct_jobstore *js, int64_t item, const char *sr_uuid,
			  const char *vdi_uuid, int64_t physical_utilisation, int64_t virtual_size,
			  struct ct_err *e)
{
	sqlite3_stmt *st;

	if (run_stmt(js, "INSERT INTO disks (item_id, sr_uuid, vdi_uuid, physical_utilisation,"
		     " virtual_size, at) VALUES (?, ?, ?, ?, ?, ?)", &st, e, "recording a disk") < 0)
		return -1;
	sqlite3_bind_int64(st, 1, item);
	bind_text(st, 2, sr_uuid ? sr_uuid : "");
	bind_text(st, 3, vdi_uuid ? vdi_uuid : "");
	sqlite3_bind_int64(st, 4, physical_utilisation);
	sqlite3_bind_int64(st, 5, virtual_size);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)time(NULL));
	return finish_stmt(js, st, e, "recording a disk");
}

int ct_jobstore_job_disks(struct ct_jobstore *js, const char *job, const char *pool, int max_runs,
			  struct ct_disk_rec **out, int *n, struct ct_err *e)
{
	sqlite3_stmt *st;
	struct ct_disk_rec *v = NULL;
	int cap = 0, rc;

	*out = NULL;
	*n = 0;
	/* the newest runs of the job on that pool that snapshotted something, oldest first */
	if (run_stmt(js, "SELECT r.id, d.at, d.sr_uuid, d.vdi_uuid, d.physical_utilisation,"
		     " d.virtual_size FROM disks d JOIN items i ON d.item_id = i.id"
		     " JOIN runs r ON i.run_id = r.id WHERE r.id IN (SELECT DISTINCT r2.id FROM runs r2"
		     " JOIN items i2 ON i2.run_id = r2.id JOIN disks d2 ON d2.item_id = i2.id"
		     " WHERE r2.kind = 'backup' AND r2.dry_run = 0 AND r2.job = ?1 AND r2.pool = ?2"
		     " ORDER BY r2.id DESC LIMIT ?3) ORDER BY r.id, d.id", &st, e,
		     "reading the disks of a job's runs") < 0)
		return -1;
	bind_text(st, 1, job);
	bind_text(st, 2, pool);
	sqlite3_bind_int(st, 3, max_runs > 0 ? max_runs : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ct_disk_rec *d;
		const unsigned char *t;

		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = ct_xrealloc(v, (size_t)cap * sizeof(*v));
		}
		d = &v[(*n)++];
		memset(d, 0, sizeof(*d));
		d->run = sqlite3_column_int64(st, 0);
		d->at = (time_t)sqlite3_column_int64(st, 1);
		t = sqlite3_column_text(st, 2);
		snprintf(d->sr_uuid, sizeof(d->sr_uuid), "%s", t ? (const char *)t : "");
		t = sqlite3_column_text(st, 3);
		snprintf(d->vdi_uuid, sizeof(d->vdi_uuid), "%s", t ? (const char *)t : "");
		d->physical_utilisation = sqlite3_column_int64(st, 4);
		d->virtual_size = sqlite3_column_int64(st, 5);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(v);
		*out = NULL;
		*n = 0;
		return db_err(js, e, "reading the disks of a job's runs");
	}
	*out = v;
	return 0;
}

int64_t ct_jobstore_step_begin(struct ct_jobstore *js, int64_t item, const char *name,
			       struct ct_err *e)
{
	sqlite3_stmt *st;

	if (run_stmt(js, "INSERT INTO steps (item_id, name, status, start) VALUES (?, ?, 'running', ?)",
		     &st, e, "recording a step") < 0)
		return -1;
	sqlite3_bind_int64(st, 1, item);
	bind_text(st, 2, name);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
	if (finish_stmt(js, st, e, "recording a step") < 0)
		return -1;
	return (int64_t)sqlite3_last_insert_rowid(js->db);
}

int ct_jobstore_step_end(struct ct_jobstore *js, int64_t step, enum ct_run_status s,
			 const char *detail, struct ct_err *e)
{
	sqlite3_stmt *st;

	if (run_stmt(js, "UPDATE steps SET status = ?, end = ?, detail = ? WHERE id = ?", &st, e,
		     "ending a step") < 0)
		return -1;
	bind_text(st, 1, ct_run_status_name(s));
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	bind_text(st, 3, detail);
	sqlite3_bind_int64(st, 4, step);
	return finish_stmt(js, st, e, "ending a step");
}

/* ---- reading -------------------------------------------------------------------------- */

static char *col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? ct_xstrdup((const char *)s) : NULL;
}

static enum ct_run_status col_status(sqlite3_stmt *st, int i)
{
	int s = ct_run_status_from_name((const char *)sqlite3_column_text(st, i));

	return s < 0 ? CT_RUN_FAILURE : (enum ct_run_status)s;
}

static void free_list(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void item_release(struct ct_item_rec *it)
{
	free(it->intent);
	free(it->obj_uuid);
	free(it->obj_name);
	free(it->message);
	free(it->snapshot_uuid);
	free(it->xapi_code);
	free_list(it->xapi_params, it->n_xapi_params);
	free_list(it->reasons, it->n_reasons);
	free(it->chain_json);
	for (int i = 0; i < it->n_steps; i++) {
		free(it->steps[i].name);
		free(it->steps[i].detail);
	}
	free(it->steps);
}

void ct_run_rec_release(struct ct_run_rec *r)
{
	if (!r)
		return;
	free(r->kind);
	free(r->job);
	free(r->pool);
	free(r->summary);
	free(r->host);
	for (int i = 0; i < r->n_items; i++)
		item_release(&r->items[i]);
	free(r->items);
	memset(r, 0, sizeof(*r));
}

#define RUN_COLS \
	"SELECT r.id, r.kind, r.job, r.pool, r.summary, r.host, r.pid, r.dry_run, r.status," \
	" r.start, r.end," \
	" (SELECT COUNT(*) FROM items i WHERE i.run_id = r.id AND i.status IN ('success','forced'))," \
	" (SELECT COUNT(*) FROM items i WHERE i.run_id = r.id AND i.status IN ('failure','interrupted'))," \
	" (SELECT COUNT(*) FROM items i WHERE i.run_id = r.id AND i.status = 'skipped')" \
	" FROM runs r"

static void read_run(sqlite3_stmt *st, struct ct_run_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->kind = col_str(st, 1);
	r->job = col_str(st, 2);
	r->pool = col_str(st, 3);
	r->summary = col_str(st, 4);
	r->host = col_str(st, 5);
	r->pid = (long)sqlite3_column_int64(st, 6);
	r->dry_run = sqlite3_column_int(st, 7) != 0;
	r->status = col_status(st, 8);
	r->start = (time_t)sqlite3_column_int64(st, 9);
	r->end = (time_t)sqlite3_column_int64(st, 10);
	r->n_ok = sqlite3_column_int(st, 11);
	r->n_failed = sqlite3_column_int(st, 12);
	r->n_skipped = sqlite3_column_int(st, 13);
}

int ct_jobstore_list_runs(struct ct_jobstore *js, int limit, bool failed_only,
			  struct ct_run_rec **runs, int *n, struct ct_err *e)
{
	sqlite3_stmt *st;
	char *sql;
	int cap = 0, rc;

	*runs = NULL;
	*n = 0;
	/* a long-lived reader (the console) sees a killed cron run turn interrupted */
	{
		struct ct_err ignored;

		ct_err_init(&ignored);
		mark_dead_runs(js, &ignored);
	}
	sql = ct_xasprintf("%s%s ORDER BY r.start DESC, r.id DESC LIMIT ?", RUN_COLS,
			   failed_only ? " WHERE r.status IN ('failure','interrupted','skipped')" : "");
	rc = sqlite3_prepare_v2(js->db, sql, -1, &st, NULL);
	free(sql);
	if (rc != SQLITE_OK)
		return db_err(js, e, "listing runs");
	sqlite3_bind_int64(st, 1, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*runs = ct_xrealloc(*runs, (size_t)cap * sizeof(**runs));
		}
		read_run(st, &(*runs)[(*n)++]);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		for (int i = 0; i < *n; i++)
			ct_run_rec_release(&(*runs)[i]);
		free(*runs);
		*runs = NULL;
		*n = 0;
		return db_err(js, e, "listing runs");
	}
	return 0;
}

static int read_steps(struct ct_jobstore *js, struct ct_item_rec *it, struct ct_err *e)
{
	sqlite3_stmt *st;
	int cap = 0, rc;

	if (run_stmt(js, "SELECT id, name, status, start, end, detail FROM steps WHERE item_id = ?"
		     " ORDER BY id", &st, e, "reading steps") < 0)
		return -1;
	sqlite3_bind_int64(st, 1, it->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ct_step_rec *s;

		if (it->n_steps == cap) {
			cap = cap ? cap * 2 : 8;
			it->steps = ct_xrealloc(it->steps, (size_t)cap * sizeof(*it->steps));
		}
		s = &it->steps[it->n_steps++];
		s->id = sqlite3_column_int64(st, 0);
		s->name = col_str(st, 1);
		s->status = col_status(st, 2);
		s->start = (time_t)sqlite3_column_int64(st, 3);
		s->end = (time_t)sqlite3_column_int64(st, 4);
		s->detail = col_str(st, 5);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(js, e, "reading steps");
	return 0;
}

int ct_jobstore_get_run(struct ct_jobstore *js, int64_t id, struct ct_run_rec *out,
			struct ct_err *e)
{
	sqlite3_stmt *st;
	char *sql;
	int rc, cap = 0;

	memset(out, 0, sizeof(*out));
	sql = ct_xasprintf("%s WHERE r.id = ?", RUN_COLS);
	rc = sqlite3_prepare_v2(js->db, sql, -1, &st, NULL);
	free(sql);
	if (rc != SQLITE_OK)
		return db_err(js, e, "reading a run");
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_run(st, out);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return ct_err_set(e, CT_E_USAGE, "no run %lld in the job history %s; `chaintop report` lists the runs",
				  (long long)id, js->path);
	if (rc != SQLITE_ROW)
		return db_err(js, e, "reading a run");

	if (run_stmt(js, "SELECT id, obj_uuid, obj_name, status, start, end, message, snapshot_uuid,"
		     " xapi_code, xapi_params, reasons, chain_json, bytes, export_ms, intent, intent_done"
		     " FROM items WHERE run_id = ?"
		     " ORDER BY id", &st, e, "reading items") < 0)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ct_item_rec *it;

		if (out->n_items == cap) {
			cap = cap ? cap * 2 : 8;
			out->items = ct_xrealloc(out->items, (size_t)cap * sizeof(*out->items));
		}
		it = &out->items[out->n_items++];
		memset(it, 0, sizeof(*it));
		it->id = sqlite3_column_int64(st, 0);
		it->obj_uuid = col_str(st, 1);
		it->obj_name = col_str(st, 2);
		it->status = col_status(st, 3);
		it->start = (time_t)sqlite3_column_int64(st, 4);
		it->end = (time_t)sqlite3_column_int64(st, 5);
		it->message = col_str(st, 6);
		it->snapshot_uuid = col_str(st, 7);
		it->xapi_code = col_str(st, 8);
		parse_list((const char *)sqlite3_column_text(st, 9), &it->xapi_params, &it->n_xapi_params);
		parse_list((const char *)sqlite3_column_text(st, 10), &it->reasons, &it->n_reasons);
		it->chain_json = col_str(st, 11);
		it->bytes = sqlite3_column_int64(st, 12);
		it->export_ms = sqlite3_column_int64(st, 13);
		it->intent = col_str(st, 14);
		it->intent_done = sqlite3_column_int(st, 15) != 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_err(js, e, "reading items");
		goto fail;
	}
	for (int i = 0; i < out->n_items; i++)
		if (read_steps(js, &out->items[i], e) < 0)
			goto fail;
	return 0;
fail:
	ct_run_rec_release(out);
	return -1;
}

int ct_jobstore_item_intent(struct ct_jobstore *js, int64_t item, const char *snapshot_name,
			    struct ct_err *e)
{
	sqlite3_stmt *st;

	if (run_stmt(js, "UPDATE items SET intent = ?, intent_done = 0 WHERE id = ?", &st, e,
		     "recording a snapshot about to be made") < 0)
		return -1;
	bind_text(st, 1, snapshot_name);
	sqlite3_bind_int64(st, 2, item);
	return finish_stmt(js, st, e, "recording a snapshot about to be made");
}

int ct_jobstore_intent_done(struct ct_jobstore *js, int64_t item, struct ct_err *e)
{
	sqlite3_stmt *st;

	if (run_stmt(js, "UPDATE items SET intent_done = 1 WHERE id = ?", &st, e,
		     "resolving a recorded snapshot") < 0)
		return -1;
	sqlite3_bind_int64(st, 1, item);
	return finish_stmt(js, st, e, "resolving a recorded snapshot");
}

void ct_intents_release(struct ct_intent *v, int n)
{
	for (int i = 0; i < n; i++) {
		free(v[i].vm_uuid);
		free(v[i].vm_name);
		free(v[i].name);
		free(v[i].job);
		free(v[i].pool);
	}
	free(v);
}

int ct_jobstore_item_export_task(struct ct_jobstore *js, int64_t item, const char *task_ref,
				 struct ct_err *e)
{
	sqlite3_stmt *st;

	if (run_stmt(js, "UPDATE items SET export_task = ? WHERE id = ?", &st, e,
		     "recording an export task") < 0)
		return -1;
	bind_text(st, 1, task_ref);
	sqlite3_bind_int64(st, 2, item);
	return finish_stmt(js, st, e, "recording an export task");
}

/* Open intents (what = 0) or recorded export tasks (what = 1) of runs no longer running. */
static int list_open(struct ct_jobstore *js, int what, const char *pool, const char *vm_uuid,
		     struct ct_intent **out, int *n, struct ct_err *e)
{
	static const char *const sql[2] = {
		"SELECT i.id, i.run_id, i.obj_uuid, i.obj_name, i.intent, r.job, r.pool, i.start"
		" FROM items i JOIN runs r ON r.id = i.run_id"
		" WHERE i.intent IS NOT NULL AND i.intent_done = 0 AND r.status <> 'running'"
		" AND (?1 IS NULL OR r.pool = ?1) AND (?2 IS NULL OR i.obj_uuid = ?2) ORDER BY i.id",
		"SELECT i.id, i.run_id, i.obj_uuid, i.obj_name, i.export_task, r.job, r.pool, i.start"
		" FROM items i JOIN runs r ON r.id = i.run_id"
		" WHERE i.export_task IS NOT NULL AND r.status <> 'running'"
		" AND (?1 IS NULL OR r.pool = ?1) AND (?2 IS NULL OR i.obj_uuid = ?2) ORDER BY i.id",
	};
	sqlite3_stmt *st;
	int cap = 0, rc;

	*out = NULL;
	*n = 0;
	if (mark_dead_runs(js, e) < 0)
		return -1;
	if (run_stmt(js, sql[what], &st, e, "reading recorded snapshots and tasks") < 0)
		return -1;
	bind_text(st, 1, pool);
	bind_text(st, 2, vm_uuid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ct_intent *t;

		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			*out = ct_xrealloc(*out, (size_t)cap * sizeof(**out));
		}
		t = &(*out)[(*n)++];
		t->item = sqlite3_column_int64(st, 0);
		t->run = sqlite3_column_int64(st, 1);
		t->vm_uuid = col_str(st, 2);
		t->vm_name = col_str(st, 3);
		t->name = col_str(st, 4);
		t->job = col_str(st, 5);
		t->pool = col_str(st, 6);
		t->when = (time_t)sqlite3_column_int64(st, 7);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		ct_intents_release(*out, *n);
		*out = NULL;
		*n = 0;
		return db_err(js, e, "reading recorded snapshots and tasks");
	}
	return 0;
}

int ct_jobstore_list_intents(struct ct_jobstore *js, const char *pool, const char *vm_uuid,
			     struct ct_intent **out, int *n, struct ct_err *e)
{
	return list_open(js, 0, pool, vm_uuid, out, n, e);
}

int ct_jobstore_list_export_tasks(struct ct_jobstore *js, const char *pool, const char *vm_uuid,
				  struct ct_intent **out, int *n, struct ct_err *e)
{
	return list_open(js, 1, pool, vm_uuid, out, n, e);
}
