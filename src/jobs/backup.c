/* backup.c - gated backups (see backup.h): select, gate, snapshot, tag, export, retention,
 * each step recorded in the job history as it ends. */
#include "jobs/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "engine/chain.h"
#include "jobs/jobstore.h"
#include "jobs/run.h"
#include "model/model.h"
#include "lib/util.h"
#include "xapi/xapi.h"
#include "jobs/xva.h"

#define LOAD_TIMEOUT_MS (180 * 1000)
#define SNAPSHOT_TASK_TIMEOUT_S (2 * 3600)
#define EXPORT_TASK_TIMEOUT_S 120   /* after the last byte: the handler completes its task */
/* After a failed transfer the task is asked only briefly: a request that never reached
 * xapi's handler (a refused redirect, a TLS or connection failure) leaves it pending for ever,
 * and one that broke mid-stream is marked failed by xapi within moments. */
#define EXPORT_TASK_AFTER_FAILURE_S 10
#define BARRIER_TIMEOUT_MS 5000

#define TAG_JOB  "chaintop:job"
#define TAG_VM   "chaintop:vm"
#define TAG_TIME "chaintop:time"
#define TAG_RUN  "chaintop:run"

struct sel_vm {
	char *ref, *uuid, *name;   /* name sanitised */
};

struct bk {
	const struct ct_backup_opts *o;
	const struct ct_config *cfg;
	const struct ct_pool_conf *pc;
	char job[128];
	bool adhoc;
	enum ct_job_mode mode;
	int retention;
	const char *export_dir;
	enum ct_compression comp;
	const struct ct_gate_conf *job_gate;   /* passed to the engine (NULL: SR limits) */
	enum ct_gate_policy policy;
	long long wait_timeout;
	struct ct_watchset ws;
	bool ws_init;
	struct ct_watch *w;
	struct ct_model *m;
	struct ct_chain_report rep;   /* the pool judged, brought up to date before each gate */
	struct ct_xapi *x;
	struct ct_run rec;         /* history, lock, cancel */
	struct sel_vm *vms;
	int n_vms;
	int idx;                   /* 1-based VM in progress, 0 none */
	struct sel_vm *cur;
	int n_ok, n_skipped, n_failed;
	bool interrupted;
	bool tick;                 /* the next emit is a transient progress update */
};

/* What one VM's item ends with. */
struct item {
	int64_t id;
	enum ct_run_status status;
	char msg[1024];
	char snap_uuid[64];
	char *snap_ref;
	int64_t bytes;
	int64_t export_ms;
	int n_chunks;
	struct ct_err err;
	bool has_err;
	char **reasons;
	int n_reasons;
	char *chain_json;
	bool forced;
	bool snap_removed;         /* export mode: removed after the verified export */
	char export_path[1024];
};

/* ---- small helpers ------------------------------------------------------------------------ */

