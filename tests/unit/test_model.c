/* Unit tests for model.c: tables by ref, uuid index, derived indexes and their upkeep
 * across add/modify/delete, records dup/free, names, a 10k-object store, keys and the
 * digests kept beside the records. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_int.h"
#include "lib/util.h"

static void ids(struct ct_obj *o, const char *ref, const char *uuid)
{
	o->ref = ct_xstrdup(ref);
	o->uuid = ct_xstrdup(uuid);
}

static struct ct_sr *mk_sr(struct ct_model *m, const char *ref, const char *uuid,
			   const char *name)
{
	struct ct_sr *s = (struct ct_sr *)ct_obj_new(CT_SR);
	ids(&s->o, ref, uuid);
	s->name_label = ct_xstrdup(name);
	ct_model_put(m, &s->o);
	return s;
}

static struct ct_vdi *new_vdi(const char *ref, const char *uuid, const char *sr,
			      const char *parent)
{
	struct ct_vdi *v = (struct ct_vdi *)ct_obj_new(CT_VDI);
	ids(&v->o, ref, uuid);
	v->sr = ct_xstrdup(sr);
	v->name_label = ct_xasprintf("disk %s", uuid);
	if (parent)
		ct_map_set(&v->sm_config, "vhd-parent", parent);
	return v;
}

static struct ct_vdi *mk_vdi(struct ct_model *m, const char *ref, const char *uuid,
			     const char *sr, const char *parent)
{
	struct ct_vdi *v = new_vdi(ref, uuid, sr, parent);
	ct_model_put(m, &v->o);
	return v;
}

static struct ct_vbd *mk_vbd(struct ct_model *m, const char *ref, const char *vm,
			     const char *vdi)
{
	struct ct_vbd *b = (struct ct_vbd *)ct_obj_new(CT_VBD);
	char uuid[64];
	snprintf(uuid, sizeof(uuid), "u-%s", ref);
	ids(&b->o, ref, uuid);
	b->vm = ct_xstrdup(vm);
	b->vdi = ct_xstrdup(vdi);
	ct_model_put(m, &b->o);
	return b;
}

static bool has_vdi(struct ct_vdi *const *a, size_t n, const char *ref)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(a[i]->o.ref, ref))
			return true;
	return false;
}

START_TEST(names)
{
	ck_assert_str_eq(ct_class_name(CT_SR), "SR");
	ck_assert_str_eq(ct_class_name(CT_VDI), "VDI");
	ck_assert_str_eq(ct_class_name(CT_TASK), "task");
	ck_assert_int_eq(ct_class_from_name("vdi"), CT_VDI);
	ck_assert_int_eq(ct_class_from_name("VM"), CT_VM);
	ck_assert_int_eq(ct_class_from_name("message"), CT_MESSAGE);
	ck_assert_int_eq(ct_class_from_name("console"), -1);
	ck_assert_int_eq(ct_class_from_name(NULL), -1);
	for (int c = 0; c < CT_NCLASSES; c++)
		ck_assert_int_eq(ct_class_from_name(ct_class_name((enum ct_class)c)), c);
	ck_assert_str_eq(ct_power_state_name(CT_POWER_RUNNING), "Running");
	ck_assert_str_eq(ct_power_state_name(CT_POWER_HALTED), "Halted");
	ck_assert_str_eq(ct_task_status_name(CT_TASK_PENDING), "pending");
	ck_assert_str_eq(ct_task_status_name(CT_TASK_CANCELLED), "cancelled");
	ck_assert(ct_ref_is_null(NULL));
	ck_assert(ct_ref_is_null(""));
	ck_assert(ct_ref_is_null("OpaqueRef:NULL"));
	ck_assert(!ct_ref_is_null("OpaqueRef:1"));
}
END_TEST

START_TEST(add_mod_del)
{
	struct ct_model m;
	uint64_t g;

	ct_model_init(&m);
	ct_model_lock(&m);
	g = m.generation;
	mk_sr(&m, "OpaqueRef:sr1", "sr-uuid-1", "nfs-a");
	ck_assert_uint_gt(m.generation, g);
	mk_vdi(&m, "OpaqueRef:v1", "vdi-1", "OpaqueRef:sr1", NULL);
	ck_assert_uint_eq(ct_model_count(&m, CT_VDI), 1);
	ck_assert_ptr_nonnull(ct_model_vdi(&m, "OpaqueRef:v1"));
	ck_assert_ptr_null(ct_model_vdi(&m, "OpaqueRef:NULL"));
	ck_assert_ptr_null(ct_model_vdi(&m, NULL));
	ck_assert_ptr_null(ct_model_vdi(&m, "OpaqueRef:nope"));
	ck_assert_ptr_null(ct_model_vm(&m, "OpaqueRef:v1"));   /* other class */
	ck_assert_ptr_eq(ct_model_find_uuid(&m, CT_VDI, "vdi-1"), ct_model_at(&m, CT_VDI, 0));
	ck_assert_ptr_null(ct_model_at(&m, CT_VDI, 1));

	/* modify: replace the record under the same ref */
	g = m.generation;
	struct ct_vdi *v2 = new_vdi("OpaqueRef:v1", "vdi-1", "OpaqueRef:sr1", NULL);
	free(v2->name_label);
	v2->name_label = ct_xstrdup("renamed");
	ct_model_put(&m, &v2->o);
	ck_assert_uint_gt(m.generation, g);
	ck_assert_uint_eq(ct_model_count(&m, CT_VDI), 1);
	ck_assert_str_eq(ct_model_vdi(&m, "OpaqueRef:v1")->name_label, "renamed");

	/* delete; deleting again or an unknown ref is a no-op that does not bump */
	g = m.generation;
	ct_model_del(&m, CT_VDI, "OpaqueRef:v1");
	ck_assert_uint_gt(m.generation, g);
	ck_assert_uint_eq(ct_model_count(&m, CT_VDI), 0);
	ck_assert_ptr_null(ct_model_find_uuid(&m, CT_VDI, "vdi-1"));
	g = m.generation;
	ct_model_del(&m, CT_VDI, "OpaqueRef:v1");
	ct_model_del(&m, CT_VDI, NULL);
	ck_assert_uint_eq(m.generation, g);

	/* the one pool record */
	ck_assert_ptr_null(ct_model_pool(&m));
	struct ct_pool *p = (struct ct_pool *)ct_obj_new(CT_POOL);
	ids(&p->o, "OpaqueRef:pool", "pool-uuid");
	ct_model_put(&m, &p->o);
	ck_assert_ptr_eq(ct_model_pool(&m), p);

	/* clear */
	g = m.generation;
	ct_model_clear(&m);
	ck_assert_uint_gt(m.generation, g);
	ck_assert_uint_eq(ct_model_count(&m, CT_SR), 0);
	ck_assert_ptr_null(ct_model_pool(&m));
	ck_assert_ptr_null(ct_model_find_uuid(&m, CT_SR, "sr-uuid-1"));
	mk_sr(&m, "OpaqueRef:sr1", "sr-uuid-1", "nfs-a");
	ck_assert_ptr_nonnull(ct_model_find_uuid(&m, CT_SR, "sr-uuid-1"));

	/* records without a ref are refused (freed, not stored) */
	struct ct_obj *bad = ct_obj_new(CT_VM);
	ct_model_put(&m, bad);
	ck_assert_uint_eq(ct_model_count(&m, CT_VM), 0);
	ct_model_unlock(&m);
	ct_model_release(&m);
}
END_TEST

