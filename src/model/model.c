/* model.c - the live store of one pool: per-class tables keyed by ref, a lazily rebuilt
 * uuid index and the derived indexes (VDIs by SR, vhd-parent links, VBDs by VDI and VM,
 * tasks by applies_to, messages by object). The layout is in model_int.h.
 *
 * Tables: a dense array of records and a hash table (lib/htab.h) from a ref key's hash to
 * the record's index, with the key kept beside each slot. Delete swaps the last record into
 * the hole and re-points its entry. Derived indexes are "group indexes": a hash table of
 * keys (one or two borrowed strings) to a range of a flat pointer array, built by a
 * counting sort in O(records). The indexes of a class are rebuilt together, in one pass, on the first query
 * after a change to that class only (a GC task's progress does not rebuild VDI indexes).
 *
 * Refs hash through their 128-bit key (ct_key_ref), so a record can be found from a digest's
 * key without a string. Every VDI, VBD and VM also has a digest, filled at put in an array
 * parallel to the records and moved with them on delete; every table has a stamp that
 * changes with each put or delete. */
#include "model/model_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- names ---------------------------------------------------------------------------- */

static const char *const class_names[CT_NCLASSES] = {
#define CT_X_CLASS(id, st, name) [CT_##id] = name,
	CT_CLASSES(CT_X_CLASS)
#undef CT_X_CLASS
};

const char *ct_class_name(enum ct_class c)
{
	if ((int)c < 0 || c >= CT_NCLASSES)
		return "unknown";
	return class_names[c];
}

/* Position of s in names[0..n), case-insensitive, or -1. */
static int name_index(const char *const *names, int n, const char *s)
{
	if (!s)
		return -1;
	for (int i = 0; i < n; i++)
		if (!strcasecmp(s, names[i]))
			return i;
	return -1;
}

int ct_class_from_name(const char *name)
{
	return name_index(class_names, CT_NCLASSES, name);
}

#define CT_X_NAME(id, name) name,
#define NAMES(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *const vdi_type_names[] = { CT_VDI_TYPES(CT_X_NAME) };
static const char *const power_state_names[] = { CT_POWER_STATES(CT_X_NAME) };
static const char *const vbd_type_names[] = { CT_VBD_TYPES(CT_X_NAME) };
static const char *const task_status_names[] = { CT_TASK_STATUSES(CT_X_NAME) };

/* The enum's name, or `other` for its unknown value and anything out of range. */
static const char *enum_name(const char *const *names, int n, int v, const char *other)
{
	return v >= 0 && v < n ? names[v] : other;
}

const char *ct_vdi_type_name(enum ct_vdi_type t)
{
	return enum_name(vdi_type_names, NAMES(vdi_type_names), (int)t, "unknown");
}

int ct_vdi_type_from_name(const char *s)
{
	return name_index(vdi_type_names, NAMES(vdi_type_names), s);
}

const char *ct_power_state_name(enum ct_power_state p)
{
	return enum_name(power_state_names, NAMES(power_state_names), (int)p, "Unknown");
}

int ct_power_state_from_name(const char *s)
{
	return name_index(power_state_names, NAMES(power_state_names), s);
}

const char *ct_vbd_type_name(enum ct_vbd_type t)
{
	return enum_name(vbd_type_names, NAMES(vbd_type_names), (int)t, "unknown");
}

int ct_vbd_type_from_name(const char *s)
{
	return name_index(vbd_type_names, NAMES(vbd_type_names), s);
}

const char *ct_task_status_name(enum ct_task_status s)
{
	return enum_name(task_status_names, NAMES(task_status_names), (int)s, "unknown");
}

int ct_task_status_from_name(const char *s)
{
	return name_index(task_status_names, NAMES(task_status_names), s);
}

bool ct_ref_is_null(const char *ref)
{
	return !ref || !*ref || !strcmp(ref, "OpaqueRef:NULL");
}

/* ---- records -------------------------------------------------------------------------- */

/* The field tables, from the class lists of model.h: uuid (in the header) first. FIELD
 * reads the struct of the table being defined from REC. */
