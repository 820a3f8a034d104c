/* incident.c - the Markdown incident summary (see incident.h). */
#include <stdlib.h>
#include <string.h>

#include "output/incident.h"
#include "lib/util.h"

#define TEXT_LEN 4096

static const char *nz(const char *s)
{
	return s ? s : "";
}

/* Untrusted text for Markdown prose and table cells: sanitised (no control characters),
 * then the characters that would start markup or end a cell escaped. Underscores stay as
 * they are: GitHub and GitLab do not emphasise inside words (SR_BACKEND_FAILURE_44). */
static void md(FILE *f, const char *s)
{
	char buf[TEXT_LEN];

	ct_sanitize(nz(s), buf, sizeof(buf));
	for (const char *c = buf; *c; c++) {
		if (strchr("\\`*[]<>|#", *c))
			fputc('\\', f);
		fputc(*c, f);
	}
}

/* Text for an indented code block line: sanitised only. */
static void code_line(FILE *f, const char *s)
{
	char buf[TEXT_LEN];

	fprintf(f, "    %s\n", ct_sanitize(nz(s), buf, sizeof(buf)));
}

static bool loaded(const struct ct_output_pool *p)
{
	return p->connected && p->report && p->model;
}

static void pools_section(FILE *f, const struct ct_incident *in)
{
	fprintf(f, "## Pools\n\n");
	fprintf(f, "| Pool | State | Status | SRs | VDIs | VMs | Problems |\n");
	fprintf(f, "|---|---|---|---:|---:|---:|---|\n");
	for (int i = 0; i < in->n_pools; i++) {
		const struct ct_output_pool *p = &in->pools[i];
		const struct ct_chain_report *r = p->report;
		int crit = 0, warn = 0;

		fprintf(f, "| ");
		md(f, p->name);
		if (!loaded(p)) {
			fprintf(f, " | not loaded: ");
			md(f, p->error && *p->error ? p->error : "no reason given");
			fprintf(f, " | UNKNOWN | - | - | - | - |\n");
			continue;
		}
		for (int k = 0; k < r->n_problems; k++) {
			crit += r->problems[k].severity == CT_SEV_CRITICAL;
			warn += r->problems[k].severity == CT_SEV_WARNING;
		}
		fprintf(f, " | %s%s | %s | %d | %d | %d | ", nz(p->state),
			p->stale ? " (data from before a connection loss)" : "",
			ct_severity_name(r->worst), r->n_srs, r->n_vdis, r->n_vms);
		if (!crit && !warn)
			fprintf(f, "none |\n");
		else
			fprintf(f, "%d critical, %d warning%s |\n", crit, warn, warn == 1 ? "" : "s");
	}
	fputc('\n', f);
}

static const char *class_word(enum ct_class c)
{
	switch (c) {
	case CT_SR: return "SR";
	case CT_VDI: return "VDI";
	case CT_VM: return "VM";
	case CT_POOL: return "pool";
	default: return "object";
	}
}

/* The name label of what a problem is about, or NULL. */
static const char *object_name(const struct ct_output_pool *p, const struct ct_problem *pb)
{
	const struct ct_obj *o = pb->ref ? ct_model_find(p->model, pb->cls, pb->ref) : NULL;

	if (!o)
		return NULL;
	switch (pb->cls) {
	case CT_SR: return ((const struct ct_sr *)o)->name_label;
	case CT_VDI: return ((const struct ct_vdi *)o)->name_label;
	case CT_VM: return ((const struct ct_vm *)o)->name_label;
	case CT_POOL: return ((const struct ct_pool *)o)->name_label;
	default: return NULL;
	}
}

/* Problems by severity, as `check` orders them: CRITICAL, then UNKNOWN (pools not loaded),
 * then WARNING; each with its kind, pool, object and the whole reason. */
static void problems_section(FILE *f, const struct ct_incident *in)
{
	static const enum ct_severity order[] = { CT_SEV_CRITICAL, CT_SEV_UNKNOWN, CT_SEV_WARNING };
	int total = 0;

	fprintf(f, "## Problems\n\n");
	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
		int n = 0;

		for (int i = 0; i < in->n_pools; i++) {
			const struct ct_output_pool *p = &in->pools[i];

			if (!loaded(p)) {
				n += order[o] == CT_SEV_UNKNOWN;
				continue;
			}
			for (int k = 0; k < p->report->n_problems; k++)
				n += p->report->problems[k].severity == order[o];
		}
		if (!n)
			continue;
		total += n;
		fprintf(f, "### %s (%d)\n\n", ct_severity_name(order[o]), n);
		for (int i = 0; i < in->n_pools; i++) {
			const struct ct_output_pool *p = &in->pools[i];

			if (!loaded(p)) {
				if (order[o] != CT_SEV_UNKNOWN)
					continue;
				fprintf(f, "- `%s` pool '", ct_problem_kind_name(CT_PK_POOL_DOWN));
				md(f, p->name);
				fprintf(f, "' could not be loaded: ");
				md(f, p->error && *p->error ? p->error : "no reason given");
				fputc('\n', f);
				continue;
			}
			for (int k = 0; k < p->report->n_problems; k++) {
				const struct ct_problem *pb = &p->report->problems[k];
				char u[9];

				if (pb->severity != order[o])
					continue;
				fprintf(f, "- `%s` pool '", ct_problem_kind_name(pb->kind));
				md(f, p->name);
				fprintf(f, "', %s ", class_word(pb->cls));
				if (object_name(p, pb)) {
					fputc('\'', f);
					md(f, object_name(p, pb));
					fputc('\'', f);
				}
				fprintf(f, " (%s): ", ct_short_uuid(nz(pb->uuid), u));
				md(f, pb->reason);
				fputc('\n', f);
			}
		}
		fputc('\n', f);
	}
	if (!total)
		fprintf(f, "None: every chain is within its limits and every pool answered.\n\n");
}

