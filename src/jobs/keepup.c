/* keepup.c - "can this SR keep up?" (keepup.h has the model). */
#include "jobs/keepup.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* Runs in d (ordered by run): [first[k], first[k + 1]) are run k's rows. */
static int split_runs(const struct ct_disk_rec *d, int n, int **first)
{
	int nr = 0;

	*first = ct_xcalloc((size_t)n + 2, sizeof(**first));
	for (int i = 0; i < n; i++)
		if (i == 0 || d[i].run != d[i - 1].run)
			(*first)[nr++] = i;
	(*first)[nr] = n;
	return nr;
}

static bool run_has(const struct ct_disk_rec *d, int a, int b, const char *sr, const char *vdi)
{
	for (int i = a; i < b; i++)
		if (!strcmp(d[i].sr_uuid, sr) && !strcmp(d[i].vdi_uuid, vdi))
			return true;
	return false;
}

static void sentence(struct ct_keepup *k, const struct ct_sr_verdict *sv, const char *job,
		     const char *pool)
{
	char srn[256], jn[256], pn[256], mr[32], ar[32], pr[32], cy[32], tl[128];

	ct_sanitize(sv->sr->name_label ? sv->sr->name_label : "", srn, sizeof(srn));
	ct_sanitize(job, jn, sizeof(jn));
	ct_sanitize(pool ? pool : "", pn, sizeof(pn));
	ct_format_bytes((long long)(k->merge_rate * 3600.0), mr, sizeof(mr));
	ct_format_bytes((long long)(k->added_rate * 3600.0), ar, sizeof(ar));
	ct_format_bytes(k->per_run, pr, sizeof(pr));
	ct_format_duration(k->cycle, cy, sizeof(cy));
	if (k->keeps_up) {
		k->sentence = ct_xasprintf("SR '%s' of pool '%s' merges %s/h; job '%s' adds ~%s/h of "
					   "chain work (%s a run, every %s): the garbage collector "
					   "keeps up", srn, pn, mr, jn, ar, pr, cy);
		return;
	}
	if (k->runs_to_limit == 0)
		snprintf(tl, sizeof(tl), "depth %d (the gate's limit) already reached", k->limit);
	else if (k->runs_to_limit > 0) {
		char when[32];

		ct_format_duration(k->runs_to_limit * k->cycle, when, sizeof(when));
		snprintf(tl, sizeof(tl), "depth %d (the gate's limit) in ~%lld run%s (~%s)", k->limit,
			 k->runs_to_limit, k->runs_to_limit == 1 ? "" : "s", when);
	} else {
		snprintf(tl, sizeof(tl), "the gate's depth limit is %d", k->limit);
	}
	k->sentence = ct_xasprintf("SR '%s' of pool '%s' merges %s/h; job '%s' adds ~%s/h of chain "
				   "work (%s a run, every %s): chains will grow by ~%.1f link%s a "
				   "run; %s: run the job less often or move its busiest disks to "
				   "another SR", srn, pn, mr, jn, ar, pr, cy, k->growth,
				   k->growth >= 0.95 && k->growth < 1.05 ? "" : "s", tl);
}

int ct_keepup_eval(const struct ct_disk_rec *d, int n, const struct ct_config *c,
		   const struct ct_job_conf *job, const char *pool_name, struct ct_model *m, const struct ct_chain_report *r,
		   struct ct_keepup **out)
{
	int *first = NULL, nr, nk = 0;
	struct ct_keepup *k;

