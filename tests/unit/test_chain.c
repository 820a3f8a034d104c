/* Unit tests for chain.c over hand-built models: every rule and boundary of design.md
 * section 3, without a server. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "engine/chain.h"
#include "watch/stall_store.h"
#include "test_chain_fixture.h"

#define NOW ((time_t)1764100000)

static struct fx F;
static struct ct_chain_report R;

static void setup(void)
{
	fx_init(&F);
	memset(&R, 0, sizeof(R));
}

static void teardown(void)
{
	ct_chain_report_release(&R);
	fx_release(&F);
}

static void eval(void)
{
	ct_chain_report_release(&R);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW, NULL, &R), 0);
}

/* the gate reads a report current with the model, as backup keeps one */
static bool gate_vm(const struct ct_gate_conf *job, const struct ct_vm *vm, time_t now,
		    struct ct_gate_result *g)
{
	eval();
	return ct_chain_gate_vm(&R, &F.m, &F.c, &F.pc, job, vm, now, g);
}

static const struct ct_vdi_verdict *V(const struct ct_vdi *v)
{
	int i = ct_chain_find_vdi(&R, v);

	ck_assert_msg(i >= 0, "VDI %s not in the report", v->name_label);
	return &R.vdis[i];
}

static const struct ct_vm_verdict *VM(const struct ct_vm *vm)
{
	int i = ct_chain_find_vm(&R, vm);

	ck_assert_msg(i >= 0, "VM %s not in the report", vm->name_label);
	return &R.vms[i];
}

static const struct ct_sr_verdict *SRV(const struct ct_sr *sr)
{
	for (int i = 0; i < R.n_srs; i++)
		if (R.srs[i].sr == sr)
			return &R.srs[i];
	ck_abort_msg("SR %s not in the report", sr->name_label);
	return NULL;
}

/* Does some problem of this severity contain the text? */
static bool has_problem(enum ct_severity sev, const char *text)
{
	for (int i = 0; i < R.n_problems; i++)
		if (R.problems[i].severity == sev && strstr(R.problems[i].reason, text))
			return true;
	return false;
}

/* The kind of the first problem whose reason has text, -1 none. */
static int problem_kind(enum ct_class cls, const char *text)
{
	for (int i = 0; i < R.n_problems; i++)
		if (R.problems[i].cls == cls && strstr(R.problems[i].reason, text))
			return (int)R.problems[i].kind;
	return -1;
}

/* The kind of the VM's reason with text, -1 none. */
static int vm_reason_kind(const struct ct_vm_verdict *v, const char *text)
{
	for (int i = 0; i < v->n_reasons; i++)
		if (strstr(v->reasons[i], text))
			return (int)v->kinds[i];
	return -1;
}

static bool vm_reason_has(const struct ct_vm_verdict *v, const char *text)
{
	for (int i = 0; i < v->n_reasons; i++)
		if (strstr(v->reasons[i], text))
			return true;
	return false;
}

START_TEST(depth_boundaries)
{
	static const struct {
		int depth;
		enum ct_vdi_state state;
		enum ct_severity sev;
		bool refused;
	} cases[] = {
		{ 1, CT_VS_OK, CT_SEV_OK, false },
		{ 19, CT_VS_OK, CT_SEV_OK, false },
		{ 20, CT_VS_DEEP, CT_SEV_WARNING, false },
		{ 24, CT_VS_DEEP, CT_SEV_WARNING, false },
		{ 25, CT_VS_DEEP, CT_SEV_WARNING, true },
		{ 27, CT_VS_DEEP, CT_SEV_WARNING, true },
		{ 28, CT_VS_DEEP, CT_SEV_CRITICAL, true },
		{ 29, CT_VS_DEEP, CT_SEV_CRITICAL, true },
		{ 30, CT_VS_DEEP, CT_SEV_CRITICAL, true },
	};
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 100000 * FX_GIB, 10 * FX_GIB);
	struct ct_vdi *leaf[9];
	struct ct_vm *vm[9];
	char name[32];

	for (int i = 0; i < 9; i++) {
		snprintf(name, sizeof(name), "vm-depth-%02d", cases[i].depth);
		leaf[i] = fx_deep_vm(&F, sr, name, cases[i].depth, &vm[i]);
	}
	eval();
	for (int i = 0; i < 9; i++) {
		const struct ct_vdi_verdict *v = V(leaf[i]);
		const struct ct_vm_verdict *m = VM(vm[i]);

		ck_assert_int_eq(v->depth, cases[i].depth);
		ck_assert_int_eq(v->stacked, 0);
		ck_assert_int_eq(v->pending, 0);
		ck_assert_msg(v->state == cases[i].state, "depth %d: state %s", cases[i].depth,
			      ct_vdi_state_name(v->state));
		ck_assert_int_eq(v->severity, cases[i].sev);
		ck_assert_int_eq(m->refused, cases[i].refused);
		ck_assert_int_eq(m->max_depth, cases[i].depth);
		ck_assert_int_eq(m->n_snapshots, 1);
	}
	ck_assert(vm_reason_has(VM(vm[4]), "is 25 VHDs deep (limit 25"));
	ck_assert(vm_reason_has(VM(vm[4]), "SR 'nfs-01' of pool 'lab'"));
	ck_assert(vm_reason_has(VM(vm[4]), "disk 'vm-depth-25 xvda'"));
	ck_assert(has_problem(CT_SEV_CRITICAL, "is 29 VHDs deep (warning at 20, critical at 28"));
	ck_assert_int_eq(vm_reason_kind(VM(vm[4]), "is 25 VHDs deep (limit 25"), CT_PK_DEEP);
	ck_assert_int_eq(problem_kind(CT_VDI, "is 29 VHDs deep"), CT_PK_DEEP);
	ck_assert(has_problem(CT_SEV_WARNING, "disk 'vm-depth-24 xvda'"));
	ck_assert_int_eq(R.worst, CT_SEV_CRITICAL);
	ck_assert_int_eq(R.problems[0].severity, CT_SEV_CRITICAL);
	ck_assert_int_eq(SRV(sr)->max_depth, 30);
	ck_assert_int_eq(SRV(sr)->severity, CT_SEV_CRITICAL);
	ck_assert_int_eq(SRV(sr)->pending, 0);
}
END_TEST

START_TEST(tolerance)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vm *one, *two, *three;
	struct ct_vdi *l1 = fx_stacked_vm(&F, sr, "one-stacked", 2, &one);
	struct ct_vdi *l2 = fx_stacked_vm(&F, sr, "two-stacked", 3, &two);
	struct ct_vdi *l3 = fx_stacked_vm(&F, sr, "three-stacked", 4, &three);

	for (int tol = 0; tol <= 2; tol++) {
		F.c.gate.tolerance = tol;
		eval();
		ck_assert_int_eq(V(l1)->stacked, 1);
		ck_assert_int_eq(V(l2)->stacked, 2);
		ck_assert_int_eq(V(l3)->stacked, 3);
		ck_assert_int_eq(V(l1)->pending, 2);
		ck_assert_int_eq(V(l2)->pending, 3);
		ck_assert_int_eq(VM(one)->refused, 1 > tol);
		ck_assert_int_eq(VM(two)->refused, 2 > tol);
		ck_assert_int_eq(VM(three)->refused, 3 > tol);
		ck_assert_int_eq(V(l1)->state, 1 > tol ? CT_VS_STACKED : CT_VS_PENDING);
		ck_assert_int_eq(V(l2)->state, 2 > tol ? CT_VS_STACKED : CT_VS_PENDING);
	}
	F.c.gate.tolerance = 1;
	eval();
	ck_assert(vm_reason_has(VM(two), "2 stacked base copies above disk 'two-stacked xvda'"));
	ck_assert(vm_reason_has(VM(two), "(tolerance 1); no garbage collection is running"));
	/* 2 + 3 + 4 single-child links, none shared */
	ck_assert_int_eq(SRV(sr)->pending, 9);
	ck_assert_int_eq(SRV(sr)->stacked, 2);
}
END_TEST

START_TEST(base_copy_over_leaf_is_pending_not_stacked)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vm *vm;
	struct ct_vdi *leaf = fx_stacked_vm(&F, sr, "leafpending-vm", 1, &vm);
	const struct ct_vdi_verdict *b;

	F.c.gate.tolerance = 0;
	eval();
	ck_assert_int_eq(V(leaf)->stacked, 0);
	ck_assert_int_eq(V(leaf)->pending, 1);
	ck_assert_int_eq(V(leaf)->depth, 2);
	ck_assert_int_eq(V(leaf)->state, CT_VS_PENDING);
	ck_assert(!VM(vm)->refused);
	b = &R.vdis[V(leaf)->parent];
	ck_assert(b->is_base_copy);
	ck_assert_int_eq(b->children, 1);
	ck_assert_int_eq(b->state, CT_VS_OK);
	ck_assert_int_eq(SRV(sr)->pending, 1);
	ck_assert_int_eq(R.worst, CT_SEV_OK);
	ck_assert_int_eq(R.n_problems, 0);
}
END_TEST

START_TEST(shared_ancestors)
{
	/* B1 (one child) <- B2 (two children: two clones' disks) */
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vdi *b1 = fx_base(&F, sr, NULL);
	struct ct_vdi *b2 = fx_base(&F, sr, b1);
	struct ct_vdi *l1 = fx_vdi(&F, sr, "clone-a disk", b2);
	struct ct_vdi *l2 = fx_vdi(&F, sr, "clone-b disk", b2);
	struct ct_vm *a = fx_vm(&F, "clone-a"), *b = fx_vm(&F, "clone-b");

	fx_vbd(&F, a, l1, "0");
	fx_vbd(&F, b, l2, "0");
	eval();
	ck_assert_int_eq(V(l1)->pending, 1);
	ck_assert_int_eq(V(l2)->pending, 1);
	ck_assert_int_eq(V(l1)->stacked, 1);
	ck_assert_int_eq(V(b2)->children, 2);
	ck_assert_int_eq(V(b1)->children, 1);
	ck_assert_int_eq(V(l1)->depth, 3);
	/* the shared single-child ancestor counts once for the SR */
	ck_assert_int_eq(SRV(sr)->pending, 1);
	/* preorder: parents before children, the SR's VDIs contiguous */
	ck_assert_int_lt(ct_chain_find_vdi(&R, b1), ct_chain_find_vdi(&R, b2));
	ck_assert_int_lt(ct_chain_find_vdi(&R, b2), ct_chain_find_vdi(&R, l1));
	ck_assert_int_eq(SRV(sr)->n_vdi_verdicts, 4);
}
END_TEST

START_TEST(garbage)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vdi *g = fx_base(&F, sr, NULL);
	struct ct_vdi *p = fx_base(&F, sr, NULL);
	struct ct_vdi *g2 = fx_base(&F, sr, p);   /* childless base copy under another */

	eval();
	ck_assert_int_eq(V(g)->state, CT_VS_GARBAGE);
	ck_assert_int_eq(V(g2)->state, CT_VS_GARBAGE);
	ck_assert_int_eq(V(g)->severity, CT_SEV_OK);
	ck_assert_int_eq(SRV(sr)->garbage, 2);
	ck_assert_int_eq(SRV(sr)->orphans, 0);
	ck_assert_int_eq(R.worst, CT_SEV_OK);
}
END_TEST

