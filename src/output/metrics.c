/* metrics.c - see metrics.h. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "output/metrics.h"

enum fam {
	F_POOL_UP, F_POOL_STATE, F_POOL_LAST_EVENT_AGE, F_POOL_DATA_AGE, F_POOL_RETRIES,
	F_POOL_SEVERITY,
	F_POOL_DEPTH, F_POOL_PENDING, F_POOL_STACKED, F_POOL_ORPHAN, F_POOL_GARBAGE,
	F_POOL_BROKEN, F_POOL_REFUSED, F_POOL_CRIT, F_POOL_WARN, F_POOL_FREE, F_POOL_SIZE,
	F_PROBLEMS,
	F_SR_DEPTH, F_SR_PENDING, F_SR_STACKED, F_SR_ORPHAN, F_SR_GARBAGE, F_SR_BROKEN,
	F_SR_DEEP, F_SR_FREE, F_SR_SIZE, F_SR_USED, F_SR_FREE_RATIO, F_SR_GC_RUNNING,
	F_SR_GC_PROGRESS, F_SR_GC_PAUSED, F_SR_GC_STALLED, F_SR_GC_NO_SPACE, F_SR_WORK,
	F_SR_RATE, F_SR_ETA, F_SR_REFUSED, F_SR_SEVERITY,
	F_PROBLEM_OBJECT,
	F_JOB_START, F_JOB_END, F_JOB_DURATION, F_JOB_STATUS, F_JOB_ITEMS, F_JOB_BYTES, F_JOB_FREED,
	F_JOB_LAST_SUCCESS, F_VM_LAST_SUCCESS,
	F_CHECK_TS,
	F_N
};

static const struct {
	const char *name, *help;
} fams[F_N] = {
	[F_POOL_UP] = { "chaintop_pool_up", "1 when the pool's figures are current (loaded, and for serve: connected and following events), 0 when not." },
	[F_POOL_STATE] = { "chaintop_pool_state", "Connection state of the pool's watcher: 1 for the current state." },
	[F_POOL_LAST_EVENT_AGE] = { "chaintop_pool_last_event_age_seconds", "Seconds since the last change received from the pool (event.from)." },
	[F_POOL_DATA_AGE] = { "chaintop_pool_data_age_seconds", "How old the pool's figures are: 0 while connected, else seconds since the pool was last heard from (the figures are stale)." },
	[F_POOL_RETRIES] = { "chaintop_pool_reconnect_attempts", "Consecutive failed attempts to reach the pool (0 while connected)." },
	[F_POOL_SEVERITY] = { "chaintop_pool_severity", "Worst health severity of the pool (its check status): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN." },
	[F_POOL_DEPTH] = { "chaintop_pool_chain_depth_max", "Deepest VHD chain in the pool." },
	[F_POOL_PENDING] = { "chaintop_pool_vdis_pending_coalesce", "Coalesce links pending in the pool." },
	[F_POOL_STACKED] = { "chaintop_pool_vdis_stacked", "Disks over the stacked base copy tolerance in the pool." },
	[F_POOL_ORPHAN] = { "chaintop_pool_vdis_orphan", "Orphan VDIs in the pool." },
	[F_POOL_GARBAGE] = { "chaintop_pool_vdis_garbage", "Childless base copies in the pool." },
	[F_POOL_BROKEN] = { "chaintop_pool_vdis_broken", "Broken chain links in the pool." },
	[F_POOL_REFUSED] = { "chaintop_pool_vms_refused", "VMs the backup gate would refuse now." },
	[F_POOL_CRIT] = { "chaintop_pool_problems_critical", "CRITICAL problems in the pool." },
	[F_POOL_WARN] = { "chaintop_pool_problems_warning", "WARNING problems in the pool." },
	[F_POOL_FREE] = { "chaintop_pool_free_bytes", "Free bytes over the pool's VHD SRs." },
	[F_POOL_SIZE] = { "chaintop_pool_size_bytes", "Physical size in bytes of the pool's VHD SRs." },
	[F_PROBLEMS] = { "chaintop_problems", "Problems in the pool by kind and severity (the kinds of chaintop check)." },
	[F_SR_DEPTH] = { "chaintop_sr_chain_depth_max", "Deepest VHD chain on the SR (VHDs from a disk to its root)." },
	[F_SR_PENDING] = { "chaintop_sr_vdis_pending_coalesce", "Coalesce links the SR's garbage collector still has to do (shared ancestors once)." },
	[F_SR_STACKED] = { "chaintop_sr_vdis_stacked", "Disks with more stacked base copies above them than the gate tolerates." },
	[F_SR_ORPHAN] = { "chaintop_sr_vdis_orphan", "Snapshot or user VDIs that no VM uses." },
	[F_SR_GARBAGE] = { "chaintop_sr_vdis_garbage", "Base copies without children, waiting for the garbage collector." },
	[F_SR_BROKEN] = { "chaintop_sr_vdis_broken", "VDIs whose vhd-parent is missing or part of a cycle." },
	[F_SR_DEEP] = { "chaintop_sr_vdis_deep", "Disks at or beyond the warning depth." },
	[F_SR_FREE] = { "chaintop_sr_free_bytes", "Free space on the SR in bytes (physical size minus utilisation)." },
	[F_SR_SIZE] = { "chaintop_sr_size_bytes", "Physical size of the SR in bytes." },
	[F_SR_USED] = { "chaintop_sr_used_bytes", "Physical utilisation of the SR in bytes." },
	[F_SR_FREE_RATIO] = { "chaintop_sr_free_ratio", "Free space on the SR as a fraction (0..1) of its physical size." },
	[F_SR_GC_RUNNING] = { "chaintop_sr_gc_running", "1 while a Garbage Collection task runs on the SR." },
	[F_SR_GC_PROGRESS] = { "chaintop_sr_gc_progress", "Progress (0..1) of the SR's running Garbage Collection task." },
	[F_SR_GC_PAUSED] = { "chaintop_sr_gc_paused", "1 while the garbage collector is relinking a VDI of the SR (sm_config relinking)." },
	[F_SR_GC_STALLED] = { "chaintop_sr_gc_stalled", "1 when pending coalesce has not gone down for health.stall_after without GC progress." },
	[F_SR_GC_NO_SPACE] = { "chaintop_sr_gc_no_space", "1 when the SR's garbage collector recently reported it is out of space." },
	[F_SR_WORK] = { "chaintop_sr_coalesce_work_bytes", "Data the SR's garbage collector still has to merge, in bytes." },
	[F_SR_RATE] = { "chaintop_sr_coalesce_rate_bytes_per_second", "Measured merge rate of the SR's garbage collector (absent until measured)." },
	[F_SR_ETA] = { "chaintop_sr_coalesce_eta_seconds", "Seconds until the work left is merged at the measured rate (absent when unknown)." },
	[F_SR_REFUSED] = { "chaintop_sr_vms_refused", "VMs with a disk on the SR that the backup gate would refuse." },
	[F_SR_SEVERITY] = { "chaintop_sr_severity", "Worst health severity on the SR: 0 OK, 1 WARNING, 2 CRITICAL." },
	[F_PROBLEM_OBJECT] = { "chaintop_problem", "1 for each problem about one VDI, VM or SR (at most 200 a pool), with its kind and severity." },
	[F_JOB_START] = { "chaintop_job_last_run_start_timestamp_seconds", "When the job's last run started (Unix time)." },
	[F_JOB_END] = { "chaintop_job_last_run_end_timestamp_seconds", "When the job's last run ended (Unix time; absent while it runs)." },
	[F_JOB_DURATION] = { "chaintop_job_last_run_duration_seconds", "How long the job's last finished run took." },
	[F_JOB_STATUS] = { "chaintop_job_last_run_status", "1 for the status of the job's last run (running, success, failure, skipped, interrupted)." },
	[F_JOB_ITEMS] = { "chaintop_job_last_run_items", "Items of the job's last run by result: VMs for backups, snapshots and disks for prunes (ok = deleted)." },
	[F_JOB_BYTES] = { "chaintop_job_last_run_exported_bytes", "Bytes the job's last run exported." },
	[F_JOB_FREED] = { "chaintop_job_last_run_freed_bytes", "Bytes on disk of what the last prune run destroyed (back on the SRs once their garbage collector has run)." },
	[F_JOB_LAST_SUCCESS] = { "chaintop_job_last_success_timestamp_seconds", "When the job's last successful run ended (Unix time)." },
	[F_VM_LAST_SUCCESS] = { "chaintop_vm_last_backup_success_timestamp_seconds", "When the VM's last successful backup by the job ended (Unix time)." },
	[F_CHECK_TS] = { "chaintop_check_timestamp_seconds", "When chaintop check produced these figures." },
};

void ct_metrics_init(struct ct_metrics *m)
{
	memset(m, 0, sizeof(*m));
}

void ct_metrics_reset(struct ct_metrics *m)
{
	for (int i = 0; i < m->n; i++)
		free(m->s[i].labels);
	m->n = 0;
}

void ct_metrics_release(struct ct_metrics *m)
{
	ct_metrics_reset(m);
	free(m->s);
	memset(m, 0, sizeof(*m));
}

/* Labels as alternating key, value (NULL values are empty strings), ended by NULL. */
static void add(struct ct_metrics *m, enum fam f, double v, ...)
{
	struct ct_sb sb;
	va_list ap;
	const char *k;

	ct_sb_init(&sb);
	ct_sb_adds(&sb, "");
	va_start(ap, v);
	while ((k = va_arg(ap, const char *))) {
		const char *val = va_arg(ap, const char *);
		char buf[512];

		ct_sanitize(val ? val : "", buf, sizeof(buf));
		ct_sb_addf(&sb, "%s%s=\"", sb.len ? "," : "", k);
		for (const char *q = buf; *q; q++) {
			if (*q == '\\' || *q == '"')
				ct_sb_add(&sb, "\\", 1);
			ct_sb_add(&sb, q, 1);
		}
		ct_sb_add(&sb, "\"", 1);
	}
	va_end(ap);
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->s = ct_xrealloc(m->s, (size_t)m->cap * sizeof(*m->s));
	}
	m->s[m->n].fam = f;
	m->s[m->n].labels = ct_sb_detach(&sb);
	m->s[m->n].v = v;
	m->n++;
}

