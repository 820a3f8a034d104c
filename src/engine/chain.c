/* chain.c - the verdict engine (design.md section 3).
 *
 * It reads the model's digests (model.h), not the records' strings: VDIs are grouped by
 * SR with a counting sort on their SR keys, then one pass per SR numbers the SR's VDIs
 * (their position in the model's slice of the SR), resolves vhd-parents through a small
 * uuid -> number table, cuts cycles (reported as broken), and walks the resulting forest
 * in preorder over int arrays to give depth, pending and stacked counts top-down. VBDs
 * find their VDI and VM through the model's ref tables by key. Every step is linear in the
 * number of VDIs apart from the sorts that fix the display order, which compare numbers
 * (16 name bytes, exact uuid keys) and read a string only on a tie there.
 *
 * The structure (forest, the VDIs' users, every VM's disks) depends only on the VDI, VBD,
 * VM and SR records; ct_chain_refresh keeps it while those tables' stamps are unchanged
 * and only judges again. The cost of a full evaluation at 100,000 VDIs is memory, not
 * arithmetic: reading the digests, the random probes of the hash tables (prefetched a few
 * iterations ahead so several misses overlap) and writing the report. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "engine/chain.h"
#include "lib/htab.h"
#include "lib/util.h"
#include "model/model_int.h"

#define NAME_MAX_LEN 160
/* SM's message when tapdisk cannot be unpaused (cleanup.py, blktap2.py): the VDI's VMs
 * have lost their disk. */
#define CT_MSG_UNPAUSE_FAILED "failed to unpause tapdisk"
/* A paused disk with no GC running becomes critical after this long (I/O frozen). */
#define CT_PAUSED_CRIT_AFTER 120
/* No GC task seen for this long while work waits: the GC is idle. */
#define CT_GC_IDLE_AFTER 600
/* Messages older than this no longer count as GC activity. */
#define CT_CHAIN_MSG_WINDOW (24 * 3600)
/* SM refuses a snapshot or clone of a VDI at this depth (vhdutil.MAX_CHAIN_SIZE). */
#define CT_SM_MAX_CHAIN 30

const char *ct_vdi_state_name(enum ct_vdi_state s)
{
	switch (s) {
	case CT_VS_OK: return "ok";
	case CT_VS_PENDING: return "pending";
	case CT_VS_STACKED: return "stacked";
	case CT_VS_DEEP: return "deep";
	case CT_VS_GARBAGE: return "garbage";
	case CT_VS_BROKEN: return "broken";
	case CT_VS_ORPHAN: return "orphan";
	}
	return "unknown";
}

const char *ct_problem_kind_name(enum ct_problem_kind k)
{
	switch (k) {
	case CT_PK_OTHER: return "other";
	case CT_PK_BROKEN: return "broken";
	case CT_PK_DEEP: return "deep";
	case CT_PK_STACKED: return "stacked";
	case CT_PK_ORPHAN: return "orphan";
	case CT_PK_SR_FREE: return "sr_free";
	case CT_PK_GC_NO_SPACE: return "gc_no_space";
	case CT_PK_GC_NEEDS_SPACE: return "gc_needs_space";
	case CT_PK_COALESCE_ERROR: return "coalesce_error";
	case CT_PK_GC_FAILED: return "gc_failed";
	case CT_PK_GC_BLOCKED: return "gc_blocked";
	case CT_PK_PENDING: return "pending";
	case CT_PK_GC_IDLE: return "gc_idle";
	case CT_PK_GC_STALLED: return "gc_stalled";
	case CT_PK_PAUSED_FROZEN: return "paused_frozen";
	case CT_PK_UNPAUSE_FAILED: return "unpause_failed";
	case CT_PK_DOM0_ATTACHED: return "dom0_attached";
	case CT_PK_FALLS_BEHIND: return "falls_behind";
	case CT_PK_POOL_DOWN: return "pool_down";
	}
	return "other";
}

const char *ct_severity_name(enum ct_severity s)
{
	switch (s) {
	case CT_SEV_OK: return "OK";
	case CT_SEV_WARNING: return "WARNING";
	case CT_SEV_CRITICAL: return "CRITICAL";
	case CT_SEV_UNKNOWN: return "UNKNOWN";
	}
	return "UNKNOWN";
}

int ct_severity_rank(enum ct_severity s)
{
	switch (s) {
	case CT_SEV_OK: return 0;
	case CT_SEV_WARNING: return 1;
	case CT_SEV_UNKNOWN: return 2;
	case CT_SEV_CRITICAL: return 3;
	}
	return 2;
}

static enum ct_severity sev_max(enum ct_severity a, enum ct_severity b)
{
	return ct_severity_rank(a) >= ct_severity_rank(b) ? a : b;
}

/* How far ahead the batched loops prefetch: a digest, or the slot a key will probe. */
#define CT_AHEAD 16

/* A disk of a VM: its VBD, the VDI's index in the report, the VBD's position, and the
 * figures of the VDI's verdict the gate reads (copied, so judging every VM reads its
 * disks in sequence instead of jumping around the report). */
struct vm_disk {
	const struct ct_vbd *vbd;
	int vdi;
	long userdevice;
	int sr_index, depth, stacked, broken_above;
	bool is_vhd;
	int64_t virtual_size;
};

/* What the states and the gate read of a judged VDI's digest, by report index. */
struct vdi_info {
	uint32_t flags;            /* CT_DG_* */
	enum ct_vdi_type type;
	int64_t virtual_size, physical_utilisation;
};

struct ct_chain_index {
	struct vdi_info *info;     /* per report.vdis entry */
	int *vm_first;             /* per VM index: range in vm_disks (n_vms + 1 entries) */
	struct vm_disk *vm_disks;
	/* record -> index, built by the first ct_chain_find_* call that needs it: most
	 * evaluations (check, the gate, tree) never look a record up */
	struct ct_htab vdi, vm;
	/* what the structure was built from, for ct_chain_refresh */
	const struct ct_model *model;
	const struct ct_config *c;
	const struct ct_pool_conf *pc;
	uint64_t stamp_vdi, stamp_vbd, stamp_vm, stamp_sr;
	char **sr_refs;            /* the SRs' refs in report order (owned) */
	int prob_cap;              /* room in report.problems */
};

/* Index of the entry whose record is rec in n entries of size bytes from base (the record
 * pointer first in each), through t, built on first use; -1 if none. */
static int find_rec(struct ct_htab *t, const void *base, size_t size, int n, const void *rec)
{
	struct ct_hprobe p;
	long v;

	if (!t->s) {
		ct_htab_reset(t, (size_t)n);
		for (int i = 0; i < n; i++)
			ct_htab_add(t, ct_hash_ptr(*(const void *const *)((const char *)base +
					(size_t)i * size)), (uint32_t)i);
	}
	if (!rec)
		return -1;
	for (ct_htab_probe(t, ct_hash_ptr(rec), &p); (v = ct_htab_next(t, &p)) >= 0;)
		if (*(const void *const *)((const char *)base + (size_t)v * size) == rec)
			return (int)v;
	return -1;
}

int ct_chain_find_vdi(const struct ct_chain_report *r, const struct ct_vdi *v)
{
	if (!r || !r->idx)
		return -1;
	return find_rec(&r->idx->vdi, r->vdis, sizeof(*r->vdis), r->n_vdis, v);
}

int ct_chain_find_vm(const struct ct_chain_report *r, const struct ct_vm *vm)
{
	if (!r || !r->idx)
		return -1;
	return find_rec(&r->idx->vm, r->vms, sizeof(*r->vms), r->n_vms, vm);
}

/* --- small helpers --- */

struct strv {
	char **v;
	int *sr;                 /* SR index each sentence is about, -1 */
	enum ct_problem_kind *kind;
	int n, cap;
};

static void strv_add(struct strv *s, int sr, enum ct_problem_kind kind, char *owned)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4;
		s->v = ct_xrealloc(s->v, (size_t)s->cap * sizeof(*s->v));
		s->sr = ct_xrealloc(s->sr, (size_t)s->cap * sizeof(*s->sr));
		s->kind = ct_xrealloc(s->kind, (size_t)s->cap * sizeof(*s->kind));
	}
	s->sr[s->n] = sr;
	s->kind[s->n] = kind;
	s->v[s->n++] = owned;
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

/* Sanitised copy of an untrusted name for a sentence. */
/* FNV-1a of a string, never 0 (0 stands for none). Not a hash table's hash but an
 * identity the stall memory writes to disk (gc_task, candidates): it must not change. */
static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h ? h : 1;
}

static const char *san(const char *s, char *buf, size_t len)
{
	return ct_sanitize(nz(s), buf, len);
}

static const char *sr_name(const struct ct_sr_verdict *sv)
{
	return sv->sr->name_label;
}

static bool str_has_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	if (!hay)
		return false;
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return true;
	return false;
}

/* Times in verdict text are UTC: the same pool judged by `check` from cron, by the console
 * and by a backup on another host must give the same words (they are stored in the job
 * history and compared between runs), whatever TZ each process has. */
static void verdict_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t <= 0 || !gmtime_r(&t, &tm)) {
		snprintf(buf, len, "an unknown time");
		return;
	}
	strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
}

static bool sr_is_vhd(const struct ct_sr *sr)
{
	/* SM drivers with no VHD: ISO, removable devices, a raw LUN per VDI (ISCSISR, HBASR),
	 * shared memory (SHMSR), the dummy SR */
	static const char *const raw_types[] = { "iso", "udev", "hba", "iscsi", "shm", "dummy",
		NULL };
	const char *t = nz(sr->type);

	for (int i = 0; raw_types[i]; i++)
		if (!strcasecmp(t, raw_types[i]))
			return false;
	if (sr->content_type && !strcasecmp(sr->content_type, "iso"))
		return false;
	return true;
}

static bool sr_is_thick(const struct ct_sr *sr)
{
	return sr->type && !strncasecmp(sr->type, "lvm", 3);
}

/* Ordering of VDIs inside an SR (and so of siblings in the tree): live disks before
 * snapshots, snapshots oldest first, then by name and uuid; VMs by name and uuid. The sort
 * keys come from the digests: the name's first 16 bytes compared as numbers (the order
 * strcmp gives), and exact uuid keys compared as numbers (also strcmp's order), so a
 * comparison reads a record's strings only for names that agree on 16 bytes and go on,
 * or for uuids that are not canonical. */
struct vkey {
	uint64_t name[2];
	struct ct_key uuid;
	time_t t;
	const struct ct_obj *o;  /* the VDI or VM, for the strings */
	bool snap, long_name;
};

static const char *vkey_name(const struct vkey *k)
{
	return nz(k->o->cls == CT_VM ? ((const struct ct_vm *)k->o)->name_label :
		  ((const struct ct_vdi *)k->o)->name_label);
}

static void vkey_vdi(struct vkey *k, const struct ct_vdi_digest *d, const struct ct_obj *o)
{
	k->name[0] = d->name[0];
	k->name[1] = d->name[1];
	k->uuid = d->uuid;
	k->t = d->snapshot_time;
	k->o = o;
	k->snap = d->flags & CT_DG_SNAPSHOT;
	k->long_name = d->flags & CT_DG_LONG_NAME;
}

static void vkey_vm(struct vkey *k, const struct ct_vm_digest *d, const struct ct_obj *o)
{
	k->name[0] = d->name[0];
	k->name[1] = d->name[1];
	k->uuid = d->uuid;
	k->t = 0;
	k->o = o;
	k->snap = false;
	k->long_name = d->flags & CT_DG_LONG_NAME;
}

static int cmp_vkey(const struct vkey *x, const struct vkey *y)
{
	int c;

	if (x->snap != y->snap)
		return x->snap ? 1 : -1;
	if (x->snap && x->t != y->t)
		return x->t < y->t ? -1 : 1;
	for (int i = 0; i < 2; i++)
		if (x->name[i] != y->name[i])
			return x->name[i] < y->name[i] ? -1 : 1;
	if (x->long_name || y->long_name) {
		c = strcmp(vkey_name(x), vkey_name(y));
		if (c)
			return c;
	}
	if (ct_key_exact(x->uuid) && ct_key_exact(y->uuid)) {
		if (x->uuid.hi != y->uuid.hi)
			return x->uuid.hi < y->uuid.hi ? -1 : 1;
		return x->uuid.lo < y->uuid.lo ? -1 : x->uuid.lo > y->uuid.lo;
	}
	return strcmp(nz(x->o->uuid), nz(y->o->uuid));
}

static int cmp_sr(const void *a, const void *b)
{
	const struct ct_sr *x = *(const struct ct_sr *const *)a;
	const struct ct_sr *y = *(const struct ct_sr *const *)b;
	int c = strcmp(nz(x->name_label), nz(y->name_label));

	return c ? c : strcmp(nz(x->o.uuid), nz(y->o.uuid));
}

/* A VM's disks by position (userdevice), then VBD ref. */
static int cmp_disk(const void *a, const void *b)
{
	const struct vm_disk *x = a, *y = b;

	if (x->userdevice != y->userdevice)
		return x->userdevice < y->userdevice ? -1 : 1;
	return strcmp(nz(x->vbd->o.ref), nz(y->vbd->o.ref));
}

/* --- evaluation context --- */

struct sr_scratch;

struct eval_ctx {
	struct ct_model *m;
	const struct ct_config *c;
	const struct ct_pool_conf *pc;
	time_t now;
	struct ct_chain_report *r;
	char pool[NAME_MAX_LEN];     /* sanitised pool name for sentences */
	int prob_cap;
	/* the model's records and their digests (same positions) */
	struct ct_obj *const *vdi_rec, *const *vbd_rec, *const *vm_rec;
	const struct ct_vdi_digest *vd;
	const struct ct_vbd_digest *bd;
	const struct ct_vm_digest *md;
	/* dense indexes, built once per evaluation (eval_pool) */
	struct sr_scratch *scratch;  /* one SR's work arrays */
	int *sr_first;               /* per report SR: its range in by_sr (n_srs + 1 entries) */
	int *by_sr;                  /* model VDI positions grouped by SR, model order within */
	int *vdi_report;             /* model VDI position -> index in report.vdis, -1 */
	int *worded, n_worded;       /* report VDIs with a problem to word, in report order */
	int *vm_real;                /* that position -> index in report.vms, -1 */
	int *vm_rank;                /* report.vms index -> first index of its run of equals */
	struct ct_owner_ctx octx;    /* the orphan rule's lookups, built on first use */
};

/* Point the context at the model's current arrays. */
static void ctx_bind(struct eval_ctx *x, struct ct_model *m)
{
	x->m = m;
	x->vdi_rec = m->t[CT_VDI].items;
	x->vbd_rec = m->t[CT_VBD].items;
	x->vm_rec = m->t[CT_VM].items;
	x->vd = ct_model_vdi_digests(m);
	x->bd = ct_model_vbd_digests(m);
	x->md = ct_model_vm_digests(m);
}

static void limits_for(const struct eval_ctx *x, const struct ct_sr *sr, struct ct_gate_conf *g,
		       struct ct_health_conf *h)
{
	*g = x->c->gate;
	*h = x->c->health;
	if (x->pc)
		ct_config_limits_for(x->c, x->pc, nz(sr->name_label), nz(sr->o.uuid), g, h);
}

static void add_problem(struct eval_ctx *x, enum ct_problem_kind kind, enum ct_severity sev,
			const struct ct_obj *o, int sr_index, char *reason)
{
	struct ct_chain_report *r = x->r;
	struct ct_problem *p;

	if (r->n_problems == x->prob_cap) {
		x->prob_cap = x->prob_cap ? x->prob_cap * 2 : 16;
		r->problems = ct_xrealloc(r->problems, (size_t)x->prob_cap * sizeof(*r->problems));
	}
	p = &r->problems[r->n_problems++];
	p->severity = sev;
	p->cls = o ? o->cls : CT_POOL;
	p->ref = ct_xstrdup(o ? nz(o->ref) : "");
	p->uuid = ct_xstrdup(o ? nz(o->uuid) : "");
	p->reason = reason;
	p->sr_index = sr_index;
	p->kind = kind;
	if (sr_index >= 0)
		r->srs[sr_index].severity = sev_max(r->srs[sr_index].severity, sev);
	r->worst = sev_max(r->worst, sev);
}

/* "disk 'web01 xvda'" for a VDI used by a VM, else "VDI 'name'". */
static void disk_label(const struct ct_vm *vm, const struct ct_vbd *vbd, const struct ct_vdi *v,
		       char *buf, size_t len)
{
	char a[NAME_MAX_LEN], b[NAME_MAX_LEN];

	if (vm) {
		/* device ("xvda") is set while attached; a halted VM's disk has its position */
		bool attached_name = vbd && vbd->device && *vbd->device;
		const char *dev = vbd ? (attached_name ? vbd->device : vbd->userdevice) : NULL;

		if (dev && *dev)
			snprintf(buf, len, "disk '%s %s%s'", san(vm->name_label, a, sizeof(a)),
				 attached_name ? "" : "#", san(dev, b, sizeof(b)));
		else
			snprintf(buf, len, "disk '%s' of VM '%s'", san(v->name_label, b, sizeof(b)),
				 san(vm->name_label, a, sizeof(a)));
	} else {
		snprintf(buf, len, "VDI '%s'", san(v->name_label, a, sizeof(a)));
	}
}

