/* prune.c - stale snapshots and orphan disks: finding (pure, on a locked model), the plan
 * of XAPI calls, and execution with fresh re-checks before every destroying call. */
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/backup.h"
#include "jobs/prune.h"
#include "jobs/run.h"
#include "lib/htab.h"
#include "lib/util.h"
#include "watch/watch.h"
#include "xapi/xapi.h"


const char *ct_prune_kind_name(enum ct_prune_kind k)
{
	return k == CT_PRUNE_SNAPSHOT ? "snapshot" : "orphan disk";
}

/* --- small helpers --- */

/* Sanitised copy of untrusted text into buf, "" for NULL. */
static const char *san(const char *s, char *buf, size_t len)
{
	return ct_sanitize(s ? s : "", buf, len);
}

static void push_str(char ***arr, int *n, char *s)
{
	*arr = ct_xrealloc(*arr, ((size_t)*n + 1) * sizeof(**arr));
	(*arr)[(*n)++] = s;
}

static void free_strs(char **arr, int n)
{
	for (int i = 0; i < n; i++)
		free(arr[i]);
	free(arr);
}

static char **dup_strs(char *const *arr, int n)
{
	char **r;

	if (n <= 0)
		return NULL;
	r = ct_xcalloc((size_t)n, sizeof(*r));
	for (int i = 0; i < n; i++)
		r[i] = ct_xstrdup(arr[i]);
	return r;
}

/* "'name' (1a2b3c4d)" with the name sanitised. */
static char *obj_label(const char *name, const char *uuid)
{
	char nb[256], ub[9];

	return ct_xasprintf("'%s' (%s)", san(name, nb, sizeof(nb)), ct_short_uuid(uuid, ub));
}

/* "40d", "14d", "3d 4h", then ct_format_duration below a day. */
static void fmt_age(long long secs, char *buf, size_t len)
{
	if (secs >= 86400 && (secs % 86400) / 3600 == 0)
		snprintf(buf, len, "%lldd", secs / 86400);
	else if (secs >= 86400)
		snprintf(buf, len, "%lldd %lldh", secs / 86400, (secs % 86400) / 3600);
	else
		ct_format_duration(secs, buf, len);
}

static bool type_prunable(enum ct_vdi_type t)
{
	return t == CT_VDI_USER || t == CT_VDI_SYSTEM;
}

/* The builder's text, owned by the caller; the builder is released. */
static char *sb_take(struct ct_sb *sb)
{
	char *s = ct_sb_detach(sb);

	ct_sb_release(sb);
	return s;
}

/* --- lists --- */

void ct_prune_list_init(struct ct_prune_list *l)
{
	memset(l, 0, sizeof(*l));
}

static void disk_release(struct ct_prune_disk *d)
{
	free(d->ref);
	free(d->uuid);
	free(d->name);
	free(d->sr_ref);
	free(d->sr_uuid);
	free(d->sr_name);
	free(d->keep_reason);
	free(d->chain);
}

static void cand_release(struct ct_prune_cand *c)
{
	free(c->pool);
	free(c->pool_uuid);
	free(c->sr_ref);
	free(c->sr_uuid);
	free(c->sr_name);
	free(c->ref);
	free(c->uuid);
	free(c->name);
	free(c->source_uuid);
	free(c->source_name);
	free(c->owner_job);
	free_strs(c->reasons, c->n_reasons);
	for (int i = 0; i < c->n_disks; i++)
		disk_release(&c->disks[i]);
	free(c->disks);
	free(c->chain);
	free_strs(c->effects, c->n_effects);
	memset(c, 0, sizeof(*c));
}

static void skip_release(struct ct_prune_skip *k)
{
	free(k->pool);
	free(k->ref);
	free(k->uuid);
	free(k->name);
	free(k->sr_uuid);
	free(k->sr_name);
	free(k->owner_job);
	free(k->reason);
}

static void left_release(struct ct_prune_leftover *t)
{
	free(t->pool);
	free(t->job);
	free(t->vm_uuid);
	free(t->vm_name);
	free(t->name);
	free(t->ref);
	free(t->uuid);
	free(t->text);
	free(t->action);
}

void ct_prune_list_release(struct ct_prune_list *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->n_left; i++)
		left_release(&l->left[i]);
	free(l->left);
	for (int i = 0; i < l->n; i++)
		cand_release(&l->c[i]);
	for (int i = 0; i < l->n_skips; i++)
		skip_release(&l->skips[i]);
	free(l->skips);
	free(l->c);
	memset(l, 0, sizeof(*l));
}

static struct ct_prune_cand *list_push(struct ct_prune_list *l)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->c = ct_xrealloc(l->c, (size_t)l->cap * sizeof(*l->c));
	}
	memset(&l->c[l->n], 0, sizeof(l->c[0]));
	return &l->c[l->n++];
}

void ct_prune_list_add_copy(struct ct_prune_list *l, const struct ct_prune_cand *s)
{
	struct ct_prune_cand *c = list_push(l);

	*c = *s;
	c->pool = ct_xstrdup(s->pool);
	c->pool_uuid = ct_xstrdup(s->pool_uuid);
	c->sr_ref = ct_xstrdup(s->sr_ref);
	c->sr_uuid = ct_xstrdup(s->sr_uuid);
	c->sr_name = ct_xstrdup(s->sr_name);
	c->ref = ct_xstrdup(s->ref);
	c->uuid = ct_xstrdup(s->uuid);
	c->name = ct_xstrdup(s->name);
	c->source_uuid = ct_xstrdup(s->source_uuid);
	c->source_name = ct_xstrdup(s->source_name);
	c->owner_job = ct_xstrdup(s->owner_job);
	c->reasons = dup_strs(s->reasons, s->n_reasons);
	c->chain = ct_xstrdup(s->chain);
	c->effects = dup_strs(s->effects, s->n_effects);
	c->disks = s->n_disks ? ct_xcalloc((size_t)s->n_disks, sizeof(*c->disks)) : NULL;
	for (int i = 0; i < s->n_disks; i++) {
		const struct ct_prune_disk *sd = &s->disks[i];
		struct ct_prune_disk *d = &c->disks[i];

		*d = *sd;
		d->ref = ct_xstrdup(sd->ref);
		d->uuid = ct_xstrdup(sd->uuid);
		d->name = ct_xstrdup(sd->name);
		d->sr_ref = ct_xstrdup(sd->sr_ref);
		d->sr_uuid = ct_xstrdup(sd->sr_uuid);
		d->sr_name = ct_xstrdup(sd->sr_name);
		d->keep_reason = ct_xstrdup(sd->keep_reason);
		d->chain = ct_xstrdup(sd->chain);
	}
}

static int strcmp0(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static int cand_cmp(const void *pa, const void *pb)
{
	const struct ct_prune_cand *a = pa, *b = pb;
	int r;

	if ((r = strcmp0(a->pool, b->pool)) != 0)
		return r;
	if ((r = strcmp0(a->sr_name, b->sr_name)) != 0)
		return r;
	if ((r = strcmp0(a->sr_uuid, b->sr_uuid)) != 0)
		return r;
	if (a->kind != b->kind)
		return a->kind == CT_PRUNE_SNAPSHOT ? -1 : 1;
	/* oldest first; unknown age last */
	if (a->age != b->age) {
		if (a->age < 0 || b->age < 0)
			return a->age < 0 ? 1 : -1;
		return a->age > b->age ? -1 : 1;
	}
	if ((r = strcmp0(a->name, b->name)) != 0)
		return r;
	return strcmp0(a->uuid, b->uuid);
}

void ct_prune_list_sort(struct ct_prune_list *l)
{
	if (l && l->n > 1)
		qsort(l->c, (size_t)l->n, sizeof(*l->c), cand_cmp);
}

/* --- finding --- */

/* Refs being removed in one candidate's effect simulation. */
struct refset {
	const struct ct_vdi **v;       /* insertion order */
	int n, cap;
	struct ct_htab at;             /* pointer hash -> index in v */
};

static bool refset_has(const struct refset *s, const struct ct_vdi *v)
{
	struct ct_hprobe p;
	long i;

	for (ct_htab_probe(&s->at, ct_hash_ptr(v), &p); (i = ct_htab_next(&s->at, &p)) >= 0;)
		if (s->v[i] == v)
			return true;
	return false;
}

static void refset_add(struct refset *s, const struct ct_vdi *v)
{
	if (refset_has(s, v))
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = ct_xrealloc(s->v, (size_t)s->cap * sizeof(*s->v));
	}
	ct_htab_add(&s->at, ct_hash_ptr(v), (uint32_t)s->n);
	s->v[s->n++] = v;
}

static void refset_release(struct refset *s)
{
	free(s->v);
	ct_htab_release(&s->at);
	memset(s, 0, sizeof(*s));
}

/* Children of p that are not being removed. */
static int remaining_children(struct ct_model *m, const struct ct_vdi *p, const struct refset *gone,
			      const struct ct_vdi **only)
{
	size_t nc = 0;
	struct ct_vdi *const *ch = ct_model_vdi_children(m, p, &nc);
	int left = 0;

	*only = NULL;
	for (size_t i = 0; i < nc; i++) {
		if (refset_has(gone, ch[i]))
			continue;
		left++;
		*only = ch[i];
	}
	return left;
}

/* The effect on the chains of destroying the VDIs in `direct`: a base copy left without
 * children is garbage the GC deletes (and its parent loses a child in turn, up to a
 * fixpoint); one left with exactly one child is coalesced with it. A destroyed VDI that
 * still has children of its own stays in the tree (SM hides it), so it frees nothing now. */
