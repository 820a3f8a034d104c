/* Unit tests for prune.c over hand-built models: each candidate rule, each "never" rule, a
 * snapshot disk attached to another VM, the effect on the chains, and the plan's order. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/chain.h"
#include "jobs/backup.h"
#include "jobs/prune.h"
#include "test_chain_fixture.h"

#define NOW ((time_t)1764100000)
#define DAY 86400

static struct fx F;
static struct ct_prune_list L;
static struct ct_prune_plan P;
static struct ct_sr *SR;

static void setup(void)
{
	fx_init(&F);
	ct_prune_list_init(&L);
	memset(&P, 0, sizeof(P));
	SR = fx_sr(&F, "nfs-prune", "nfs", 1000 * FX_GIB, 100 * FX_GIB);
}

static void teardown(void)
{
	ct_prune_plan_release(&P);
	ct_prune_list_release(&L);
	fx_release(&F);
}

static int find_f(long long older_than, unsigned flags)
{
	ct_prune_list_release(&L);
	ct_prune_list_init(&L);
	return ct_prune_find(&F.m, &F.c, &F.pc, older_than, NOW, flags, &L);
}

static int find(long long older_than)
{
	return find_f(older_than, 0);
}

static const struct ct_prune_skip *skip(const char *uuid)
{
	for (int i = 0; i < L.n_skips; i++)
		if (!strcmp(L.skips[i].uuid, uuid))
			return &L.skips[i];
	return NULL;
}

static const struct ct_prune_cand *cand(const char *uuid)
{
	for (int i = 0; i < L.n; i++)
		if (!strcmp(L.c[i].uuid, uuid))
			return &L.c[i];
	return NULL;
}

static bool has_text(char *const *v, int n, const char *needle)
{
	for (int i = 0; i < n; i++)
		if (strstr(v[i], needle))
			return true;
	return false;
}

/* A running VM with one disk whose chain is base <- leaf, and a snapshot of it made `age`
 * seconds ago: base <- {leaf, snapshot disk}. Returns the snapshot VM. */
struct snapset {
	struct ct_vm *vm, *snap;
	struct ct_vdi *base, *leaf, *sdisk;
};

static struct snapset make_snap(const char *name, long long age)
{
	struct snapset s;

	s.vm = fx_vm(&F, name);
	s.base = fx_base(&F, SR, NULL);
	s.leaf = fx_vdi(&F, SR, name, s.base);
	fx_vbd(&F, s.vm, s.leaf, "0");
	s.snap = fx_vm_o(&F, "snap", true, s.vm);
	free(s.snap->name_label);
	s.snap->name_label = ct_xasprintf("%s snap", name);
	s.snap->snapshot_time = NOW - age;
	s.sdisk = fx_vdi_o(&F, SR, "snap disk", (struct fx_vdi_opts){ .parent = s.base,
		.snapshot = true, .type = CT_VDI_USER });
	free(s.sdisk->snapshot_of);
	s.sdisk->snapshot_of = ct_xstrdup(s.leaf->o.ref);
	s.sdisk->snapshot_time = s.snap->snapshot_time;
	fx_vbd(&F, s.snap, s.sdisk, "0");
	return s;
}

START_TEST(stale_by_age)
{
	struct snapset old = make_snap("app01", 40 * DAY);
	struct snapset young = make_snap("app02", 2 * DAY);
	const struct ct_prune_cand *c;

	ck_assert_int_eq(find(-1), 1);
	c = cand(old.snap->o.uuid);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->kind, CT_PRUNE_SNAPSHOT);
	ck_assert_int_eq(c->n_reasons, 1);
	ck_assert_msg(strstr(c->reasons[0], "40d old, older than 14d"), "reason: %s", c->reasons[0]);
	ck_assert_str_eq(c->pool, "lab");
	ck_assert_str_eq(c->sr_name, "nfs-prune");
	ck_assert_str_eq(c->source_name, "app01");
	ck_assert_int_eq(c->age, 40 * DAY);
	ck_assert_int_eq(c->n_disks, 1);
	ck_assert(c->disks[0].destroy);
	ck_assert_str_eq(c->disks[0].uuid, old.sdisk->o.uuid);
	ck_assert_int_eq(c->size, 40 * FX_GIB);
	ck_assert_ptr_null(cand(young.snap->o.uuid));
	/* --older-than overrides stale_after */
	ck_assert_int_eq(find(1 * DAY), 2);
	ck_assert_ptr_nonnull(cand(young.snap->o.uuid));
	ck_assert_int_eq(find(100 * DAY), 0);
}
END_TEST

START_TEST(stale_by_job)
{
	struct snapset s = make_snap("app01", 2 * DAY);
	const struct ct_prune_cand *c;

	ct_map_set(&s.snap->other_config, "chaintop:job", "nightly");
	ck_assert_int_eq(find(-1), 1);
	c = cand(s.snap->o.uuid);
	ck_assert_ptr_nonnull(c);
	ck_assert_msg(has_text(c->reasons, c->n_reasons, "chaintop job 'nightly'"),
		      "reason: %s", c->reasons[0]);
	/* the job exists again: not a candidate */
	F.c.jobs = ct_xcalloc(1, sizeof(*F.c.jobs));
	F.c.n_jobs = 1;
	F.c.jobs[0].name = ct_xstrdup("nightly");
	F.c.jobs[0].pool = ct_xstrdup("lab");
	ck_assert_int_eq(find(-1), 0);
}
END_TEST

START_TEST(adhoc_backup_not_stale_by_job)
{
	struct snapset s = make_snap("app01", 2 * DAY);

	/* ad hoc backups carry the job name "adhoc", which no configuration lists */
	ct_map_set(&s.snap->other_config, "chaintop:job", "adhoc");
	ck_assert_int_eq(find(-1), 0);
	/* but age still applies */
	ck_assert_int_eq(find(1 * DAY), 1);
}
END_TEST