/* A phrase on what the SR's garbage collector is doing, for reasons. */
static void gc_phrase(const struct ct_sr_verdict *sv, char *buf, size_t len)
{
	char t[64];

	if (sv->gc_no_space)
		snprintf(buf, len, "the SR garbage collector reported it is out of space");
	else if (sv->gc_blocked)
		snprintf(buf, len, "the SR garbage collector cannot run: %s", sv->gc_blocked);
	else if (sv->gc_stalled) {
		verdict_time(sv->pending_since, t, sizeof(t));
		snprintf(buf, len, "the SR garbage collector has made no progress since %s", t);
	} else if (sv->gc_progress >= 0)
		snprintf(buf, len, "the SR garbage collector is at %.0f%%", sv->gc_progress * 100.0);
	else if (sv->gc_paused)
		snprintf(buf, len, "the SR garbage collector is relinking a chain");
	else if (sv->gc_silent)
		snprintf(buf, len, "this SM does not report its garbage collector (XCP-ng before 8.3: "
			 "read SMlog on the pool master)");
	else if (sv->gc_idle)
		snprintf(buf, len, "the SR garbage collector is idle (an SR scan restarts it)");
	else
		snprintf(buf, len, "no garbage collection is running on the SR (an SR scan starts one)");
	if (sv->eta >= 0 && sv->rate > 0 && !sv->gc_no_space && !sv->gc_blocked) {
		char w[32], r[32], d[32];
		size_t n = strlen(buf);

		ct_format_bytes(sv->work_bytes, w, sizeof(w));
		ct_format_bytes((int64_t)(sv->rate * 3600.0), r, sizeof(r));
		ct_format_duration(sv->eta, d, sizeof(d));
		snprintf(buf + n, len - n, "; at its measured %s/h it merges the %s left in about %s",
			 r, w, d);
	}
}

/* --- per SR: forest, depth, counts --- */

/* What pass 1 learns of a VDI, until its verdict is written in preorder. */
enum { LB_VHD = 1, LB_BASE = 2, LB_GC_MARK = 4, LB_CYCLE = 8, LB_MISSING = 16, LB_PAUSED = 32 };

/* Work arrays of one SR's evaluation, indexed by the VDI's position in the SR's slice of
 * the model (its "local" index); allocated once per evaluation for the largest SR. Nothing
 * is zeroed: each SR's pass sets every entry it reads. */
struct sr_scratch {
	int cap;
	struct vkey *key;        /* sort keys */
	const struct ct_vdi **rec;    /* the VDI records */
	unsigned char *bits;     /* LB_* */
	const char **missing;    /* the vhd-parent the SR lacks (set with LB_MISSING) */
	int *par;                /* local parent index, -1 */
	int *nchild;
	int *first, *kids;       /* children lists (CSR) over the cut forest */
	unsigned char *color;
	int *stack;
	int *order;              /* local index in preorder */
	int *pos_of;             /* local index -> preorder position */
	int *fill;
	int *roots, nroots;
	bool *mark;
	bool *linked;            /* has a vhd-parent to resolve */
	const char **why;        /* why SM will not merge it into its parent, NULL */
	uint64_t *hp;            /* ct_key_hash of the vhd-parent key */
	struct ct_key *ku, *kp;  /* uuid and vhd-parent keys, gathered from the digests */
	struct vdi_info *inf;
	struct ct_htab uuids;    /* uuid -> local index */
};

static void scratch_free(struct sr_scratch *s)
{
	free(s->key);
	free(s->rec);
	free(s->bits);
	free(s->missing);
	free(s->par);
	free(s->nchild);
	free(s->first);
	free(s->kids);
	free(s->color);
	free(s->stack);
	free(s->order);
	free(s->pos_of);
	free(s->fill);
	free(s->roots);
	free(s->mark);
	free(s->linked);
	free(s->why);
	free(s->hp);
	free(s->ku);
	free(s->kp);
	free(s->inf);
	ct_htab_release(&s->uuids);
	memset(s, 0, sizeof(*s));
}

/* Room for an SR of n VDIs. */
static void scratch_reserve(struct sr_scratch *s, int n)
{
	size_t c = (size_t)n + 2;

	if (s->key && n <= s->cap)
		return;
	scratch_free(s);
	s->key = ct_xmalloc(c * sizeof(*s->key));
	s->rec = ct_xmalloc(c * sizeof(*s->rec));
	s->bits = ct_xmalloc(c);
	s->missing = ct_xmalloc(c * sizeof(*s->missing));
	s->par = ct_xmalloc(c * sizeof(*s->par));
	s->nchild = ct_xmalloc(c * sizeof(*s->nchild));
	s->first = ct_xmalloc(c * sizeof(*s->first));
	s->kids = ct_xmalloc(c * sizeof(*s->kids));
	s->color = ct_xmalloc(c);
	s->stack = ct_xmalloc(c * sizeof(*s->stack));
	s->order = ct_xmalloc(c * sizeof(*s->order));
	s->pos_of = ct_xmalloc(c * sizeof(*s->pos_of));
	s->fill = ct_xmalloc(c * sizeof(*s->fill));
	s->roots = ct_xmalloc(c * sizeof(*s->roots));
	s->mark = ct_xmalloc(c * sizeof(*s->mark));
	s->linked = ct_xmalloc(c * sizeof(*s->linked));
	s->why = ct_xmalloc(c * sizeof(*s->why));
	s->hp = ct_xmalloc(c * sizeof(*s->hp));
	s->ku = ct_xmalloc(c * sizeof(*s->ku));
	s->kp = ct_xmalloc(c * sizeof(*s->kp));
	s->inf = ct_xmalloc(c * sizeof(*s->inf));
	s->cap = n;
}

static int cmp_local(const void *a, const void *b, void *ctx)
{
	const struct vkey *key = ctx;

	return cmp_vkey(&key[*(const int *)a], &key[*(const int *)b]);
}

/* Is this a message SM names after an OS error (os.strerror: "No space left on device",
 * "Input/output error", ...) when a coalesce fails (cleanup.py _reportCoalesceError)? xapi's
 * own message names are UPPER_CASE identifiers; the other lowercase SM message is the
 * tapdisk unpause failure. */
static bool is_coalesce_error(const struct ct_message *msg)
{
	bool lower = false;

	if (!msg->name || !*msg->name || !strcmp(msg->name, CT_MSG_UNPAUSE_FAILED))
		return false;
	if (msg->cls && strcasecmp(msg->cls, "SR"))
		return false;
	for (const char *p = msg->name; *p; p++)
		if ((*p >= 'a' && *p <= 'z') || *p == ' ')
			lower = true;
	return lower;
}

/* Does the pool's SM report its garbage collector as a task? XCP-ng before 8.3 ships an sm
 * without the "Garbage Collection" task. */
static bool gc_reports_task(struct eval_ctx *x)
{
	const struct ct_pool *pool = ct_model_pool(x->m);
	const struct ct_host *h = pool ? ct_model_host(x->m, pool->master) : NULL;
	const char *brand, *ver;
	int major = 0, minor = 0;

	if (!h)
		return true;
	brand = ct_map_get(&h->software_version, "product_brand");
	ver = ct_map_get(&h->software_version, "product_version");
	if (!brand || strcasecmp(brand, "XCP-ng") || !ver || sscanf(ver, "%d.%d", &major, &minor) < 2)
		return true;
	return major > 8 || (major == 8 && minor >= 3);
}

/* Why the GC cannot run on the SR (SM cleanup.py: gcEnabled, isPluggedHere, isMaster), or
 * NULL. Only what the PBD records show: none loaded, nothing said. */
static const char *gc_blocked(struct eval_ctx *x, const struct ct_sr_verdict *sv)
{
	const struct ct_sr *sr = sv->sr;
	const struct ct_pool *pool = ct_model_pool(x->m);
	int known = 0, attached = 0;

	if (sv->switches & CT_SW_GC_OFF)
		return "garbage collection is off on the SR (other_config gc=false)";
	for (size_t i = 0; i < sr->pbds.n; i++) {
		const struct ct_pbd *b = (const struct ct_pbd *)ct_model_find(x->m, CT_PBD, sr->pbds.v[i]);

		if (!b)
			continue;
		if (sr->shared) {
			if (pool && b->host && pool->master && !strcmp(b->host, pool->master))
				return b->currently_attached ? NULL :
					"the SR is not plugged on the pool master, where SM runs its GC";
			continue;
		}
		known++;
		attached += b->currently_attached;
	}
	if (!sr->shared && known > 0 && attached == 0)
		return "the SR is not plugged on its host, where SM runs its GC";
	return NULL;
}

static unsigned sr_switches(const struct ct_sr *sr)
{
	const char *v;
	unsigned sw = 0;

	if ((v = ct_map_get(&sr->other_config, "gc")) && !strcasecmp(v, "false"))
		sw |= CT_SW_GC_OFF;
	if ((v = ct_map_get(&sr->other_config, "coalesce")) && !strcasecmp(v, "false"))
		sw |= CT_SW_COALESCE_OFF;
	if ((v = ct_map_get(&sr->other_config, "leaf-coalesce")) && !strcasecmp(v, "false"))
		sw |= CT_SW_LEAF_OFF;
	return sw;
}

static void gc_activity(struct eval_ctx *x, struct ct_sr_verdict *sv)
{
	const struct ct_sr *sr = sv->sr;
	size_t n;
	struct ct_task *const *tasks = ct_model_tasks_for(x->m, sr->o.ref, &n);
	struct ct_message *const *msgs;
	const char *k;

	sv->gc_progress = -1;
	for (size_t i = 0; i < n; i++) {
		const struct ct_task *t = tasks[i];

		if (!t->name_label || strcasecmp(t->name_label, "Garbage Collection"))
			continue;
		if (t->status == CT_TASK_FAILURE) {
			/* SM sets the status only: xapi drops the task about 30 s later */
			struct ct_sb sb;
			char *err;

			ct_sb_init(&sb);
			for (size_t j = 0; j < t->error_info.n; j++)
				if (t->error_info.v[j] && *t->error_info.v[j])
					ct_sb_addf(&sb, "%s%s", sb.len ? " " : "", t->error_info.v[j]);
			err = ct_sb_detach(&sb);
			ct_sb_release(&sb);
			san(err, sv->gc_error, sizeof(sv->gc_error));
			free(err);
			sv->gc_failed_at = x->now;
			continue;
		}
		if (t->status != CT_TASK_PENDING)
			continue;
		sv->gc_running = true;
		sv->gc_task = str_hash(t->o.ref);
		if (t->progress > sv->gc_progress)
			sv->gc_progress = t->progress < 0 ? 0 : t->progress > 1 ? 1 : t->progress;
	}
	sv->gc_silent = !gc_reports_task(x);
	sv->gc_blocked = gc_blocked(x, sv);
	/* SM keeps the ref of its SM_GC_NO_SPACE message in the SR's sm_config (and on the
	 * candidates it could not fit) and destroys the message once everything fits again,
	 * leaving the key behind: the key counts while its message lives or a candidate still
	 * carries it (cleanup.py check_no_space_candidates, clear_no_space_msg) */
	k = ct_map_get(&sr->sm_config, "gc_no_space");
	if (k && *k) {
		if (ct_model_find(x->m, CT_MESSAGE, k)) {
			sv->gc_no_space = true;
		} else {
			size_t nv;
			struct ct_vdi *const *vs = ct_model_sr_vdis(x->m, sr, &nv);

			for (size_t i = 0; i < nv && !sv->gc_no_space; i++) {
				const char *vk = ct_map_get(&vs[i]->sm_config, "gc_no_space");

				sv->gc_no_space = vk && !strcmp(vk, k);
			}
		}
	}
	msgs = ct_model_messages_for(x->m, nz(sr->o.uuid), &n);
	for (size_t i = 0; i < n; i++) {
		const struct ct_message *msg = msgs[i];

		if (msg->timestamp > 0 && x->now - msg->timestamp > CT_CHAIN_MSG_WINDOW)
			continue;
		if (msg->name && !strcmp(msg->name, "SM_GC_NO_SPACE")) {
			sv->gc_no_space = true;
		} else if (is_coalesce_error(msg)) {
			/* newest first: the first one is the one to name */
			if (!sv->coalesce_error[0]) {
				snprintf(sv->coalesce_error, sizeof(sv->coalesce_error), "%s", msg->name);
				sv->coalesce_error_at = msg->timestamp;
			}
			if (!strcasecmp(msg->name, "No space left on device") ||
			    str_has_ci(msg->body, "out of space while coalescing"))
				sv->gc_no_space = true;
			else
				sv->coalesce_failed = true;
		}
	}
	/* the time SM last reported a coalesce error (kept even when rate-limited) */
	k = ct_map_get(&sr->sm_config, "last-coalesce-error");
	if (k && *k) {
		long long t = strtoll(k, NULL, 10);

		if (t > 0 && x->now - (time_t)t <= CT_CHAIN_MSG_WINDOW) {
			if (!sv->coalesce_error[0])
				sv->coalesce_failed = !sv->gc_no_space;
			if ((time_t)t > sv->coalesce_error_at)
				sv->coalesce_error_at = (time_t)t;
		}
	}
}

/* --- owners and the never-destroy rules (shared with prune) --- */

const char *ct_owner_name(enum ct_owner o)
{
	switch (o) {
	case CT_OWN_CHAINTOP: return "chaintop";
	case CT_OWN_CHAINTOP_OTHER: return "chaintop (job not configured here)";
	case CT_OWN_XO: return "Xen Orchestra";
	case CT_OWN_VMSS: return "VMSS";
	case CT_OWN_MANUAL: return "manual";
	case CT_OWN_UNKNOWN: return "unknown";
	case CT_OWN_NONE: break;
	}
	return "none";
}

const char *ct_owner_token(enum ct_owner o)
{
	switch (o) {
	case CT_OWN_CHAINTOP: return "chaintop";
	case CT_OWN_CHAINTOP_OTHER: return "chaintop-other";
	case CT_OWN_XO: return "xo";
	case CT_OWN_VMSS: return "vmss";
	case CT_OWN_MANUAL: return "manual";
	case CT_OWN_UNKNOWN: return "unknown";
	case CT_OWN_NONE: break;
	}
	return "none";
}

bool ct_owner_is_foreign(enum ct_owner o)
{
	return o == CT_OWN_XO || o == CT_OWN_VMSS || o == CT_OWN_UNKNOWN;
}

/* chaintop:job / xo:backup:job marks of an other_config; CT_OWN_NONE without one. */
static enum ct_owner owner_marks(const struct ct_map *oc, const struct ct_config *c,
				 const char **job)
{
	const char *j = ct_map_get(oc, "chaintop:job");

	if (j && *j) {
		*job = j;
		/* ad hoc backups (`backup --vm`, the console) belong to no configured job */
		if (!strcmp(j, CT_BACKUP_ADHOC_JOB) || !c || ct_config_job(c, j))
			return CT_OWN_CHAINTOP;
		return CT_OWN_CHAINTOP_OTHER;
	}
	/* Xen Orchestra writes xo:backup:{job,schedule,vm,datetime} on its snapshots and their
	 * disks (@xen-orchestra/backups _otherConfig.mjs) */
	j = ct_map_get(oc, "xo:backup:job");
	if (j) {
		*job = j;
		return CT_OWN_XO;
	}
	for (size_t i = 0; i < oc->n; i++)
		if (!strncmp(oc->k[i], "xo:backup:", 10))
			return CT_OWN_XO;
	return CT_OWN_NONE;
}

enum ct_owner ct_vm_owner(const struct ct_vm *vm, const struct ct_config *c, const char **job)
{
	const char *j = NULL;
	enum ct_owner o = owner_marks(&vm->other_config, c, &j);

	*job = NULL;
	if (o == CT_OWN_XO || o == CT_OWN_CHAINTOP || o == CT_OWN_CHAINTOP_OTHER) {
		*job = j;
		return o;
	}
	if (vm->is_vmss_snapshot)
		return CT_OWN_VMSS;
	return CT_OWN_MANUAL;
}

enum ct_owner ct_vdi_owner(const struct ct_vdi *v, const struct ct_config *c, const char **job)
{
	const char *j = NULL;
	enum ct_owner o = owner_marks(&v->other_config, c, &j);

	*job = j;
	if (o != CT_OWN_NONE)
		return o;
	if (v->is_a_snapshot || v->type == CT_VDI_SUSPEND)
		return CT_OWN_UNKNOWN;
	return CT_OWN_NONE;
}