static void compute_effect(struct ct_model *m, struct ct_prune_effect *ef, const struct refset *direct)
{
	struct refset gone = { 0 }, seen = { 0 };
	char ub[9], b1[32], b2[32], b3[32];
	int64_t coalesce_max = 0, garbage_bytes = 0;

	memset(ef, 0, sizeof(*ef));
	for (int i = 0; i < direct->n; i++) {
		const struct ct_vdi *d = direct->v[i];
		size_t nc = 0;

		ct_model_vdi_children(m, d, &nc);
		if (nc > 0) {
			char *lab = obj_label(d->name_label, d->o.uuid);

			push_str(&ef->effects, &ef->n_effects,
				 ct_xasprintf("VDI %s has %zu %s in its chain: SM hides it and keeps "
					      "its data until they are gone, so no space comes back "
					      "from it now", lab, nc, nc == 1 ? "child" : "children"));
			free(lab);
		} else {
			ef->bytes_now += d->physical_utilisation;
			refset_add(&gone, d);
		}
	}
	/* Garbage, to a fixpoint: a parent is re-examined each time one of its children
	 * goes, so it is added once its last child has gone. */
	for (int i = 0; i < gone.n; i++) {
		const struct ct_vdi *p = ct_model_vdi_parent(m, gone.v[i]);
		const struct ct_vdi *only;

		if (!p || p->managed || refset_has(&gone, p))
			continue;
		if (remaining_children(m, p, &gone, &only) == 0) {
			refset_add(&gone, p);
			ef->garbage++;
			garbage_bytes += p->physical_utilisation;
			ct_format_bytes(p->physical_utilisation, b1, sizeof(b1));
			push_str(&ef->effects, &ef->n_effects,
				 ct_xasprintf("base copy %s is left without children: the GC deletes "
					      "it (%s back)", ct_short_uuid(p->o.uuid, ub), b1));
		}
	}
	/* Then the base copies left with exactly one child. */
	for (int i = 0; i < gone.n; i++) {
		const struct ct_vdi *p = ct_model_vdi_parent(m, gone.v[i]);
		const struct ct_vdi *only;

		if (!p || p->managed || refset_has(&gone, p) || refset_has(&seen, p))
			continue;
		refset_add(&seen, p);
		if (remaining_children(m, p, &gone, &only) != 1)
			continue;
		ef->coalesces++;
		coalesce_max += only->physical_utilisation;
		if (only->managed) {
			char *lab = obj_label(only->name_label, only->o.uuid);

			push_str(&ef->effects, &ef->n_effects,
				 ct_xasprintf("base copy %s is left with one child, VDI %s: the GC "
					      "will leaf-coalesce them (coalesce work scheduled on the "
					      "SR)", ct_short_uuid(p->o.uuid, ub), lab));
			free(lab);
		} else {
			char ub2[9];

			push_str(&ef->effects, &ef->n_effects,
				 ct_xasprintf("base copy %s is left with one child, base copy %s: the "
					      "GC will coalesce them (coalesce work scheduled on the SR)",
					      ct_short_uuid(p->o.uuid, ub),
					      ct_short_uuid(only->o.uuid, ub2)));
		}
	}
	if (ef->coalesces == 0 && ef->garbage == 0)
		push_str(&ef->effects, &ef->n_effects,
			 ct_xstrdup("no base copy is left with fewer than two children: no "
				    "coalesce work for the GC"));
	ef->bytes_after_gc = ef->bytes_now + garbage_bytes + coalesce_max;
	ct_format_bytes(ef->bytes_now, b1, sizeof(b1));
	ct_format_bytes(ef->bytes_now + garbage_bytes, b2, sizeof(b2));
	ct_format_bytes(coalesce_max, b3, sizeof(b3));
	if (coalesce_max > 0)
		push_str(&ef->effects, &ef->n_effects,
			 ct_xasprintf("space expected back: %s when the calls return, %s once the "
				      "GC has finished, up to %s more from coalescing", b1, b2, b3));
	else
		push_str(&ef->effects, &ef->n_effects,
			 ct_xasprintf("space expected back: %s when the calls return, %s once the "
				      "GC has finished", b1, b2));
	refset_release(&gone);
	refset_release(&seen);
}

/* A candidate's own effect (alone, on the model as found). */
static void cand_effect(struct ct_model *m, struct ct_prune_cand *c, const struct refset *direct)
{
	struct ct_prune_effect ef;

	compute_effect(m, &ef, direct);
	c->effects = ef.effects;
	c->n_effects = ef.n_effects;
	c->coalesces = ef.coalesces;
	c->garbage = ef.garbage;
	c->bytes_now = ef.bytes_now;
	c->bytes_after_gc = ef.bytes_after_gc;
}

void ct_prune_effect_release(struct ct_prune_effect *e)
{
	if (!e)
		return;
	free_strs(e->effects, e->n_effects);
	memset(e, 0, sizeof(*e));
}

void ct_prune_effect_of(struct ct_model *m, const struct ct_prune_list *l,
			struct ct_prune_effect *out)
{
	const struct ct_pool *pool = ct_model_pool(m);
	struct refset direct = { 0 };

	for (int i = 0; l && i < l->n; i++) {
		const struct ct_prune_cand *c = &l->c[i];

		if (!pool || !pool->o.uuid || strcmp0(c->pool_uuid, pool->o.uuid))
			continue;
		for (int k = 0; k < c->n_disks; k++) {
			const struct ct_vdi *v;

			if (!c->disks[k].destroy)
				continue;
			v = ct_model_vdi(m, c->disks[k].ref);
			if (v && v->o.uuid && !strcmp(v->o.uuid, c->disks[k].uuid))
				refset_add(&direct, v);
		}
	}
	compute_effect(m, out, &direct);
	refset_release(&direct);
}

/* r: the pool as the engine judged it, for the disk's chain in the engine's words (the same
 * text the gate, the job report and the incident summary give). */
static void fill_disk(const struct ct_chain_report *r, struct ct_model *m,
		      struct ct_prune_disk *d, const struct ct_vdi *v)
{
	int vi = ct_chain_find_vdi(r, v);

	const struct ct_sr *sr = ct_model_sr(m, v->sr);

	d->ref = ct_xstrdup(v->o.ref);
	d->uuid = ct_xstrdup(v->o.uuid);
	d->name = ct_xstrdup(v->name_label);
	d->sr_ref = ct_xstrdup(v->sr);
	d->sr_uuid = ct_xstrdup(sr ? sr->o.uuid : NULL);
	d->sr_name = ct_xstrdup(sr ? sr->name_label : NULL);
	d->virtual_size = v->virtual_size;
	d->physical_utilisation = v->physical_utilisation;
	d->chain = vi >= 0 ? ct_chain_text(r, vi) : ct_xstrdup("");
}

static void cand_set_sr(struct ct_prune_cand *c, const struct ct_prune_disk *d)
{
	c->sr_ref = ct_xstrdup(d->sr_ref);
	c->sr_uuid = ct_xstrdup(d->sr_uuid);
	c->sr_name = ct_xstrdup(d->sr_name);
}

static void cand_join_chains(struct ct_prune_cand *c)
{
	struct ct_sb sb;

	ct_sb_init(&sb);
	for (int i = 0; i < c->n_disks; i++)
		ct_sb_addf(&sb, "%s%s", i ? "\n" : "", c->disks[i].chain);
	c->chain = sb_take(&sb);
}

/* Append a skip: an object a rule kept although it matched. why is taken (owned). */
static void add_skip(struct ct_prune_list *l, enum ct_prune_kind kind, const char *pool,
		     const struct ct_obj *o, const char *name, const struct ct_sr *sr,
		     enum ct_owner owner, const char *job, char *why, bool never)
{
	struct ct_prune_skip *k;

	l->skips = ct_xrealloc(l->skips, ((size_t)l->n_skips + 1) * sizeof(*l->skips));
	k = &l->skips[l->n_skips++];
	memset(k, 0, sizeof(*k));
	k->kind = kind;
	k->pool = ct_xstrdup(pool);
	k->ref = ct_xstrdup(o->ref);
	k->uuid = ct_xstrdup(o->uuid);
	k->name = ct_xstrdup(name);
	k->sr_uuid = ct_xstrdup(sr ? sr->o.uuid : NULL);
	k->sr_name = ct_xstrdup(sr ? sr->name_label : NULL);
	k->owner = owner;
	k->owner_job = ct_xstrdup(job);
	k->reason = why;
	k->never = never;
}

/* "Xen Orchestra job 1a2b..." / "VMSS" / "chaintop job 'nightly'" (sanitised). */
char *ct_prune_owner_text(enum ct_owner o, const char *job)
{
	char jb[128];

	switch (o) {
	case CT_OWN_XO:
		return ct_xasprintf("Xen Orchestra backup job %s", job ? san(job, jb, sizeof(jb)) :
				    "(unknown id)");
	case CT_OWN_CHAINTOP:
	case CT_OWN_CHAINTOP_OTHER:
		return ct_xasprintf("chaintop job '%s'%s", san(job, jb, sizeof(jb)),
				    o == CT_OWN_CHAINTOP_OTHER ? " (not in this configuration)" : "");
	case CT_OWN_VMSS:
		return ct_xstrdup("a VM snapshot schedule (VMSS)");
	case CT_OWN_MANUAL:
		return ct_xstrdup("no tool (a manual snapshot)");
	case CT_OWN_UNKNOWN:
		return ct_xstrdup("an unknown owner");
	case CT_OWN_NONE:
		break;
	}
	return ct_xstrdup("no tool (no owner mark)");
}