void ct_metrics_pool_status(struct ct_metrics *m, const struct ct_metrics_status *st, time_t now)
{
	add(m, F_POOL_UP, st->up, "pool", st->name, NULL);
	if (st->state)
		add(m, F_POOL_STATE, 1, "pool", st->name, "state", st->state, NULL);
	if (st->last_event > 0)
		add(m, F_POOL_LAST_EVENT_AGE, now > st->last_event ? (double)(now - st->last_event) : 0,
		    "pool", st->name, NULL);
	if (st->loaded)
		add(m, F_POOL_DATA_AGE, st->up || st->data_at <= 0 || now < st->data_at ? 0 :
		    (double)(now - st->data_at), "pool", st->name, NULL);
	if (st->state)   /* a long-running watcher's: a one-shot load has no retries */
		add(m, F_POOL_RETRIES, st->retries, "pool", st->name, NULL);
}

static void sr_labels_add(struct ct_metrics *m, enum fam f, double v, const char *pool,
			  const struct ct_sr *sr)
{
	add(m, f, v, "pool", pool, "sr", sr->name_label, "sr_uuid", sr->o.uuid, "type", sr->type,
	    NULL);
}

static void sr_figures(struct ct_metrics *m, const char *pool, const struct ct_sr_verdict *sv)
{
	const struct ct_sr *sr = sv->sr;

	sr_labels_add(m, F_SR_FREE, (double)sv->free_bytes, pool, sr);
	sr_labels_add(m, F_SR_SIZE, (double)sr->physical_size, pool, sr);
	sr_labels_add(m, F_SR_USED, (double)sr->physical_utilisation, pool, sr);
	if (sr->physical_size > 0)
		sr_labels_add(m, F_SR_FREE_RATIO, (double)sv->free_bytes / (double)sr->physical_size,
			      pool, sr);
	if (!sv->vhd)
		return;
	sr_labels_add(m, F_SR_DEPTH, sv->max_depth, pool, sr);
	sr_labels_add(m, F_SR_PENDING, sv->pending, pool, sr);
	sr_labels_add(m, F_SR_STACKED, sv->stacked, pool, sr);
	sr_labels_add(m, F_SR_ORPHAN, sv->orphans, pool, sr);
	sr_labels_add(m, F_SR_GARBAGE, sv->garbage, pool, sr);
	sr_labels_add(m, F_SR_BROKEN, sv->broken, pool, sr);
	sr_labels_add(m, F_SR_DEEP, sv->deep, pool, sr);
	sr_labels_add(m, F_SR_GC_RUNNING, sv->gc_progress >= 0, pool, sr);
	if (sv->gc_progress >= 0)
		sr_labels_add(m, F_SR_GC_PROGRESS, sv->gc_progress, pool, sr);
	sr_labels_add(m, F_SR_GC_PAUSED, sv->gc_paused, pool, sr);
	sr_labels_add(m, F_SR_GC_STALLED, sv->gc_stalled, pool, sr);
	sr_labels_add(m, F_SR_GC_NO_SPACE, sv->gc_no_space, pool, sr);
	sr_labels_add(m, F_SR_WORK, (double)sv->work_bytes, pool, sr);
	if (sv->rate > 0)
		sr_labels_add(m, F_SR_RATE, sv->rate, pool, sr);
	if (sv->eta >= 0)
		sr_labels_add(m, F_SR_ETA, (double)sv->eta, pool, sr);
	sr_labels_add(m, F_SR_REFUSED, sv->refused_vms, pool, sr);
	sr_labels_add(m, F_SR_SEVERITY, sv->severity, pool, sr);
}