#define FIELD(kind, member, name) \
	{ name, CT_F_##kind, sizeof(name) - 1, offsetof(REC, member) },
#define UUID_FIELD { "uuid", CT_F_STR, 4, offsetof(struct ct_obj, uuid) },

#define REC struct ct_pool
static const struct ct_field pool_fields[] = { UUID_FIELD CT_POOL_FIELDS(FIELD) };
#undef REC
#define REC struct ct_host
static const struct ct_field host_fields[] = { UUID_FIELD CT_HOST_FIELDS(FIELD) };
#undef REC
#define REC struct ct_sr
static const struct ct_field sr_fields[] = { UUID_FIELD CT_SR_FIELDS(FIELD) };
#undef REC
#define REC struct ct_vdi
static const struct ct_field vdi_fields[] = { UUID_FIELD CT_VDI_FIELDS(FIELD) };
#undef REC
#define REC struct ct_vm
static const struct ct_field vm_fields[] = { UUID_FIELD CT_VM_FIELDS(FIELD) };
#undef REC
#define REC struct ct_vbd
static const struct ct_field vbd_fields[] = { UUID_FIELD CT_VBD_FIELDS(FIELD) };
#undef REC
#define REC struct ct_pbd
static const struct ct_field pbd_fields[] = { UUID_FIELD CT_PBD_FIELDS(FIELD) };
#undef REC
#define REC struct ct_task
static const struct ct_field task_fields[] = { UUID_FIELD CT_TASK_FIELDS(FIELD) };
#undef REC
#define REC struct ct_message
static const struct ct_field message_fields[] = { UUID_FIELD CT_MESSAGE_FIELDS(FIELD) };
#undef REC
#define REC struct ct_pool_update
static const struct ct_field pool_update_fields[] = { UUID_FIELD CT_POOL_UPDATE_FIELDS(FIELD) };
#undef REC

static const struct {
	const struct ct_field *f;
	size_t n;
	size_t size;
} classes[CT_NCLASSES] = {
#define CT_X_CLASS(id, st, name) \
	[CT_##id] = { st##_fields, sizeof(st##_fields) / sizeof(st##_fields[0]), sizeof(struct ct_##st) },
	CT_CLASSES(CT_X_CLASS)
#undef CT_X_CLASS
};

const struct ct_field *ct_class_fields(enum ct_class c, size_t *n)
{
	if ((int)c < 0 || c >= CT_NCLASSES) {
		*n = 0;
		return NULL;
	}
	*n = classes[c].n;
	return classes[c].f;
}

static size_t class_size(enum ct_class c)
{
	return (int)c < 0 || c >= CT_NCLASSES ? 0 : classes[c].size;
}

/* Derived once from the field tables: each class's blank record (what ct_obj_new copies)
 * and its owned fields (what ct_obj_free and ct_obj_dup walk, skipping the scalars). */
struct owned {
	unsigned short off;
	unsigned char kind;
};

static struct {
	void *blank;
	struct owned *own;
	size_t nown;
} derived[CT_NCLASSES];
static pthread_once_t derived_once = PTHREAD_ONCE_INIT;

static void derive(void)
{
	for (int c = 0; c < CT_NCLASSES; c++) {
		char *blank = ct_xcalloc(1, classes[c].size);

		derived[c].own = ct_xcalloc(classes[c].n, sizeof(*derived[c].own));
		for (size_t i = 0; i < classes[c].n; i++) {
			const struct ct_field *f = &classes[c].f[i];

			switch ((enum ct_field_kind)f->kind) {
			case CT_F_STR: case CT_F_SET: case CT_F_MAPVALS: case CT_F_MAP:
				derived[c].own[derived[c].nown++] = (struct owned){ f->off, f->kind };
				break;
			/* what a field XAPI did not send reads as: zero, but for these two */
			case CT_F_POWER:
				*(enum ct_power_state *)(blank + f->off) = CT_POWER_UNKNOWN;
				break;
			case CT_F_VDITYPE:
				*(enum ct_vdi_type *)(blank + f->off) = CT_VDI_USER;
				break;
			default:
				break;
			}
		}
		((struct ct_obj *)blank)->cls = (enum ct_class)c;
		derived[c].blank = blank;
	}
}

struct ct_obj *ct_obj_new(enum ct_class c)
{
	size_t sz = class_size(c);
	struct ct_obj *o;

	if (!sz)
		ct_fatal("ct_obj_new: invalid record class %d", (int)c);
	pthread_once(&derived_once, derive);
	o = ct_xmalloc(sz);
	memcpy(o, derived[c].blank, sz);
	return o;
}

void ct_obj_free(struct ct_obj *o)
{
	if (!o)
		return;
	if ((int)o->cls >= 0 && o->cls < CT_NCLASSES) {
		pthread_once(&derived_once, derive);
		for (size_t i = 0; i < derived[o->cls].nown; i++) {
			const struct owned *f = &derived[o->cls].own[i];
			void *p = (char *)o + f->off;

			switch ((enum ct_field_kind)f->kind) {
			case CT_F_STR: free(*(char **)p); break;
			case CT_F_MAP: ct_map_release(p); break;
			default: ct_strset_release(p); break;   /* SET, MAPVALS */
			}
		}
	}
	free(o->ref);
	free(o);
}

struct ct_obj *ct_obj_dup(const struct ct_obj *o)
{
	if (!o)
		return NULL;
	size_t sz = class_size(o->cls);
	if (!sz)
		ct_fatal("ct_obj_dup: invalid record class %d", (int)o->cls);
	pthread_once(&derived_once, derive);
	struct ct_obj *n = ct_xmalloc(sz);
	/* Scalars by value first, then every owned pointer replaced by its own copy. */
	memcpy(n, o, sz);
	n->ref = ct_xstrdup(o->ref);
	for (size_t i = 0; i < derived[o->cls].nown; i++) {
		const struct owned *f = &derived[o->cls].own[i];
		const void *sp = (const char *)o + f->off;
		void *dp = (char *)n + f->off;

		switch ((enum ct_field_kind)f->kind) {
		case CT_F_STR:
			*(char **)dp = ct_xstrdup(*(char *const *)sp);
			break;
		case CT_F_MAP:
			memset(dp, 0, sizeof(struct ct_map));
			ct_map_copy(dp, sp);
			break;
		default:   /* SET, MAPVALS */
			memset(dp, 0, sizeof(struct ct_strset));
			ct_strset_copy(dp, sp);
			break;
		}
	}
	return n;
}

/* ---- hashing -------------------------------------------------------------------------- */

/* The hash of a group key: one string, or a pair. */
static uint64_t hash_key(const char *k1, const char *k2)
{
	uint64_t h = ct_hash_str(k1, 0);

	return k2 ? ct_hash_str(k2, h ^ 0x13198a2e03707344ULL) : h;
}

/* ---- keys and digests ----------------------------------------------------------------- */

static int hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The 36 characters at s as a canonical uuid, or false. */
static bool parse_uuid(const char *s, struct ct_key *k)
{
	uint64_t w[2] = { 0, 0 };
	int nd = 0;

	for (int i = 0; i < 36; i++) {
		unsigned char c = (unsigned char)s[i];
		int d;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
			continue;
		}
		d = hex_digit(c);
		if (d < 0)
			return false;
		w[nd / 16] = w[nd / 16] << 4 | (uint64_t)d;
		nd++;
	}
	if (s[36] || (w[1] >> 62) != 2)
		return false;   /* longer, or not the RFC 4122 variant */
	k->hi = w[0];
	k->lo = w[1];
	return true;
}

/* Two independent 64-bit hashes of s in one pass. */
static struct ct_key hashed_key(const char *s)
{
	size_t n = strlen(s);
	const unsigned char *p = (const unsigned char *)s;
	uint64_t a = 0x452821e638d01377ULL ^ n, b = 0xbe5466cf34e90c6cULL ^ n, w;
	struct ct_key k;

	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w, p, 8);
		a = (a ^ w) * 0x9e3779b97f4a7c15ULL;
		a ^= a >> 31;
		b = (b ^ w) * 0xc2b2ae3d27d4eb4fULL;
		b ^= b >> 29;
	}
	w = 0;
	memcpy(&w, p, n);
	k.hi = ct_hash_mix(a ^ w);
	k.lo = ct_hash_mix((b ^ w) * 0x9e3779b97f4a7c15ULL) | 3ULL << 62;
	return k;
}