/* Why a disk of snapshot `snap` must be kept, or NULL when VDI.destroy may follow. */
static char *disk_keep_reason(struct ct_model *m, struct ct_owner_ctx *ox,
			      const struct ct_vm *snap, const struct ct_vdi *v,
			      const struct ct_sr *sr, bool suspend)
{
	size_t nb = 0;
	struct ct_vbd *const *vbds = ct_model_vdi_vbds(m, v, &nb);
	const struct ct_vm *holder;
	char pw[400];

	if (!v->managed)
		return ct_xstrdup("it is a base copy (managed = false): the GC owns it");
	if (suspend ? v->type != CT_VDI_SUSPEND : !type_prunable(v->type))
		return ct_xasprintf("it is a %s VDI: chaintop never deletes those",
				    ct_vdi_type_name(v->type));
	if (!suspend && !v->is_a_snapshot)
		return ct_xstrdup("it is not a snapshot disk (is_a_snapshot is false), so it may "
				  "be someone's live disk");
	if (ct_sr_removable(sr))
		return ct_xstrdup("its SR holds removable media or ISOs");
	for (size_t i = 0; i < nb; i++) {
		const struct ct_vm *o;
		char *lab, *r;

		if (vbds[i]->vm && snap->o.ref && !strcmp(vbds[i]->vm, snap->o.ref))
			continue;
		o = ct_model_vm(m, vbds[i]->vm);
		lab = o ? obj_label(o->name_label, o->o.uuid) : ct_xstrdup("(unknown VM)");
		r = ct_xasprintf("it is %s VM %s%s", vbds[i]->currently_attached ? "attached to" :
				 "in use by (VBD of)", lab,
				 o && o->is_control_domain ? " (a control domain)" : "");
		free(lab);
		return r;
	}
	if (ct_vdi_protected(ox, v, pw, sizeof(pw)))
		return ct_xstrdup(pw);
	holder = ct_owner_suspend_holder(ox, v);
	if (holder && holder != snap) {
		char *lab = obj_label(holder->name_label, holder->o.uuid), *r;

		r = ct_xasprintf("it is the suspend image of VM %s", lab);
		free(lab);
		return r;
	}
	return NULL;
}

static void add_disk(const struct ct_chain_report *r, struct ct_model *m,
		     struct ct_owner_ctx *ox, struct ct_prune_cand *c,
		     const struct ct_vm *vm, const struct ct_vdi *v, bool suspend,
		     struct refset *gone)
{
	struct ct_prune_disk *d;

	for (int k = 0; k < c->n_disks; k++)
		if (!strcmp(c->disks[k].ref, v->o.ref))
			return;
	d = &c->disks[c->n_disks++];
	fill_disk(r, m, d, v);
	d->suspend = suspend;
	d->keep_reason = disk_keep_reason(m, ox, vm, v, ct_model_sr(m, v->sr), suspend);
	d->destroy = d->keep_reason == NULL;
	if (d->destroy) {
		c->size += v->virtual_size;
		c->physical += v->physical_utilisation;
		refset_add(gone, v);
	}
}

static void add_snapshot(const struct ct_chain_report *r, struct ct_model *m,
			 struct ct_owner_ctx *ox,
			 const struct ct_pool_conf *pc, const char *pool_uuid,
			 const struct ct_vm *vm, enum ct_owner owner, const char *job,
			 char **reasons, int n_reasons, time_t now, struct ct_prune_list *out)
{
	struct ct_prune_cand *c = list_push(out);
	const struct ct_vm *src = ct_model_vm(m, vm->snapshot_of);
	struct refset gone = { 0 };
	size_t nb = 0;
	struct ct_vbd *const *vbds = ct_model_vm_vbds(m, vm, &nb);

	c->kind = CT_PRUNE_SNAPSHOT;
	c->pool = ct_xstrdup(pc->name);
	c->pool_uuid = ct_xstrdup(pool_uuid);
	c->ref = ct_xstrdup(vm->o.ref);
	c->uuid = ct_xstrdup(vm->o.uuid);
	c->name = ct_xstrdup(vm->name_label);
	c->source_uuid = ct_xstrdup(src ? src->o.uuid : NULL);
	c->source_name = ct_xstrdup(src ? src->name_label : NULL);
	c->owner = owner;
	c->owner_job = ct_xstrdup(job);
	c->created = vm->snapshot_time;
	c->age = vm->snapshot_time > 0 ? (long long)(now - vm->snapshot_time) : -1;
	c->reasons = reasons;
	c->n_reasons = n_reasons;
	c->disks = ct_xcalloc(nb + 2, sizeof(*c->disks));
	for (size_t i = 0; i < nb; i++) {
		const struct ct_vdi *v;

		if (vbds[i]->type != CT_VBD_DISK || ct_ref_is_null(vbds[i]->vdi))
			continue;
		v = ct_model_vdi(m, vbds[i]->vdi);
		if (v)
			add_disk(r, m, ox, c, vm, v, false, &gone);
	}
	/* A checkpoint's suspend image: VM.destroy leaves it behind (xapi destroys the VM's
	 * VBDs, never a VDI), so it goes with its checkpoint. */
	if (!ct_ref_is_null(vm->suspend_vdi)) {
		const struct ct_vdi *v = ct_model_vdi(m, vm->suspend_vdi);

		if (v)
			add_disk(r, m, ox, c, vm, v, true, &gone);
	}
	for (int i = 0; i < c->n_disks; i++) {
		if (c->disks[i].destroy || i == c->n_disks - 1) {
			cand_set_sr(c, &c->disks[i]);
			break;
		}
	}
	cand_join_chains(c);
	cand_effect(m, c, &gone);
	refset_release(&gone);
}

static void add_orphan(const struct ct_chain_report *r, struct ct_model *m,
		       const struct ct_pool_conf *pc, const char *pool_uuid,
		       const struct ct_vdi *v, const struct ct_orphan_verdict *ov, time_t now,
		       struct ct_prune_list *out)
{
	struct ct_prune_cand *c = list_push(out);
	const struct ct_vdi *src = v->is_a_snapshot ? ct_model_vdi(m, v->snapshot_of) : NULL;
	struct refset gone = { 0 };

	c->kind = CT_PRUNE_ORPHAN;
	c->pool = ct_xstrdup(pc->name);
	c->pool_uuid = ct_xstrdup(pool_uuid);
	c->ref = ct_xstrdup(v->o.ref);
	c->uuid = ct_xstrdup(v->o.uuid);
	c->name = ct_xstrdup(v->name_label);
	c->source_uuid = ct_xstrdup(src ? src->o.uuid : NULL);
	c->source_name = ct_xstrdup(src ? src->name_label : NULL);
	c->owner = ov->owner;
	c->owner_job = ct_xstrdup(ov->job);
	c->created = v->is_a_snapshot ? v->snapshot_time : 0;
	c->age = c->created > 0 ? (long long)(now - c->created) : -1;
	push_str(&c->reasons, &c->n_reasons, ct_xstrdup(ov->why));
	c->disks = ct_xcalloc(1, sizeof(*c->disks));
	c->n_disks = 1;
	fill_disk(r, m, &c->disks[0], v);
	c->disks[0].destroy = true;
	c->disks[0].suspend = v->type == CT_VDI_SUSPEND;
	cand_set_sr(c, &c->disks[0]);
	c->size = v->virtual_size;
	c->physical = v->physical_utilisation;
	cand_join_chains(c);
	refset_add(&gone, v);
	cand_effect(m, c, &gone);
	refset_release(&gone);
}

/* The SR of a snapshot's first disk, for grouping a skip. */
static const struct ct_sr *snapshot_sr(struct ct_model *m, const struct ct_vm *vm)
{
	size_t nb = 0;
	struct ct_vbd *const *vbds = ct_model_vm_vbds(m, vm, &nb);

	for (size_t i = 0; i < nb; i++) {
		const struct ct_vdi *v = ct_model_vdi(m, vbds[i]->vdi);

		if (vbds[i]->type == CT_VBD_DISK && v)
			return ct_model_sr(m, v->sr);
	}
	return NULL;
}

static void find_snapshots(const struct ct_chain_report *r, struct ct_model *m,
			   struct ct_owner_ctx *ox,
			   const struct ct_config *c, const struct ct_pool_conf *pc,
			   const char *pool_uuid, long long older_than, time_t now, bool foreign,
			   struct ct_prune_list *out)
{
	size_t n = ct_model_count(m, CT_VM);
	char d1[32], d2[32], jb[128];