const char *ct_vm_destroy_blocked(const struct ct_vm *vm)
{
	for (size_t i = 0; i < vm->blocked_operations.n; i++)
		if (!strcmp(vm->blocked_operations.k[i], "destroy"))
			return vm->blocked_operations.v[i] ? vm->blocked_operations.v[i] : "";
	return NULL;
}

void ct_owner_ctx_init(struct ct_owner_ctx *x, struct ct_model *m, const struct ct_config *c)
{
	memset(x, 0, sizeof(*x));
	x->m = m;
	x->c = c;
}

void ct_owner_ctx_release(struct ct_owner_ctx *x)
{
	if (!x)
		return;
	free(x->suspend_vms);
	free(x->updates);
	x->suspend_vms = NULL;
	x->updates = NULL;
	x->n_suspend = x->n_updates = 0;
	x->built = false;
}

/* Suspended VMs, checkpoints and pool updates are few: plain arrays, scanned. */
static void owner_ctx_build(struct ct_owner_ctx *x)
{
	size_t n;

	if (x->built)
		return;
	x->built = true;
	n = ct_model_count(x->m, CT_VM);
	for (size_t i = 0; i < n; i++) {
		const struct ct_vm *vm = (const struct ct_vm *)ct_model_at(x->m, CT_VM, i);

		if (ct_ref_is_null(vm->suspend_vdi))
			continue;
		x->suspend_vms = ct_xrealloc(x->suspend_vms,
					     ((size_t)x->n_suspend + 1) * sizeof(*x->suspend_vms));
		x->suspend_vms[x->n_suspend++] = vm;
	}
	n = ct_model_count(x->m, CT_POOL_UPDATE);
	for (size_t i = 0; i < n; i++) {
		const struct ct_pool_update *u =
			(const struct ct_pool_update *)ct_model_at(x->m, CT_POOL_UPDATE, i);

		if (ct_ref_is_null(u->vdi))
			continue;
		x->updates = ct_xrealloc(x->updates, ((size_t)x->n_updates + 1) * sizeof(*x->updates));
		x->updates[x->n_updates++] = u;
	}
}

const struct ct_vm *ct_owner_suspend_holder(struct ct_owner_ctx *x, const struct ct_vdi *v)
{
	owner_ctx_build(x);
	for (int i = 0; i < x->n_suspend; i++)
		if (!strcmp(x->suspend_vms[i]->suspend_vdi, v->o.ref))
			return x->suspend_vms[i];
	return NULL;
}

/* SR types whose VDIs are not files or volumes SM can delete: LUN-per-VDI (SM's
 * LUNperVDI.delete only sets managed = false) and shm (no VDI_DELETE capability). */
static bool sr_raw_lun(const struct ct_sr *sr)
{
	static const char *const types[] = { "iscsi", "hba", "rawhba", "shm", NULL };

	for (int i = 0; sr && sr->type && types[i]; i++)
		if (!strcasecmp(sr->type, types[i]))
			return true;
	return false;
}

const char *ct_vdi_protected_rec(const struct ct_model *m, const struct ct_vdi *v,
				 const struct ct_sr *sr, char *why, size_t len)
{
	char nb[NAME_MAX_LEN];

	for (size_t i = 0; i < v->sm_config.n; i++) {
		const char *k = v->sm_config.k[i];

		/* SM's blktap2 writes host_<host ref> while a host has the VDI attached */
		if (!strncmp(k, "host_", 5)) {
			const struct ct_host *h = m ? ct_model_host(m, k + 5) : NULL;

			snprintf(why, len, "SM has it attached on host %s%s%s without a VBD "
				 "(sm_config %s): a tool or xapi is using it right now",
				 h ? "'" : "", h ? san(h->name_label, nb, sizeof(nb)) : "(unknown)",
				 h ? "'" : "", k);
			return why;
		}
		/* storage_migrate.ml marks the source (mirror) and the destination leaf
		 * (base_mirror) of a storage migration */
		if (!strcmp(k, "mirror") || !strcmp(k, "base_mirror")) {
			snprintf(why, len, "a storage migration is copying it (sm_config %s)", k);
			return why;
		}
	}
	if (sr_raw_lun(sr)) {
		snprintf(why, len, "it is a raw LUN on SR '%s' of type %s: VDI.destroy there only "
			 "forgets the LUN, the data stays on the array", san(sr->name_label, nb,
									     sizeof(nb)), sr->type);
		return why;
	}
	return NULL;
}

const char *ct_vdi_protected(struct ct_owner_ctx *x, const struct ct_vdi *v, char *why,
			     size_t len)
{
	char nb[NAME_MAX_LEN];

	if (ct_vdi_protected_rec(x->m, v, ct_model_sr(x->m, v->sr), why, len))
		return why;
	owner_ctx_build(x);
	for (int i = 0; i < x->n_updates; i++)
		if (!strcmp(x->updates[i]->vdi, v->o.ref)) {
			snprintf(why, len, "it holds the ISO of pool update '%s': xapi owns it "
				 "(pool_update.pool_clean or destroy removes it)",
				 san(x->updates[i]->name_label, nb, sizeof(nb)));
			return why;
		}
	return NULL;
}

bool ct_sr_removable(const struct ct_sr *sr)
{
	const char *key;

	if (!sr)
		return true;
	if (sr->type && (!strcmp(sr->type, "iso") || !strcmp(sr->type, "udev")))
		return true;
	if (sr->content_type && (!strcmp(sr->content_type, "iso") ||
				 !strcmp(sr->content_type, "udev")))
		return true;
	key = ct_map_get(&sr->other_config, "i18n-key");
	return key && !strncmp(key, "local-hotplug", 13);
}

enum ct_orphan ct_vdi_orphan(struct ct_owner_ctx *x, const struct ct_vdi *v,
			     struct ct_orphan_verdict *out)
{
	const struct ct_sr *sr;
	size_t nb = 0;
	char nb1[NAME_MAX_LEN], pw[400];

	memset(out, 0, sizeof(*out));
	out->kind = CT_ORPHAN_NO;
	out->owner = CT_OWN_NONE;
	if (!v->managed || v->missing || v->virtual_size <= 0)
		return out->kind;
	if (v->type != CT_VDI_USER && v->type != CT_VDI_SYSTEM && v->type != CT_VDI_SUSPEND)
		return out->kind;
	if (v->current_operations.n > 0)   /* being copied, exported, mirrored: in use now */
		return out->kind;
	sr = ct_model_sr(x->m, v->sr);
	if (!sr || ct_sr_removable(sr))
		return out->kind;
	ct_model_vdi_vbds(x->m, v, &nb);
	if (nb > 0 || v->vbds.n > 0)
		return out->kind;
	if (ct_owner_suspend_holder(x, v))
		return out->kind;
	out->owner = ct_vdi_owner(v, x->c, &out->job);
	if (ct_vdi_protected(x, v, pw, sizeof(pw))) {
		out->kind = CT_ORPHAN_PROTECTED;
		snprintf(out->why, sizeof(out->why), "no VBD uses it, but %s", pw);
		return out->kind;
	}
	switch (out->owner) {
	case CT_OWN_XO:
		out->kind = CT_ORPHAN_FOREIGN;
		snprintf(out->why, sizeof(out->why), "no VBD uses it, but it carries Xen Orchestra's "
			 "backup marks (xo:backup:job %s): XO's backup job owns it",
			 out->job ? san(out->job, nb1, sizeof(nb1)) : "(none)");
		break;
	case CT_OWN_UNKNOWN:
		out->kind = CT_ORPHAN_FOREIGN;
		if (v->type == CT_VDI_SUSPEND) {
			snprintf(out->why, sizeof(out->why), "a suspend image that no VM refers to "
				 "(owner unknown): reported, not deleted by default");
		} else {
			const struct ct_vdi *src = ct_model_vdi(x->m, v->snapshot_of);

			snprintf(out->why, sizeof(out->why), "a snapshot disk%s%s%s that no snapshot "
				 "VM holds (owner unknown: VDI.snapshot, as CBT backup tools make "
				 "them, or a snapshot removed without its disks)",
				 src ? " of disk '" : "", src ? san(src->name_label, nb1, sizeof(nb1)) :
				 "", src ? "'" : "");
		}
		break;
	case CT_OWN_CHAINTOP:
	case CT_OWN_CHAINTOP_OTHER:
		out->kind = CT_ORPHAN_YES;
		snprintf(out->why, sizeof(out->why), "a disk chaintop made (job '%s') that no VM "
			 "uses: no VBD refers to it", san(out->job, nb1, sizeof(nb1)));
		break;
	default:
		out->kind = CT_ORPHAN_YES;
		snprintf(out->why, sizeof(out->why), "a %s disk that no VM uses: no VBD refers to "
			 "it", v->type == CT_VDI_SYSTEM ? "system" : "user");
		break;
	}
	return out->kind;
}

static bool orphan_candidate(struct eval_ctx *x, const struct ct_vdi_verdict *vv,
			     const struct vdi_info *d)
{
	struct ct_orphan_verdict ov;

	/* the digest's cheap tests first: most VDIs stop here */
	if (vv->in_use || !(d->flags & CT_DG_MANAGED) || (d->flags & CT_DG_MISSING))
		return false;
	if (d->type != CT_VDI_USER && d->type != CT_VDI_SYSTEM)
		return false;
	if (d->virtual_size <= 0 || (d->flags & CT_DG_BUSY))
		return false;
	if (!x->octx.m)
		ct_owner_ctx_init(&x->octx, x->m, x->c);
	return ct_vdi_orphan(&x->octx, vv->vdi, &ov) == CT_ORPHAN_YES;
}

static void vdi_state(struct eval_ctx *x, struct ct_vdi_verdict *vv,
		      const struct ct_sr_verdict *sv, const struct vdi_info *d)
{
	const struct ct_health_conf *h = &sv->health;
	bool managed = !vv->is_base_copy;

	vv->state = CT_VS_OK;
	vv->severity = CT_SEV_OK;
	if (vv->missing_parent || vv->cycle) {
		/* tapdisk opens the whole chain: a missing or looping parent fails the attach */
		vv->state = CT_VS_BROKEN;
		vv->severity = CT_SEV_CRITICAL;
		return;
	}
	if (managed && vv->is_vhd && vv->depth >= h->warn_depth) {
		vv->state = CT_VS_DEEP;
		vv->severity = vv->depth >= h->crit_depth ? CT_SEV_CRITICAL : CT_SEV_WARNING;
		return;
	}
	if (managed && vv->stacked > sv->gate.tolerance) {
		vv->state = CT_VS_STACKED;
		vv->severity = vv->vm ? CT_SEV_WARNING : CT_SEV_OK;
		return;
	}
	if (orphan_candidate(x, vv, d)) {
		vv->state = CT_VS_ORPHAN;
		vv->severity = CT_SEV_WARNING;
		return;
	}
	if (vv->is_base_copy && vv->is_vhd && vv->children == 0) {
		vv->state = CT_VS_GARBAGE;
		return;
	}
	if (vv->pending > 0)
		vv->state = CT_VS_PENDING;
}

/* The vhd-parent string the digest's parent key came from (the last one in sm_config). */
static const char *vhd_parent_of(const struct ct_vdi *v)
{
	const char *pu = NULL;

	for (size_t q = 0; q < v->sm_config.n; q++)
		if (!strcmp(v->sm_config.k[q], "vhd-parent"))
			pu = v->sm_config.v[q];
	return pu;
}

/* The SR's own figures, judged on every evaluation and refresh: limits, space and GC
 * activity, with the counts the states fill in set back to zero. */
static void sr_setup(struct eval_ctx *x, struct ct_sr_verdict *sv)
{
	const struct ct_sr *sr = sv->sr;

	limits_for(x, sr, &sv->gate, &sv->health);
	sv->thick = sr_is_thick(sr);
	sv->free_bytes = sr->physical_size > sr->physical_utilisation ?
		sr->physical_size - sr->physical_utilisation : 0;
	sv->free_percent = sr->physical_size > 0 ?
		100.0 * (double)sv->free_bytes / (double)sr->physical_size : 100.0;
	sv->severity = CT_SEV_OK;
	sv->max_depth = 0;
	sv->stacked = sv->orphans = sv->garbage = sv->broken = sv->deep = 0;
	sv->gc_paused = sv->gc_no_space = sv->coalesce_failed = sv->gc_stalled = false;
	sv->gc_running = sv->gc_silent = sv->gc_idle = false;
	sv->gc_blocked = NULL;
	sv->paused = 0;
	sv->coalesce_error[0] = 0;
	sv->coalesce_error_at = 0;
	sv->switches = sr_switches(sr);
	sv->gc_failed_at = 0;
	sv->gc_error[0] = 0;
	sv->rate = 0;
	sv->eta = -1;
	sv->patience = 0;
	sv->gc_task = 0;
	sv->gc_stuck = sv->gc_stuck_runs = 0;
	sv->gc_stuck_vdi = NULL;
	sv->pending_since = 0;
	sv->refused_vms = 0;
	free(sv->gc_note);
	sv->gc_note = NULL;
	gc_activity(x, sv);
}

/* Is the uuid of the SR's VDI j the one with key k (string str, read only when k is not
 * exact)? */
static bool same_uuid(const struct sr_scratch *s, int j, struct ct_key k, const char *str)
{
	if (!ct_key_eq(s->ku[j], k))
		return false;
	return ct_key_exact(k) || !strcmp(nz(s->rec[j]->o.uuid), nz(str));
}

/* Why SM will never merge local VDI i into its parent (which has i as its only child), or
 * NULL. A visible leaf is leaf-coalesced, anything else coalesced (cleanup.py
 * findCoalesceable, findLeafCoalesceable, gatherLeafCoalesceable). */
static const char *merge_blocked(const struct ct_sr_verdict *sv, const struct sr_scratch *s, int i)
{
	const struct ct_vdi *v;
	const char *lc;

	if (sv->switches & CT_SW_GC_OFF)
		return "garbage collection is off on the SR (other_config gc=false)";
	if (sv->switches & CT_SW_COALESCE_OFF)
		return "coalescing is off on the SR (other_config coalesce=false)";
	if ((s->bits[i] & LB_BASE) || s->nchild[i] > 0)
		return NULL;
	if (sv->switches & CT_SW_LEAF_OFF)
		return "leaf-coalesce is off on the SR (other_config leaf-coalesce=false)";
	if (!(s->inf[i].flags & CT_DG_NO_LEAF))
		return NULL;
	v = s->rec[i];
	if (v->on_boot && !strcasecmp(v->on_boot, "reset"))
		return "the disk is reset on boot (on_boot=reset)";
	if (v->allow_caching)
		return "the disk uses IntelliCache (allow_caching=true)";
	lc = ct_map_get(&v->other_config, "leaf-coalesce");
	if (lc && !strcasecmp(lc, "false"))
		return "leaf-coalesce is off for the disk (other_config leaf-coalesce=false)";
	return NULL;
}

/* One SR: its slice of the model (by_sr) is numbered once (local index = position in the
 * slice); vhd-parents resolve through a uuid -> local index table of digest keys, and from
 * there on the forest is int arrays: parents, child counts, children lists, preorder. The
 * verdicts land in report.vdis[*pos ...] in preorder. */
