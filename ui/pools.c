/* pools.c - each pool's watcher state, rows and problems, rebuilt from its model only when
 * the model or the pool's state changed (under the model's lock; what is shown afterwards
 * are copies). Connection errors go to the message history whole. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"
#include "lib/util.h"

void ct_pool_status(struct ct_ui_pool *p)
{
	struct ct_watch *w = p->w;

	p->pv.name = w->conf->name;
	p->pv.state = w->state;
	p->pv.retries = w->retries;
	p->pv.loaded = w->loaded;
	p->pv.stale = w->stale;
	p->pv.last_event = w->last_event;
	p->pv.last_contact = w->last_contact;
	p->pv.read_only = p->read_only;
	ct_sanitize(w->error, p->pv.error, sizeof(p->pv.error));
	p->pv.held = w->held;
	p->have_cert = w->have_cert;
	if (w->have_cert)
		p->cert = w->cert;
	p->pv.waiting_since = w->waiting_since;
	p->pv.give_up = w->give_up;
	p->pv.due_s = (int)(w->reply_due - w->waiting_since);
	p->pv.unresponsive = w->reply_due > 0 && time(NULL) >= w->reply_due;
	ct_sanitize(w->waiting_for, p->pv.waiting_for, sizeof(p->pv.waiting_for));
}

static void count_problem(struct ct_ui_pool *p, enum ct_severity sev)
{
	if (sev == CT_SEV_CRITICAL)
		p->pv.n_crit++;
	else if (sev == CT_SEV_WARNING)
		p->pv.n_warn++;
	else if (sev == CT_SEV_UNKNOWN)
		p->pv.n_unknown++;
}

/* A pool the watcher cannot reach is a problem of its own (UNKNOWN, as `check` says), with
 * its last error; the retry time is worded when drawn, so it counts down. */
bool ct_pool_down(const struct ct_pool_view *pv)
{
	return pv->state == CT_POOL_RECONNECTING || pv->state == CT_POOL_AUTH_FAILED ||
	       pv->state == CT_POOL_FAILED || pv->unresponsive;
}

void ct_ui_bell(struct ct_ui *ui)
{
	if (ui->cfg->ui_bell)
		ui->bell_pending = true;
}

/* A CRITICAL problem that was not there at the last build, or the pool going down. While
 * the pool is down its last problems are kept, so its reconnection does not ring again. */
static void bell_check(struct ct_ui *ui, struct ct_ui_pool *p)
{
	struct ct_strset now = { 0 };
	bool down = ct_pool_down(&p->pv), ring = false;
	char key[700];

	if (p->bell_primed && down && !p->was_down)
		ring = true;
	p->was_down = down;
	if (!down) {
		for (int k = 0; k < p->n_problems; k++) {
			const struct ct_ui_problem *q = &p->problems[k];

			if (q->sev != CT_SEV_CRITICAL || q->pool_down)
				continue;
			snprintf(key, sizeof(key), "%d|%s|%s", (int)q->cls, q->uuid, q->reason);
			ct_strset_add(&now, key);
			if (p->bell_primed && !ct_strset_has(&p->crit_seen, key))
				ring = true;
		}
		ct_strset_release(&p->crit_seen);
		p->crit_seen = now;
		if (p->pv.loaded && p->have_rep)
			p->bell_primed = true;
	}
	if (ring)
		ct_ui_bell(ui);
}

/* The Health view's POOL column names the pool: its reasons need not. */
static void drop_pool_name(char *reason, const char *pool)
{
	char pat[160];
	char *at;
	size_t l;

	snprintf(pat, sizeof(pat), " of pool '%s'", pool ? pool : "");
	l = strlen(pat);
	while ((at = strstr(reason, pat)))
		memmove(at, at + l, strlen(at + l) + 1);
}