	for (size_t i = 0; i < n; i++) {
		const struct ct_vm *vm = (const struct ct_vm *)ct_model_at(m, CT_VM, i);
		const char *job = NULL, *blocked;
		enum ct_owner owner;
		char **reasons = NULL;
		int nr = 0;

		if (!vm->is_a_snapshot || vm->is_control_domain)
			continue;
		owner = ct_vm_owner(vm, c, &job);
		if (older_than > 0 && vm->snapshot_time > 0 && now - vm->snapshot_time > older_than) {
			fmt_age((long long)(now - vm->snapshot_time), d1, sizeof(d1));
			fmt_age(older_than, d2, sizeof(d2));
			push_str(&reasons, &nr, ct_xasprintf("it is %s old, older than %s", d1, d2));
		}
		if (owner == CT_OWN_CHAINTOP_OTHER)
			push_str(&reasons, &nr,
				 ct_xasprintf("it was made by chaintop job '%s', which is no longer "
					      "in the configuration", san(job, jb, sizeof(jb))));
		if (!ct_model_vm(m, vm->snapshot_of))
			push_str(&reasons, &nr,
				 ct_xstrdup("its source VM is gone (snapshot_of names no VM)"));
		if (nr == 0)
			continue;
		blocked = ct_vm_destroy_blocked(vm);
		if (blocked || (ct_owner_is_foreign(owner) && !foreign)) {
			char *who = ct_prune_owner_text(owner, job), *why, bb[256];

			if (blocked)
				why = ct_xasprintf("%s, but its blocked_operations block destroy ('%s'): "
						   "xapi refuses VM.destroy; made by %s", reasons[0],
						   san(blocked, bb, sizeof(bb)), who);
			else
				why = ct_xasprintf("%s, but it belongs to %s: %s; run with "
						   "--include-foreign (or set prune_include_foreign "
						   "for the pool) to include it", reasons[0], who,
						   owner == CT_OWN_XO ? "for XO's rolling-snapshot and "
						   "delta jobs these snapshots are the backups" :
						   "the schedule removes its own snapshots by its retention");
			add_skip(out, CT_PRUNE_SNAPSHOT, pc->name, &vm->o, vm->name_label,
				 snapshot_sr(m, vm), owner, job, why, blocked != NULL);
			free(who);
			free_strs(reasons, nr);
			continue;
		}
		add_snapshot(r, m, ox, pc, pool_uuid, vm, owner, job, reasons, nr, now, out);
	}
}

int ct_prune_find(struct ct_model *m, const struct ct_config *c, const struct ct_pool_conf *pc,
		  long long older_than, time_t now, unsigned flags, struct ct_prune_list *out)
{
	const struct ct_pool *pool = ct_model_pool(m);
	const char *pool_uuid = pool ? pool->o.uuid : NULL;
	bool foreign = (flags & CT_PRUNE_INCLUDE_FOREIGN) || pc->prune_include_foreign;
	struct ct_owner_ctx ox;
	struct ct_chain_report rep;
	int start = out->n;
	size_t n;

	if (older_than < 0)
		older_than = c ? c->health.stale_after : 0;
	ct_owner_ctx_init(&ox, m, c);
	/* the chains as the engine sees them: each candidate's disks are shown in its words */
	ct_chain_eval(m, c, pc, now, NULL, &rep);
	find_snapshots(&rep, m, &ox, c, pc, pool_uuid, older_than, now, foreign, out);
	n = ct_model_count(m, CT_VDI);
	for (size_t i = 0; i < n; i++) {
		const struct ct_vdi *v = (const struct ct_vdi *)ct_model_at(m, CT_VDI, i);
		struct ct_orphan_verdict ov;

		switch (ct_vdi_orphan(&ox, v, &ov)) {
		case CT_ORPHAN_NO:
			break;
		case CT_ORPHAN_FOREIGN:
			if (!foreign) {
				char *who = ct_prune_owner_text(ov.owner, ov.job);

				add_skip(out, CT_PRUNE_ORPHAN, pc->name, &v->o, v->name_label,
					 ct_model_sr(m, v->sr), ov.owner, ov.job,
					 ct_xasprintf("%s; owned by %s: kept unless --include-foreign "
						      "(or the pool's prune_include_foreign) is given",
						      ov.why, who), false);
				free(who);
				break;
			}
			add_orphan(&rep, m, pc, pool_uuid, v, &ov, now, out);
			break;
		case CT_ORPHAN_PROTECTED:
			add_skip(out, CT_PRUNE_ORPHAN, pc->name, &v->o, v->name_label,
				 ct_model_sr(m, v->sr), ov.owner, ov.job, ct_xstrdup(ov.why), true);
			break;
		case CT_ORPHAN_YES:
			/* a plain disk no tool marked may be someone's data kept on purpose:
			 * only what chaintop made is proposed by default */
			if (ov.owner == CT_OWN_NONE && !foreign) {
				add_skip(out, CT_PRUNE_ORPHAN, pc->name, &v->o, v->name_label,
					 ct_model_sr(m, v->sr), ov.owner, ov.job,
					 ct_xstrdup("owner unknown: not used by any VM; "
						    "--include-foreign to propose it (or set the "
						    "pool's prune_include_foreign)"), false);
				break;
			}
			add_orphan(&rep, m, pc, pool_uuid, v, &ov, now, out);
			break;
		}
	}
	if (out->n - start > 1)
		qsort(out->c + start, (size_t)(out->n - start), sizeof(*out->c), cand_cmp);
	ct_owner_ctx_release(&ox);
	ct_chain_report_release(&rep);
	return out->n - start;
}

/* --- what killed backup runs left --- */

static struct ct_prune_leftover *left_push(struct ct_prune_list *l, const struct ct_pool_conf *pc,
					   const struct ct_intent *t, enum ct_leftover_kind kind)
{
	struct ct_prune_leftover *k;
	char jb[128];

	l->left = ct_xrealloc(l->left, ((size_t)l->n_left + 1) * sizeof(*l->left));
	k = &l->left[l->n_left++];
	memset(k, 0, sizeof(*k));
	k->kind = kind;
	k->run = t->run;
	k->item = t->item;
	k->pool = ct_xstrdup(pc->name);
	k->job = ct_xstrdup(t->job);
	k->vm_uuid = ct_xstrdup(t->vm_uuid);
	k->vm_name = ct_xstrdup(t->vm_name);
	k->text = ct_xasprintf("left by interrupted run %lld of job '%s' (killed during the %s step)",
			       (long long)t->run, san(t->job, jb, sizeof(jb)),
			       kind == CT_LEFT_SNAPSHOT ? "snapshot" : "export");
	return k;
}

/* Drop the candidate or skip whose ref is ref: a leftover is resolved, not pruned. */
static void drop_ref(struct ct_prune_list *l, const char *ref)
{
	for (int i = 0; i < l->n; i++)
		if (l->c[i].ref && !strcmp(l->c[i].ref, ref)) {
			cand_release(&l->c[i]);
			memmove(&l->c[i], &l->c[i + 1], (size_t)(l->n - i - 1) * sizeof(*l->c));
			l->n--;
			i--;
		}
	for (int i = 0; i < l->n_skips; i++)
		if (l->skips[i].ref && !strcmp(l->skips[i].ref, ref)) {
			skip_release(&l->skips[i]);
			memmove(&l->skips[i], &l->skips[i + 1],
				(size_t)(l->n_skips - i - 1) * sizeof(*l->skips));
			l->n_skips--;
			i--;
		}
}

int ct_prune_find_leftovers(struct ct_model *m, const struct ct_pool_conf *pc,
			    const struct ct_intent *intents, int n_intents,
			    const struct ct_intent *tasks, int n_tasks, struct ct_prune_list *out)
{
	size_t n_vms = ct_model_count(m, CT_VM), n_tasks_m = ct_model_count(m, CT_TASK);
	int start = out->n_left;
	bool snapshotting = false;

	for (size_t j = 0; j < n_tasks_m; j++) {
		const struct ct_task *k = (const struct ct_task *)ct_model_at(m, CT_TASK, j);

		if (k->status == CT_TASK_PENDING && k->name_label &&
		    !strcmp(k->name_label, "Async.VM.snapshot"))
			snapshotting = true;
	}
	for (int i = 0; i < n_intents; i++) {
		const struct ct_intent *t = &intents[i];
		const struct ct_vm *src = t->vm_uuid ?
			(const struct ct_vm *)ct_model_find_uuid(m, CT_VM, t->vm_uuid) : NULL;
		struct ct_prune_leftover *k = left_push(out, pc, t, CT_LEFT_SNAPSHOT);
		char nb[256], ub[9];
		int found = 0;

		k->name = ct_xstrdup(t->name);
		/* by name and snapshot_of, as ct_backup_resolve_intents finds it */
		for (size_t j = 0; j < n_vms; j++) {
			const struct ct_vm *s = (const struct ct_vm *)ct_model_at(m, CT_VM, j);

			if (!s->is_a_snapshot || !s->name_label || !t->name || strcmp(s->name_label, t->name))
				continue;
			if (src && (!s->snapshot_of || strcmp(s->snapshot_of, src->o.ref)))
				continue;
			if (!found++) {
				k->ref = ct_xstrdup(s->o.ref);
				k->uuid = ct_xstrdup(s->o.uuid);
			}
		}
		if (found) {
			k->state = CT_LEFT_FOUND;
			k->action = ct_xasprintf("VM.destroy of snapshot '%s' (%s)%s, then VDI.destroy of "
						 "its disks no other VM uses; recorded in run %lld",
						 san(t->name, nb, sizeof(nb)), ct_short_uuid(k->uuid, ub),
						 found > 1 ? " and the other snapshots of that name" : "",
						 (long long)t->run);
			drop_ref(out, k->ref);
			for (size_t j = 0; j < n_vms && found > 1; j++) {
				const struct ct_vm *s = (const struct ct_vm *)ct_model_at(m, CT_VM, j);

				if (s->is_a_snapshot && s->name_label && !strcmp(s->name_label, t->name) &&
				    (!src || (s->snapshot_of && !strcmp(s->snapshot_of, src->o.ref))))
					drop_ref(out, s->o.ref);
			}
		} else if (snapshotting) {
			k->state = CT_LEFT_PENDING;
			k->action = ct_xstrdup("none yet and a VM.snapshot task is still running: the "
					       "next run or prune looks again");
		} else if (time(NULL) - t->when < CT_BACKUP_INTENT_GRACE_S) {
			k->state = CT_LEFT_PENDING;
			k->action = ct_xasprintf("none yet, and the call was sent %llds ago so xapi may "
						 "still make it: the next run or prune looks again",
						 (long long)(time(NULL) - t->when));
		} else {
			k->state = CT_LEFT_NONE;
			k->action = ct_xasprintf("none exists (the call never completed): run %lld "
						 "records that", (long long)t->run);
		}
	}
	for (int i = 0; i < n_tasks; i++) {
		const struct ct_intent *t = &tasks[i];
		const struct ct_task *k = t->name ? ct_model_task(m, t->name) : NULL;
		struct ct_prune_leftover *l;
		char *label;
		char ub[9];

		if (k && !ct_backup_export_task_is(t, k->name_label, k->name_description))
			continue;   /* not the task chaintop made: never ours to touch */
		l = left_push(out, pc, t, CT_LEFT_TASK);
		label = ct_backup_export_task_label(t->vm_uuid, t->job, t->run);
		l->name = label;
		if (k) {
			l->state = CT_LEFT_FOUND;
			l->ref = ct_xstrdup(k->o.ref);
			l->uuid = ct_xstrdup(k->o.uuid);
			l->action = ct_xasprintf("task.destroy of export task %s (%s, %s); recorded in "
						 "run %lld", ct_short_uuid(k->o.uuid, ub),
						 ct_task_status_name(k->status),
						 k->status == CT_TASK_PENDING ?
						 "xapi removes a pending task once it ends, or after 24 hours" :
						 "removed at once",
						 (long long)t->run);
		} else {
			l->state = CT_LEFT_NONE;
			l->action = ct_xasprintf("already gone from xapi: run %lld records that",
						 (long long)t->run);
		}
	}
	return out->n_left - start;
}