static void eval_sr(struct eval_ctx *x, int si, int *pos)
{
	struct ct_chain_report *r = x->r;
	struct ct_sr_verdict *sv = &r->srs[si];
	const struct ct_sr *sr = sv->sr;
	struct sr_scratch *s = x->scratch;
	const int *M = &x->by_sr[x->sr_first[si]];
	int n = x->sr_first[si + 1] - x->sr_first[si], base = *pos, top, k, nr;

	sv->vhd = sr_is_vhd(sr);
	sv->n_vdis = n;
	sv->first_vdi = base;
	sv->n_vdi_verdicts = n;
	sr_setup(x, sv);
	scratch_reserve(s, n);

	/* pass 1, in the model's order: all this walk needs, from the digests */
	for (int i = 0; i < n; i++) {
		const struct ct_vdi_digest *d = &x->vd[M[i]];
		unsigned char b = 0;

		if (i + CT_AHEAD < n) {
			/* a digest spans two cache lines */
			__builtin_prefetch(&x->vd[M[i + CT_AHEAD]]);
			__builtin_prefetch((const char *)&x->vd[M[i + CT_AHEAD]] + 64);
			__builtin_prefetch(&x->vdi_rec[M[i + CT_AHEAD]]);
		}
		s->rec[i] = (const struct ct_vdi *)x->vdi_rec[M[i]];
		vkey_vdi(&s->key[i], d, &s->rec[i]->o);
		s->par[i] = -1;
		s->nchild[i] = 0;
		s->color[i] = 0;
		s->mark[i] = false;
		s->linked[i] = false;
		if (!(d->flags & CT_DG_MANAGED))
			b |= LB_BASE;
		if (d->flags & CT_DG_GC_MARK)
			b |= LB_GC_MARK;
		if (d->flags & CT_DG_PAUSED)
			b |= LB_PAUSED;
		/* CBT logs are not chain members: their vhd-parent can be stale */
		if (sv->vhd && !(d->flags & (CT_DG_RAW | CT_DG_NOT_CHAIN))) {
			b |= LB_VHD;
			if (d->flags & CT_DG_SELF_PARENT)
				b |= LB_CYCLE;   /* its own parent */
			else
				s->linked[i] = !ct_key_none(d->parent);
		}
		s->bits[i] = b;
		s->ku[i] = d->uuid;
		s->kp[i] = d->parent;
		s->inf[i].flags = d->flags;
		s->inf[i].type = d->type;
		s->inf[i].virtual_size = d->virtual_size;
		s->inf[i].physical_utilisation = d->physical_utilisation;
	}

	/* pass 2: uuid -> local index; with a uuid twice on the SR (a torn copy) the first
	 * holder in the model's order is the parent, as ct_model_vdi_parent picks it */
	ct_htab_reset(&s->uuids, (size_t)n);
	for (int i = 0; i < n; i++) {
		struct ct_key u = s->ku[i];
		const char *str;
		struct ct_hprobe p;
		uint64_t h;
		long v;

		if (ct_key_none(u))
			continue;
		h = ct_key_hash(u);
		str = ct_key_exact(u) ? NULL : s->rec[i]->o.uuid;
		for (ct_htab_probe(&s->uuids, h, &p); (v = ct_htab_next(&s->uuids, &p)) >= 0;)
			if (same_uuid(s, (int)v, u, str))
				break;
		if (v < 0)
			ct_htab_add(&s->uuids, h, (uint32_t)i);
	}
	/* pass 3: links (hashes first, so the probes can be prefetched) */
	for (int i = 0; i < n; i++)
		if (s->linked[i])
			s->hp[i] = ct_key_hash(s->kp[i]);
	for (int i = 0; i < n; i++) {
		struct ct_key pk;
		const char *str;
		struct ct_hprobe p;
		long v;
		int j = -1;

		if (i + CT_AHEAD < n && s->linked[i + CT_AHEAD])
			ct_htab_prefetch(&s->uuids, s->hp[i + CT_AHEAD]);
		if (!s->linked[i])
			continue;
		pk = s->kp[i];
		str = ct_key_exact(pk) ? NULL : vhd_parent_of(s->rec[i]);
		for (ct_htab_probe(&s->uuids, s->hp[i], &p); (v = ct_htab_next(&s->uuids, &p)) >= 0;)
			if (same_uuid(s, (int)v, pk, str)) {
				j = (int)v;
				break;
			}
		if (j >= 0) {
			s->par[i] = j;
		} else {
			s->bits[i] |= LB_MISSING;
			s->missing[i] = vhd_parent_of(s->rec[i]);
		}
	}
	for (int i = 0; i < n; i++)
		if (s->par[i] >= 0)
			s->nchild[s->par[i]]++;

	/* cycles: walk up from every unvisited node; a grey node met again closes a cycle */
	for (int i = 0; i < n; i++) {
		int sp = 0, j = i;

		if (s->color[i])
			continue;
		while (j >= 0 && s->color[j] == 0) {
			s->color[j] = 1;
			s->stack[sp++] = j;
			j = s->par[j];
		}
		if (j >= 0 && s->color[j] == 1) {
			/* j is on the current path: the path from j to the top is the cycle */
			int q = sp - 1;

			while (q >= 0) {
				int c = s->stack[q];

				s->bits[c] |= LB_CYCLE;
				if (c == j)
					break;
				q--;
			}
			for (; q < sp; q++)
				s->par[s->stack[q]] = -1;
		}
		while (sp > 0)
			s->color[s->stack[--sp]] = 2;
	}

	/* children lists over the cut forest */
	for (int i = 0; i <= n; i++)
		s->first[i] = 0;
	for (int i = 0; i < n; i++) {
		s->fill[i] = 0;
		if (s->par[i] >= 0)
			s->first[s->par[i] + 1]++;
	}
	for (int i = 0; i < n; i++)
		s->first[i + 1] += s->first[i];
	for (int i = 0; i < n; i++)
		if (s->par[i] >= 0) {
			int p = s->par[i];

			s->kids[s->first[p] + s->fill[p]++] = i;
		}

	/* display order: siblings (and roots) sorted, each group on its own */
	for (int i = 0; i < n; i++)
		if (s->first[i + 1] - s->first[i] > 1)
			qsort_r(&s->kids[s->first[i]], (size_t)(s->first[i + 1] - s->first[i]),
				sizeof(*s->kids), cmp_local, s->key);
	nr = 0;
	for (int i = 0; i < n; i++)
		if (s->par[i] < 0)
			s->roots[nr++] = i;
	qsort_r(s->roots, (size_t)nr, sizeof(*s->roots), cmp_local, s->key);
	s->nroots = nr;

	/* preorder from the roots */
	k = 0;
	for (int ri = 0; ri < s->nroots; ri++) {
		top = 0;
		s->stack[top++] = s->roots[ri];
		while (top > 0) {
			int c = s->stack[--top];

			s->order[k++] = c;
			for (int q = s->first[c + 1] - 1; q >= s->first[c]; q--)
				s->stack[top++] = s->kids[q];
		}
	}
	/* k == n: after the cut every node hangs under exactly one root */

	/* place the verdicts in preorder; fill depth, pending, stacked top-down */
	for (int q = 0; q < k; q++)
		s->pos_of[s->order[q]] = q;
	for (int q = 0; q < k; q++) {
		int i = s->order[q], p = s->par[i];
		struct ct_vdi_verdict *vv = &r->vdis[base + q];

		unsigned char b = s->bits[i];

		memset(vv, 0, sizeof(*vv));
		vv->vdi = s->rec[i];
		vv->sr_index = si;
		vv->is_vhd = b & LB_VHD;
		vv->is_base_copy = b & LB_BASE;
		vv->gc_mark = b & LB_GC_MARK;
		vv->paused = b & LB_PAUSED;
		vv->cycle = b & LB_CYCLE;
		vv->missing_parent = b & LB_MISSING ? s->missing[i] : NULL;
		vv->broken_above = -1;
		vv->children = vv->is_vhd ? s->nchild[i] : 0;
		if (p < 0) {
			vv->parent = -1;
			vv->depth = 1;
			vv->pending = 0;
			vv->stacked = 0;
		} else {
			const struct ct_vdi_verdict *pv = &r->vdis[base + s->pos_of[p]];

			vv->parent = base + s->pos_of[p];
			vv->depth = pv->depth + 1;
			s->why[i] = s->nchild[p] == 1 ? merge_blocked(sv, s, i) : NULL;
			vv->no_coalesce = s->why[i];
			vv->pending = pv->pending + (s->nchild[p] == 1 && !s->why[i] ? 1 : 0);
			vv->stacked = pv->stacked +
				(pv->is_base_copy && s->nchild[p] == 1 && vv->is_base_copy ? 1 : 0);
			vv->broken_above = pv->broken_above;
		}
		if (vv->missing_parent || vv->cycle)
			vv->broken_above = base + q;
	}
	/* the report's lookups: model position <-> report index */
	for (int i = 0; i < n; i++) {
		r->idx->info[base + s->pos_of[i]] = s->inf[i];
		x->vdi_report[M[i]] = base + s->pos_of[i];
	}
	/* pending links on the SR, shared ancestors once (XO's Health count) */
	for (int q = 0; q < k; q++) {
		int i = s->order[q];
		uint32_t f = s->inf[i].flags;

		if (!(f & CT_DG_MANAGED) || (f & CT_DG_SNAPSHOT))
			continue;
		for (int c = i, p = s->par[i]; p >= 0 && !s->mark[p]; c = p, p = s->par[p]) {
			s->mark[p] = true;
			if (s->nchild[p] != 1)
				continue;
			/* work SM will never do is not pending */
			if (s->why[c])
				sv->not_coalesced++;
			else
				sv->pending++;
		}
	}
	*pos += n;
}

/* States and SR counts, once every VDI's users are known. */
static void sr_states(struct eval_ctx *x, int si)
{
	struct ct_chain_report *r = x->r;
	struct ct_sr_verdict *sv = &r->srs[si];

	for (int q = sv->first_vdi; q < sv->first_vdi + sv->n_vdi_verdicts; q++) {
		struct ct_vdi_verdict *vv = &r->vdis[q];
		const struct vdi_info *d = &r->idx->info[q];

		if (!vv->in_use && (d->flags & CT_DG_HAS_VBDS)) {
			/* the VDI's own VBD set, for records the VBD records do not cover */
			for (size_t i = 0; i < vv->vdi->vbds.n; i++)
				if (ct_model_vbd(x->m, vv->vdi->vbds.v[i])) {
					vv->in_use = true;
					break;
				}
		}
		if (vv->is_vhd && vv->gc_mark)
			sv->gc_paused = true;
		if (vv->paused)
			sv->paused++;
		vdi_state(x, vv, sv, d);
		if (vv->state == CT_VS_BROKEN || vv->state == CT_VS_ORPHAN ||
		    (vv->state == CT_VS_DEEP && !(d->flags & CT_DG_SNAPSHOT)))
			x->worded[x->n_worded++] = q;
		if (vv->depth > sv->max_depth)
			sv->max_depth = vv->depth;
		switch (vv->state) {
		case CT_VS_STACKED: sv->stacked++; break;
		case CT_VS_ORPHAN: sv->orphans++; break;
		case CT_VS_GARBAGE: sv->garbage++; break;
		case CT_VS_BROKEN: sv->broken++; break;
		case CT_VS_DEEP: sv->deep++; break;
		default: break;
		}
	}
}

/* --- VDI problems --- */

static int count_dependants(const struct ct_chain_report *r, int vi)
{
	const struct ct_sr_verdict *sv = &r->srs[r->vdis[vi].sr_index];
	int end = sv->first_vdi + sv->n_vdi_verdicts, n = 0;

	/* preorder: the subtree is the run of following entries deeper than vi */
	for (int j = vi + 1; j < end && r->vdis[j].broken_above == vi; j++)
		n++;
	return n;
}

static void vdi_problems(struct eval_ctx *x, int vi)
{
	struct ct_chain_report *r = x->r;
	const struct ct_vdi_verdict *vv = &r->vdis[vi];
	const struct ct_sr_verdict *sv = &r->srs[vv->sr_index];
	const struct ct_vdi *v = vv->vdi;
	char srn[NAME_MAX_LEN], vn[NAME_MAX_LEN], lbl[2 * NAME_MAX_LEN], su[9], pu[64], sz[32];
	char vmn[NAME_MAX_LEN];

	if (vv->state != CT_VS_BROKEN && vv->state != CT_VS_ORPHAN &&
	    (vv->state != CT_VS_DEEP || v->is_a_snapshot))
		return;   /* no problem to word: skip building names */
	san(sr_name(sv), srn, sizeof(srn));
	san(v->name_label, vn, sizeof(vn));
	ct_short_uuid(v->o.uuid, su);
	switch (vv->state) {
	case CT_VS_BROKEN: {
		int deps = count_dependants(r, vi);
		char dep[64] = "";

		if (deps > 0)
			snprintf(dep, sizeof(dep), "; %d VDI%s below it depend on it", deps,
				 deps == 1 ? "" : "s");
		if (vv->cycle)
			add_problem(x, CT_PK_BROKEN, vv->severity, &v->o, vv->sr_index, ct_xasprintf(
				"VDI '%s' (%s) on SR '%s' of pool '%s' is part of a vhd-parent cycle "
				"(its chain loops back on itself)%s: this disk may not attach; rescan the SR and check the VHD "
				"headers with vhd-util before snapshotting it", vn, su, srn, x->pool, dep));
		else
			add_problem(x, CT_PK_BROKEN, vv->severity, &v->o, vv->sr_index, ct_xasprintf(
				"VDI '%s' (%s) on SR '%s' of pool '%s' names VHD parent %s, which the SR "
				"does not have%s: this disk may not attach; rescan the SR; if the parent is really gone, restore "
				"the disk from a backup", vn, su, srn, x->pool,
				san(vv->missing_parent, pu, sizeof(pu)), dep));
		break;
	}
	case CT_VS_DEEP:
		if (v->is_a_snapshot)
			break;
		disk_label(vv->vm, vv->vbd, vv->vdi, lbl, sizeof(lbl));
		add_problem(x, CT_PK_DEEP, vv->severity, &v->o, vv->sr_index, ct_xasprintf(
			"%s (VDI %s) on SR '%s' of pool '%s' is %d VHDs deep (warning at %d, critical "
			"at %d; SM refuses snapshots at %d): delete old snapshots%s%s%s and let the "
			"garbage collector coalesce", lbl, su, srn, x->pool, vv->depth,
			sv->health.warn_depth, sv->health.crit_depth, CT_SM_MAX_CHAIN,
			vv->vm ? " of VM '" : "", vv->vm ? san(vv->vm->name_label, vmn, sizeof(vmn)) : "",
			vv->vm ? "'" : ""));
		break;
	case CT_VS_ORPHAN:
		ct_format_bytes(v->virtual_size, sz, sizeof(sz));
		add_problem(x, CT_PK_ORPHAN, CT_SEV_WARNING, &v->o, vv->sr_index, ct_xasprintf(
			"%s '%s' (%s, %s) on SR '%s' of pool '%s' is not used by any VM%s: delete it "
			"if nobody needs it ('chaintop prune' lists orphans)",
			v->is_a_snapshot ? "snapshot VDI" : "VDI", vn, su, sz, srn, x->pool,
			v->is_a_snapshot ? " (its snapshot was removed without its disks)" : ""));
		break;
	default:
		break;
	}
}

/* --- the gate for one VM --- */

/* Effective gate for a disk on an SR: the SR's limits, with the fields a job overrides
 * (those that differ from the global gate) taking precedence. */
static struct ct_gate_conf gate_for(const struct eval_ctx *x, const struct ct_sr_verdict *sv,
				    const struct ct_gate_conf *job)
{
	struct ct_gate_conf g = sv->gate;

	if (!job)
		return g;
	if (job->tolerance != x->c->gate.tolerance)
		g.tolerance = job->tolerance;
	if (job->max_depth != x->c->gate.max_depth)
		g.max_depth = job->max_depth;
	if (job->min_free_percent != x->c->gate.min_free_percent)
		g.min_free_percent = job->min_free_percent;
	g.policy = job->policy;
	g.wait_timeout = job->wait_timeout;
	return g;
}

char *ct_chain_text(const struct ct_chain_report *r, int vi)
{
	struct ct_sb sb;
	char n[NAME_MAX_LEN], u[9], *out;
	int guard = 0;

	ct_sb_init(&sb);
	for (int i = vi; i >= 0 && guard++ <= r->n_vdis; i = r->vdis[i].parent) {
		const struct ct_vdi_verdict *vv = &r->vdis[i];

		if (i != vi)
			ct_sb_adds(&sb, " <- ");
		ct_short_uuid(vv->vdi->o.uuid, u);
		if (vv->is_base_copy)
			ct_sb_addf(&sb, "base copy %s", u);
		else
			ct_sb_addf(&sb, "%s'%s' %s", vv->vdi->is_a_snapshot ? "snapshot " : "",
				   san(vv->vdi->name_label, n, sizeof(n)), u);
		if (i != vi || vv->children > 0)
			ct_sb_addf(&sb, " (%d child%s)", vv->children, vv->children == 1 ? "" : "ren");
		if (vv->cycle)
			ct_sb_adds(&sb, " <- (vhd-parent cycle)");
		else if (vv->missing_parent)
			ct_sb_addf(&sb, " <- missing parent %s", san(vv->missing_parent, n, sizeof(n)));
	}
	ct_sb_addf(&sb, " [depth %d, %d stacked, %d pending]", r->vdis[vi].depth,
		   r->vdis[vi].stacked, r->vdis[vi].pending);
	out = ct_sb_detach(&sb);
	ct_sb_release(&sb);
	return out;
}

/* Copy what the gate reads of the verdict of report VDI vi into a disk entry. */
static void disk_fill(const struct eval_ctx *x, struct vm_disk *d, const struct ct_vbd *vbd, int vi)
{
	const struct ct_vdi_verdict *vv = &x->r->vdis[vi];

	d->vbd = vbd;
	d->vdi = vi;
	d->sr_index = vv->sr_index;
	d->depth = vv->depth;
	d->stacked = vv->stacked;
	d->broken_above = vv->broken_above;
	d->is_vhd = vv->is_vhd;
	d->virtual_size = x->r->idx->info[vi].virtual_size;
}

struct sr_need {
	int sr;
	int64_t bytes;
	struct ct_gate_conf gate;
};

/* Data SM still has to merge on the chains of a VM's disks on SR si (the links above
 * each disk, a shared ancestor once), and how many such links. */
