/* chain_bench - the verdict engine over a 100,000-VDI pool model: time per full
 * evaluation (every SR, VDI and VM judged, problems sorted), and per refresh of a report
 * when only a GC task's progress changed (what the console does on most events). Prints
 * figures, asserts nothing. Usage: chain_bench [VDIS] [ROUNDS] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "engine/chain.h"
#include "test_chain_fixture.h"

/* Wall time in ms with microsecond resolution (ct_now_ms counts whole milliseconds). */
static double wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static double ms_since(double t0)
{
	return wall_ms() - t0;
}

/* CPU time of this process in ms: less sensitive to a busy machine than wall time. */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int target = argc > 1 ? atoi(argv[1]) : 100000;
	int rounds = argc > 2 ? atoi(argv[2]) : 10;
	struct fx f;
	struct ct_sr *srs[6];
	struct ct_chain_report r;
	double t0;
	double first, total = 0, best = 1e18, cpu0, *each;
	int vms = 0;
	size_t nvdi;
	char name[32];

	fx_init(&f);
	t0 = wall_ms();
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "nfs-prod-%02d", i + 1);
		srs[i] = fx_sr(&f, name, "nfs", 64LL * 1024 * FX_GIB, 20LL * 1024 * FX_GIB);
	}
	srs[4] = fx_sr(&f, "iscsi-lvm-01", "lvmoiscsi", 128LL * 1024 * FX_GIB, 90LL * 1024 * FX_GIB);
	srs[5] = fx_sr(&f, "iscsi-lvm-02", "lvmoiscsi", 128LL * 1024 * FX_GIB, 60LL * 1024 * FX_GIB);
	/* a mix like the simulator's big scenario: plain disks, one snapshot, stacked base
	 * copies, and now and then a deep nightly chain */
	while ((nvdi = ct_model_count(&f.m, CT_VDI)) < (size_t)target) {
		const struct ct_sr *sr = srs[vms % 6];
		struct ct_vm *vm;

		snprintf(name, sizeof(name), "vm-%06d", vms);
		switch (vms % 10) {
		case 0: case 1: case 2: case 3: {
			struct ct_vdi *b = fx_base(&f, sr, NULL);
			struct ct_vdi *l = fx_vdi(&f, sr, name, b);
			struct ct_vdi *s = fx_vdi_o(&f, sr, name, (struct fx_vdi_opts){
				.parent = b, .snapshot = true });
			struct ct_vm *snap;

			vm = fx_vm(&f, name);
			snap = fx_vm_o(&f, "daily", true, vm);
			fx_vbd(&f, vm, l, "0");
			fx_vbd(&f, snap, s, "0");
			break;
		}
		case 4: case 5:
			fx_stacked_vm(&f, sr, name, 1 + vms % 3, NULL);
			break;
		case 6:
			fx_deep_vm(&f, sr, name, 8 + vms % 20, NULL);
			break;
		default:
			vm = fx_vm(&f, name);
			fx_vbd(&f, vm, fx_vdi(&f, sr, name, NULL), "0");
			fx_vbd(&f, vm, fx_vdi(&f, sr, name, NULL), "1");
		}
		vms++;
	}
	printf("model: %zu VDIs, %zu VMs (with snapshots), %zu VBDs, built in %.0f ms\n",
	       ct_model_count(&f.m, CT_VDI), ct_model_count(&f.m, CT_VM),
	       ct_model_count(&f.m, CT_VBD), ms_since(t0));
	t0 = wall_ms();
	ct_chain_eval(&f.m, &f.c, &f.pc, time(NULL), NULL, &r);
	first = ms_since(t0);
	printf("first evaluation (fresh memory; builds the model's task and message indexes): "
	       "%.1f ms, %d problems, worst %s\n", first, r.n_problems, ct_severity_name(r.worst));
	ct_chain_report_release(&r);
	if (rounds < 1)
		rounds = 1;
	each = calloc((size_t)rounds, sizeof(*each));
	cpu0 = cpu_ms();
	for (int i = 0; i < rounds; i++) {
		double ms;

		t0 = wall_ms();
		ct_chain_eval(&f.m, &f.c, &f.pc, time(NULL), NULL, &r);
		ms = ms_since(t0);
		ct_chain_report_release(&r);
		total += ms;
		each[i] = ms;
		if (ms < best)
			best = ms;
	}
	/* the median too: on a shared machine the mean carries other processes' bursts */
	qsort(each, (size_t)rounds, sizeof(*each), cmp_double);
	printf("full evaluation over %d VDIs: %.2f ms mean, %.2f ms median, %.2f ms best (%d rounds), "
	       "%.1f ms CPU per evaluation\n", (int)ct_model_count(&f.m, CT_VDI), total / rounds,
	       each[rounds / 2], best, rounds, (cpu_ms() - cpu0) / rounds);
	/* a GC task reports progress, the console refreshes its report: the structure is
	 * kept, the judging done again */
	{
		struct ct_task *gc = fx_gc_task(&f, srs[0], 0.0);
		char *ref = ct_xstrdup(gc->o.ref);
		struct ct_chain_report kept = { 0 };

		ct_chain_refresh(&f.m, &f.c, &f.pc, time(NULL), NULL, &kept);
		best = 1e18;
		for (int i = 0; i < rounds; i++) {
			struct ct_task *t = (struct ct_task *)ct_obj_dup(&ct_model_task(&f.m, ref)->o);
			double ms;

			t->progress = (double)(i + 1) / (rounds + 1);
			ct_model_put(&f.m, &t->o);
			t0 = wall_ms();
			ct_chain_refresh(&f.m, &f.c, &f.pc, time(NULL), NULL, &kept);
			ms = ms_since(t0);
			each[i] = ms;
			if (ms < best)
				best = ms;
		}
		qsort(each, (size_t)rounds, sizeof(*each), cmp_double);
		printf("refresh after a GC task's progress changed (structure kept): %.2f ms median, "
		       "%.2f ms best (%d rounds)\n", each[rounds / 2], best, rounds);
		ct_chain_report_release(&kept);
		free(ref);
	}
	free(each);
	fx_release(&f);
	return 0;
}
