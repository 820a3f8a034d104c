/* keepup.c - the console's "can this SR keep up?" lines in the SR detail: each backup job
 * of the pool whose history and the SR's measured merge rate give the figures
 * (src/jobs/keepup.h). The job history is read at most every 30 s per SR (the detail is
 * rebuilt on every change of the model). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs/jobstore.h"
#include "jobs/keepup.h"
#include "ui.h"
#include "lib/util.h"

#define KEEPUP_CACHE_S 30

static struct {
	char pool[128], sr_ref[128];
	time_t at;
	struct ct_strset lines;
} cache;

static void add_line(const struct ct_keepup *k, const struct ct_chain_report *rep,
		     const char *sr_ref)
{
	char buf[1024];

	if (strcmp(rep->srs[k->sr_index].sr->o.ref, sr_ref))
		return;
	snprintf(buf, sizeof(buf), "  %s %s", k->keeps_up ? "keeps up:" : "FALLS BEHIND:",
		 k->sentence);
	ct_strset_add(&cache.lines, buf);
}

static void compute(struct ct_ui *ui, struct ct_ui_pool *p, struct ct_model *m,
		    const struct ct_chain_report *rep, const char *sr_ref)
{
	const char *pool = p->w->conf->name;
	struct ct_jobstore *js = NULL;
	struct ct_keepup_job *jobs = ct_xcalloc((size_t)ui->cfg->n_jobs + 1, sizeof(*jobs));
	struct ct_keepup *k = NULL;
	int nj = 0, nk;
	struct ct_err e;

	ct_err_init(&e);
	for (int j = 0; j < ui->cfg->n_jobs; j++) {
		const struct ct_job_conf *job = &ui->cfg->jobs[j];
		struct ct_disk_rec *d = NULL;
		int n = 0;

		if (!job->pool || !pool || strcmp(job->pool, pool))
			continue;
		if (!js && !(js = ct_ui_jobstore(ui)))
			break;
		if (ct_jobstore_job_disks(js, job->name, pool, CT_KEEPUP_RUNS, &d, &n, &e) < 0)
			continue;
		jobs[nj++] = (struct ct_keepup_job){ job, d, n };
	}
	/* each job, then the jobs together where none alone outruns the SR's GC */
	nk = ct_keepup_pool(jobs, nj, ui->cfg, pool, m, rep, &k);
	for (int i = 0; i < nk; i++)
		add_line(&k[i], rep, sr_ref);
	ct_keepup_release(k, nk);
	for (int j = 0; j < nj; j++)
		free((void *)jobs[j].d);
	free(jobs);
}

void ct_ui_keepup_detail(struct ct_ui *ui, struct ct_ui_pool *p, struct ct_model *m,
			 const struct ct_chain_report *rep, const char *sr_ref,
			 struct ct_strset *detail)
{
	time_t now = time(NULL);
	struct ct_strset out = { 0 };
	size_t at = detail->n;

	if (!rep || !sr_ref || ui->cfg->n_jobs == 0)
		return;
	if (strcmp(cache.pool, p->w->conf->name) || strcmp(cache.sr_ref, sr_ref) ||
	    now - cache.at >= KEEPUP_CACHE_S || now < cache.at) {
		ct_strset_release(&cache.lines);
		snprintf(cache.pool, sizeof(cache.pool), "%s", p->w->conf->name);
		snprintf(cache.sr_ref, sizeof(cache.sr_ref), "%s", sr_ref);
		cache.at = now;
		compute(ui, p, m, rep, sr_ref);
	}
	if (cache.lines.n == 0)
		return;
	/* after the SR's GC figures: before its limits line */
	for (size_t i = 0; i < detail->n; i++)
		if (!strncmp(detail->v[i], "  limits:", 9)) {
			at = i;
			break;
		}
	for (size_t i = 0; i < detail->n; i++) {
		if (i == at)
			for (size_t k = 0; k < cache.lines.n; k++)
				ct_strset_add(&out, cache.lines.v[k]);
		ct_strset_add(&out, detail->v[i]);
	}
	if (at == detail->n)
		for (size_t k = 0; k < cache.lines.n; k++)
			ct_strset_add(&out, cache.lines.v[k]);
	ct_strset_release(detail);
	*detail = out;
}

void ct_ui_keepup_release(void)
{
	ct_strset_release(&cache.lines);
	memset(&cache, 0, sizeof(cache));
}