/* Mark the VDIs a problem is about: the VDI itself, a VM's disks, the disk an SR's
 * largest merge or failing merge is waiting on. */
static void mark_chains(const struct ct_output_pool *p, bool *seen)
{
	const struct ct_chain_report *r = p->report;

	for (int k = 0; k < r->n_problems; k++) {
		const struct ct_problem *pb = &r->problems[k];
		const struct ct_obj *o = pb->ref ? ct_model_find(p->model, pb->cls, pb->ref) : NULL;
		int vi;

		if (!o)
			continue;
		switch (pb->cls) {
		case CT_VDI:
			vi = ct_chain_find_vdi(r, (const struct ct_vdi *)o);
			if (vi >= 0)
				seen[vi] = true;
			break;
		case CT_VM:
			for (int i = 0; i < r->n_vdis; i++)
				if (r->vdis[i].vm == (const struct ct_vm *)o && !r->vdis[i].is_base_copy)
					seen[i] = true;
			break;
		case CT_SR:
			if (pb->sr_index < 0 || pb->sr_index >= r->n_srs)
				break;
			if (r->srs[pb->sr_index].need_vdi &&
			    (vi = ct_chain_find_vdi(r, r->srs[pb->sr_index].need_vdi)) >= 0)
				seen[vi] = true;
			if (r->srs[pb->sr_index].gc_stuck_vdi &&
			    (vi = ct_chain_find_vdi(r, r->srs[pb->sr_index].gc_stuck_vdi)) >= 0)
				seen[vi] = true;
			break;
		default:
			break;
		}
	}
}

static void chains_section(FILE *f, const struct ct_incident *in)
{
	int shown = 0, more = 0;

	fprintf(f, "## Chains involved\n\n");
	for (int i = 0; i < in->n_pools; i++) {
		const struct ct_output_pool *p = &in->pools[i];
		const struct ct_chain_report *r = p->report;
		bool *seen;

		if (!loaded(p) || !r->n_vdis)
			continue;
		seen = ct_xcalloc((size_t)r->n_vdis, sizeof(*seen));
		mark_chains(p, seen);
		/* VDIs of an SR are contiguous: one heading per SR with chains to show */
		for (int s = 0; s < r->n_srs; s++) {
			const struct ct_sr_verdict *sv = &r->srs[s];
			bool head = false;

			for (int k = sv->first_vdi; k < sv->first_vdi + sv->n_vdi_verdicts; k++) {
				char *t;

				if (!seen[k])
					continue;
				if (shown >= CT_INCIDENT_MAX_CHAINS) {
					more++;
					continue;
				}
				if (!head) {
					fprintf(f, "Pool '");
					md(f, p->name);
					fprintf(f, "', SR '");
					md(f, sv->sr->name_label);
					fprintf(f, "' (leaf first, then each parent):\n\n");
					head = true;
				}
				t = ct_chain_text(r, k);
				code_line(f, t);
				free(t);
				shown++;
			}
			if (head)
				fputc('\n', f);
		}
		free(seen);
	}
	if (!shown)
		fprintf(f, "No chain is part of a problem.\n\n");
	if (more)
		fprintf(f, "And %d more chain%s (`chaintop tree` lists every chain).\n\n", more,
			more == 1 ? "" : "s");
}

/* What the garbage collector of a VHD SR is doing, in words. */
static void gc_state(FILE *f, const struct ct_sr_verdict *sv)
{
	char a[32], b[32];

	if (sv->gc_no_space)
		fprintf(f, "out of space (SM_GC_NO_SPACE)");
	else if (sv->gc_blocked) {
		fprintf(f, "cannot run: ");
		md(f, sv->gc_blocked);
	} else if (sv->gc_note)
		md(f, sv->gc_note);
	else if (sv->gc_running)
		fprintf(f, "running");
	else if (sv->gc_silent)
		fprintf(f, "not reported by this SM");
	else
		fprintf(f, "not running");
	if (sv->gc_failed_at > 0) {
		ct_format_local_time(sv->gc_failed_at, a, sizeof(a));
		fprintf(f, "; a GC task failed at %s", a);
		if (sv->gc_error[0]) {
			fprintf(f, ": ");
			md(f, sv->gc_error);
		}
	}
	if (sv->coalesce_error[0]) {
		fprintf(f, "; coalesce error: ");
		md(f, sv->coalesce_error);
	}
	if (sv->rate > 0) {
		ct_format_bytes((long long)(sv->rate * 3600.0), a, sizeof(a));
		fprintf(f, "; merges %s/h", a);
		if (sv->eta >= 0 && sv->work_links > 0) {
			ct_format_duration(sv->eta, b, sizeof(b));
			fprintf(f, ", ETA %s", b);
		}
	}
}