START_TEST(replace_keeps_indexes)
{
	struct ct_model m;
	size_t n;

	ct_model_init(&m);
	struct ct_sr *a = mk_sr(&m, "OpaqueRef:a", "sr-a", "A");
	struct ct_sr *b = mk_sr(&m, "OpaqueRef:b", "sr-b", "B");
	mk_vdi(&m, "OpaqueRef:base", "base", "OpaqueRef:a", NULL);
	mk_vdi(&m, "OpaqueRef:leaf", "leaf", "OpaqueRef:a", "base");
	ck_assert_uint_eq((ct_model_sr_vdis(&m, a, &n), n), 2);
	ck_assert_str_eq(ct_model_vdi_parent(&m, ct_model_vdi(&m, "OpaqueRef:leaf"))->o.uuid,
			 "base");

	/* the leaf is re-pointed to no parent (coalesced): the index follows */
	mk_vdi(&m, "OpaqueRef:leaf", "leaf", "OpaqueRef:a", NULL);
	ck_assert_ptr_null(ct_model_vdi_parent(&m, ct_model_vdi(&m, "OpaqueRef:leaf")));
	ck_assert_ptr_null(ct_model_vdi_children(&m, ct_model_vdi(&m, "OpaqueRef:base"), &n));
	ck_assert_uint_eq(n, 0);

	/* a replaced record that moves to another SR (SR.pool_migrate) */
	mk_vdi(&m, "OpaqueRef:leaf", "leaf", "OpaqueRef:b", NULL);
	ct_model_sr_vdis(&m, a, &n);
	ck_assert_uint_eq(n, 1);
	struct ct_vdi *const *bv = ct_model_sr_vdis(&m, b, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(bv[0]->o.ref, "OpaqueRef:leaf");
	ck_assert_ptr_eq(ct_model_find_uuid(&m, CT_VDI, "leaf"), bv[0]);

	/* a replacement with another uuid: the old uuid is gone */
	mk_vdi(&m, "OpaqueRef:base", "base2", "OpaqueRef:a", NULL);
	ck_assert_ptr_null(ct_model_find_uuid(&m, CT_VDI, "base"));
	ck_assert_ptr_nonnull(ct_model_find_uuid(&m, CT_VDI, "base2"));
	ct_model_release(&m);
}
END_TEST

START_TEST(parent_children_across_srs)
{
	struct ct_model m;
	struct ct_vdi *const *kids;
	size_t n;

	ct_model_init(&m);
	mk_sr(&m, "OpaqueRef:a", "sr-a", "A");
	mk_sr(&m, "OpaqueRef:b", "sr-b", "B");
	/* the same uuid on two SRs (a copied base copy): each SR resolves to its own */
	struct ct_vdi *pa = mk_vdi(&m, "OpaqueRef:pa", "P", "OpaqueRef:a", NULL);
	struct ct_vdi *pb = mk_vdi(&m, "OpaqueRef:pb", "P", "OpaqueRef:b", NULL);
	struct ct_vdi *ca1 = mk_vdi(&m, "OpaqueRef:ca1", "ca1", "OpaqueRef:a", "P");
	mk_vdi(&m, "OpaqueRef:ca2", "ca2", "OpaqueRef:a", "P");
	struct ct_vdi *cb = mk_vdi(&m, "OpaqueRef:cb", "cb", "OpaqueRef:b", "P");
	/* a vhd-parent naming a uuid that lives only on the other SR is not a parent */
	mk_vdi(&m, "OpaqueRef:only-b", "QB", "OpaqueRef:b", NULL);
	struct ct_vdi *x = mk_vdi(&m, "OpaqueRef:x", "x", "OpaqueRef:a", "QB");

	ck_assert_ptr_eq(ct_model_vdi_parent(&m, ca1), pa);
	ck_assert_ptr_eq(ct_model_vdi_parent(&m, cb), pb);
	ck_assert_ptr_null(ct_model_vdi_parent(&m, x));
	ck_assert_ptr_null(ct_model_vdi_parent(&m, pa));
	kids = ct_model_vdi_children(&m, pa, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert(has_vdi(kids, n, "OpaqueRef:ca1") && has_vdi(kids, n, "OpaqueRef:ca2"));
	kids = ct_model_vdi_children(&m, pb, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(kids[0]->o.ref, "OpaqueRef:cb");
	ck_assert_ptr_null(ct_model_vdi_children(&m, ct_model_vdi(&m, "OpaqueRef:only-b"), &n));
	ck_assert_uint_eq(n, 0);

	/* a VDI naming itself (corrupt metadata) is not its own parent */
	struct ct_vdi *self = mk_vdi(&m, "OpaqueRef:self", "S", "OpaqueRef:a", "S");
	ck_assert_ptr_null(ct_model_vdi_parent(&m, self));

	/* NULL-safe */
	ck_assert_ptr_null(ct_model_vdi_parent(&m, NULL));
	ck_assert_ptr_null(ct_model_vdi_children(&m, NULL, &n));
	ck_assert_ptr_null(ct_model_sr_vdis(&m, NULL, &n));
	ck_assert_uint_eq(n, 0);
	ct_model_release(&m);
}
END_TEST

START_TEST(upkeep_after_deletes)
{
	struct ct_model m;
	struct ct_vbd *const *vb;
	size_t n;

	ct_model_init(&m);
	struct ct_sr *a = mk_sr(&m, "OpaqueRef:a", "sr-a", "A");
	for (int i = 0; i < 50; i++) {
		char ref[32], uuid[32], par[32];
		snprintf(ref, sizeof(ref), "OpaqueRef:v%d", i);
		snprintf(uuid, sizeof(uuid), "u%d", i);
		snprintf(par, sizeof(par), "u%d", i - 1);
		mk_vdi(&m, ref, uuid, "OpaqueRef:a", i ? par : NULL);
	}
	struct ct_vm *vm = (struct ct_vm *)ct_obj_new(CT_VM);
	ids(&vm->o, "OpaqueRef:vm", "vm-u");
	ct_model_put(&m, &vm->o);
	mk_vbd(&m, "OpaqueRef:b0", "OpaqueRef:vm", "OpaqueRef:v49");
	mk_vbd(&m, "OpaqueRef:b1", "OpaqueRef:vm", "OpaqueRef:v10");
	mk_vbd(&m, "OpaqueRef:cd", "OpaqueRef:vm", "OpaqueRef:NULL");
	ck_assert_uint_eq((ct_model_sr_vdis(&m, a, &n), n), 50);
	vb = ct_model_vm_vbds(&m, vm, &n);
	ck_assert_uint_eq(n, 3);
	vb = ct_model_vdi_vbds(&m, ct_model_vdi(&m, "OpaqueRef:v49"), &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(vb[0]->o.ref, "OpaqueRef:b0");

	/* delete every even VDI; each remaining one must still be found by ref and uuid */
	for (int i = 0; i < 50; i += 2) {
		char ref[32];
		snprintf(ref, sizeof(ref), "OpaqueRef:v%d", i);
		ct_model_del(&m, CT_VDI, ref);
	}
	ck_assert_uint_eq((ct_model_sr_vdis(&m, a, &n), n), 25);
	for (int i = 0; i < 50; i++) {
		char ref[32], uuid[32];
		snprintf(ref, sizeof(ref), "OpaqueRef:v%d", i);
		snprintf(uuid, sizeof(uuid), "u%d", i);
		struct ct_vdi *v = ct_model_vdi(&m, ref);
		if (i % 2) {
			ck_assert_ptr_nonnull(v);
			ck_assert_ptr_eq(ct_model_find_uuid(&m, CT_VDI, uuid), v);
			/* parent (even) is gone: no parent; children (even) gone too */
			ck_assert_ptr_null(ct_model_vdi_parent(&m, v));
			ck_assert_ptr_null(ct_model_vdi_children(&m, v, &n));
		} else {
			ck_assert_ptr_null(v);
			ck_assert_ptr_null(ct_model_find_uuid(&m, CT_VDI, uuid));
		}
	}
	/* VBD indexes follow VBD deletes */
	ct_model_del(&m, CT_VBD, "OpaqueRef:b0");
	ct_model_vm_vbds(&m, vm, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_null(ct_model_vdi_vbds(&m, ct_model_vdi(&m, "OpaqueRef:v49"), &n));
	ck_assert_uint_eq(n, 0);
	ct_model_release(&m);
}
END_TEST

START_TEST(tasks_and_messages)
{
	struct ct_model m;
	size_t n;

	ct_model_init(&m);
	for (int i = 0; i < 3; i++) {
		struct ct_task *t = (struct ct_task *)ct_obj_new(CT_TASK);
		char ref[32], uuid[32];
		snprintf(ref, sizeof(ref), "OpaqueRef:t%d", i);
		snprintf(uuid, sizeof(uuid), "tu%d", i);
		ids(&t->o, ref, uuid);
		t->name_label = ct_xstrdup("Garbage collection");
		if (i < 2)
			ct_map_set(&t->other_config, "applies_to", "OpaqueRef:sr1");
		ct_model_put(&m, &t->o);
	}
	struct ct_task *const *tk = ct_model_tasks_for(&m, "OpaqueRef:sr1", &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_nonnull(tk);
	ck_assert_ptr_null(ct_model_tasks_for(&m, "OpaqueRef:sr2", &n));
	ck_assert_ptr_null(ct_model_tasks_for(&m, "OpaqueRef:NULL", &n));
	ck_assert_ptr_null(ct_model_tasks_for(&m, NULL, &n));
	ck_assert_ptr_eq(ct_model_task(&m, "OpaqueRef:t2"), ct_model_find_uuid(&m, CT_TASK, "tu2"));
	ct_model_del(&m, CT_TASK, "OpaqueRef:t0");
	tk = ct_model_tasks_for(&m, "OpaqueRef:sr1", &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(tk[0]->o.ref, "OpaqueRef:t1");

	static const time_t ts[] = { 1000, 3000, 2000, 3000 };
	for (int i = 0; i < 4; i++) {
		struct ct_message *msg = (struct ct_message *)ct_obj_new(CT_MESSAGE);
		char ref[32], uuid[32];
		snprintf(ref, sizeof(ref), "OpaqueRef:m%d", i);
		snprintf(uuid, sizeof(uuid), "mu%d", i);
		ids(&msg->o, ref, uuid);
		msg->name = ct_xstrdup("SM_GC_NO_SPACE");
		msg->cls = ct_xstrdup("SR");
		msg->obj_uuid = ct_xstrdup("sr-uuid");
		msg->timestamp = ts[i];
		ct_model_put(&m, &msg->o);
	}
	struct ct_message *const *ms = ct_model_messages_for(&m, "sr-uuid", &n);
	ck_assert_uint_eq(n, 4);
	for (size_t i = 1; i < n; i++)
		ck_assert(ms[i - 1]->timestamp >= ms[i]->timestamp);
	ck_assert_int_eq(ms[0]->timestamp, 3000);
	ck_assert_int_eq(ms[3]->timestamp, 1000);
	ck_assert_ptr_null(ct_model_messages_for(&m, "other", &n));
	ck_assert_ptr_null(ct_model_messages_for(&m, NULL, &n));
	ct_model_release(&m);
}
END_TEST

START_TEST(dup_and_free)
{
	struct ct_vdi *v = new_vdi("OpaqueRef:v", "vu", "OpaqueRef:sr", "pu");
	v->snapshot_of = ct_xstrdup("OpaqueRef:NULL");
	v->virtual_size = 10LL << 30;
	v->is_a_snapshot = true;
	ct_strset_add(&v->vbds, "OpaqueRef:b");
	ct_strset_add(&v->current_operations, "snapshot");
	struct ct_vdi *d = (struct ct_vdi *)ct_obj_dup(&v->o);
	ck_assert_ptr_ne(d, v);
	ck_assert_ptr_ne(d->o.ref, v->o.ref);
	ck_assert_str_eq(d->o.ref, "OpaqueRef:v");
	ck_assert_ptr_ne(d->sm_config.k, v->sm_config.k);
	ck_assert_str_eq(ct_map_get(&d->sm_config, "vhd-parent"), "pu");
	ck_assert(ct_strset_has(&d->vbds, "OpaqueRef:b"));
	ck_assert(d->is_a_snapshot);
	ck_assert_int_eq(d->virtual_size, 10LL << 30);
	ct_obj_free(&v->o);
	ck_assert_str_eq(d->name_label, "disk vu");   /* still valid after the source is freed */
	ct_obj_free(&d->o);

	/* every class round-trips through dup/free (LSan checks for leaks) */
	for (int c = 0; c < CT_NCLASSES; c++) {
		struct ct_obj *o = ct_obj_new((enum ct_class)c);
		ids(o, "OpaqueRef:x", "xu");
		struct ct_obj *o2 = ct_obj_dup(o);
		ck_assert_int_eq(o2->cls, c);
		ck_assert_str_eq(o2->uuid, "xu");
		ct_obj_free(o);
		ct_obj_free(o2);
	}
	struct ct_vm *vm = (struct ct_vm *)ct_obj_new(CT_VM);
	ck_assert_int_eq(vm->power_state, CT_POWER_UNKNOWN);
	vm->name_label = ct_xstrdup("web01");
	ct_strset_add(&vm->tags, "nightly");
	ct_map_set(&vm->other_config, "k", "v");
	vm->suspend_vdi = ct_xstrdup("OpaqueRef:NULL");
	struct ct_vm *vm2 = (struct ct_vm *)ct_obj_dup(&vm->o);
	ck_assert_str_eq(vm2->name_label, "web01");
	ck_assert(ct_strset_has(&vm2->tags, "nightly"));
	ct_obj_free(&vm->o);
	ct_obj_free(&vm2->o);
	ct_obj_free(NULL);
	ck_assert_ptr_null(ct_obj_dup(NULL));
}
END_TEST

/* The record lists of model.h drive the field tables: every owned field of every class,
 * filled through its table entry, is deep-copied by ct_obj_dup and freed by ct_obj_free
 * (LSan checks for leaks); field names are unique within a class; enum names round-trip. */
START_TEST(field_tables)
{
	for (int c = 0; c < CT_NCLASSES; c++) {
		size_t n;
		const struct ct_field *f = ct_class_fields((enum ct_class)c, &n);
		struct ct_obj *o = ct_obj_new((enum ct_class)c), *d;

		ck_assert_ptr_nonnull(f);
		ck_assert_uint_ge(n, 2);
		ck_assert_str_eq(f[0].name, "uuid");
		o->ref = ct_xstrdup("OpaqueRef:r");
		for (size_t i = 0; i < n; i++) {
			void *p = (char *)o + f[i].off;

			ck_assert_uint_eq(f[i].len, strlen(f[i].name));
			for (size_t j = 0; j < i; j++)
				ck_assert_str_ne(f[i].name, f[j].name);
			switch (f[i].kind) {
			case CT_F_STR: *(char **)p = ct_xstrdup(f[i].name); break;
			case CT_F_SET: case CT_F_MAPVALS: ct_strset_add(p, f[i].name); break;
			case CT_F_MAP: ct_map_set(p, f[i].name, "v"); break;
			default: break;
			}
		}
		d = ct_obj_dup(o);
		ct_obj_free(o);   /* the copy owns its own strings */
		for (size_t i = 0; i < n; i++) {
			void *p = (char *)d + f[i].off;

			switch (f[i].kind) {
			case CT_F_STR: ck_assert_str_eq(*(char **)p, f[i].name); break;
			case CT_F_SET: case CT_F_MAPVALS:
				ck_assert(ct_strset_has(p, f[i].name));
				break;
			case CT_F_MAP: ck_assert_str_eq(ct_map_get(p, f[i].name), "v"); break;
			default: break;
			}
		}
		ct_obj_free(d);
	}
	ck_assert_ptr_null(ct_class_fields(CT_NCLASSES, &(size_t){ 0 }));
	{
		struct ct_vdi *v = (struct ct_vdi *)ct_obj_new(CT_VDI), *v2;

		ck_assert_int_eq(v->type, CT_VDI_USER);   /* what a VDI without type reads as */
		v->type = CT_VDI_CBT_METADATA;
		v2 = (struct ct_vdi *)ct_obj_dup(&v->o);
		ck_assert_int_eq(v2->type, CT_VDI_CBT_METADATA);
		ct_obj_free(&v->o);
		ct_obj_free(&v2->o);
	}

	for (int t = 0; t < CT_VDI_OTHER; t++)
		ck_assert_int_eq(ct_vdi_type_from_name(ct_vdi_type_name((enum ct_vdi_type)t)), t);
	ck_assert_str_eq(ct_vdi_type_name(CT_VDI_OTHER), "unknown");
	ck_assert_int_eq(ct_vdi_type_from_name("CBT_Metadata"), CT_VDI_CBT_METADATA);
	ck_assert_int_eq(ct_vdi_type_from_name("quantum"), -1);
	for (int t = 0; t < CT_VBD_OTHER; t++)
		ck_assert_int_eq(ct_vbd_type_from_name(ct_vbd_type_name((enum ct_vbd_type)t)), t);
	ck_assert_str_eq(ct_vbd_type_name(CT_VBD_CD), "CD");
	for (int t = 0; t < CT_POWER_UNKNOWN; t++)
		ck_assert_int_eq(ct_power_state_from_name(ct_power_state_name((enum ct_power_state)t)), t);
	ck_assert_str_eq(ct_power_state_name(CT_POWER_UNKNOWN), "Unknown");
	ck_assert_int_eq(ct_power_state_from_name("running"), CT_POWER_RUNNING);
	for (int t = 0; t <= CT_TASK_CANCELLED; t++)
		ck_assert_int_eq(ct_task_status_from_name(ct_task_status_name((enum ct_task_status)t)), t);
	ck_assert_str_eq(ct_task_status_name((enum ct_task_status)99), "unknown");
	ck_assert_int_eq(ct_task_status_from_name(NULL), -1);
}
END_TEST

START_TEST(many_objects)
{
	enum { NSR = 10, NV = 10000 };
	struct ct_model m;
	struct ct_sr *srs[NSR];
	size_t n, total = 0;
	char ref[48], uuid[48], par[48];

	ct_model_init(&m);
	for (int s = 0; s < NSR; s++) {
		snprintf(ref, sizeof(ref), "OpaqueRef:sr%d", s);
		snprintf(uuid, sizeof(uuid), "sr-%d", s);
		srs[s] = mk_sr(&m, ref, uuid, uuid);
	}
	/* chains of 10 on each SR */
	for (int i = 0; i < NV; i++) {
		snprintf(ref, sizeof(ref), "OpaqueRef:vdi-%d", i);
		snprintf(uuid, sizeof(uuid), "vdi-uuid-%d", i);
		snprintf(par, sizeof(par), "vdi-uuid-%d", i - NSR);
		char sr[48];
		snprintf(sr, sizeof(sr), "OpaqueRef:sr%d", i % NSR);
		mk_vdi(&m, ref, uuid, sr, i >= NSR && (i / NSR) % 10 ? par : NULL);
	}
	ck_assert_uint_eq(ct_model_count(&m, CT_VDI), NV);
	for (int s = 0; s < NSR; s++) {
		ct_model_sr_vdis(&m, srs[s], &n);
		ck_assert_uint_eq(n, NV / NSR);
		total += n;
	}
	ck_assert_uint_eq(total, NV);
	for (int i = 0; i < NV; i++) {
		snprintf(ref, sizeof(ref), "OpaqueRef:vdi-%d", i);
		snprintf(uuid, sizeof(uuid), "vdi-uuid-%d", i);
		struct ct_vdi *v = ct_model_vdi(&m, ref);
		ck_assert_ptr_nonnull(v);
		ck_assert_ptr_eq(ct_model_find_uuid(&m, CT_VDI, uuid), v);
		struct ct_vdi *p = ct_model_vdi_parent(&m, v);
		if (i >= NSR && (i / NSR) % 10) {
			ck_assert_ptr_nonnull(p);
			snprintf(par, sizeof(par), "vdi-uuid-%d", i - NSR);
			ck_assert_str_eq(p->o.uuid, par);
		} else {
			ck_assert_ptr_null(p);
		}
		ct_model_vdi_children(&m, v, &n);
		ck_assert_uint_eq(n, (i / NSR) % 10 == 9 || i + NSR >= NV ? 0 : 1);
	}
	/* delete half in a scattered order, then check the rest */
	for (int i = 0; i < NV; i += 2) {
		snprintf(ref, sizeof(ref), "OpaqueRef:vdi-%d", (i * 7919) % NV);
		ct_model_del(&m, CT_VDI, ref);
	}
	size_t left = ct_model_count(&m, CT_VDI);
	for (size_t i = 0; i < left; i++) {
		struct ct_obj *o = ct_model_at(&m, CT_VDI, i);
		ck_assert_ptr_eq(ct_model_find(&m, CT_VDI, o->ref), o);
		ck_assert_ptr_eq(ct_model_find_uuid(&m, CT_VDI, o->uuid), o);
	}
	total = 0;
	for (int s = 0; s < NSR; s++) {
		ct_model_sr_vdis(&m, srs[s], &n);
		total += n;
	}
	ck_assert_uint_eq(total, left);
	ct_model_release(&m);
}
END_TEST

/* A watcher re-load (ct_model_swap) swaps tables and index between a fresh and the live
 * model: every index must be rebuilt from the new tables, and the generation move on. */
START_TEST(swap_with_idx_dirty)
{
	struct ct_model live, fresh;
	size_t n;

	ct_model_init(&live);
	ct_model_init(&fresh);
	mk_sr(&live, "OpaqueRef:a", "sr-a", "A");
	mk_vdi(&live, "OpaqueRef:old", "old", "OpaqueRef:a", NULL);
	ck_assert_ptr_nonnull(ct_model_find_uuid(&live, CT_VDI, "old"));
	mk_sr(&fresh, "OpaqueRef:a", "sr-a", "A");
	mk_vdi(&fresh, "OpaqueRef:p", "p", "OpaqueRef:a", NULL);
	mk_vdi(&fresh, "OpaqueRef:c", "c", "OpaqueRef:a", "p");
	ck_assert_ptr_nonnull(ct_model_find_uuid(&fresh, CT_SR, "sr-a"));   /* index built */

	uint64_t gen = live.generation > fresh.generation ? live.generation : fresh.generation;

	ct_model_swap(&live, &fresh);
	ck_assert_uint_gt(live.generation, gen);
	ck_assert_ptr_null(ct_model_find_uuid(&live, CT_VDI, "old"));
	struct ct_vdi *c = (struct ct_vdi *)ct_model_find_uuid(&live, CT_VDI, "c");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(ct_model_vdi_parent(&live, c)->o.uuid, "p");
	ct_model_sr_vdis(&live, ct_model_sr(&live, "OpaqueRef:a"), &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_nonnull(ct_model_find_uuid(&fresh, CT_VDI, "old"));
	ck_assert_ptr_null(ct_model_find_uuid(&fresh, CT_VDI, "c"));
	ct_model_sr_vdis(&fresh, ct_model_sr(&fresh, "OpaqueRef:a"), &n);
	ck_assert_uint_eq(n, 1);
	ct_model_release(&live);
	ct_model_release(&fresh);
}
END_TEST

/* Keys: canonical uuids and OpaqueRef:<uuid> map exactly and sort like strcmp; anything
 * else is hashed into keys that are never exact; null refs and empty strings are none. */
START_TEST(keys)
{
	static const char *const sorted[] = {
		"00000000-0000-4000-8000-000000000000", "00000000-0000-4000-8000-00000000000a",
		"0000000a-0000-4000-8000-000000000000", "9fffffff-ffff-4fff-bfff-ffffffffffff",
		"a0000000-0000-4000-8000-000000000000", "ffffffff-ffff-4fff-bfff-ffffffffffff",
	};
	struct ct_key a, b;

	for (size_t i = 0; i < sizeof(sorted) / sizeof(*sorted); i++) {
		a = ct_key_uuid(sorted[i]);
		ck_assert(ct_key_exact(a));
		ck_assert(ct_key_eq(a, ct_key_uuid(sorted[i])));
		if (i > 0) {
			b = ct_key_uuid(sorted[i - 1]);
			ck_assert(b.hi < a.hi || (b.hi == a.hi && b.lo < a.lo));
		}
	}
	a = ct_key_ref("OpaqueRef:a0000000-0000-4000-8000-000000000000");
	ck_assert(ct_key_exact(a));
	ck_assert(ct_key_eq(a, ct_key_uuid("a0000000-0000-4000-8000-000000000000")));
	/* not canonical: upper case, another variant, a missing dash, longer, shorter */
	ck_assert(!ct_key_exact(ct_key_uuid("A0000000-0000-4000-8000-000000000000")));
	ck_assert(!ct_key_exact(ct_key_uuid("a0000000-0000-4000-c000-000000000000")));
	ck_assert(!ct_key_exact(ct_key_uuid("a0000000-0000-4000-8000+000000000000")));
	ck_assert(!ct_key_exact(ct_key_uuid("a0000000-0000-4000-8000-0000000000001")));
	ck_assert(!ct_key_exact(ct_key_uuid("a0000000-0000-4000-8000-00000000000")));
	ck_assert(!ct_key_exact(ct_key_ref("OpaqueRef:vdi-1")));
	ck_assert(!ct_key_exact(ct_key_ref("a0000000-0000-4000-8000-000000000000")));
	ck_assert(ct_key_eq(ct_key_ref("OpaqueRef:vdi-1"), ct_key_ref("OpaqueRef:vdi-1")));
	ck_assert(!ct_key_eq(ct_key_ref("OpaqueRef:vdi-1"), ct_key_ref("OpaqueRef:vdi-2")));
	ck_assert(!ct_key_none(ct_key_uuid("x")));
	ck_assert(ct_key_none(ct_key_uuid(NULL)));
	ck_assert(ct_key_none(ct_key_uuid("")));
	ck_assert(ct_key_none(ct_key_ref("OpaqueRef:NULL")));
	ck_assert(ct_key_none(ct_key_ref("")));
}
END_TEST

/* Digests follow their records through put, replace, delete (the last record moves into
 * the hole) and a wholesale table swap; ct_model_pos_of_ref finds records by key. */
START_TEST(digests_follow_records)
{
	struct ct_model m, other;
	const struct ct_vdi_digest *d;
	struct ct_vdi *v;
	char ref[64], uuid[64];
	long pos;

	ct_model_init(&m);
	ct_model_init(&other);
	for (int i = 0; i < 50; i++) {
		snprintf(ref, sizeof(ref), "OpaqueRef:%08x-0000-4000-8000-000000000001", i);
		snprintf(uuid, sizeof(uuid), "%08x-0000-4000-8000-000000000002", i);
		v = new_vdi(ref, uuid, "OpaqueRef:sr-odd", i ? "00000000-0000-4000-8000-000000000002" : NULL);
		v->managed = i % 2;
		v->virtual_size = i;
		ct_map_set(&v->sm_config, "vdi_type", i % 3 ? "vhd" : "aio");
		if (i % 7 == 3)
			v->type = CT_VDI_CBT_METADATA;
		if (i % 11 == 5)
			v->on_boot = ct_xstrdup("reset");
		ct_model_put(&m, &v->o);
	}
	/* a replaced record gets a new digest in the same place */
	v = new_vdi("OpaqueRef:00000007-0000-4000-8000-000000000001",
		    "00000007-0000-4000-8000-000000000002", "OpaqueRef:sr-odd", NULL);
	v->virtual_size = 700;
	ct_map_set(&v->sm_config, "paused", "true");
	ct_model_put(&m, &v->o);
	/* delete from the front: the last record moves, with its digest */
	ct_model_del(&m, CT_VDI, "OpaqueRef:00000000-0000-4000-8000-000000000001");
	ct_model_del(&m, CT_VDI, "OpaqueRef:00000003-0000-4000-8000-000000000001");
	ck_assert_uint_eq(ct_model_count(&m, CT_VDI), 48);
	d = ct_model_vdi_digests(&m);
	for (size_t i = 0; i < ct_model_count(&m, CT_VDI); i++) {
		const struct ct_vdi *r = (const struct ct_vdi *)ct_model_at(&m, CT_VDI, i);
		const char *vt = ct_map_get(&r->sm_config, "vdi_type");

		ck_assert_ptr_eq(ct_model_find(&m, CT_VDI, r->o.ref), r);
		ck_assert(ct_key_eq(d[i].uuid, ct_key_uuid(r->o.uuid)));
		ck_assert(ct_key_eq(d[i].sr, ct_key_ref("OpaqueRef:sr-odd")));
		ck_assert(ct_key_eq(d[i].parent, ct_key_uuid(ct_map_get(&r->sm_config, "vhd-parent"))));
		ck_assert_int_eq(d[i].virtual_size, r->virtual_size);
		ck_assert_int_eq(!!(d[i].flags & CT_DG_MANAGED), r->managed);
		ck_assert_int_eq(!!(d[i].flags & CT_DG_RAW), vt && !strcmp(vt, "aio"));
		/* paused is tapdisk's flag, not a GC mark */
		ck_assert_int_eq(!!(d[i].flags & CT_DG_PAUSED), r->virtual_size == 700);
		ck_assert(!(d[i].flags & CT_DG_GC_MARK));
		ck_assert_int_eq(!!(d[i].flags & CT_DG_NOT_CHAIN), r->type == CT_VDI_CBT_METADATA);
		ck_assert_int_eq(!!(d[i].flags & CT_DG_NO_LEAF), r->on_boot != NULL);
		pos = ct_model_pos_of_ref(&m, CT_VDI, ct_key_ref(r->o.ref), r->o.ref);
		ck_assert_int_eq(pos, (long)i);
	}
	ck_assert_int_eq(ct_model_pos_of_ref(&m, CT_VDI, ct_key_ref(
		"OpaqueRef:00000003-0000-4000-8000-000000000001"), NULL), -1);
	/* hashed keys are confirmed on the string */
	mk_sr(&m, "OpaqueRef:sr-odd", "sr-uuid", "odd");
	pos = ct_model_pos_of_ref(&m, CT_SR, ct_key_ref("OpaqueRef:sr-odd"), "OpaqueRef:sr-odd");
	ck_assert_int_eq(pos, 0);
	ck_assert_int_eq(ct_model_pos_of_ref(&m, CT_SR, ct_key_ref("OpaqueRef:sr-odd"),
					     "OpaqueRef:sr-other"), -1);
	/* a self-parent is flagged, not keyed */
	v = new_vdi("OpaqueRef:self", "self-uuid", "OpaqueRef:sr-odd", "self-uuid");
	ct_model_put(&m, &v->o);
	d = ct_model_vdi_digests(&m);
	pos = ct_model_pos_of_ref(&m, CT_VDI, ct_key_ref("OpaqueRef:self"), "OpaqueRef:self");
	ck_assert_int_ge(pos, 0);
	ck_assert(d[pos].flags & CT_DG_SELF_PARENT);
	ck_assert(ct_key_none(d[pos].parent));
	/* a swapped table carries its digests */
	mk_vdi(&other, "OpaqueRef:o1", "o1", "OpaqueRef:sr-odd", NULL);
	ct_model_swap(&m, &other);
	ck_assert_uint_eq(ct_model_count(&m, CT_VDI), 1);
	ck_assert(ct_key_eq(ct_model_vdi_digests(&m)[0].uuid, ct_key_uuid("o1")));
	ck_assert_int_eq(ct_model_pos_of_ref(&m, CT_VDI, ct_key_ref("OpaqueRef:o1"), "OpaqueRef:o1"), 0);
	ck_assert_int_eq(ct_model_pos_of_ref(&other, CT_VDI, ct_key_ref("OpaqueRef:self"),
					     "OpaqueRef:self"), pos);
	ct_model_release(&m);
	ct_model_release(&other);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, names);
	tcase_add_test(tc, add_mod_del);
	tcase_add_test(tc, replace_keeps_indexes);
	tcase_add_test(tc, parent_children_across_srs);
	tcase_add_test(tc, upkeep_after_deletes);
	tcase_add_test(tc, tasks_and_messages);
	tcase_add_test(tc, dup_and_free);
	tcase_add_test(tc, field_tables);
	tcase_add_test(tc, many_objects);
	tcase_add_test(tc, swap_with_idx_dirty);
	tcase_add_test(tc, keys);
	tcase_add_test(tc, digests_follow_records);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