struct ct_key ct_key_uuid(const char *uuid)
{
	struct ct_key k = { 0, 0 };

	if (!uuid || !*uuid)
		return k;
	if (strlen(uuid) == 36 && parse_uuid(uuid, &k))
		return k;
	return hashed_key(uuid);
}

struct ct_key ct_key_ref(const char *ref)
{
	static const char prefix[] = "OpaqueRef:";
	struct ct_key k = { 0, 0 };

	if (ct_ref_is_null(ref))
		return k;
	if (!strncmp(ref, prefix, sizeof(prefix) - 1) && strlen(ref) == sizeof(prefix) - 1 + 36 &&
	    parse_uuid(ref + sizeof(prefix) - 1, &k))
		return k;
	return hashed_key(ref);
}

/* The first 16 bytes of a name as two big-endian words (see struct ct_vdi_digest). */
static bool name_words(const char *q, uint64_t w[2])
{
	q = q ? q : "";
	for (int h = 0; h < 2; h++) {
		w[h] = 0;
		for (int i = 0; i < 8; i++) {
			w[h] = w[h] << 8 | (unsigned char)*q;
			if (*q)
				q++;
		}
	}
	return *q != 0;   /* longer than 16 bytes */
}

static void vdi_digest(const struct ct_vdi *v, struct ct_vdi_digest *d)
{
	const char *pu = NULL, *vt = NULL, *lc;
	bool gc_mark = false, paused = false, blocks = false;

	/* the last vhd-parent and vdi_type, as a map with a repeated key would be read */
	for (size_t q = 0; q < v->sm_config.n; q++) {
		const char *key = v->sm_config.k[q];

		if (!strcmp(key, "vhd-parent"))
			pu = v->sm_config.v[q];
		else if (!strcmp(key, "vdi_type"))
			vt = v->sm_config.v[q];
		else if (!strcmp(key, "relinking"))
			gc_mark = true;
		else if (!strcmp(key, "paused"))
			paused = true;
		else if (!strcmp(key, "vhd-blocks") && v->sm_config.v[q] && *v->sm_config.v[q])
			blocks = true;
	}
	memset(d, 0, sizeof(*d));
	d->uuid = ct_key_uuid(v->o.uuid);
	d->sr = ct_key_ref(v->sr);
	d->virtual_size = v->virtual_size;
	d->snapshot_time = v->snapshot_time;
	d->type = v->type;
	d->flags = (v->managed ? CT_DG_MANAGED : 0) | (v->is_a_snapshot ? CT_DG_SNAPSHOT : 0) |
		(v->missing ? CT_DG_MISSING : 0) | (gc_mark ? CT_DG_GC_MARK : 0) |
		(v->current_operations.n ? CT_DG_BUSY : 0) | (v->vbds.n ? CT_DG_HAS_VBDS : 0);
	if (vt && (!strcasecmp(vt, "aio") || !strcasecmp(vt, "raw")))
		d->flags |= CT_DG_RAW;
	if (paused)
		d->flags |= CT_DG_PAUSED;
	if (blocks)
		d->flags |= CT_DG_BLOCKS;
	d->physical_utilisation = v->physical_utilisation;
	/* a CBT log keeps the vhd-parent it had until the next SR scan: not a chain member
	 * (the rule of ct_vdi_not_chain, on the vdi_type read above) */
	if (v->type == CT_VDI_CBT_METADATA || (vt && !strcasecmp(vt, "cbtlog")))
		d->flags |= CT_DG_NOT_CHAIN;
	/* SM cleanup.py gatherLeafCoalesceable skips these (leaf-coalesce: other_config) */
	lc = ct_map_get(&v->other_config, "leaf-coalesce");
	if ((v->on_boot && !strcasecmp(v->on_boot, "reset")) || v->allow_caching ||
	    (lc && !strcasecmp(lc, "false")))
		d->flags |= CT_DG_NO_LEAF;
	if (name_words(v->name_label, d->name))
		d->flags |= CT_DG_LONG_NAME;
	if (pu && *pu) {
		if (v->o.uuid && !strcmp(pu, v->o.uuid))
			d->flags |= CT_DG_SELF_PARENT;
		else
			d->parent = ct_key_uuid(pu);
	}
}