static void gc_section(FILE *f, const struct ct_incident *in)
{
	int rows = 0;

	fprintf(f, "## Garbage collector per SR\n\n");
	for (int i = 0; i < in->n_pools; i++) {
		const struct ct_output_pool *p = &in->pools[i];
		const struct ct_chain_report *r = p->report;

		if (!loaded(p))
			continue;
		for (int s = 0; s < r->n_srs; s++) {
			const struct ct_sr_verdict *sv = &r->srs[s];
			char fr[32], work[32];

			if (!sv->vhd)
				continue;
			if (!rows++) {
				fprintf(f, "| Pool | SR | Type | Free | Pending | Work left | Garbage collector | Status |\n");
				fprintf(f, "|---|---|---|---:|---:|---:|---|---|\n");
			}
			fprintf(f, "| ");
			md(f, p->name);
			fprintf(f, " | ");
			md(f, sv->sr->name_label);
			fprintf(f, " | ");
			md(f, sv->sr->type);
			ct_format_bytes(sv->free_bytes, fr, sizeof(fr));
			if (sv->sr->physical_size > 0)
				fprintf(f, " | %s (%.1f%%)", fr, sv->free_percent);
			else
				fprintf(f, " | -");
			fprintf(f, " | %d", sv->pending);
			if (sv->work_links > 0) {
				ct_format_bytes(sv->work_bytes, work, sizeof(work));
				fprintf(f, " | %s in %d merge%s%s", work, sv->work_links,
					sv->work_links == 1 ? "" : "s",
					sv->work_estimated ? " (estimated)" : "");
			} else {
				fprintf(f, " | none");
			}
			fprintf(f, " | ");
			gc_state(f, sv);
			fprintf(f, " | %s |\n", ct_severity_name(sv->severity));
		}
	}
	if (!rows)
		fprintf(f, "No SR with VHD chains was loaded.\n");
	fputc('\n', f);
}

static void jobs_section(FILE *f, const struct ct_incident *in)
{
	char win[32];

	if (in->failures_window % 3600 == 0)   /* "24 h", not "1d00h" */
		snprintf(win, sizeof(win), "%lld h", in->failures_window / 3600);
	else
		ct_format_duration(in->failures_window, win, sizeof(win));
	fprintf(f, "## Job failures (last %s)\n\n", win);
	if (in->history_error) {
		fprintf(f, "The job history could not be read: ");
		md(f, in->history_error);
		fprintf(f, "\n");
		return;
	}
	if (!in->n_failures) {
		fprintf(f, "None: no backup or prune run failed, was interrupted or skipped a VM.\n");
		return;
	}
	fprintf(f, "| Run | Kind | Job | Pool | Started | Status | OK/Skipped/Failed | Summary |\n");
	fprintf(f, "|---:|---|---|---|---|---|---|---|\n");
	for (int i = 0; i < in->n_failures; i++) {
		const struct ct_run_rec *r = &in->failures[i];
		char start[32];

		ct_format_local_time(r->start, start, sizeof(start));
		fprintf(f, "| %lld | ", (long long)r->id);
		md(f, r->kind);
		fprintf(f, " | ");
		md(f, r->job ? r->job : "-");
		fprintf(f, " | ");
		md(f, r->pool);
		fprintf(f, " | %s | %s | %d/%d/%d | ", start, ct_run_status_name(r->status), r->n_ok,
			r->n_skipped, r->n_failed);
		md(f, r->summary ? r->summary : "-");
		fprintf(f, " |\n");
	}
	fprintf(f, "\n`chaintop report RUN` shows a run with every VM, step, error and reason.\n");
}

int ct_incident_write(FILE *f, const struct ct_incident *in)
{
	char sum[512], utc[32] = "", local[32];
	enum ct_severity worst = ct_output_worst(in->pools, in->n_pools);
	struct tm tm;

	ct_output_summary(in->pools, in->n_pools, sum, sizeof(sum));
	if (gmtime_r(&in->now, &tm))
		strftime(utc, sizeof(utc), "%Y-%m-%d %H:%M:%S", &tm);
	ct_format_local_time(in->now, local, sizeof(local));
	fprintf(f, "# chaintop incident summary: %s\n\n", ct_severity_name(worst));
	fprintf(f, "Taken %s (local time; %s UTC) by chaintop %s.\n\n", local, utc, CT_VERSION);
	md(f, sum);
	fprintf(f, ".\n\n");
	pools_section(f, in);
	problems_section(f, in);
	chains_section(f, in);
	gc_section(f, in);
	jobs_section(f, in);
	fflush(f);
	return ferror(f) ? -1 : 0;
}