static const char *sev_label(enum ct_severity s)
{
	return s == CT_SEV_CRITICAL ? "critical" : s == CT_SEV_WARNING ? "warning" :
	       s == CT_SEV_UNKNOWN ? "unknown" : "ok";
}

/* One series per problem about an object, deduplicated on (uuid, kind), capped. */
static void object_problems(struct ct_metrics *m, const struct ct_output_pool *p)
{
	const struct ct_chain_report *r = p->report;
	int first = m->n, shown = 0;

	for (int k = 0; k < r->n_problems && shown < CT_METRICS_VDI_PROBLEMS; k++) {
		const struct ct_problem *pb = &r->problems[k];
		const char *cls = NULL, *sr = NULL, *vm = NULL, *vdi = NULL;
		const struct ct_obj *o;
		bool dup = false;
		char want[160];

		if (pb->cls != CT_VDI && pb->cls != CT_VM && pb->cls != CT_SR)
			continue;
		o = pb->ref ? ct_model_find(p->model, pb->cls, pb->ref) : NULL;
		if (pb->sr_index >= 0 && pb->sr_index < r->n_srs)
			sr = r->srs[pb->sr_index].sr->name_label;
		if (pb->cls == CT_VDI) {
			const struct ct_vdi *v = (const struct ct_vdi *)o;
			int vi = v ? ct_chain_find_vdi(r, v) : -1;

			cls = "vdi";
			vdi = v ? v->name_label : NULL;
			if (vi >= 0) {
				const struct ct_vdi_verdict *vv = &r->vdis[vi];

				vm = vv->vm ? vv->vm->name_label :
				     vv->snapshot_vm ? vv->snapshot_vm->name_label : NULL;
				if (!sr && vv->sr_index >= 0)
					sr = r->srs[vv->sr_index].sr->name_label;
			}
		} else if (pb->cls == CT_VM) {
			cls = "vm";
			vm = o ? ((const struct ct_vm *)o)->name_label : NULL;
		} else {
			cls = "sr";
			if (o)
				sr = ((const struct ct_sr *)o)->name_label;
		}
		/* the same object and kind once (its worst, problems come sorted) */
		snprintf(want, sizeof(want), "uuid=\"%s\",kind=\"%s\"", pb->uuid ? pb->uuid : "",
			 ct_problem_kind_name(pb->kind));
		for (int i = first; i < m->n && !dup; i++)
			dup = strstr(m->s[i].labels, want) != NULL;
		if (dup)
			continue;
		add(m, F_PROBLEM_OBJECT, 1, "pool", p->name, "class", cls, "sr", sr, "vm", vm,
		    "vdi", vdi, "uuid", pb->uuid, "kind", ct_problem_kind_name(pb->kind),
		    "severity", sev_label(pb->severity), NULL);
		shown++;
	}
}