START_TEST(stale_source_gone)
{
	struct snapset s = make_snap("legacy", 1 * DAY);
	const struct ct_prune_cand *c;

	free(s.snap->snapshot_of);
	s.snap->snapshot_of = ct_xstrdup("OpaqueRef:gone-vm");
	ck_assert_int_eq(find(-1), 1);
	c = cand(s.snap->o.uuid);
	ck_assert_ptr_nonnull(c);
	ck_assert(has_text(c->reasons, c->n_reasons, "source VM is gone"));
	ck_assert_ptr_null(c->source_name);
	/* several reasons at once */
	s.snap->snapshot_time = NOW - 30 * DAY;
	ct_map_set(&s.snap->other_config, "chaintop:job", "weekly");
	find(-1);
	c = cand(s.snap->o.uuid);
	ck_assert_int_eq(c->n_reasons, 3);
}
END_TEST

START_TEST(orphan_user_disk)
{
	struct ct_vdi *o = fx_vdi(&F, SR, "orphan-data", NULL);
	const struct ct_prune_cand *c;
	const struct ct_prune_skip *k;

	/* no tool marked it: someone's data, kept unless foreign objects are included */
	ck_assert_int_eq(find(-1), 0);
	k = skip(o->o.uuid);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(k->owner, CT_OWN_NONE);
	ck_assert(!k->never);
	ck_assert_msg(strstr(k->reason, "owner unknown: not used by any VM; --include-foreign to propose it"),
		      "reason: %s", k->reason);
	ck_assert_int_eq(find_f(-1, CT_PRUNE_INCLUDE_FOREIGN), 1);
	ck_assert_int_eq(L.n_skips, 0);
	c = cand(o->o.uuid);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->kind, CT_PRUNE_ORPHAN);
	ck_assert(has_text(c->reasons, c->n_reasons, "no VM uses"));
	ck_assert_int_eq(c->n_disks, 1);
	ck_assert(c->disks[0].destroy);
	ck_assert_int_eq(c->bytes_now, o->physical_utilisation);
	ck_assert_int_eq(c->age, -1);
	/* system type too */
	o->type = CT_VDI_SYSTEM;
	ck_assert_int_eq(find(-1), 0);
	ck_assert_int_eq(find_f(-1, CT_PRUNE_INCLUDE_FOREIGN), 1);
	/* the pool's prune_include_foreign does the same */
	F.pc.prune_include_foreign = true;
	ck_assert_int_eq(find(-1), 1);
	F.pc.prune_include_foreign = false;
}
END_TEST

START_TEST(orphan_snapshot_disk_vm_gone)
{
	struct ct_vm *vm = fx_vm(&F, "app01");
	struct ct_vdi *b = fx_base(&F, SR, NULL);
	struct ct_vdi *leaf = fx_vdi(&F, SR, "app01 disk", b);
	struct ct_vdi *s = fx_vdi_o(&F, SR, "app01 disk", (struct fx_vdi_opts){ .parent = b,
		.snapshot = true, .type = CT_VDI_USER });
	const struct ct_prune_cand *c;

	fx_vbd(&F, vm, leaf, "0");
	free(s->snapshot_of);
	s->snapshot_of = ct_xstrdup(leaf->o.ref);
	s->snapshot_time = NOW - 3 * DAY;
	/* a snapshot disk no snapshot VM holds may be a CBT tool's VDI.snapshot: owner
	 * unknown, listed and kept by default */
	ck_assert_int_eq(find(-1), 0);
	ck_assert_ptr_nonnull(skip(s->o.uuid));
	ck_assert_int_eq(skip(s->o.uuid)->owner, CT_OWN_UNKNOWN);
	ck_assert(!skip(s->o.uuid)->never);
	ck_assert_msg(strstr(skip(s->o.uuid)->reason, "no snapshot VM holds"), "%s",
		      skip(s->o.uuid)->reason);
	ck_assert_int_eq(find_f(-1, CT_PRUNE_INCLUDE_FOREIGN), 1);
	c = cand(s->o.uuid);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->kind, CT_PRUNE_ORPHAN);
	ck_assert_int_eq(c->owner, CT_OWN_UNKNOWN);
	ck_assert(has_text(c->reasons, c->n_reasons, "no snapshot VM holds"));
	ck_assert_str_eq(c->source_uuid, leaf->o.uuid);
	ck_assert_int_eq(c->age, 3 * DAY);
	/* effect: the base copy keeps one child (the live disk): leaf-coalesce scheduled */
	ck_assert_int_eq(c->coalesces, 1);
	ck_assert_int_eq(c->garbage, 0);
	ck_assert(has_text(c->effects, c->n_effects, "leaf-coalesce"));
}
END_TEST

START_TEST(never_orphans)
{
	struct ct_sr *iso = fx_sr(&F, "ISOs", "iso", 10 * FX_GIB, 1 * FX_GIB);
	struct ct_sr *udev = fx_sr(&F, "Removable", "udev", 0, 0);
	static const enum ct_vdi_type special[] = {
		CT_VDI_SUSPEND, CT_VDI_CBT_METADATA, CT_VDI_HA_STATEFILE, CT_VDI_METADATA,
		CT_VDI_RRD, CT_VDI_REDO_LOG, CT_VDI_PVS_CACHE, CT_VDI_CRASHDUMP,
		CT_VDI_EPHEMERAL, CT_VDI_OTHER
	};
	struct ct_vdi *v;
	struct ct_vm *vm = fx_vm(&F, "user");
	struct ct_vm *susp = fx_vm(&F, "suspended");

	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		fx_vdi_o(&F, SR, "special", (struct fx_vdi_opts){ .type = special[i] });
	fx_base(&F, SR, NULL);                                   /* base copy without child */
	v = fx_vdi(&F, SR, "empty", NULL);
	v->virtual_size = 0;                                      /* size 0 */
	fx_vdi(&F, iso, "debian.iso", NULL);                      /* ISO SR */
	fx_vdi(&F, udev, "usb stick", NULL);                      /* removable */
	v = fx_vdi(&F, SR, "missing", NULL);
	v->missing = true;
	v = fx_vdi(&F, SR, "being copied", NULL);                 /* an operation running */
	ct_strset_add(&v->current_operations, "copy");
	v = fx_vdi(&F, SR, "in use", NULL);                       /* a VBD (not attached) */
	fx_vbd(&F, vm, v, "1")->currently_attached = false;
	v = fx_vdi(&F, SR, "suspend image as user", NULL);        /* some VM's suspend VDI */
	free(susp->suspend_vdi);
	susp->suspend_vdi = ct_xstrdup(v->o.ref);
	ck_assert_int_eq(find(-1), 0);
}
END_TEST

