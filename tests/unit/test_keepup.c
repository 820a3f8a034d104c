/* test_keepup.c - "can this SR keep up?": a backup job's chain work per run, from the
 * disks its runs recorded, against the SR's measured merge rate. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/chain.h"
#include "jobs/keepup.h"
#include "test_chain_fixture.h"

#define NOW ((time_t)1764100000)
#define DAY 86400

static struct fx F;
static struct ct_chain_report R;
static struct ct_stall ST;
static struct ct_job_conf JOB;

static void setup(void)
{
	fx_init(&F);
	memset(&R, 0, sizeof(R));
	memset(&ST, 0, sizeof(ST));
	memset(&JOB, 0, sizeof(JOB));
	JOB.name = "nightly";
	JOB.pool = "lab";
	JOB.gate = F.c.gate;
}

static void teardown(void)
{
	ct_chain_report_release(&R);
	ct_stall_release(&ST);
	fx_release(&F);
}

/* The SR's measured merge rate, as the stall memory keeps it. */
static void rate(const struct ct_sr *sr, double bytes_per_hour)
{
	ct_stall_release(&ST);
	memset(&ST, 0, sizeof(ST));
	ST.e = ct_xcalloc(1, sizeof(*ST.e));
	ST.n = ST.cap = 1;
	snprintf(ST.e[0].sr_uuid, sizeof(ST.e[0].sr_uuid), "%s", sr->o.uuid);
	ST.e[0].rate = bytes_per_hour / 3600.0;
}

static void eval(void)
{
	ct_chain_report_release(&R);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW, &ST, &R), 0);
}

/* A VM whose disk is a leaf over one base copy; returns the leaf. */
static struct ct_vdi *vm_disk(struct ct_sr *sr, const char *name)
{
	struct ct_vm *vm = fx_vm(&F, name);
	struct ct_vdi *b = fx_base(&F, sr, NULL);
	struct ct_vdi *l = fx_vdi_o(&F, sr, name, (struct fx_vdi_opts){ .parent = b });

	fx_vbd(&F, vm, l, "0");
	return l;
}

static void rec(struct ct_disk_rec *d, int64_t run, time_t at, const struct ct_sr *sr,
		const struct ct_vdi *v, int64_t phys)
{
	memset(d, 0, sizeof(*d));
	d->run = run;
	d->at = at;
	snprintf(d->sr_uuid, sizeof(d->sr_uuid), "%s", sr->o.uuid);
	snprintf(d->vdi_uuid, sizeof(d->vdi_uuid), "%s", v->o.uuid);
	d->physical_utilisation = phys;
	d->virtual_size = v->virtual_size;
}

START_TEST(cannot_keep_up)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vdi *l = vm_disk(sr, "web01");
	struct ct_disk_rec d[3];
	struct ct_keepup *k;
	int n;

	/* three nightly runs: each leaf held 60 GiB written since the run before (the first
	 * run's figure is the disk's whole history, not one run's) */
	rec(&d[0], 1, NOW - 2 * DAY, sr, l, 500 * FX_GIB);
	rec(&d[1], 2, NOW - DAY, sr, l, 60 * FX_GIB);
	rec(&d[2], 3, NOW, sr, l, 60 * FX_GIB);
	/* rate not measured: nothing said */
	eval();
	ck_assert_int_eq(ct_keepup_eval(d, 3, &F.c, &JOB, "lab", &F.m, &R, &k), 0);
	ck_assert_ptr_null(k);
	/* 1 GiB/h against 2.5 GiB/h added: each run leaves 0.6 of its link; depth 2 now, the
	 * gate's limit 25 in 39 runs */
	rate(sr, 1.0 * FX_GIB);
	eval();
	n = ct_keepup_eval(d, 3, &F.c, &JOB, "lab", &F.m, &R, &k);
	ck_assert_int_eq(n, 1);
	ck_assert(!k[0].keeps_up);
	ck_assert_int_eq(k[0].per_run, 60 * FX_GIB);
	ck_assert_int_eq(k[0].cycle, DAY);
	ck_assert_int_eq(k[0].runs, 2);
	ck_assert_int_eq(k[0].depth_now, 2);
	ck_assert_int_eq(k[0].limit, 25);
	ck_assert_int_eq(k[0].runs_to_limit, 39);
	ck_assert_msg(!strcmp(k[0].sentence, "SR 'nfs-01' of pool 'lab' merges 1.0 GiB/h; job "
			      "'nightly' adds ~2.5 GiB/h of chain work (60.0 GiB a run, every "
			      "1d00h): chains will grow by ~0.6 links a run; depth 25 (the gate's "
			      "limit) in ~39 runs (~39d00h): run the job less often or move its "
			      "busiest disks to another SR"), "%s", k[0].sentence);
	ct_keepup_release(k, n);
	/* a job gate with its own limit */
	JOB.gate.max_depth = 12;
	n = ct_keepup_eval(d, 3, &F.c, &JOB, "lab", &F.m, &R, &k);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(k[0].limit, 12);
	ck_assert_int_eq(k[0].runs_to_limit, 17);
	ct_keepup_release(k, n);
}
END_TEST