static int64_t vm_sr_work(const struct ct_chain_report *r, const struct vm_disk *dl, int nd,
			  int si, int *links)
{
	int64_t w = 0;

	*links = 0;
	for (int i = 0; i < nd; i++) {
		int guard = 0;

		if (dl[i].sr_index != si || !dl[i].is_vhd)
			continue;
		for (int c = dl[i].vdi; c >= 0 && guard++ <= r->n_vdis; c = r->vdis[c].parent) {
			bool dup = false;

			if (!r->vdis[c].merge_link)
				continue;
			for (int k = 0; k < i && !dup; k++)   /* another disk's chain had it */
				for (int a = dl[k].vdi, g2 = 0; a >= 0 && g2++ <= r->n_vdis && !dup;
				     a = r->vdis[a].parent)
					dup = a == c && dl[k].sr_index == si;
			if (dup)
				continue;
			(*links)++;
			w += r->vdis[c].merge_bytes;
		}
	}
	return w;
}

/* Whether the garbage collector alone brings disk vv under the gate's chain limits: no
 * broken link, every stacked link and enough depth merged away, and a GC that can run on
 * the SR with a measured rate. */
static bool gc_can_clear(const struct ct_sr_verdict *sv, const struct ct_vdi_verdict *vv,
			 const struct ct_gate_conf *g)
{
	if (vv->broken_above >= 0 || sv->rate <= 0 || sv->gc_no_space || sv->gc_blocked ||
	    (sv->switches & (CT_SW_GC_OFF | CT_SW_COALESCE_OFF)))
		return false;
	return vv->depth - vv->pending < g->max_depth;
}

/* The gate for one VM. *eta_out / *work_out (may be NULL) get the VM's gate ETA and the
 * data it waits for (struct ct_vm_verdict gate_eta, gate_work). */
static int judge_vm(struct eval_ctx *x, const struct ct_vm *vm, const struct vm_disk *dl, int nd,
		    const struct ct_gate_conf *job, struct strv *reasons,
		    struct ct_gate_disk **disks_out, int *n_disks_out, long long *eta_out,
		    int64_t *work_out)
{
	struct ct_chain_report *r = x->r;
	struct sr_need few[8];
	/* most VMs have a handful of disks: no allocation for them */
	struct sr_need *need = nd < 8 ? few : ct_xcalloc((size_t)nd + 1, sizeof(*need));
	int n_need = 0, max_depth = 0, n_disks = 0, n_space = 0;
	char vmn[NAME_MAX_LEN], srn[NAME_MAX_LEN], lbl[2 * NAME_MAX_LEN], su[9], gcp[400];
	char eta_txt[320];
	long long eta = -1;
	int64_t work = 0;
	bool eta_ok = true, chain_refused = false;
	int *counted = NULL, n_counted = 0;

	if (disks_out)
		*disks_out = ct_xcalloc((size_t)nd + 1, sizeof(**disks_out));
	for (int i = 0; i < nd; i++) {
		const struct ct_vbd *vbd = dl[i].vbd;
		const struct ct_vdi *v;
		const struct ct_vdi_verdict *vv;
		const struct ct_sr_verdict *sv;
		struct ct_gate_conf g;
		int vi = dl[i].vdi, k;

		sv = &r->srs[dl[i].sr_index];
		g = gate_for(x, sv, job);
		if (disks_out) {
			struct ct_gate_disk *d = &(*disks_out)[n_disks];

			d->vdi = r->vdis[vi].vdi;
			d->vbd = vbd;
			d->depth = r->vdis[vi].depth;
			d->stacked = r->vdis[vi].stacked;
			d->pending = r->vdis[vi].pending;
			d->chain = ct_chain_text(r, vi);
		}
		n_disks++;
		if (dl[i].depth > max_depth)
			max_depth = dl[i].depth;
		if (!dl[i].is_vhd)
			continue;
		if (dl[i].broken_above < 0 && dl[i].stacked <= g.tolerance && dl[i].depth < g.max_depth)
			goto space;   /* nothing to say about this disk: skip building names */
		vv = &r->vdis[vi];
		v = vv->vdi;
		san(vm->name_label, vmn, sizeof(vmn));
		disk_label(vm, vbd, v, lbl, sizeof(lbl));
		ct_short_uuid(v->o.uuid, su);
		san(sr_name(sv), srn, sizeof(srn));
		eta_txt[0] = '\0';
		chain_refused = true;
		if (gc_can_clear(sv, vv, &g)) {
			int links;
			int64_t w = vm_sr_work(r, dl, nd, dl[i].sr_index, &links);
			long long t = (long long)((double)w / sv->rate + 0.5);
			char wb[32], rb[32], tb[32];

			ct_format_bytes(w, wb, sizeof(wb));
			ct_format_bytes((int64_t)(sv->rate * 3600.0), rb, sizeof(rb));
			ct_format_duration(t, tb, sizeof(tb));
			snprintf(eta_txt, sizeof(eta_txt), "; the gate should pass again in about %s "
				 "(%s still to merge on %d link%s of this VM's chains at the SR's "
				 "measured %s/h)", tb, wb, links, links == 1 ? "" : "s", rb);
			if (t > eta)
				eta = t;
			for (k = 0; k < n_counted && counted[k] != dl[i].sr_index; k++)
				;
			if (k == n_counted) {   /* one SR's figure once, whatever its disks */
				if (!counted)
					counted = ct_xcalloc((size_t)nd + 1, sizeof(*counted));
				counted[n_counted++] = dl[i].sr_index;
				work += w;
			}
		} else {
			eta_ok = false;
		}
		if (vv->broken_above >= 0) {
			const struct ct_vdi_verdict *bv = &r->vdis[vv->broken_above];
			char bn[NAME_MAX_LEN], bu[9];

			ct_short_uuid(bv->vdi->o.uuid, bu);
			strv_add(reasons, vv->sr_index, CT_PK_BROKEN, ct_xasprintf(
				"%s (VDI %s) on SR '%s' of pool '%s' sits on a broken chain: %s '%s' "
				"(%s) %s; a snapshot would fail or build on damaged data: rescan the SR "
				"and check the VHD headers", lbl, su, srn, x->pool,
				bv->is_base_copy ? "base copy" : "VDI", san(bv->vdi->name_label, bn, sizeof(bn)),
				bu, bv->cycle ? "is part of a vhd-parent cycle" :
				"names a VHD parent the SR does not have"));
		}
		if (vv->stacked > g.tolerance) {
			gc_phrase(sv, gcp, sizeof(gcp));
			strv_add(reasons, vv->sr_index, CT_PK_STACKED, ct_xasprintf(
				"%d stacked base cop%s above %s (VDI %s) on SR '%s' of pool '%s' "
				"(tolerance %d); %s: let it coalesce them before snapshotting%s",
				vv->stacked, vv->stacked == 1 ? "y" : "ies", lbl, su, srn, x->pool,
				g.tolerance, gcp, eta_txt));
			eta_txt[0] = '\0';   /* said once per disk */
		}
		if (vv->depth >= g.max_depth)
			strv_add(reasons, vv->sr_index, CT_PK_DEEP, ct_xasprintf(
				"%s (VDI %s) on SR '%s' of pool '%s' is %d VHDs deep (limit %d; a snapshot "
				"adds one level and SM refuses snapshots at depth %d): delete old "
				"snapshots of VM '%s' and let the garbage collector coalesce%s",
				lbl, su, srn, x->pool, vv->depth, g.max_depth, CT_SM_MAX_CHAIN, vmn,
				eta_txt));
space:
		for (k = 0; k < n_need; k++)
			if (need[k].sr == dl[i].sr_index)
				break;
		if (k == n_need) {
			need[n_need].sr = dl[i].sr_index;
			need[n_need].bytes = 0;
			need[n_need].gate = g;
			n_need++;
		}
		need[k].bytes += dl[i].virtual_size > 0 ? dl[i].virtual_size : 0;
	}
	for (int k = 0; k < n_need; k++) {
		const struct ct_sr_verdict *sv = &r->srs[need[k].sr];
		char fb[32], nb[32];

		if (sv->sr->physical_size <= 0)
			continue;
		if (!(sv->thick && sv->free_bytes < need[k].bytes) &&
		    !(!sv->thick && sv->free_percent < need[k].gate.min_free_percent))
			continue;
		n_space++;
		san(vm->name_label, vmn, sizeof(vmn));
		san(sr_name(sv), srn, sizeof(srn));
		ct_format_bytes(sv->free_bytes, fb, sizeof(fb));
		if (sv->thick && sv->free_bytes < need[k].bytes) {
			ct_format_bytes(need[k].bytes, nb, sizeof(nb));
			strv_add(reasons, need[k].sr, CT_PK_SR_FREE, ct_xasprintf(
				"SR '%s' of pool '%s' (thick, %s) has %s free, less than the %s a snapshot "
				"of VM '%s' needs (the virtual size of its disks there): free space on the "
				"SR first", srn, x->pool, nz(sv->sr->type), fb, nb, vmn));
		} else if (!sv->thick && sv->free_percent < need[k].gate.min_free_percent) {
			strv_add(reasons, need[k].sr, CT_PK_SR_FREE, ct_xasprintf(
				"SR '%s' of pool '%s' has %.1f%% free (%s; minimum %d%% for a snapshot of "
				"VM '%s'): free space on the SR first", srn, x->pool, sv->free_percent, fb,
				need[k].gate.min_free_percent, vmn));
		}
	}
	if (n_disks_out)
		*n_disks_out = n_disks;
	free(counted);
	if (eta_out)
		*eta_out = chain_refused && eta_ok && n_space == 0 ? eta : -1;
	if (work_out)
		*work_out = chain_refused && eta_ok && n_space == 0 ? work : 0;
	if (need != few)
		free(need);
	return max_depth;
}

/* --- per SR problems and the stall tracker --- */

static struct ct_stall_entry *stall_find(struct ct_stall *s, const char *uuid)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->e[i].sr_uuid, uuid))
			return &s->e[i];
	return NULL;
}

/* The SR's merge rate: work merged over the time a GC ran (or SM, not reporting its GC,
 * may have), as a moving average of the merges seen; then the ETA of the work left. The
 * baseline moves on while no GC runs, stays while one runs, and a decrease seen within the
 * baseline's second waits for the clock so that it is not lost. */
static void measure_rate(struct eval_ctx *x, struct ct_stall_entry *e, struct ct_sr_verdict *sv)
{
	bool working = sv->gc_running || sv->gc_silent;

	if (e->work_at > 0 && sv->work_bytes < e->work_last) {
		if (x->now > e->work_at) {
			if (working) {
				double sample = (double)(e->work_last - sv->work_bytes) /
					(double)(x->now - e->work_at);

				e->rate = e->rate > 0 ? 0.7 * e->rate + 0.3 * sample : sample;
			}
			e->work_last = sv->work_bytes;
			e->work_at = x->now;
		}
	} else if (e->work_at <= 0 || sv->work_bytes > e->work_last || !working) {
		e->work_last = sv->work_bytes;
		e->work_at = x->now;
	}
	sv->rate = e->rate;
	sv->eta = e->rate > 0 ? (long long)((double)sv->work_bytes / e->rate + 0.5) : -1;
}

static struct ct_stall_cand *cand_find(struct ct_stall_entry *e, uint64_t h)
{
	for (int i = 0; i < e->n_cand; i++)
		if (e->cand[i].h == h)
			return &e->cand[i];
	return NULL;
}

/* "The same candidate still there after N GC runs": on each new GC run (a GC task with a
 * new ref) every base copy SM has to merge counts one more run; those gone are forgotten.
 * cleanup.py skips a candidate whose merge failed for the rest of a run (and
 * _failedCoalesceTargets), so a merge that keeps failing survives run after run. */
static void gc_runs(struct eval_ctx *x, struct ct_stall_entry *e, struct ct_sr_verdict *sv)
{
	const struct ct_chain_report *r = x->r;
	int end = sv->first_vdi + sv->n_vdi_verdicts, keep = 0;

	if (sv->gc_running && sv->gc_task && sv->gc_task != e->gc_task) {
		e->gc_task = sv->gc_task;
		for (int i = 0; i < e->n_cand; i++)
			e->cand[i].runs = -e->cand[i].runs - 1;   /* unseen mark: -(runs + 1) */
		for (int q = sv->first_vdi; q < end; q++) {
			const struct ct_vdi_verdict *vv = &r->vdis[q];
			struct ct_stall_cand *c;
			uint64_t h;

			if (!vv->merge_link || !vv->is_base_copy)
				continue;
			h = str_hash(nz(vv->vdi->o.uuid));
			c = cand_find(e, h);
			if (c) {
				if (c->runs < 0)
					c->runs = -c->runs;   /* -(runs + 1): seen again, one run more */
				continue;
			}
			if (e->n_cand == e->cap_cand) {
				e->cap_cand = e->cap_cand ? e->cap_cand * 2 : 8;
				e->cand = ct_xrealloc(e->cand, (size_t)e->cap_cand * sizeof(*e->cand));
			}
			e->cand[e->n_cand].h = h;
			e->cand[e->n_cand++].runs = 0;
		}
		for (int i = 0; i < e->n_cand; i++)
			if (e->cand[i].runs >= 0)
				e->cand[keep++] = e->cand[i];
		e->n_cand = keep;
	}
	if (sv->gc_no_space || sv->gc_silent)
		return;   /* said otherwise */
	for (int i = 0; i < e->n_cand; i++)
		if (e->cand[i].runs >= CT_GC_FAIL_RUNS)
			keep = -1;
	if (keep != -1)
		return;
	for (int q = sv->first_vdi; q < end; q++) {
		const struct ct_vdi_verdict *vv = &r->vdis[q];
		struct ct_stall_cand *c;

		if (!vv->merge_link || !vv->is_base_copy)
			continue;
		c = cand_find(e, str_hash(nz(vv->vdi->o.uuid)));
		if (!c || c->runs < CT_GC_FAIL_RUNS)
			continue;
		sv->gc_stuck++;
		if (c->runs > sv->gc_stuck_runs) {
			sv->gc_stuck_runs = c->runs;
			sv->gc_stuck_vdi = vv->vdi;
		}
	}
}

static void stall_update(struct eval_ctx *x, struct ct_stall *s, struct ct_sr_verdict *sv)
{
	const char *uuid = nz(sv->sr->o.uuid);
	struct ct_stall_entry *e;
	time_t last;

	if (!*uuid || strlen(uuid) >= sizeof(e->sr_uuid))
		return;
	e = stall_find(s, uuid);
	/* a merge seen in the chain (less work left) is progress, whatever the task says:
	 * SM moves its task's progress only between whole merges */
	if (e && e->work_at > 0 && sv->work_bytes < e->work_last)
		e->gc_progress_at = x->now;
	if (e)
		measure_rate(x, e, sv);
	if (e && sv->gc_failed_at > 0)
		e->gc_failed_at = sv->gc_failed_at;
	else if (e && e->gc_failed_at > 0 && x->now - e->gc_failed_at <= CT_CHAIN_MSG_WINDOW)
		sv->gc_failed_at = e->gc_failed_at;   /* the task is gone, the failure is not */
	if (sv->pending == 0) {
		if (e && e->rate > 0) {
			/* nothing pending: keep only the measured rate */
			e->pending = 0;
			e->since = 0;
			free(e->cand);
			e->cand = NULL;
			e->n_cand = e->cap_cand = 0;
		} else if (e) {
			free(e->cand);
			*e = s->e[--s->n];
		}
		return;
	}
	if (!e) {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 8;
			s->e = ct_xrealloc(s->e, (size_t)s->cap * sizeof(*s->e));
		}
		e = &s->e[s->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->sr_uuid, sizeof(e->sr_uuid), "%s", uuid);
		e->pending = sv->pending;
		e->since = x->now;
		e->gc_progress = sv->gc_progress;
		e->gc_progress_at = sv->gc_progress >= 0 ? x->now : 0;
		e->gc_failed_at = sv->gc_failed_at;
		measure_rate(x, e, sv);
	} else {
		if (sv->pending < e->pending || e->since <= 0)
			e->since = x->now;
		e->pending = sv->pending;
		if (sv->gc_progress >= 0 &&
		    (e->gc_progress < 0 || fabs(sv->gc_progress - e->gc_progress) > 1e-9))
			e->gc_progress_at = x->now;
		e->gc_progress = sv->gc_progress;
	}
	if (sv->gc_running)
		e->gc_seen_at = x->now;
	gc_runs(x, e, sv);
	sv->pending_since = e->since;
	if (sv->gc_blocked)
		return;   /* said on its own: the GC cannot run */
	/* no GC task for a while with work waiting: idle (SM ends its GC when it finds no work
	 * it can do, and only an SR scan or a VDI delete starts it again) */
	last = e->since > e->gc_seen_at ? e->since : e->gc_seen_at;
	if (!sv->gc_running && !sv->gc_silent && x->now - last >= CT_GC_IDLE_AFTER) {
		sv->gc_idle = true;
		return;
	}
	last = e->since > e->gc_progress_at ? e->since : e->gc_progress_at;
	/* SM reports nothing during a merge: a large pair legitimately takes hours, so wait
	 * at least twice its time at the measured rate */
	sv->patience = sv->health.stall_after;
	if (sv->rate > 0 && sv->merge_max > 0 &&
	    2.0 * (double)sv->merge_max / sv->rate > (double)sv->patience)
		sv->patience = (long long)(2.0 * (double)sv->merge_max / sv->rate + 0.5);
	if (sv->health.stall_after > 0 && x->now - last >= (time_t)sv->patience) {
		sv->gc_stalled = true;
		sv->pending_since = last;
	}
}