START_TEST(attached_snapshot_disk_kept)
{
	struct snapset s = make_snap("app01", 20 * DAY);
	struct ct_vm *proxy = fx_vm(&F, "backup-proxy");
	struct ct_vdi *b2 = fx_base(&F, SR, NULL);
	struct ct_vdi *data = fx_vdi(&F, SR, "app01 data", b2);
	struct ct_vdi *sdata = fx_vdi_o(&F, SR, "app01 data", (struct fx_vdi_opts){ .parent = b2,
		.snapshot = true, .type = CT_VDI_USER });
	const struct ct_prune_cand *c;
	struct ct_vbd *pb;

	fx_vbd(&F, s.vm, data, "1");
	fx_vbd(&F, s.snap, sdata, "1");
	pb = fx_vbd(&F, proxy, sdata, "3");
	pb->read_only = true;
	ck_assert_int_eq(find(-1), 1);
	c = cand(s.snap->o.uuid);
	ck_assert_int_eq(c->n_disks, 2);
	for (int i = 0; i < 2; i++) {
		const struct ct_prune_disk *d = &c->disks[i];

		if (!strcmp(d->uuid, sdata->o.uuid)) {
			ck_assert(!d->destroy);
			ck_assert_msg(strstr(d->keep_reason, "attached to VM 'backup-proxy'"),
				      "keep: %s", d->keep_reason);
		} else {
			ck_assert(d->destroy);
		}
	}
	/* only the destroyed disk counts */
	ck_assert_int_eq(c->size, 40 * FX_GIB);
	ck_assert_int_eq(c->coalesces, 1);
	ct_prune_plan(&L, &P);
	ck_assert_int_eq(P.n_calls, 2);
	ck_assert_str_eq(P.calls[0].method, "VM.destroy");
	ck_assert_str_eq(P.calls[1].method, "VDI.destroy");
	ck_assert_str_eq(P.calls[1].uuid, s.sdisk->o.uuid);
	ck_assert_int_eq(P.n_notes, 1);
	ck_assert_msg(strstr(P.notes[0], "backup-proxy"), "note: %s", P.notes[0]);
	/* and the attached disk is no orphan either */
	ck_assert_ptr_null(cand(sdata->o.uuid));
}
END_TEST

START_TEST(snapshot_disk_never_rules)
{
	struct snapset s = make_snap("app01", 20 * DAY);
	struct ct_vdi *live = fx_vdi(&F, SR, "not a snapshot", NULL);
	struct ct_vdi *cbt = fx_vdi_o(&F, SR, "cbt", (struct fx_vdi_opts){ .snapshot = true,
		.type = CT_VDI_CBT_METADATA });
	struct ct_vdi *bc = fx_vdi_o(&F, SR, "base", (struct fx_vdi_opts){ .base = true,
		.snapshot = true, .type = CT_VDI_USER });
	struct ct_vdi *susp = fx_vdi_o(&F, SR, "Suspend image", (struct fx_vdi_opts){
		.type = CT_VDI_SUSPEND });
	const struct ct_prune_cand *c;
	int kept = 0;

	fx_vbd(&F, s.snap, live, "1");
	fx_vbd(&F, s.snap, cbt, "2");
	fx_vbd(&F, s.snap, bc, "3");
	free(s.snap->suspend_vdi);
	s.snap->suspend_vdi = ct_xstrdup(susp->o.ref);
	find(-1);
	c = cand(s.snap->o.uuid);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->n_disks, 5);
	for (int i = 0; i < c->n_disks; i++) {
		if (c->disks[i].destroy) {
			/* its disk, and the checkpoint's suspend image (VM.destroy leaves it) */
			ck_assert_msg(!strcmp(c->disks[i].uuid, s.sdisk->o.uuid) ||
				      !strcmp(c->disks[i].uuid, susp->o.uuid), "destroys %s",
				      c->disks[i].name);
		} else {
			ck_assert_ptr_nonnull(c->disks[i].keep_reason);
			kept++;
		}
	}
	ck_assert_int_eq(kept, 3);
	ct_prune_plan(&L, &P);
	ck_assert_int_eq(P.n_calls, 3);
	ck_assert_int_eq(P.n_notes, 3);
	ck_assert(has_text(P.notes, P.n_notes, "is_a_snapshot is false"));
	ck_assert(has_text(P.notes, P.n_notes, "base copy"));
	ck_assert(has_text(P.notes, P.n_notes, "cbt_metadata"));
	ck_assert_str_eq(P.calls[2].ref, susp->o.ref);
}
END_TEST

