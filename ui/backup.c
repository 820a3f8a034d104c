/* backup.c - `b` on a VM: a dialog with the gate's verdict and what will happen (focus on
 * Cancel); on confirmation the gated backup runs on the worker thread through the same
 * code as `chaintop backup --vm`, with progress in the status line and the run in Jobs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/backup.h"
#include "ui.h"
#include "lib/util.h"

struct backup_req {
	int pool;
	char pool_name[128];
	char vm_uuid[40];
	char vm_name[128];
	const struct ct_config *cfg;   /* borrowed: outlives the worker */
	struct ct_watch *shared;       /* the console's watcher of the pool */
};

static void gate_lines(struct ct_ui *ui, struct ct_ui_pool *p, const char *vm_ref, bool *refused,
		       bool *found, char *vm_name, size_t vm_name_len, char *vm_uuid, size_t uuid_len)
{
	struct ct_model *m = &p->w->model;
	struct ct_gate_result g;
	struct ct_chain_report rep;
	const struct ct_vm *vm;
	time_t now = time(NULL);
	char buf[512], su[9];

	*found = false;
	ct_model_lock(m);
	vm = ct_model_vm(m, vm_ref);
	if (!vm) {
		ct_model_unlock(m);
		return;
	}
	*found = true;
	ct_sanitize(vm->name_label, vm_name, vm_name_len);
	ct_sanitize(vm->o.uuid, vm_uuid, uuid_len);
	ct_dialog_line(ui, "Pool '%s', VM '%s' (uuid %s), %s", p->pv.name, vm_name,
		       ct_short_uuid(vm_uuid, su), ct_power_state_name(vm->power_state));
	ct_dialog_line(ui, "%s", "");
	memset(&g, 0, sizeof(g));
	/* judged afresh: the dialog must show the verdict of this moment, not of the last redraw */
	ct_chain_eval(m, ui->cfg, p->w->conf, now, NULL, &rep);
	ct_chain_gate_vm(&rep, m, ui->cfg, p->w->conf, NULL, vm, now, &g);
	ct_chain_report_release(&rep);
	*refused = !g.ok;
	if (g.ok) {
		ct_dialog_line(ui, "Gate verdict: OK - every disk is within its limits now.");
	} else {
		ct_dialog_line(ui, "Gate verdict: REFUSED - a snapshot now would outrun the SR's coalescing:");
		for (int i = 0; i < g.n_reasons; i++) {
			ct_sanitize(g.reasons[i], buf, sizeof(buf));
			ct_dialog_line(ui, "  - %s", buf);
		}
	}
	if (g.n_disks > 0)
		ct_dialog_line(ui, "Disks as judged:");
	for (int i = 0; i < g.n_disks; i++) {
		const struct ct_gate_disk *d = &g.disks[i];
		char dev[32], name[128], chain[400];

		ct_sanitize(d->vbd && d->vbd->device ? d->vbd->device : "?", dev, sizeof(dev));
		ct_sanitize(d->vdi ? d->vdi->name_label : "?", name, sizeof(name));
		ct_sanitize(d->chain ? d->chain : "", chain, sizeof(chain));
		ct_dialog_line(ui, "  %s '%s': depth %d, %d stacked, %d pending", dev, name, d->depth,
			       d->stacked, d->pending);
		if (chain[0])
			ct_dialog_line(ui, "    chain: %s", chain);
	}
	ct_gate_result_release(&g);
	ct_model_unlock(m);
}

static void plan_lines(struct ct_ui *ui, const char *pool, const char *vm, bool refused)
{
	const struct ct_gate_conf *g = &ui->cfg->gate;
	char wt[32];

	ct_format_duration(g->wait_timeout, wt, sizeof(wt));
	ct_dialog_line(ui, "%s", "");
	ct_dialog_line(ui, "What will happen (ad hoc run, recorded as job 'adhoc'; nothing else is touched):");
	ct_dialog_line(ui, "  1. the gate is judged again on fresh data right before the snapshot;");
	if (refused && g->policy == CT_GATE_WAIT)
		ct_dialog_line(ui, "     it refuses now: policy 'wait' re-judges on every change for up to %s, then gives up (skipped)", wt);
	else if (refused)
		ct_dialog_line(ui, "     it refuses now: policy 'skip' records the VM as skipped with the reasons above, no snapshot");
	ct_dialog_line(ui, "  2. Async.VM.snapshot of VM '%s' on pool '%s', its task followed to the end;", vm, pool);
	ct_dialog_line(ui, "  3. VM.add_to_other_config / VDI.add_to_other_config: tags chaintop:job, chaintop:vm,");
	ct_dialog_line(ui, "     chaintop:time, chaintop:run on the snapshot and its disks;");
	ct_dialog_line(ui, "  4. every step recorded in the job history: the result shows in the Jobs view (4).");
	ct_dialog_line(ui, "No export and no retention for an ad hoc run: older snapshots stay as they are.");
	ct_dialog_line(ui, "Progress shows on the status line; the console stays usable meanwhile.");
}