/* Since when VDI uuid has been paused with no GC running (now when first seen). */
static time_t paused_since(struct eval_ctx *x, struct ct_stall *s, const char *uuid)
{
	struct ct_paused_entry *p = NULL;

	if (!s || !*uuid || strlen(uuid) >= sizeof(p->vdi_uuid))
		return x->now;
	for (int i = 0; i < s->np; i++)
		if (!strcmp(s->p[i].vdi_uuid, uuid)) {
			p = &s->p[i];
			break;
		}
	if (!p) {
		if (s->np == s->pcap) {
			s->pcap = s->pcap ? s->pcap * 2 : 8;
			s->p = ct_xrealloc(s->p, (size_t)s->pcap * sizeof(*s->p));
		}
		p = &s->p[s->np++];
		memset(p, 0, sizeof(*p));
		snprintf(p->vdi_uuid, sizeof(p->vdi_uuid), "%s", uuid);
		p->since = x->now;
	}
	p->seen = true;
	return p->since;
}

/* A paused disk with no GC running on its SR: tapdisk is paused and I/O to it is frozen
 * (a snapshot, migration or resize pauses it; a failure can leave it so). The GC pauses a
 * leaf only for a live leaf-coalesce, while its task runs. */
static void paused_problems(struct eval_ctx *x, int si, struct ct_stall *stall)
{
	struct ct_sr_verdict *sv = &x->r->srs[si];
	char srn[NAME_MAX_LEN], lbl[2 * NAME_MAX_LEN], su[9], t[64];

	if (!sv->paused || sv->gc_running)
		return;
	san(sr_name(sv), srn, sizeof(srn));
	for (int q = sv->first_vdi; q < sv->first_vdi + sv->n_vdi_verdicts; q++) {
		const struct ct_vdi_verdict *vv = &x->r->vdis[q];
		time_t since;
		bool crit;

		if (!vv->paused)
			continue;
		since = paused_since(x, stall, nz(vv->vdi->o.uuid));
		crit = x->now - since >= CT_PAUSED_CRIT_AFTER;
		disk_label(vv->vm, vv->vbd, vv->vdi, lbl, sizeof(lbl));
		ct_short_uuid(vv->vdi->o.uuid, su);
		verdict_time(since, t, sizeof(t));
		add_problem(x, CT_PK_PAUSED_FROZEN, crit ? CT_SEV_CRITICAL : CT_SEV_WARNING, &vv->vdi->o,
			    si, ct_xasprintf(
			"%s (VDI %s) on SR '%s' of pool '%s' is paused (sm_config paused, seen since "
			"%s) and no garbage collection runs there: disk I/O frozen%s; on the host "
			"running it check 'tap-ctl list' and 'tap-ctl unpause' the tapdisk, or if it "
			"is not paused remove the stale flag: xe vdi-param-remove uuid=%s "
			"param-name=sm-config param-key=paused", lbl, su, srn, x->pool, t,
			crit ? " for over 2 minutes" : "", nz(vv->vdi->o.uuid)));
	}
}

/* SM's "failed to unpause tapdisk" (priority 4, cls SR, the VDI's uuid in the body): the
 * VMs using that tapdisk have lost their disk. Kept until the message is dismissed. */
static void unpause_problems(struct eval_ctx *x, int si)
{
	struct ct_sr_verdict *sv = &x->r->srs[si];
	size_t n;
	struct ct_message *const *msgs = ct_model_messages_for(x->m, nz(sv->sr->o.uuid), &n);
	char srn[NAME_MAX_LEN], lbl[2 * NAME_MAX_LEN], vmn[NAME_MAX_LEN], u[40], t[64], su[9];
	char who[NAME_MAX_LEN + 16];

	for (size_t i = 0; i < n; i++) {
		const struct ct_message *msg = msgs[i];
		const char *p = msg->body ? strstr(msg->body, "VDI ") : NULL;
		const struct ct_vdi *v;
		const struct ct_vm *vm = NULL;
		const struct ct_vbd *vbd = NULL;
		bool dup = false;
		size_t k = 0;

		if (!msg->name || strcmp(msg->name, CT_MSG_UNPAUSE_FAILED))
			continue;
		if (p)
			for (p += 4; k + 1 < sizeof(u) && p[k] && p[k] != ',' && p[k] != ' '; k++)
				u[k] = p[k];
		u[k] = 0;
		for (size_t j = 0; j < i && !dup; j++)   /* newest first: one problem a VDI */
			dup = msgs[j]->name && !strcmp(msgs[j]->name, CT_MSG_UNPAUSE_FAILED) &&
				msgs[j]->body && *u && strstr(msgs[j]->body, u);
		if (dup)
			continue;
		v = *u ? (const struct ct_vdi *)ct_model_find_uuid(x->m, CT_VDI, u) : NULL;
		if (v) {
			size_t nb;
			struct ct_vbd *const *vbds = ct_model_vdi_vbds(x->m, v, &nb);

			for (size_t j = 0; j < nb && !vm; j++) {
				const struct ct_vm *c = ct_model_vm(x->m, vbds[j]->vm);

				if (c && !c->is_control_domain && !c->is_a_snapshot) {
					vm = c;
					vbd = vbds[j];
				}
			}
			disk_label(vm, vbd, v, lbl, sizeof(lbl));
		} else {
			snprintf(lbl, sizeof(lbl), "a disk");
		}
		san(sr_name(sv), srn, sizeof(srn));
		verdict_time(msg->timestamp, t, sizeof(t));
		ct_short_uuid(*u ? u : NULL, su);
		if (vm)
			snprintf(who, sizeof(who), "VM '%s' has", san(vm->name_label, vmn, sizeof(vmn)));
		else
			snprintf(who, sizeof(who), "the VMs using it have");
		add_problem(x, CT_PK_UNPAUSE_FAILED, CT_SEV_CRITICAL, v ? &v->o : &sv->sr->o, si,
			    ct_xasprintf(
			"tapdisk of %s (VDI %s) on SR '%s' of pool '%s' could not be unpaused at %s "
			"(SM message '%s'): %s lost access to the disk; restart %s to reattach it, "
			"then dismiss the message: xe message-destroy uuid=%s",
			lbl, *u ? su : "unknown", srn, x->pool, t, CT_MSG_UNPAUSE_FAILED, who,
			vm ? "the VM" : "them", nz(msg->o.uuid)));
	}
}

static void sr_problems(struct eval_ctx *x, int si, struct ct_stall *stall)
{
	struct ct_sr_verdict *sv = &x->r->srs[si];
	const struct ct_sr *sr = sv->sr;
	char srn[NAME_MAX_LEN], fb[32], tb[32], gcp[400], t[64], d[32], ce[192];
	int wait = sv->pending + ((sv->switches & CT_SW_GC_OFF) ? sv->not_coalesced : 0);

	unpause_problems(x, si);
	paused_problems(x, si, stall);
	if (!sv->vhd)
		return;
	san(sr_name(sv), srn, sizeof(srn));
	if (sr->physical_size > 0 && sv->free_percent < sv->health.crit_free_percent) {
		ct_format_bytes(sv->free_bytes, fb, sizeof(fb));
		ct_format_bytes(sr->physical_size, tb, sizeof(tb));
		add_problem(x, CT_PK_SR_FREE, CT_SEV_CRITICAL, &sr->o, si, ct_xasprintf(
			"SR '%s' of pool '%s' has %.1f%% free (%s of %s; critical below %d%%): free "
			"space now, snapshots and coalescing fail when it fills", srn, x->pool,
			sv->free_percent, fb, tb, sv->health.crit_free_percent));
	}
	ce[0] = 0;
	if (sv->coalesce_error[0]) {
		char en[72];

		verdict_time(sv->coalesce_error_at, t, sizeof(t));
		snprintf(ce, sizeof(ce), " ('%s' at %s)", san(sv->coalesce_error, en, sizeof(en)), t);
	}
	if (sv->gc_no_space)
		add_problem(x, CT_PK_GC_NO_SPACE, CT_SEV_CRITICAL, &sr->o, si, ct_xasprintf(
			"the garbage collector of SR '%s' of pool '%s' reported it is out of space "
			"(SM_GC_NO_SPACE, sm_config gc_no_space)%s: coalescing is blocked and chains "
			"will grow; free space on the SR", srn, x->pool, ce));
	if (sv->coalesce_failed) {
		if (!ce[0]) {
			verdict_time(sv->coalesce_error_at, t, sizeof(t));
			snprintf(ce, sizeof(ce), " at %s (sm_config last-coalesce-error)", t);
		}
		add_problem(x, CT_PK_COALESCE_ERROR, CT_SEV_WARNING, &sr->o, si, ct_xasprintf(
			"the garbage collector of SR '%s' of pool '%s' reported a coalesce error%s: "
			"read SMlog on the pool master ('grep SMGC /var/log/SMlog')", srn, x->pool, ce));
	}
	if (sv->gc_failed_at > 0) {
		verdict_time(sv->gc_failed_at, t, sizeof(t));
		add_problem(x, CT_PK_GC_FAILED, CT_SEV_WARNING, &sr->o, si, ct_xasprintf(
			"the garbage collector of SR '%s' of pool '%s' failed (its task ended in "
			"failure, seen %s%s%s%s): it stops until the next SR scan; read SMlog on the "
			"pool master ('grep SMGC /var/log/SMlog')", srn, x->pool, t,
			sv->gc_error[0] ? ": " : "", sv->gc_error,
			sv->gc_error[0] ? "" : "; the task is gone"));
	}
	if (sv->gc_blocked && wait > 0)
		add_problem(x, CT_PK_GC_BLOCKED, CT_SEV_WARNING, &sr->o, si, ct_xasprintf(
			"the garbage collector of SR '%s' of pool '%s' cannot run: %s; %d link%s wait "
			"to be coalesced: %s%s%s", srn, x->pool, sv->gc_blocked, wait, wait == 1 ? "" : "s",
			(sv->switches & CT_SW_GC_OFF) ?
			"once nobody needs it off, remove the switch: xe sr-param-remove "
			"param-name=other-config param-key=gc uuid=" :
			"plug the SR there (xe pbd-plug) and scan it", (sv->switches & CT_SW_GC_OFF) ?
			nz(sr->o.uuid) : "", ""));
	if (sv->need_bytes > sv->free_bytes && sr->physical_size > 0 && !sv->gc_no_space &&
	    sv->need_vdi) {
		char nb[32], vn[NAME_MAX_LEN], vu[9];

		ct_format_bytes(sv->need_bytes, nb, sizeof(nb));
		ct_format_bytes(sv->free_bytes, fb, sizeof(fb));
		ct_short_uuid(sv->need_vdi->o.uuid, vu);
		add_problem(x, CT_PK_GC_NEEDS_SPACE, CT_SEV_WARNING, &sr->o, si, ct_xasprintf(
			"the garbage collector of SR '%s' of pool '%s' needs %s free to merge %s '%s' "
			"(%s) into its parent and has %s (%s): SM will skip that merge and report "
			"SM_GC_NO_SPACE, and the chain will grow; free space on the SR", srn, x->pool,
			nb, sv->need_vdi->managed ? "VDI" : "base copy",
			san(sv->need_vdi->name_label, vn, sizeof(vn)), vu, fb,
			sv->work_estimated ? "estimated from physical_utilisation where vhd-blocks is "
			"missing" : "from SM's vhd-blocks"));
	}
	if (sv->pending >= sv->health.coalesce_warn) {
		gc_phrase(sv, gcp, sizeof(gcp));
		add_problem(x, CT_PK_PENDING, CT_SEV_WARNING, &sr->o, si, ct_xasprintf(
			"SR '%s' of pool '%s' has %d VDIs pending coalesce (warning at %d); %s",
			srn, x->pool, sv->pending, sv->health.coalesce_warn, gcp));
	}
	if (sv->gc_idle)
		add_problem(x, CT_PK_GC_IDLE, CT_SEV_WARNING, &sr->o, si, ct_xasprintf(
			"the garbage collector of SR '%s' of pool '%s' is idle: %d link%s wait and no "
			"garbage collection has run for over 10 minutes; an SR scan restarts it "
			"('chaintop scan --sr %s' or xe sr-scan uuid=%s)", srn, x->pool, sv->pending,
			sv->pending == 1 ? "" : "s", nz(sr->o.uuid), nz(sr->o.uuid)));
	if (sv->gc_stuck > 0 && sv->gc_stuck_vdi) {
		char vu[9], more[48] = "";

		ct_short_uuid(sv->gc_stuck_vdi->o.uuid, vu);
		if (sv->gc_stuck > 1)
			snprintf(more, sizeof(more), ", nor %d other%s", sv->gc_stuck - 1,
				 sv->gc_stuck == 2 ? "" : "s");
		add_problem(x, CT_PK_GC_FAILED, CT_SEV_WARNING, &sr->o, si, ct_xasprintf(
			"the garbage collector of SR '%s' of pool '%s' is failing: base copy %s is still "
			"not merged into its parent after %d GC runs%s (SM skips a merge that failed "
			"for the rest of each run); read SMlog on the pool master ('grep SMGC "
			"/var/log/SMlog') for %s", srn, x->pool, vu, sv->gc_stuck_runs, more,
			nz(sv->gc_stuck_vdi->o.uuid)));
	}
	if (sv->gc_stalled) {
		char why[160] = "";

		verdict_time(sv->pending_since, t, sizeof(t));
		ct_format_duration(sv->patience, d, sizeof(d));
		if (sv->patience > sv->health.stall_after) {
			char mb[32], rb[32];

			ct_format_bytes(sv->merge_max, mb, sizeof(mb));
			ct_format_bytes((int64_t)(sv->rate * 3600.0), rb, sizeof(rb));
			snprintf(why, sizeof(why), " (twice the time its largest merge, %s, takes at "
				 "the measured %s/h)", mb, rb);
		}
		add_problem(x, CT_PK_GC_STALLED, CT_SEV_WARNING, &sr->o, si, ct_xasprintf(
			"GC stalled since %s on SR '%s' of pool '%s': %d VDI%s pending coalesce and no "
			"merge finished for over %s%s%s; check that the garbage collector runs (SMlog, "
			"'xe sr-scan') and that the SR has room", t, srn, x->pool, sv->pending,
			sv->pending == 1 ? "" : "s", d, why, sv->gc_silent ?
			" (this SM does not report its garbage collector as a task)" :
			sv->gc_running ? " although a garbage collection task runs" : ""));
	}
	free(sv->gc_note);
	sv->gc_note = NULL;
	if (sv->gc_no_space)
		sv->gc_note = ct_xstrdup("GC out of space");
	else if (sv->gc_blocked && wait > 0)
		sv->gc_note = ct_xstrdup("GC cannot run");
	else if (sv->gc_stuck > 0)
		sv->gc_note = ct_xasprintf("GC failing: a merge still waits after %d runs",
					   sv->gc_stuck_runs);
	else if (sv->gc_stalled) {
		verdict_time(sv->pending_since, t, sizeof(t));
		sv->gc_note = ct_xasprintf("GC stalled since %s", t);
	} else if (sv->gc_progress >= 0)
		sv->gc_note = ct_xasprintf("GC at %.0f%%", sv->gc_progress * 100.0);
	else if (sv->gc_paused)
		sv->gc_note = ct_xstrdup("GC relinking a chain");
	else if (sv->gc_idle)
		sv->gc_note = ct_xstrdup("GC idle");
}

/* Disks plugged into a control domain (a VBD of dom0, attached): the classic cause of a
 * coalesce that never happens (SM cannot merge a VHD a tapdisk in dom0 holds open), left
 * behind by a backup or tool that crashed. */