/* Messages keep every connection error whole (the Health row and the header cut them). */
static void post_connection_error(struct ct_ui *ui, struct ct_ui_pool *p)
{
	if (p->pv.error[0] && strcmp(p->pv.error, p->posted_err)) {
		ct_status_msg(ui, MSG_ERROR, "pool '%s'%s: %s", p->pv.name,
			      p->pv.held ? " waits for you (R retries)" : "", p->pv.error);
		snprintf(p->posted_err, sizeof(p->posted_err), "%s", p->pv.error);
	} else if (!p->pv.error[0]) {
		p->posted_err[0] = '\0';
	}
	if (p->pv.unresponsive && !p->posted_unresp)
		ct_status_msg(ui, MSG_WARN, "pool '%s' is not answering: %s sent %llds ago got no "
			      "reply; chaintop gives up on it %s and reconnects", p->pv.name,
			      p->pv.waiting_for, (long long)(time(NULL) - p->pv.waiting_since),
			      p->pv.give_up > time(NULL) ? "soon" : "now");
	p->posted_unresp = p->pv.unresponsive;
}

static void copy_problems(struct ct_ui_pool *p, int pi, const struct ct_chain_report *rep)
{
	int n = rep && rep->n_problems > 0 ? rep->n_problems : 0;

	free(p->problems);
	p->problems = NULL;
	p->n_problems = 0;
	p->pv.n_crit = p->pv.n_warn = p->pv.n_unknown = 0;
	p->problems = ct_xcalloc((size_t)n + 1, sizeof(*p->problems));
	if (ct_pool_down(&p->pv)) {
		struct ct_ui_problem *d = &p->problems[p->n_problems++];
		const char *what = p->pv.held ? "waiting for you" :
				   p->pv.unresponsive ? "is not answering" :
				   p->pv.state == CT_POOL_AUTH_FAILED ? "refuses the login"
				   : p->pv.state == CT_POOL_FAILED ? "could not be loaded" : "is unreachable";

		d->pool = pi;
		d->sev = CT_SEV_UNKNOWN;
		d->cls = CT_POOL;
		d->sr_index = -1;
		d->group = -1;
		d->pool_down = true;
		d->kind = CT_PK_POOL_DOWN;
		d->next_retry = p->pv.unresponsive ? p->pv.give_up : p->w->next_retry;
		d->last_contact = p->pv.last_contact;
		d->held = p->pv.held;
		d->unresponsive = p->pv.unresponsive;
		d->waiting_since = p->pv.waiting_since;
		ct_fmt(d->reason, sizeof(d->reason), "pool '%s' %s", p->pv.name, what);
		d->head_len = (int)strlen(d->reason);
		if (p->pv.unresponsive)
			ct_fmt(d->reason + d->head_len, sizeof(d->reason) - (size_t)d->head_len,
			       ": %s got no reply (due within %d s); the master may be hung or "
			       "overloaded%s%s", p->pv.waiting_for, p->pv.due_s,
			       p->pv.error[0] ? "; the last error: " : "", p->pv.error);
		else
			ct_fmt(d->reason + d->head_len, sizeof(d->reason) - (size_t)d->head_len, ": %s",
			       p->pv.error[0] ? p->pv.error : "no reason given yet");
		count_problem(p, d->sev);
	}
	for (int i = 0; i < n; i++) {
		const struct ct_problem *src = &rep->problems[i];
		struct ct_ui_problem *d = &p->problems[p->n_problems++];

		d->pool = pi;
		d->sev = src->severity;
		d->cls = src->cls;
		d->group = -1;
		ct_sanitize(src->uuid, d->uuid, sizeof(d->uuid));
		ct_sanitize(src->ref, d->ref, sizeof(d->ref));
		ct_sanitize(src->reason, d->reason, sizeof(d->reason));
		d->kind = src->kind;
		d->sr_index = src->sr_index >= 0 && src->sr_index < rep->n_srs ? src->sr_index : -1;
		if (d->sr_index >= 0) {
			const struct ct_sr_verdict *sv = &rep->srs[d->sr_index];

			ct_sanitize(sv->sr->name_label ? sv->sr->name_label : sv->sr->o.uuid, d->sr_name,
				    sizeof(d->sr_name));
			d->sr_free_percent = sv->free_percent;
			d->sr_full = sv->gc_no_space || (sv->sr->physical_size > 0 &&
							 sv->free_percent < sv->health.crit_free_percent);
		}
		drop_pool_name(d->reason, p->pv.name);
		if (d->cls == CT_SR && d->sr_full)
			ct_fmt(d->lead, sizeof(d->lead), "%.1f%% free", d->sr_free_percent);
		if (d->cls == CT_VDI) {
			for (int k = 0; k < rep->n_vdis; k++) {
				const struct ct_vdi_verdict *vv = &rep->vdis[k];
				const struct ct_sr_verdict *sv;

				if (!vv->vdi->o.uuid || strcmp(vv->vdi->o.uuid, src->uuid ? src->uuid : ""))
					continue;
				sv = &rep->srs[vv->sr_index];
				d->deep = vv->state == CT_VS_DEEP;
				if (vv->state == CT_VS_DEEP)
					ct_fmt(d->lead, sizeof(d->lead), "%d VHDs deep (%s at %d)", vv->depth,
					       vv->severity == CT_SEV_CRITICAL ? "critical" : "warning",
					       vv->severity == CT_SEV_CRITICAL ? sv->health.crit_depth : sv->health.warn_depth);
				else if (vv->state == CT_VS_ORPHAN)
					ct_fmt(d->lead, sizeof(d->lead), "not used by any VM");
				else if (vv->state == CT_VS_BROKEN)
					ct_fmt(d->lead, sizeof(d->lead), "%s", vv->cycle ? "vhd-parent cycle" : "parent VHD missing");
				if (vv->vm && vv->vm->o.uuid)
					ct_sanitize(vv->vm->o.uuid, d->vm_uuid, sizeof(d->vm_uuid));
				break;
			}
		} else if (d->cls == CT_VM) {
			/* the gate's refusal carries the kind of its cause */
			d->space = src->kind == CT_PK_SR_FREE;
			d->deep = src->kind == CT_PK_DEEP;
		}
		count_problem(p, d->sev);
	}
}