START_TEST(broken_parent)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vdi *b = fx_vdi_o(&F, sr, "base copy", (struct fx_vdi_opts){
		.parent_uuid = "deadbeef-0000-4000-8000-000000000000", .base = true });
	struct ct_vdi *s = fx_vdi_o(&F, sr, "snap", (struct fx_vdi_opts){ .parent = b, .snapshot = true });
	struct ct_vdi *leaf = fx_vdi(&F, sr, "web01 0", b);
	struct ct_vm *vm = fx_vm(&F, "web01"), *snap = fx_vm_o(&F, "web01 snap", true, vm);

	fx_vbd(&F, vm, leaf, "0");
	fx_vbd(&F, snap, s, "0");
	eval();
	ck_assert_int_eq(V(b)->state, CT_VS_BROKEN);
	ck_assert_str_eq(V(b)->missing_parent, "deadbeef-0000-4000-8000-000000000000");
	ck_assert_int_eq(V(b)->parent, -1);
	ck_assert_int_eq(V(leaf)->state, CT_VS_OK);
	ck_assert_int_eq(V(leaf)->broken_above, ct_chain_find_vdi(&R, b));
	ck_assert(VM(vm)->refused);
	ck_assert(vm_reason_has(VM(vm), "sits on a broken chain"));
	/* a missing parent: the disk may not attach (CRITICAL, as check and the console say) */
	ck_assert_int_eq(V(b)->severity, CT_SEV_CRITICAL);
	ck_assert(has_problem(CT_SEV_CRITICAL, "deadbeef-0000-4000-8000-000000000000, which the SR does not have; 2 VDIs below it depend on it: this disk may not attach"));
	ck_assert_int_eq(problem_kind(CT_VDI, "which the SR does not have"), CT_PK_BROKEN);
	ck_assert_int_eq(vm_reason_kind(VM(vm), "sits on a broken chain"), CT_PK_BROKEN);
	ck_assert_int_eq(problem_kind(CT_VM, "sits on a broken chain"), CT_PK_BROKEN);
	ck_assert_str_eq(ct_problem_kind_name(CT_PK_BROKEN), "broken");
	ck_assert_int_eq(SRV(sr)->broken, 1);
	ck_assert_int_eq(R.worst, CT_SEV_CRITICAL);
}
END_TEST

START_TEST(cycle_and_self_parent)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	/* A -> B -> C -> A, D below A; E its own parent */
	const char *ua = "aaaaaaaa-0000-4000-8000-000000000001";
	const char *ub = "bbbbbbbb-0000-4000-8000-000000000002";
	const char *uc = "cccccccc-0000-4000-8000-000000000003";
	const char *ue = "eeeeeeee-0000-4000-8000-000000000005";
	struct ct_vdi *a = fx_vdi_o(&F, sr, "A", (struct fx_vdi_opts){ .uuid = ua, .parent_uuid = ub, .base = true });
	struct ct_vdi *b = fx_vdi_o(&F, sr, "B", (struct fx_vdi_opts){ .uuid = ub, .parent_uuid = uc, .base = true });
	struct ct_vdi *c = fx_vdi_o(&F, sr, "C", (struct fx_vdi_opts){ .uuid = uc, .parent_uuid = ua, .base = true });
	struct ct_vdi *d = fx_vdi(&F, sr, "D", a);
	struct ct_vdi *e = fx_vdi_o(&F, sr, "E", (struct fx_vdi_opts){ .uuid = ue, .parent_uuid = ue });
	struct ct_vm *vm = fx_vm(&F, "cyclic");
	struct ct_gate_result g;

	fx_vbd(&F, vm, d, "0");
	fx_vbd(&F, vm, e, "1");
	eval();
	ck_assert(V(a)->cycle && V(b)->cycle && V(c)->cycle && V(e)->cycle);
	ck_assert(!V(d)->cycle);
	ck_assert_int_eq(V(a)->state, CT_VS_BROKEN);
	ck_assert_int_eq(V(e)->state, CT_VS_BROKEN);
	ck_assert_int_eq(V(e)->depth, 1);
	ck_assert_int_ge(V(d)->broken_above, 0);
	ck_assert_int_le(V(d)->depth, 4);
	ck_assert_int_eq(SRV(sr)->broken, 4);
	ck_assert(VM(vm)->refused);
	ck_assert(has_problem(CT_SEV_CRITICAL, "vhd-parent cycle"));
	/* the gate's chain text ends, too */
	ck_assert(!gate_vm(NULL, vm, NOW, &g));
	ck_assert_int_eq(g.n_disks, 2);
	ck_assert_ptr_nonnull(strstr(g.disks[1].chain, "vhd-parent cycle"));
	ct_gate_result_release(&g);
}
END_TEST

/* The engine numbers VDIs and VMs itself and resolves refs and uuids through its own
 * tables: every link it finds must be the one the model's lookups give. A mixed pool with
 * a uuid twice on one SR (a torn copy: the first holder in the model's order is the
 * parent), the same uuid on another SR, an empty CD drive, VBDs naming a VM or a VDI the
 * model does not have. */
START_TEST(dense_indexes_match_model)
{
	struct ct_sr *a = fx_sr(&F, "nfs-a", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_sr *b = fx_sr(&F, "lvm-b", "lvmoiscsi", 4000 * FX_GIB, 100 * FX_GIB);
	const char *dup = "dddddddd-0000-4000-8000-00000000000d";
	struct ct_vdi *first = fx_vdi_o(&F, a, "torn", (struct fx_vdi_opts){ .uuid = dup, .base = true });
	struct ct_vdi *second = fx_vdi_o(&F, a, "torn", (struct fx_vdi_opts){ .uuid = dup, .base = true });
	struct ct_vdi *other = fx_vdi_o(&F, b, "elsewhere", (struct fx_vdi_opts){ .uuid = dup, .base = true });
	struct ct_vdi *child = fx_vdi_o(&F, a, "child", (struct fx_vdi_opts){ .parent_uuid = dup });
	struct ct_vdi *child_b = fx_vdi_o(&F, b, "child b", (struct fx_vdi_opts){ .parent_uuid = dup });
	struct ct_vm *web = fx_vm(&F, "web"), *snap = fx_vm_o(&F, "web snap", true, web);
	struct ct_vm *ghost = (struct ct_vm *)ct_obj_new(CT_VM);
	struct ct_vbd *stray = (struct ct_vbd *)ct_obj_new(CT_VBD);
	struct ct_vdi *leaf;
	size_t nvdi = ct_model_count(&F.m, CT_VDI);

	(void)first;
	(void)second;
	(void)other;
	fx_stacked_vm(&F, a, "stacked", 2, NULL);
	fx_deep_vm(&F, b, "deep", 12, NULL);
	leaf = fx_vdi(&F, a, "web 0", fx_base(&F, a, NULL));
	fx_vbd(&F, web, leaf, "0");
	fx_vbd(&F, web, NULL, "3");                  /* empty CD drive */
	fx_vbd(&F, snap, fx_vdi_o(&F, a, "web 0", (struct fx_vdi_opts){ .snapshot = true }), "0");
	/* a VBD of a VM the model lacks, on the child; one naming a VDI the model lacks */
	fx_ids(&F, &ghost->o, "vm");
	ghost->name_label = ct_xstrdup("ghost");
	fx_vbd(&F, ghost, child, "0");
	ct_obj_free(&ghost->o);
	fx_ids(&F, &stray->o, "vbd");
	stray->vm = ct_xstrdup(web->o.ref);
	stray->vdi = ct_xstrdup("OpaqueRef:no-such-vdi");
	stray->type = CT_VBD_DISK;
	stray->userdevice = ct_xstrdup("5");
	ct_model_put(&F.m, &stray->o);
	eval();

	nvdi = ct_model_count(&F.m, CT_VDI);
	ck_assert_int_eq(R.n_vdis, (int)nvdi);
	for (int i = 0; i < R.n_vdis; i++) {
		const struct ct_vdi_verdict *vv = &R.vdis[i];
		struct ct_vdi *v = (struct ct_vdi *)vv->vdi;
		size_t nb;
		struct ct_vbd *const *vbds = ct_model_vdi_vbds(&F.m, v, &nb);
		bool real_user = false;

		ck_assert_int_eq(ct_chain_find_vdi(&R, v), i);
		if (vv->is_vhd && !vv->cycle)
			ck_assert_ptr_eq(vv->parent >= 0 ? R.vdis[vv->parent].vdi : NULL,
					 ct_model_vdi_parent(&F.m, v));
		ck_assert(vv->in_use == (nb > 0));
		for (size_t k = 0; k < nb; k++) {
			const struct ct_vm *vm = ct_model_vm(&F.m, vbds[k]->vm);

			if (vm && !vm->is_a_snapshot && !vm->is_a_template && !vm->is_control_domain)
				real_user = true;
		}
		ck_assert(real_user == (vv->vm != NULL));
	}
	ck_assert_ptr_eq(R.vdis[V(child)->parent].vdi, first);
	ck_assert_ptr_eq(R.vdis[V(child_b)->parent].vdi, other);
	ck_assert(V(child)->in_use);
	ck_assert_ptr_null(V(child)->vm);
	ck_assert_ptr_eq(V(leaf)->vm, web);
	for (int i = 0; i < R.n_vms; i++)
		ck_assert_int_eq(ct_chain_find_vm(&R, R.vms[i].vm), i);
	ck_assert_int_eq(VM(web)->n_snapshots, 1);
	ck_assert_int_eq(ct_chain_find_vm(&R, snap), -1);
}
END_TEST

START_TEST(orphans)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_sr *iso = fx_sr(&F, "ISOs", "iso", 200 * FX_GIB, 200 * FX_GIB);
	struct ct_vdi *b = fx_base(&F, sr, NULL);
	struct ct_vdi *leaf = fx_vdi(&F, sr, "app02 0", b);
	struct ct_vdi *snapdisk = fx_vdi_o(&F, sr, "legacy-snap disk", (struct fx_vdi_opts){
		.parent = b, .snapshot = true, .type = CT_VDI_USER });
	struct ct_vdi *user = fx_vdi(&F, sr, "orphan-data", NULL);
	struct ct_vdi *susp = fx_vdi_o(&F, sr, "Suspend image", (struct fx_vdi_opts){ .type = CT_VDI_SUSPEND });
	struct ct_vdi *cbt = fx_vdi_o(&F, sr, "cbt", (struct fx_vdi_opts){ .type = CT_VDI_CBT_METADATA });
	struct ct_vdi *ha = fx_vdi_o(&F, sr, "statefile", (struct fx_vdi_opts){ .type = CT_VDI_HA_STATEFILE });
	struct ct_vdi *md = fx_vdi_o(&F, sr, "metadata", (struct fx_vdi_opts){ .type = CT_VDI_METADATA });
	struct ct_vdi *redo = fx_vdi_o(&F, sr, "redo", (struct fx_vdi_opts){ .type = CT_VDI_REDO_LOG });
	struct ct_vdi *isov = fx_vdi_o(&F, iso, "debian.iso", (struct fx_vdi_opts){ .type = CT_VDI_USER, .raw = true });
	struct ct_vm *vm = fx_vm(&F, "app02");

	fx_vbd(&F, vm, leaf, "0");
	eval();
	/* a snapshot disk no snapshot VM holds: owner unknown (a CBT tool's VDI.snapshot?),
	 * not an orphan to delete; one chaintop made is */
	ck_assert_int_ne(V(snapdisk)->state, CT_VS_ORPHAN);
	ct_map_set(&snapdisk->other_config, "chaintop:job", "nightly");
	eval();
	ck_assert_int_eq(V(snapdisk)->state, CT_VS_ORPHAN);
	ck_assert_int_eq(V(user)->state, CT_VS_ORPHAN);
	ck_assert_int_eq(V(user)->severity, CT_SEV_WARNING);
	ck_assert_int_eq(V(susp)->state, CT_VS_OK);
	ck_assert_int_eq(V(cbt)->state, CT_VS_OK);
	ck_assert_int_eq(V(ha)->state, CT_VS_OK);
	ck_assert_int_eq(V(md)->state, CT_VS_OK);
	ck_assert_int_eq(V(redo)->state, CT_VS_OK);
	ck_assert_int_eq(V(isov)->state, CT_VS_OK);
	ck_assert_int_eq(V(b)->state, CT_VS_OK);   /* two children: not garbage, never orphan */
	ck_assert_int_eq(SRV(sr)->orphans, 2);
	ck_assert_int_eq(SRV(iso)->orphans, 0);
	ck_assert(has_problem(CT_SEV_WARNING, "snapshot VDI 'legacy-snap disk'"));
	ck_assert(has_problem(CT_SEV_WARNING, "VDI 'orphan-data' ("));
	ck_assert(has_problem(CT_SEV_WARNING, "is not used by any VM"));
	ck_assert(!VM(vm)->refused);
}
END_TEST