void ct_prune_leftovers_print(FILE *f, const struct ct_prune_list *l)
{
	if (!l || l->n_left == 0)
		return;
	fprintf(f, "Left by interrupted backup runs (%d): found through the job history\n",
		l->n_left);
	for (int i = 0; i < l->n_left; i++) {
		const struct ct_prune_leftover *k = &l->left[i];
		char nb[256], vb[256], pb[128], jb[128], tb[512], ab[512], ub[9];

		fprintf(f, "  %s '%s'%s%s%s of VM '%s', pool '%s'\n",
			k->kind == CT_LEFT_SNAPSHOT ? "snapshot" : "export task",
			san(k->name, nb, sizeof(nb)), k->uuid ? " (" : "",
			k->uuid ? ct_short_uuid(k->uuid, ub) : "", k->uuid ? ")" : "",
			san(k->vm_name ? k->vm_name : k->vm_uuid, vb, sizeof(vb)),
			san(k->pool, pb, sizeof(pb)));
		fprintf(f, "      owner: chaintop job '%s'\n", san(k->job, jb, sizeof(jb)));
		fprintf(f, "      %s\n", san(k->text, tb, sizeof(tb)));
		fprintf(f, "      %s: %s\n", k->state == CT_LEFT_FOUND ? "resolve" : "found",
			san(k->action, ab, sizeof(ab)));
	}
}

/* --- the plan --- */

static void plan_push(struct ct_prune_plan *p, int cand, int disk, const char *method,
		      const char *ref, const char *uuid, const char *name, char *text)
{
	struct ct_prune_call *k;

	p->calls = ct_xrealloc(p->calls, ((size_t)p->n_calls + 1) * sizeof(*p->calls));
	k = &p->calls[p->n_calls++];
	k->cand = cand;
	k->disk = disk;
	k->method = method;
	k->ref = ct_xstrdup(ref);
	k->uuid = ct_xstrdup(uuid);
	k->name = ct_xstrdup(name);
	k->text = text;
}

static char *disk_call_text(const struct ct_prune_cand *c, const struct ct_prune_disk *d,
			    const char *what)
{
	char rb[96], sb[256], pb[128], bytes[32], ub[9];
	char *lab = obj_label(d->name, d->uuid), *r;

	ct_format_bytes(d->virtual_size, bytes, sizeof(bytes));
	r = ct_xasprintf("VDI.destroy %s  %s %s, %s, SR '%s' (%s), pool '%s'",
			 san(d->ref, rb, sizeof(rb)), what, lab, bytes, san(d->sr_name, sb, sizeof(sb)),
			 ct_short_uuid(d->sr_uuid, ub), san(c->pool, pb, sizeof(pb)));
	free(lab);
	return r;
}

int ct_prune_plan(const struct ct_prune_list *l, struct ct_prune_plan *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; l && i < l->n; i++) {
		const struct ct_prune_cand *c = &l->c[i];
		char rb[96], pb[128];
		char *lab = obj_label(c->name, c->uuid);

		if (c->kind == CT_PRUNE_SNAPSHOT) {
			plan_push(out, i, -1, "VM.destroy", c->ref, c->uuid, c->name,
				  ct_xasprintf("VM.destroy %s  snapshot %s, pool '%s'",
					       san(c->ref, rb, sizeof(rb)), lab,
					       san(c->pool, pb, sizeof(pb))));
			for (int k = 0; k < c->n_disks; k++) {
				const struct ct_prune_disk *d = &c->disks[k];

				if (d->destroy) {
					plan_push(out, i, k, "VDI.destroy", d->ref, d->uuid, d->name,
						  disk_call_text(c, d, d->suspend ? "suspend image" :
								 "snapshot disk"));
				} else {
					char *dl = obj_label(d->name, d->uuid);

					push_str(&out->notes, &out->n_notes,
						 ct_xasprintf("keep snapshot disk %s of snapshot %s: %s", dl,
							      lab, d->keep_reason ? d->keep_reason :
							      "not planned"));
					free(dl);
				}
			}
		} else if (c->n_disks > 0) {
			plan_push(out, i, 0, "VDI.destroy", c->disks[0].ref, c->disks[0].uuid,
				  c->disks[0].name, disk_call_text(c, &c->disks[0], "orphan disk"));
		}
		free(lab);
	}
	return 0;
}

void ct_prune_plan_release(struct ct_prune_plan *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n_calls; i++) {
		free(p->calls[i].ref);
		free(p->calls[i].uuid);
		free(p->calls[i].name);
		free(p->calls[i].text);
	}
	free(p->calls);
	free_strs(p->notes, p->n_notes);
	memset(p, 0, sizeof(*p));
}

void ct_prune_plan_print(FILE *f, const struct ct_prune_plan *p)
{
	fprintf(f, "Plan: %d XAPI call%s, in this order:\n", p->n_calls, p->n_calls == 1 ? "" : "s");
	for (int i = 0; i < p->n_calls; i++)
		fprintf(f, "  %3d. %s\n", i + 1, p->calls[i].text);
	for (int i = 0; i < p->n_notes; i++)
		fprintf(f, "  note: %s\n", p->notes[i]);
}

void ct_prune_list_print(FILE *f, const struct ct_prune_list *l)
{
	const char *pool = NULL, *sr = NULL;
	bool first_sr = true;

	for (int i = 0; i < l->n; i++) {
		const struct ct_prune_cand *c = &l->c[i];
		char nb[256], pb[128], sb[256], ub[9], age[32], size[32], phys[32], srcb[256];

		if (!pool || strcmp0(pool, c->pool)) {
			pool = c->pool;
			sr = NULL;
			first_sr = true;
			fprintf(f, "%spool '%s' (%s)\n", i ? "\n" : "", san(c->pool, pb, sizeof(pb)),
				ct_short_uuid(c->pool_uuid, ub));
		}
		if (first_sr || strcmp0(sr, c->sr_uuid)) {
			sr = c->sr_uuid;
			first_sr = false;
			if (c->sr_uuid)
				fprintf(f, "  SR '%s' (%s)\n", san(c->sr_name, sb, sizeof(sb)),
					ct_short_uuid(c->sr_uuid, ub));
			else
				fprintf(f, "  (no SR: snapshots without disks)\n");
		}
		if (c->age >= 0)
			fmt_age(c->age, age, sizeof(age));
		else
			snprintf(age, sizeof(age), "unknown");
		ct_format_bytes(c->size, size, sizeof(size));
		ct_format_bytes(c->physical, phys, sizeof(phys));
		fprintf(f, "    %s '%s' (%s)  age %s  size %s (%s on disk)\n",
			ct_prune_kind_name(c->kind), san(c->name, nb, sizeof(nb)),
			ct_short_uuid(c->uuid, ub), age, size, phys);
		if (c->kind == CT_PRUNE_SNAPSHOT)
			fprintf(f, "      of VM: %s\n", c->source_name ?
				san(c->source_name, srcb, sizeof(srcb)) : "(gone)");
		{
			char *who = ct_prune_owner_text(c->owner, c->owner_job);

			fprintf(f, "      owner: %s\n", who);
			free(who);
		}
		for (int k = 0; k < c->n_reasons; k++)
			fprintf(f, "      why: %s\n", c->reasons[k]);
		for (int k = 0; k < c->n_disks; k++) {
			const struct ct_prune_disk *d = &c->disks[k];

			fprintf(f, "      %s: %s\n", d->destroy ? "delete" : "keep", d->chain);
			if (!d->destroy && d->keep_reason)
				fprintf(f, "        kept because %s\n", d->keep_reason);
		}
		for (int k = 0; k < c->n_effects; k++)
			fprintf(f, "      effect: %s\n", c->effects[k]);
	}
}