void ct_metrics_pool(struct ct_metrics *m, const struct ct_output_pool *p)
{
	const struct ct_chain_report *r = p->report;
	int max_depth = 0, pending = 0, stacked = 0, orphans = 0, garbage = 0, broken = 0;
	int refused = 0, crit = 0, warn = 0;
	double free_b = 0, size_b = 0;
	static const enum ct_problem_kind kinds[] = {
		CT_PK_OTHER, CT_PK_BROKEN, CT_PK_DEEP, CT_PK_STACKED, CT_PK_ORPHAN, CT_PK_SR_FREE,
		CT_PK_GC_NO_SPACE, CT_PK_GC_NEEDS_SPACE, CT_PK_COALESCE_ERROR, CT_PK_GC_FAILED,
		CT_PK_GC_BLOCKED, CT_PK_PENDING, CT_PK_GC_IDLE, CT_PK_GC_STALLED,
		CT_PK_PAUSED_FROZEN, CT_PK_UNPAUSE_FAILED, CT_PK_DOM0_ATTACHED,
		CT_PK_FALLS_BEHIND,
	};
	int nk = (int)(sizeof(kinds) / sizeof(kinds[0]));
	int counts[sizeof(kinds) / sizeof(kinds[0])][2];

	if (!p->connected || !r) {
		add(m, F_POOL_SEVERITY, CT_SEV_UNKNOWN, "pool", p->name, NULL);
		return;
	}
	add(m, F_POOL_SEVERITY, r->worst, "pool", p->name, NULL);
	memset(counts, 0, sizeof(counts));
	for (int k = 0; k < r->n_problems; k++) {
		const struct ct_problem *pb = &r->problems[k];

		if (pb->severity == CT_SEV_CRITICAL)
			crit++;
		else if (pb->severity == CT_SEV_WARNING)
			warn++;
		for (int i = 0; i < nk; i++)
			if (kinds[i] == pb->kind && (pb->severity == CT_SEV_CRITICAL ||
						    pb->severity == CT_SEV_WARNING))
				counts[i][pb->severity == CT_SEV_CRITICAL]++;
	}
	for (int k = 0; k < r->n_srs; k++) {
		const struct ct_sr_verdict *sv = &r->srs[k];

		if (sv->max_depth > max_depth)
			max_depth = sv->max_depth;
		pending += sv->pending;
		stacked += sv->stacked;
		orphans += sv->orphans;
		garbage += sv->garbage;
		broken += sv->broken;
		if (sv->vhd && sv->sr->physical_size > 0) {
			free_b += (double)sv->free_bytes;
			size_b += (double)sv->sr->physical_size;
		}
	}
	for (int k = 0; k < r->n_vms; k++)
		refused += r->vms[k].refused;
	add(m, F_POOL_DEPTH, max_depth, "pool", p->name, NULL);
	add(m, F_POOL_PENDING, pending, "pool", p->name, NULL);
	add(m, F_POOL_STACKED, stacked, "pool", p->name, NULL);
	add(m, F_POOL_ORPHAN, orphans, "pool", p->name, NULL);
	add(m, F_POOL_GARBAGE, garbage, "pool", p->name, NULL);
	add(m, F_POOL_BROKEN, broken, "pool", p->name, NULL);
	add(m, F_POOL_REFUSED, refused, "pool", p->name, NULL);
	add(m, F_POOL_CRIT, crit, "pool", p->name, NULL);
	add(m, F_POOL_WARN, warn, "pool", p->name, NULL);
	add(m, F_POOL_FREE, free_b, "pool", p->name, NULL);
	add(m, F_POOL_SIZE, size_b, "pool", p->name, NULL);
	/* every kind at both severities, zeros included: alert rules compare, not look for
	 * absent series */
	for (int i = 0; i < nk; i++)
		for (int s = 1; s >= 0; s--)
			add(m, F_PROBLEMS, counts[i][s], "pool", p->name, "kind",
			    ct_problem_kind_name(kinds[i]), "severity", s ? "critical" : "warning",
			    NULL);
	for (int k = 0; k < r->n_srs; k++)
		sr_figures(m, p->name, &r->srs[k]);
	object_problems(m, p);
}