static void dom0_problems(struct eval_ctx *x)
{
	size_t nvm = ct_model_count(x->m, CT_VM);
	char vn[NAME_MAX_LEN], hn[NAME_MAX_LEN], srn[NAME_MAX_LEN], su[9];

	for (size_t i = 0; i < nvm; i++) {
		const struct ct_vm *vm;
		const struct ct_host *h;
		struct ct_vbd *const *vbds;
		size_t nb;

		if (x->md[i].flags & (CT_DG_REAL_VM | CT_DG_SNAPSHOT))
			continue;
		vm = (const struct ct_vm *)x->vm_rec[i];
		if (!vm->is_control_domain)
			continue;
		h = ct_model_host(x->m, vm->resident_on);
		vbds = ct_model_vm_vbds(x->m, vm, &nb);
		for (size_t k = 0; k < nb; k++) {
			const struct ct_vbd *b = vbds[k];
			const struct ct_vdi *v;
			const struct ct_sr_verdict *sv;
			int vi;

			if (b->type != CT_VBD_DISK || !b->currently_attached)
				continue;
			v = ct_model_vdi(x->m, b->vdi);
			vi = v ? ct_chain_find_vdi(x->r, v) : -1;
			if (vi < 0)
				continue;
			sv = &x->r->srs[x->r->vdis[vi].sr_index];
			if (!sv->vhd)
				continue;
			ct_short_uuid(v->o.uuid, su);
			add_problem(x, CT_PK_DOM0_ATTACHED, CT_SEV_WARNING, &v->o,
				    x->r->vdis[vi].sr_index, ct_xasprintf(
				"VDI '%s' (%s) on SR '%s' of pool '%s' is attached to the control domain "
				"of host '%s': a disk plugged into dom0 keeps the garbage collector from "
				"coalescing its chain; if no backup or tool is using it, unplug it: "
				"xe vbd-unplug uuid=%s; xe vbd-destroy uuid=%s",
				san(v->name_label, vn, sizeof(vn)), su, san(sr_name(sv), srn, sizeof(srn)),
				x->pool, san(h ? h->name_label : vm->name_label, hn, sizeof(hn)),
				nz(b->o.uuid), nz(b->o.uuid)));
		}
	}
}

/* --- work left: vhd-blocks (SM cleanup.py, vhdutil.py) --- */

#define VHD_BLOCK ((int64_t)2 << 20)        /* vhdutil.VHD_BLOCK_SIZE */
#define VHD_BITMAP_MAX ((size_t)1 << 22)    /* 32 Mi blocks = 64 TiB: larger is not a VHD */

/* A VDI's block bitmap from sm_config vhd-blocks: base64 of zlib of the BAT bitmap. Returns
 * an allocated buffer (its length in *len) or NULL when absent or undecodable. */
static unsigned char *vhd_blocks(const struct ct_vdi *v, size_t *len)
{
	const char *b64 = ct_map_get(&v->sm_config, "vhd-blocks");
	unsigned char *z = NULL, *out = NULL;
	size_t n, zl;
	uLongf ol;
	int dl;

	if (!b64 || !*b64 || (n = strlen(b64)) % 4 || n > 4 * (VHD_BITMAP_MAX / 3))
		return NULL;
	z = ct_xmalloc(n / 4 * 3 + 1);
	dl = EVP_DecodeBlock(z, (const unsigned char *)b64, (int)n);
	if (dl < 0)
		goto fail;
	zl = (size_t)dl - (n >= 1 && b64[n - 1] == '=') - (n >= 2 && b64[n - 2] == '=');
	ol = VHD_BITMAP_MAX;
	out = ct_xmalloc(ol);
	if (uncompress(out, &ol, z, (uLong)zl) != Z_OK)
		goto fail;
	free(z);
	*len = ol;
	return out;
fail:
	free(z);
	free(out);
	return NULL;
}

/* Blocks set in a | b (either may be NULL). */
static int64_t union_blocks(const unsigned char *a, size_t la, const unsigned char *b, size_t lb)
{
	size_t n = la > lb ? la : lb;
	int64_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += __builtin_popcount((unsigned)((i < la ? a[i] : 0) | (i < lb ? b[i] : 0)));
	return c;
}

static int64_t roundup64(int64_t d, int64_t v)
{
	return (v + d - 1) / d * d;
}

/* vhdutil.calcOverheadEmpty and calcOverheadBitmap. */
static int64_t vhd_overhead_empty(int64_t virt)
{
	int64_t mb = virt / (1 << 20), o = 3 * 1024 + mb / 2 * 4;

	o = roundup64(512, o);
	return roundup64(4096, o + mb / 2 / 8);
}

static int64_t vhd_overhead_bitmap(int64_t size)
{
	return (size / VHD_BLOCK + (size % VHD_BLOCK ? 1 : 0)) * 4096;
}

/* The SR's work left and the room its largest merge needs: for each link SM will merge
 * (a child whose parent has only it), the child's data to write into the parent, and the
 * parent's growth (cleanup.py _calcExtraSpaceForCoalescing: the union of both block
 * bitmaps plus VHD overhead, less the parent's size; LVHD rounds to 4 MiB extents). */
static void sr_work(struct eval_ctx *x, int si)
{
	struct ct_sr_verdict *sv = &x->r->srs[si];

	sv->work_bytes = sv->need_bytes = sv->merge_max = 0;
	sv->need_vdi = NULL;
	sv->work_links = sv->work_estimated = 0;
	if (!sv->vhd)
		return;
	for (int q = sv->first_vdi; q < sv->first_vdi + sv->n_vdi_verdicts; q++) {
		const struct ct_vdi_verdict *vv = &x->r->vdis[q], *pv;
		const struct vdi_info *ci = &x->r->idx->info[q], *pi;
		unsigned char *bc = NULL, *bp = NULL;
		size_t lc = 0, lp = 0;
		int64_t data, coalesced, extra, virt, pphys;
		bool leaf;

		if (vv->parent < 0 || vv->no_coalesce || !vv->is_vhd)
			continue;
		pv = &x->r->vdis[vv->parent];
		if (pv->children != 1)
			continue;
		pi = &x->r->idx->info[vv->parent];
		leaf = vv->children == 0 && !vv->is_base_copy;
		virt = ci->virtual_size > 0 ? ci->virtual_size : 0;
		pphys = pi->physical_utilisation > 0 ? pi->physical_utilisation : 0;
		if ((ci->flags & CT_DG_BLOCKS) && (pi->flags & CT_DG_BLOCKS)) {
			bc = vhd_blocks(vv->vdi, &lc);
			bp = bc ? vhd_blocks(pv->vdi, &lp) : NULL;
		}
		if (bc && bp) {
			data = union_blocks(bc, lc, NULL, 0) * VHD_BLOCK;
			coalesced = union_blocks(bc, lc, bp, lp) * VHD_BLOCK;
		} else {
			/* SM's upper bound: the two VHDs' sizes added */
			data = ci->physical_utilisation > 0 ? ci->physical_utilisation : 0;
			coalesced = data + pphys;
			if (virt > 0 && coalesced > virt)
				coalesced = virt;
			sv->work_estimated++;
		}
		free(bc);
		free(bp);
		if (sv->thick)   /* lvhdutil.calcSizeVHDLV of the coalesced data */
			extra = roundup64(4 << 20, coalesced + vhd_overhead_empty(coalesced) +
					  vhd_overhead_bitmap(coalesced)) - pphys;
		else
			extra = coalesced + vhd_overhead_bitmap(coalesced) + vhd_overhead_empty(virt) -
				pphys;
		/* a leaf is snapshot-coalesced first: one more empty VHD (on LVHD a volume of
		 * the leaf's VHD size, which XAPI does not show: its LV is inflated) */
		if (leaf && !sv->thick)
			extra += vhd_overhead_empty(virt);
		sv->work_links++;
		sv->work_bytes += data;
		x->r->vdis[q].merge_bytes = data;
		x->r->vdis[q].merge_link = true;
		if (data > sv->merge_max)
			sv->merge_max = data;
		if (extra > sv->need_bytes) {
			sv->need_bytes = extra;
			sv->need_vdi = vv->vdi;
		}
	}
}

/* --- the whole pool --- */

struct prob_sort {
	struct ct_problem p;
	int seq;
};