void ct_prune_skips_print(FILE *f, const struct ct_prune_list *l)
{
	if (!l || l->n_skips == 0)
		return;
	fprintf(f, "Kept, not planned (%d): a rule protects them or another tool owns them\n",
		l->n_skips);
	for (int i = 0; i < l->n_skips; i++) {
		const struct ct_prune_skip *k = &l->skips[i];
		char nb[256], pb[128], sb[256], ub[9], ub2[9], rb[1024];
		char *who = ct_prune_owner_text(k->owner, k->owner_job);

		fprintf(f, "  %s '%s' (%s), pool '%s'%s%s%s%s%s\n", ct_prune_kind_name(k->kind),
			san(k->name, nb, sizeof(nb)), ct_short_uuid(k->uuid, ub),
			san(k->pool, pb, sizeof(pb)), k->sr_uuid ? ", SR '" : "",
			k->sr_uuid ? san(k->sr_name, sb, sizeof(sb)) : "", k->sr_uuid ? "' (" : "",
			k->sr_uuid ? ct_short_uuid(k->sr_uuid, ub2) : "", k->sr_uuid ? ")" : "");
		fprintf(f, "      owner: %s\n", who);
		fprintf(f, "      kept: %s%s\n", san(k->reason, rb, sizeof(rb)),
			k->never ? " (never deleted, whatever the options)" : "");
		free(who);
	}
}

/* --- execution --- */

struct exec {
	const struct ct_prune_opts *o;
	struct ct_prune_summary *out;
	struct ct_xapi *x;
	struct ct_run rec;             /* history (broken: stop before the next item), cancel */
	char *pool_uuid;               /* the session's pool, read fresh */
	int item_no;
	char object[300];
};

