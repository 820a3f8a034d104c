/* run.c - the run recorder shared by backup and prune (see run.h). */
#include "jobs/run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "jobs/notify.h"
#include "lib/util.h"
#include "xapi/xapi.h"

void ct_run_init(struct ct_run *r, atomic_int *cancel,
		 void (*on_error)(void *ctx, const struct ct_err *e), void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->cancel = cancel;
	r->lock_fd = -1;
	r->on_error = on_error;
	r->ctx = ctx;
}

int ct_run_open(struct ct_run *r, const char *state_dir, struct ct_jobstore *js, struct ct_err *e)
{
	if (js) {
		r->js = js;
		return 0;
	}
	r->js = ct_jobstore_open(state_dir, e);   /* creates state_dir */
	if (!r->js)
		return -1;
	r->own_js = true;
	return 0;
}

void ct_run_close(struct ct_run *r)
{
	if (r->x) {
		ct_xapi_cancel_with(r->x, NULL);
		ct_xapi_reset_cancel(r->x);   /* so the session is logged out */
		r->x = NULL;
	}
	if (r->own_js)
		ct_jobstore_close(r->js);
	r->js = NULL;
	r->own_js = false;
	if (r->lock_fd >= 0)
		close(r->lock_fd);
	r->lock_fd = -1;
}

/* ---- lock -------------------------------------------------------------------------------- */

void ct_run_file_name(const char *in, char *out, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; in && in[i] && j + 1 < len; i++) {
		unsigned char c = (unsigned char)in[i];

		bool bad = c < 0x20 || c == 0x7f || c == '/' || (j == 0 && c == '.');

		out[j++] = bad ? '_' : (char)c;
	}
	out[j] = '\0';
	if (j == 0)
		snprintf(out, len, "_");
}

char *ct_run_lock_path(const char *state_dir, const char *kind, const char *job)
{
	char safe[160];

	ct_run_file_name(job, safe, sizeof(safe));
	return ct_xasprintf("%s/%s-%s.lock", state_dir, kind, safe);
}

int ct_run_lock(struct ct_run *r, const char *state_dir, const char *kind, const char *job,
		struct ct_err *e)
{
	char *path = ct_run_lock_path(state_dir, kind, job);
	char host[256] = "", line[512], when[64];
	time_t now = time(NULL);
	struct tm tm;
	int fd, rc = -1;

	fd = ct_open_private(path, O_RDWR | O_CREAT);
	if (fd < 0) {
		ct_err_set(e, CT_E_IO, "cannot open the lock file %s: %s; check state_dir (a "
			   "symbolic link is not followed)", path, strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;
		char held[512] = "";
		ssize_t n = pread(fd, held, sizeof(held) - 1, 0);
		long pid = 0;
		char hh[256] = "?", started[64] = "?";

		held[n > 0 ? n : 0] = '\0';
		if (sscanf(held, "pid=%ld host=%255s start=%63s", &pid, hh, started) < 1)
			pid = 0;
		if (err == EWOULDBLOCK || err == EAGAIN)
			ct_err_set(e, CT_E_STATE, "job '%s' is already running (pid %ld on host %s, started %s; lock %s): "
				   "two runs of one job never overlap; wait for it to finish or stop that process",
				   job, pid, hh, started, path);
		else
			ct_err_set(e, CT_E_IO, "cannot lock %s: %s", path, strerror(err));
		close(fd);
		goto out;
	}
	gethostname(host, sizeof(host) - 1);
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", &tm);
	snprintf(line, sizeof(line), "pid=%ld host=%s start=%s\n", (long)getpid(), host[0] ? host : "localhost", when);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, line, strlen(line), 0) < 0) {
		ct_err_set(e, CT_E_IO, "cannot write the lock file %s: %s", path, strerror(errno));
		close(fd);
		goto out;
	}
	r->lock_fd = fd;
	rc = 0;
out:
	free(path);
	return rc;
}

/* ---- cancellation ------------------------------------------------------------------------ */

bool ct_run_cancelled(const struct ct_run *r)
{
	return r->cancel && atomic_load(r->cancel);
}

void ct_run_bind(struct ct_run *r, struct ct_xapi *x)
{
	if (!r->cancel || !x)
		return;
	r->x = x;
	ct_xapi_cancel_with(x, r->cancel);
}

void ct_run_last_calls(struct ct_run *r)
{
	if (!r->x)
		return;
	ct_xapi_reset_cancel(r->x);
	if (ct_run_cancelled(r))
		ct_xapi_set_deadline(r->x, ct_now_ms() + CT_RUN_LAST_CALLS_MS,
				     "the 3 s left for clean-up after a stop");
}