START_TEST(effect_garbage_then_coalesce)
{
	/* root base R has children: base B and live leaf L2. B's only child is the snapshot
	 * disk S of a snapshot whose VM is gone. Deleting S leaves B childless (garbage), and
	 * then R with one child (L2): coalesce. */
	struct ct_vm *vm = fx_vm(&F, "app");
	struct ct_vdi *r = fx_base(&F, SR, NULL);
	struct ct_vdi *b = fx_base(&F, SR, r);
	struct ct_vdi *l2 = fx_vdi(&F, SR, "app disk", r);
	struct ct_vdi *s = fx_vdi_o(&F, SR, "old snap", (struct fx_vdi_opts){ .parent = b,
		.snapshot = true, .type = CT_VDI_USER });
	const struct ct_prune_cand *c;

	fx_vbd(&F, vm, l2, "0");
	/* a snapshot disk no snapshot VM holds: owner unknown, so only with foreign ones */
	ck_assert_int_eq(find(-1), 0);
	ck_assert_int_eq(find_f(-1, CT_PRUNE_INCLUDE_FOREIGN), 1);
	c = cand(s->o.uuid);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->garbage, 1);
	ck_assert_int_eq(c->coalesces, 1);
	ck_assert_int_eq(c->bytes_now, s->physical_utilisation);
	ck_assert_int_eq(c->bytes_after_gc, s->physical_utilisation + b->physical_utilisation +
			 l2->physical_utilisation);
	ck_assert(has_text(c->effects, c->n_effects, "without children"));
	ck_assert(has_text(c->effects, c->n_effects, "space expected back"));
	ck_assert_msg(strstr(c->chain, "base copy") != NULL, "chain: %s", c->chain);
}
END_TEST

START_TEST(effect_none_and_stacked)
{
	/* base B with three children: deleting one leaves two; no GC work. */
	struct ct_vm *vm = fx_vm(&F, "a");
	struct ct_vm *vm2 = fx_vm(&F, "b");
	struct ct_vdi *b = fx_base(&F, SR, NULL);
	struct ct_vdi *l1 = fx_vdi(&F, SR, "a", b);
	struct ct_vdi *l2 = fx_vdi(&F, SR, "b", b);
	struct ct_vdi *o = fx_vdi(&F, SR, "lost", b);
	const struct ct_prune_cand *c;
	struct ct_vdi *b1, *b2, *lx, *ox;

	fx_vbd(&F, vm, l1, "0");
	fx_vbd(&F, vm2, l2, "0");
	find_f(-1, CT_PRUNE_INCLUDE_FOREIGN);
	c = cand(o->o.uuid);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->coalesces, 0);
	ck_assert_int_eq(c->garbage, 0);
	ck_assert(has_text(c->effects, c->n_effects, "no coalesce work"));
	/* base <- base <- {leaf, orphan}: the inner base copy left with its only child, which
	 * is managed: leaf-coalesce; the outer one keeps one child too (already pending). */
	b1 = fx_base(&F, SR, NULL);
	b2 = fx_base(&F, SR, b1);
	lx = fx_vdi(&F, SR, "x", b2);
	ox = fx_vdi(&F, SR, "x orphan", b2);
	fx_vbd(&F, vm, lx, "1");
	find_f(-1, CT_PRUNE_INCLUDE_FOREIGN);
	c = cand(ox->o.uuid);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->coalesces, 1);
	ck_assert_int_eq(c->bytes_after_gc, ox->physical_utilisation + lx->physical_utilisation);
}
END_TEST

START_TEST(effect_ignores_cbt_logs)
{
	/* base B with children: leaf L (in use), orphan O, and two CBT logs that kept B as
	 * their vhd-parent (XO's "purge snapshot data" before the next SR scan). The CBT logs
	 * are no chain members: deleting O leaves B with one child (L), a coalesce. */
	struct ct_vm *vm = fx_vm(&F, "cbtvm");
	struct ct_vdi *b = fx_base(&F, SR, NULL);
	struct ct_vdi *l = fx_vdi(&F, SR, "cbtvm disk", b);
	struct ct_vdi *o = fx_vdi(&F, SR, "lost", b);
	struct ct_vdi *log1 = fx_vdi_o(&F, SR, "cbt log", (struct fx_vdi_opts){ .parent = b,
		.snapshot = true, .type = CT_VDI_CBT_METADATA });
	struct ct_vdi *log2 = fx_vdi_o(&F, SR, "cbt log 2", (struct fx_vdi_opts){ .parent = b,
		.snapshot = true, .type = CT_VDI_USER, .vdi_type = "cbtlog" });
	const struct ct_prune_cand *c;
	size_t nc = 9;

	fx_vbd(&F, vm, l, "0");
	ck_assert_ptr_null(ct_model_vdi_parent(&F.m, log1));
	ck_assert_ptr_null(ct_model_vdi_parent(&F.m, log2));
	ct_model_vdi_children(&F.m, b, &nc);
	ck_assert_int_eq((int)nc, 2);
	find_f(-1, CT_PRUNE_INCLUDE_FOREIGN);   /* an unmarked orphan: proposed only then */
	c = cand(o->o.uuid);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->coalesces, 1);
	ck_assert_int_eq(c->bytes_after_gc, o->physical_utilisation + l->physical_utilisation);
	/* the chain in the engine's words, which leave the CBT logs out too */
	ck_assert_msg(strstr(c->chain, " (2 children)") != NULL, "chain: %s", c->chain);
	ck_assert(!has_text(c->effects, c->n_effects, "no coalesce work"));
}
END_TEST