void ct_metrics_check_timestamp(struct ct_metrics *m, time_t now)
{
	add(m, F_CHECK_TS, (double)now, NULL);
}

/* ---- job history ---------------------------------------------------------------------- */

struct seen_job {
	const char *kind, *job, *pool;   /* borrowed from the runs */
	bool have_last, have_success;
};

int ct_metrics_jobs(struct ct_metrics *m, struct ct_jobstore *js, int max_runs, struct ct_err *e)
{
	struct ct_run_rec *runs = NULL;
	struct seen_job *jobs;
	struct ct_strset vms_seen;
	int n = 0, nj = 0;

	if (ct_jobstore_list_runs(js, max_runs, false, &runs, &n, e) < 0)
		return -1;
	jobs = ct_xcalloc((size_t)n + 1, sizeof(*jobs));
	memset(&vms_seen, 0, sizeof(vms_seen));
	for (int i = 0; i < n; i++) {   /* newest first */
		struct ct_run_rec *r = &runs[i];
		struct seen_job *sj = NULL;
		const char *st = ct_run_status_name(r->status);

		if (r->dry_run)
			continue;   /* a rehearsal changed nothing: not the job's last run */
		for (int k = 0; k < nj && !sj; k++)
			if (!strcmp(jobs[k].kind, r->kind ? r->kind : "") &&
			    !strcmp(jobs[k].job, r->job ? r->job : "") &&
			    !strcmp(jobs[k].pool, r->pool ? r->pool : ""))
				sj = &jobs[k];
		if (!sj) {
			sj = &jobs[nj++];
			sj->kind = r->kind ? r->kind : "";
			sj->job = r->job ? r->job : "";
			sj->pool = r->pool ? r->pool : "";
		}
		if (!sj->have_last) {
			struct ct_run_rec full;
			int64_t bytes = 0;

			sj->have_last = true;
			add(m, F_JOB_START, (double)r->start, "job_name", sj->job, "kind", sj->kind, "pool",
			    sj->pool, NULL);
			if (r->end > 0) {
				add(m, F_JOB_END, (double)r->end, "job_name", sj->job, "kind", sj->kind,
				    "pool", sj->pool, NULL);
				add(m, F_JOB_DURATION, r->end >= r->start ? (double)(r->end - r->start) : 0,
				    "job_name", sj->job, "kind", sj->kind, "pool", sj->pool, NULL);
			}
			add(m, F_JOB_STATUS, 1, "job_name", sj->job, "kind", sj->kind, "pool", sj->pool,
			    "status", st, NULL);
			add(m, F_JOB_ITEMS, r->n_ok, "job_name", sj->job, "kind", sj->kind, "pool", sj->pool,
			    "result", "ok", NULL);
			add(m, F_JOB_ITEMS, r->n_skipped, "job_name", sj->job, "kind", sj->kind, "pool",
			    sj->pool, "result", "skipped", NULL);
			add(m, F_JOB_ITEMS, r->n_failed, "job_name", sj->job, "kind", sj->kind, "pool",
			    sj->pool, "result", "failed", NULL);
			if (!strcmp(sj->kind, "backup") || !strcmp(sj->kind, "prune")) {
				memset(&full, 0, sizeof(full));
				if (ct_jobstore_get_run(js, r->id, &full, e) < 0)
					goto fail;
				for (int k = 0; k < full.n_items; k++)
					bytes += full.items[k].bytes;
				ct_run_rec_release(&full);
				add(m, strcmp(sj->kind, "prune") ? F_JOB_BYTES : F_JOB_FREED, (double)bytes,
				    "job_name", sj->job, "pool", sj->pool, NULL);
			}
		}
		if (!sj->have_success && r->status == CT_RUN_SUCCESS && r->end > 0) {
			sj->have_success = true;
			add(m, F_JOB_LAST_SUCCESS, (double)r->end, "job_name", sj->job, "kind", sj->kind,
			    "pool", sj->pool, NULL);
		}
		/* each VM's newest successful backup: the items of backup runs, newest first */
		if (!strcmp(sj->kind, "backup") && r->status != CT_RUN_RUNNING) {
			struct ct_run_rec full;

			memset(&full, 0, sizeof(full));
			if (ct_jobstore_get_run(js, r->id, &full, e) < 0)
				goto fail;
			for (int k = 0; k < full.n_items; k++) {
				const struct ct_item_rec *it = &full.items[k];
				char *key;

				if ((it->status != CT_RUN_SUCCESS && it->status != CT_RUN_FORCED) ||
				    !it->obj_uuid || it->end <= 0)
					continue;
				key = ct_xasprintf("%s\n%s\n%s", sj->job, sj->pool, it->obj_uuid);
				if (!ct_strset_has(&vms_seen, key)) {
					ct_strset_add(&vms_seen, key);
					add(m, F_VM_LAST_SUCCESS, (double)it->end, "job_name", sj->job, "pool",
					    sj->pool, "vm", it->obj_name, "vm_uuid", it->obj_uuid, NULL);
				}
				free(key);
			}
			ct_run_rec_release(&full);
		}
	}
	ct_strset_release(&vms_seen);
	free(jobs);
	for (int i = 0; i < n; i++)
		ct_run_rec_release(&runs[i]);
	free(runs);
	return 0;
fail:
	ct_strset_release(&vms_seen);
	free(jobs);
	for (int i = 0; i < n; i++)
		ct_run_rec_release(&runs[i]);
	free(runs);
	return -1;
}