static int cmp_prob(const void *a, const void *b)
{
	const struct prob_sort *x = a, *y = b;
	int rx = ct_severity_rank(x->p.severity), ry = ct_severity_rank(y->p.severity);

	if (rx != ry)
		return rx > ry ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void sort_problems(struct ct_chain_report *r)
{
	struct prob_sort *t;

	if (r->n_problems < 2)
		return;
	t = ct_xcalloc((size_t)r->n_problems, sizeof(*t));
	for (int i = 0; i < r->n_problems; i++) {
		t[i].p = r->problems[i];
		t[i].seq = i;
	}
	qsort(t, (size_t)r->n_problems, sizeof(*t), cmp_prob);
	for (int i = 0; i < r->n_problems; i++)
		r->problems[i] = t[i].p;
	free(t);
}

void ct_chain_add_problem(struct ct_chain_report *r, enum ct_problem_kind kind,
			  enum ct_severity sev, const struct ct_obj *o, int sr_index, char *reason)
{
	struct eval_ctx x = { 0 };

	x.r = r;
	x.prob_cap = r->idx ? r->idx->prob_cap : r->n_problems;
	add_problem(&x, kind, sev, o, sr_index, reason);
	if (r->idx)
		r->idx->prob_cap = x.prob_cap;
	sort_problems(r);
}

/* Real VMs, sorted, with their snapshot counts. */
static void list_vms(struct eval_ctx *x)
{
	struct ct_chain_report *r = x->r;
	size_t nvm = ct_model_count(x->m, CT_VM);
	struct vkey *key = ct_xmalloc((nvm + 1) * sizeof(*key));
	int *ord = ct_xmalloc((nvm + 1) * sizeof(*ord)), *at = ct_xmalloc((nvm + 1) * sizeof(*at));
	int n = 0;

	/* by name, then uuid, sorted on keys from the digests */
	x->vm_real = ct_xmalloc((nvm + 1) * sizeof(*x->vm_real));
	for (size_t i = 0; i < nvm; i++) {
		x->vm_real[i] = -1;
		if (!(x->md[i].flags & CT_DG_REAL_VM))
			continue;
		vkey_vm(&key[n], &x->md[i], x->vm_rec[i]);
		at[n] = (int)i;
		ord[n] = n;
		n++;
	}
	qsort_r(ord, (size_t)n, sizeof(*ord), cmp_local, key);
	r->vms = ct_xcalloc((size_t)n + 1, sizeof(*r->vms));
	r->n_vms = n;
	x->vm_rank = ct_xmalloc(((size_t)n + 1) * sizeof(*x->vm_rank));
	for (int i = 0; i < n; i++) {
		r->vms[i].vm = (const struct ct_vm *)x->vm_rec[at[ord[i]]];
		x->vm_real[at[ord[i]]] = i;
		/* VMs that compare equal share a rank: "sorts lower" is a rank comparison */
		x->vm_rank[i] = i > 0 && !cmp_vkey(&key[ord[i - 1]], &key[ord[i]]) ? x->vm_rank[i - 1] : i;
	}
	free(key);
	free(ord);
	free(at);
	/* snapshots of each real VM, through the model's ref table */
	for (size_t i = 0; i < nvm; i++) {
		struct ct_key of = x->md[i].snapshot_of;
		long j;

		if (!(x->md[i].flags & CT_DG_SNAPSHOT) || ct_key_none(of))
			continue;
		j = ct_model_pos_of_ref(x->m, CT_VM, of, ct_key_exact(of) ? NULL :
					((const struct ct_vm *)x->vm_rec[i])->snapshot_of);
		if (j >= 0 && x->vm_real[j] >= 0)
			r->vms[x->vm_real[j]].n_snapshots++;
	}
	for (size_t i = 0; i < nvm; i++) {
		int k = x->vm_real[i];

		if (k >= 0 && (int)x->md[i].n_snapshots > r->vms[k].n_snapshots)
			r->vms[k].n_snapshots = (int)x->md[i].n_snapshots;
	}
}

/* One pass over the VBD digests: which VDIs are in use, the live VM (and snapshot VM)
 * of each VDI, and every real VM's disks (VBD type Disk) in userdevice order. */
static void scan_vbds(struct eval_ctx *x)
{
	struct ct_chain_report *r = x->r;
	struct ct_chain_index *ix = r->idx;
	size_t nvbd = ct_model_count(x->m, CT_VBD);
	int *vmi = ct_xmalloc((nvbd + 1) * sizeof(*vmi)), *vdi = ct_xmalloc((nvbd + 1) * sizeof(*vdi));
	int *vmp = ct_xmalloc((nvbd + 1) * sizeof(*vmp));
	int *rank = ct_xmalloc(((size_t)r->n_vdis + 1) * sizeof(*rank));   /* of vdis[].vm */
	struct vm_disk *disk = ct_xmalloc((nvbd + 1) * sizeof(*disk));      /* by VBD, if vmi >= 0 */
	int *fill;

	/* a VBD's VDI, then its VM only for a VBD whose VDI is judged here, through the
	 * model's ref tables (prefetched a few VBDs ahead) */
	for (size_t i = 0; i < nvbd; i++) {
		struct ct_key k = x->bd[i].vdi;
		long p;

		if (i + CT_AHEAD < nvbd)
			ct_model_prefetch_ref(x->m, CT_VDI, x->bd[i + CT_AHEAD].vdi);
		p = ct_model_pos_of_ref(x->m, CT_VDI, k, ct_key_exact(k) ? NULL :
					((const struct ct_vbd *)x->vbd_rec[i])->vdi);
		vdi[i] = p >= 0 ? x->vdi_report[p] : -1;
	}
	for (size_t i = 0; i < nvbd; i++) {
		struct ct_key k = x->bd[i].vm;

		if (i + CT_AHEAD < nvbd && vdi[i + CT_AHEAD] >= 0)
			ct_model_prefetch_ref(x->m, CT_VM, x->bd[i + CT_AHEAD].vm);
		vmp[i] = vdi[i] < 0 ? -1 : (int)ct_model_pos_of_ref(x->m, CT_VM, k,
			ct_key_exact(k) ? NULL : ((const struct ct_vbd *)x->vbd_rec[i])->vm);
	}

	ix->vm_first = ct_xcalloc((size_t)r->n_vms + 2, sizeof(*ix->vm_first));
	for (size_t i = 0; i < nvbd; i++) {
		int vi = vdi[i], vp = vmp[i];
		struct ct_vdi_verdict *vv;

		if (i + CT_AHEAD < nvbd && vdi[i + CT_AHEAD] >= 0) {
			__builtin_prefetch(&r->vdis[vdi[i + CT_AHEAD]]);
			__builtin_prefetch(&ix->info[vdi[i + CT_AHEAD]]);
			if (vmp[i + CT_AHEAD] >= 0)
				__builtin_prefetch(&x->md[vmp[i + CT_AHEAD]]);
		}

		vmi[i] = -1;
		if (vi < 0)
			continue;
		vv = &r->vdis[vi];
		vv->in_use = true;
		if (vp < 0)
			continue;
		if (x->md[vp].flags & CT_DG_REAL_VM) {
			int k = x->vm_real[vp];

			/* the lowest-sorting VM, so the choice does not depend on table order */
			if (!vv->vm || x->vm_rank[k] < rank[vi]) {
				vv->vm = (const struct ct_vm *)x->vm_rec[vp];
				vv->vbd = (const struct ct_vbd *)x->vbd_rec[i];
				rank[vi] = x->vm_rank[k];
			}
			if (x->bd[i].type == CT_VBD_DISK) {
				vmi[i] = k;
				ix->vm_first[k + 1]++;
				/* while the verdict is in cache: what the gate will read of it */
				disk_fill(x, &disk[i], (const struct ct_vbd *)x->vbd_rec[i], vi);
				disk[i].userdevice = x->bd[i].userdevice;
			}
		} else if ((x->md[vp].flags & CT_DG_SNAPSHOT) && !vv->snapshot_vm) {
			vv->snapshot_vm = (const struct ct_vm *)x->vm_rec[vp];
		}
	}
	for (int i = 0; i < r->n_vms; i++)
		ix->vm_first[i + 1] += ix->vm_first[i];
	ix->vm_disks = ct_xmalloc(((size_t)ix->vm_first[r->n_vms] + 1) * sizeof(*ix->vm_disks));
	fill = ct_xcalloc((size_t)r->n_vms + 1, sizeof(*fill));
	for (size_t i = 0; i < nvbd; i++) {
		struct vm_disk *d;

		if (vmi[i] < 0)
			continue;
		d = &ix->vm_disks[ix->vm_first[vmi[i]] + fill[vmi[i]]++];
		*d = disk[i];
	}
	for (int i = 0; i < r->n_vms; i++) {
		int a = ix->vm_first[i], b = ix->vm_first[i + 1];

		if (b - a > 1)
			qsort(&ix->vm_disks[a], (size_t)(b - a), sizeof(*ix->vm_disks), cmp_disk);
	}
	free(fill);
	free(disk);
	free(rank);
	free(vmi);
	free(vmp);
	free(vdi);
}

static void eval_vms(struct eval_ctx *x)
{
	struct ct_chain_report *r = x->r;
	struct ct_chain_index *ix = r->idx;
	int n = r->n_vms;

	for (int i = 0; i < n; i++) {
		struct ct_vm_verdict *vv = &r->vms[i];
		struct strv rs = { 0 };

		vv->max_depth = judge_vm(x, vv->vm, &ix->vm_disks[ix->vm_first[i]],
					 ix->vm_first[i + 1] - ix->vm_first[i], NULL, &rs, NULL, NULL,
					 &vv->gate_eta, &vv->gate_work);
		vv->reasons = rs.v;
		vv->kinds = rs.kind;
		vv->n_reasons = rs.n;
		vv->refused = rs.n > 0;
		vv->severity = vv->refused ? CT_SEV_WARNING : CT_SEV_OK;
		for (int k = 0; k < rs.n; k++) {
			bool seen = false;

			add_problem(x, rs.kind[k], CT_SEV_WARNING, &vv->vm->o, rs.sr[k],
				    ct_xstrdup(rs.v[k]));
			for (int q = 0; q < k; q++)
				if (rs.sr[q] == rs.sr[k])
					seen = true;
			if (!seen && rs.sr[k] >= 0)
				r->srs[rs.sr[k]].refused_vms++;
		}
		free(rs.sr);
	}
}

/* Report index of the SR whose ref key is k (ref: its string, read only when k is not
 * exact) through srs over the keys srk, or -1. */
static int sr_pos(const struct ct_htab *srs, const struct ct_key *srk,
		  const struct ct_chain_report *r, struct ct_key k, const char *ref)
{
	struct ct_hprobe p;
	long v;

	for (ct_htab_probe(srs, ct_key_hash(k), &p); (v = ct_htab_next(srs, &p)) >= 0;)
		if (ct_key_eq(srk[v], k) && (ct_key_exact(k) || !strcmp(r->srs[v].sr->o.ref, ref)))
			return (int)v;
	return -1;
}

/* The report's SRs in display order, and the model's VDIs grouped by SR (counting sort on
 * the SR keys of the digests: model order is kept inside an SR). VDIs whose SR the model
 * does not have are not judged. Returns the size of the largest SR. */
static int group_by_sr(struct eval_ctx *x)
{
	struct ct_chain_report *r = x->r;
	size_t nsr = ct_model_count(x->m, CT_SR), nvdi = ct_model_count(x->m, CT_VDI);
	struct ct_htab srs = { 0 };
	struct ct_key *srk = ct_xmalloc((nsr + 1) * sizeof(*srk));
	int *of = ct_xmalloc((nvdi + 1) * sizeof(*of)), *fill, largest = 0;
	struct ct_sr **sorted = ct_xmalloc((nsr + 1) * sizeof(*sorted));

	for (size_t i = 0; i < nsr; i++)
		sorted[i] = (struct ct_sr *)ct_model_at(x->m, CT_SR, i);
	qsort(sorted, nsr, sizeof(*sorted), cmp_sr);
	r->srs = ct_xcalloc(nsr + 1, sizeof(*r->srs));
	r->n_srs = (int)nsr;
	for (size_t i = 0; i < nsr; i++)
		r->srs[i].sr = sorted[i];
	free(sorted);
	/* SR ref key -> report index (the first holder of a key wins) */
	ct_htab_reset(&srs, nsr);
	for (size_t i = 0; i < nsr; i++) {
		srk[i] = ct_key_ref(r->srs[i].sr->o.ref);
		if (!ct_key_none(srk[i]) && sr_pos(&srs, srk, r, srk[i], r->srs[i].sr->o.ref) < 0)
			ct_htab_add(&srs, ct_key_hash(srk[i]), (uint32_t)i);
	}
	x->sr_first = ct_xcalloc(nsr + 2, sizeof(*x->sr_first));
	for (size_t i = 0; i < nvdi; i++) {
		struct ct_key k = x->vd[i].sr;

		of[i] = ct_key_none(k) ? -1 : sr_pos(&srs, srk, r, k, ct_key_exact(k) ? NULL :
						   ((const struct ct_vdi *)x->vdi_rec[i])->sr);
		if (of[i] >= 0)
			x->sr_first[of[i] + 1]++;
	}
	for (size_t i = 0; i < nsr; i++) {
		if (x->sr_first[i + 1] > largest)
			largest = x->sr_first[i + 1];
		x->sr_first[i + 1] += x->sr_first[i];
	}
	x->by_sr = ct_xmalloc(((size_t)x->sr_first[nsr] + 1) * sizeof(*x->by_sr));
	fill = ct_xcalloc(nsr + 1, sizeof(*fill));
	for (size_t i = 0; i < nvdi; i++)
		if (of[i] >= 0)
			x->by_sr[x->sr_first[of[i]] + fill[of[i]]++] = (int)i;
	free(fill);
	free(of);
	free(srk);
	ct_htab_release(&srs);
	return largest;
}

static void ctx_release(struct eval_ctx *x)
{
	free(x->sr_first);
	free(x->by_sr);
	free(x->vdi_report);
	free(x->worded);
	free(x->vm_real);
	free(x->vm_rank);
	ct_owner_ctx_release(&x->octx);
}

/* The judging, once the structure (forest, users, disks) is in the report: states and SR
 * counts, the stall memory, problems and every VM's gate. */
static void judge(struct eval_ctx *x, struct ct_stall *stall, bool new_structure)
{
	struct ct_chain_report *r = x->r;

	x->worded = ct_xmalloc(((size_t)r->n_vdis + 1) * sizeof(*x->worded));
	x->n_worded = 0;
	for (int i = 0; i < r->n_srs; i++) {
		sr_states(x, i);
		/* the work left depends on the VDI records only: a refresh keeps them */
		if (new_structure)
			sr_work(x, i);
	}
	if (stall)
		for (int i = 0; i < r->n_srs; i++)
			if (r->srs[i].vhd)
				stall_update(x, stall, &r->srs[i]);
	for (int i = 0; stall && i < stall->np; i++)
		stall->p[i].seen = false;
	for (int i = 0; i < r->n_srs; i++)
		sr_problems(x, i, stall);
	/* forget disks no longer paused */
	for (int i = 0; stall && i < stall->np; )
		if (!stall->p[i].seen)
			stall->p[i] = stall->p[--stall->np];
		else
			i++;
	for (int i = 0; i < x->n_worded; i++)
		vdi_problems(x, x->worded[i]);
	dom0_problems(x);
	eval_vms(x);
	sort_problems(r);
	r->idx->prob_cap = x->prob_cap;
}

/* What ct_chain_refresh compares to tell whether the structure still holds. */
static void remember_structure(struct eval_ctx *x)
{
	struct ct_chain_index *ix = x->r->idx;

	ix->model = x->m;
	ix->c = x->c;
	ix->pc = x->pc;
	ix->stamp_vdi = ct_model_stamp(x->m, CT_VDI);
	ix->stamp_vbd = ct_model_stamp(x->m, CT_VBD);
	ix->stamp_vm = ct_model_stamp(x->m, CT_VM);
	ix->stamp_sr = ct_model_stamp(x->m, CT_SR);
	ix->sr_refs = ct_xcalloc((size_t)x->r->n_srs + 1, sizeof(*ix->sr_refs));
	for (int i = 0; i < x->r->n_srs; i++)
		ix->sr_refs[i] = ct_xstrdup(x->r->srs[i].sr->o.ref);
}

static int eval_pool(struct ct_model *m, const struct ct_config *c, const struct ct_pool_conf *pc,
		     time_t now, struct ct_stall *stall, struct ct_chain_report *out)
{
	struct eval_ctx x = { 0 };
	struct sr_scratch scratch = { 0 };
	const struct ct_pool *pool = ct_model_pool(m);
	int pos = 0, largest, total;

	memset(out, 0, sizeof(*out));
	out->pool_name = pc ? pc->name : NULL;
	out->idx = ct_xcalloc(1, sizeof(*out->idx));
	ctx_bind(&x, m);
	x.c = c;
	x.pc = pc;
	x.now = now;
	x.r = out;
	san(pc && pc->name ? pc->name : pool ? pool->name_label : "", x.pool, sizeof(x.pool));

	largest = group_by_sr(&x);
	total = x.sr_first[out->n_srs];
	/* every entry is written below (the preorder places each VDI of an SR exactly once) */
	out->vdis = ct_xmalloc(((size_t)total + 1) * sizeof(*out->vdis));
	out->n_vdis = total;
	out->idx->info = ct_xmalloc(((size_t)total + 1) * sizeof(*out->idx->info));
	x.vdi_report = ct_xmalloc((ct_model_count(m, CT_VDI) + 1) * sizeof(*x.vdi_report));
	for (size_t i = 0; i < ct_model_count(m, CT_VDI); i++)
		x.vdi_report[i] = -1;
	x.scratch = &scratch;
	scratch_reserve(&scratch, largest);
	for (int i = 0; i < out->n_srs; i++)
		eval_sr(&x, i, &pos);
	scratch_free(&scratch);
	x.scratch = NULL;
	list_vms(&x);
	scan_vbds(&x);
	remember_structure(&x);
	judge(&x, stall, true);
	ctx_release(&x);
	return 0;
}

int ct_chain_eval(struct ct_model *m, const struct ct_config *c, const struct ct_pool_conf *pc,
		  time_t now, struct ct_stall *stall, struct ct_chain_report *out)
{
	return eval_pool(m, c, pc, now, stall, out);
}

void ct_chain_report_release(struct ct_chain_report *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->n_srs; i++)
		free(r->srs[i].gc_note);
	for (int i = 0; i < r->n_vms; i++) {
		for (int k = 0; k < r->vms[i].n_reasons; k++)
			free(r->vms[i].reasons[k]);
		free(r->vms[i].reasons);
		free(r->vms[i].kinds);
	}
	for (int i = 0; i < r->n_problems; i++) {
		free(r->problems[i].ref);
		free(r->problems[i].uuid);
		free(r->problems[i].reason);
	}
	if (r->idx) {
		free(r->idx->info);
		for (int i = 0; r->idx->sr_refs && i < r->n_srs; i++)
			free(r->idx->sr_refs[i]);
		free(r->idx->sr_refs);
		free(r->idx->vm_first);
		free(r->idx->vm_disks);
		ct_htab_release(&r->idx->vdi);
		ct_htab_release(&r->idx->vm);
		free(r->idx);
	}
	free(r->problems);
	free(r->vms);
	free(r->srs);
	free(r->vdis);
	memset(r, 0, sizeof(*r));
}

/* The SR records in report order, if they are the same SRs (refs, order, VHD or not) the
 * structure was built on: they may be new records, with new usage figures. */
static bool same_srs(struct ct_model *m, const struct ct_chain_report *r, const struct ct_sr **now)
{
	size_t n = ct_model_count(m, CT_SR);

	if ((int)n != r->n_srs)
		return false;
	for (size_t i = 0; i < n; i++)
		now[i] = (const struct ct_sr *)ct_model_at(m, CT_SR, i);
	qsort(now, n, sizeof(*now), cmp_sr);
	for (size_t i = 0; i < n; i++)
		if (strcmp(now[i]->o.ref, r->idx->sr_refs[i]) || sr_is_vhd(now[i]) != r->srs[i].vhd)
			return false;
	return true;
}

int ct_chain_refresh(struct ct_model *m, const struct ct_config *c, const struct ct_pool_conf *pc,
		     time_t now, struct ct_stall *stall, struct ct_chain_report *r)
{
	struct ct_chain_index *ix = r->idx;
	struct eval_ctx x = { 0 };
	const struct ct_pool *pool = ct_model_pool(m);
	const struct ct_sr **srs;

	if (!ix || ix->model != m || ix->c != c || ix->pc != pc ||
	    ix->stamp_vdi != ct_model_stamp(m, CT_VDI) || ix->stamp_vbd != ct_model_stamp(m, CT_VBD) ||
	    ix->stamp_vm != ct_model_stamp(m, CT_VM)) {
		ct_chain_report_release(r);
		return ct_chain_eval(m, c, pc, now, stall, r);
	}
	if (ix->stamp_sr != ct_model_stamp(m, CT_SR)) {
		srs = ct_xcalloc(ct_model_count(m, CT_SR) + 1, sizeof(*srs));
		if (!same_srs(m, r, srs)) {
			free(srs);
			ct_chain_report_release(r);
			return ct_chain_eval(m, c, pc, now, stall, r);
		}
		for (int i = 0; i < r->n_srs; i++)
			r->srs[i].sr = srs[i];
		free(srs);
		ix->stamp_sr = ct_model_stamp(m, CT_SR);
	}
	/* the SR switches decide which links are pending, part of the structure */
	for (int i = 0; i < r->n_srs; i++)
		if (sr_switches(r->srs[i].sr) != r->srs[i].switches) {
			ct_chain_report_release(r);
			return ct_chain_eval(m, c, pc, now, stall, r);
		}
	/* the same records: keep the structure, judge again */
	ctx_bind(&x, m);
	x.c = c;
	x.pc = pc;
	x.now = now;
	x.r = r;
	x.prob_cap = ix->prob_cap;
	san(pc && pc->name ? pc->name : pool ? pool->name_label : "", x.pool, sizeof(x.pool));
	for (int i = 0; i < r->n_problems; i++) {
		free(r->problems[i].ref);
		free(r->problems[i].uuid);
		free(r->problems[i].reason);
	}
	r->n_problems = 0;
	r->worst = CT_SEV_OK;
	for (int i = 0; i < r->n_srs; i++)
		sr_setup(&x, &r->srs[i]);
	for (int i = 0; i < r->n_vms; i++) {
		struct ct_vm_verdict *vv = &r->vms[i];

		for (int k = 0; k < vv->n_reasons; k++)
			free(vv->reasons[k]);
		free(vv->reasons);
		free(vv->kinds);
		vv->reasons = NULL;
		vv->kinds = NULL;
		vv->n_reasons = 0;
		vv->refused = false;
		vv->max_depth = 0;
		vv->severity = CT_SEV_OK;
	}
	judge(&x, stall, false);
	ctx_release(&x);
	return 0;
}

bool ct_chain_gate_vm(const struct ct_chain_report *rep, struct ct_model *m,
		      const struct ct_config *c, const struct ct_pool_conf *pc,
		      const struct ct_gate_conf *job_gate, const struct ct_vm *vm, time_t now,
		      struct ct_gate_result *out)
{
	/* judge_vm and disk_fill only read the report; the context's pointer is not const
	 * because the evaluation that builds a report writes through it */
	struct ct_chain_report *r = (struct ct_chain_report *)rep;
	struct eval_ctx x = { 0 };
	struct strv rs = { 0 };
	const struct ct_pool *pool = ct_model_pool(m);

	memset(out, 0, sizeof(*out));
	ctx_bind(&x, m);
	x.c = c;
	x.pc = pc;
	x.now = now;
	x.r = r;
	san(pc && pc->name ? pc->name : pool ? pool->name_label : "", x.pool, sizeof(x.pool));
	{
		int vi = ct_chain_find_vm(r, vm);
		struct vm_disk *own = NULL;
		const struct vm_disk *dl;
		int nd = 0;

		if (vi >= 0) {
			dl = &r->idx->vm_disks[r->idx->vm_first[vi]];
			nd = r->idx->vm_first[vi + 1] - r->idx->vm_first[vi];
		} else {
			/* not a real VM (a snapshot or template): its disks from its VBDs */
			size_t nv;
			struct ct_vbd *const *vbds = ct_model_vm_vbds(m, vm, &nv);

			own = ct_xcalloc(nv + 1, sizeof(*own));
			for (size_t i = 0; i < nv; i++) {
				const struct ct_vdi *v = ct_ref_is_null(vbds[i]->vdi) ? NULL :
					ct_model_vdi(m, vbds[i]->vdi);
				int k = v ? ct_chain_find_vdi(r, v) : -1;

				if (vbds[i]->type == CT_VBD_DISK && k >= 0) {
					disk_fill(&x, &own[nd], vbds[i], k);
					own[nd++].userdevice = vbds[i]->userdevice ?
						strtol(vbds[i]->userdevice, NULL, 10) : 0;
				}
			}
			qsort(own, (size_t)nd, sizeof(*own), cmp_disk);
			dl = own;
		}
		judge_vm(&x, vm, dl, nd, job_gate, &rs, &out->disks, &out->n_disks, NULL, NULL);
		free(own);
	}
	out->reasons = rs.v;
	out->kinds = rs.kind;
	out->n_reasons = rs.n;
	out->ok = rs.n == 0;
	free(rs.sr);
	return out->ok;
}

void ct_gate_result_release(struct ct_gate_result *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->n_reasons; i++)
		free(g->reasons[i]);
	free(g->reasons);
	free(g->kinds);
	for (int i = 0; i < g->n_disks; i++)
		free(g->disks[i].chain);
	free(g->disks);
	memset(g, 0, sizeof(*g));
}


void ct_stall_release(struct ct_stall *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++)
		free(s->e[i].cand);
	free(s->e);
	free(s->p);
	memset(s, 0, sizeof(*s));
}