START_TEST(effect_combined)
{
	/* root base P has children X (an orphan leaf) and base A, whose only child S is a
	 * snapshot disk without VM. Alone: deleting X leaves P with one child (coalesce);
	 * deleting S makes A garbage and leaves P with one child (coalesce). Together: A and
	 * then P are garbage, nothing to coalesce. */
	struct ct_vdi *p = fx_base(&F, SR, NULL);
	struct ct_vdi *x = fx_vdi(&F, SR, "a-orphan", p);
	struct ct_vdi *a = fx_base(&F, SR, p);
	struct ct_vdi *sv = fx_vdi_o(&F, SR, "z-snap", (struct fx_vdi_opts){ .parent = a,
		.snapshot = true, .type = CT_VDI_USER });
	struct ct_prune_effect ef;
	const struct ct_prune_cand *cx, *cs;

	ck_assert_int_eq(find_f(-1, CT_PRUNE_INCLUDE_FOREIGN), 2);
	cx = cand(x->o.uuid);
	cs = cand(sv->o.uuid);
	ck_assert_int_eq(cx->coalesces, 1);
	ck_assert_int_eq(cx->garbage, 0);
	ck_assert_int_eq(cs->coalesces, 1);
	ck_assert_int_eq(cs->garbage, 1);
	ct_prune_effect_of(&F.m, &L, &ef);
	ck_assert_int_eq(ef.coalesces, 0);
	ck_assert_int_eq(ef.garbage, 2);
	ck_assert_int_eq(ef.bytes_now, x->physical_utilisation + sv->physical_utilisation);
	ck_assert_int_eq(ef.bytes_after_gc, ef.bytes_now + a->physical_utilisation +
			 p->physical_utilisation);
	ct_prune_effect_release(&ef);
	/* candidates of another pool do not count */
	free(L.c[0].pool_uuid);
	L.c[0].pool_uuid = ct_xstrdup("another-pool");
	ct_prune_effect_of(&F.m, &L, &ef);
	ck_assert_int_eq(ef.n_effects > 0, 1);
	ck_assert_int_eq(ef.garbage + ef.coalesces, 2);
	ct_prune_effect_release(&ef);
}
END_TEST

START_TEST(plan_order_and_copy)
{
	struct snapset a = make_snap("app01", 40 * DAY);
	struct snapset b = make_snap("app02", 60 * DAY);
	struct ct_vdi *o = fx_vdi(&F, SR, "orphan-data", NULL);
	struct ct_sr *sr2 = fx_sr(&F, "another", "ext", 100 * FX_GIB, 1 * FX_GIB);
	struct ct_vdi *o2 = fx_vdi(&F, sr2, "orphan elsewhere", NULL);
	struct ct_prune_list sel;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_int_eq(find_f(-1, CT_PRUNE_INCLUDE_FOREIGN), 4);
	/* grouped by SR name ("another" first), snapshots before orphans, oldest first */
	ck_assert_str_eq(L.c[0].uuid, o2->o.uuid);
	ck_assert_str_eq(L.c[1].uuid, b.snap->o.uuid);
	ck_assert_str_eq(L.c[2].uuid, a.snap->o.uuid);
	ck_assert_str_eq(L.c[3].uuid, o->o.uuid);
	ct_prune_plan(&L, &P);
	ck_assert_int_eq(P.n_calls, 6);
	ck_assert_str_eq(P.calls[0].method, "VDI.destroy");
	ck_assert_int_eq(P.calls[0].cand, 0);
	ck_assert_str_eq(P.calls[1].method, "VM.destroy");
	ck_assert_str_eq(P.calls[1].ref, b.snap->o.ref);
	ck_assert_int_eq(P.calls[1].disk, -1);
	ck_assert_str_eq(P.calls[2].method, "VDI.destroy");
	ck_assert_str_eq(P.calls[2].ref, b.sdisk->o.ref);
	ck_assert_str_eq(P.calls[3].method, "VM.destroy");
	ck_assert_str_eq(P.calls[4].ref, a.sdisk->o.ref);
	ck_assert_str_eq(P.calls[5].ref, o->o.ref);
	ck_assert_int_eq(P.calls[5].cand, 3);
	ck_assert_msg(strstr(P.calls[1].text, "VM.destroy OpaqueRef:") &&
		      strstr(P.calls[1].text, "pool 'lab'"), "text: %s", P.calls[1].text);
	/* a selection of copies outlives the model */
	ct_prune_list_init(&sel);
	ct_prune_list_add_copy(&sel, &L.c[2]);
	ct_prune_list_add_copy(&sel, &L.c[3]);
	ct_prune_list_release(&L);
	ct_prune_list_init(&L);
	ct_prune_plan_release(&P);
	ct_prune_plan(&sel, &P);
	ck_assert_int_eq(P.n_calls, 3);
	ck_assert_str_eq(P.calls[0].ref, a.snap->o.ref);
	f = open_memstream(&buf, &len);
	ct_prune_list_print(f, &sel);
	ct_prune_plan_print(f, &P);
	fclose(f);
	ck_assert_msg(strstr(buf, "pool 'lab'") && strstr(buf, "SR 'nfs-prune'") &&
		      strstr(buf, "why: it is 40d old, older than 14d") && strstr(buf, "Plan: 3 XAPI calls") &&
		      strstr(buf, "effect: "), "printed:\n%s", buf);
	free(buf);
	ct_prune_list_release(&sel);
}
END_TEST

START_TEST(untrusted_names_sanitised)
{
	struct snapset s = make_snap("evil\x1b[2Jname", 40 * DAY);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)s;
	find(-1);
	ct_prune_plan(&L, &P);
	f = open_memstream(&buf, &len);
	ct_prune_list_print(f, &L);
	ct_prune_plan_print(f, &P);
	fclose(f);
	ck_assert_msg(strchr(buf, '\x1b') == NULL, "escape printed");
	free(buf);
}
END_TEST

START_TEST(execute_nothing)
{
	struct ct_prune_opts o = { 0 };
	struct ct_prune_summary sum;
	struct ct_err e;

	ct_err_init(&e);
	o.cfg = &F.c;
	o.pc = &F.pc;
	o.cands = &L;
	ck_assert_int_eq(ct_prune_execute(&o, &sum, &e), 0);
	ck_assert_int_eq(sum.exit_code, 0);
	ck_assert_int_eq(sum.n_items, 0);
	ct_prune_summary_release(&sum);
}
END_TEST