static void vbd_digest(const struct ct_vbd *b, struct ct_vbd_digest *d)
{
	memset(d, 0, sizeof(*d));
	d->vdi = ct_key_ref(b->vdi);
	d->vm = ct_key_ref(b->vm);
	d->userdevice = b->userdevice ? strtol(b->userdevice, NULL, 10) : 0;
	d->type = b->type;
}

static void vm_digest(const struct ct_vm *vm, struct ct_vm_digest *d)
{
	memset(d, 0, sizeof(*d));
	d->uuid = ct_key_uuid(vm->o.uuid);
	d->snapshot_of = ct_key_ref(vm->snapshot_of);
	d->n_snapshots = (uint32_t)vm->snapshots.n;
	d->flags = vm->is_a_snapshot ? CT_DG_SNAPSHOT : 0;
	if (!vm->is_a_snapshot && !vm->is_a_template && !vm->is_control_domain)
		d->flags |= CT_DG_REAL_VM;
	if (name_words(vm->name_label, d->name))
		d->flags |= CT_DG_LONG_NAME;
}

static size_t digest_size(enum ct_class c)
{
	switch (c) {
	case CT_VDI: return sizeof(struct ct_vdi_digest);
	case CT_VBD: return sizeof(struct ct_vbd_digest);
	case CT_VM: return sizeof(struct ct_vm_digest);
	default: return 0;
	}
}

static void digest_fill(const struct ct_obj *o, void *d)
{
	switch (o->cls) {
	case CT_VDI: vdi_digest((const struct ct_vdi *)o, d); break;
	case CT_VBD: vbd_digest((const struct ct_vbd *)o, d); break;
	case CT_VM: vm_digest((const struct ct_vm *)o, d); break;
	default: break;
	}
}

static void *digest_at(const struct ct_table *t, enum ct_class c, size_t i)
{
	return (char *)t->digests + i * digest_size(c);
}

/* ---- tables by ref -------------------------------------------------------------------- */

static void table_release(struct ct_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		ct_obj_free(t->items[i]);
	free(t->items);
	free(t->digests);
	ct_htab_release(&t->refs);
	memset(t, 0, sizeof(*t));
	ct_htab_init(&t->refs, sizeof(struct ct_key));
}

/* Position of the record whose ref has key k (string ref, compared only when k is not
 * exact), or -1. Refs are hashed through their key, so a lookup by a digest's key
 * (ct_model_pos_of_ref) needs no string. */
static long table_pos(const struct ct_table *t, struct ct_key k, const char *ref)
{
	struct ct_hprobe p;
	long v;

	for (ct_htab_probe(&t->refs, ct_key_hash(k), &p); (v = ct_htab_next(&t->refs, &p)) >= 0;) {
		struct ct_key kv;

		memcpy(&kv, ct_htab_key(&t->refs, &p), sizeof(kv));
		if (ct_key_eq(kv, k) && (ct_key_exact(k) || !strcmp(t->items[v]->ref, ref)))
			return v;
	}
	return -1;
}

static struct ct_obj *table_find(const struct ct_table *t, const char *ref)
{
	long i;

	if (!t->n || !ref)
		return NULL;
	i = table_pos(t, ct_key_ref(ref), ref);
	return i >= 0 ? t->items[i] : NULL;
}

/* Returns the replaced record (caller frees) or NULL when o was added. */
static struct ct_obj *table_put(struct ct_table *t, struct ct_obj *o)
{
	struct ct_key k = ct_key_ref(o->ref);
	long i = table_pos(t, k, o->ref);
	size_t dsz = digest_size(o->cls);

	if (i >= 0) {
		struct ct_obj *old = t->items[i];

		t->items[i] = o;
		if (dsz)
			digest_fill(o, digest_at(t, o->cls, (size_t)i));
		return old;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->items = ct_xrealloc(t->items, t->cap * sizeof(*t->items));
		if (dsz)
			t->digests = ct_xrealloc(t->digests, t->cap * dsz);
	}
	t->items[t->n] = o;
	if (dsz)
		digest_fill(o, digest_at(t, o->cls, t->n));
	ct_htab_add_key(&t->refs, ct_key_hash(k), (uint32_t)t->n, &k);
	t->n++;
	return NULL;
}

