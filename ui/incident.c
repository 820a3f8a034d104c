/* incident.c - I: the incident summary (the document of `chaintop report --incident`) of the
 * pools the console shows, written to a new file in the state directory, ready to paste in
 * a ticket; the path goes to the status line and the messages. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ui.h"
#include "jobs/jobstore.h"
#include "lib/util.h"
#include "output/incident.h"

#define FAILURES_S (24 * 3600)   /* the runs that failed lately, as report --incident */

/* A new file incident-STAMP.md in dir (0600, never through a symlink), or NULL. */
static FILE *open_new(const char *dir, const char *stamp, char *path, size_t len)
{
	int fd;
	FILE *f;

	if (!dir || !*dir) {
		errno = ENOENT;
		return NULL;
	}
	snprintf(path, len, "%s/incident-%s.md", dir, stamp);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f)
		close(fd);
	return f;
}

void ct_incident_key(struct ct_ui *ui)
{
	struct ct_output_pool *op = ct_xcalloc((size_t)ui->n_pools + 1, sizeof(*op));
	struct ct_chain_report *reps = ct_xcalloc((size_t)ui->n_pools + 1, sizeof(*reps));
	int *idx = ct_xcalloc((size_t)ui->n_pools + 1, sizeof(*idx));
	struct ct_incident in = { 0 };
	struct ct_jobstore *js;
	struct ct_run_rec *runs = NULL;
	struct ct_err e;
	char path[PATH_MAX], stamp[32], why[300];
	const char *tmp = getenv("TMPDIR");
	int nr = 0, k = 0, n = 0, rc, err = 0;
	bool fallback = false;
	FILE *f;

	in.now = time(NULL);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime(&in.now));
	ct_err_init(&e);
	js = ct_jobstore_open(ui->cfg->state_dir, &e);
	if (!js || ct_jobstore_list_runs(js, 0, true, &runs, &nr, &e) < 0)
		in.history_error = e.msg;
	/* failed, interrupted or skipped runs of the last 24 hours; a dry run is no failure */
	for (int i = 0; i < nr; i++) {
		if (runs[i].dry_run || runs[i].start < in.now - FAILURES_S) {
			ct_run_rec_release(&runs[i]);
			continue;
		}
		if (k != i)
			runs[k] = runs[i];
		k++;
	}
	in.failures = runs;
	in.n_failures = k;
	in.failures_window = FAILURES_S;

	f = open_new(ui->cfg->state_dir, stamp, path, sizeof(path));
	if (!f) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		f = open_new(tmp && *tmp ? tmp : P_tmpdir, stamp, path, sizeof(path));
		fallback = f != NULL;
	}
	if (!f) {
		ct_status_msg(ui, MSG_ERROR, "incident summary not written: cannot create a file in the state directory '%s' (%s) nor in %s (%s); check their permissions",
			      ui->cfg->state_dir ? ui->cfg->state_dir : "(none)", why,
			      tmp && *tmp ? tmp : P_tmpdir, strerror(errno));
		goto out;
	}
	/* every model locked while the document is written (its verdicts point into them);
	 * each pool judged now, as report --incident does */
	for (int i = 0; i < ui->n_pools; i++) {
		struct ct_ui_pool *p = &ui->pools[i];
		struct ct_model *m = &p->w->model;

		if (p->hidden)
			continue;
		ct_model_lock(m);
		idx[n] = i;
		op[n].name = p->pv.name;
		op[n].stale = p->pv.stale;
		op[n].state = ct_pool_state_name((enum ct_pool_state)p->pv.state);
		op[n].error = p->pv.error[0] ? p->pv.error : NULL;
		if ((p->pv.loaded || ct_model_count(m, CT_SR) > 0) &&
		    ct_chain_eval(m, ui->cfg, p->w->conf, in.now, &p->stall, &reps[n]) == 0) {
			op[n].connected = true;
			op[n].model = m;
			op[n].report = &reps[n];
		}
		n++;
	}
	in.pools = op;
	in.n_pools = n;
	rc = ct_incident_write(f, &in);
	if (rc < 0)
		err = errno;
	for (int j = 0; j < n; j++) {
		if (op[j].report)
			ct_chain_report_release(&reps[j]);
		ct_model_unlock(&ui->pools[idx[j]].w->model);
	}
	if (fclose(f) != 0 && rc == 0) {
		rc = -1;
		err = errno;
	}
	if (rc < 0)
		ct_status_msg(ui, MSG_ERROR, "incident summary '%s' is incomplete: %s; check the free space there",
			      path, strerror(err));
	else if (fallback)
		ct_status_msg(ui, MSG_WARN, "incident summary of %d pool%s written to %s (Markdown, ready to paste in a ticket); the state directory '%s' could not take it: %s",
			      n, n == 1 ? "" : "s", path, ui->cfg->state_dir ? ui->cfg->state_dir : "(none)", why);
	else
		ct_status_msg(ui, MSG_INFO, "incident summary of %d pool%s written to %s (Markdown, ready to paste in a ticket)",
			      n, n == 1 ? "" : "s", path);
out:
	for (int i = 0; i < k; i++)
		ct_run_rec_release(&runs[i]);
	free(runs);
	ct_jobstore_close(js);
	free(op);
	free(reps);
	free(idx);
}