START_TEST(non_vhd_no_false_alarms)
{
	struct ct_sr *iso = fx_sr(&F, "ISOs", "iso", 200 * FX_GIB, 200 * FX_GIB);
	struct ct_sr *udev = fx_sr(&F, "DVD drives", "udev", 0, 0);
	struct ct_sr *nfs = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vdi *i1 = fx_vdi_o(&F, iso, "a.iso", (struct fx_vdi_opts){ .type = CT_VDI_USER });
	struct ct_vdi *dvd = fx_vdi_o(&F, udev, "DVD", (struct fx_vdi_opts){ .type = CT_VDI_USER });
	/* a raw disk naming a parent is not a chain */
	struct ct_vdi *raw = fx_vdi_o(&F, nfs, "raw disk", (struct fx_vdi_opts){
		.type = CT_VDI_USER, .raw = true, .parent_uuid = "ffffffff-0000-4000-8000-000000000000" });
	struct ct_vm *vm = fx_vm(&F, "raw-vm");

	fx_vbd(&F, vm, raw, "0");
	fx_vbd(&F, vm, i1, "3");
	eval();
	ck_assert(!SRV(iso)->vhd);
	ck_assert(!SRV(udev)->vhd);
	ck_assert(SRV(nfs)->vhd);
	ck_assert_int_eq(V(i1)->state, CT_VS_OK);
	ck_assert_int_eq(V(dvd)->state, CT_VS_OK);
	ck_assert_int_eq(V(raw)->state, CT_VS_OK);
	ck_assert(!V(raw)->is_vhd);
	ck_assert_int_eq(V(raw)->depth, 1);
	ck_assert(!VM(vm)->refused);
	ck_assert_int_eq(R.n_problems, 0);
	ck_assert_int_eq(R.worst, CT_SEV_OK);
}
END_TEST

START_TEST(space_thick_vs_thin)
{
	/* thick: 60 GiB free, a 500 GiB disk -> refused; thin with the same figures: fine */
	struct ct_sr *lvm = fx_sr(&F, "lvm-full", "lvm", 560 * FX_GIB, 500 * FX_GIB);
	struct ct_sr *nfs = fx_sr(&F, "nfs-roomy", "nfs", 560 * FX_GIB, 500 * FX_GIB);
	struct ct_sr *tight = fx_sr(&F, "nfs-tight", "nfs", 1000 * FX_GIB, 920 * FX_GIB);
	struct ct_sr *full = fx_sr(&F, "nfs-full", "nfs", 1000 * FX_GIB, 960 * FX_GIB);
	struct ct_vdi *d1 = fx_vdi_o(&F, lvm, "big", (struct fx_vdi_opts){ .size = 500 * FX_GIB });
	struct ct_vdi *d2 = fx_vdi_o(&F, nfs, "big", (struct fx_vdi_opts){ .size = 500 * FX_GIB });
	struct ct_vdi *d3 = fx_vdi(&F, tight, "small", NULL);
	struct ct_vdi *d4 = fx_vdi(&F, lvm, "small-thick", NULL);
	struct ct_vm *a = fx_vm(&F, "bigdisk-vm"), *b = fx_vm(&F, "thin-vm"), *c = fx_vm(&F, "tight-vm");
	struct ct_vm *d = fx_vm(&F, "small-thick-vm");

	(void)full;
	fx_vbd(&F, a, d1, "0");
	fx_vbd(&F, b, d2, "0");
	fx_vbd(&F, c, d3, "0");
	fx_vbd(&F, d, d4, "0");
	eval();
	ck_assert(SRV(lvm)->thick);
	ck_assert(!SRV(nfs)->thick);
	ck_assert_int_eq(SRV(lvm)->free_bytes, 60 * FX_GIB);
	ck_assert(VM(a)->refused);
	ck_assert(vm_reason_has(VM(a), "SR 'lvm-full' of pool 'lab' (thick, lvm) has 60.0 GiB free, less than the 500.0 GiB"));
	ck_assert(!VM(b)->refused);
	ck_assert(!VM(d)->refused);
	ck_assert(VM(c)->refused);   /* 8% free < 10% */
	ck_assert(vm_reason_has(VM(c), "has 8.0% free"));
	ck_assert(vm_reason_has(VM(c), "minimum 10%"));
	/* 4% free < crit_free_percent 5 */
	ck_assert_int_eq(SRV(full)->severity, CT_SEV_CRITICAL);
	ck_assert(has_problem(CT_SEV_CRITICAL, "SR 'nfs-full' of pool 'lab' has 4.0% free"));
	ck_assert_int_eq(problem_kind(CT_SR, "SR 'nfs-full' of pool 'lab' has 4.0% free"), CT_PK_SR_FREE);
	ck_assert_int_eq(vm_reason_kind(VM(a), "(thick, lvm) has 60.0 GiB free"), CT_PK_SR_FREE);
	ck_assert_int_eq(vm_reason_kind(VM(c), "minimum 10%"), CT_PK_SR_FREE);
	ck_assert_int_eq(SRV(tight)->severity, CT_SEV_WARNING);
}
END_TEST

START_TEST(gc_task_present_or_absent)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_sr *other = fx_sr(&F, "nfs-02", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vm *vm, *vm2;

	fx_stacked_vm(&F, sr, "web01", 3, &vm);
	fx_stacked_vm(&F, other, "web02", 3, &vm2);
	fx_gc_task(&F, sr, 0.4);
	eval();
	ck_assert(SRV(sr)->gc_progress > 0.39 && SRV(sr)->gc_progress < 0.41);
	ck_assert(SRV(other)->gc_progress < 0);
	ck_assert_str_eq(SRV(sr)->gc_note, "GC at 40%");
	ck_assert_ptr_null(SRV(other)->gc_note);
	ck_assert(vm_reason_has(VM(vm), "2 stacked base copies above disk 'web01 xvda'"));
	ck_assert(vm_reason_has(VM(vm), "on SR 'nfs-01' of pool 'lab' (tolerance 1); the SR garbage collector is at 40%"));
	ck_assert(vm_reason_has(VM(vm2), "no garbage collection is running"));
	ck_assert_int_eq(SRV(sr)->refused_vms, 1);
}
END_TEST

START_TEST(gc_paused_and_no_space)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_sr *old = fx_sr(&F, "nfs-02", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vdi *b = fx_base(&F, sr, NULL);

	/* relinking is the GC's own mark (cleanup.py _tagChildrenForRelink) */
	fx_vdi_o(&F, sr, "leaf", (struct fx_vdi_opts){ .parent = b, .sm_key = "relinking" });
	fx_message(&F, "SM_GC_NO_SPACE", sr, NOW - 600, "Insufficient space to coalesce");
	fx_message(&F, "SM_GC_NO_SPACE", old, NOW - 3 * 86400, "Insufficient space to coalesce");
	eval();
	ck_assert(SRV(sr)->gc_paused);
	ck_assert(SRV(sr)->gc_no_space);
	ck_assert(!SRV(old)->gc_no_space);
	ck_assert(has_problem(CT_SEV_CRITICAL, "garbage collector of SR 'nfs-01' of pool 'lab' reported it is out of space"));
	ck_assert_int_eq(SRV(old)->severity, CT_SEV_OK);
}
END_TEST

START_TEST(coalesce_warn_and_overrides)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_sr *lvm = fx_sr(&F, "lvm-01", "lvmoiscsi", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vm *vm, *vm2;
	struct ct_sr_override *o;
	char name[32];

	fx_stacked_vm(&F, sr, "stacked", 3, &vm);
	fx_stacked_vm(&F, lvm, "stacked-lvm", 3, &vm2);
	for (int i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "leafpending-%d", i);
		fx_stacked_vm(&F, sr, name, 1, NULL);
	}
	eval();
	ck_assert_int_eq(SRV(sr)->pending, 10);
	ck_assert(has_problem(CT_SEV_WARNING, "SR 'nfs-01' of pool 'lab' has 10 VDIs pending coalesce (warning at 10)"));
	ck_assert(VM(vm)->refused);
	ck_assert(VM(vm2)->refused);
	/* an NFS SR that never leaf-coalesces gets its own limits */
	o = fx_override(&F, "nfs-*");
	o->tolerance = 2;
	o->coalesce_warn = 11;
	eval();
	ck_assert_int_eq(SRV(sr)->gate.tolerance, 2);
	ck_assert_int_eq(SRV(lvm)->gate.tolerance, 1);
	ck_assert(!VM(vm)->refused);
	ck_assert(VM(vm2)->refused);
	ck_assert(!has_problem(CT_SEV_WARNING, "pending coalesce (warning at"));
	/* a pool-wide override, then the SR override by uuid wins */
	F.pc.tolerance = 5;
	o->match = SRV(lvm)->sr->o.uuid;
	o->tolerance = 0;
	eval();
	ck_assert_int_eq(SRV(sr)->gate.tolerance, 5);
	ck_assert_int_eq(SRV(lvm)->gate.tolerance, 0);
	ck_assert(!VM(vm)->refused);
	ck_assert(VM(vm2)->refused);
}
END_TEST