/* Unlinks and returns the record with ref, or NULL. */
static struct ct_obj *table_del(struct ct_table *t, const char *ref)
{
	struct ct_key k;
	struct ct_obj *old;
	size_t last;
	long i;

	if (!t->n || !ref)
		return NULL;
	k = ct_key_ref(ref);
	i = table_pos(t, k, ref);
	if (i < 0)
		return NULL;
	old = t->items[i];
	ct_htab_del(&t->refs, ct_key_hash(k), (uint32_t)i);
	/* Swap-remove in the dense arrays; re-point the moved record's slot. */
	last = t->n - 1;
	if ((size_t)i != last) {
		struct ct_obj *moved = t->items[last];
		size_t dsz = digest_size(moved->cls);

		t->items[i] = moved;
		ct_htab_set(&t->refs, ct_key_hash(ct_key_ref(moved->ref)), (uint32_t)last, (uint32_t)i);
		if (dsz)
			memcpy(digest_at(t, moved->cls, (size_t)i), digest_at(t, moved->cls, last), dsz);
	}
	t->items[last] = NULL;
	t->n--;
	return old;
}

/* ---- group indexes -------------------------------------------------------------------- */

struct group {
	const char *k1, *k2;     /* borrowed from records */
	uint64_t h;
	size_t start, count;
};

/* Keys (one or two strings) -> a range of flat. Arrays are kept between rebuilds so a
 * rebuild after a change touches no fresh pages. */
struct gindex {
	struct group *g;
	size_t ng, gcap;
	struct ct_htab groups;   /* hash_key -> group */
	void **flat;
	size_t nflat, flatcap;
	size_t *gid;             /* build scratch: per added item, its group */
	void **items;            /* build scratch: the added items in order */
	size_t icap;
};

static void gindex_free(struct gindex *x)
{
	free(x->g);
	ct_htab_release(&x->groups);
	free(x->flat);
	free(x->gid);
	free(x->items);
	memset(x, 0, sizeof(*x));
}

static bool group_is(const struct group *g, uint64_t h, const char *k1, const char *k2)
{
	return g->h == h && !strcmp(g->k1, k1) && (k2 ? g->k2 && !strcmp(g->k2, k2) : !g->k2);
}

static long gindex_pos(const struct gindex *x, uint64_t h, const char *k1, const char *k2)
{
	struct ct_hprobe p;
	long v;

	for (ct_htab_probe(&x->groups, h, &p); (v = ct_htab_next(&x->groups, &p)) >= 0;)
		if (group_is(&x->g[v], h, k1, k2))
			return v;
	return -1;
}

static const struct group *gindex_find(const struct gindex *x, const char *k1, const char *k2)
{
	long v;

	if (!x->ng || !k1)
		return NULL;
	v = gindex_pos(x, hash_key(k1, k2), k1, k2);
	return v >= 0 ? &x->g[v] : NULL;
}

static void gx_begin(struct gindex *x, size_t expect)
{
	/* as many groups as last time, most likely */
	ct_htab_reset(&x->groups, x->ng);
	x->ng = 0;
	x->nflat = 0;
	if (x->icap < expect) {
		x->icap = expect;
		x->gid = ct_xrealloc(x->gid, x->icap * sizeof(*x->gid));
		x->items = ct_xrealloc(x->items, x->icap * sizeof(*x->items));
	}
}

static void gx_add(struct gindex *x, const char *k1, const char *k2, void *item)
{
	uint64_t h;
	long gi;

	if (!k1)
		return;
	if (x->nflat == x->icap) {
		x->icap = x->icap ? x->icap * 2 : 16;
		x->gid = ct_xrealloc(x->gid, x->icap * sizeof(*x->gid));
		x->items = ct_xrealloc(x->items, x->icap * sizeof(*x->items));
	}
	h = hash_key(k1, k2);
	gi = gindex_pos(x, h, k1, k2);
	if (gi < 0) {
		if (x->ng == x->gcap) {
			x->gcap = x->gcap ? x->gcap * 2 : 16;
			x->g = ct_xrealloc(x->g, x->gcap * sizeof(*x->g));
		}
		gi = (long)x->ng++;
		x->g[gi] = (struct group){ .k1 = k1, .k2 = k2, .h = h, .count = 0 };
		ct_htab_add(&x->groups, h, (uint32_t)gi);
	}
	x->g[gi].count++;
	x->gid[x->nflat] = (size_t)gi;
	x->items[x->nflat] = item;
	x->nflat++;
}

/* Counting sort of the added items by group; order within a group is insertion order. */
static void gx_end(struct gindex *x)
{
	size_t pos = 0;

	for (size_t i = 0; i < x->ng; i++) {
		x->g[i].start = pos;
		pos += x->g[i].count;
		x->g[i].count = 0;
	}
	if (x->flatcap < x->nflat) {
		x->flatcap = x->nflat;
		x->flat = ct_xrealloc(x->flat, x->flatcap * sizeof(*x->flat));
	}
	for (size_t i = 0; i < x->nflat; i++) {
		struct group *g = &x->g[x->gid[i]];
		x->flat[g->start + g->count++] = x->items[i];
	}
}

