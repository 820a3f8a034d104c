/* model_bench: the cost of the live model at scale. Builds a pool of N VDIs (default
 * 100,000) in chains of 10 over 20 SRs with a VBD per leaf, then times: inserting, the
 * first index build, walking every parent and child link, the index rebuild after one VDI
 * changes, a task change (which must not rebuild the VDI indexes), and deleting everything.
 * Usage: model_bench [N]. Prints figures; asserts nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "model/model.h"
#include "lib/util.h"

enum { NSR = 20, CHAIN = 10 };

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double ms_since(double t0)
{
	return now_ms() - t0;
}

static struct ct_vdi *make_vdi(int i)
{
	struct ct_vdi *v = (struct ct_vdi *)ct_obj_new(CT_VDI);
	char buf[64];

	snprintf(buf, sizeof(buf), "OpaqueRef:%08d-vdi0-4000-8000-%012d", i, i);
	v->o.ref = ct_xstrdup(buf);
	snprintf(buf, sizeof(buf), "%08d-aaaa-4bbb-8ccc-%012d", i, i);
	v->o.uuid = ct_xstrdup(buf);
	snprintf(buf, sizeof(buf), "OpaqueRef:sr-%d", i % NSR);
	v->sr = ct_xstrdup(buf);
	v->name_label = ct_xasprintf("disk %d", i);
	v->snapshot_of = ct_xstrdup("OpaqueRef:NULL");
	if ((i / NSR) % CHAIN) {
		int p = i - NSR;
		snprintf(buf, sizeof(buf), "%08d-aaaa-4bbb-8ccc-%012d", p, p);
		ct_map_set(&v->sm_config, "vhd-parent", buf);
	}
	ct_map_set(&v->sm_config, "vdi_type", "vhd");
	return v;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000;
	struct ct_model m;
	double t0;
	size_t k, links = 0, nv;
	double t_put, t_index, t_walk, t_rebuild, t_task, t_del;

	if (n < NSR * CHAIN)
		n = NSR * CHAIN;
	ct_model_init(&m);
	ct_model_lock(&m);
	for (int s = 0; s < NSR; s++) {
		struct ct_sr *sr = (struct ct_sr *)ct_obj_new(CT_SR);
		sr->o.ref = ct_xasprintf("OpaqueRef:sr-%d", s);
		sr->o.uuid = ct_xasprintf("sr-uuid-%d", s);
		ct_model_put(&m, &sr->o);
	}

	t0 = now_ms();
	for (int i = 0; i < n; i++) {
		ct_model_put(&m, &make_vdi(i)->o);
		if ((i / NSR) % CHAIN == CHAIN - 1) {
			struct ct_vbd *b = (struct ct_vbd *)ct_obj_new(CT_VBD);
			b->o.ref = ct_xasprintf("OpaqueRef:vbd-%d", i);
			b->o.uuid = ct_xasprintf("vbd-uuid-%d", i);
			b->vdi = ct_xasprintf("OpaqueRef:%08d-vdi0-4000-8000-%012d", i, i);
			b->vm = ct_xasprintf("OpaqueRef:vm-%d", i % 2000);
			ct_model_put(&m, &b->o);
		}
	}
	t_put = ms_since(t0);

	t0 = now_ms();
	ct_model_sr_vdis(&m, ct_model_sr(&m, "OpaqueRef:sr-0"), &k);
	ct_model_vdi_parent(&m, (struct ct_vdi *)ct_model_at(&m, CT_VDI, 0));
	ct_model_vdi_children(&m, (struct ct_vdi *)ct_model_at(&m, CT_VDI, 0), &k);
	ct_model_find_uuid(&m, CT_VDI, "none");
	ct_model_vdi_vbds(&m, (struct ct_vdi *)ct_model_at(&m, CT_VDI, 0), &k);
	t_index = ms_since(t0);

	t0 = now_ms();
	nv = ct_model_count(&m, CT_VDI);
	for (size_t i = 0; i < nv; i++) {
		struct ct_vdi *v = (struct ct_vdi *)ct_model_at(&m, CT_VDI, i);
		if (ct_model_vdi_parent(&m, v))
			links++;
		ct_model_vdi_children(&m, v, &k);
		ct_model_vdi_vbds(&m, v, &k);
	}
	t_walk = ms_since(t0);

	/* one VDI changes (an event): next query rebuilds the VDI indexes */
	t0 = now_ms();
	ct_model_put(&m, &make_vdi(n / 2)->o);
	ct_model_sr_vdis(&m, ct_model_sr(&m, "OpaqueRef:sr-0"), &k);
	ct_model_vdi_parent(&m, (struct ct_vdi *)ct_model_at(&m, CT_VDI, 0));
	ct_model_vdi_children(&m, (struct ct_vdi *)ct_model_at(&m, CT_VDI, 0), &k);
	ct_model_find_uuid(&m, CT_VDI, "none");
	t_rebuild = ms_since(t0);

	/* a GC task's progress changes: VDI indexes stay */
	t0 = now_ms();
	for (int r = 0; r < 100; r++) {
		struct ct_task *t = (struct ct_task *)ct_obj_new(CT_TASK);
		t->o.ref = ct_xstrdup("OpaqueRef:gc");
		t->o.uuid = ct_xstrdup("gc-uuid");
		t->progress = r / 100.0;
		ct_map_set(&t->other_config, "applies_to", "OpaqueRef:sr-0");
		ct_model_put(&m, &t->o);
		ct_model_tasks_for(&m, "OpaqueRef:sr-0", &k);
		ct_model_sr_vdis(&m, ct_model_sr(&m, "OpaqueRef:sr-0"), &k);
	}
	t_task = ms_since(t0) / 100.0;

	t0 = now_ms();
	for (int i = 0; i < n; i++) {
		char ref[64];
		snprintf(ref, sizeof(ref), "OpaqueRef:%08d-vdi0-4000-8000-%012d", i, i);
		ct_model_del(&m, CT_VDI, ref);
	}
	t_del = ms_since(t0);

	printf("model_bench: %d VDIs on %d SRs (chains of %d), %zu VBDs, %zu parent links\n",
	       n, NSR, CHAIN, ct_model_count(&m, CT_VBD), links);
	printf("  insert all VDIs+VBDs        %8.1f ms  (%.2f us/record)\n", t_put,
	       t_put * 1000.0 / n);
	printf("  first index build           %8.1f ms\n", t_index);
	printf("  walk parent+children+VBDs   %8.1f ms  (%.3f us/VDI)\n", t_walk,
	       t_walk * 1000.0 / (double)nv);
	printf("  rebuild after 1 VDI change  %8.1f ms\n", t_rebuild);
	printf("  task change + queries       %8.3f ms  (VDI indexes kept)\n", t_task);
	printf("  delete all VDIs             %8.1f ms  (%.2f us/delete)\n", t_del,
	       t_del * 1000.0 / n);
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		printf("  peak RSS                    %8.1f MiB\n", ru.ru_maxrss / 1024.0);
	ct_model_unlock(&m);
	ct_model_release(&m);
	return 0;
}