static bool row_vm(struct ct_ui *ui, const struct ct_row *r, char *ref, size_t len)
{
	(void)ui;
	if (!r || !r->vm_ref[0])
		return false;
	snprintf(ref, len, "%s", r->vm_ref);
	return true;
}

static void backup_confirmed(struct ct_ui *ui, void *payload);

void ct_backup_start_dialog(struct ct_ui *ui, const struct ct_row *r)
{
	struct backup_req *req;
	struct ct_ui_pool *p;
	char vm_ref[80], title[192];
	bool refused = false, found = false;

	if (!row_vm(ui, r, vm_ref, sizeof(vm_ref))) {
		ct_status_msg(ui, MSG_INFO, "select a VM (v groups by VM) or one of its live disks, then b");
		return;
	}
	if (ct_worker_busy(&ui->worker)) {
		ct_status_msg(ui, MSG_WARN, "%s is still running; one action at a time", ui->worker.what);
		return;
	}
	p = &ui->pools[r->pool];
	if (p->pv.state != CT_POOL_CONNECTED || p->pv.stale) {
		ct_status_msg(ui, MSG_WARN, "pool '%s' is not connected (its data is stale); backup waits until it is back",
			      p->pv.name);
		return;
	}
	req = ct_xcalloc(1, sizeof(*req));
	req->pool = r->pool;
	snprintf(req->pool_name, sizeof(req->pool_name), "%s", p->pv.name);
	snprintf(title, sizeof(title), "Gated backup of '%s'", r->vm_name);
	ct_dialog_open(ui, title, "Run backup");
	gate_lines(ui, p, vm_ref, &refused, &found, req->vm_name, sizeof(req->vm_name), req->vm_uuid,
		   sizeof(req->vm_uuid));
	if (!found) {
		ct_dialog_close(ui);
		free(req);
		ct_status_msg(ui, MSG_WARN, "VM '%s' is no longer in pool '%s'", r->vm_name, p->pv.name);
		return;
	}
	plan_lines(ui, req->pool_name, req->vm_name, refused);
	req->cfg = ui->cfg;
	req->shared = p->w;
	ct_dialog_action(ui, backup_confirmed, req, free);
}

static void on_progress(void *ctx, const struct ct_backup_progress *p)
{
	struct ct_ui_worker *w = ctx;
	char pct[16];

	pct[0] = '\0';
	if (p->percent >= 0)
		snprintf(pct, sizeof(pct), " %.0f%%", p->percent);
	if (p->message && *p->message)
		ct_ui_worker_progress(w, "%s", p->message);
	else
		ct_ui_worker_progress(w, "%s%s", p->step ? p->step : "", pct);
}

static void backup_work(struct ct_ui_worker *w, void *arg)
{
	struct backup_req *r = arg;
	const char *sel[1] = { r->vm_uuid };
	struct ct_backup_opts o;
	struct ct_backup_summary sum;
	struct ct_err e;

	memset(&o, 0, sizeof(o));
	memset(&sum, 0, sizeof(sum));
	ct_err_init(&e);
	o.cfg = r->cfg;
	o.pool = r->pool_name;
	o.vms = sel;
	o.n_vms = 1;
	o.wait_override = -1;
	o.cancel = &w->cancel;
	o.shared = r->shared;
	o.progress = on_progress;
	o.ctx = w;
	if (ct_backup_run(&o, &sum, &e) < 0) {
		ct_ui_worker_finish(w, MSG_ERROR, sum.run_id, "backup of VM '%s' did not run: %s",
				    r->vm_name, e.msg);
		return;
	}
	ct_ui_worker_finish(w, sum.exit_code == 0 ? MSG_INFO : sum.exit_code == 1 ? MSG_WARN : MSG_ERROR,
			    sum.run_id, "backup of VM '%s': %s (run %lld in the Jobs view, 4)", r->vm_name,
			    sum.message, (long long)sum.run_id);
}

static void backup_confirmed(struct ct_ui *ui, void *payload)
{
	struct backup_req *req = payload;
	char what[320];

	if (!req)
		return;
	snprintf(what, sizeof(what), "backup of VM '%s' on pool '%s'", req->vm_name, req->pool_name);
	ct_worker_start(ui, what, backup_work, req, free);   /* the worker owns req now */
}