/* ---- derived indexes ------------------------------------------------------------------ */

enum {
	IX_SR_VDIS,        /* VDI.sr -> VDIs */
	IX_CHILDREN,       /* (VDI.sr, vhd-parent) -> VDIs */
	IX_VDI_VBDS,       /* VBD.vdi -> VBDs */
	IX_VM_VBDS,        /* VBD.vm -> VBDs */
	IX_TASKS,          /* task applies_to -> tasks */
	IX_MESSAGES,       /* message obj_uuid -> messages, newest first */
	IX_N
};

static const enum ct_class ix_class[IX_N] = {
	[IX_SR_VDIS] = CT_VDI, [IX_CHILDREN] = CT_VDI,
	[IX_VDI_VBDS] = CT_VBD, [IX_VM_VBDS] = CT_VBD, [IX_TASKS] = CT_TASK,
	[IX_MESSAGES] = CT_MESSAGE,
};

/* Every index of a class (its uuid index and the derived ones) is built in one pass over
 * the class's records, on the first query after a change to that class. */
struct ct_model_index {
	unsigned dirty;               /* bit per class changed since its indexes were built */
	bool built[CT_NCLASSES];
	struct gindex uuid[CT_NCLASSES];
	struct gindex ix[IX_N];
};

/* A change to class c: only c's indexes go stale. (m->idx_dirty, set by whoever swaps
 * tables wholesale, marks every class stale.) */
static void mark_dirty(struct ct_model *m, enum ct_class c)
{
	/* from one counter for every model, so a table swapped in from another model never
	 * carries a stamp this one had */
	static _Atomic uint64_t next_stamp;

	m->t[c].stamp = ++next_stamp;
	m->generation++;
	if (m->idx)
		m->idx->dirty |= 1u << c;
}

static void index_free(struct ct_model_index *x)
{
	if (!x)
		return;
	for (int c = 0; c < CT_NCLASSES; c++)
		gindex_free(&x->uuid[c]);
	for (int i = 0; i < IX_N; i++)
		gindex_free(&x->ix[i]);
	free(x);
}

static const char *nonnull_ref(const char *ref)
{
	return ct_ref_is_null(ref) ? NULL : ref;
}

static int msg_newest_first(const void *a, const void *b)
{
	const struct ct_message *x = *(const struct ct_message *const *)a;
	const struct ct_message *y = *(const struct ct_message *const *)b;
	if (x->timestamp != y->timestamp)
		return x->timestamp > y->timestamp ? -1 : 1;
	return strcmp(x->o.ref, y->o.ref);
}

static void build_class(struct ct_model *m, enum ct_class c)
{
	struct ct_model_index *x = m->idx;
	const struct ct_table *t = &m->t[c];
	struct gindex *ix = x->ix;

	gx_begin(&x->uuid[c], t->n);
	for (int i = 0; i < IX_N; i++)
		if (ix_class[i] == c)
			gx_begin(&ix[i], t->n);
	for (size_t i = 0; i < t->n; i++) {
		struct ct_obj *o = t->items[i];
		if (o->uuid && *o->uuid)
			gx_add(&x->uuid[c], o->uuid, NULL, o);
		switch (c) {
		case CT_VDI: {
			struct ct_vdi *v = (struct ct_vdi *)o;
			const char *sr = nonnull_ref(v->sr);
			const char *p = ct_map_get(&v->sm_config, "vhd-parent");
			if (!sr)
				break;
			gx_add(&ix[IX_SR_VDIS], sr, NULL, v);
			if (p && *p && !ct_vdi_not_chain(v))
				gx_add(&ix[IX_CHILDREN], sr, p, v);
			break;
		}
		case CT_VBD: {
			struct ct_vbd *b = (struct ct_vbd *)o;
			gx_add(&ix[IX_VDI_VBDS], nonnull_ref(b->vdi), NULL, b);
			gx_add(&ix[IX_VM_VBDS], nonnull_ref(b->vm), NULL, b);
			break;
		}
		case CT_TASK: {
			struct ct_task *tk = (struct ct_task *)o;
			gx_add(&ix[IX_TASKS], nonnull_ref(ct_map_get(&tk->other_config, "applies_to")),
			       NULL, tk);
			break;
		}
		case CT_MESSAGE: {
			struct ct_message *ms = (struct ct_message *)o;
			if (ms->obj_uuid && *ms->obj_uuid)
				gx_add(&ix[IX_MESSAGES], ms->obj_uuid, NULL, ms);
			break;
		}
		default:
			break;
		}
	}
	gx_end(&x->uuid[c]);
	for (int i = 0; i < IX_N; i++)
		if (ix_class[i] == c)
			gx_end(&ix[i]);
	if (c == CT_MESSAGE) {
		struct gindex *g = &ix[IX_MESSAGES];
		for (size_t i = 0; i < g->ng; i++)
			if (g->g[i].count > 1)
				qsort(&g->flat[g->g[i].start], g->g[i].count, sizeof(void *),
				      msg_newest_first);
	}
	x->built[c] = true;
}