	*out = NULL;
	if (n <= 0 || !r || r->n_srs <= 0)
		return 0;
	nr = split_runs(d, n, &first);
	k = ct_xcalloc((size_t)r->n_srs + 1, sizeof(*k));
	for (int si = 0; si < r->n_srs; si++) {
		const struct ct_sr_verdict *sv = &r->srs[si];
		const char *su = sv->sr->o.uuid;
		int64_t w = 0;
		long long t = 0;
		int pairs = 0, depth = 0;
		struct ct_keepup *e;

		if (!su || !sv->vhd || sv->thick || sv->rate <= 0)
			continue;
		for (int j = 1; j < nr; j++) {
			int64_t rw = 0;
			bool shared = false;

			for (int i = first[j]; i < first[j + 1]; i++) {
				if (strcmp(d[i].sr_uuid, su) ||
				    !run_has(d, first[j - 1], first[j], su, d[i].vdi_uuid))
					continue;
				shared = true;
				rw += d[i].physical_utilisation > 0 ? d[i].physical_utilisation : 0;
			}
			if (!shared || d[first[j]].at <= d[first[j - 1]].at)
				continue;
			w += rw;
			t += (long long)(d[first[j]].at - d[first[j - 1]].at);
			pairs++;
		}
		if (pairs == 0 || t <= 0)
			continue;
		/* the deepest of the job's disks there now (those of its newest run) */
		for (int i = first[nr - 1]; i < first[nr]; i++) {
			const struct ct_obj *o;
			int vi;

			if (strcmp(d[i].sr_uuid, su))
				continue;
			o = ct_model_find_uuid(m, CT_VDI, d[i].vdi_uuid);
			vi = o ? ct_chain_find_vdi(r, (const struct ct_vdi *)o) : -1;
			if (vi >= 0 && r->vdis[vi].depth > depth)
				depth = r->vdis[vi].depth;
		}
		e = &k[nk++];
		e->sr_index = si;
		e->runs = pairs;
		e->added_rate = (double)w / (double)t;
		e->per_run = w / pairs;
		e->cycle = t / pairs;
		e->merge_rate = sv->rate;
		e->keeps_up = e->added_rate <= sv->rate;
		/* of each run's new links the GC merges the share its rate covers */
		e->growth = e->keeps_up ? 0 : 1.0 - sv->rate / e->added_rate;
		e->depth_now = depth;
		/* the gate's limit as the job's run sees it (chain.c gate_for) */
		e->limit = job && c && job->gate.max_depth != c->gate.max_depth ?
			job->gate.max_depth : sv->gate.max_depth;
		e->runs_to_limit = -1;
		if (!e->keeps_up && depth > 0)
			e->runs_to_limit = depth >= e->limit ? 0 :
				(long long)ceil((double)(e->limit - depth) / e->growth);
		sentence(e, sv, job ? job->name : "", pool_name);
	}
	free(first);
	if (nk == 0) {
		free(k);
		return 0;
	}
	*out = k;
	return nk;
}

int ct_keepup_combine(struct ct_keepup *const *jobs, const int *n_per_job, const char *const *names,
		      int n_jobs, const struct ct_chain_report *r, const char *pool_name,
		      struct ct_keepup **out)
{
	struct ct_keepup *k;
	int nk = 0;