/* --- owners and the never-destroy rules (issue 13) --- */

START_TEST(foreign_snapshots_kept)
{
	struct snapset xo = make_snap("app01", 20 * DAY);
	struct snapset vmss = make_snap("db01", 30 * DAY);
	struct snapset manual = make_snap("web01", 30 * DAY);
	const struct ct_prune_skip *k;

	ct_map_set(&xo.snap->other_config, "xo:backup:job", "5f0a2c1e-job");
	ct_map_set(&xo.snap->other_config, "xo:backup:schedule", "9a1b-schedule");
	ct_map_set(&xo.sdisk->other_config, "xo:backup:job", "5f0a2c1e-job");
	vmss.snap->is_vmss_snapshot = true;
	ck_assert_int_eq(find(-1), 1);
	ck_assert_ptr_nonnull(cand(manual.snap->o.uuid));
	ck_assert_int_eq(cand(manual.snap->o.uuid)->owner, CT_OWN_MANUAL);
	k = skip(xo.snap->o.uuid);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(k->owner, CT_OWN_XO);
	ck_assert_str_eq(k->owner_job, "5f0a2c1e-job");
	ck_assert_msg(strstr(k->reason, "Xen Orchestra backup job 5f0a2c1e-job") &&
		      strstr(k->reason, "--include-foreign"), "%s", k->reason);
	ck_assert(!k->never);
	k = skip(vmss.snap->o.uuid);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(k->owner, CT_OWN_VMSS);
	/* their disks hang on their snapshot VMs: no orphan either */
	ck_assert_ptr_null(skip(xo.sdisk->o.uuid));
	ck_assert_int_eq(find_f(-1, CT_PRUNE_INCLUDE_FOREIGN), 3);
	ck_assert_int_eq(cand(xo.snap->o.uuid)->owner, CT_OWN_XO);
	ck_assert_str_eq(cand(xo.snap->o.uuid)->owner_job, "5f0a2c1e-job");
	ck_assert_int_eq(cand(vmss.snap->o.uuid)->owner, CT_OWN_VMSS);
	/* the pool setting does what the flag does */
	F.pc.prune_include_foreign = true;
	ck_assert_int_eq(find(-1), 3);
}
END_TEST

START_TEST(blocked_snapshot_never)
{
	struct snapset b = make_snap("db01", 60 * DAY);

	ct_map_set(&b.snap->blocked_operations, "destroy", "Kept for audit");
	ck_assert_int_eq(find(-1), 0);
	ck_assert_int_eq(find_f(-1, CT_PRUNE_INCLUDE_FOREIGN), 0);
	ck_assert_ptr_nonnull(skip(b.snap->o.uuid));
	ck_assert(skip(b.snap->o.uuid)->never);
	ck_assert_int_eq(skip(b.snap->o.uuid)->owner, CT_OWN_MANUAL);
	ck_assert_msg(strstr(skip(b.snap->o.uuid)->reason, "'Kept for audit'"), "%s",
		      skip(b.snap->o.uuid)->reason);
	/* another operation blocked: not a reason to keep it */
	ct_map_release(&b.snap->blocked_operations);
	ct_map_set(&b.snap->blocked_operations, "start", "replica");
	ck_assert_int_eq(find(-1), 1);
}
END_TEST

START_TEST(protected_orphans_never)
{
	struct ct_sr *iscsi = fx_sr(&F, "raw", "iscsi", 1000 * FX_GIB, 0);
	struct ct_sr *hba = fx_sr(&F, "raw-hba", "hba", 1000 * FX_GIB, 0);
	struct ct_sr *shm = fx_sr(&F, "shm", "shm", 10 * FX_GIB, 0);
	struct ct_vdi *v[8];
	struct ct_pool_update *u = (struct ct_pool_update *)ct_obj_new(CT_POOL_UPDATE);
	int n = 0;

	v[n] = fx_vdi(&F, SR, "export-staging", NULL);
	ct_map_set(&v[n++]->sm_config, "host_OpaqueRef:0000-host", "RW");
	v[n] = fx_vdi(&F, SR, "migrating", NULL);
	ct_map_set(&v[n++]->sm_config, "mirror", "nbd:vbd/1/xvda");
	v[n] = fx_vdi(&F, SR, "mirror destination", NULL);
	ct_map_set(&v[n++]->sm_config, "base_mirror", "sr/vdi");
	v[n++] = fx_vdi(&F, iscsi, "LUN 3", NULL);
	v[n++] = fx_vdi(&F, hba, "LUN 4", NULL);
	v[n++] = fx_vdi(&F, shm, "shm disk", NULL);
	v[n] = fx_vdi(&F, SR, "XS82ECU1040", NULL);
	fx_ids(&F, &u->o, "update");
	u->name_label = ct_xstrdup("XS82ECU1040");
	u->vdi = ct_xstrdup(v[n++]->o.ref);
	ct_model_put(&F.m, &u->o);
	ck_assert_int_eq(find_f(-1, CT_PRUNE_INCLUDE_FOREIGN), 0);
	ck_assert_int_eq(L.n_skips, n);
	for (int i = 0; i < n; i++) {
		const struct ct_prune_skip *k = skip(v[i]->o.uuid);

		ck_assert_ptr_nonnull(k);
		ck_assert_msg(k->never, "%s: %s", k->name, k->reason);
	}
	ck_assert_msg(strstr(skip(v[0]->o.uuid)->reason, "SM has it attached"), "%s",
		      skip(v[0]->o.uuid)->reason);
	ck_assert(strstr(skip(v[1]->o.uuid)->reason, "sm_config mirror"));
	ck_assert(strstr(skip(v[2]->o.uuid)->reason, "sm_config base_mirror"));
	ck_assert(strstr(skip(v[3]->o.uuid)->reason, "only forgets the LUN"));
	ck_assert(strstr(skip(v[6]->o.uuid)->reason, "pool update 'XS82ECU1040'"));
}
END_TEST