/* ---- history ----------------------------------------------------------------------------- */

static void failed(struct ct_run *r, const struct ct_err *e)
{
	if (!r->broken)
		snprintf(r->error, sizeof(r->error), "%s", e->msg);
	r->broken = true;
	if (r->on_error)
		r->on_error(r->ctx, e);
}

int64_t ct_run_begin(struct ct_run *r, const char *kind, const char *job, const char *pool,
		     bool dry_run, struct ct_err *e)
{
	int64_t id = ct_jobstore_run_begin(r->js, kind, job, pool, dry_run, e);

	r->id = id > 0 ? id : 0;
	return id;
}

int64_t ct_run_item_begin(struct ct_run *r, const char *uuid, const char *name)
{
	struct ct_err e;
	int64_t id;

	if (!r->js || r->id <= 0)
		return 0;
	ct_err_init(&e);
	id = ct_jobstore_item_begin(r->js, r->id, uuid, name, &e);
	if (id < 0) {
		failed(r, &e);
		return 0;
	}
	return id;
}

void ct_run_item_end(struct ct_run *r, int64_t item, const struct ct_item_result *res)
{
	struct ct_err e;

	if (!r->js || item <= 0)
		return;
	ct_err_init(&e);
	if (ct_jobstore_item_end(r->js, item, res, &e) < 0)
		failed(r, &e);
}

int64_t ct_run_step_begin(struct ct_run *r, int64_t item, const char *name)
{
	struct ct_err e;
	int64_t id;

	if (!r->js || item <= 0)
		return 0;
	ct_err_init(&e);
	id = ct_jobstore_step_begin(r->js, item, name, &e);
	if (id < 0) {
		failed(r, &e);
		return 0;
	}
	return id;
}

void ct_run_step_end(struct ct_run *r, int64_t step, enum ct_run_status st, const char *detail)
{
	struct ct_err e;

	if (!r->js || step <= 0)
		return;
	ct_err_init(&e);
	if (ct_jobstore_step_end(r->js, step, st, detail, &e) < 0)
		failed(r, &e);
}

void ct_run_step_endf(struct ct_run *r, int64_t step, enum ct_run_status st, const char *fmt, ...)
{
	char detail[2048];
	va_list ap;

	if (!r->js || step <= 0)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	ct_run_step_end(r, step, st, detail);
}

void ct_run_end(struct ct_run *r, enum ct_run_status st, const char *summary)
{
	struct ct_err e;

	if (!r->js || r->id <= 0)
		return;
	ct_err_init(&e);
	if (ct_jobstore_run_end(r->js, r->id, st, summary, &e) < 0)
		failed(r, &e);
}

void ct_run_vtext(char *out, size_t len, const char *fmt, va_list ap)
{
	char raw[2048];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	ct_sanitize(raw, out, len);
}

/* ---- the report and the notification ----------------------------------------------------- */

static json_t *jstr(const char *s)
{
	char buf[4096];
	json_t *j;

	if (!s)
		return json_null();
	j = json_string(s);
	return j ? j : json_string(ct_sanitize(s, buf, sizeof(buf)));   /* not UTF-8 */
}