START_TEST(stall_detection)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_stall st = { 0 };
	struct ct_task *t;
	char path[] = "/tmp/chaintop-stall-XXXXXX";
	struct ct_err e;
	struct ct_stall back = { 0 };
	int fd;

	fx_stacked_vm(&F, sr, "a", 1, NULL);
	fx_stacked_vm(&F, sr, "b", 1, NULL);
	/* a GC that runs and never finishes a merge (without a task it would be idle) */
	fx_gc_task(&F, sr, 0.0);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW, &st, &R), 0);
	ck_assert(!SRV(sr)->gc_stalled);
	ck_assert_int_eq(st.n, 1);
	ck_assert_int_eq(st.e[0].pending, 2);
	ck_assert_int_eq(st.e[0].since, NOW);
	ct_chain_report_release(&R);
	/* 5 h later, nothing moved: not yet */
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 5 * 3600, &st, &R), 0);
	ck_assert(!SRV(sr)->gc_stalled);
	ct_chain_report_release(&R);
	/* 6 h later: stalled since the first sighting */
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 6 * 3600, &st, &R), 0);
	ck_assert(SRV(sr)->gc_stalled);
	ck_assert_int_eq(SRV(sr)->pending_since, NOW);
	ck_assert(has_problem(CT_SEV_WARNING, "GC stalled since "));
	ck_assert_ptr_nonnull(strstr(SRV(sr)->gc_note, "GC stalled since"));
	{
		/* verdict text is the same whatever TZ the process has (it goes into the job
		 * history and is compared between runs on different hosts) */
		char *note = ct_xstrdup(SRV(sr)->gc_note);
		const char *tz = getenv("TZ");
		char *saved = tz ? ct_xstrdup(tz) : NULL;

		ck_assert_ptr_nonnull(strstr(note, "2025-11-25 19:46 UTC"));
		setenv("TZ", "Asia/Tokyo", 1);
		tzset();
		ct_chain_report_release(&R);
		ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 6 * 3600, &st, &R), 0);
		ck_assert_str_eq(SRV(sr)->gc_note, note);
		if (saved)
			setenv("TZ", saved, 1);
		else
			unsetenv("TZ");
		tzset();
		free(saved);
		free(note);
	}
	ct_chain_report_release(&R);

	/* kept between runs in a file */
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ct_err_init(&e);
	ck_assert_int_eq(ct_stall_save(&st, path, &e), 0);
	ck_assert_int_eq(ct_stall_load(&back, path, &e), 0);
	ck_assert_int_eq(back.n, 1);
	ck_assert_str_eq(back.e[0].sr_uuid, sr->o.uuid);
	ck_assert_int_eq(back.e[0].since, NOW);
	ck_assert(back.e[0].gc_progress < 0.01);
	ck_assert_int_eq(back.e[0].gc_seen_at, NOW + 6 * 3600);
	unlink(path);
	ct_stall_release(&back);
	ck_assert_int_eq(ct_stall_load(&back, path, &e), 0);   /* missing file: empty */
	ck_assert_int_eq(back.n, 0);
	ct_stall_release(&back);

	/* a GC task that makes progress is not a stall */
	t = fx_gc_task(&F, sr, 0.1);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 7 * 3600, &st, &R), 0);
	ck_assert(!SRV(sr)->gc_stalled);
	ct_chain_report_release(&R);
	t->progress = 0.5;
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 12 * 3600, &st, &R), 0);
	ck_assert(!SRV(sr)->gc_stalled);
	ct_chain_report_release(&R);
	/* ... until it stops moving for stall_after */
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 18 * 3600, &st, &R), 0);
	ck_assert(SRV(sr)->gc_stalled);
	ck_assert_int_eq(SRV(sr)->pending_since, NOW + 12 * 3600);
	ct_chain_report_release(&R);
	ct_stall_release(&st);
}
END_TEST

START_TEST(stall_resets_when_pending_goes_down)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_stall st = { 0 };

	fx_stacked_vm(&F, sr, "a", 1, NULL);
	/* remembered from an earlier run: 3 pending since long ago */
	st.cap = 1;
	st.n = 1;
	st.e = ct_xcalloc(1, sizeof(*st.e));
	snprintf(st.e[0].sr_uuid, sizeof(st.e[0].sr_uuid), "%s", sr->o.uuid);
	st.e[0].pending = 3;
	st.e[0].since = NOW - 86400;
	st.e[0].gc_progress = -1;
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW, &st, &R), 0);
	ck_assert(!SRV(sr)->gc_stalled);
	ck_assert_int_eq(st.e[0].since, NOW);
	ck_assert_int_eq(st.e[0].pending, 1);
	ct_chain_report_release(&R);
	ct_stall_release(&st);
}
END_TEST

START_TEST(gate_vm_with_job_override)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vm *vm;
	struct ct_gate_result g;
	struct ct_gate_conf job;

	fx_stacked_vm(&F, sr, "stacked-vm", 3, &vm);
	ck_assert(!gate_vm(NULL, vm, NOW, &g));
	ck_assert_int_eq(g.n_reasons, 1);
	ck_assert_int_eq(g.n_disks, 1);
	ck_assert_int_eq(g.disks[0].stacked, 2);
	ck_assert_int_eq(g.disks[0].depth, 4);
	ck_assert_ptr_nonnull(strstr(g.disks[0].chain, "'stacked-vm' "));
	ck_assert_ptr_nonnull(strstr(g.disks[0].chain, " <- base copy "));
	ck_assert_ptr_nonnull(strstr(g.disks[0].chain, "[depth 4, 2 stacked, 3 pending]"));
	ct_gate_result_release(&g);
	job = F.c.gate;
	job.tolerance = 2;
	ck_assert(gate_vm(&job, vm, NOW, &g));
	ck_assert_int_eq(g.n_reasons, 0);
	ct_gate_result_release(&g);
	job.tolerance = F.c.gate.tolerance;
	job.max_depth = 4;
	ck_assert(!gate_vm(&job, vm, NOW, &g));
	ck_assert_int_eq(g.n_reasons, 2);
	ct_gate_result_release(&g);
}
END_TEST

START_TEST(untrusted_names_sanitised)
{
	struct ct_sr *sr = fx_sr(&F, "nfs\x1b[31m", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vm *vm;

	fx_stacked_vm(&F, sr, "evil\nvm", 3, &vm);
	eval();
	ck_assert(VM(vm)->refused);
	for (int i = 0; i < VM(vm)->n_reasons; i++) {
		ck_assert_ptr_null(strchr(VM(vm)->reasons[i], '\x1b'));
		ck_assert_ptr_null(strchr(VM(vm)->reasons[i], '\n'));
	}
	ck_assert(vm_reason_has(VM(vm), "evil\\nvm"));
}
END_TEST

START_TEST(names_and_helpers)
{
	ck_assert_str_eq(ct_vdi_state_name(CT_VS_STACKED), "stacked");
	ck_assert_str_eq(ct_vdi_state_name(CT_VS_ORPHAN), "orphan");
	ck_assert_str_eq(ct_severity_name(CT_SEV_UNKNOWN), "UNKNOWN");
	ck_assert_int_gt(ct_severity_rank(CT_SEV_CRITICAL), ct_severity_rank(CT_SEV_UNKNOWN));
	ck_assert_int_gt(ct_severity_rank(CT_SEV_UNKNOWN), ct_severity_rank(CT_SEV_WARNING));
	ck_assert_int_gt(ct_severity_rank(CT_SEV_WARNING), ct_severity_rank(CT_SEV_OK));
	eval();   /* an empty pool */
	ck_assert_int_eq(R.n_srs, 0);
	ck_assert_int_eq(R.worst, CT_SEV_OK);
	ck_assert_int_eq(ct_chain_find_vdi(&R, NULL), -1);
	ct_chain_report_release(NULL);
	ct_gate_result_release(NULL);
	ct_stall_release(NULL);
}
END_TEST

START_TEST(real_vms_only)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vm *vm = fx_vm(&F, "web01");
	struct ct_vm *snap = fx_vm_o(&F, "web01 snap", true, vm);
	struct ct_vm *dom0 = (struct ct_vm *)ct_obj_new(CT_VM);
	struct ct_vdi *b = fx_base(&F, sr, NULL);
	struct ct_vdi *l = fx_vdi(&F, sr, "web01 0", b);
	struct ct_vdi *s = fx_vdi_o(&F, sr, "web01 0", (struct fx_vdi_opts){ .parent = b, .snapshot = true });

	fx_ids(&F, &dom0->o, "vm");
	dom0->name_label = ct_xstrdup("Control domain");
	dom0->is_control_domain = true;
	ct_model_put(&F.m, &dom0->o);
	fx_vbd(&F, vm, l, "0");
	fx_vbd(&F, snap, s, "0");
	eval();
	ck_assert_int_eq(R.n_vms, 1);
	ck_assert_ptr_eq(R.vms[0].vm, vm);
	ck_assert_int_eq(R.vms[0].n_snapshots, 1);
	ck_assert_ptr_eq(V(l)->vm, vm);
	ck_assert_ptr_null(V(s)->vm);
	ck_assert_ptr_eq(V(s)->snapshot_vm, snap);
	ck_assert(V(s)->in_use);
	ck_assert_int_eq(ct_chain_find_vm(&R, snap), -1);
}
END_TEST

START_TEST(halted_disk_named_by_position)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vm *vm = fx_vm(&F, "halted-vm");
	const struct ct_vdi *p = fx_base(&F, sr, NULL);
	struct ct_vdi *leaf;
	struct ct_vbd *b = (struct ct_vbd *)ct_obj_new(CT_VBD);

	p = fx_base(&F, sr, p);
	p = fx_base(&F, sr, p);
	leaf = fx_vdi(&F, sr, "halted-vm 0", p);
	fx_ids(&F, &b->o, "vbd");
	b->vm = ct_xstrdup(vm->o.ref);
	b->vdi = ct_xstrdup(leaf->o.ref);
	b->type = CT_VBD_DISK;
	b->userdevice = ct_xstrdup("0");
	b->device = ct_xstrdup("");   /* not attached: XAPI leaves device empty */
	ct_model_put(&F.m, &b->o);
	eval();
	ck_assert(VM(vm)->refused);
	ck_assert(vm_reason_has(VM(vm), "above disk 'halted-vm #0'"));
}
END_TEST

/* Two reports say the same: every verdict, SR, VM and problem, field by field. */
static void assert_same_report(const struct ct_chain_report *a, const struct ct_chain_report *b)
{
	ck_assert_int_eq(a->n_vdis, b->n_vdis);
	ck_assert_int_eq(a->n_srs, b->n_srs);
	ck_assert_int_eq(a->n_vms, b->n_vms);
	ck_assert_int_eq(a->n_problems, b->n_problems);
	ck_assert_int_eq(a->worst, b->worst);
	for (int i = 0; i < a->n_vdis; i++) {
		const struct ct_vdi_verdict *x = &a->vdis[i], *y = &b->vdis[i];

		ck_assert_ptr_eq(x->vdi, y->vdi);
		ck_assert_int_eq(x->sr_index, y->sr_index);
		ck_assert_int_eq(x->parent, y->parent);
		ck_assert_int_eq(x->depth, y->depth);
		ck_assert_int_eq(x->children, y->children);
		ck_assert_int_eq(x->stacked, y->stacked);
		ck_assert_int_eq(x->pending, y->pending);
		ck_assert_int_eq(x->state, y->state);
		ck_assert_int_eq(x->severity, y->severity);
		ck_assert_int_eq(x->is_vhd, y->is_vhd);
		ck_assert_int_eq(x->is_base_copy, y->is_base_copy);
		ck_assert_int_eq(x->in_use, y->in_use);
		ck_assert_ptr_eq(x->vm, y->vm);
		ck_assert_ptr_eq(x->vbd, y->vbd);
		ck_assert_ptr_eq(x->snapshot_vm, y->snapshot_vm);
		ck_assert_int_eq(x->cycle, y->cycle);
		ck_assert_ptr_eq(x->missing_parent, y->missing_parent);
		ck_assert_int_eq(x->broken_above, y->broken_above);
		ck_assert_int_eq(x->gc_mark, y->gc_mark);
	}
	for (int i = 0; i < a->n_srs; i++) {
		const struct ct_sr_verdict *x = &a->srs[i], *y = &b->srs[i];

		ck_assert_ptr_eq(x->sr, y->sr);
		ck_assert_int_eq(x->vhd, y->vhd);
		ck_assert_int_eq(x->thick, y->thick);
		ck_assert_int_eq(x->n_vdis, y->n_vdis);
		ck_assert_int_eq(x->first_vdi, y->first_vdi);
		ck_assert_int_eq(x->pending, y->pending);
		ck_assert_int_eq(x->max_depth, y->max_depth);
		ck_assert_int_eq(x->stacked, y->stacked);
		ck_assert_int_eq(x->orphans, y->orphans);
		ck_assert_int_eq(x->garbage, y->garbage);
		ck_assert_int_eq(x->broken, y->broken);
		ck_assert_int_eq(x->deep, y->deep);
		ck_assert_int_eq(x->free_bytes, y->free_bytes);
		ck_assert(x->gc_progress == y->gc_progress);
		ck_assert_int_eq(x->gc_paused, y->gc_paused);
		ck_assert_int_eq(x->gc_no_space, y->gc_no_space);
		ck_assert_int_eq(x->coalesce_failed, y->coalesce_failed);
		ck_assert_int_eq(x->gc_stalled, y->gc_stalled);
		ck_assert_str_eq(x->gc_note ? x->gc_note : "-", y->gc_note ? y->gc_note : "-");
		ck_assert_int_eq(x->severity, y->severity);
		ck_assert_int_eq(x->refused_vms, y->refused_vms);
	}
	for (int i = 0; i < a->n_vms; i++) {
		const struct ct_vm_verdict *x = &a->vms[i], *y = &b->vms[i];

		ck_assert_ptr_eq(x->vm, y->vm);
		ck_assert_int_eq(x->refused, y->refused);
		ck_assert_int_eq(x->n_snapshots, y->n_snapshots);
		ck_assert_int_eq(x->max_depth, y->max_depth);
		ck_assert_int_eq(x->severity, y->severity);
		ck_assert_int_eq(x->n_reasons, y->n_reasons);
		for (int k = 0; k < x->n_reasons; k++)
			ck_assert_str_eq(x->reasons[k], y->reasons[k]);
	}
	for (int i = 0; i < a->n_problems; i++) {
		ck_assert_int_eq(a->problems[i].severity, b->problems[i].severity);
		ck_assert_int_eq(a->problems[i].cls, b->problems[i].cls);
		ck_assert_int_eq(a->problems[i].sr_index, b->problems[i].sr_index);
		ck_assert_str_eq(a->problems[i].ref, b->problems[i].ref);
		ck_assert_str_eq(a->problems[i].reason, b->problems[i].reason);
	}
}

