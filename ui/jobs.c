/* jobs.c - the Jobs view (backup and prune runs from the job history, newest first) and a
 * run's report (Enter). The console reads with its own jobstore handle; runs made by cron
 * or by the console's worker appear on the next reload. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"
#include "lib/util.h"
#include "output/runreport.h"

struct ct_ui_jobs {
	struct ct_run_rec *runs;
	int n;
	struct ct_ui_list l;
};

static void free_runs(struct ct_ui_jobs *j)
{
	for (int i = 0; i < j->n; i++)
		ct_run_rec_release(&j->runs[i]);
	free(j->runs);
	j->runs = NULL;
	j->n = 0;
}

void ct_jobs_init(struct ct_ui *ui)
{
	ui->jobs = ct_xcalloc(1, sizeof(*ui->jobs));
}

void ct_jobs_release(struct ct_ui *ui)
{
	if (!ui->jobs)
		return;
	free_runs(ui->jobs);
	free(ui->jobs);
	ui->jobs = NULL;
}

struct ct_jobstore *ct_ui_jobstore(struct ct_ui *ui)
{
	struct ct_err e;

	if (ui->js)
		return ui->js;
	ct_err_init(&e);
	ui->js = ct_jobstore_open(ui->cfg->state_dir, &e);
	if (!ui->js) {
		if (strcmp(ui->js_error, e.msg))
			ct_status_msg(ui, MSG_ERROR, "job history unavailable: %s", e.msg);
		snprintf(ui->js_error, sizeof(ui->js_error), "%s", e.msg);
	} else {
		ui->js_error[0] = '\0';
	}
	return ui->js;
}

/* A run's identity: its id in the job history. */
static void run_key(void *ctx, int i, char *buf, size_t len)
{
	const struct ct_ui_jobs *j = ctx;

	snprintf(buf, len, "%lld", (long long)j->runs[i].id);
}

void ct_jobs_reload(struct ct_ui *ui)
{
	struct ct_ui_jobs *j = ui->jobs;
	struct ct_jobstore *js;
	struct ct_run_rec *runs = NULL;
	int n = 0;
	struct ct_err e;

	if (!j)
		return;
	js = ct_ui_jobstore(ui);
	if (!js)
		return;
	ct_list_remember(&j->l, j->n, run_key, j);
	ct_err_init(&e);
	if (ct_jobstore_list_runs(js, 500, false, &runs, &n, &e) < 0) {
		ct_status_msg(ui, MSG_ERROR, "could not read the job history: %s", e.msg);
		return;
	}
	free_runs(j);
	j->runs = runs;
	j->n = n;
	/* keep the selection on the same run */
	ct_list_restore(&j->l, j->n, run_key, j);
	ui->need_frame = true;
}

static attr_t status_attr(const struct ct_ui *ui, enum ct_run_status s)
{
	switch (s) {
	case CT_RUN_SUCCESS: return ui->theme.attr[R_GOOD];
	case CT_RUN_FORCED: return ui->theme.attr[R_WARN];
	case CT_RUN_FAILURE: return ui->theme.attr[R_CRIT];
	case CT_RUN_SKIPPED: return ui->theme.attr[R_WARN];
	case CT_RUN_INTERRUPTED: return ui->theme.attr[R_BROKEN];
	case CT_RUN_RUNNING: return ui->theme.attr[R_PENDING];
	}
	return A_NORMAL;
}

static char status_marker(enum ct_run_status s)
{
	switch (s) {
	case CT_RUN_SUCCESS: return ' ';
	case CT_RUN_FORCED: return 'F';
	case CT_RUN_FAILURE: return '!';
	case CT_RUN_SKIPPED: return '-';
	case CT_RUN_INTERRUPTED: return '#';
	case CT_RUN_RUNNING: return '>';
	}
	return ' ';
}