/* ---- writing -------------------------------------------------------------------------- */

struct ref {
	const struct ct_msample *s;
	long order;
};

static int by_family(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	if (x->s->fam != y->s->fam)
		return x->s->fam < y->s->fam ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void value(struct ct_sb *out, double v)
{
	if (isnan(v))
		ct_sb_adds(out, " NaN\n");
	else if (v == floor(v) && fabs(v) < 9e15)
		ct_sb_addf(out, " %.0f\n", v);
	else
		ct_sb_addf(out, " %.4f\n", v);
}

void ct_metrics_write(struct ct_sb *out, const struct ct_metrics *const *sets, int n,
		      bool openmetrics)
{
	struct ref *refs;
	long total = 0, k = 0;
	int f = 0;

	for (int i = 0; i < n; i++)
		total += sets[i] ? sets[i]->n : 0;
	refs = ct_xcalloc((size_t)total + 1, sizeof(*refs));
	for (int i = 0; i < n; i++)
		for (int j = 0; sets[i] && j < sets[i]->n; j++) {
			refs[k].s = &sets[i]->s[j];
			refs[k].order = k;
			k++;
		}
	qsort(refs, (size_t)total, sizeof(*refs), by_family);
	k = 0;
	for (f = 0; f < F_N; f++) {
		bool any = k < total && refs[k].s->fam == f;

		/* check's own timestamp is not part of serve's output, and vice versa the
		 * families of a long-running process are absent from check's */
		if (!any)
			continue;
		ct_sb_addf(out, "# HELP %s %s\n# TYPE %s gauge\n", fams[f].name, fams[f].help,
			   fams[f].name);
		for (; k < total && refs[k].s->fam == f; k++) {
			ct_sb_adds(out, fams[f].name);
			if (refs[k].s->labels[0])
				ct_sb_addf(out, "{%s}", refs[k].s->labels);
			value(out, refs[k].s->v);
		}
	}
	if (openmetrics)
		ct_sb_adds(out, "# EOF\n");
	free(refs);
}

bool ct_metrics_wants_openmetrics(const char *accept)
{
	return accept && strcasestr(accept, "application/openmetrics-text") != NULL;
}