/* ct_chain_refresh gives what ct_chain_eval gives; it keeps the structure when no VDI, VBD
 * or VM changed and the SRs are the same, and builds it again otherwise. */
START_TEST(refresh_matches_eval)
{
	struct ct_sr *nfs = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_sr *lvm = fx_sr(&F, "lvm-01", "lvmoiscsi", 400 * FX_GIB, 300 * FX_GIB);
	struct ct_chain_report K;
	struct ct_sr *sr2;
	struct ct_vm *vm;
	const struct ct_vdi_verdict *kept;
	char lvm_ref[128];

	snprintf(lvm_ref, sizeof(lvm_ref), "%s", lvm->o.ref);
	fx_stacked_vm(&F, nfs, "web01", 3, &vm);
	fx_stacked_vm(&F, lvm, "db01", 1, NULL);
	fx_deep_vm(&F, nfs, "deep01", 24, NULL);
	fx_vdi(&F, nfs, "lost disk", NULL);
	fx_vdi_o(&F, nfs, "torn", (struct fx_vdi_opts){ .parent_uuid = "0badc0de-0000-4000-8000-000000000000" });
	memset(&K, 0, sizeof(K));
	/* from an empty report: a full evaluation */
	ck_assert_int_eq(ct_chain_refresh(&F.m, &F.c, &F.pc, NOW, NULL, &K), 0);
	eval();
	assert_same_report(&K, &R);
	kept = K.vdis;

	/* a GC task starts and a message arrives: structure kept */
	fx_gc_task(&F, nfs, 0.25);
	fx_message(&F, "SM_GC_NO_SPACE", lvm, NOW - 60, "Insufficient space to coalesce");
	ck_assert_int_eq(ct_chain_refresh(&F.m, &F.c, &F.pc, NOW, NULL, &K), 0);
	ck_assert_ptr_eq(K.vdis, kept);
	eval();
	assert_same_report(&K, &R);
	ck_assert(has_problem(CT_SEV_CRITICAL, "reported it is out of space"));

	/* the SR's usage changes (a new SR record): structure kept, space judged anew */
	sr2 = (struct ct_sr *)ct_obj_dup(&ct_model_sr(&F.m, lvm_ref)->o);
	sr2->physical_utilisation = 399 * FX_GIB;
	ct_model_put(&F.m, &sr2->o);
	ck_assert_int_eq(ct_chain_refresh(&F.m, &F.c, &F.pc, NOW, NULL, &K), 0);
	ck_assert_ptr_eq(K.vdis, kept);
	eval();
	assert_same_report(&K, &R);
	ck_assert(has_problem(CT_SEV_CRITICAL, "SR 'lvm-01' of pool 'lab' has 0.2% free"));

	/* time passes: messages age out of the window */
	ck_assert_int_eq(ct_chain_refresh(&F.m, &F.c, &F.pc, NOW + 3 * 86400, NULL, &K), 0);
	ck_assert_ptr_eq(K.vdis, kept);
	ct_chain_report_release(&R);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 3 * 86400, NULL, &R), 0);
	assert_same_report(&K, &R);
	ck_assert(!has_problem(CT_SEV_CRITICAL, "reported it is out of space"));

	/* a snapshot (VDIs, VBD, VM): a new structure */
	fx_vbd(&F, fx_vm_o(&F, "web01 snap", true, vm),
	       fx_vdi_o(&F, nfs, "web01 0", (struct fx_vdi_opts){ .snapshot = true }), "0");
	ck_assert_int_eq(ct_chain_refresh(&F.m, &F.c, &F.pc, NOW, NULL, &K), 0);
	eval();
	assert_same_report(&K, &R);

	/* an SR renamed so the order changes: a new structure too */
	sr2 = (struct ct_sr *)ct_obj_dup(&ct_model_sr(&F.m, lvm_ref)->o);
	free(sr2->name_label);
	sr2->name_label = ct_xstrdup("zz-lvm");
	ct_model_put(&F.m, &sr2->o);
	ck_assert_int_eq(ct_chain_refresh(&F.m, &F.c, &F.pc, NOW, NULL, &K), 0);
	eval();
	assert_same_report(&K, &R);
	ck_assert_str_eq(K.srs[K.n_srs - 1].sr->name_label, "zz-lvm");
	ct_chain_report_release(&K);
}
END_TEST

/* The owner and never-destroy predicates prune and Health share (issue 13). */
START_TEST(owner_predicates)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_sr *lun = fx_sr(&F, "luns", "iscsi", 4000 * FX_GIB, 0);
	struct ct_vm *vm = fx_vm(&F, "app01");
	struct ct_vm *snap = fx_vm_o(&F, "snap", true, vm);
	struct ct_vdi *plain = fx_vdi(&F, sr, "plain", NULL);
	struct ct_vdi *att = fx_vdi(&F, sr, "attached by SM", NULL);
	struct ct_vdi *raw = fx_vdi(&F, lun, "LUN 1", NULL);
	struct ct_vdi *snapdisk = fx_vdi_o(&F, sr, "cbt snap", (struct fx_vdi_opts){ .snapshot = true,
		.type = CT_VDI_USER });
	struct ct_vdi *xo = fx_vdi(&F, sr, "xo", NULL);
	struct ct_vdi *lost = fx_vdi_o(&F, sr, "Suspend image", (struct fx_vdi_opts){
		.type = CT_VDI_SUSPEND });
	struct ct_owner_ctx x;
	struct ct_orphan_verdict ov;
	const char *job = NULL;
	char why[256];
	struct ct_job_conf *jobs;

	/* snapshot VMs */
	ck_assert_int_eq(ct_vm_owner(snap, &F.c, &job), CT_OWN_MANUAL);
	ck_assert_ptr_null(job);
	snap->is_vmss_snapshot = true;
	ck_assert_int_eq(ct_vm_owner(snap, &F.c, &job), CT_OWN_VMSS);
	ct_map_set(&snap->other_config, "xo:backup:schedule", "sched");
	ck_assert_int_eq(ct_vm_owner(snap, &F.c, &job), CT_OWN_XO);
	ct_map_set(&snap->other_config, "xo:backup:job", "job-1");
	ck_assert_int_eq(ct_vm_owner(snap, &F.c, &job), CT_OWN_XO);
	ck_assert_str_eq(job, "job-1");
	ck_assert(ct_owner_is_foreign(CT_OWN_XO) && ct_owner_is_foreign(CT_OWN_VMSS) &&
		  ct_owner_is_foreign(CT_OWN_UNKNOWN));
	ck_assert(!ct_owner_is_foreign(CT_OWN_MANUAL) && !ct_owner_is_foreign(CT_OWN_CHAINTOP));
	ct_map_release(&snap->other_config);
	ct_map_set(&snap->other_config, "chaintop:job", "nightly");
	ck_assert_int_eq(ct_vm_owner(snap, &F.c, &job), CT_OWN_CHAINTOP_OTHER);
	ck_assert_int_eq(ct_vm_owner(snap, NULL, &job), CT_OWN_CHAINTOP);
	jobs = ct_xcalloc(1, sizeof(*jobs));
	jobs[0].name = ct_xstrdup("nightly");
	F.c.jobs = jobs;
	F.c.n_jobs = 1;
	ck_assert_int_eq(ct_vm_owner(snap, &F.c, &job), CT_OWN_CHAINTOP);
	ck_assert_str_eq(job, "nightly");
	ct_map_set(&snap->other_config, "chaintop:job", "adhoc");
	F.c.n_jobs = 0;
	ck_assert_int_eq(ct_vm_owner(snap, &F.c, &job), CT_OWN_CHAINTOP);
	F.c.n_jobs = 1;
	ck_assert_ptr_null(ct_vm_destroy_blocked(snap));
	ct_map_set(&snap->blocked_operations, "destroy", "audit");
	ck_assert_str_eq(ct_vm_destroy_blocked(snap), "audit");

	/* disks */
	ct_map_set(&att->sm_config, "host_OpaqueRef:h", "RW");
	ct_map_set(&xo->other_config, "xo:backup:job", "job-1");
	ct_owner_ctx_init(&x, &F.m, &F.c);
	ck_assert_ptr_null(ct_vdi_protected(&x, plain, why, sizeof(why)));
	ck_assert_ptr_nonnull(ct_vdi_protected(&x, att, why, sizeof(why)));
	ck_assert_msg(strstr(why, "host_OpaqueRef:h"), "%s", why);
	ck_assert_ptr_nonnull(ct_vdi_protected(&x, raw, why, sizeof(why)));
	ck_assert_int_eq(ct_vdi_orphan(&x, plain, &ov), CT_ORPHAN_YES);
	ck_assert_int_eq(ov.owner, CT_OWN_NONE);
	ck_assert_int_eq(ct_vdi_orphan(&x, att, &ov), CT_ORPHAN_PROTECTED);
	ck_assert_int_eq(ct_vdi_orphan(&x, raw, &ov), CT_ORPHAN_PROTECTED);
	ck_assert_int_eq(ct_vdi_orphan(&x, snapdisk, &ov), CT_ORPHAN_FOREIGN);
	ck_assert_int_eq(ov.owner, CT_OWN_UNKNOWN);
	ck_assert_int_eq(ct_vdi_orphan(&x, xo, &ov), CT_ORPHAN_FOREIGN);
	ck_assert_int_eq(ov.owner, CT_OWN_XO);
	ck_assert_str_eq(ov.job, "job-1");
	ck_assert_int_eq(ct_vdi_orphan(&x, lost, &ov), CT_ORPHAN_FOREIGN);
	ck_assert_int_eq(ov.owner, CT_OWN_UNKNOWN);
	/* a VBD, or being someone's suspend image, makes any of them used */
	fx_vbd(&F, vm, plain, "1");
	ck_assert_int_eq(ct_vdi_orphan(&x, plain, &ov), CT_ORPHAN_NO);
	ct_owner_ctx_release(&x);
	free(snap->suspend_vdi);
	snap->suspend_vdi = ct_xstrdup(lost->o.ref);
	ct_owner_ctx_init(&x, &F.m, &F.c);
	ck_assert_ptr_eq(ct_owner_suspend_holder(&x, lost), snap);
	ck_assert_int_eq(ct_vdi_orphan(&x, lost, &ov), CT_ORPHAN_NO);
	ct_owner_ctx_release(&x);
	/* Health agrees */
	eval();
	ck_assert_int_ne(V(att)->state, CT_VS_ORPHAN);
	ck_assert_int_ne(V(raw)->state, CT_VS_ORPHAN);
	ck_assert_int_ne(V(xo)->state, CT_VS_ORPHAN);
	ck_assert_int_ne(V(snapdisk)->state, CT_VS_ORPHAN);
}
END_TEST