static void progress(struct exec *ex, const char *step, bool error, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void progress(struct exec *ex, const char *step, bool error, const char *fmt, ...)
{
	struct ct_prune_progress p;
	char msg[1024];
	va_list ap;

	if (!ex->o->progress)
		return;
	va_start(ap, fmt);
	ct_run_vtext(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memset(&p, 0, sizeof(p));
	p.run_id = ex->out->run_id;
	p.item = ex->item_no;
	p.n_items = ex->out->n_items;
	p.object = ex->item_no ? ex->object : NULL;
	p.step = step;
	p.message = msg;
	p.error = error;
	ex->o->progress(ex->o->ctx, &p);
}

/* Outcome of one fresh check. */
enum verdict { V_OK, V_GONE, V_KEEP, V_REFUSE, V_ERROR };

struct fresh {
	enum verdict v;
	char *why;                     /* owned sentence */
	struct ct_err e;               /* for V_ERROR */
};

static int fetch(struct exec *ex, enum ct_class c, const char *ref, struct ct_obj **o,
		 struct fresh *f)
{
	ct_err_init(&f->e);
	if (ct_xapi_get_record(ex->x, c, ref, o, &f->e) == 0 && *o)
		return 0;
	if (ct_err_is(&f->e, "HANDLE_INVALID")) {
		f->v = V_GONE;
		f->why = ct_xasprintf("the %s is gone already", ct_class_name(c));
	} else {
		f->v = V_ERROR;
		f->why = ct_xasprintf("reading the %s again failed: %s", ct_class_name(c), f->e.msg);
	}
	return -1;
}

/* Fresh check of a VDI before VDI.destroy. snap_ref: the snapshot VM removed with it (its
 * VBDs are tolerated: still present in a dry run), or NULL for an orphan. */
static void check_vdi(struct exec *ex, const struct ct_prune_cand *c,
		      const struct ct_prune_disk *d, const char *snap_ref, struct fresh *f)
{
	struct ct_obj *o = NULL, *so = NULL;
	struct ct_vdi *v;
	struct ct_sr *sr;
	const char *job = NULL;
	enum ct_owner owner;
	char pw[400];

	memset(f, 0, sizeof(*f));
	if (fetch(ex, CT_VDI, d->ref, &o, f) < 0)
		return;
	v = (struct ct_vdi *)o;
	if (!v->o.uuid || strcmp(v->o.uuid, d->uuid)) {
		f->v = V_REFUSE;
		f->why = ct_xstrdup("its uuid is not the one planned: not the same disk");
		goto out;
	}
	if (!v->managed) {
		f->v = V_REFUSE;
		f->why = ct_xstrdup("it is a base copy (managed = false)");
		goto out;
	}
	if (d->suspend ? v->type != CT_VDI_SUSPEND : !type_prunable(v->type)) {
		f->v = V_REFUSE;
		f->why = ct_xasprintf("it is a %s VDI", ct_vdi_type_name(v->type));
		goto out;
	}
	owner = ct_vdi_owner(v, ex->o->cfg, &job);
	if (!snap_ref && ct_owner_is_foreign(owner) && owner != c->owner) {
		f->v = V_REFUSE;
		f->why = ct_xasprintf("it now belongs to %s (owner %s when planned)",
				      ct_owner_name(owner), ct_owner_name(c->owner));
		goto out;
	}
	if (snap_ref && !v->is_a_snapshot && !d->suspend) {
		f->v = V_REFUSE;
		f->why = ct_xstrdup("it is not a snapshot disk (is_a_snapshot is false)");
		goto out;
	}
	if (!snap_ref && (v->missing || v->virtual_size <= 0)) {
		f->v = V_REFUSE;
		f->why = ct_xstrdup(v->missing ? "SM reports it missing" : "its virtual size is 0");
		goto out;
	}
	if (!snap_ref && v->current_operations.n > 0) {
		f->v = V_REFUSE;
		f->why = ct_xasprintf("an operation is running on it (%s)", v->current_operations.v[0]);
		goto out;
	}
	if (!v->sr || !d->sr_ref || strcmp(v->sr, d->sr_ref)) {
		f->v = V_REFUSE;
		f->why = ct_xstrdup("it is no longer on the SR planned");
		goto out;
	}
	if (fetch(ex, CT_SR, v->sr, &so, f) < 0) {
		if (f->v == V_GONE) {
			free(f->why);
			f->v = V_REFUSE;
			f->why = ct_xstrdup("its SR cannot be read");
		}
		goto out;
	}
	sr = (struct ct_sr *)so;
	if (ct_sr_removable(sr)) {
		f->v = V_REFUSE;
		f->why = ct_xstrdup("its SR holds removable media or ISOs");
		goto out;
	}
	if (ct_vdi_protected_rec(NULL, v, sr, pw, sizeof(pw))) {
		f->v = snap_ref ? V_KEEP : V_REFUSE;
		f->why = ct_xstrdup(pw);
		goto out;
	}
	for (size_t i = 0; i < v->vbds.n; i++) {
		struct ct_obj *bo = NULL, *vo = NULL;
		struct fresh g;
		struct ct_vbd *b;

		memset(&g, 0, sizeof(g));
		if (fetch(ex, CT_VBD, v->vbds.v[i], &bo, &g) < 0) {
			free(g.why);
			if (g.v == V_GONE)
				continue;
			f->v = V_ERROR;
			f->e = g.e;
			f->why = ct_xasprintf("reading its VBD failed: %s", g.e.msg);
			goto out;
		}
		b = (struct ct_vbd *)bo;
		if (snap_ref && b->vm && !strcmp(b->vm, snap_ref)) {
			ct_obj_free(bo);
			continue;
		}
		{
			struct fresh h;
			char *lab;

			memset(&h, 0, sizeof(h));
			if (fetch(ex, CT_VM, b->vm, &vo, &h) == 0) {
				struct ct_vm *vm = (struct ct_vm *)vo;
				lab = obj_label(vm->name_label, vm->o.uuid);
			} else {
				lab = ct_xstrdup("(a VM that cannot be read)");
			}
			free(h.why);
			f->v = snap_ref ? V_KEEP : V_REFUSE;
			f->why = ct_xasprintf("it is %s VM %s", b->currently_attached ?
					      "attached to" : "in use by (VBD of)", lab);
			free(lab);
			ct_obj_free(vo);
		}
		ct_obj_free(bo);
		goto out;
	}
	f->v = V_OK;
out:
	ct_obj_free(o);
	ct_obj_free(so);
}

static void result_set(struct ct_prune_result *r, enum ct_run_status st, const struct ct_err *e,
		       char *msg)
{
	r->status = st;
	free(r->message);
	r->message = msg;
	if (e && e->xapi_code[0])
		snprintf(r->xapi_code, sizeof(r->xapi_code), "%s", e->xapi_code);
}

/* One destroying call (or its dry-run stand-in), recorded as a step. */
static int destroy_call(struct exec *ex, int64_t item, const char *method, const char *ref,
			const char *label, struct ct_err *e)
{
	char stepname[400];
	int64_t st;
	struct ct_xarg arg = CT_XSTR(ref);
	int rc = 0;

	snprintf(stepname, sizeof(stepname), "%s %s", method, label);
	st = ct_run_step_begin(&ex->rec, item, stepname);
	ct_err_init(e);
	if (ex->o->dry_run) {
		progress(ex, method, false, "dry run: would call %s on %s", method, label);
		ct_run_step_end(&ex->rec, st, CT_RUN_SKIPPED, "dry run: not called");
		return 0;
	}
	progress(ex, method, false, "%s %s", method, label);
	rc = ct_xapi_call(ex->x, method, &arg, 1, NULL, e);
	if (rc < 0) {
		ct_run_step_end(&ex->rec, st, CT_RUN_FAILURE, e->msg);
		progress(ex, method, true, "%s %s failed: %s", method, label, e->msg);
	} else {
		ct_run_step_end(&ex->rec, st, CT_RUN_SUCCESS, "done");
	}
	return rc;
}

static void run_disks(struct exec *ex, int64_t item, const struct ct_prune_cand *c,
		      struct ct_prune_result *r, struct ct_sb *notes, const char *snap_ref,
		      struct ct_err *fail)
{
	for (int k = 0; k < c->n_disks; k++) {
		const struct ct_prune_disk *d = &c->disks[k];
		char *lab;
		struct fresh f;
		int64_t st;

		if (!d->destroy) {
			if (c->kind == CT_PRUNE_SNAPSHOT)
				r->vdis_kept++;
			continue;
		}
		lab = obj_label(d->name, d->uuid);
		if (ct_run_cancelled(&ex->rec)) {
			ct_sb_addf(notes, " Cancelled before VDI.destroy of disk %s.", lab);
			r->status = CT_RUN_SKIPPED;
			free(lab);
			return;
		}
		{
			char sn[400];

			snprintf(sn, sizeof(sn), "check disk %s", lab);
			st = ct_run_step_begin(&ex->rec, item, sn);
		}
		check_vdi(ex, c, d, snap_ref, &f);
		switch (f.v) {
		case V_OK:
			ct_run_step_end(&ex->rec, st, CT_RUN_SUCCESS, "disk checked on fresh data");
			if (destroy_call(ex, item, "VDI.destroy", d->ref, lab, fail) < 0) {
				ct_sb_addf(notes, " VDI.destroy of disk %s failed: %s", lab, fail->msg);
				r->status = CT_RUN_FAILURE;
				if (fail->xapi_code[0])
					snprintf(r->xapi_code, sizeof(r->xapi_code), "%s",
						 fail->xapi_code);
				free(lab);
				free(f.why);
				return;
			}
			if (!ex->o->dry_run) {
				r->calls_done++;
				ex->out->bytes_now += d->physical_utilisation;
			}
			break;
		case V_GONE:
			ct_run_step_end(&ex->rec, st, CT_RUN_SKIPPED, f.why);
			ct_sb_addf(notes, " Disk %s was gone already.", lab);
			break;
		case V_KEEP:
			ct_run_step_end(&ex->rec, st, CT_RUN_SKIPPED, f.why);
			progress(ex, "check", false, "kept disk %s: %s", lab, f.why);
			ct_sb_addf(notes, " Kept disk %s: %s.", lab, f.why);
			r->vdis_kept++;
			break;
		case V_REFUSE:
			ct_run_step_end(&ex->rec, st, CT_RUN_SKIPPED, f.why);
			progress(ex, "check", true, "refused VDI.destroy of disk %s: %s", lab, f.why);
			ct_sb_addf(notes, " Refused VDI.destroy of disk %s: %s.", lab, f.why);
			r->status = CT_RUN_SKIPPED;
			free(lab);
			free(f.why);
			return;
		case V_ERROR:
			ct_run_step_end(&ex->rec, st, CT_RUN_FAILURE, f.why);
			ct_sb_addf(notes, " Disk %s: %s.", lab, f.why);
			*fail = f.e;
			r->status = CT_RUN_FAILURE;
			if (f.e.xapi_code[0])
				snprintf(r->xapi_code, sizeof(r->xapi_code), "%s", f.e.xapi_code);
			free(lab);
			free(f.why);
			return;
		}
		free(lab);
		free(f.why);
	}
}

/* The snapshot VM, read fresh: still a snapshot, same uuid. */
static void check_snapshot(struct exec *ex, const struct ct_prune_cand *c, struct fresh *f)
{
	struct ct_obj *o = NULL;
	struct ct_vm *vm;

	memset(f, 0, sizeof(*f));
	if (fetch(ex, CT_VM, c->ref, &o, f) < 0)
		return;
	vm = (struct ct_vm *)o;
	if (!vm->o.uuid || strcmp(vm->o.uuid, c->uuid)) {
		f->v = V_REFUSE;
		f->why = ct_xstrdup("its uuid is not the one planned: not the same VM");
	} else if (!vm->is_a_snapshot || vm->is_control_domain) {
		f->v = V_REFUSE;
		f->why = ct_xstrdup("it is not a snapshot (is_a_snapshot is false)");
	} else if (ct_vm_destroy_blocked(vm)) {
		char bb[256];

		f->v = V_REFUSE;
		f->why = ct_xasprintf("its blocked_operations now block destroy ('%s')",
				      san(ct_vm_destroy_blocked(vm), bb, sizeof(bb)));
	} else {
		const char *job = NULL;
		enum ct_owner owner = ct_vm_owner(vm, ex->o->cfg, &job);

		if (ct_owner_is_foreign(owner) && owner != c->owner) {
			f->v = V_REFUSE;
			f->why = ct_xasprintf("it now belongs to %s (owner %s when planned)",
					      ct_owner_name(owner), ct_owner_name(c->owner));
		} else {
			f->v = V_OK;
		}
	}
	ct_obj_free(o);
}

static void run_item(struct exec *ex, int i)
{
	const struct ct_prune_cand *c = &ex->o->cands->c[i];
	struct ct_prune_result *r = &ex->out->items[i];
	struct ct_item_result ir;
	struct ct_sb notes;
	struct ct_err fail;
	char *lab = obj_label(c->name, c->uuid);
	const char *params[CT_ERR_MAX_PARAMS];
	int64_t item;

	ct_sb_init(&notes);
	ct_err_init(&fail);
	ex->item_no = i + 1;
	snprintf(ex->object, sizeof(ex->object), "%s %s", ct_prune_kind_name(c->kind), lab);
	r->uuid = ct_xstrdup(c->uuid);
	r->name = ct_xstrdup(c->name);
	r->kind = c->kind;
	r->status = CT_RUN_SUCCESS;
	item = ct_run_item_begin(&ex->rec, c->uuid, c->name);
	if (ct_run_cancelled(&ex->rec)) {
		result_set(r, CT_RUN_SKIPPED, NULL, ct_xstrdup("cancelled before it started"));
		goto record;
	}
	if (strcmp0(c->pool, ex->o->pc->name) || !c->pool_uuid || !ex->pool_uuid ||
	    strcmp(c->pool_uuid, ex->pool_uuid)) {
		char pb[128];

		result_set(r, CT_RUN_SKIPPED, NULL,
			   ct_xasprintf("refused: it belongs to another pool than '%s'",
					san(ex->o->pc->name, pb, sizeof(pb))));
		goto record;
	}
	if (c->kind == CT_PRUNE_SNAPSHOT) {
		struct fresh f;
		char sn[400];
		int64_t st;

		snprintf(sn, sizeof(sn), "check snapshot %s", lab);
		st = ct_run_step_begin(&ex->rec, item, sn);

		progress(ex, "check", false, "checking snapshot %s on fresh data", lab);
		check_snapshot(ex, c, &f);
		if (f.v != V_OK) {
			ct_run_step_end(&ex->rec, st, f.v == V_ERROR ? CT_RUN_FAILURE : CT_RUN_SKIPPED,
					f.why);
			result_set(r, f.v == V_ERROR ? CT_RUN_FAILURE : CT_RUN_SKIPPED,
				   f.v == V_ERROR ? &f.e : NULL,
				   ct_xasprintf("%s VM.destroy of snapshot %s: %s",
						f.v == V_ERROR ? "could not check before" :
						f.v == V_GONE ? "skipped" : "refused", lab, f.why));
			if (f.v == V_ERROR)
				fail = f.e;
			progress(ex, "check", true, "%s", r->message);
			free(f.why);
			goto record;
		}
		ct_run_step_end(&ex->rec, st, CT_RUN_SUCCESS, "snapshot checked on fresh data");
		if (destroy_call(ex, item, "VM.destroy", c->ref, lab, &fail) < 0) {
			result_set(r, CT_RUN_FAILURE, &fail,
				   ct_xasprintf("VM.destroy of snapshot %s failed: %s", lab, fail.msg));
			goto record;
		}
		if (!ex->o->dry_run)
			r->calls_done++;
		run_disks(ex, item, c, r, &notes, c->ref, &fail);
	} else {
		run_disks(ex, item, c, r, &notes, NULL, &fail);
	}
	for (int k = 0; c->kind == CT_PRUNE_SNAPSHOT && k < c->n_disks; k++) {
		const struct ct_prune_disk *d = &c->disks[k];
		char *dl;

		if (d->destroy)
			continue;
		dl = obj_label(d->name, d->uuid);
		ct_sb_addf(&notes, " Kept disk %s as planned: %s.", dl,
			   d->keep_reason ? d->keep_reason : "not planned");
		free(dl);
	}
	if (r->status == CT_RUN_SUCCESS)
		result_set(r, CT_RUN_SUCCESS, NULL,
			   ct_xasprintf("%s %s %s (%d destroying call%s).",
					ct_prune_kind_name(c->kind), lab,
					ex->o->dry_run ? "checked on fresh data, nothing destroyed "
					"(dry run)" : "removed", r->calls_done,
					r->calls_done == 1 ? "" : "s"));
	else
		result_set(r, r->status, &fail,
			   ct_xasprintf("%s %s: stopped.%s", ct_prune_kind_name(c->kind), lab,
					notes.buf));
record:
	if (r->status == CT_RUN_SUCCESS && notes.len) {
		char *m = ct_xasprintf("%s%s", r->message, notes.buf);

		free(r->message);
		r->message = m;
	}
	if (r->status == CT_RUN_SUCCESS)
		ex->out->n_ok++;
	else if (r->status == CT_RUN_FAILURE)
		ex->out->n_failed++;
	else if (ct_run_cancelled(&ex->rec))
		ex->out->n_cancelled++;
	else
		ex->out->n_refused++;
	progress(ex, "done", r->status != CT_RUN_SUCCESS, "%s", r->message);
	if (item > 0) {
		memset(&ir, 0, sizeof(ir));
		ir.status = r->status;
		ir.message = r->message;
		if (r->xapi_code[0]) {
			ir.xapi_code = r->xapi_code;
			for (int k = 0; k < fail.n_params && k < CT_ERR_MAX_PARAMS; k++)
				params[k] = fail.params[k];
			ir.xapi_params = params;
			ir.n_xapi_params = fail.n_params < CT_ERR_MAX_PARAMS ? fail.n_params :
					   CT_ERR_MAX_PARAMS;
		}
		ir.reasons = (const char *const *)c->reasons;
		ir.n_reasons = c->n_reasons;
		ir.chain_json = NULL;
		/* what the deletion gives back on disk (once the SR's garbage collector has
		 * run): the destroyed disks' physical utilisation */
		if (r->status == CT_RUN_SUCCESS)
			ir.bytes = c->physical;
		ct_run_item_end(&ex->rec, item, &ir);
	}
	ct_sb_release(&notes);
	free(lab);
	ex->item_no = 0;
}

void ct_prune_summary_release(struct ct_prune_summary *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n_items; i++) {
		free(s->items[i].uuid);
		free(s->items[i].name);
		free(s->items[i].message);
	}
	free(s->items);
	s->items = NULL;
	s->n_items = 0;
}

/* The pool the session is on (its one pool record), for the "never another pool" rule. */
static void session_pool_cb(void *ctx, struct ct_obj *o)
{
	char **uuid = ctx;

	if (!*uuid && o->uuid)
		*uuid = ct_xstrdup(o->uuid);
	ct_obj_free(o);
}

int ct_prune_execute(const struct ct_prune_opts *o, struct ct_prune_summary *out,
		     struct ct_err *e)
{
	struct exec ex;
	char pb[128], b1[32], note[1200];
	enum ct_run_status run_st;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&ex, 0, sizeof(ex));
	out->exit_code = 2;
	ex.o = o;
	ex.out = out;
	ct_run_init(&ex.rec, o->cancel, NULL, NULL);
	san(o->pc ? o->pc->name : NULL, pb, sizeof(pb));
	if (!o->pc || !o->cands)
		return ct_err_set(e, CT_E_USAGE, "prune: no pool or no candidates given");
	out->n_items = o->cands->n;
	out->items = ct_xcalloc((size_t)o->cands->n + 1, sizeof(*out->items));
	if (o->cands->n == 0) {
		out->exit_code = 0;
		snprintf(out->message, sizeof(out->message),
			 "pool '%s': nothing to prune", pb);
		return 0;
	}
	if (!o->pc->password)
		return ct_err_set(e, CT_E_CONFIG, "pool '%s': no password is known; set "
				  "password_file or password_env in the configuration", pb);
	ex.x = ct_watch_new_session(o->pc);
	if (!ex.x) {
		ct_err_set(e, CT_E_CONFIG, "pool '%s': cannot make an XAPI session from its "
			   "configuration (url '%s')", pb, o->pc->url ? o->pc->url : "");
		goto out;
	}
	progress(&ex, "check", false, "logging in to pool '%s'", pb);
	if (ct_xapi_login(ex.x, e) < 0) {
		ct_err_prefix(e, "pool '%s': nothing deleted", pb);
		goto out;
	}
	if (ct_xapi_get_all_records(ex.x, CT_POOL, NULL, session_pool_cb, &ex.pool_uuid, e) < 0) {
		ct_err_prefix(e, "pool '%s': cannot read the pool record, nothing deleted", pb);
		goto out;
	}
	if (!o->js && (!o->cfg || !o->cfg->state_dir)) {
		ct_err_set(e, CT_E_CONFIG, "pool '%s': no state_dir for the job history; set "
			   "state_dir in the configuration", pb);
		goto out;
	}
	if (ct_run_open(&ex.rec, o->cfg ? o->cfg->state_dir : NULL, o->js, e) < 0) {
		ct_err_prefix(e, "pool '%s': the job history cannot be opened, so nothing "
			      "was deleted", pb);
		goto out;
	}
	out->run_id = ct_run_begin(&ex.rec, "prune", "prune", o->pc->name, o->dry_run, e);
	if (out->run_id < 0) {
		out->run_id = 0;
		ct_err_prefix(e, "pool '%s': the prune run cannot be recorded, so nothing was "
			      "deleted", pb);
		goto out;
	}
	progress(&ex, "check", false, "prune run %lld on pool '%s': %d item%s%s",
		 (long long)out->run_id, pb, o->cands->n, o->cands->n == 1 ? "" : "s",
		 o->dry_run ? " (dry run)" : "");
	for (int i = 0; i < o->cands->n; i++) {
		if (ex.rec.broken) {
			struct ct_prune_result *r = &out->items[i];

			r->uuid = ct_xstrdup(o->cands->c[i].uuid);
			r->name = ct_xstrdup(o->cands->c[i].name);
			r->kind = o->cands->c[i].kind;
			r->status = CT_RUN_SKIPPED;
			r->message = ct_xasprintf("not attempted: the job history could not be "
						  "written (%s)", ex.rec.error);
			out->n_refused++;
			continue;
		}
		run_item(&ex, i);
	}
	if (ct_run_cancelled(&ex.rec))
		run_st = CT_RUN_INTERRUPTED;
	else if (out->n_failed || out->n_refused || ex.rec.broken)
		run_st = CT_RUN_FAILURE;
	else
		run_st = CT_RUN_SUCCESS;
	ct_format_bytes(out->bytes_now, b1, sizeof(b1));
	snprintf(out->message, sizeof(out->message),
		 "prune run %lld on pool '%s'%s: %d done, %d refused, %d failed%s%s; %s freed now, "
		 "more as the GC coalesces%s%.300s",
		 (long long)out->run_id, pb, o->dry_run ? " (dry run)" : "", out->n_ok,
		 out->n_refused, out->n_failed, out->n_cancelled ? ", cancelled: " : "",
		 out->n_cancelled ? "the rest was not attempted" : "", b1,
		 ex.rec.broken ? "; the job history could not be written: " : "",
		 ex.rec.broken ? ex.rec.error : "");
	ct_run_end(&ex.rec, run_st, out->message);
	out->exit_code = run_st == CT_RUN_SUCCESS && !ex.rec.broken ? 0 : 1;
	progress(&ex, "done", out->exit_code != 0, "%s", out->message);
	ct_run_notify(&ex.rec, o->cfg ? ct_config_notify(o->cfg, NULL) : NULL, note, sizeof(note));
	if (note[0])
		progress(&ex, "notify", true, "%s", note);
	rc = 0;
out:
	ct_run_close(&ex.rec);
	ct_xapi_free(ex.x);
	free(ex.pool_uuid);
	return rc;
}