	*out = NULL;
	if (!r || r->n_srs <= 0 || n_jobs < 2)
		return 0;
	k = ct_xcalloc((size_t)r->n_srs + 1, sizeof(*k));
	for (int si = 0; si < r->n_srs; si++) {
		const struct ct_sr_verdict *sv = &r->srs[si];
		double sum = 0, rate = 0;
		int njobs = 0, depth = 0, limit = 0;
		bool one_behind = false;
		struct ct_sb sb;
		char srn[256], pn[256], mr[32], ar[32];

		for (int j = 0; j < n_jobs; j++)
			for (int i = 0; i < n_per_job[j]; i++) {
				const struct ct_keepup *e = &jobs[j][i];

				if (e->sr_index != si)
					continue;
				sum += e->added_rate;
				rate = e->merge_rate;
				njobs++;
				one_behind |= !e->keeps_up;
				if (e->depth_now > depth)
					depth = e->depth_now;
				if (!limit || e->limit < limit)
					limit = e->limit;
			}
		if (njobs < 2 || one_behind || rate <= 0 || sum <= rate)
			continue;
		ct_sanitize(sv->sr->name_label ? sv->sr->name_label : "", srn, sizeof(srn));
		ct_sanitize(pool_name ? pool_name : "", pn, sizeof(pn));
		ct_format_bytes((long long)(rate * 3600.0), mr, sizeof(mr));
		ct_format_bytes((long long)(sum * 3600.0), ar, sizeof(ar));
		ct_sb_init(&sb);
		ct_sb_addf(&sb, "SR '%s' of pool '%s' merges %s/h; its backup jobs together add ~%s/h "
			   "of chain work (", srn, pn, mr, ar);
		for (int j = 0, w = 0; j < n_jobs; j++)
			for (int i = 0; i < n_per_job[j]; i++) {
				char jn[256], jr[32];

				if (jobs[j][i].sr_index != si)
					continue;
				ct_sanitize(names[j] ? names[j] : "", jn, sizeof(jn));
				ct_format_bytes((long long)(jobs[j][i].added_rate * 3600.0), jr, sizeof(jr));
				ct_sb_addf(&sb, "%s'%s' ~%s/h", w++ ? ", " : "", jn, jr);
			}
		ct_sb_addf(&sb, "): each alone keeps up, together they outrun the garbage collector "
			   "and chains will grow by ~%.1f link%s a run (deepest now %d, the gate's "
			   "limit %d): spread the jobs over the day, run one less often or move busy "
			   "disks to another SR", 1.0 - rate / sum,
			   1.0 - rate / sum >= 0.95 ? "" : "s", depth, limit);
		k[nk].sr_index = si;
		k[nk].added_rate = sum;
		k[nk].merge_rate = rate;
		k[nk].growth = 1.0 - rate / sum;
		k[nk].depth_now = depth;
		k[nk].limit = limit;
		k[nk].runs_to_limit = -1;
		k[nk].sentence = ct_sb_detach(&sb);
		ct_sb_release(&sb);
		nk++;
	}
	if (nk == 0) {
		free(k);
		return 0;
	}
	*out = k;
	return nk;
}

int ct_keepup_pool(const struct ct_keepup_job *jobs, int n_jobs, const struct ct_config *c,
		   const char *pool_name, struct ct_model *m, const struct ct_chain_report *r,
		   struct ct_keepup **out)
{
	struct ct_keepup **k = ct_xcalloc((size_t)n_jobs + 1, sizeof(*k)), *all = NULL, *v;
	int *nk = ct_xcalloc((size_t)n_jobs + 1, sizeof(*nk)), na, n = 0;
	const char **names = ct_xcalloc((size_t)n_jobs + 1, sizeof(*names));

	for (int j = 0; j < n_jobs; j++) {
		names[j] = jobs[j].job->name;
		nk[j] = ct_keepup_eval(jobs[j].d, jobs[j].n, c, jobs[j].job, pool_name, m, r, &k[j]);
		n += nk[j];
	}
	na = ct_keepup_combine(k, nk, names, n_jobs, r, pool_name, &all);
	v = ct_xcalloc((size_t)(n + na) + 1, sizeof(*v));
	n = 0;
	for (int j = 0; j < n_jobs; j++) {   /* the entries move: their sentences with them */
		if (nk[j])
			memcpy(&v[n], k[j], (size_t)nk[j] * sizeof(*v));
		n += nk[j];
		free(k[j]);
	}
	if (na)
		memcpy(&v[n], all, (size_t)na * sizeof(*v));
	n += na;
	free(all);
	free(k);
	free(nk);
	free(names);
	if (n == 0) {
		free(v);
		v = NULL;
	}
	*out = v;
	return n;
}

void ct_keepup_add_problems(struct ct_chain_report *r, const struct ct_keepup *k, int n)
{
	for (int i = 0; i < n; i++)
		if (!k[i].keeps_up)
			ct_chain_add_problem(r, CT_PK_FALLS_BEHIND, CT_SEV_WARNING,
					     &r->srs[k[i].sr_index].sr->o, k[i].sr_index,
					     ct_xstrdup(k[i].sentence));
}

void ct_keepup_release(struct ct_keepup *k, int n)
{
	if (!k)
		return;
	for (int i = 0; i < n; i++)
		free(k[i].sentence);
	free(k);
}