static struct ct_vdi *vdi_set(struct ct_vdi *v, const char *map, const char *key, const char *val)
{
	struct ct_vdi *n = (struct ct_vdi *)ct_obj_dup(&v->o);

	ct_map_set(!strcmp(map, "sm") ? &n->sm_config : &n->other_config, key, val);
	ct_model_put(&F.m, &n->o);
	return n;
}

static struct ct_sr *sr_set(struct ct_sr *sr, const char *map, const char *key, const char *val)
{
	struct ct_sr *n = (struct ct_sr *)ct_obj_dup(&sr->o);

	ct_map_set(!strcmp(map, "sm") ? &n->sm_config : &n->other_config, key, val);
	ct_model_put(&F.m, &n->o);
	return n;
}

/* A VM "name" whose disk is a leaf over one base copy: one pending leaf-coalesce. */
static struct ct_vdi *vm_over_base(struct ct_sr *sr, const char *name, struct ct_vm **vmp)
{
	struct ct_vm *vm = fx_vm(&F, name);
	struct ct_vdi *b = fx_base(&F, sr, NULL);
	struct ct_vdi *l = fx_vdi_o(&F, sr, name, (struct fx_vdi_opts){ .parent = b });

	fx_vbd(&F, vm, l, "0");
	if (vmp)
		*vmp = vm;
	return l;
}

START_TEST(paused_is_not_gc_work)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_stall st = { 0 };
	struct ct_vdi *l = vm_over_base(sr, "web01", NULL);
	struct ct_task *t;

	l = vdi_set(l, "sm", "paused", "true");
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW, &st, &R), 0);
	ck_assert_int_eq(SRV(sr)->paused, 1);
	ck_assert(!SRV(sr)->gc_paused);
	ck_assert(has_problem(CT_SEV_WARNING, "disk 'web01 xvda'"));
	ck_assert(has_problem(CT_SEV_WARNING, "disk I/O frozen"));
	ck_assert(!has_problem(CT_SEV_CRITICAL, "disk I/O frozen"));
	ck_assert(SRV(sr)->gc_note == NULL || !strstr(SRV(sr)->gc_note, "coalescing"));
	ct_chain_report_release(&R);
	/* still paused 2 minutes later: critical */
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 121, &st, &R), 0);
	ck_assert(has_problem(CT_SEV_CRITICAL, "disk I/O frozen for over 2 minutes"));
	ck_assert_int_eq(R.worst, CT_SEV_CRITICAL);
	ct_chain_report_release(&R);
	/* while a GC runs on the SR it may be a live leaf-coalesce: no problem */
	t = fx_gc_task(&F, sr, 0.5);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 200, &st, &R), 0);
	ck_assert(!has_problem(CT_SEV_WARNING, "frozen") && !has_problem(CT_SEV_CRITICAL, "frozen"));
	ck_assert_int_eq(st.np, 0);   /* forgotten: not seen paused without a GC */
	ct_model_del(&F.m, CT_TASK, t->o.ref);
	ct_stall_release(&st);
}
END_TEST

START_TEST(gc_no_space_key_trusted)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_sr *gone = fx_sr(&F, "nfs-02", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_sr *cand = fx_sr(&F, "nfs-03", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_message *m = fx_message(&F, "SM_GC_NO_SPACE", sr, NOW - 30 * 86400,
					  "Unable to perform data coalesce due to a lack of space");
	struct ct_vdi *l = vm_over_base(cand, "db01", NULL);

	/* the key names a live message however old it is */
	sr = sr_set(sr, "sm", "gc_no_space", m->o.ref);
	/* SM destroyed the message once everything fitted, the key stayed behind */
	gone = sr_set(gone, "sm", "gc_no_space", "OpaqueRef:destroyed");
	/* the message is not loaded, but a candidate still carries its ref */
	cand = sr_set(cand, "sm", "gc_no_space", "OpaqueRef:evicted");
	vdi_set(l, "sm", "gc_no_space", "OpaqueRef:evicted");
	eval();
	ck_assert(SRV(sr)->gc_no_space);
	ck_assert(!SRV(gone)->gc_no_space);
	ck_assert(SRV(cand)->gc_no_space);
	ck_assert(has_problem(CT_SEV_CRITICAL, "garbage collector of SR 'nfs-01' of pool 'lab' reported it is out of space"));
	ck_assert(has_problem(CT_SEV_CRITICAL, "SR 'nfs-03'"));
	ck_assert(!has_problem(CT_SEV_CRITICAL, "SR 'nfs-02'"));
}
END_TEST

START_TEST(unpause_failure_is_critical)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vm *vm;
	struct ct_vdi *l = vm_over_base(sr, "web01", &vm);
	char body[200];
	struct ct_message *m;

	snprintf(body, sizeof(body), "Failed to unpause tapdisk for VDI %s, VMs using this tapdisk "
		 "have lost access to the corresponding disk(s)", l->o.uuid);
	m = fx_message(&F, "failed to unpause tapdisk", sr, NOW - 3600, body);
	m->priority = 4;
	fx_message(&F, "failed to unpause tapdisk", sr, NOW - 7200, body);   /* older twin */
	eval();
	ck_assert_int_eq(R.worst, CT_SEV_CRITICAL);
	ck_assert(has_problem(CT_SEV_CRITICAL, "tapdisk of disk 'web01 xvda'"));
	ck_assert(has_problem(CT_SEV_CRITICAL, "VM 'web01' has lost access to the disk"));
	ck_assert(has_problem(CT_SEV_CRITICAL, m->o.uuid));
	ck_assert_int_eq(R.problems[0].cls, CT_VDI);
	ck_assert_str_eq(R.problems[0].uuid, l->o.uuid);
	ck_assert(R.n_problems < 2 || !strstr(R.problems[1].reason, "could not be unpaused"));
}
END_TEST

START_TEST(coalesce_error_messages)
{
	struct ct_sr *io = fx_sr(&F, "nfs-io", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_sr *full = fx_sr(&F, "nfs-full", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_sr *last = fx_sr(&F, "nfs-last", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_sr *quiet = fx_sr(&F, "nfs-quiet", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	char t[32];

	/* cleanup.py _reportCoalesceError: named after os.strerror, at most one an hour */
	fx_message(&F, "Input/output error", io, NOW - 600, "I/O error while coalescing.");
	fx_message(&F, "No space left on device", full, NOW - 600, "Run out of space while coalescing.");
	snprintf(t, sizeof(t), "%lld", (long long)(NOW - 900));
	last = sr_set(last, "sm", "last-coalesce-error", t);
	/* xapi's own messages are not coalesce errors */
	fx_message(&F, "VM_SNAPSHOTTED", quiet, NOW - 60, "");
	fx_message(&F, "Input/output error", quiet, NOW - 2 * 86400, "");   /* too old */
	eval();
	ck_assert(SRV(io)->coalesce_failed && !SRV(io)->gc_no_space);
	ck_assert_str_eq(SRV(io)->coalesce_error, "Input/output error");
	ck_assert(has_problem(CT_SEV_WARNING, "SR 'nfs-io' of pool 'lab' reported a coalesce error ('Input/output error' at "));
	ck_assert(SRV(full)->gc_no_space);
	ck_assert(has_problem(CT_SEV_CRITICAL, "('No space left on device' at "));
	ck_assert(SRV(last)->coalesce_failed);
	ck_assert(has_problem(CT_SEV_WARNING, "(sm_config last-coalesce-error)"));
	ck_assert(!SRV(quiet)->coalesce_failed && !SRV(quiet)->gc_no_space);
	ck_assert_int_eq(SRV(quiet)->severity, CT_SEV_OK);
}
END_TEST

START_TEST(cbt_log_not_a_chain_member)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vdi *l = vm_over_base(sr, "web01", NULL);
	const struct ct_vdi *b = ct_model_vdi_parent(&F.m, l);
	struct ct_vdi *c1 = fx_vdi_o(&F, sr, "cbt", (struct fx_vdi_opts){ .parent = b,
		.type = CT_VDI_CBT_METADATA });
	struct ct_vdi *c2 = fx_vdi_o(&F, sr, "cbtlog", (struct fx_vdi_opts){ .parent = b });

	vdi_set(c2, "sm", "vdi_type", "cbtlog");
	c2 = NULL;
	eval();
	/* stale vhd-parents of CBT logs do not make a second child and hide the work */
	ck_assert_int_eq(V(b)->children, 1);
	ck_assert_int_eq(V(l)->pending, 1);
	ck_assert_int_eq(V(l)->state, CT_VS_PENDING);
	ck_assert_int_eq(SRV(sr)->pending, 1);
	ck_assert_int_eq(V(c1)->depth, 1);
	ck_assert(!V(c1)->is_vhd);
}
END_TEST

START_TEST(leaf_coalesce_exclusions)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_sr *nolc = fx_sr(&F, "nfs-02", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_sr *nogc = fx_sr(&F, "nfs-03", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vdi *reset = vm_over_base(sr, "kiosk", NULL);
	struct ct_vdi *cache = vm_over_base(sr, "vdi-cache", NULL);
	struct ct_vdi *off = vm_over_base(sr, "mig", NULL);
	struct ct_vdi *plain = vm_over_base(sr, "plain", NULL);
	struct ct_vdi *l2, *st;
	struct ct_stall stl = { 0 };

	reset = (struct ct_vdi *)ct_obj_dup(&reset->o);
	free(reset->on_boot);
	reset->on_boot = ct_xstrdup("reset");
	ct_model_put(&F.m, &reset->o);
	cache = (struct ct_vdi *)ct_obj_dup(&cache->o);
	cache->allow_caching = true;
	ct_model_put(&F.m, &cache->o);
	off = vdi_set(off, "other", "leaf-coalesce", "false");
	l2 = vm_over_base(nolc, "web", NULL);
	st = fx_stacked_vm(&F, nogc, "db", 2, NULL);
	F.pc.coalesce_warn = 1;
	nolc = sr_set(nolc, "other", "leaf-coalesce", "false");
	nogc = sr_set(nogc, "other", "gc", "false");
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW, &stl, &R), 0);
	ck_assert_str_eq(V(reset)->no_coalesce, "the disk is reset on boot (on_boot=reset)");
	ck_assert_ptr_nonnull(strstr(V(cache)->no_coalesce, "allow_caching=true"));
	ck_assert_ptr_nonnull(strstr(V(off)->no_coalesce, "other_config leaf-coalesce=false"));
	ck_assert_ptr_null(V(plain)->no_coalesce);
	ck_assert_int_eq(V(reset)->state, CT_VS_OK);
	ck_assert_int_eq(V(plain)->state, CT_VS_PENDING);
	ck_assert_int_eq(SRV(sr)->pending, 1);
	ck_assert_int_eq(SRV(sr)->not_coalesced, 3);
	ck_assert_ptr_nonnull(strstr(V(l2)->no_coalesce, "leaf-coalesce is off on the SR"));
	ck_assert_int_eq(SRV(nolc)->pending, 0);
	ck_assert_int_eq(SRV(nogc)->pending, 0);
	ck_assert_ptr_nonnull(strstr(V(st)->no_coalesce, "gc=false"));
	ck_assert(has_problem(CT_SEV_WARNING, "garbage collector of SR 'nfs-03' of pool 'lab' cannot run: garbage collection is off on the SR (other_config gc=false)"));
	ct_chain_report_release(&R);
	/* days later: work SM will never do is never a stall nor pending */
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 30 * 86400, &stl, &R), 0);
	ck_assert(!SRV(nolc)->gc_stalled && !SRV(nolc)->gc_idle);
	ck_assert(!SRV(nogc)->gc_stalled && !SRV(nogc)->gc_idle);
	ck_assert(!has_problem(CT_SEV_WARNING, "nfs-02"));
	/* the switch goes away: a refresh sees the work again */
	nolc = sr_set(nolc, "other", "leaf-coalesce", "true");
	ck_assert_int_eq(ct_chain_refresh(&F.m, &F.c, &F.pc, NOW + 30 * 86400, NULL, &R), 0);
	ck_assert_int_eq(SRV(nolc)->pending, 1);
	ct_stall_release(&stl);
}
END_TEST

