/* test_chain_fixture.h - hand-built pool models for the chain engine's tests and benchmark.
 * Records are built completely, then handed to ct_model_put (which takes ownership). */
#ifndef TEST_CHAIN_FIXTURE_H
#define TEST_CHAIN_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "model/model.h"
#include "lib/util.h"

#define FX_GIB (1024LL * 1024 * 1024)

struct fx {
	struct ct_model m;
	struct ct_config c;
	struct ct_pool_conf pc;
	struct ct_sr_override ov[4];
	int seq;
};

/* Refs and uuids shaped like XAPI's ("OpaqueRef:" + a random-looking uuid), with the
 * record's kind in the ref's last group so a failing test names what it is about. */
static inline void fx_ids(struct fx *f, struct ct_obj *o, const char *kind)
{
	int n = ++f->seq;
	unsigned k = 0;

	for (const char *c = kind; *c; c++)
		k = k * 31 + (unsigned char)*c;
	o->ref = ct_xasprintf("OpaqueRef:%08x-%04x-4%03x-9000-%012x", (unsigned)n,
			      (unsigned)(n & 0xffff), k & 0xfff, (unsigned)n);
	o->uuid = ct_xasprintf("%08x-%04x-4000-8000-%012x", (unsigned)n, (unsigned)(n & 0xffff),
			       (unsigned)n);
}

static inline void fx_init(struct fx *f)
{
	struct ct_pool *p;

	memset(f, 0, sizeof(*f));
	ct_model_init(&f->m);
	ct_config_init(&f->c);
	f->pc.name = "lab";
	f->pc.tolerance = f->pc.max_depth = f->pc.min_free_percent = -1;
	f->pc.warn_depth = f->pc.crit_depth = f->pc.coalesce_warn = f->pc.crit_free_percent = -1;
	p = (struct ct_pool *)ct_obj_new(CT_POOL);
	fx_ids(f, &p->o, "pool");
	p->name_label = ct_xstrdup("lab pool");
	ct_model_put(&f->m, &p->o);
}

static inline void fx_release(struct fx *f)
{
	ct_model_release(&f->m);
	ct_config_release(&f->c);
}

/* A per-SR override: every limit -1 (inherit) but the ones the caller sets afterwards. */
static inline struct ct_sr_override *fx_override(struct fx *f, const char *match)
{
	struct ct_sr_override *o = &f->ov[f->pc.n_srs++];

	memset(o, 0, sizeof(*o));
	o->match = (char *)match;
	o->tolerance = o->max_depth = o->min_free_percent = -1;
	o->warn_depth = o->crit_depth = o->coalesce_warn = o->crit_free_percent = -1;
	f->pc.srs = f->ov;
	return o;
}

static inline struct ct_sr *fx_sr(struct fx *f, const char *name, const char *type, long long size,
			   long long used)
{
	struct ct_sr *sr = (struct ct_sr *)ct_obj_new(CT_SR);

	fx_ids(f, &sr->o, "sr");
	sr->name_label = ct_xstrdup(name);
	sr->type = ct_xstrdup(type);
	sr->content_type = ct_xstrdup(!strcmp(type, "iso") ? "iso" : "user");
	sr->physical_size = size;
	sr->physical_utilisation = used;
	ct_model_put(&f->m, &sr->o);
	return sr;
}

struct fx_vdi_opts {
	const struct ct_vdi *parent;   /* vhd-parent */
	const char *parent_uuid;       /* or an explicit uuid (broken links, cycles) */
	const char *uuid;              /* explicit uuid */
	bool base;                     /* managed = false */
	bool snapshot;
	enum ct_vdi_type type;
	long long size;                /* default 40 GiB */
	bool raw;                      /* sm_config vdi_type = aio */
	const char *sm_key;            /* an extra sm_config key set to "true" */
	const char *vdi_type;          /* sm_config vdi_type (default vhd, or aio with raw) */
};

static inline struct ct_vdi *fx_vdi_o(struct fx *f, const struct ct_sr *sr, const char *name,
			       struct fx_vdi_opts o)
{
	struct ct_vdi *v = (struct ct_vdi *)ct_obj_new(CT_VDI);

	fx_ids(f, &v->o, "vdi");
	if (o.uuid) {
		free(v->o.uuid);
		v->o.uuid = ct_xstrdup(o.uuid);
	}
	v->name_label = ct_xstrdup(name);
	v->sr = ct_xstrdup(sr->o.ref);
	v->virtual_size = o.size ? o.size : 40 * FX_GIB;
	v->physical_utilisation = v->virtual_size / 2;
	v->type = o.type;
	v->managed = !o.base;
	v->is_a_snapshot = o.snapshot;
	v->read_only = o.base;
	v->snapshot_of = ct_xstrdup("OpaqueRef:NULL");
	ct_map_set(&v->sm_config, "vdi_type", o.vdi_type ? o.vdi_type : o.raw ? "aio" : "vhd");
	if (o.parent)
		ct_map_set(&v->sm_config, "vhd-parent", o.parent->o.uuid);
	else if (o.parent_uuid)
		ct_map_set(&v->sm_config, "vhd-parent", o.parent_uuid);
	if (o.sm_key)
		ct_map_set(&v->sm_config, o.sm_key, "true");
	ct_model_put(&f->m, &v->o);
	return v;
}