/* --- resolving what killed backup runs left --- */

struct resolve_ctx {
	const struct ct_prune_opts *o;
	int errors;
};

static void on_recover(void *ctx, const struct ct_backup_progress *p)
{
	struct resolve_ctx *rc = ctx;
	struct ct_prune_progress pp;

	if (p->level != CT_BACKUP_INFO)
		rc->errors++;
	if (!rc->o->progress)
		return;
	memset(&pp, 0, sizeof(pp));
	pp.step = "recover";
	pp.message = p->message;          /* sanitised by the resolver */
	pp.error = p->level != CT_BACKUP_INFO;
	rc->o->progress(rc->o->ctx, &pp);
}

int ct_prune_resolve_leftovers(const struct ct_prune_opts *o, int *n_resolved, struct ct_err *e)
{
	struct resolve_ctx rctx = { o, 0 };
	struct ct_run rec;
	struct ct_xapi *x = NULL;
	struct ct_err e2;
	char pb[128];
	int n1 = 0, n2 = 0, rc = -1;

	*n_resolved = 0;
	san(o->pc ? o->pc->name : NULL, pb, sizeof(pb));
	if (!o->pc || !o->pc->password)
		return ct_err_set(e, CT_E_CONFIG, "pool '%s': no password is known; set "
				  "password_file or password_env in the configuration", pb);
	if (!o->js && (!o->cfg || !o->cfg->state_dir))
		return ct_err_set(e, CT_E_CONFIG, "pool '%s': no state_dir for the job history; "
				  "set state_dir in the configuration", pb);
	ct_run_init(&rec, NULL, NULL, NULL);
	if (ct_run_open(&rec, o->cfg ? o->cfg->state_dir : NULL, o->js, e) < 0)
		return -1;
	x = ct_watch_new_session(o->pc);
	if (!x) {
		ct_err_set(e, CT_E_CONFIG, "pool '%s': cannot make an XAPI session from its "
			   "configuration (url '%s')", pb, o->pc->url ? o->pc->url : "");
		goto out;
	}
	if (ct_xapi_login(x, e) < 0) {
		ct_err_prefix(e, "pool '%s': nothing resolved", pb);
		goto out;
	}
	rc = ct_backup_resolve_intents(x, rec.js, o->pc->name, NULL, false, on_recover, &rctx, &n1, e);
	ct_err_init(&e2);
	if (ct_backup_resolve_tasks(x, rec.js, o->pc->name, NULL, false, on_recover, &rctx, &n2, &e2) < 0) {
		if (rc == 0)
			*e = e2;
		rc = -1;
	}
	*n_resolved = n1 + n2;
out:
	ct_xapi_free(x);
	ct_run_close(&rec);
	return rc;
}