START_TEST(keeps_up_and_unknowns)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_sr *lvm = fx_sr(&F, "lvm-01", "lvmoiscsi", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vdi *l = vm_disk(sr, "web01"), *l2 = vm_disk(sr, "web02");
	struct ct_vdi *t = vm_disk(lvm, "db01");
	struct ct_disk_rec d[6];
	struct ct_keepup *k;
	int n;

	/* run 2 has web02 for the first time: only web01 counts (10 GiB) */
	rec(&d[0], 1, NOW - 2 * DAY, sr, l, 300 * FX_GIB);
	rec(&d[1], 1, NOW - 2 * DAY, lvm, t, 100 * FX_GIB);
	rec(&d[2], 2, NOW - DAY, sr, l, 10 * FX_GIB);
	rec(&d[3], 2, NOW - DAY, sr, l2, 400 * FX_GIB);
	rec(&d[4], 2, NOW - DAY, lvm, t, 100 * FX_GIB);
	rec(&d[5], 3, NOW, sr, l, 14 * FX_GIB);
	rate(sr, 10.0 * FX_GIB);
	eval();
	n = ct_keepup_eval(d, 6, &F.c, &JOB, "lab", &F.m, &R, &k);
	/* the LVM SR: an attached leaf is inflated there, no figure */
	ck_assert_int_eq(n, 1);
	ck_assert_ptr_eq(R.srs[k[0].sr_index].sr, ct_model_sr(&F.m, sr->o.ref));
	ck_assert(k[0].keeps_up);
	ck_assert_int_eq(k[0].per_run, 12 * FX_GIB);
	ck_assert(strstr(k[0].sentence, "the garbage collector keeps up") != NULL);
	ct_keepup_release(k, n);
	/* one run only: no growth between runs */
	ck_assert_int_eq(ct_keepup_eval(d, 2, &F.c, &JOB, "lab", &F.m, &R, &k), 0);
}
END_TEST