/* The index, with the classes changed since the last query marked for rebuilding. */
static struct ct_model_index *index_sync(struct ct_model *m)
{
	if (!m->idx) {
		m->idx = ct_xcalloc(1, sizeof(*m->idx));
		m->idx_dirty = false;
		return m->idx;
	}
	if (m->idx_dirty || m->idx->dirty) {
		struct ct_model_index *x = m->idx;
		for (int c = 0; c < CT_NCLASSES; c++)
			if (m->idx_dirty || (x->dirty & (1u << c)))
				x->built[c] = false;
		x->dirty = 0;
		m->idx_dirty = false;
	}
	return m->idx;
}

static const struct group *ix_lookup(struct ct_model *m, int which, const char *k1, const char *k2)
{
	struct ct_model_index *x = index_sync(m);
	if (!x->built[ix_class[which]])
		build_class(m, ix_class[which]);
	return gindex_find(&x->ix[which], k1, k2);
}

static void *const *ix_range(struct ct_model *m, int which, const char *k1, const char *k2,
			     size_t *n)
{
	const struct group *g = k1 ? ix_lookup(m, which, k1, k2) : NULL;
	if (!g) {
		if (n)
			*n = 0;
		return NULL;
	}
	if (n)
		*n = g->count;
	return &m->idx->ix[which].flat[g->start];
}

/* ---- the store ------------------------------------------------------------------------ */

void ct_model_init(struct ct_model *m)
{
	memset(m, 0, sizeof(*m));
	m->t = ct_xcalloc(CT_NCLASSES, sizeof(*m->t));
	for (int c = 0; c < CT_NCLASSES; c++)
		ct_htab_init(&m->t[c].refs, sizeof(struct ct_key));
	pthread_mutex_init(&m->lock, NULL);
}

void ct_model_release(struct ct_model *m)
{
	if (!m || !m->t)
		return;
	for (int c = 0; c < CT_NCLASSES; c++)
		table_release(&m->t[c]);
	free(m->t);
	m->t = NULL;
	index_free(m->idx);
	m->idx = NULL;
	pthread_mutex_destroy(&m->lock);
}

void ct_model_lock(struct ct_model *m)
{
	pthread_mutex_lock(&m->lock);
}

void ct_model_unlock(struct ct_model *m)
{
	pthread_mutex_unlock(&m->lock);
}

void ct_model_clear(struct ct_model *m)
{
	for (int c = 0; c < CT_NCLASSES; c++)
		table_release(&m->t[c]);
	index_free(m->idx);
	m->idx = NULL;
	m->idx_dirty = true;
	m->generation++;
}

void ct_model_swap(struct ct_model *live, struct ct_model *fresh)
{
	struct ct_model_index *idx = live->idx;
	uint64_t gen = live->generation > fresh->generation ? live->generation : fresh->generation;

	struct ct_table *t = live->t;

	live->t = fresh->t;
	fresh->t = t;
	live->idx = fresh->idx;
	fresh->idx = idx;
	live->idx_dirty = true;
	fresh->idx_dirty = true;
	live->generation = gen + 1;
}

void ct_model_put(struct ct_model *m, struct ct_obj *o)
{
	if (!o)
		return;
	if ((int)o->cls < 0 || o->cls >= CT_NCLASSES || !o->ref || !*o->ref) {
		ct_obj_free(o);
		return;
	}
	struct ct_obj *old = table_put(&m->t[o->cls], o);
	if (old != o)
		ct_obj_free(old);
	mark_dirty(m, o->cls);
}

void ct_model_del(struct ct_model *m, enum ct_class c, const char *ref)
{
	if ((int)c < 0 || c >= CT_NCLASSES)
		return;
	struct ct_obj *old = table_del(&m->t[c], ref);
	if (!old)
		return;
	ct_obj_free(old);
	mark_dirty(m, c);
}

uint64_t ct_model_stamp(const struct ct_model *m, enum ct_class c)
{
	if ((int)c < 0 || c >= CT_NCLASSES)
		return 0;
	return m->t[c].stamp;
}

size_t ct_model_count(const struct ct_model *m, enum ct_class c)
{
	if ((int)c < 0 || c >= CT_NCLASSES)
		return 0;
	return m->t[c].n;
}

struct ct_obj *ct_model_at(const struct ct_model *m, enum ct_class c, size_t i)
{
	if ((int)c < 0 || c >= CT_NCLASSES || i >= m->t[c].n)
		return NULL;
	return m->t[c].items[i];
}

struct ct_obj *ct_model_find(const struct ct_model *m, enum ct_class c, const char *ref)
{
	if ((int)c < 0 || c >= CT_NCLASSES || ct_ref_is_null(ref))
		return NULL;
	return table_find(&m->t[c], ref);
}

struct ct_obj *ct_model_find_uuid(struct ct_model *m, enum ct_class c, const char *uuid)
{
	if ((int)c < 0 || c >= CT_NCLASSES || !uuid || !*uuid || !m->t[c].n)
		return NULL;
	struct ct_model_index *x = index_sync(m);
	if (!x->built[c])
		build_class(m, c);
	const struct group *g = gindex_find(&x->uuid[c], uuid, NULL);
	return g ? x->uuid[c].flat[g->start] : NULL;
}