/* Rebuild the rows and problems of every pool whose model or state changed; true when
 * any was rebuilt. */
bool ct_pools_rebuild(struct ct_ui *ui)
{
	time_t now = time(NULL);
	bool any = false;
	int sel_pool = -1;

	{
		const struct ct_row *sel = ct_tree_selected(ui);

		if (sel)
			sel_pool = sel->pool;
	}
	{
		for (int i = 0; i < ui->n_pools; i++) {
			struct ct_ui_pool *p = &ui->pools[i];
			struct ct_model *m = &p->w->model;
			long sig;

			ct_model_lock(m);
			ct_pool_status(p);
			/* pool state shows in its rows (stale marks, the pool row's text) */
			sig = (((long)p->pv.state * 1000003L + p->pv.retries) * 4 + p->pv.stale * 2 +
			       p->pv.loaded) * 4 + p->pv.held * 2 + p->pv.unresponsive;
			post_connection_error(ui, p);
			if (p->built && p->built_gen == m->generation && p->built_by_vm == ui->by_vm &&
			    p->built_sig == sig && now - p->built_at < 60) {
				ct_model_unlock(m);
				continue;
			}
			if (p->pv.loaded || ct_model_count(m, CT_SR) > 0) {
				/* judges again on the kept structure when only tasks, messages,
				 * SR usage or the time changed */
				p->have_rep = ct_chain_refresh(m, ui->cfg, p->w->conf, now, &p->stall,
							       &p->rep) == 0;
				if (!p->have_rep)
					ct_chain_report_release(&p->rep);
				if (p->have_rep && !p->pv.loaded)
					p->pv.loaded = true;
			} else if (p->have_rep) {
				ct_chain_report_release(&p->rep);
				p->have_rep = false;
			}
			p->rep_gen = m->generation;
			copy_problems(p, i, p->have_rep ? &p->rep : NULL);
			bell_check(ui, p);
			p->rows.n = 0;
			ct_rows_build_pool(&p->rows, i, &p->pv, m, p->have_rep ? &p->rep : NULL,
					   ui->by_vm, ui->theme.utf8, now);
			if (ct_tree_needs_detail(ui) && i == sel_pool) {
				const struct ct_row *r = ct_tree_find_row(&p->rows, ui->tree.key);

				if (r)
					ct_tree_detail_from(ui, p, m, p->have_rep ? &p->rep : NULL, r, now);
			}
			p->built = true;
			p->built_gen = m->generation;
			p->built_by_vm = ui->by_vm;
			p->built_at = now;
			p->built_sig = sig;
			ct_model_unlock(m);
			any = true;
		}
	}
	return any;
}