static void jobs_draw(struct ct_ui *ui, int top, int h)
{
	struct ct_ui_jobs *j = ui->jobs;
	const struct ct_theme *t = &ui->theme;
	int rows = h - 1, longest = 0;
	char title[256];

	/* the whole line scrolls sideways: at 80 columns SUMMARY starts past the edge */
	snprintf(title, sizeof(title), "  %-5s %-19s %-6s %-16s %-12s %-11s %4s %4s %4s  %s", "RUN",
		 "STARTED", "KIND", "JOB", "POOL", "STATUS", "OK", "FAIL", "SKIP", "SUMMARY (Enter: report)");
	if (j) {
		ct_list_clamp(&j->l, j->n, rows);
		for (int i = 0; i < rows && j->l.top + i < j->n; i++) {
			const struct ct_run_rec *r = &j->runs[j->l.top + i];
			int w = 94 + (r->dry_run ? 10 : 0) + (r->summary ? ct_ui_width(r->summary) : 0);

			if (w > longest)
				longest = w;
		}
		ct_list_side_clamp(&j->l, longest, COLS);
	}
	ct_put_from(top, 0, COLS, t->attr[R_TITLE], title, j ? j->l.xoff : 0);
	if (!j || !ui->js) {
		ct_put(top + 1, 2, COLS - 2, t->attr[R_CRIT],
		       ui->js_error[0] ? ui->js_error : "job history not opened yet");
		return;
	}
	for (int i = 0; i < rows; i++) {
		int k = j->l.top + i;
		const struct ct_run_rec *r;
		char when[32], line[1024], job[128], pool[96], sum[480];
		attr_t a;

		if (k >= j->n)
			break;
		r = &j->runs[k];
		ct_format_local_time(r->start, when, sizeof(when));
		ct_sanitize(r->job ? r->job : "", job, sizeof(job));
		ct_sanitize(r->pool ? r->pool : "", pool, sizeof(pool));
		ct_sanitize(r->summary ? r->summary : "", sum, sizeof(sum));
		snprintf(line, sizeof(line), "%c %-5lld %-19s %-6.6s %-16.16s %-12.12s %-11s %4d %4d %4d  %s%s",
			 status_marker(r->status), (long long)r->id, when, r->kind ? r->kind : "", job, pool,
			 ct_run_status_name(r->status), r->n_ok, r->n_failed, r->n_skipped,
			 r->dry_run ? "[dry run] " : "", sum);
		a = status_attr(ui, r->status);
		if (k == j->l.sel)
			a = t->attr[R_SELECTED] | (a & (A_BOLD | A_UNDERLINE));
		ct_put_from(top + 1 + i, 0, COLS, a, line, j->l.xoff);
	}
	if (j->n == 0)
		ct_put(top + 1, 2, COLS - 2, t->attr[R_DIM],
		       "no runs yet: b on a VM in the tree starts a backup, d in Snapshots deletes; cron runs show here too");
}

/* One line of the report (sanitised by the formatter), wrapped to the screen. */
static void report_line(void *ctx, const char *line)
{
	struct ct_ui *ui = ctx;

	ct_ui_wrap(&ui->report, line, COLS - 1, "        ");
}

static void open_report(struct ct_ui *ui, int64_t id)
{
	struct ct_run_rec r;
	struct ct_err e;

	memset(&r, 0, sizeof(r));
	ct_err_init(&e);
	if (!ct_ui_jobstore(ui))
		return;
	if (ct_jobstore_get_run(ui->js, id, &r, &e) < 0) {
		ct_status_msg(ui, MSG_ERROR, "could not read run %lld: %s", (long long)id, e.msg);
		return;
	}
	ct_strset_release(&ui->report);
	/* the same text as `chaintop report RUN` */
	ct_run_report_lines(&r, report_line, ui);
	snprintf(ui->report_title, sizeof(ui->report_title), "Run %lld report", (long long)r.id);
	ct_run_rec_release(&r);
	ui->overlay = OV_REPORT;
	memset(&ui->ov, 0, sizeof(ui->ov));
}

static void jobs_key(struct ct_ui *ui, enum ct_action a)
{
	struct ct_ui_jobs *j = ui->jobs;

	if (!j)
		return;
	if (ct_list_move(&j->l, a, j->n, ui->body_h - 2))
		return;
	switch (a) {
	case ACT_RELOAD:
		ct_jobs_reload(ui);
		ct_status_msg(ui, MSG_INFO, "job history read again: %d runs", j->n);
		return;
	case ACT_ENTER:
		if (j->l.sel >= 0 && j->l.sel < j->n)
			open_report(ui, j->runs[j->l.sel].id);
		return;
	default:
		return;
	}
}

static struct ct_ui_list *jobs_list(struct ct_ui *ui)
{
	return ui->jobs ? &ui->jobs->l : NULL;
}

const struct ct_view_ops ct_jobs_view = {
	.title = "Jobs",
	.bit = VW_JOBS,
	.draw = jobs_draw,
	.key = jobs_key,
	.shown = ct_jobs_reload,
	.list = jobs_list,
};