START_TEST(stall_kinds)
{
	struct ct_sr *idle = fx_sr(&F, "nfs-idle", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_sr *shared = fx_sr(&F, "nfs-shared", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_host *h = (struct ct_host *)ct_obj_new(CT_HOST);
	struct ct_pbd *pbd = (struct ct_pbd *)ct_obj_new(CT_PBD);
	struct ct_pool *pool = (struct ct_pool *)ct_obj_dup(&ct_model_pool(&F.m)->o);
	struct ct_stall stl = { 0 };

	vm_over_base(idle, "a", NULL);
	vm_over_base(shared, "b", NULL);
	fx_ids(&F, &h->o, "host");
	h->name_label = ct_xstrdup("xcp-01");
	ct_model_put(&F.m, &h->o);
	free(pool->master);
	pool->master = ct_xstrdup(h->o.ref);
	ct_model_put(&F.m, &pool->o);
	fx_ids(&F, &pbd->o, "pbd");
	pbd->host = ct_xstrdup(h->o.ref);
	pbd->sr = ct_xstrdup(shared->o.ref);
	pbd->currently_attached = false;
	ct_model_put(&F.m, &pbd->o);
	shared = (struct ct_sr *)ct_obj_dup(&shared->o);
	shared->shared = true;
	ct_strset_add(&shared->pbds, pbd->o.ref);
	ct_model_put(&F.m, &shared->o);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW, &stl, &R), 0);
	ck_assert(!SRV(idle)->gc_idle);
	ck_assert_ptr_nonnull(strstr(SRV(shared)->gc_blocked, "not plugged on the pool master"));
	ck_assert(has_problem(CT_SEV_WARNING, "garbage collector of SR 'nfs-shared' of pool 'lab' cannot run"));
	ct_chain_report_release(&R);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 601, &stl, &R), 0);
	ck_assert(SRV(idle)->gc_idle && !SRV(idle)->gc_stalled);
	ck_assert(has_problem(CT_SEV_WARNING, "garbage collector of SR 'nfs-idle' of pool 'lab' is idle"));
	ck_assert(!SRV(shared)->gc_idle);
	ct_chain_report_release(&R);
	/* XCP-ng 8.2's SM has no GC task: never "idle", say it does not report */
	h = (struct ct_host *)ct_obj_dup(&h->o);
	ct_map_set(&h->software_version, "product_brand", "XCP-ng");
	ct_map_set(&h->software_version, "product_version", "8.2.1");
	ct_model_put(&F.m, &h->o);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 7 * 3600, &stl, &R), 0);
	ck_assert(SRV(idle)->gc_silent && !SRV(idle)->gc_idle && SRV(idle)->gc_stalled);
	ck_assert(has_problem(CT_SEV_WARNING, "this SM does not report its garbage collector"));
	ct_stall_release(&stl);
}
END_TEST

START_TEST(raw_lun_sr_types)
{
	static const char *const raw[] = { "iscsi", "hba", "shm", "udev", "iso" };
	static const char *const vhd[] = { "nfs", "ext", "lvmoiscsi", "lvmohba", "lvm", "smb" };

	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
		fx_sr(&F, raw[i], raw[i], 4000 * FX_GIB, 100 * FX_GIB);
	for (size_t i = 0; i < sizeof(vhd) / sizeof(vhd[0]); i++)
		fx_sr(&F, vhd[i], vhd[i], 4000 * FX_GIB, 100 * FX_GIB);
	eval();
	for (int i = 0; i < R.n_srs; i++) {
		bool want = true;

		for (size_t k = 0; k < sizeof(raw) / sizeof(raw[0]); k++)
			if (!strcmp(R.srs[i].sr->type, raw[k]))
				want = false;
		ck_assert_msg(R.srs[i].vhd == want, "SR type %s", R.srs[i].sr->type);
	}
}
END_TEST

START_TEST(dom0_attached_vdi)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vdi *l = vm_over_base(sr, "web01", NULL);
	struct ct_vdi *other = vm_over_base(sr, "web02", NULL);
	struct ct_host *h = (struct ct_host *)ct_obj_new(CT_HOST);
	struct ct_vm *dom0 = fx_vm(&F, "Control domain on host: xcp-01");
	struct ct_vbd *b, *gone;

	fx_ids(&F, &h->o, "host");
	h->name_label = ct_xstrdup("xcp-01");
	ct_model_put(&F.m, &h->o);
	dom0 = (struct ct_vm *)ct_obj_dup(&dom0->o);
	dom0->is_control_domain = true;
	free(dom0->resident_on);
	dom0->resident_on = ct_xstrdup(h->o.ref);
	ct_model_put(&F.m, &dom0->o);
	b = fx_vbd(&F, dom0, l, "1");
	gone = fx_vbd(&F, dom0, other, "2");
	gone = (struct ct_vbd *)ct_obj_dup(&gone->o);
	gone->currently_attached = false;       /* unplugged: nothing to say */
	ct_model_put(&F.m, &gone->o);
	eval();
	ck_assert(has_problem(CT_SEV_WARNING, "is attached to the control domain of host 'xcp-01'"));
	ck_assert(has_problem(CT_SEV_WARNING, b->o.uuid));
	ck_assert(has_problem(CT_SEV_WARNING, "xe vbd-unplug uuid="));
	ck_assert(!has_problem(CT_SEV_WARNING, "VDI 'web02'"));
}
END_TEST

/* sm_config vhd-blocks as SM writes it: base64 of zlib of the bitmap, blocks first..last set */
static void set_blocks(struct ct_vdi *v, int first, int last)
{
	unsigned char bm[64] = { 0 }, z[256], b64[400];
	uLongf zl = sizeof(z);

	for (int b = first; b <= last; b++)
		bm[b / 8] |= (unsigned char)(0x80 >> (b % 8));
	ck_assert_int_eq(compress(z, &zl, bm, sizeof(bm)), Z_OK);
	EVP_EncodeBlock(b64, z, (int)zl);
	ct_map_set(&v->sm_config, "vhd-blocks", (const char *)b64);
}

/* A new record of v with that physical_utilisation and blocks first..last (none: -1). */
static struct ct_vdi *sized(struct ct_vdi *v, int64_t phys, int first, int last)
{
	struct ct_vdi *n = (struct ct_vdi *)ct_obj_dup(&v->o);

	n->physical_utilisation = phys;
	if (first >= 0)
		set_blocks(n, first, last);
	ct_model_put(&F.m, &n->o);
	return n;
}

START_TEST(work_left_from_vhd_blocks)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_sr *tight = fx_sr(&F, "nfs-02", "nfs", 4000 * FX_GIB, 4000 * FX_GIB - FX_GIB / 100);
	struct ct_vdi *p = fx_base(&F, sr, NULL), *xb, *l, *p2, *x2;
	struct ct_stall st = { 0 };
	int64_t mib = 1 << 20;

	xb = fx_base(&F, sr, p);
	l = fx_vdi_o(&F, sr, "web01", (struct fx_vdi_opts){ .parent = xb });
	p = sized(p, 10 * mib, 0, 4);     /* 5 blocks */
	sized(xb, 20 * mib, 3, 12);       /* 10 blocks, 13 in the union */
	l = sized(l, 8 * mib, -1, -1);
	p2 = fx_base(&F, tight, NULL);
	x2 = fx_base(&F, tight, p2);
	fx_vdi_o(&F, tight, "web02", (struct fx_vdi_opts){ .parent = x2 });
	sized(p2, 10 * mib, 0, 4);
	sized(x2, 20 * mib, 3, 12);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW, &st, &R), 0);
	/* X -> P: 10 blocks to write; P grows to 13 blocks + bitmaps + an empty VHD's
	 * overhead (40 GiB: 90112 bytes) less its 10 MiB. The leaf has no vhd-blocks: its
	 * 8 MiB, estimated */
	ck_assert_int_eq(SRV(sr)->work_links, 2);
	ck_assert_int_eq(SRV(sr)->work_estimated, 1);
	ck_assert_int_eq(SRV(sr)->work_bytes, 20 * mib + 8 * mib);
	ck_assert(SRV(sr)->need_bytes >= 26 * mib + 13 * 4096 + 90112 - 10 * mib);
	ck_assert(!has_problem(CT_SEV_WARNING, "SR 'nfs-01' of pool 'lab' needs"));
	/* 10 MiB free: the merge cannot fit, said before SM says it */
	ck_assert(has_problem(CT_SEV_WARNING, "the garbage collector of SR 'nfs-02' of pool 'lab' needs "));
	ck_assert(has_problem(CT_SEV_WARNING, "into its parent and has 10.2 MiB"));
	ck_assert_int_eq(SRV(sr)->eta, -1);
	ct_chain_report_release(&R);
	/* a merge done while the GC runs: 16 MiB less over the 11 s since the last sighting
	 * without a GC gives the rate (1.45 MiB/s) and the ETA of the 12 MiB left */
	fx_gc_task(&F, sr, 0.5);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 1, &st, &R), 0);
	ct_chain_report_release(&R);
	xb = ct_model_vdi_parent(&F.m, l);
	sized(xb, 4 * mib, 3, 4);         /* 8 blocks merged: 16 MiB less left */
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 11, &st, &R), 0);
	ck_assert(SRV(sr)->rate > 1.4 * mib && SRV(sr)->rate < 1.5 * mib);
	ck_assert_int_eq(SRV(sr)->eta, 8);
	ct_stall_release(&st);
}
END_TEST