static json_t *jtime(time_t t)
{
	char buf[32];

	if (t <= 0)
		return json_null();
	ct_format_xapi_time(t, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *item_json(const struct ct_item_rec *it)
{
	json_t *io = json_object(), *steps = json_array(), *params = json_array(),
	       *reasons = json_array(), *chain = NULL;

	json_object_set_new(io, "uuid", jstr(it->obj_uuid));
	json_object_set_new(io, "name", jstr(it->obj_name));
	json_object_set_new(io, "status", json_string(ct_run_status_name(it->status)));
	json_object_set_new(io, "start", jtime(it->start));
	json_object_set_new(io, "end", jtime(it->end));
	json_object_set_new(io, "message", jstr(it->message));
	json_object_set_new(io, "snapshot_uuid", jstr(it->snapshot_uuid));
	json_object_set_new(io, "bytes", json_integer(it->bytes));
	json_object_set_new(io, "export_ms", json_integer(it->export_ms));
	json_object_set_new(io, "throughput_bytes_per_s", it->export_ms > 0 ?
			    json_integer((json_int_t)((double)it->bytes * 1000.0 / (double)it->export_ms)) :
			    json_null());
	json_object_set_new(io, "snapshot_intent", jstr(it->intent));
	json_object_set_new(io, "xapi_code", jstr(it->xapi_code));
	for (int k = 0; k < it->n_xapi_params; k++)
		json_array_append_new(params, jstr(it->xapi_params[k]));
	json_object_set_new(io, "xapi_params", params);
	for (int k = 0; k < it->n_reasons; k++)
		json_array_append_new(reasons, jstr(it->reasons[k]));
	json_object_set_new(io, "reasons", reasons);
	if (it->chain_json)
		chain = json_loads(it->chain_json, 0, NULL);
	json_object_set_new(io, "chain", chain ? chain : json_null());
	for (int k = 0; k < it->n_steps; k++) {
		const struct ct_step_rec *s = &it->steps[k];
		json_t *so = json_object();

		json_object_set_new(so, "name", jstr(s->name));
		json_object_set_new(so, "status", json_string(ct_run_status_name(s->status)));
		json_object_set_new(so, "start", jtime(s->start));
		json_object_set_new(so, "end", jtime(s->end));
		json_object_set_new(so, "detail", jstr(s->detail));
		json_array_append_new(steps, so);
	}
	json_object_set_new(io, "steps", steps);
	return io;
}

json_t *ct_run_rec_json(const struct ct_run_rec *r, bool detail)
{
	json_t *o = json_object(), *items;

	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "kind", jstr(r->kind));
	json_object_set_new(o, "job", jstr(r->job));
	json_object_set_new(o, "pool", jstr(r->pool));
	json_object_set_new(o, "status", json_string(ct_run_status_name(r->status)));
	json_object_set_new(o, "dry_run", json_boolean(r->dry_run));
	json_object_set_new(o, "start", jtime(r->start));
	json_object_set_new(o, "end", jtime(r->end));
	json_object_set_new(o, "duration", r->end > 0 ? json_integer((json_int_t)(r->end - r->start)) : json_null());
	json_object_set_new(o, "host", jstr(r->host));
	json_object_set_new(o, "pid", json_integer(r->pid));
	json_object_set_new(o, "ok", json_integer(r->n_ok));
	json_object_set_new(o, "skipped", json_integer(r->n_skipped));
	json_object_set_new(o, "failed", json_integer(r->n_failed));
	json_object_set_new(o, "summary", jstr(r->summary));
	if (!detail)
		return o;
	items = json_array();
	for (int i = 0; i < r->n_items; i++)
		json_array_append_new(items, item_json(&r->items[i]));
	json_object_set_new(o, "items", items);
	return o;
}

void ct_run_notify(struct ct_run *r, const struct ct_notify_conf *n, char *note, size_t note_len)
{
	struct ct_run_rec rec;
	struct ct_notify_msg m;
	struct ct_err e;
	json_t *doc;
	char *json = NULL, *env[5] = { NULL }, summary[1024];

	note[0] = '\0';
	if (!n || (!n->command && !n->webhook) || !r->js || r->id <= 0)
		return;
	ct_err_init(&e);
	memset(&rec, 0, sizeof(rec));
	if (ct_jobstore_get_run(r->js, r->id, &rec, &e) < 0) {
		snprintf(note, note_len, "no notification was sent: the run could not be read back "
			 "from the job history (%s)", e.msg);
		return;
	}
	if (rec.dry_run || !ct_notify_due(n, rec.status != CT_RUN_SUCCESS))
		goto out;
	doc = json_object();
	json_object_set_new(doc, "run", ct_run_rec_json(&rec, true));
	json = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	ct_sanitize(rec.summary ? rec.summary : "", summary, sizeof(summary));
	env[0] = ct_xasprintf("CHAINTOP_JOB=%s", rec.job ? rec.job : "");
	env[1] = ct_xasprintf("CHAINTOP_STATUS=%s", ct_run_status_name(rec.status));
	env[2] = ct_xasprintf("CHAINTOP_RUN_ID=%lld", (long long)rec.id);
	env[3] = ct_xasprintf("CHAINTOP_KIND=%s", rec.kind ? rec.kind : "");
	env[4] = ct_xasprintf("CHAINTOP_POOL=%s", rec.pool ? rec.pool : "");
	memset(&m, 0, sizeof(m));
	m.json = json ? json : "{}";
	m.summary = summary;
	m.env = (const char *const *)env;
	m.n_env = 5;
	if (ct_notify_send(n, &m, &e) < 0) {
		struct ct_err ne;

		snprintf(note, note_len, "the notification failed (the run's outcome stands): %s",
			 e.msg);
		ct_err_init(&ne);
		if (ct_jobstore_run_note(r->js, r->id, note, &ne) < 0)
			failed(r, &ne);
	}
out:
	for (int i = 0; i < 5; i++)
		free(env[i]);
	free(json);
	ct_run_rec_release(&rec);
}
