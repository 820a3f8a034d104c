/* scan.c - `S` on an SR: a dialog naming the pool, the SR and the exact call (focus on
 * Cancel); on confirmation SR.scan runs on the worker thread with its own session, as
 * `chaintop scan --sr` does. SM rescans the SR and kicks its garbage collector. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"
#include "lib/util.h"
#include "watch/watch.h"
#include "xapi/xapi.h"

struct scan_req {
	char pool_name[128];
	char sr_ref[80], sr_uuid[40], sr_name[192];
	const struct ct_pool_conf *pc;   /* borrowed: the configuration outlives the worker */
};

static void scan_confirmed(struct ct_ui *ui, void *payload);

void ct_scan_start_dialog(struct ct_ui *ui, const struct ct_row *r)
{
	struct ct_ui_pool *p;
	struct scan_req *req;
	const struct ct_sr *sr;
	struct ct_model *m;
	char title[256], type[32];

	if (!r || r->cls != CT_SR) {
		ct_status_msg(ui, MSG_INFO, "select an SR row, then S to scan it (SR.scan kicks its garbage collector)");
		return;
	}
	if (ct_worker_busy(&ui->worker)) {
		ct_status_msg(ui, MSG_WARN, "%s is still running; one action at a time", ui->worker.what);
		return;
	}
	p = &ui->pools[r->pool];
	if (p->pv.state != CT_POOL_CONNECTED || p->pv.stale) {
		ct_status_msg(ui, MSG_WARN, "pool '%s' is not connected (its data is stale); scan it once it is back",
			      p->pv.name);
		return;
	}
	m = &p->w->model;
	req = ct_xcalloc(1, sizeof(*req));
	ct_model_lock(m);
	sr = ct_model_sr(m, r->ref);
	if (sr) {
		snprintf(req->sr_ref, sizeof(req->sr_ref), "%s", sr->o.ref);
		ct_sanitize(sr->o.uuid, req->sr_uuid, sizeof(req->sr_uuid));
		ct_sanitize(sr->name_label, req->sr_name, sizeof(req->sr_name));
		ct_sanitize(sr->type, type, sizeof(type));
	}
	ct_model_unlock(m);
	if (!sr) {
		free(req);
		ct_status_msg(ui, MSG_WARN, "SR '%s' is no longer in pool '%s'", r->name, p->pv.name);
		return;
	}
	snprintf(req->pool_name, sizeof(req->pool_name), "%s", p->pv.name);
	req->pc = p->w->conf;
	snprintf(title, sizeof(title), "Scan SR '%s'", req->sr_name);
	ct_dialog_open(ui, title, "Scan SR");
	ct_dialog_line(ui, "Pool '%s', SR '%s' (uuid %s, type %s)", req->pool_name, req->sr_name,
		       req->sr_uuid, type);
	ct_dialog_line(ui, "%s", "");
	ct_dialog_line(ui, "What will happen: one call, on a session of its own:");
	ct_dialog_line(ui, "  SR.scan %s  (SR '%s' of pool '%s')", req->sr_ref, req->sr_name,
		       req->pool_name);
	ct_dialog_line(ui, "SM rereads the SR's volumes (new ones are introduced, records of volumes");
	ct_dialog_line(ui, "that are gone are forgotten) and starts its garbage collector when there is work.");
	ct_dialog_line(ui, "The result shows on the status line; the GC's task then shows on the SR.");
	ct_dialog_action(ui, scan_confirmed, req, free);
}

static void scan_work(struct ct_ui_worker *w, void *arg)
{
	struct scan_req *r = arg;
	struct ct_xapi *x = ct_watch_new_session(r->pc);
	struct ct_xarg a = CT_XSTR(r->sr_ref);
	struct ct_err e;

	ct_err_init(&e);
	ct_ui_worker_progress(w, "SR.scan of SR '%s'", r->sr_name);
	if (!x || ct_xapi_login(x, &e) < 0 || ct_xapi_call(x, "SR.scan", &a, 1, NULL, &e) < 0)
		ct_ui_worker_finish(w, MSG_ERROR, 0, "SR.scan of SR '%s' (%s) of pool '%s' failed: %s",
				    r->sr_name, r->sr_uuid, r->pool_name, x ? e.msg : "no session");
	else
		ct_ui_worker_finish(w, MSG_INFO, 0, "SR '%s' of pool '%s' scanned: SM starts its garbage "
				    "collector when there is work", r->sr_name, r->pool_name);
	ct_xapi_free(x);
}

static void scan_confirmed(struct ct_ui *ui, void *payload)
{
	struct scan_req *req = payload;
	char what[320];

	if (!req)
		return;
	snprintf(what, sizeof(what), "SR.scan of SR '%.150s' on pool '%.120s'", req->sr_name,
		 req->pool_name);
	ct_worker_start(ui, what, scan_work, req, free);   /* the worker owns req now */
}