START_TEST(gate_eta_per_vm)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vm *a = fx_vm(&F, "stacked"), *b;
	struct ct_vdi *p = fx_base(&F, sr, NULL), *x1, *x2, *l;
	struct ct_stall st = { 0 };
	int64_t mib = 1 << 20;

	/* p <- x1 <- x2 <- leaf: 2 stacked base copies (tolerance 1), 3 links to merge */
	x1 = fx_base(&F, sr, p);
	x2 = fx_base(&F, sr, x1);
	l = fx_vdi_o(&F, sr, "stacked", (struct fx_vdi_opts){ .parent = x2 });
	fx_vbd(&F, a, l, "0");
	sized(p, 4 * mib, 0, 1);
	sized(x1, 20 * mib, 0, 9);        /* 20 MiB into p */
	sized(x2, 10 * mib, 0, 4);        /* 10 MiB into x1 */
	sized(l, 8 * mib, -1, -1);        /* 8 MiB, estimated */
	vm_over_base(sr, "web02", &b);    /* 20 GiB more SR work, on a VM the gate lets pass */
	/* no measured rate: no figure */
	eval();
	ck_assert(VM(a)->refused);
	ck_assert_int_eq(VM(a)->gate_eta, -1);
	ck_assert(!vm_reason_has(VM(a), "should pass again"));
	ct_chain_report_release(&R);
	/* 1 MiB/s measured: its own 38 MiB in 38 s, not the SR's 20 GiB */
	st.e = ct_xcalloc(1, sizeof(*st.e));
	st.n = st.cap = 1;
	snprintf(st.e[0].sr_uuid, sizeof(st.e[0].sr_uuid), "%s", sr->o.uuid);
	st.e[0].rate = (double)mib;
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW, &st, &R), 0);
	ck_assert_int_eq(VM(a)->gate_work, 38 * mib);
	ck_assert_int_eq(VM(a)->gate_eta, 38);
	ck_assert(vm_reason_has(VM(a), "the gate should pass again in about 38s (38.0 MiB still to "
				"merge on 3 links of this VM's chains at the SR's measured 3.5 GiB/h)"));
	ck_assert(!VM(b)->refused);
	ck_assert_int_eq(VM(b)->gate_eta, -1);
	ck_assert(SRV(sr)->eta > 20000);
	ct_chain_report_release(&R);
	/* the GC cannot run: no promise */
	sr_set(sr, "other", "gc", "false");
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 1, &st, &R), 0);
	ck_assert_int_eq(VM(a)->gate_eta, -1);
	ct_stall_release(&st);
}
END_TEST

START_TEST(stall_patience_scales_with_merge)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 8000 * FX_GIB, 100 * FX_GIB);
	struct ct_vm *vm = fx_vm(&F, "big");
	struct ct_vdi *b = fx_base(&F, sr, NULL);
	struct ct_vdi *l = fx_vdi_o(&F, sr, "big", (struct fx_vdi_opts){ .parent = b,
		.size = 4096 * FX_GIB });
	struct ct_stall st = { 0 };

	fx_vbd(&F, vm, l, "0");
	l = sized(l, 2048 * FX_GIB, -1, -1);   /* 2 TiB to leaf-coalesce */
	fx_gc_task(&F, sr, 0.0);
	st.e = ct_xcalloc(1, sizeof(*st.e));
	st.n = st.cap = 1;
	snprintf(st.e[0].sr_uuid, sizeof(st.e[0].sr_uuid), "%s", sr->o.uuid);
	st.e[0].rate = 100.0 * (1 << 20);       /* 100 MiB/s measured: 2 TiB in ~5.8 h */
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW, &st, &R), 0);
	ck_assert_int_eq(SRV(sr)->merge_max, 2048 * FX_GIB);
	ck_assert_int_eq(SRV(sr)->patience, 41943);
	ct_chain_report_release(&R);
	/* 7 h without a finished merge: past stall_after (6 h), not past the merge's patience */
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 7 * 3600, &st, &R), 0);
	ck_assert(!SRV(sr)->gc_stalled);
	ct_chain_report_release(&R);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 12 * 3600, &st, &R), 0);
	ck_assert(SRV(sr)->gc_stalled);
	ck_assert(has_problem(CT_SEV_WARNING, "no merge finished for over 11h39m (twice the time "
			      "its largest merge, 2.0 TiB, takes at the measured 351.6 GiB/h)"));
	ct_chain_report_release(&R);
	/* less work left in the chain is progress, whatever the task's progress says */
	sized(l, 1024 * FX_GIB, -1, -1);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 12 * 3600 + 60, &st, &R), 0);
	ck_assert(!SRV(sr)->gc_stalled);
	ct_stall_release(&st);
}
END_TEST

START_TEST(gc_failing_same_candidate)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_vm *vm = fx_vm(&F, "stuck");
	struct ct_vdi *p = fx_base(&F, sr, NULL), *x1 = fx_base(&F, sr, p);
	struct ct_vdi *l = fx_vdi_o(&F, sr, "stuck", (struct fx_vdi_opts){ .parent = x1 });
	struct ct_stall st = { 0 };
	struct ct_task *t = NULL;
	char path[] = "/tmp/chaintop-stall-XXXXXX";
	struct ct_stall back = { 0 };
	struct ct_err e;
	int fd;

	fx_vbd(&F, vm, l, "0");
	/* GC runs one after the other (a new task each), base copy x1 never merged */
	for (int run = 0; run <= CT_GC_FAIL_RUNS; run++) {
		if (t)
			ct_model_del(&F.m, CT_TASK, t->o.ref);
		t = fx_gc_task(&F, sr, 0.0);
		ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + run * 60, &st, &R), 0);
		if (run < CT_GC_FAIL_RUNS) {
			ck_assert_int_eq(SRV(sr)->gc_stuck, 0);
			ck_assert(!has_problem(CT_SEV_WARNING, "is failing"));
		}
		ct_chain_report_release(&R);
	}
	/* the same task again is the same run: nothing counted twice */
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 300, &st, &R), 0);
	ck_assert_int_eq(SRV(sr)->gc_stuck, 1);
	ck_assert_int_eq(SRV(sr)->gc_stuck_runs, CT_GC_FAIL_RUNS);
	ck_assert_ptr_eq(SRV(sr)->gc_stuck_vdi, ct_model_vdi(&F.m, x1->o.ref));
	ck_assert(has_problem(CT_SEV_WARNING, "is failing: base copy "));
	ck_assert(has_problem(CT_SEV_WARNING, x1->o.uuid));
	ck_assert_str_eq(SRV(sr)->gc_note, "GC failing: a merge still waits after 3 runs");
	ck_assert(has_problem(CT_SEV_WARNING, " is still not merged "
			      "into its parent after 3 GC runs (SM skips a merge that failed"));
	ct_chain_report_release(&R);
	/* kept across check runs */
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ct_err_init(&e);
	ck_assert_int_eq(ct_stall_save(&st, path, &e), 0);
	ck_assert_int_eq(ct_stall_load(&back, path, &e), 0);
	unlink(path);
	ck_assert_int_eq(back.e[0].n_cand, st.e[0].n_cand);
	ck_assert_int_eq(back.e[0].gc_task, st.e[0].gc_task);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 360, &back, &R), 0);
	ck_assert_int_eq(SRV(sr)->gc_stuck, 1);
	ct_chain_report_release(&R);
	ct_stall_release(&back);
	/* merged at last: x1 gone (the leaf now on p), nothing failing */
	ct_model_del(&F.m, CT_VDI, x1->o.ref);
	vdi_set(l, "sm", "vhd-parent", p->o.uuid);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 400, &st, &R), 0);
	ck_assert_int_eq(SRV(sr)->gc_stuck, 0);
	ck_assert(!has_problem(CT_SEV_WARNING, "is failing"));
	ct_stall_release(&st);
}
END_TEST

START_TEST(gc_task_failure_remembered)
{
	struct ct_sr *sr = fx_sr(&F, "nfs-01", "nfs", 4000 * FX_GIB, 100 * FX_GIB);
	struct ct_stall st = { 0 };
	struct ct_task *t;

	vm_over_base(sr, "web01", NULL);
	t = fx_gc_task(&F, sr, 0.5);
	t = (struct ct_task *)ct_obj_dup(&t->o);
	t->status = CT_TASK_FAILURE;
	ct_strset_add(&t->error_info, "SR_BACKEND_FAILURE_46");
	ct_strset_add(&t->error_info, "");
	ct_strset_add(&t->error_info, "The VDI is not available");
	ct_model_put(&F.m, &t->o);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW, &st, &R), 0);
	ck_assert(has_problem(CT_SEV_WARNING, "the garbage collector of SR 'nfs-01' of pool 'lab' failed"));
	ck_assert(has_problem(CT_SEV_WARNING, "SR_BACKEND_FAILURE_46 The VDI is not available"));
	ck_assert(!SRV(sr)->gc_running);
	ct_chain_report_release(&R);
	/* xapi drops the task ~30 s later: the failure is still said, from the stall memory */
	ct_model_del(&F.m, CT_TASK, t->o.ref);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 600, &st, &R), 0);
	ck_assert(has_problem(CT_SEV_WARNING, "failed (its task ended in failure"));
	ck_assert(has_problem(CT_SEV_WARNING, "the task is gone"));
	ct_chain_report_release(&R);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 25 * 3600, &st, &R), 0);
	ck_assert(!has_problem(CT_SEV_WARNING, "failed (its task ended in failure"));
	ct_stall_release(&st);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("chain");
	TCase *tc = tcase_create("engine");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, depth_boundaries);
	tcase_add_test(tc, owner_predicates);
	tcase_add_test(tc, tolerance);
	tcase_add_test(tc, base_copy_over_leaf_is_pending_not_stacked);
	tcase_add_test(tc, shared_ancestors);
	tcase_add_test(tc, garbage);
	tcase_add_test(tc, broken_parent);
	tcase_add_test(tc, cycle_and_self_parent);
	tcase_add_test(tc, dense_indexes_match_model);
	tcase_add_test(tc, orphans);
	tcase_add_test(tc, non_vhd_no_false_alarms);
	tcase_add_test(tc, space_thick_vs_thin);
	tcase_add_test(tc, gc_task_present_or_absent);
	tcase_add_test(tc, gc_paused_and_no_space);
	tcase_add_test(tc, coalesce_warn_and_overrides);
	tcase_add_test(tc, stall_detection);
	tcase_add_test(tc, stall_resets_when_pending_goes_down);
	tcase_add_test(tc, gate_vm_with_job_override);
	tcase_add_test(tc, untrusted_names_sanitised);
	tcase_add_test(tc, names_and_helpers);
	tcase_add_test(tc, real_vms_only);
	tcase_add_test(tc, halted_disk_named_by_position);
	tcase_add_test(tc, refresh_matches_eval);
	tcase_add_test(tc, paused_is_not_gc_work);
	tcase_add_test(tc, gc_no_space_key_trusted);
	tcase_add_test(tc, unpause_failure_is_critical);
	tcase_add_test(tc, coalesce_error_messages);
	tcase_add_test(tc, cbt_log_not_a_chain_member);
	tcase_add_test(tc, leaf_coalesce_exclusions);
	tcase_add_test(tc, stall_kinds);
	tcase_add_test(tc, raw_lun_sr_types);
	tcase_add_test(tc, dom0_attached_vdi);
	tcase_add_test(tc, work_left_from_vhd_blocks);
	tcase_add_test(tc, gc_task_failure_remembered);
	tcase_add_test(tc, gate_eta_per_vm);
	tcase_add_test(tc, stall_patience_scales_with_merge);
	tcase_add_test(tc, gc_failing_same_candidate);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