START_TEST(checkpoint_takes_its_suspend_image)
{
	struct snapset ck = make_snap("app02", 40 * DAY);
	struct ct_vdi *img = fx_vdi_o(&F, SR, "Suspend image", (struct fx_vdi_opts){
		.type = CT_VDI_SUSPEND, .size = 4 * FX_GIB });
	struct ct_vdi *lost = fx_vdi_o(&F, SR, "Suspend image", (struct fx_vdi_opts){
		.type = CT_VDI_SUSPEND, .size = 2 * FX_GIB });
	const struct ct_prune_cand *c;

	free(ck.snap->suspend_vdi);
	ck.snap->suspend_vdi = ct_xstrdup(img->o.ref);
	ck_assert_int_eq(find(-1), 1);
	c = cand(ck.snap->o.uuid);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->n_disks, 2);
	ck_assert(c->disks[1].destroy);
	ck_assert(c->disks[1].suspend);
	ck_assert_str_eq(c->disks[1].ref, img->o.ref);
	ct_prune_plan(&L, &P);
	ck_assert_int_eq(P.n_calls, 3);
	ck_assert_str_eq(P.calls[2].ref, img->o.ref);
	ck_assert_msg(strstr(P.calls[2].text, "suspend image 'Suspend image'"), "%s",
		      P.calls[2].text);
	/* the suspend image no VM refers to: reported, owner unknown, kept by default */
	ck_assert_ptr_nonnull(skip(lost->o.uuid));
	ck_assert_int_eq(skip(lost->o.uuid)->owner, CT_OWN_UNKNOWN);
	ck_assert(strstr(skip(lost->o.uuid)->reason, "a suspend image that no VM refers to"));
	ck_assert_int_eq(find_f(-1, CT_PRUNE_INCLUDE_FOREIGN), 2);
	ck_assert_ptr_nonnull(cand(lost->o.uuid));
}
END_TEST

START_TEST(chaintop_orphan_disk_is_ours)
{
	struct ct_vdi *s = fx_vdi_o(&F, SR, "app01 0", (struct fx_vdi_opts){ .snapshot = true,
		.type = CT_VDI_USER });

	ct_map_set(&s->other_config, "chaintop:job", "nightly");
	ck_assert_int_eq(find(-1), 1);
	ck_assert_int_eq(cand(s->o.uuid)->owner, CT_OWN_CHAINTOP_OTHER);
	ck_assert_str_eq(cand(s->o.uuid)->owner_job, "nightly");
}
END_TEST

/* What killed backup runs left, from the history's records: the snapshot by its recorded
 * name and snapshot_of (and no longer a candidate), pending while a VM.snapshot task runs or
 * the call is recent, none otherwise; the export task only with chaintop's label and
 * description. */
START_TEST(leftovers_from_history)
{
	struct snapset a = make_snap("app01", 40 * DAY);   /* stale: a candidate until matched */
	struct snapset b = make_snap("app02", 40 * DAY);
	struct ct_intent in[3], tk[2];
	struct ct_task *task, *other, *snapping;
	char *label, *desc;

	memset(in, 0, sizeof(in));
	memset(tk, 0, sizeof(tk));
	free(a.snap->name_label);
	a.snap->name_label = ct_xstrdup("chaintop k run 4 20260101T00:00:00Z");
	/* the same name on another VM's snapshot is not it */
	free(b.snap->name_label);
	b.snap->name_label = ct_xstrdup("chaintop k run 4 20260101T00:00:00Z");
	in[0] = (struct ct_intent){ .item = 10, .run = 4, .vm_uuid = a.vm->o.uuid, .vm_name = "app01",
		.name = "chaintop k run 4 20260101T00:00:00Z", .job = "k", .pool = "lab",
		.when = time(NULL) - 3600 };
	in[1] = (struct ct_intent){ .item = 11, .run = 5, .vm_uuid = a.vm->o.uuid, .vm_name = "app01",
		.name = "chaintop k run 5 20260101T01:00:00Z", .job = "k", .pool = "lab",
		.when = time(NULL) - 3600 };
	in[2] = (struct ct_intent){ .item = 12, .run = 6, .vm_uuid = a.vm->o.uuid, .vm_name = "app01",
		.name = "chaintop k run 6 20260101T02:00:00Z", .job = "k", .pool = "lab",
		.when = time(NULL) - 5 };
	/* the export task of run 7 as chaintop made it, and a task with another description */
	task = fx_gc_task(&F, SR, 0.5);
	tk[0] = (struct ct_intent){ .item = 20, .run = 7, .vm_uuid = b.vm->o.uuid, .vm_name = "app02",
		.name = task->o.ref, .job = "kx", .pool = "lab" };
	label = ct_backup_export_task_label(b.vm->o.uuid, "kx", 7);
	desc = ct_backup_export_task_desc("kx", 7, 20);
	free(task->name_label);
	task->name_label = label;
	task->name_description = desc;
	other = fx_gc_task(&F, SR, 0.5);
	free(other->name_label);
	other->name_label = ct_xstrdup(label);
	other->name_description = ct_xstrdup("someone else's");
	tk[1] = (struct ct_intent){ .item = 21, .run = 8, .vm_uuid = b.vm->o.uuid, .vm_name = "app02",
		.name = other->o.ref, .job = "kx", .pool = "lab" };

	ck_assert_int_eq(find(-1), 2);
	ck_assert_int_eq(ct_prune_find_leftovers(&F.m, &F.pc, in, 3, tk, 2, &L), 4);
	ck_assert_int_eq(L.n_left, 4);
	/* found by name and snapshot_of, and no longer a candidate; app02's is */
	ck_assert_int_eq(L.left[0].kind, CT_LEFT_SNAPSHOT);
	ck_assert_int_eq(L.left[0].state, CT_LEFT_FOUND);
	ck_assert_str_eq(L.left[0].uuid, a.snap->o.uuid);
	ck_assert_str_eq(L.left[0].text, "left by interrupted run 4 of job 'k' (killed during the snapshot step)");
	ck_assert_int_eq(L.n, 1);
	ck_assert_ptr_null(cand(a.snap->o.uuid));
	ck_assert_ptr_nonnull(cand(b.snap->o.uuid));
	/* none made, an hour ago: none; five seconds ago: pending */
	ck_assert_int_eq(L.left[1].state, CT_LEFT_NONE);
	ck_assert_ptr_null(L.left[1].uuid);
	ck_assert_int_eq(L.left[2].state, CT_LEFT_PENDING);
	/* the export task, with its run; the look-alike is not listed */
	ck_assert_int_eq(L.left[3].kind, CT_LEFT_TASK);
	ck_assert_int_eq(L.left[3].state, CT_LEFT_FOUND);
	ck_assert_str_eq(L.left[3].ref, task->o.ref);
	ck_assert_str_eq(L.left[3].text, "left by interrupted run 7 of job 'kx' (killed during the export step)");
	/* a pending VM.snapshot task makes an old intent with no snapshot pending too */
	snapping = fx_gc_task(&F, SR, 0.2);
	free(snapping->name_label);
	snapping->name_label = ct_xstrdup("Async.VM.snapshot");
	find(-1);
	ct_prune_find_leftovers(&F.m, &F.pc, in, 3, tk, 2, &L);
	ck_assert_int_eq(L.left[1].state, CT_LEFT_PENDING);
	ck_assert(strstr(L.left[1].action, "VM.snapshot task is still running"));
}
END_TEST