static void emit(struct bk *b, const char *step, double pct, enum ct_backup_level lvl,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void emit(struct bk *b, const char *step, double pct, enum ct_backup_level lvl,
		 const char *fmt, ...)
{
	struct ct_backup_progress p;
	char msg[1536];
	va_list ap;

	if (!b->o->progress)
		return;
	va_start(ap, fmt);
	ct_run_vtext(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memset(&p, 0, sizeof(p));
	p.run_id = b->rec.id;
	p.vm_index = b->cur ? b->idx : 0;
	p.n_vms = b->n_vms;
	p.vm_name = b->cur ? b->cur->name : NULL;
	p.vm_uuid = b->cur ? b->cur->uuid : NULL;
	p.step = step;
	p.percent = pct;
	p.message = msg;
	p.level = lvl;
	p.tick = b->tick;
	b->o->progress(b->o->ctx, &p);
}

static void db_warn(struct bk *b, const struct ct_err *e)
{
	emit(b, "record", -1, CT_BACKUP_WARN, "warning: the job history could not be updated: %s", e->msg);
}

/* The recorder's report of a history write that failed: the run goes on. */
static void on_record_error(void *ctx, const struct ct_err *e)
{
	db_warn(ctx, e);
}

static void free_strv(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void item_fail(struct item *it, const struct ct_err *e, const char *step, const char *vm)
{
	it->status = e->code == CT_E_CANCEL ? CT_RUN_INTERRUPTED : CT_RUN_FAILURE;
	it->err = *e;
	it->has_err = e->code == CT_E_XAPI;
	if (it->status == CT_RUN_INTERRUPTED)
		snprintf(it->msg, sizeof(it->msg), "interrupted during the %s step of VM '%.200s': %.700s",
			 step, vm, e->msg);
	else
		snprintf(it->msg, sizeof(it->msg), "the %s step of VM '%.200s' failed: %.700s", step, vm,
			 e->msg);
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* ---- lock -------------------------------------------------------------------------------- */

char *ct_backup_lock_path(const char *state_dir, const char *job)
{
	return ct_run_lock_path(state_dir, "backup", job);
}

/* ---- model access ------------------------------------------------------------------------ */

static bool is_real_vm(const struct ct_vm *vm)
{
	return !vm->is_a_template && !vm->is_a_snapshot && !vm->is_control_domain;
}

static bool selector_matches(const char *sel, const struct ct_vm *vm)
{
	if (!strncmp(sel, "tag:", 4))
		return ct_strset_has(&vm->tags, sel + 4);
	if (vm->o.uuid && !strcasecmp(sel, vm->o.uuid))
		return true;
	return vm->name_label && ct_glob_match(sel, vm->name_label);
}

static int cmp_sel(const void *a, const void *b)
{
	const struct sel_vm *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->uuid, y->uuid);
}

static int select_vms(struct bk *b, const char *const *sels, int n_sels, struct ct_err *e)
{
	struct ct_sb sb;
	size_t n;
	int cap = 0;

	ct_model_lock(b->m);
	n = ct_model_count(b->m, CT_VM);
	for (size_t i = 0; i < n; i++) {
		const struct ct_vm *vm = (const struct ct_vm *)ct_model_at(b->m, CT_VM, i);
		char name[256];

		if (!is_real_vm(vm) || !vm->o.uuid)
			continue;
		for (int k = 0; k < n_sels; k++) {
			if (!selector_matches(sels[k], vm))
				continue;
			if (b->n_vms == cap) {
				cap = cap ? cap * 2 : 8;
				b->vms = ct_xrealloc(b->vms, (size_t)cap * sizeof(*b->vms));
			}
			ct_sanitize(vm->name_label ? vm->name_label : "", name, sizeof(name));
			b->vms[b->n_vms].ref = ct_xstrdup(vm->o.ref);
			b->vms[b->n_vms].uuid = ct_xstrdup(vm->o.uuid);
			b->vms[b->n_vms].name = ct_xstrdup(name);
			b->n_vms++;
			break;
		}
	}
	ct_model_unlock(b->m);
	if (b->n_vms > 0) {
		qsort(b->vms, (size_t)b->n_vms, sizeof(*b->vms), cmp_sel);
		return 0;
	}
	ct_sb_init(&sb);
	for (int k = 0; k < n_sels; k++)
		ct_sb_addf(&sb, "%s'%s'", k ? ", " : "", sels[k]);
	ct_err_set(e, CT_E_USAGE, "no VM of pool '%s' matches %s (name glob, uuid or tag:NAME; snapshots, templates and control domains are never selected); `chaintop tree --pool %s` lists the VMs",
		   b->pc->name, sb.buf, b->pc->name);
	ct_sb_release(&sb);
	return -1;
}

static char *gate_chain_json(const struct ct_gate_result *g)
{
	json_t *a = json_array();
	char *s;

	for (int i = 0; i < g->n_disks; i++) {
		const struct ct_gate_disk *d = &g->disks[i];
		json_t *o = json_object();
		char buf[1024];

		ct_sanitize(d->vbd && d->vbd->device ? d->vbd->device : "", buf, sizeof(buf));
		json_object_set_new(o, "device", json_string(buf));
		ct_sanitize(d->vdi && d->vdi->name_label ? d->vdi->name_label : "", buf, sizeof(buf));
		json_object_set_new(o, "vdi", json_string(buf));
		ct_sanitize(d->vdi && d->vdi->o.uuid ? d->vdi->o.uuid : "", buf, sizeof(buf));
		json_object_set_new(o, "vdi_uuid", json_string(buf));
		json_object_set_new(o, "depth", json_integer(d->depth));
		json_object_set_new(o, "stacked", json_integer(d->stacked));
		json_object_set_new(o, "pending", json_integer(d->pending));
		ct_sanitize(d->chain ? d->chain : "", buf, sizeof(buf));
		json_object_set_new(o, "chain", json_string(buf));
		json_array_append_new(a, o);
	}
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

/* Judge the gate for the VM in progress; reasons and chain copied out. Returns 1 ok,
 * 0 refused, -1 the VM is gone. */
static int judge(struct bk *b, char ***reasons, int *n_reasons, char **chain_json)
{
	struct ct_gate_result g;
	const struct ct_vm *vm;
	time_t now;
	bool ok;

	*reasons = NULL;
	*n_reasons = 0;
	if (chain_json)
		*chain_json = NULL;
	ct_model_lock(b->m);
	vm = ct_model_vm(b->m, b->cur->ref);
	if (!vm) {
		ct_model_unlock(b->m);
		return -1;
	}
	memset(&g, 0, sizeof(g));
	now = time(NULL);
	/* one judging of the pool serves every VM until the model changes (a snapshot, a
	 * merge): refresh re-judges only what moved */
	ct_chain_refresh(b->m, b->cfg, b->pc, now, NULL, &b->rep);
	ok = ct_chain_gate_vm(&b->rep, b->m, b->cfg, b->pc, b->job_gate, vm, now, &g);
	if (g.n_reasons > 0) {
		*reasons = ct_xcalloc((size_t)g.n_reasons, sizeof(char *));
		for (int i = 0; i < g.n_reasons; i++)
			(*reasons)[i] = ct_xstrdup(g.reasons[i]);
		*n_reasons = g.n_reasons;
	}
	if (chain_json)
		*chain_json = gate_chain_json(&g);
	ct_gate_result_release(&g);
	ct_model_unlock(b->m);
	return ok ? 1 : 0;
}

static uint64_t model_generation(struct bk *b)
{
	uint64_t g;

	ct_model_lock(b->m);
	g = b->m->generation;
	ct_model_unlock(b->m);
	return g;
}

/* Wait for a change of the model (or timeout_ms). Own watchset: its wake pipe. Shared
 * watcher (console): an event.from on our own session for the classes that move a verdict;
 * the console's watcher applies the same changes to the shared model. */
static void wait_change(struct bk *b, char **token, int timeout_ms)
{
	if (!b->o->shared) {
		struct pollfd p = { .fd = ct_watchset_wake_fd(&b->ws), .events = POLLIN };

		if (poll(&p, 1, timeout_ms) > 0)
			ct_watchset_drain(&b->ws);
		return;
	} else {
		static const char *const classes[] = { "SR", "VDI", "VBD", "task", "message" };
		struct ct_event_batch batch;
		struct ct_err e;

		ct_err_init(&e);
		if (ct_xapi_event_from(b->x, classes, 5, *token ? *token : "",
				       timeout_ms / 1000.0, &batch, &e) < 0) {
			poll(NULL, 0, timeout_ms);   /* the error repeats; do not spin */
			return;
		}
		free(*token);
		*token = batch.token;
		batch.token = NULL;
		ct_event_batch_release(&batch);
	}
}

/* A token marking "now" for event.from in shared mode, so the first call does not return
 * every record of the watched classes. NULL when it cannot be had ("" is used then). */
static char *now_token(struct bk *b)
{
	struct ct_pool *p;
	struct ct_err e;
	char *ref = NULL, *tok = NULL;

	if (!b->o->shared)
		return NULL;
	ct_model_lock(b->m);
	p = ct_model_pool(b->m);
	if (p)
		ref = ct_xstrdup(p->o.ref);
	ct_model_unlock(b->m);
	ct_err_init(&e);
	if (ref && ct_xapi_event_inject(b->x, CT_POOL, ref, &tok, &e) < 0)
		tok = NULL;
	free(ref);
	return tok;
}

/* Fresh data for the last check before the snapshot: inject an event on the pool object and
 * wait until the watcher has applied a batch after it. */
static void barrier(struct bk *b)
{
	struct ct_pool *p;
	struct ct_err e;
	char *pool_ref = NULL, *tok = NULL;
	uint64_t g0;
	int64_t end;

	ct_model_lock(b->m);
	g0 = b->m->generation;
	p = ct_model_pool(b->m);
	if (p)
		pool_ref = ct_xstrdup(p->o.ref);
	ct_model_unlock(b->m);
	if (!pool_ref)
		return;
	ct_err_init(&e);
	if (ct_xapi_event_inject(b->x, CT_POOL, pool_ref, &tok, &e) < 0)
		goto out;
	end = ct_now_ms() + BARRIER_TIMEOUT_MS;
	while (ct_now_ms() < end && model_generation(b) == g0 && !ct_run_cancelled(&b->rec)) {
		if (b->o->shared)
			poll(NULL, 0, 20);
		else
			wait_change(b, NULL, 200);
	}
out:
	free(tok);
	free(pool_ref);
}

/* ---- XAPI helpers ------------------------------------------------------------------------ */

static int call1(struct bk *b, const char *method, const char *a1, char **out, struct ct_err *e)
{
	struct ct_xarg args[1] = { CT_XSTR(a1) };

	return ct_xapi_call(b->x, method, args, 1, out, e);
}

/* Follow a task to its end with event.from on task/<ref>. On success *out holds the task
 * record (owned). A failed or cancelled task fills e from its error_info. */
static int follow_task(struct bk *b, const char *task, const char *step, long long timeout_s,
		       struct ct_task **out, struct ct_err *e)
{
	char *cls = ct_xasprintf("task/%s", task);
	const char *classes[1] = { cls };
	char *token = ct_xstrdup("");
	int64_t deadline = ct_now_ms() + timeout_s * 1000;
	int last_pct = -1, rc = -1;

	*out = NULL;
	for (;;) {
		struct ct_event_batch batch;
		struct ct_task *t = NULL;

		if (ct_run_cancelled(&b->rec)) {
			ct_err_set(e, CT_E_CANCEL, "stopped while the %s task was running", step);
			break;
		}
		if (ct_now_ms() > deadline) {
			ct_err_set(e, CT_E_TIMEOUT, "the %s task %s did not finish within %lld s; see the task list in XenCenter or Xen Orchestra",
				   step, task, timeout_s);
			break;
		}
		if (ct_xapi_event_from(b->x, classes, 1, token, 1.0, &batch, e) < 0)
			break;
		for (size_t i = 0; i < batch.n; i++) {
			struct ct_event *ev = &batch.ev[i];

			if (ev->cls != CT_TASK || strcmp(ev->ref, task) != 0)
				continue;
			if (ev->op == CT_EV_DEL) {
				ct_err_set(e, CT_E_STATE, "the %s task %s disappeared before it finished", step, task);
				ct_event_batch_release(&batch);
				goto out;
			}
			if (ev->snapshot) {
				if (t)
					ct_obj_free(&t->o);
				t = (struct ct_task *)ev->snapshot;
				ev->snapshot = NULL;
			}
		}
		free(token);
		token = batch.token;
		batch.token = NULL;
		ct_event_batch_release(&batch);
		if (!t)
			continue;
		if (t->status == CT_TASK_PENDING || t->status == CT_TASK_CANCELLING) {
			int pct = (int)(t->progress * 100.0);

			if (pct / 5 != last_pct / 5 || last_pct < 0) {
				last_pct = pct;
				b->tick = true;
				emit(b, step, pct, CT_BACKUP_INFO, "%s %d%%", step, pct);
				b->tick = false;
			}
			ct_obj_free(&t->o);
			continue;
		}
		if (t->status == CT_TASK_SUCCESS) {
			*out = t;
			rc = 0;
		} else if (t->status == CT_TASK_CANCELLED) {
			ct_err_set(e, CT_E_CANCEL, "the %s task %s was cancelled", step, task);
			ct_obj_free(&t->o);
		} else {
			ct_err_set_xapi(e, (const char *const *)t->error_info.v, t->error_info.n);
			ct_obj_free(&t->o);
		}
		break;
	}
out:
	free(token);
	free(cls);
	return rc;
}

static void task_destroy(struct bk *b, const char *task)
{
	struct ct_err e;

	ct_err_init(&e);
	call1(b, "task.destroy", task, NULL, &e);
}

static int set_tag(struct bk *b, const char *cls, const char *ref, const char *k, const char *v,
		   struct ct_err *e)
{
	char m_rm[64], m_add[64];
	struct ct_xarg rm[1] = { CT_XSTR(ref) }, add[3] = { CT_XSTR(ref), CT_XSTR(k), CT_XSTR(v) };
	struct ct_xarg rm2[2] = { rm[0], CT_XSTR(k) };

	snprintf(m_rm, sizeof(m_rm), "%s.remove_from_other_config", cls);
	snprintf(m_add, sizeof(m_add), "%s.add_to_other_config", cls);
	if (ct_xapi_call(b->x, m_rm, rm2, 2, NULL, e) < 0)
		return -1;
	return ct_xapi_call(b->x, m_add, add, 3, NULL, e);
}

/* Disks (VDI refs) of a VM record, from its VBDs of type Disk (plus a suspend image). A VBD
 * gone meanwhile is skipped. */
static int vm_disks_x(struct ct_xapi *x, const struct ct_vm *vm, struct ct_strset *vdis,
		      struct ct_err *e)
{
	for (size_t i = 0; i < vm->vbds.n; i++) {
		struct ct_obj *o = NULL;
		const struct ct_vbd *vbd;

		if (ct_xapi_get_record(x, CT_VBD, vm->vbds.v[i], &o, e) < 0) {
			if (ct_err_is(e, "HANDLE_INVALID"))
				continue;
			return -1;
		}
		vbd = (const struct ct_vbd *)o;
		if (vbd->type == CT_VBD_DISK && !ct_ref_is_null(vbd->vdi))
			ct_strset_add(vdis, vbd->vdi);
		ct_obj_free(o);
	}
	if (!ct_ref_is_null(vm->suspend_vdi))
		ct_strset_add(vdis, vm->suspend_vdi);
	return 0;
}

static int vm_disks(struct bk *b, const struct ct_vm *vm, struct ct_strset *vdis, struct ct_err *e)
{
	return vm_disks_x(b->x, vm, vdis, e);
}

/* VM.destroy of a snapshot, then VDI.destroy of each of its disks no other VM uses. A
 * sentence of what was done goes to note. HANDLE_INVALID means someone removed it first: the
 * result wanted, not a failure. */
static int destroy_snapshot_x(struct ct_xapi *x, const char *ref, char *note, size_t note_len,
			      struct ct_err *e)
{
	struct ct_obj *o = NULL;
	struct ct_vm *vm;
	struct ct_strset vdis = { 0 };
	struct ct_sb kept;
	int rc = -1, n_destroyed = 0, n_gone = 0;
	struct ct_xarg a1[1] = { CT_XSTR(ref) };

	ct_sb_init(&kept);
	if (ct_xapi_get_record(x, CT_VM, ref, &o, e) < 0) {
		if (ct_err_is(e, "HANDLE_INVALID")) {
			snprintf(note, note_len, "snapshot %s was already gone", ref);
			ct_err_init(e);
			rc = 0;
		}
		goto out;
	}
	vm = (struct ct_vm *)o;
	if (!vm->is_a_snapshot) {
		ct_err_set(e, CT_E_STATE, "VM %s is not a snapshot; chaintop only removes snapshots", vm->o.uuid);
		goto out;
	}
	if (vm_disks_x(x, vm, &vdis, e) < 0)
		goto out;
	if (ct_xapi_call(x, "VM.destroy", a1, 1, NULL, e) < 0) {
		if (!ct_err_is(e, "HANDLE_INVALID"))
			goto out;
		ct_err_init(e);
	}
	for (size_t i = 0; i < vdis.n; i++) {
		struct ct_strset users = { 0 };
		struct ct_xarg a[1] = { CT_XSTR(vdis.v[i]) };

		if (ct_xapi_call_set(x, "VDI.get_VBDs", a, 1, &users, e) < 0) {
			if (!ct_err_is(e, "HANDLE_INVALID"))
				goto out;
			ct_err_init(e);
			n_gone++;
			continue;
		}
		if (users.n > 0) {
			ct_sb_addf(&kept, "%s%s", kept.len ? ", " : "", vdis.v[i]);
			ct_strset_release(&users);
			continue;
		}
		ct_strset_release(&users);
		if (ct_xapi_call(x, "VDI.destroy", a, 1, NULL, e) < 0) {
			if (!ct_err_is(e, "HANDLE_INVALID"))
				goto out;
			ct_err_init(e);
			n_gone++;
			continue;
		}
		n_destroyed++;
	}
	snprintf(note, note_len, "removed snapshot VM %s and %d of its disks%s%s%s%s", vm->o.uuid,
		 n_destroyed, n_gone ? " (others were already gone)" : "",
		 kept.len ? " (kept disks another VM uses: " : "", kept.buf, kept.len ? ")" : "");
	rc = 0;
out:
	if (rc < 0)
		ct_err_prefix(e, "removing snapshot %s", o ? o->uuid : ref);
	ct_sb_release(&kept);
	ct_strset_release(&vdis);
	ct_obj_free(o);
	return rc;
}

static int destroy_snapshot(struct bk *b, const char *ref, char *note, size_t note_len,
			    struct ct_err *e)
{
	return destroy_snapshot_x(b->x, ref, note, note_len, e);
}

/* ---- snapshots recorded before the call (intents) --------------------------------------- */

struct pending_ctx {
	int n;
};

static void count_task(void *ctx, struct ct_obj *o)
{
	((struct pending_ctx *)ctx)->n++;
	ct_obj_free(o);
}

static void resolve_note(ct_backup_progress_cb cb, void *ctx, const struct ct_intent *t,
			 enum ct_backup_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void resolve_note(ct_backup_progress_cb cb, void *ctx, const struct ct_intent *t,
			 enum ct_backup_level lvl, const char *fmt, ...)
{
	struct ct_backup_progress p;
	char raw[1536], msg[1536], name[256];
	va_list ap;

	if (!cb)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	ct_sanitize(raw, msg, sizeof(msg));
	ct_sanitize(t->vm_name ? t->vm_name : "", name, sizeof(name));
	memset(&p, 0, sizeof(p));
	p.vm_name = name;
	p.vm_uuid = t->vm_uuid;
	p.step = "cleanup";
	p.percent = -1;
	p.message = msg;
	p.level = lvl;
	cb(ctx, &p);
}

/* One intent: the snapshot named t->name of VM t->vm_uuid, by name and snapshot_of. */
static int resolve_one(struct ct_xapi *x, struct ct_jobstore *js, const struct ct_intent *t,
		       bool dry_run, ct_backup_progress_cb cb, void *ctx, struct ct_err *e)
{
	struct ct_strset named = { 0 };
	struct ct_xarg an[1] = { CT_XSTR(t->name) }, au[1] = { CT_XSTR(t->vm_uuid) };
	char *vm_ref = NULL;
	struct ct_err ve;
	struct ct_sb did;
	int found = 0, rc = -1;
	int64_t st;

	ct_sb_init(&did);
	ct_err_init(&ve);
	if (ct_xapi_call(x, "VM.get_by_uuid", au, 1, &vm_ref, &ve) < 0 && !ct_err_is(&ve, "UUID_INVALID")) {
		*e = ve;
		goto out;
	}
	if (ct_xapi_call_set(x, "VM.get_by_name_label", an, 1, &named, e) < 0)
		goto out;
	for (size_t i = 0; i < named.n; i++) {
		struct ct_obj *o = NULL;
		const struct ct_vm *s;
		char note[1024];
		struct ct_err de;

		if (ct_xapi_get_record(x, CT_VM, named.v[i], &o, e) < 0) {
			if (ct_err_is(e, "HANDLE_INVALID"))
				continue;
			goto out;
		}
		s = (const struct ct_vm *)o;
		if (!s->is_a_snapshot || (vm_ref && (!s->snapshot_of || strcmp(s->snapshot_of, vm_ref) != 0))) {
			ct_obj_free(o);
			continue;
		}
		found++;
		if (dry_run) {
			ct_sb_addf(&did, "%swould remove snapshot '%s' (%s) left by killed run %lld", did.len ? "; " : "",
				   t->name, s->o.uuid, (long long)t->run);
			ct_obj_free(o);
			continue;
		}
		ct_err_init(&de);
		if (destroy_snapshot_x(x, named.v[i], note, sizeof(note), &de) < 0) {
			ct_sb_addf(&did, "%scould not remove snapshot '%s' (%s): %s", did.len ? "; " : "", t->name,
				   s->o.uuid, de.msg);
			*e = de;
			ct_obj_free(o);
			resolve_note(cb, ctx, t, CT_BACKUP_WARN, "%s", did.buf);
			goto out;
		}
		ct_sb_addf(&did, "%sremoved snapshot '%s' (%s) that killed run %lld made but never recorded: %s",
			   did.len ? "; " : "", t->name, s->o.uuid, (long long)t->run, note);
		ct_obj_free(o);
	}
	if (!found) {
		struct pending_ctx pc = { 0 };

		/* the call may still be running in xapi: look again next time */
		if (ct_xapi_get_all_records(x, CT_TASK,
					    "field \"name_label\" = \"Async.VM.snapshot\" and field \"status\" = \"pending\"",
					    count_task, &pc, e) < 0)
			goto out;
		if (pc.n > 0) {
			resolve_note(cb, ctx, t, CT_BACKUP_INFO,
				     "snapshot '%s' of killed run %lld is not there yet and a VM.snapshot task is still running; the next run or prune looks again",
				     t->name, (long long)t->run);
			rc = 0;
			goto out;
		}
		/* a call the dead process sent may not have reached its task yet (a busy xapi
		 * queues requests): "none" only once it is old enough */
		if (time(NULL) - t->when < CT_BACKUP_INTENT_GRACE_S) {
			resolve_note(cb, ctx, t, CT_BACKUP_INFO,
				     "snapshot '%s' of killed run %lld is not there yet and the call was sent %llds ago, so xapi may still make it; the next run or prune looks again (after %d minutes it is recorded as never made)",
				     t->name, (long long)t->run, (long long)(time(NULL) - t->when),
				     CT_BACKUP_INTENT_GRACE_S / 60);
			rc = 0;
			goto out;
		}
		ct_sb_addf(&did, "%s snapshot '%s' of killed run %lld: none exists, the call never completed",
			   dry_run ? "would record: no" : "no", t->name, (long long)t->run);
	}
	resolve_note(cb, ctx, t, CT_BACKUP_INFO, "%s", did.buf);
	if (!dry_run && js) {
		st = ct_jobstore_step_begin(js, t->item, "recover", e);
		if (st > 0)
			ct_jobstore_step_end(js, st, CT_RUN_SUCCESS, did.buf, e);
		if (ct_jobstore_intent_done(js, t->item, e) < 0)
			goto out;
	}
	rc = 0;
out:
	ct_sb_release(&did);
	ct_strset_release(&named);
	free(vm_ref);
	return rc;
}

/* What killed runs left, as the history lists it, each resolved in turn: the first error is
 * returned after every one was tried. */
typedef int (*leftover_list_fn)(struct ct_jobstore *js, const char *pool, const char *vm_uuid,
				struct ct_intent **out, int *n, struct ct_err *e);
typedef int (*leftover_resolve_fn)(struct ct_xapi *x, struct ct_jobstore *js,
				   const struct ct_intent *t, bool dry_run, ct_backup_progress_cb cb,
				   void *ctx, struct ct_err *e);

static int resolve_leftovers(leftover_list_fn list, leftover_resolve_fn resolve,
			     struct ct_xapi *x, struct ct_jobstore *js, const char *pool,
			     const char *vm_uuid, bool dry_run, ct_backup_progress_cb cb, void *ctx,
			     int *n_resolved, struct ct_err *e)
{
	struct ct_intent *t = NULL;
	int n = 0, rc = 0;

	if (n_resolved)
		*n_resolved = 0;
	if (list(js, pool, vm_uuid, &t, &n, e) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		struct ct_err ie;

		ct_err_init(&ie);
		if (resolve(x, js, &t[i], dry_run, cb, ctx, &ie) < 0) {
			if (rc == 0)
				*e = ie;
			rc = -1;
		} else if (n_resolved) {
			(*n_resolved)++;
		}
	}
	ct_intents_release(t, n);
	return rc;
}

int ct_backup_resolve_intents(struct ct_xapi *x, struct ct_jobstore *js, const char *pool,
			      const char *vm_uuid, bool dry_run, ct_backup_progress_cb cb, void *ctx,
			      int *n_resolved, struct ct_err *e)
{
	return resolve_leftovers(ct_jobstore_list_intents, resolve_one, x, js, pool, vm_uuid,
				 dry_run, cb, ctx, n_resolved, e);
}

/* ---- export tasks of killed runs ------------------------------------------------------- */

char *ct_backup_export_task_label(const char *vm_uuid, const char *job, int64_t run)
{
	return ct_xasprintf("chaintop export of VM %s (job %s, run %lld)", vm_uuid ? vm_uuid : "",
			    job ? job : "", (long long)run);
}

char *ct_backup_export_task_desc(const char *job, int64_t run, int64_t item)
{
	return ct_xasprintf("chaintop backup export: job '%s', run %lld, item %lld; chaintop destroys this task when the export ends, or the next run or 'chaintop prune' does after a killed run",
			    job ? job : "", (long long)run, (long long)item);
}

bool ct_backup_export_task_is(const struct ct_intent *t, const char *label, const char *desc)
{
	char *l = ct_backup_export_task_label(t->vm_uuid, t->job, t->run);
	char *d = ct_backup_export_task_desc(t->job, t->run, t->item);
	bool same = label && desc && !strcmp(l, label) && !strcmp(d, desc);

	free(l);
	free(d);
	return same;
}

/* One recorded task (t->name is its ref): destroy it when it is still the one we made. */
static int resolve_task(struct ct_xapi *x, struct ct_jobstore *js, const struct ct_intent *t,
			bool dry_run, ct_backup_progress_cb cb, void *ctx, struct ct_err *e)
{
	struct ct_obj *o = NULL;
	struct ct_err ge;
	char did[1024];
	int rc = -1;
	int64_t st;

	ct_err_init(&ge);
	if (ct_xapi_get_record(x, CT_TASK, t->name, &o, &ge) < 0) {
		if (!ct_err_is(&ge, "HANDLE_INVALID")) {
			*e = ge;
			goto out;
		}
		snprintf(did, sizeof(did), "%sexport task %s of killed run %lld: already gone",
			 dry_run ? "would record: " : "", t->name, (long long)t->run);
	} else {
		const struct ct_task *k = (const struct ct_task *)o;

		if (!ct_backup_export_task_is(t, k->name_label, k->name_description)) {
			/* refs are never reused, but a task that does not say it is ours is left alone */
			snprintf(did, sizeof(did), "%stask %s recorded by killed run %lld no longer carries chaintop's label and description: left alone",
				 dry_run ? "would record: " : "", t->name, (long long)t->run);
		} else if (dry_run) {
			snprintf(did, sizeof(did), "would destroy export task '%s' (%s) left by killed run %lld",
				 k->name_label, o->uuid, (long long)t->run);
		} else {
			struct ct_xarg a[1] = { CT_XSTR(t->name) };

			if (ct_xapi_call(x, "task.destroy", a, 1, NULL, &ge) < 0 &&
			    !ct_err_is(&ge, "HANDLE_INVALID")) {
				resolve_note(cb, ctx, t, CT_BACKUP_WARN,
					     "could not destroy export task '%s' (%s) of killed run %lld: %s",
					     k->name_label, o->uuid, (long long)t->run, ge.msg);
				*e = ge;
				goto out;
			}
			/* xapi's task.destroy of a pending task only marks it: it goes when it
			 * completes (xapi_task.ml destroy, db_gc_util.ml timeout_tasks) */
			snprintf(did, sizeof(did), "%s export task '%s' (%s) that killed run %lld left%s",
				 k->status == CT_TASK_PENDING ? "marked for destruction the" : "destroyed the",
				 k->name_label, o->uuid, (long long)t->run,
				 k->status == CT_TASK_PENDING ? " (still pending: xapi removes it once it ends, or after 24 hours pending)" : "");
		}
	}
	resolve_note(cb, ctx, t, CT_BACKUP_INFO, "%s", did);
	if (!dry_run && js) {
		st = ct_jobstore_step_begin(js, t->item, "recover", e);
		if (st > 0)
			ct_jobstore_step_end(js, st, CT_RUN_SUCCESS, did, e);
		if (ct_jobstore_item_export_task(js, t->item, NULL, e) < 0)
			goto out;
	}
	rc = 0;
out:
	ct_obj_free(o);
	return rc;
}

int ct_backup_resolve_tasks(struct ct_xapi *x, struct ct_jobstore *js, const char *pool,
			    const char *vm_uuid, bool dry_run, ct_backup_progress_cb cb, void *ctx,
			    int *n_resolved, struct ct_err *e)
{
	return resolve_leftovers(ct_jobstore_list_export_tasks, resolve_task, x, js, pool,
				 vm_uuid, dry_run, cb, ctx, n_resolved, e);
}

/* ---- cleanup of half-made snapshots of interrupted runs ----------------------------------- */

struct tagged {
	char *ref, *uuid, *name;
	int64_t run;
	time_t when;
};

static void tagged_release(struct tagged *t, int n)
{
	for (int i = 0; i < n; i++) {
		free(t[i].ref);
		free(t[i].uuid);
		free(t[i].name);
	}
	free(t);
}

/* Snapshots of the VM in progress carrying chaintop tags of this job (job tag) or any run
 * tag when any_run; from the model. */
static int tagged_snapshots(struct bk *b, bool any_run, struct tagged **out)
{
	const struct ct_vm *vm;
	int n = 0;

	*out = NULL;
	ct_model_lock(b->m);
	vm = ct_model_vm(b->m, b->cur->ref);
	if (vm) {
		*out = ct_xcalloc(vm->snapshots.n + 1, sizeof(**out));
		for (size_t i = 0; i < vm->snapshots.n; i++) {
			const struct ct_vm *s = ct_model_vm(b->m, vm->snapshots.v[i]);
			const char *job, *run, *svm, *when;
			char name[256];

			if (!s || !s->is_a_snapshot)
				continue;
			job = ct_map_get(&s->other_config, TAG_JOB);
			run = ct_map_get(&s->other_config, TAG_RUN);
			svm = ct_map_get(&s->other_config, TAG_VM);
			when = ct_map_get(&s->other_config, TAG_TIME);
			if (any_run ? !run : !(job && !strcmp(job, b->job) && svm && !strcmp(svm, b->cur->uuid)))
				continue;
			ct_sanitize(s->name_label ? s->name_label : "", name, sizeof(name));
			(*out)[n].ref = ct_xstrdup(s->o.ref);
			(*out)[n].uuid = ct_xstrdup(s->o.uuid);
			(*out)[n].name = ct_xstrdup(name);
			(*out)[n].run = run ? strtoll(run, NULL, 10) : 0;
			if (!when || ct_parse_xapi_time(when, &(*out)[n].when) < 0)
				(*out)[n].when = s->snapshot_time;
			n++;
		}
	}
	ct_model_unlock(b->m);
	return n;
}

/* True when run `run` of this job was interrupted while it worked on this VM. */
static bool half_made(struct bk *b, int64_t run)
{
	struct ct_run_rec r;
	struct ct_err e;
	bool hm = false;

	if (!b->rec.js || run <= 0 || run == b->rec.id)
		return false;
	ct_err_init(&e);
	if (ct_jobstore_get_run(b->rec.js, run, &r, &e) < 0)
		return false;
	if (r.kind && !strcmp(r.kind, "backup") && r.job && !strcmp(r.job, b->job) &&
	    r.status == CT_RUN_INTERRUPTED)
		for (int i = 0; i < r.n_items; i++)
			if (r.items[i].obj_uuid && !strcmp(r.items[i].obj_uuid, b->cur->uuid) &&
			    r.items[i].status == CT_RUN_INTERRUPTED)
				hm = true;
	ct_run_rec_release(&r);
	return hm;
}

static void on_resolve(void *ctx, const struct ct_backup_progress *p)
{
	struct bk *b = ctx;

	emit(b, "cleanup", -1, p->level, "%s", p->message);
}

static void cleanup_half_made(struct bk *b, struct item *it)
{
	struct tagged *t;
	int n, n_resolved = 0;
	struct ct_err re;
	int64_t rst = 0;

	ct_err_init(&re);
	if (b->rec.js) {
		struct ct_intent *iv = NULL;
		int ni = 0;

		/* a step of this item only when there is something to resolve */
		if (ct_jobstore_list_intents(b->rec.js, b->pc->name, b->cur->uuid, &iv, &ni, &re) == 0 && ni > 0 &&
		    !b->o->dry_run)
			rst = ct_run_step_begin(&b->rec, it->id, "cleanup");
		ct_intents_release(iv, ni);
		ct_err_init(&re);
		if (ct_backup_resolve_tasks(b->x, b->rec.js, b->pc->name, b->cur->uuid, b->o->dry_run,
					    on_resolve, b, NULL, &re) < 0)
			emit(b, "cleanup", -1, CT_BACKUP_WARN, "could not destroy an export task a killed run left: %s", re.msg);
		ct_err_init(&re);
		if (ct_backup_resolve_intents(b->x, b->rec.js, b->pc->name, b->cur->uuid, b->o->dry_run,
					      on_resolve, b, &n_resolved, &re) < 0) {
			emit(b, "cleanup", -1, CT_BACKUP_WARN, "could not resolve a snapshot a killed run left: %s", re.msg);
			ct_run_step_endf(&b->rec, rst, CT_RUN_FAILURE, "%s", re.msg);
		} else {
			ct_run_step_endf(&b->rec, rst, CT_RUN_SUCCESS, "resolved %d snapshot%s recorded by killed runs (see their \"recover\" steps)",
				 n_resolved, n_resolved == 1 ? "" : "s");
		}
	}
	n = tagged_snapshots(b, true, &t);

	for (int i = 0; i < n; i++) {
		char note[1024];
		struct ct_err e;
		int64_t st;

		if (!half_made(b, t[i].run))
			continue;
		if (b->o->dry_run) {
			emit(b, "cleanup", -1, CT_BACKUP_INFO, "would remove half-made snapshot '%s' (%s) of interrupted run %lld",
			     t[i].name, t[i].uuid, (long long)t[i].run);
			continue;
		}
		st = ct_run_step_begin(&b->rec, it->id, "cleanup");
		ct_err_init(&e);
		if (destroy_snapshot(b, t[i].ref, note, sizeof(note), &e) < 0) {
			emit(b, "cleanup", -1, CT_BACKUP_WARN, "could not remove half-made snapshot '%s' of interrupted run %lld: %s",
			     t[i].name, (long long)t[i].run, e.msg);
			ct_run_step_endf(&b->rec, st, CT_RUN_FAILURE, "half-made snapshot '%s' (%s) of interrupted run %lld: %s",
				 t[i].name, t[i].uuid, (long long)t[i].run, e.msg);
			continue;
		}
		emit(b, "cleanup", -1, CT_BACKUP_INFO, "removed half-made snapshot '%s' (%s) of interrupted run %lld",
		     t[i].name, t[i].uuid, (long long)t[i].run);
		ct_run_step_endf(&b->rec, st, CT_RUN_SUCCESS, "half-made snapshot '%s' of interrupted run %lld: %s",
			 t[i].name, (long long)t[i].run, note);
	}
	tagged_release(t, n);
}

/* ---- export ------------------------------------------------------------------------------ */

struct exp_ctx {
	struct bk *b;
	int fd;
	int64_t bytes;
	int64_t last_emit;
	int werr;
	struct ct_xva *xva;        /* verifies the stream as it is written */
	bool bad;                  /* the verifier refused the stream */
	struct ct_err verr;
};

static int exp_write(void *ctx, const void *buf, size_t n)
{
	struct exp_ctx *x = ctx;
	const char *p = buf;
	int64_t now;

	if (ct_run_cancelled(&x->b->rec))
		return 1;
	if (!x->bad && ct_xva_feed(x->xva, buf, n, &x->verr) < 0)
		x->bad = true;     /* keep the file for the message; it is removed at the end */
	while (n > 0) {
		ssize_t w = write(x->fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			x->werr = errno;
			return 1;
		}
		p += w;
		n -= (size_t)w;
		x->bytes += w;
	}
	now = ct_now_ms();
	if (now - x->last_emit >= 500) {
		char sz[32];

		x->last_emit = now;
		ct_format_bytes(x->bytes, sz, sizeof(sz));
		x->b->tick = true;
		emit(x->b, "export", -1, CT_BACKUP_INFO, "export: %s written", sz);
		x->b->tick = false;
	}
	return 0;
}

/* "host:port", "[v6]:port", "v6", "host" -> host part without brackets */
static void host_part(const char *authority, char *out, size_t len)
{
	const char *end;

	if (authority[0] == '[') {
		end = strchr(authority, ']');
		snprintf(out, len, "%.*s", end ? (int)(end - authority - 1) : (int)strlen(authority + 1),
			 authority + 1);
		return;
	}
	end = strchr(authority, ':');
	if (end && strchr(end + 1, ':'))   /* a bare IPv6 literal */
		end = NULL;
	snprintf(out, len, "%.*s", end ? (int)(end - authority) : (int)strlen(authority), authority);
}

/* SHA-256 of the DER of a PEM certificate, as "sha256:AB:..". NULL when it does not parse. */
static char *pem_fingerprint(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	unsigned char md[32];
	unsigned int len = 0;
	struct ct_sb sb;
	char *out = NULL;

	if (cert && X509_digest(cert, EVP_sha256(), md, &len) == 1 && len == 32) {
		ct_sb_init(&sb);
		ct_sb_adds(&sb, "sha256:");
		for (unsigned i = 0; i < len; i++)
			ct_sb_addf(&sb, "%s%02X", i ? ":" : "", md[i]);
		out = ct_sb_detach(&sb);
		ct_sb_release(&sb);
	}
	X509_free(cert);
	BIO_free(bio);
	return out;
}

/* The member's certificate fingerprint as the pinned master lists it: its Certificate record
 * of type host (fingerprint_sha256, or fingerprint on xapi before that field), else the PEM
 * host.get_server_certificate returns. */
static int member_pin(struct bk *b, const char *host_ref, const char *host_name, char **pin,
		      char **source, struct ct_err *e)
{
	struct ct_strset certs = { 0 };
	struct ct_err ce;
	char *pem = NULL;
	int rc = -1;

	ct_err_init(&ce);
	if (ct_xapi_call_set(b->x, "Certificate.get_all", NULL, 0, &certs, &ce) == 0) {
		for (size_t i = 0; i < certs.n && !*pin; i++) {
			char *h = NULL, *type = NULL, *fp = NULL;

			if (call1(b, "Certificate.get_host", certs.v[i], &h, &ce) == 0 && !strcmp(h, host_ref) &&
			    (call1(b, "Certificate.get_type", certs.v[i], &type, &ce) < 0 ||
			     !strcmp(type, "host")) &&
			    (call1(b, "Certificate.get_fingerprint_sha256", certs.v[i], &fp, &ce) == 0 ||
			     call1(b, "Certificate.get_fingerprint", certs.v[i], &fp, &ce) == 0) && fp[0]) {
				*pin = ct_xasprintf("sha256:%s", fp);
				*source = ct_xasprintf("the fingerprint the pool master lists in the Certificate record of host '%s'",
						       host_name);
			}
			free(h);
			free(type);
			free(fp);
		}
	}
	ct_strset_release(&certs);
	if (*pin)
		return 0;
	if (call1(b, "host.get_server_certificate", host_ref, &pem, e) < 0) {
		ct_err_prefix(e, "the pool master has no Certificate record for host '%s' and host.get_server_certificate failed",
			      host_name);
		goto out;
	}
	*pin = pem_fingerprint(pem);
	if (!*pin) {
		ct_err_set(e, CT_E_TLS, "host.get_server_certificate of host '%s' is not a PEM certificate", host_name);
		goto out;
	}
	*source = ct_xasprintf("the fingerprint of the certificate the pool master returns for host '%s' (host.get_server_certificate)",
			       host_name);
	rc = 0;
out:
	free(pem);
	return rc;
}

/* ct_http_redirect_cb: an export redirected to a member. Only the address of a host of this
 * pool is followed; with a pinned master, only with the certificate the master lists for it. */
static int on_redirect(void *ctx, const char *authority, char **pin, char **source, struct ct_err *e)
{
	struct bk *b = ctx;
	char hp[300], *ref = NULL, name[256] = "";
	size_t n;

	*pin = NULL;
	*source = NULL;
	host_part(authority, hp, sizeof(hp));
	ct_model_lock(b->m);
	n = ct_model_count(b->m, CT_HOST);
	for (size_t i = 0; i < n && !ref; i++) {
		const struct ct_host *h = (const struct ct_host *)ct_model_at(b->m, CT_HOST, i);

		if (h->address && (!strcmp(h->address, authority) || !strcmp(h->address, hp))) {
			ref = ct_xstrdup(h->o.ref);
			ct_sanitize(h->name_label ? h->name_label : h->address, name, sizeof(name));
		}
	}
	ct_model_unlock(b->m);
	emit(b, "export", -1, CT_BACKUP_INFO, "the pool master redirected the export to %s%s%s%s",
	     authority, ref ? " (host '" : "", ref ? name : "", ref ? "')" : "");
	if (!ref)
		return ct_err_set(e, CT_E_TLS, "the pool master redirected the export to %s, which is not the address of any host of pool '%s': refused",
				  authority, b->pc->name);
	if (!b->pc->tls.fingerprint) {
		*source = ct_xasprintf("host '%s' verified like the master (%s)", name,
				       b->pc->tls.verify ? "the configured CAs" : "verify = false");
		free(ref);
		return 0;
	}
	if (member_pin(b, ref, name, pin, source, e) < 0) {
		free(ref);
		return -1;
	}
	free(ref);
	return 0;
}

static bool is_stamp_name(const char *n, const char *suffix)
{
	size_t l = strlen(n), sl = strlen(suffix);
	time_t t;
	char stamp[32];

	if (l != 18 + sl || strcmp(n + 18, suffix) != 0)
		return false;
	memcpy(stamp, n, 18);
	stamp[18] = '\0';
	return ct_parse_xapi_time(stamp, &t) == 0;
}

static char *vm_export_dir(struct bk *b)
{
	char name[200];

	ct_run_file_name(b->cur->name, name, sizeof(name));
	return ct_xasprintf("%s/%s-%s", b->export_dir, name, b->cur->uuid);
}

static int do_export(struct bk *b, struct item *it, const char *stamp, struct ct_err *e)
{
	static const char *comp_names[] = {
		[CT_COMPRESS_ZSTD] = "zstd", [CT_COMPRESS_GZIP] = "gzip", [CT_COMPRESS_NONE] = "false",
	};
	struct exp_ctx ctx = { .b = b, .fd = -1 };
	char *dir = vm_export_dir(b), *part = NULL, *final = NULL, *query = NULL, *task = NULL;
	char *hdr_task = NULL, *label = NULL, *desc = NULL;
	struct ct_task *t = NULL;
	struct ct_xva_stats vs;
	struct ct_err te;
	bool created = false;
	int rc = -1, hrc;
	int64_t t0;
	char sz[32];

	ctx.xva = ct_xva_new();
	ct_err_init(&ctx.verr);
	if (ct_mkdir_p(dir, 0750) < 0) {
		ct_err_set(e, CT_E_IO, "cannot create the directory %s: %s; check export_dir and its permissions",
			   dir, strerror(errno));
		goto out;
	}
	part = ct_xasprintf("%s/%s.xva.part", dir, stamp);
	final = ct_xasprintf("%s/%s.xva", dir, stamp);
	/* our own task (as Xen Orchestra's getResource does): a handler called without task_id
	 * destroys the task it made when it returns, so its outcome could not be read */
	label = ct_backup_export_task_label(b->cur->uuid, b->job, b->rec.id);
	desc = ct_backup_export_task_desc(b->job, b->rec.id, it->id);
	{
		struct ct_xarg a[2] = { CT_XSTR(label), CT_XSTR(desc) };

		if (ct_xapi_call(b->x, "task.create", a, 2, &task, e) < 0) {
			ct_err_prefix(e, "creating the export task");
			goto out;
		}
	}
	/* recorded until destroyed: a run killed from here on leaves a task the next run or
	 * prune finds by this ref (and by its label and description), and no other task */
	if (b->rec.js && it->id > 0 && ct_jobstore_item_export_task(b->rec.js, it->id, task, e) < 0) {
		ct_err_prefix(e, "not exporting: the export task could not be recorded first");
		goto out;
	}
	ctx.fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (ctx.fd < 0) {
		ct_err_set(e, CT_E_IO, "cannot create %s: %s; check export_dir", part, strerror(errno));
		goto out;
	}
	created = true;
	/* held while writing: a later run tells a live .part from a dead one by this lock */
	flock(ctx.fd, LOCK_EX | LOCK_NB);
	{
		struct ct_sb q;
		const char *refs[2] = { it->snap_ref, task };

		ct_sb_init(&q);
		for (int k = 0; k < 2; k++) {
			ct_sb_adds(&q, k ? "&task_id=" : "/export?ref=");
			for (const char *c = refs[k]; *c; c++) {
				bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
					     (*c >= '0' && *c <= '9') || *c == ':' || *c == '-' ||
					     *c == '.' || *c == '_';

				if (plain)
					ct_sb_add(&q, c, 1);
				else
					ct_sb_addf(&q, "%%%02X", (unsigned char)*c);
			}
		}
		ct_sb_addf(&q, "&use_compression=%s", comp_names[b->comp]);
		query = ct_sb_detach(&q);
		ct_sb_release(&q);
	}
	ctx.last_emit = ct_now_ms();
	t0 = ct_now_ms();
	hrc = ct_xapi_http_get_redirected(b->x, query, on_redirect, b, exp_write, &ctx, &hdr_task, e);
	it->export_ms = ct_now_ms() - t0;
	if (it->export_ms <= 0)
		it->export_ms = 1;
	if (hrc < 0 && ctx.werr) {
		ct_err_set(e, CT_E_IO, "cannot write %s: %s; check the free space of export_dir", part,
			   strerror(ctx.werr));
	} else if (hrc < 0 && ct_run_cancelled(&b->rec)) {
		ct_err_set(e, CT_E_CANCEL, "stopped during the export");
	}
	/* the transfer alone proves nothing: our task says whether xapi finished the export */
	if (!ct_run_cancelled(&b->rec)) {
		ct_err_init(&te);
		if (follow_task(b, task, "export", hrc == 0 ? EXPORT_TASK_TIMEOUT_S :
				EXPORT_TASK_AFTER_FAILURE_S, &t, &te) < 0) {
			if (hrc == 0 || te.code == CT_E_XAPI)
				*e = te;
			hrc = -1;
		}
	}
	if (hrc < 0)
		goto out;
	if (ct_xva_finish(ctx.xva, &vs, &ctx.verr) < 0 || ctx.bad) {
		ct_err_set(e, CT_E_PROTO, "the export of VM '%s' was received but does not verify: %s; the file was removed, the next run exports again",
			   b->cur->name, ctx.verr.msg);
		goto out;
	}
	if (fsync(ctx.fd) < 0 || close(ctx.fd) < 0) {
		ctx.fd = -1;
		ct_err_set(e, CT_E_IO, "cannot flush %s to disk: %s", part, strerror(errno));
		goto out;
	}
	ctx.fd = -1;
	if (access(final, F_OK) == 0) {
		ct_err_set(e, CT_E_IO, "%s already exists (another job exporting this VM to the same export_dir in the same second?); it was left as it is",
			   final);
		goto out;
	}
	if (rename(part, final) < 0) {
		ct_err_set(e, CT_E_IO, "cannot rename %s to %s: %s", part, final, strerror(errno));
		goto out;
	}
	fsync_dir(dir);
	it->bytes = ctx.bytes;
	it->n_chunks = vs.n_chunks;
	ct_format_bytes(ctx.bytes, sz, sizeof(sz));
	emit(b, "export", 100, CT_BACKUP_INFO, "exported %s to %s: verified, %d chunks match their checksums",
	     sz, final, vs.n_chunks);
	rc = 0;
out:
	if (ctx.fd >= 0)
		close(ctx.fd);
	if (rc < 0 && created)
		unlink(part);
	if (task) {
		struct ct_err de;

		ct_run_last_calls(&b->rec);     /* our task goes, even when the run was stopped */
		ct_err_init(&de);
		if ((call1(b, "task.destroy", task, NULL, &de) == 0 || ct_err_is(&de, "HANDLE_INVALID")) &&
		    b->rec.js && it->id > 0) {
			ct_err_init(&de);
			ct_jobstore_item_export_task(b->rec.js, it->id, NULL, &de);
		}
	}
	ct_xva_free(ctx.xva);
	ct_obj_free(t ? &t->o : NULL);
	free(hdr_task);
	free(task);
	free(label);
	free(desc);
	free(query);
	free(final);
	free(part);
	free(dir);
	return rc;
}

/* ---- retention ---------------------------------------------------------------------------- */

static int cmp_tagged_newest(const void *a, const void *b)
{
	const struct tagged *x = a, *y = b;

	if (x->when != y->when)
		return x->when > y->when ? -1 : 1;
	return strcmp(y->uuid, x->uuid);
}

static int cmp_str_desc(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

/* This job's snapshots of the VM by tag, from XAPI (the model may not show the new one yet). */
static int job_snapshots(struct bk *b, struct tagged **out, int *n, struct ct_err *e)
{
	struct ct_strset snaps = { 0 };
	struct ct_xarg a[1] = { CT_XSTR(b->cur->ref) };
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (ct_xapi_call_set(b->x, "VM.get_snapshots", a, 1, &snaps, e) < 0)
		return -1;
	*out = ct_xcalloc(snaps.n + 1, sizeof(**out));
	for (size_t i = 0; i < snaps.n; i++) {
		struct ct_obj *o = NULL;
		const struct ct_vm *s;
		const char *job, *svm, *when;
		char name[256];

		if (ct_xapi_get_record(b->x, CT_VM, snaps.v[i], &o, e) < 0) {
			if (ct_err_is(e, "HANDLE_INVALID"))
				continue;   /* removed meanwhile */
			goto out;
		}
		s = (const struct ct_vm *)o;
		job = ct_map_get(&s->other_config, TAG_JOB);
		svm = ct_map_get(&s->other_config, TAG_VM);
		when = ct_map_get(&s->other_config, TAG_TIME);
		if (s->is_a_snapshot && job && !strcmp(job, b->job) && svm && !strcmp(svm, b->cur->uuid)) {
			struct tagged *t = &(*out)[(*n)++];

			ct_sanitize(s->name_label ? s->name_label : "", name, sizeof(name));
			t->ref = ct_xstrdup(s->o.ref);
			t->uuid = ct_xstrdup(s->o.uuid);
			t->name = ct_xstrdup(name);
			if (!when || ct_parse_xapi_time(when, &t->when) < 0)
				t->when = s->snapshot_time;
		}
		ct_obj_free(o);
	}
	qsort(*out, (size_t)*n, sizeof(**out), cmp_tagged_newest);
	rc = 0;
out:
	ct_strset_release(&snaps);
	if (rc < 0) {
		tagged_release(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* Exported files of this VM: keep the newest `retention` .xva; remove .part files that no
 * live writer holds. */
static void retention_files(struct bk *b, struct ct_sb *note)
{
	char *dir = vm_export_dir(b);
	DIR *d = opendir(dir);
	char **names = NULL;
	int n = 0, cap = 0, removed = 0;
	struct dirent *de;

	if (!d) {
		free(dir);
		return;
	}
	while ((de = readdir(d))) {
		if (is_stamp_name(de->d_name, ".xva.part")) {
			char *p = ct_xasprintf("%s/%s", dir, de->d_name);
			int fd = open(p, O_RDONLY | O_CLOEXEC);

			if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 && unlink(p) == 0)
				ct_sb_addf(note, "; removed unfinished export %s", p);
			if (fd >= 0)
				close(fd);
			free(p);
			continue;
		}
		if (!is_stamp_name(de->d_name, ".xva"))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = ct_xrealloc(names, (size_t)cap * sizeof(*names));
		}
		names[n++] = ct_xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(*names), cmp_str_desc);
	for (int i = b->retention; i < n; i++) {
		char *p = ct_xasprintf("%s/%s", dir, names[i]);

		if (unlink(p) == 0)
			removed++;
		else
			ct_sb_addf(note, "; cannot remove %s: %s", p, strerror(errno));
		free(p);
	}
	if (removed) {
		fsync_dir(dir);
		ct_sb_addf(note, "; removed %d exported file%s, kept %d", removed, removed == 1 ? "" : "s",
			   n - removed);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dir);
}

static int do_retention(struct bk *b, struct ct_sb *note, struct ct_err *e)
{
	struct tagged *t;
	int n, removed = 0, failed = 0;

	if (b->mode == CT_JOB_EXPORT) {   /* the files are the backups; no snapshot is kept */
		struct ct_sb files;

		ct_sb_init(&files);
		retention_files(b, &files);
		if (files.len)
			ct_sb_adds(note, files.buf + 2);   /* past the leading "; " */
		else
			ct_sb_addf(note, "no exported file to remove (keeping the newest %d)", b->retention);
		ct_sb_release(&files);
		return 0;
	}

	if (job_snapshots(b, &t, &n, e) < 0)
		return -1;
	for (int i = b->retention; i < n; i++) {
		char msg[1024];
		struct ct_err de;

		ct_err_init(&de);
		if (destroy_snapshot(b, t[i].ref, msg, sizeof(msg), &de) < 0) {
			ct_sb_addf(note, "%scould not remove '%s': %s", note->len ? "; " : "", t[i].name, de.msg);
			if (!failed)
				*e = de;
			failed++;
			continue;
		}
		emit(b, "retention", -1, CT_BACKUP_INFO, "removed old snapshot '%s' (%s)", t[i].name, t[i].uuid);
		removed++;
	}
	ct_sb_addf(note, "%s%d of this job's snapshots, kept the newest %d, removed %d",
		   note->len ? "; " : "", n, n < b->retention ? n : b->retention, removed);
	tagged_release(t, n);
	return failed ? -1 : 0;
}

/* ---- one VM -------------------------------------------------------------------------------- */

static void reasons_text(char **r, int n, struct ct_sb *sb)
{
	for (int i = 0; i < n; i++)
		ct_sb_addf(sb, "%s%s", i ? "; " : "", r[i]);
}

/* The gate (and wait). Returns 1 go, 0 skipped (item filled), -1 failed/interrupted. */
static int gate_step(struct bk *b, struct item *it)
{
	int64_t st = ct_run_step_begin(&b->rec, it->id, "gate");
	struct ct_sb sb;
	int v;

	v = judge(b, &it->reasons, &it->n_reasons, &it->chain_json);
	if (v < 0) {
		snprintf(it->msg, sizeof(it->msg), "VM '%s' (%s) is no longer in pool '%s'", b->cur->name,
			 b->cur->uuid, b->pc->name);
		it->status = CT_RUN_FAILURE;
		ct_run_step_endf(&b->rec, st, CT_RUN_FAILURE, "%s", it->msg);
		return -1;
	}
	if (v == 1) {
		ct_run_step_endf(&b->rec, st, CT_RUN_SUCCESS, "every disk within its limits");
		emit(b, "gate", -1, CT_BACKUP_INFO, "gate: every disk within its limits");
		free(it->chain_json);
		it->chain_json = NULL;
		return 1;
	}
	ct_sb_init(&sb);
	reasons_text(it->reasons, it->n_reasons, &sb);
	if (b->o->force) {
		it->forced = true;
		ct_run_step_endf(&b->rec, st, CT_RUN_FORCED, "bypassed with --force: %s", sb.buf);
		emit(b, "gate", -1, CT_BACKUP_WARN, "gate refused, bypassed with --force: %s", sb.buf);
		ct_sb_release(&sb);
		return 1;
	}
	if (b->policy == CT_GATE_SKIP || b->o->dry_run) {
		char dur[32];

		ct_format_duration(b->wait_timeout, dur, sizeof(dur));
		it->status = CT_RUN_SKIPPED;
		if (b->policy == CT_GATE_WAIT)
			snprintf(it->msg, sizeof(it->msg), "the gate refuses a snapshot now; a real run would wait up to %s for the SR to coalesce: %.800s",
				 dur, sb.buf);
		else
			snprintf(it->msg, sizeof(it->msg), "skipped: the gate refuses a snapshot now (policy skip; --wait DURATION waits, --force bypasses): %.700s",
				 sb.buf);
		ct_run_step_endf(&b->rec, st, CT_RUN_SKIPPED, "%s", sb.buf);
		emit(b, "gate", -1, CT_BACKUP_WARN, "gate refused: %s", sb.buf);
		ct_sb_release(&sb);
		return 0;
	}
	/* policy wait: re-judge on every model change until healthy or the deadline */
	ct_run_step_endf(&b->rec, st, CT_RUN_SKIPPED, "refused, waiting: %s", sb.buf);
	{
		int64_t ws = ct_run_step_begin(&b->rec, it->id, "wait");
		int64_t deadline = ct_now_ms() + b->wait_timeout * 1000;
		char *token = now_token(b), dur[32], *last = ct_sb_detach(&sb);
		uint64_t gen = model_generation(b);
		int64_t t0 = ct_now_ms();

		ct_format_duration(b->wait_timeout, dur, sizeof(dur));
		emit(b, "wait", -1, CT_BACKUP_INFO, "waiting up to %s for the SR to coalesce: %s", dur, last);
		for (;;) {
			int64_t left = deadline - ct_now_ms();
			uint64_t g;

			if (ct_run_cancelled(&b->rec)) {
				it->status = CT_RUN_INTERRUPTED;
				snprintf(it->msg, sizeof(it->msg), "stopped while waiting for the gate");
				ct_run_step_endf(&b->rec, ws, CT_RUN_INTERRUPTED, "stopped while waiting: %s", last);
				free(last);
				free(token);
				return -1;
			}
			if (left <= 0)
				break;
			wait_change(b, &token, left < 1000 ? (int)left : 1000);
			g = model_generation(b);
			if (g == gen)
				continue;
			gen = g;
			free_strv(it->reasons, it->n_reasons);
			free(it->chain_json);
			v = judge(b, &it->reasons, &it->n_reasons, &it->chain_json);
			if (v != 0)
				break;
			ct_sb_init(&sb);
			reasons_text(it->reasons, it->n_reasons, &sb);
			if (strcmp(sb.buf, last) != 0) {
				emit(b, "wait", -1, CT_BACKUP_INFO, "still refused: %s", sb.buf);
				free(last);
				last = ct_sb_detach(&sb);
			}
			ct_sb_release(&sb);
		}
		free(token);
		if (v == 1) {
			char waited[32];

			ct_format_duration((ct_now_ms() - t0) / 1000, waited, sizeof(waited));
			ct_run_step_endf(&b->rec, ws, CT_RUN_SUCCESS, "healthy after %s", waited);
			emit(b, "wait", -1, CT_BACKUP_INFO, "gate passes after %s of waiting", waited);
			free(it->chain_json);
			it->chain_json = NULL;
			free(last);
			return 1;
		}
		if (v < 0) {
			it->status = CT_RUN_FAILURE;
			snprintf(it->msg, sizeof(it->msg), "VM '%s' (%s) disappeared while waiting for the gate",
				 b->cur->name, b->cur->uuid);
			ct_run_step_endf(&b->rec, ws, CT_RUN_FAILURE, "%s", it->msg);
			free(last);
			return -1;
		}
		it->status = CT_RUN_SKIPPED;
		snprintf(it->msg, sizeof(it->msg), "skipped: still refused after waiting %s (gate wait_timeout): %.800s",
			 dur, last);
		ct_run_step_endf(&b->rec, ws, CT_RUN_SKIPPED, "gave up after %s: %s", dur, last);
		emit(b, "wait", -1, CT_BACKUP_WARN, "gave up after %s: %s", dur, last);
		free(last);
		return 0;
	}
}

static void intent_done(struct bk *b, struct item *it)
{
	struct ct_err ie;

	ct_err_init(&ie);
	if (b->rec.js && it->id > 0 && ct_jobstore_intent_done(b->rec.js, it->id, &ie) < 0)
		db_warn(b, &ie);
}

/* The VM's disks as they are right before the snapshot (their leaves' data is what the
 * snapshot turns into base copies): kept with the item for "can this SR keep up?". */
static void record_disks(struct bk *b, struct item *it)
{
	struct ct_err e;
	const struct ct_vm *vm;
	struct ct_vbd *const *vbds;
	struct ct_disk_rec *d = NULL;
	size_t nv = 0, nd = 0;

	if (!b->rec.js || it->id <= 0)
		return;
	ct_err_init(&e);
	ct_model_lock(b->m);
	vm = ct_model_vm(b->m, b->cur->ref);
	vbds = vm ? ct_model_vm_vbds(b->m, vm, &nv) : NULL;
	d = ct_xcalloc(nv + 1, sizeof(*d));
	for (size_t i = 0; i < nv; i++) {
		const struct ct_vdi *v = ct_ref_is_null(vbds[i]->vdi) ? NULL :
			ct_model_vdi(b->m, vbds[i]->vdi);
		const struct ct_sr *sr = v ? ct_model_sr(b->m, v->sr) : NULL;

		if (vbds[i]->type != CT_VBD_DISK || !v || !sr || !v->o.uuid || !sr->o.uuid)
			continue;
		snprintf(d[nd].sr_uuid, sizeof(d[nd].sr_uuid), "%s", sr->o.uuid);
		snprintf(d[nd].vdi_uuid, sizeof(d[nd].vdi_uuid), "%s", v->o.uuid);
		d[nd].physical_utilisation = v->physical_utilisation;
		d[nd].virtual_size = v->virtual_size;
		nd++;
	}
	ct_model_unlock(b->m);
	/* written outside the model lock: each insert is a synchronous commit */
	for (size_t i = 0; i < nd; i++)
		if (ct_jobstore_item_disk(b->rec.js, it->id, d[i].sr_uuid, d[i].vdi_uuid,
					  d[i].physical_utilisation, d[i].virtual_size, &e) < 0) {
			db_warn(b, &e);
			break;
		}
	free(d);
}

static void backup_vm(struct bk *b, struct item *it)
{
	char stamp[32], *name = NULL, *task = NULL, *result = NULL;
	struct ct_task *t = NULL;
	struct ct_obj *snap = NULL;
	struct ct_strset disks = { 0 };
	struct ct_err e;
	const char *step = "snapshot";
	int64_t st;
	int v;

	ct_err_init(&e);
	cleanup_half_made(b, it);
	v = gate_step(b, it);
	if (v <= 0)
		return;
	if (b->o->dry_run) {
		struct ct_sb plan;
		struct tagged *tg;
		int n = tagged_snapshots(b, false, &tg);

		ct_sb_init(&plan);
		ct_sb_addf(&plan, "would snapshot '%s' as 'chaintop %s run %lld <UTC time>', tag it", b->cur->name,
			   b->job, (long long)b->rec.id);
		if (b->mode == CT_JOB_EXPORT) {
			char *dir = vm_export_dir(b);

			ct_sb_addf(&plan, ", export it to %s/<time>.xva, verify the file and remove the snapshot", dir);
			if (b->retention > 0)
				ct_sb_addf(&plan, ", keep the newest %d exported files", b->retention);
			free(dir);
		} else if (b->retention > 0 && n + 1 > b->retention) {
			qsort(tg, (size_t)n, sizeof(*tg), cmp_tagged_newest);
			ct_sb_addf(&plan, ", keep the newest %d of this job's snapshots and remove", b->retention);
			for (int i = b->retention - 1; i < n; i++)
				ct_sb_addf(&plan, " '%s'", tg[i].name);
		} else if (b->retention > 0) {
			ct_sb_addf(&plan, ", keep the newest %d of this job's snapshots (%d now, none removed)",
				   b->retention, n);
		}
		tagged_release(tg, n);
		emit(b, "plan", -1, CT_BACKUP_INFO, "%s", plan.buf);
		it->status = it->forced ? CT_RUN_FORCED : CT_RUN_SUCCESS;
		snprintf(it->msg, sizeof(it->msg), "dry run: %.1000s", plan.buf);
		ct_sb_release(&plan);
		return;
	}

	/* last check on fresh data, right before the snapshot call */
	if (!b->o->force) {
		barrier(b);
		free_strv(it->reasons, it->n_reasons);
		it->reasons = NULL;
		it->n_reasons = 0;
		st = ct_run_step_begin(&b->rec, it->id, "recheck");
		v = judge(b, &it->reasons, &it->n_reasons, &it->chain_json);
		if (v != 1) {
			struct ct_sb sb;

			ct_sb_init(&sb);
			reasons_text(it->reasons, it->n_reasons, &sb);
			it->status = v < 0 ? CT_RUN_FAILURE : CT_RUN_SKIPPED;
			snprintf(it->msg, sizeof(it->msg), "%s%.900s", v < 0 ?
				 "the VM disappeared before the snapshot" :
				 "skipped: the gate refused on the last check before the snapshot: ", sb.buf);
			ct_run_step_endf(&b->rec, st, it->status, "%s", it->msg);
			emit(b, "gate", -1, CT_BACKUP_WARN, "%s", it->msg);
			ct_sb_release(&sb);
			return;
		}
		free(it->chain_json);
		it->chain_json = NULL;
		ct_run_step_endf(&b->rec, st, CT_RUN_SUCCESS, "still within limits");
	}
	if (ct_run_cancelled(&b->rec))
		goto cancel;

	record_disks(b, it);
	/* snapshot */
	ct_format_xapi_time(time(NULL), stamp, sizeof(stamp));
	name = ct_xasprintf("chaintop %s run %lld %s", b->job, (long long)b->rec.id, stamp);
	st = ct_run_step_begin(&b->rec, it->id, "snapshot");
	step = "snapshot";
	/* the exact name goes to the history before the call: a run killed from here on leaves
	 * a snapshot the next run or prune finds by this name (ct_backup_resolve_intents) */
	if (b->rec.js && it->id > 0) {
		struct ct_err ie;

		ct_err_init(&ie);
		if (ct_jobstore_item_intent(b->rec.js, it->id, name, &ie) < 0) {
			e = ie;
			ct_err_prefix(&e, "not snapshotting: the snapshot's name could not be recorded first");
			goto fail_step;
		}
	}
	emit(b, "snapshot", 0, CT_BACKUP_INFO, "snapshot '%s'", name);
	{
		struct ct_xarg a[2] = { CT_XSTR(b->cur->ref), CT_XSTR(name) };

		if (ct_xapi_call(b->x, "Async.VM.snapshot", a, 2, &task, &e) < 0)
			goto fail_step;
	}
	v = follow_task(b, task, "snapshot", SNAPSHOT_TASK_TIMEOUT_S, &t, &e);
	if (v < 0 && e.code == CT_E_CANCEL && ct_run_cancelled(&b->rec)) {
		struct ct_err ce;

		ct_err_init(&ce);
		ct_run_last_calls(&b->rec);   /* these last calls may go, briefly */
		call1(b, "task.cancel", task, NULL, &ce);
	}
	if (v < 0) {
		if (e.code == CT_E_XAPI)   /* xapi refused: no snapshot was made */
			intent_done(b, it);
		task_destroy(b, task);
		goto fail_step;
	}
	if (ct_xapi_parse_task_result(t->result, &result, &e) < 0) {
		task_destroy(b, task);
		goto fail_step;
	}
	task_destroy(b, task);
	it->snap_ref = result;
	result = NULL;
	if (ct_xapi_get_record(b->x, CT_VM, it->snap_ref, &snap, &e) < 0)
		goto fail_step;
	snprintf(it->snap_uuid, sizeof(it->snap_uuid), "%s", snap->uuid ? snap->uuid : "");
	ct_run_step_endf(&b->rec, st, CT_RUN_SUCCESS, "snapshot '%s' uuid %s", name, it->snap_uuid);
	emit(b, "snapshot", 100, CT_BACKUP_INFO, "snapshot done: uuid %s", it->snap_uuid);

	/* tag: run first, so a half-tagged snapshot is still found by its run */
	st = ct_run_step_begin(&b->rec, it->id, "tag");
	step = "tag";
	{
		char run_s[32];
		const char *keys[4] = { TAG_RUN, TAG_JOB, TAG_VM, TAG_TIME };
		const char *vals[4] = { run_s, b->job, b->cur->uuid, stamp };

		snprintf(run_s, sizeof(run_s), "%lld", (long long)b->rec.id);
		for (int k = 0; k < 4; k++)
			if (set_tag(b, "VM", it->snap_ref, keys[k], vals[k], &e) < 0)
				goto fail_step;
		if (vm_disks(b, (const struct ct_vm *)snap, &disks, &e) < 0)
			goto fail_step;
		for (size_t i = 0; i < disks.n; i++)
			for (int k = 0; k < 4; k++)
				if (set_tag(b, "VDI", disks.v[i], keys[k], vals[k], &e) < 0)
					goto fail_step;
		ct_run_step_endf(&b->rec, st, CT_RUN_SUCCESS, "tagged the snapshot and %zu disk%s (chaintop:job=%s, chaintop:run=%s)",
			 disks.n, disks.n == 1 ? "" : "s", b->job, run_s);
		intent_done(b, it);   /* found by its tags from now on */
		emit(b, "tag", -1, CT_BACKUP_INFO, "tagged the snapshot and %zu disk%s", disks.n,
		     disks.n == 1 ? "" : "s");
	}
	if (ct_run_cancelled(&b->rec))
		goto cancel;

	if (b->mode == CT_JOB_EXPORT) {
		st = ct_run_step_begin(&b->rec, it->id, "export");
		step = "export";
		emit(b, "export", 0, CT_BACKUP_INFO, "export to %s", b->export_dir);
		/* a snapshot is a template; exported as it is, it would import as one
		 * (Xen Orchestra clears the flag on its backup snapshots too) */
		{
			struct ct_xarg a[2] = { CT_XSTR(it->snap_ref),
						{ .type = CT_XARG_BOOL, .b = false } };

			if (ct_xapi_call(b->x, "VM.set_is_a_template", a, 2, NULL, &e) < 0) {
				if (!ct_err_is(&e, "LICENSE_RESTRICTION")) {
					ct_err_prefix(&e, "clearing is_a_template on the snapshot before the export");
					goto fail_step;
				}
				/* some editions refuse it (XSO-766); Xen Orchestra goes on too */
				emit(b, "export", -1, CT_BACKUP_WARN, "the pool's license does not allow clearing is_a_template on the snapshot (LICENSE_RESTRICTION): the file will import as a template; after an import, run `xe vm-param-set is-a-template=false uuid=<imported VM>`");
				ct_err_init(&e);
			}
		}
		if (do_export(b, it, stamp, &e) < 0)
			goto fail_step;
		{
			char sz[32], rate[32], *dir = vm_export_dir(b);

			ct_format_bytes(it->bytes, sz, sizeof(sz));
			ct_format_bytes((int64_t)((double)it->bytes * 1000.0 / (double)it->export_ms), rate,
					sizeof(rate));
			ct_run_step_endf(&b->rec, st, CT_RUN_SUCCESS, "%s written to %s/%s.xva in %.1f s (%s/s), verified: %d chunks match their checksums",
				 sz, dir, stamp, (double)it->export_ms / 1000.0, rate, it->n_chunks);
			snprintf(it->export_path, sizeof(it->export_path), "%s/%s.xva", dir, stamp);
			free(dir);
		}
		/* the verified file is the backup: the snapshot has done its work */
		{
			char note[1024];
			int64_t cs = ct_run_step_begin(&b->rec, it->id, "cleanup");

			if (destroy_snapshot(b, it->snap_ref, note, sizeof(note), &e) < 0) {
				ct_run_step_endf(&b->rec, cs, CT_RUN_FAILURE, "%s", e.msg);
				item_fail(it, &e, "cleanup", b->cur->name);
				snprintf(it->msg, sizeof(it->msg), "exported to %.400s, but the snapshot %s could not be removed: %.500s",
					 it->export_path, it->snap_uuid, e.msg);
				goto out;
			}
			ct_run_step_endf(&b->rec, cs, CT_RUN_SUCCESS, "export verified: %s", note);
			emit(b, "cleanup", -1, CT_BACKUP_INFO, "export verified, %s", note);
			it->snap_removed = true;
		}
		if (ct_run_cancelled(&b->rec))
			goto cancel;
	}

	if (b->retention > 0) {
		struct ct_sb note;

		st = ct_run_step_begin(&b->rec, it->id, "retention");
		ct_sb_init(&note);
		if (do_retention(b, &note, &e) < 0) {
			ct_run_step_endf(&b->rec, st, CT_RUN_FAILURE, "%s", note.buf);
			emit(b, "retention", -1, CT_BACKUP_WARN, "retention: %s", note.buf);
			it->status = CT_RUN_FAILURE;
			it->err = e;
			it->has_err = e.code == CT_E_XAPI;
			snprintf(it->msg, sizeof(it->msg), "the backup was made but retention failed: %.900s", e.msg);
			ct_sb_release(&note);
			goto out;
		}
		ct_run_step_endf(&b->rec, st, CT_RUN_SUCCESS, "%s", note.buf);
		emit(b, "retention", -1, CT_BACKUP_INFO, "retention: %s", note.buf);
		ct_sb_release(&note);
	}
	it->status = it->forced ? CT_RUN_FORCED : CT_RUN_SUCCESS;
	{
		char sz[32];

		ct_format_bytes(it->bytes, sz, sizeof(sz));
		if (b->mode == CT_JOB_EXPORT)
			snprintf(it->msg, sizeof(it->msg), "%sexported (%s, verified) to %.400s from snapshot '%s' (%s), which was then removed",
				 it->forced ? "gate bypassed with --force; " : "", sz, it->export_path, name,
				 it->snap_uuid);
		else
			snprintf(it->msg, sizeof(it->msg), "%ssnapshot '%s' (%s) made and tagged",
				 it->forced ? "gate bypassed with --force; " : "", name, it->snap_uuid);
	}
	goto out;

cancel:
	ct_err_set(&e, CT_E_CANCEL, "stopped by a signal or by the operator");
	st = 0;
fail_step:
	item_fail(it, &e, step, b->cur->name);
	ct_run_step_endf(&b->rec, st, it->status, "%s", e.msg);
	/* a snapshot left by a failed (not interrupted) item is removed: nothing half-made stays */
	if (it->snap_ref && it->status == CT_RUN_FAILURE) {
		char note[1024];
		struct ct_err de;
		int64_t cs = ct_run_step_begin(&b->rec, it->id, "cleanup");

		ct_err_init(&de);
		if (destroy_snapshot(b, it->snap_ref, note, sizeof(note), &de) < 0) {
			ct_run_step_endf(&b->rec, cs, CT_RUN_FAILURE, "%s", de.msg);
		} else {
			ct_run_step_endf(&b->rec, cs, CT_RUN_SUCCESS, "%s", note);
			it->snap_uuid[0] = '\0';
			intent_done(b, it);
		}
	}
out:
	ct_strset_release(&disks);
	ct_obj_free(snap);
	ct_obj_free(t ? &t->o : NULL);
	free(result);
	free(task);
	free(name);
}

/* ---- the run ------------------------------------------------------------------------------ */

static int setup(struct bk *b, struct ct_err *e)
{
	const struct ct_backup_opts *o = b->o;
	const char *pool_name;

	if (!o->cfg)
		return ct_err_set(e, CT_E_USAGE, "no configuration given to the backup");
	if (o->job) {
		snprintf(b->job, sizeof(b->job), "%s", o->job->name);
		pool_name = o->job->pool;
		b->mode = o->job->mode;
		b->retention = o->job->retention;
		b->export_dir = o->job->export_dir;
		b->comp = o->job->compression;
		b->job_gate = o->job->gate_overridden ? &o->job->gate : NULL;
		b->policy = o->job->gate.policy;
		b->wait_timeout = o->job->gate.wait_timeout;
	} else {
		snprintf(b->job, sizeof(b->job), "%s", o->job_name ? o->job_name : CT_BACKUP_ADHOC_JOB);
		b->adhoc = true;
		pool_name = o->pool;
		b->mode = CT_JOB_SNAPSHOT;
		b->retention = 0;
		b->policy = o->cfg->gate.policy;
		b->wait_timeout = o->cfg->gate.wait_timeout;
		if (o->n_vms <= 0)
			return ct_err_set(e, CT_E_USAGE, "no VM given: name a job (--job) or a VM (--vm NAME|UUID)");
	}
	if (o->wait_override >= 0) {
		b->policy = CT_GATE_WAIT;
		b->wait_timeout = o->wait_override;
	}
	if (o->shared) {
		b->pc = o->shared->conf;
	} else if (pool_name) {
		b->pc = ct_config_pool(o->cfg, pool_name);
	} else if (o->cfg->n_pools == 1) {
		b->pc = &o->cfg->pools[0];
	} else {
		return ct_err_set(e, CT_E_USAGE, "%d pools are configured: name one with --pool NAME",
				  o->cfg->n_pools);
	}
	if (!b->pc)
		return ct_err_set(e, CT_E_CONFIG, "no pool named '%s' in the configuration%s%s; check the job's pool or --pool",
				  pool_name, o->cfg->path ? " " : "", o->cfg->path ? o->cfg->path : "");
	if (b->pc->read_only && !o->dry_run)
		return ct_err_set(e, CT_E_USAGE, "pool '%s' is configured read_only: backups change it (snapshots); use --dry-run or remove read_only",
				  b->pc->name);
	if (!b->pc->password)
		return ct_err_set(e, CT_E_CONFIG, "no password for pool '%s': set its password_file or password_env",
				  b->pc->name);
	if (b->mode == CT_JOB_EXPORT && (!b->export_dir || !*b->export_dir))
		return ct_err_set(e, CT_E_CONFIG, "job '%s' has mode export but no export_dir; set export_dir in the job",
				  b->job);
	if (!o->cfg->state_dir || !*o->cfg->state_dir)
		return ct_err_set(e, CT_E_CONFIG, "no state_dir: the job history and locks need one; set state_dir");
	return 0;
}

static int connect_pool(struct bk *b, struct ct_err *e)
{
	const char *only[1] = { b->pc->name };

	b->x = ct_watch_new_session(b->pc);
	ct_run_bind(&b->rec, b->x);   /* a cancel stops the session's blocked calls */
	if (b->o->shared) {
		b->w = b->o->shared;
	} else {
		if (ct_watchset_init(&b->ws, b->cfg, only, 1, false, e) < 0)
			return -1;
		b->ws_init = true;
		if (ct_watchset_start(&b->ws, e) < 0)
			return -1;
		emit(b, "select", -1, CT_BACKUP_INFO, "loading pool '%s'", b->pc->name);
		for (int64_t end = ct_now_ms() + LOAD_TIMEOUT_MS; ct_now_ms() < end && !ct_run_cancelled(&b->rec);)
			if (ct_watchset_wait_settled(&b->ws, 500) == 0)
				break;
		b->w = &b->ws.w[0];
	}
	b->m = &b->w->model;
	if (ct_run_cancelled(&b->rec))
		return ct_err_set(e, CT_E_CANCEL, "stopped before the backup started");
	ct_model_lock(b->m);
	if (!b->w->loaded) {
		ct_err_set(e, CT_E_NET, "pool '%s' could not be loaded: %s", b->pc->name,
			   b->w->error[0] ? b->w->error : "no answer in time; is the pool master reachable?");
		ct_model_unlock(b->m);
		return -1;
	}
	ct_model_unlock(b->m);
	return 0;
}

/* After a transport error: does the pool still answer? */
static bool pool_answers(struct bk *b)
{
	struct ct_strset pools = { 0 };
	struct ct_err e;
	int rc;

	if (ct_run_cancelled(&b->rec))
		return true;
	ct_err_init(&e);
	rc = ct_xapi_call_set(b->x, "pool.get_all", NULL, 0, &pools, &e);
	ct_strset_release(&pools);
	return rc == 0;
}

static void finish_item(struct bk *b, struct item *it)
{
	struct ct_item_result r;
	const char *params[CT_ERR_MAX_PARAMS];

	memset(&r, 0, sizeof(r));
	r.status = it->status;
	r.message = it->msg[0] ? it->msg : NULL;
	r.snapshot_uuid = it->snap_uuid[0] ? it->snap_uuid : NULL;
	r.bytes = it->bytes;
	r.export_ms = it->bytes > 0 ? it->export_ms : 0;
	if (it->has_err) {
		r.xapi_code = it->err.xapi_code;
		for (int i = 0; i < it->err.n_params; i++)
			params[i] = it->err.params[i];
		r.xapi_params = params;
		r.n_xapi_params = it->err.n_params;
	}
	r.reasons = (const char *const *)it->reasons;
	r.n_reasons = it->n_reasons;
	r.chain_json = it->status == CT_RUN_SKIPPED || it->forced ? it->chain_json : NULL;
	ct_run_item_end(&b->rec, it->id, &r);
	switch (it->status) {
	case CT_RUN_SUCCESS:
	case CT_RUN_FORCED:
		b->n_ok++;
		emit(b, "done", -1, CT_BACKUP_INFO, "%s%s", it->status == CT_RUN_FORCED ? "done (forced): " : "done: ", it->msg);
		break;
	case CT_RUN_SKIPPED:
		b->n_skipped++;
		emit(b, "done", -1, CT_BACKUP_WARN, "%s", it->msg);
		break;
	case CT_RUN_INTERRUPTED:
		b->interrupted = true;
		b->n_failed++;
		emit(b, "done", -1, CT_BACKUP_ERROR, "%s", it->msg);
		break;
	default:
		b->n_failed++;
		emit(b, "done", -1, CT_BACKUP_ERROR, "%s", it->msg);
		break;
	}
}

int ct_backup_run(const struct ct_backup_opts *o, struct ct_backup_summary *out, struct ct_err *e)
{
	struct bk b;
	enum ct_run_status rs;
	bool lost = false;
	char note[1200];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->exit_code = 2;
	memset(&b, 0, sizeof(b));
	b.o = o;
	b.cfg = o->cfg;
	ct_run_init(&b.rec, o->cancel, on_record_error, &b);
	if (setup(&b, e) < 0)
		goto out;
	if (ct_run_cancelled(&b.rec)) {
		ct_err_set(e, CT_E_CANCEL, "stopped before the backup started");
		goto out;
	}
	if (ct_run_open(&b.rec, b.cfg->state_dir, NULL, e) < 0)
		goto out;
	if (!o->dry_run && ct_run_lock(&b.rec, b.cfg->state_dir, "backup", b.job, e) < 0)
		goto out;
	if (connect_pool(&b, e) < 0)
		goto out;
	if (o->job) {
		if (select_vms(&b, (const char *const *)o->job->vms, o->job->n_vms, e) < 0)
			goto out;
	} else if (select_vms(&b, o->vms, o->n_vms, e) < 0) {
		goto out;
	}
	if (ct_run_begin(&b.rec, "backup", b.job, b.pc->name, o->dry_run, e) < 0)
		goto out;
	out->run_id = b.rec.id;
	emit(&b, "select", -1, CT_BACKUP_INFO, "%s job '%s' on pool '%s': %d VM%s (run %lld)",
	     o->dry_run ? "dry run of" : "running", b.job, b.pc->name, b.n_vms,
	     b.n_vms == 1 ? "" : "s", (long long)b.rec.id);
	for (int i = 0; i < b.n_vms; i++) {
		struct item it;

		b.idx = i + 1;
		b.cur = &b.vms[i];
		memset(&it, 0, sizeof(it));
		it.status = CT_RUN_FAILURE;
		if (ct_run_cancelled(&b.rec)) {
			b.interrupted = true;
			break;
		}
		it.id = ct_run_item_begin(&b.rec, b.cur->uuid, b.cur->name);
		backup_vm(&b, &it);
		if (it.status == CT_RUN_FAILURE && (it.err.code == CT_E_NET || it.err.code == CT_E_TIMEOUT) &&
		    !pool_answers(&b)) {
			/* the pool is gone, not this VM: stop, the next run cleans up */
			char why[700];

			snprintf(why, sizeof(why), "%.600s", it.err.msg);
			it.status = CT_RUN_INTERRUPTED;
			snprintf(it.msg, sizeof(it.msg), "lost contact with pool '%s' during the backup of VM '%s' (%.600s); the run stopped here, the next run cleans up what this one left",
				 b.pc->name, b.cur->name, why);
			lost = true;
		}
		finish_item(&b, &it);
		free_strv(it.reasons, it.n_reasons);
		free(it.chain_json);
		free(it.snap_ref);
		if (b.interrupted || lost)
			break;
	}
	b.cur = NULL;
	if (ct_run_cancelled(&b.rec))
		b.interrupted = true;
	out->n_vms = b.n_vms;
	out->n_ok = b.n_ok;
	out->n_skipped = b.n_skipped;
	out->n_failed = b.n_failed;
	out->interrupted = b.interrupted;
	rs = b.interrupted ? CT_RUN_INTERRUPTED : b.n_failed ? CT_RUN_FAILURE :
		b.n_skipped ? CT_RUN_SKIPPED : CT_RUN_SUCCESS;
	out->exit_code = b.n_failed || b.interrupted ? 2 : b.n_skipped ? 1 : 0;
	snprintf(out->message, sizeof(out->message),
		 "%sjob '%s' on pool '%s' %s: %d of %d VM%s succeeded, %d skipped, %d failed%s (run %lld; `chaintop report %lld` has the details)",
		 o->dry_run ? "dry run: " : "", b.job, b.pc->name,
		 b.interrupted ? "was interrupted" : "finished", b.n_ok, b.n_vms, b.n_vms == 1 ? "" : "s",
		 b.n_skipped, b.n_failed, b.interrupted ? ", the rest not attempted" : "",
		 (long long)b.rec.id, (long long)b.rec.id);
	ct_run_end(&b.rec, rs, out->message);
	emit(&b, "done", -1, out->exit_code == 0 ? CT_BACKUP_INFO : out->exit_code == 1 ?
	     CT_BACKUP_WARN : CT_BACKUP_ERROR, "%s", out->message);
	ct_run_notify(&b.rec, ct_config_notify(b.cfg, o->job), note, sizeof(note));
	if (note[0])
		emit(&b, "notify", -1, CT_BACKUP_WARN, "%s", note);
	rc = 0;
out:
	if (rc < 0 && ct_run_cancelled(&b.rec))
		out->exit_code = 1;
	if (rc < 0) {
		out->interrupted = ct_run_cancelled(&b.rec);
		snprintf(out->message, sizeof(out->message), "%s", e->msg);
	}
	ct_run_close(&b.rec);   /* unbinds the session, so it is logged out */
	if (b.m) {   /* the report points into the model: released first, under its lock */
		ct_model_lock(b.m);
		ct_chain_report_release(&b.rep);
		ct_model_unlock(b.m);
	}
	if (b.ws_init) {
		ct_watchset_stop(&b.ws);
		ct_watchset_release(&b.ws);
	}
	ct_xapi_free(b.x);
	for (int i = 0; i < b.n_vms; i++) {
		free(b.vms[i].ref);
		free(b.vms[i].uuid);
		free(b.vms[i].name);
	}
	free(b.vms);
	return rc;
}