long ct_model_pos_of_ref(const struct ct_model *m, enum ct_class c, struct ct_key k, const char *ref)
{
	if ((int)c < 0 || c >= CT_NCLASSES || ct_key_none(k) || !m->t[c].n)
		return -1;
	return table_pos(&m->t[c], k, ref);
}

void ct_model_prefetch_ref(const struct ct_model *m, enum ct_class c, struct ct_key k)
{
	ct_htab_prefetch(&m->t[c].refs, ct_key_hash(k));
}

const struct ct_vdi_digest *ct_model_vdi_digests(const struct ct_model *m)
{
	return m->t[CT_VDI].digests;
}

const struct ct_vbd_digest *ct_model_vbd_digests(const struct ct_model *m)
{
	return m->t[CT_VBD].digests;
}

const struct ct_vm_digest *ct_model_vm_digests(const struct ct_model *m)
{
	return m->t[CT_VM].digests;
}

struct ct_pool *ct_model_pool(const struct ct_model *m)
{
	return (struct ct_pool *)ct_model_at(m, CT_POOL, 0);
}

struct ct_sr *ct_model_sr(const struct ct_model *m, const char *ref)
{
	return (struct ct_sr *)ct_model_find(m, CT_SR, ref);
}

struct ct_vdi *ct_model_vdi(const struct ct_model *m, const char *ref)
{
	return (struct ct_vdi *)ct_model_find(m, CT_VDI, ref);
}

struct ct_vm *ct_model_vm(const struct ct_model *m, const char *ref)
{
	return (struct ct_vm *)ct_model_find(m, CT_VM, ref);
}

struct ct_vbd *ct_model_vbd(const struct ct_model *m, const char *ref)
{
	return (struct ct_vbd *)ct_model_find(m, CT_VBD, ref);
}

struct ct_host *ct_model_host(const struct ct_model *m, const char *ref)
{
	return (struct ct_host *)ct_model_find(m, CT_HOST, ref);
}

struct ct_task *ct_model_task(const struct ct_model *m, const char *ref)
{
	return (struct ct_task *)ct_model_find(m, CT_TASK, ref);
}

struct ct_vdi *const *ct_model_sr_vdis(struct ct_model *m, const struct ct_sr *sr, size_t *n)
{
	return (struct ct_vdi *const *)ix_range(m, IX_SR_VDIS, sr ? nonnull_ref(sr->o.ref) : NULL,
						 NULL, n);
}

bool ct_vdi_not_chain(const struct ct_vdi *v)
{
	const char *vt = ct_map_get(&v->sm_config, "vdi_type");

	return v->type == CT_VDI_CBT_METADATA || (vt && !strcasecmp(vt, "cbtlog"));
}

struct ct_vdi *ct_model_vdi_parent(struct ct_model *m, const struct ct_vdi *v)
{
	if (!v || ct_vdi_not_chain(v))
		return NULL;
	const char *sr = nonnull_ref(v->sr);
	const char *p = ct_map_get(&v->sm_config, "vhd-parent");
	if (!sr || !p || !*p)
		return NULL;
	/* uuids are unique in a pool's database; a copied disk's uuid may still appear on
	 * two SRs in a torn state, so pick the holder on v's own SR */
	struct ct_model_index *x = index_sync(m);
	if (!x->built[CT_VDI])
		build_class(m, CT_VDI);
	const struct group *g = gindex_find(&x->uuid[CT_VDI], p, NULL);
	for (size_t i = 0; g && i < g->count; i++) {
		struct ct_vdi *cand = x->uuid[CT_VDI].flat[g->start + i];
		if (cand != v && cand->sr && !strcmp(cand->sr, sr) && !ct_vdi_not_chain(cand))
			return cand;
	}
	return NULL;
}

struct ct_vdi *const *ct_model_vdi_children(struct ct_model *m, const struct ct_vdi *v, size_t *n)
{
	const char *sr = v ? nonnull_ref(v->sr) : NULL;
	if (!sr || !v->o.uuid || !*v->o.uuid) {
		if (n)
			*n = 0;
		return NULL;
	}
	return (struct ct_vdi *const *)ix_range(m, IX_CHILDREN, sr, v->o.uuid, n);
}

struct ct_vbd *const *ct_model_vdi_vbds(struct ct_model *m, const struct ct_vdi *v, size_t *n)
{
	return (struct ct_vbd *const *)ix_range(m, IX_VDI_VBDS, v ? nonnull_ref(v->o.ref) : NULL,
						 NULL, n);
}

struct ct_vbd *const *ct_model_vm_vbds(struct ct_model *m, const struct ct_vm *vm, size_t *n)
{
	return (struct ct_vbd *const *)ix_range(m, IX_VM_VBDS, vm ? nonnull_ref(vm->o.ref) : NULL,
						 NULL, n);
}

struct ct_task *const *ct_model_tasks_for(struct ct_model *m, const char *ref, size_t *n)
{
	return (struct ct_task *const *)ix_range(m, IX_TASKS, nonnull_ref(ref), NULL, n);
}

struct ct_message *const *ct_model_messages_for(struct ct_model *m, const char *uuid, size_t *n)
{
	return (struct ct_message *const *)ix_range(m, IX_MESSAGES, uuid && *uuid ? uuid : NULL,
						    NULL, n);
}