static inline struct ct_vdi *fx_vdi(struct fx *f, const struct ct_sr *sr, const char *name,
			     const struct ct_vdi *parent)
{
	return fx_vdi_o(f, sr, name, (struct fx_vdi_opts){ .parent = parent, .type = CT_VDI_USER });
}

static inline struct ct_vdi *fx_base(struct fx *f, const struct ct_sr *sr, const struct ct_vdi *parent)
{
	return fx_vdi_o(f, sr, "base copy",
			(struct fx_vdi_opts){ .parent = parent, .base = true, .type = CT_VDI_USER });
}

static inline struct ct_vm *fx_vm_o(struct fx *f, const char *name, bool snapshot, const struct ct_vm *of)
{
	struct ct_vm *vm = (struct ct_vm *)ct_obj_new(CT_VM);

	fx_ids(f, &vm->o, "vm");
	vm->name_label = ct_xstrdup(name);
	vm->power_state = snapshot ? CT_POWER_HALTED : CT_POWER_RUNNING;
	vm->is_a_snapshot = snapshot;
	vm->is_a_template = snapshot;
	vm->snapshot_of = ct_xstrdup(of ? of->o.ref : "OpaqueRef:NULL");
	vm->suspend_vdi = ct_xstrdup("OpaqueRef:NULL");
	vm->resident_on = ct_xstrdup("OpaqueRef:NULL");
	ct_model_put(&f->m, &vm->o);
	return vm;
}

static inline struct ct_vm *fx_vm(struct fx *f, const char *name)
{
	return fx_vm_o(f, name, false, NULL);
}

static inline struct ct_vbd *fx_vbd(struct fx *f, const struct ct_vm *vm, const struct ct_vdi *vdi,
			     const char *userdevice)
{
	struct ct_vbd *b = (struct ct_vbd *)ct_obj_new(CT_VBD);
	char dev[16];

	fx_ids(f, &b->o, "vbd");
	b->vm = ct_xstrdup(vm->o.ref);
	b->vdi = ct_xstrdup(vdi ? vdi->o.ref : "OpaqueRef:NULL");
	b->type = CT_VBD_DISK;
	b->userdevice = ct_xstrdup(userdevice);
	snprintf(dev, sizeof(dev), "xvd%c", 'a' + atoi(userdevice) % 26);
	b->device = ct_xstrdup(dev);
	b->currently_attached = !vm->is_a_snapshot;
	ct_model_put(&f->m, &b->o);
	return b;
}

static inline struct ct_task *fx_gc_task(struct fx *f, const struct ct_sr *sr, double progress)
{
	struct ct_task *t = (struct ct_task *)ct_obj_new(CT_TASK);

	fx_ids(f, &t->o, "task");
	t->name_label = ct_xstrdup("Garbage Collection");
	t->status = CT_TASK_PENDING;
	t->progress = progress;
	ct_map_set(&t->other_config, "applies_to", sr->o.ref);
	ct_model_put(&f->m, &t->o);
	return t;
}

static inline struct ct_message *fx_message(struct fx *f, const char *name, const struct ct_sr *sr,
				     time_t when, const char *body)
{
	struct ct_message *msg = (struct ct_message *)ct_obj_new(CT_MESSAGE);

	fx_ids(f, &msg->o, "message");
	msg->name = ct_xstrdup(name);
	msg->priority = 3;
	msg->cls = ct_xstrdup("SR");
	msg->obj_uuid = ct_xstrdup(sr->o.uuid);
	msg->timestamp = when;
	msg->body = ct_xstrdup(body);
	ct_model_put(&f->m, &msg->o);
	return msg;
}

/* A VM with one disk at the given depth, each base copy above it with two children (the
 * next node and a snapshot disk), so nothing is pending or stacked. Returns the leaf. */
static inline struct ct_vdi *fx_deep_vm(struct fx *f, const struct ct_sr *sr, const char *name, int depth,
				 struct ct_vm **vm_out)
{
	struct ct_vm *vm = fx_vm(f, name);
	struct ct_vm *snap = fx_vm_o(f, "snap", true, vm);
	const struct ct_vdi *p = NULL;
	struct ct_vdi *leaf;
	char dev[16];

	for (int i = 1; i < depth; i++) {
		const struct ct_vdi *b = fx_base(f, sr, p);
		struct ct_vdi *s;

		s = fx_vdi_o(f, sr, "snap disk", (struct fx_vdi_opts){ .parent = b, .snapshot = true,
								       .type = CT_VDI_USER });
		snprintf(dev, sizeof(dev), "%d", i);
		fx_vbd(f, snap, s, dev);
		p = b;
	}
	leaf = fx_vdi(f, sr, name, p);
	fx_vbd(f, vm, leaf, "0");
	if (vm_out)
		*vm_out = vm;
	return leaf;
}

/* A VM whose disk has n single-child base copies above it (n-1 of them stacked). */
static inline struct ct_vdi *fx_stacked_vm(struct fx *f, const struct ct_sr *sr, const char *name, int n,
				    struct ct_vm **vm_out)
{
	struct ct_vm *vm = fx_vm(f, name);
	const struct ct_vdi *p = NULL;
	struct ct_vdi *leaf;

	for (int i = 0; i < n; i++)
		p = fx_base(f, sr, p);
	leaf = fx_vdi(f, sr, name, p);
	fx_vbd(f, vm, leaf, "0");
	if (vm_out)
		*vm_out = vm;
	return leaf;
}

#endif