START_TEST(jobs_together_outrun_the_gc)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vdi *a = vm_disk(sr, "web01"), *b = vm_disk(sr, "db01");
	struct ct_disk_rec da[3], db[3];
	struct ct_job_conf other = JOB;
	struct ct_keepup *k[2], *all;
	int nk[2], n;
	const char *names[2] = { "nightly", "hourly-db" };
	char *all_sentence;

	/* each job adds 0.625 GiB/h (15 GiB a day) to an SR that merges 1 GiB/h */
	other.name = "hourly-db";
	rec(&da[0], 1, NOW - 2 * DAY, sr, a, 500 * FX_GIB);
	rec(&da[1], 2, NOW - DAY, sr, a, 15 * FX_GIB);
	rec(&da[2], 3, NOW, sr, a, 15 * FX_GIB);
	rec(&db[0], 4, NOW - 2 * DAY, sr, b, 500 * FX_GIB);
	rec(&db[1], 5, NOW - DAY, sr, b, 15 * FX_GIB);
	rec(&db[2], 6, NOW, sr, b, 15 * FX_GIB);
	rate(sr, 1.0 * FX_GIB);
	eval();
	nk[0] = ct_keepup_eval(da, 3, &F.c, &JOB, "lab", &F.m, &R, &k[0]);
	nk[1] = ct_keepup_eval(db, 3, &F.c, &other, "lab", &F.m, &R, &k[1]);
	ck_assert_int_eq(nk[0], 1);
	ck_assert_int_eq(nk[1], 1);
	ck_assert(k[0][0].keeps_up && k[1][0].keeps_up);
	/* together 1.25 GiB/h: a fifth of each run's links stays */
	n = ct_keepup_combine(k, nk, names, 2, &R, "lab", &all);
	ck_assert_int_eq(n, 1);
	ck_assert(!all[0].keeps_up);
	ck_assert(all[0].growth > 0.19 && all[0].growth < 0.21);
	ck_assert_msg(!strcmp(all[0].sentence, "SR 'nfs-01' of pool 'lab' merges 1.0 GiB/h; its "
			      "backup jobs together add ~1.2 GiB/h of chain work ('nightly' ~640.0 "
			      "MiB/h, 'hourly-db' ~640.0 MiB/h): each alone keeps up, together they "
			      "outrun the garbage collector and chains will grow by ~0.2 links a run "
			      "(deepest now 2, the gate's limit 25): spread the jobs over the day, run "
			      "one less often or move busy disks to another SR"), "%s", all[0].sentence);
	all_sentence = ct_xstrdup(all[0].sentence);
	ct_keepup_release(all, n);
	/* ct_keepup_pool: each job's verdict, then the jobs together, in one array */
	{
		struct ct_keepup_job jobs[2] = { { &JOB, da, 3 }, { &other, db, 3 } };
		struct ct_keepup *v;

		n = ct_keepup_pool(jobs, 2, &F.c, "lab", &F.m, &R, &v);
		ck_assert_int_eq(n, 3);
		ck_assert(v[0].keeps_up && v[1].keeps_up && !v[2].keeps_up);
		ck_assert_str_eq(v[2].sentence, all_sentence);
		ct_keepup_add_problems(&R, v, n);
		{
			int behind = 0;

			for (int i = 0; i < R.n_problems; i++)
				behind += R.problems[i].kind == CT_PK_FALLS_BEHIND;
			ck_assert_int_eq(behind, 1);   /* the jobs together; each alone keeps up */
		}
		ct_keepup_release(v, n);
	}
	free(all_sentence);
	/* one job alone: nothing to add to its own verdict */
	ck_assert_int_eq(ct_keepup_combine(k, nk, names, 1, &R, "lab", &all), 0);
	/* an SR fast enough for both: nothing */
	rate(sr, 2.0 * FX_GIB);
	eval();
	ct_keepup_release(k[0], nk[0]);
	ct_keepup_release(k[1], nk[1]);
	nk[0] = ct_keepup_eval(da, 3, &F.c, &JOB, "lab", &F.m, &R, &k[0]);
	nk[1] = ct_keepup_eval(db, 3, &F.c, &other, "lab", &F.m, &R, &k[1]);
	ck_assert_int_eq(ct_keepup_combine(k, nk, names, 2, &R, "lab", &all), 0);
	ck_assert_ptr_null(all);
	ct_keepup_release(k[0], nk[0]);
	ct_keepup_release(k[1], nk[1]);
}
END_TEST

START_TEST(check_problem_added)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	int before;

	vm_disk(sr, "web01");
	eval();
	before = R.n_problems;
	ck_assert_int_eq(R.worst, CT_SEV_OK);
	ct_chain_add_problem(&R, CT_PK_FALLS_BEHIND, CT_SEV_WARNING, &R.srs[0].sr->o, 0,
			     ct_xstrdup("keep-up"));
	ck_assert_int_eq(R.n_problems, before + 1);
	ck_assert_int_eq(R.worst, CT_SEV_WARNING);
	ck_assert_int_eq(R.srs[0].severity, CT_SEV_WARNING);
	ck_assert_str_eq(R.problems[0].reason, "keep-up");
	ck_assert_int_eq(R.problems[0].kind, CT_PK_FALLS_BEHIND);
}
END_TEST

static Suite *keepup_suite(void)
{
	Suite *s = suite_create("keepup");
	TCase *t = tcase_create("keepup");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, cannot_keep_up);
	tcase_add_test(t, keeps_up_and_unknowns);
	tcase_add_test(t, jobs_together_outrun_the_gc);
	tcase_add_test(t, check_problem_added);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(keepup_suite());
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