/* The Health view's ORPHAN state and prune's default orphan candidates are one rule. */
START_TEST(health_and_prune_agree)
{
	struct ct_vm *vm = fx_vm(&F, "app01");
	struct ct_vdi *leaf = fx_vdi(&F, SR, "app01 0", NULL);
	struct ct_vdi *v[6];
	struct ct_chain_report r;
	int n = 0;

	fx_vbd(&F, vm, leaf, "0");
	v[n++] = fx_vdi(&F, SR, "orphan-data", NULL);
	v[n] = fx_vdi(&F, SR, "export-staging", NULL);
	ct_map_set(&v[n++]->sm_config, "host_OpaqueRef:0000-host", "RW");
	v[n] = fx_vdi_o(&F, SR, "cbt snapshot", (struct fx_vdi_opts){ .snapshot = true,
		.type = CT_VDI_USER });
	free(v[n]->snapshot_of);
	v[n]->snapshot_of = ct_xstrdup(leaf->o.ref);
	n++;
	v[n] = fx_vdi(&F, SR, "xo disk", NULL);
	ct_map_set(&v[n++]->other_config, "xo:backup:job", "job");
	v[n] = fx_vdi(&F, SR, "mirror destination", NULL);
	ct_map_set(&v[n++]->sm_config, "base_mirror", "sr/vdi");
	v[n++] = leaf;
	find(-1);
	ct_chain_eval(&F.m, &F.c, &F.pc, NOW, NULL, &r);
	for (int i = 0; i < n; i++) {
		int vi = ct_chain_find_vdi(&r, v[i]);
		bool health = vi >= 0 && r.vdis[vi].state == CT_VS_ORPHAN;
		const struct ct_prune_cand *c = cand(v[i]->o.uuid);
		const struct ct_prune_skip *k = skip(v[i]->o.uuid);
		/* a candidate, or a plain disk kept only for want of --include-foreign */
		bool prune = (c && c->kind == CT_PRUNE_ORPHAN) ||
			     (k && k->owner == CT_OWN_NONE && !k->never &&
			      strstr(k->reason, "owner unknown: not used by any VM"));

		ck_assert_msg(health == prune, "VDI '%s': Health %s, prune %s", v[i]->name_label,
			      health ? "orphan" : "not orphan", prune ? "orphan" : "not orphan");
	}
	ck_assert_int_eq(r.vdis[ct_chain_find_vdi(&r, v[0])].state, CT_VS_ORPHAN);
	ck_assert_int_ne(r.vdis[ct_chain_find_vdi(&r, v[1])].state, CT_VS_ORPHAN);
	ct_chain_report_release(&r);
}
END_TEST

static Suite *prune_suite(void)
{
	Suite *s = suite_create("prune");
	TCase *t = tcase_create("find");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, stale_by_age);
	tcase_add_test(t, stale_by_job);
	tcase_add_test(t, adhoc_backup_not_stale_by_job);
	tcase_add_test(t, stale_source_gone);
	tcase_add_test(t, orphan_user_disk);
	tcase_add_test(t, orphan_snapshot_disk_vm_gone);
	tcase_add_test(t, never_orphans);
	tcase_add_test(t, attached_snapshot_disk_kept);
	tcase_add_test(t, snapshot_disk_never_rules);
	tcase_add_test(t, effect_garbage_then_coalesce);
	tcase_add_test(t, effect_none_and_stacked);
	tcase_add_test(t, effect_ignores_cbt_logs);
	tcase_add_test(t, effect_combined);
	tcase_add_test(t, plan_order_and_copy);
	tcase_add_test(t, untrusted_names_sanitised);
	tcase_add_test(t, execute_nothing);
	tcase_add_test(t, foreign_snapshots_kept);
	tcase_add_test(t, blocked_snapshot_never);
	tcase_add_test(t, protected_orphans_never);
	tcase_add_test(t, checkpoint_takes_its_suspend_image);
	tcase_add_test(t, chaintop_orphan_disk_is_ours);
	tcase_add_test(t, health_and_prune_agree);
	tcase_add_test(t, leftovers_from_history);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(prune_suite());
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
