/* Randomised regression test for ct_chain_refresh: a report kept across many changes and
 * brought up to date with ct_chain_refresh must be exactly what a fresh ct_chain_eval gives.
 *
 * For each seed of a fixed list a pool model is generated (SRs of every type, VHD forests
 * with base copies, snapshots, branches, cycles, missing and cross-SR parents, duplicate
 * uuids, odd refs/uuids/names, VMs, snapshot VMs, templates, VBDs, GC tasks, messages, SR
 * overrides), then changed step by step: structural put/del (VDIs, VBDs, VMs, SRs, the pool),
 * in-place clear + reload, "light" changes (task progress, messages, SR usage, time only)
 * and a wholesale table swap as src/watch/watch.c does on a full reload. At every step both
 * reports are written out as text (every field of every verdict, problems in order, the
 * lookups for every record, pointers as refs) and compared, with the two stall trackers
 * each path fed; invariants of the fresh report are checked on their own. A failure names
 * the seed, the step and the first differing line.
 *
 * Deterministic: its own PRNG (splitmix64) seeded from the case number, fixed times. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/chain.h"
#include "model/model_int.h"
#include "test_chain_fixture.h"

#define NOW_BASE ((time_t)1760000000)
#define N_CHUNKS 10
#define CHUNK_SEEDS 24     /* seeds 1 .. N_CHUNKS * CHUNK_SEEDS */

/* ---- generator features (what was built, independent of the engine) ---- */
enum {
	F_SR, F_SR_ZERO_SIZE, F_SR_ISO_CONTENT, F_SR_NONVHD_TYPE, F_SR_NULL_TYPE, F_SR_FULL,
	F_VDI, F_BASE, F_SNAPSHOT, F_SNAP_TIME_TIE, F_MISSING_PARENT, F_SELF_PARENT, F_CYCLE2,
	F_CYCLE3, F_CYCLE_TAIL, F_DUP_UUID_SAME_SR, F_DUP_UUID_OTHER_SR, F_CROSS_SR_PARENT,
	F_UPPER_PARENT, F_EMPTY_PARENT, F_AIO_RAW, F_PAUSED, F_RELINKING, F_NONUSER_TYPE,
	F_MISSING_FLAG, F_CUR_OPS, F_CBT, F_UNKNOWN_SR, F_NULL_SR, F_DEEP_CHAIN, F_BRANCH,
	F_VDI_VBDS_SET, F_VDI_VBDS_BOGUS, F_NAME_NULL, F_NAME_EMPTY, F_NAME_CTRL, F_NAME_UTF8,
	F_NAME_LONG, F_UUID_UPPER, F_UUID_ODD, F_UUID_EMPTY, F_UUID_NULL, F_UUID_NONRFC, F_REF_ODD,
	F_VM_REAL, F_VM_SNAP, F_VM_SNAP_DEAD, F_VM_TEMPLATE, F_VM_DOM0, F_VM_NAME_TIE,
	F_VBD, F_VBD_CD_EMPTY, F_VBD_UNKNOWN_VM, F_VBD_UNKNOWN_VDI, F_VBD_SHARED, F_VBD_ODD_DEV,
	F_GC_TASK, F_OTHER_TASK, F_MSG_NOSPACE, F_MSG_COALESCE, F_MSG_OLD, F_SM_GC_NO_SPACE,
	F_SM_LAST_COALESCE_ERR, F_NO_POOL, F_PC_NULL, F_OVERRIDE,
	F_MUT_PUT, F_MUT_PUT_SAME, F_MUT_DEL, F_MUT_DEL_ABSENT, F_MUT_CLEAR, F_MUT_LIGHT, F_SWAP,
	F_SWAP_FRESH, F_STALL_STEPS, F_CFG_SWITCH,
	F_N
};
static const char *const feat_names[F_N] = {
	"SRs", "SR size 0", "SR content_type iso", "SR non-VHD type", "SR NULL type", "SR nearly full",
	"VDIs", "base copies", "snapshot VDIs", "snapshot_time ties", "missing parent",
	"self parent", "2-cycles", "3-cycles", "cycle with tail/children", "dup uuid same SR",
	"dup uuid two SRs", "vhd-parent on other SR", "vhd-parent uppercase", "vhd-parent empty",
	"vdi_type aio/raw", "sm paused", "sm relinking", "non-user VDI types", "missing=true",
	"current_operations", "cbt", "VDI unknown SR", "VDI NULL/null SR", "deep chains (>=18)",
	"branch points", "VDI vbds set (real)", "VDI vbds set (bogus)", "NULL names", "empty names",
	"control-char names", "UTF-8 names", "long names", "UPPERCASE uuids", "non-uuid uuids",
	"empty uuids", "NULL uuids", "non-RFC lowercase uuids", "odd refs",
	"real VMs", "snapshot VMs", "snapshot VMs of dead VM", "templates", "control domains",
	"VM name ties",
	"VBDs", "empty CD VBDs", "VBD unknown VM", "VBD unknown VDI", "VDI shared by VMs",
	"odd userdevice", "GC tasks", "other tasks", "msg SM_GC_NO_SPACE", "msg coalesce fail",
	"old messages", "sm gc_no_space", "sm last-coalesce-error", "no pool record",
	"pool conf NULL", "SR overrides",
	"mut put", "mut put identical", "mut del", "mut del absent", "mut clear+reload", "mut light (task/msg/SR)", "swaps",
	"swaps with fresh model", "stall evaluations", "configuration reloaded",
};
static long feat[F_N];

/* ---- PRNG (splitmix64) ---- */
static uint64_t rs;
static uint64_t rnext(void)
{
	uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
static int rnd(int n)
{
	return n <= 1 ? 0 : (int)(rnext() % (uint64_t)n);
}
static bool chance(int pct)
{
	return rnd(100) < pct;
}
static int rrange(int a, int b)
{
	return a + rnd(b - a + 1);
}

static int seq;
static time_t now0;
static int odd_pct = 10;   /* per case: how often uuids are not canonical */

/* Lowercase 8-4-4-4-12 hex, but not version 4 / RFC 4122 variant (the digests' keys treat
 * only the RFC variant as exact). */
static char *noncanon_uuid(void)
{
	uint64_t a = rnext(), b = rnext();
	static const char var[] = "01234567cdef";

	return ct_xasprintf("%08x-%04x-%x%03x-%c%03x-%012llx", (unsigned)(a >> 32),
			    (unsigned)(a & 0xffff), (unsigned)((a >> 60) & 0xf),
			    (unsigned)((a >> 16) & 0xfff), var[rnd(12)], (unsigned)(b & 0xfff),
			    (unsigned long long)(b >> 16));
}

static char *canon_uuid(void)
{
	uint64_t a = rnext(), b = rnext();

	return ct_xasprintf("%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
			    (unsigned)(a & 0xffff), (unsigned)((a >> 16) & 0xfff),
			    (unsigned)(0x8000 | (b & 0x3fff)), (unsigned long long)(b >> 16));
}

static char *upper(const char *s)
{
	char *u = ct_xstrdup(s);

	for (char *p = u; p && *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 32);
	return u;
}

/* A record uuid: mostly canonical, sometimes odd. */
static char *gen_uuid(bool allow_odd)
{
	int k = allow_odd ? rnd(100) * 10 / (odd_pct ? odd_pct : 1) : 99;

	if (k < 4) {
		char *c = canon_uuid(), *u = upper(c);

		free(c);
		feat[F_UUID_UPPER]++;
		return u;
	}
	if (k < 7) {
		feat[F_UUID_ODD]++;
		return ct_xasprintf("%s-%d", rnd(2) ? "not-a-uuid" : "vdi", ++seq);
	}
	if (k < 9) {
		feat[F_UUID_EMPTY]++;
		return ct_xstrdup("");
	}
	if (k < 10) {
		feat[F_UUID_NULL]++;
		return NULL;
	}
	if (k < 14) {
		feat[F_UUID_NONRFC]++;
		return noncanon_uuid();
	}
	return canon_uuid();
}

static char *gen_ref(const char *kind)
{
	if (chance(8)) {
		feat[F_REF_ODD]++;
		return ct_xasprintf("OpaqueRef:%s-%d", kind, ++seq);
	}
	if (chance(4)) {
		char *u = rnd(2) ? noncanon_uuid() : canon_uuid(), *v = rnd(2) ? upper(u) : ct_xstrdup(u);
		char *r = ct_xasprintf("%s%s", rnd(3) ? "OpaqueRef:" : rnd(2) ? "opaqueref:" : "", v);

		free(u);
		free(v);
		feat[F_REF_ODD]++;
		return r;
	}
	{
		char *u = canon_uuid(), *r = ct_xasprintf("OpaqueRef:%s", u);

		free(u);
		return r;
	}
}

static char *gen_name(const char *base)
{
	static const char *const names[] = {
		"web01 0", "web01 0", "web01 1", "db-primary disk", "db-primary diskA",
		"db-primary diskB", "aaaaaaaa", "aaaaaaaaX", "aaaaaaaaY", "aaaaaaa", "Base copy",
		"base copy", "zz", "ZZ", "disk", "disk ", "0123456789abcde", "0123456789abcdef",
		"0123456789abcdef0", "0123456789abcdefA", "0123456789abcdef\xff", "0123456789abcdeg",
		"0123456789abcdef0 copy", "0123456789abcdef0 copz", "\xff\xfe", "\x01",
	};
	int k = rnd(100);

	if (k < 3) {
		feat[F_NAME_NULL]++;
		return NULL;
	}
	if (k < 6) {
		feat[F_NAME_EMPTY]++;
		return ct_xstrdup("");
	}
	if (k < 9) {
		feat[F_NAME_CTRL]++;
		return ct_xstrdup(rnd(2) ? "ctl\x1b[31mred\x07\nline" : "tab\there\r\x7f");
	}
	if (k < 12) {
		feat[F_NAME_UTF8]++;
		return ct_xstrdup(rnd(3) == 0 ? "bad \xff\xfe utf8 \xc3" :
				  rnd(2) ? "d\xc3\xaf" "sk \xe2\x9c\x93 \xc3\xbc" "n\xc3\xaf" "c\xc3\xb6" :
				  "d\xc3\xaf" "sk \xe2\x9c\x93");
	}
	if (k < 13) {
		struct ct_sb sb;
		char *s;

		feat[F_NAME_LONG]++;
		ct_sb_init(&sb);
		for (int i = 0; i < 40; i++)
			ct_sb_adds(&sb, "longname\xc3\xa9");
		s = ct_sb_detach(&sb);
		ct_sb_release(&sb);
		return s;
	}
	if (k < 55)
		return ct_xstrdup(names[rnd((int)(sizeof(names) / sizeof(names[0])))]);
	return ct_xasprintf("%s-%d", base, rnd(40));
}

/* Pick a record of class c, or NULL. */
static struct ct_obj *pick(struct ct_model *m, enum ct_class c)
{
	size_t n = ct_model_count(m, c);

	return n ? ct_model_at(m, c, (size_t)rnd((int)n)) : NULL;
}

/* sm_config without key k (ct_map has no delete). */
static void map_del(struct ct_map *mp, const char *k)
{
	struct ct_map n = { 0 };

	for (size_t i = 0; i < mp->n; i++)
		if (strcmp(mp->k[i], k))
			ct_map_set(&n, mp->k[i], mp->v[i]);
	ct_map_release(mp);
	*mp = n;
}

/* ---- records ---- */

static struct ct_sr *gen_sr(struct ct_model *m)
{
	static const char *const types[] = { "nfs", "nfs", "nfs", "ext", "ext", "lvmoiscsi",
		"lvmoiscsi", "lvm", "lvmohba", "iso", "udev", "file", "smb", "NFS", "LVM", NULL, "hba",
		"dummy" };
	static const char *const names[] = { "nfs-prod-01", "nfs-prod-02", "lvm-full", "iscsi-lvm-01",
		"ISO library", "Removable storage", "local storage", "local storage", "", NULL,
		"nfs \xe2\x9c\x93", "nfs-prod-01" };
	struct ct_sr *sr = (struct ct_sr *)ct_obj_new(CT_SR);
	int k;

	sr->o.ref = gen_ref("sr");
	sr->o.uuid = gen_uuid(true);
	k = rnd((int)(sizeof(names) / sizeof(names[0])));
	sr->name_label = ct_xstrdup(names[k]);
	sr->type = ct_xstrdup(types[rnd((int)(sizeof(types) / sizeof(types[0])))]);
	if (!sr->type)
		feat[F_SR_NULL_TYPE]++;
	else if (!strcmp(sr->type, "iso") || !strcmp(sr->type, "udev") || !strcmp(sr->type, "hba") ||
		 !strcmp(sr->type, "dummy"))
		feat[F_SR_NONVHD_TYPE]++;
	if (chance(8)) {
		sr->content_type = ct_xstrdup(rnd(2) ? "iso" : "ISO");
		feat[F_SR_ISO_CONTENT]++;
	} else if (chance(90)) {
		sr->content_type = ct_xstrdup("user");
	}
	if (chance(10)) {
		sr->physical_size = 0;
		sr->physical_utilisation = rnd(2) ? 0 : 1000;
		feat[F_SR_ZERO_SIZE]++;
	} else {
		sr->physical_size = (int64_t)rrange(100, 4000) * FX_GIB;
		switch (rnd(6)) {
		case 0:
			sr->physical_utilisation = sr->physical_size - sr->physical_size / rrange(20, 200);
			feat[F_SR_FULL]++;
			break;
		case 1:
			sr->physical_utilisation = sr->physical_size + FX_GIB;
			feat[F_SR_FULL]++;
			break;
		default:
			sr->physical_utilisation = sr->physical_size / 100 * rrange(0, 95);
		}
	}
	sr->shared = rnd(2);
	if (chance(5)) {
		ct_map_set(&sr->sm_config, "last-coalesce-error",
			   rnd(3) == 0 ? "garbage" : rnd(2) ? "" : "1");
		feat[F_SM_LAST_COALESCE_ERR]++;
	}
	if (chance(6)) {
		char t[32];

		snprintf(t, sizeof(t), "%lld", (long long)(now0 - rrange(0, 2) * 20 * 3600));
		ct_map_set(&sr->sm_config, "last-coalesce-error", t);
		feat[F_SM_LAST_COALESCE_ERR]++;
	}
	if (chance(8))
		ct_map_set(&sr->other_config, rnd(3) == 0 ? "gc" : rnd(2) ? "coalesce" : "leaf-coalesce",
			   rnd(4) ? "false" : "true");
	ct_model_put(m, &sr->o);
	feat[F_SR]++;
	return sr;
}

static enum ct_vdi_type gen_vdi_type(void)
{
	static const enum ct_vdi_type other[] = { CT_VDI_SUSPEND, CT_VDI_CRASHDUMP,
		CT_VDI_HA_STATEFILE, CT_VDI_METADATA, CT_VDI_REDO_LOG, CT_VDI_RRD, CT_VDI_PVS_CACHE,
		CT_VDI_CBT_METADATA, CT_VDI_OTHER, CT_VDI_EPHEMERAL };
	int k = rnd(100);

	if (k < 80)
		return CT_VDI_USER;
	if (k < 88)
		return CT_VDI_SYSTEM;
	feat[F_NONUSER_TYPE]++;
	return other[rnd(10)];
}

static time_t snap_times[] = { 0, 1700000000, 1700000000, 1700003600, 1710000000, -5 };

/* A VDI on sr (NULL = odd SR field) with vhd-parent parent_uuid (NULL = none). */
static struct ct_vdi *gen_vdi(struct ct_model *m, const struct ct_sr *sr, const char *parent_uuid,
			      bool base, bool snapshot, const char *uuid)
{
	struct ct_vdi *v = (struct ct_vdi *)ct_obj_new(CT_VDI);
	int k;

	v->o.ref = gen_ref("vdi");
	v->o.uuid = uuid ? ct_xstrdup(uuid) : gen_uuid(true);
	v->name_label = base ? ct_xstrdup(rnd(4) ? "base copy" : "") : gen_name("disk");
	if (chance(20))
		v->name_description = ct_xstrdup("created by test");
	if (sr) {
		v->sr = ct_xstrdup(sr->o.ref);
	} else {
		k = rnd(4);
		v->sr = k == 0 ? NULL : ct_xstrdup(k == 1 ? "OpaqueRef:NULL" : k == 2 ? "" :
						   "OpaqueRef:gone-sr");
		feat[k == 3 ? F_UNKNOWN_SR : F_NULL_SR]++;
	}
	v->virtual_size = chance(3) ? 0 : chance(1) ? -1 : (int64_t)rrange(1, 2000) * FX_GIB;
	v->physical_utilisation = v->virtual_size / 2;
	v->type = gen_vdi_type();
	v->managed = !base;
	v->read_only = base || chance(5);
	v->is_a_snapshot = snapshot;
	v->sharable = chance(3);
	if (snapshot) {
		v->snapshot_time = snap_times[rnd(chance(3) ? 6 : 5)];
		feat[F_SNAPSHOT]++;
		if (v->snapshot_time == 1700000000)
			feat[F_SNAP_TIME_TIE]++;
	}
	v->snapshot_of = ct_xstrdup("OpaqueRef:NULL");
	if (base)
		feat[F_BASE]++;
	k = rnd(100);
	if (k < 5) {
		ct_map_set(&v->sm_config, "vdi_type", rnd(3) == 0 ? (rnd(2) ? "raw" : "Raw") :
			   rnd(2) ? "aio" : "AIO");
		feat[F_AIO_RAW]++;
	} else if (k < 90) {
		ct_map_set(&v->sm_config, "vdi_type", "vhd");
	}
	if (parent_uuid)
		ct_map_set(&v->sm_config, "vhd-parent", parent_uuid);
	if (chance(3)) {
		ct_map_set(&v->sm_config, "paused", rnd(4) ? "true" : "false");
		feat[F_PAUSED]++;
	}
	if (chance(2)) {
		ct_map_set(&v->sm_config, "relinking", "True");
		feat[F_RELINKING]++;
	}
	if (chance(20))
		ct_map_set(&v->sm_config, "host_OpaqueRef:abc", "RW");
	if (chance(3)) {
		v->missing = true;
		feat[F_MISSING_FLAG]++;
	}
	if (chance(3)) {
		ct_strset_add(&v->current_operations, rnd(2) ? "snapshot" : "clone");
		feat[F_CUR_OPS]++;
	}
	if (chance(3))
		v->on_boot = ct_xstrdup(rnd(2) ? "reset" : "persist");
	if (chance(3))
		v->allow_caching = true;
	if (chance(3))
		ct_map_set(&v->other_config, "leaf-coalesce", rnd(2) ? "false" : "force");
	if (chance(3))
		ct_map_set(&v->sm_config, "vdi_type", "cbtlog");
	if (chance(5)) {
		v->cbt_enabled = true;
		feat[F_CBT]++;
	}
	ct_model_put(m, &v->o);
	feat[F_VDI]++;
	return v;
}

/* VDIs of one SR, kept by the generator for picking parents (pointers valid until the
 * model changes, which it does not while one SR is generated). */
struct vlist {
	struct ct_vdi **v;
	int n, cap;
};
static void vl_add(struct vlist *l, struct ct_vdi *v)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = ct_xrealloc(l->v, (size_t)l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = v;
}

static const char *uuid_of(const struct ct_vdi *v)
{
	return v && v->o.uuid && *v->o.uuid ? v->o.uuid : NULL;
}

/* One VM disk's chain: k base copies, snapshots hanging off them, a leaf. */
static void gen_chain(struct ct_model *m, const struct ct_sr *sr, struct vlist *all,
		      struct vlist *leaves)
{
	int k = chance(5) ? rrange(15, 36) : rrange(0, 5);
	const struct ct_vdi *p = NULL;
	struct ct_vdi *leaf;

	if (all->n && chance(15)) {
		p = all->v[rnd(all->n)];   /* build on an existing VDI: branch */
		feat[F_BRANCH]++;
	}
	if (k >= 18)
		feat[F_DEEP_CHAIN]++;
	for (int i = 0; i < k; i++) {
		struct ct_vdi *b = gen_vdi(m, sr, uuid_of(p), !chance(5), false, NULL);

		vl_add(all, b);
		if (chance(35)) {
			struct ct_vdi *s = gen_vdi(m, sr, uuid_of(b), false, true, NULL);

			vl_add(all, s);
			vl_add(leaves, s);
			feat[F_BRANCH]++;
		}
		p = b;
	}
	leaf = gen_vdi(m, sr, uuid_of(p), false, chance(8), NULL);
	vl_add(all, leaf);
	vl_add(leaves, leaf);
}

static void gen_specials(struct ct_model *m, const struct ct_sr *sr, struct vlist *all,
			 struct vlist *leaves, const struct vlist *other_sr)
{
	int n = rnd(4);

	for (int i = 0; i < n; i++) {
		struct ct_vdi *v = NULL;

		switch (rnd(10)) {
		case 0: {
			char *u = canon_uuid();

			v = gen_vdi(m, sr, u, chance(50), false, NULL);
			free(u);
			feat[F_MISSING_PARENT]++;
			if (chance(50)) {
				vl_add(all, v);
				v = gen_vdi(m, sr, uuid_of(v), false, false, NULL);
			}
			break;
		}
		case 1: {
			char *u = canon_uuid();

			v = gen_vdi(m, sr, u, chance(50), false, u);
			free(u);
			feat[F_SELF_PARENT]++;
			if (chance(50)) {
				vl_add(all, v);
				v = gen_vdi(m, sr, uuid_of(v), false, false, NULL);
			}
			break;
		}
		case 2: case 3: {
			int len = rnd(2) ? 2 : 3;
			char *u[3];
			struct ct_vdi *c[3];

			for (int q = 0; q < len; q++)
				u[q] = canon_uuid();
			for (int q = 0; q < len; q++) {
				c[q] = gen_vdi(m, sr, u[(q + 1) % len], chance(60), false, u[q]);
				vl_add(all, c[q]);
			}
			feat[len == 2 ? F_CYCLE2 : F_CYCLE3]++;
			if (chance(60)) {
				/* children below the cycle, and a tail */
				struct ct_vdi *t = gen_vdi(m, sr, u[rnd(len)], chance(50), false, NULL);

				vl_add(all, t);
				v = gen_vdi(m, sr, uuid_of(t), false, false, NULL);
				feat[F_CYCLE_TAIL]++;
			}
			for (int q = 0; q < len; q++)
				free(u[q]);
			break;
		}
		case 4:
			if (all->n) {
				const struct ct_vdi *d = all->v[rnd(all->n)];

				if (uuid_of(d)) {
					v = gen_vdi(m, sr, rnd(2) ? ct_map_get(&d->sm_config, "vhd-parent") :
						    NULL, chance(50), chance(20), d->o.uuid);
					feat[F_DUP_UUID_SAME_SR]++;
				}
			}
			break;
		case 5:
			if (other_sr->n) {
				const struct ct_vdi *d = other_sr->v[rnd(other_sr->n)];

				if (uuid_of(d)) {
					v = gen_vdi(m, sr, NULL, chance(50), false, d->o.uuid);
					feat[F_DUP_UUID_OTHER_SR]++;
				}
			}
			break;
		case 6:
			if (other_sr->n) {
				const struct ct_vdi *d = other_sr->v[rnd(other_sr->n)];

				if (uuid_of(d)) {
					v = gen_vdi(m, sr, d->o.uuid, false, false, NULL);
					feat[F_CROSS_SR_PARENT]++;
				}
			}
			break;
		case 7:
			if (all->n) {
				const struct ct_vdi *d = all->v[rnd(all->n)];

				if (uuid_of(d)) {
					char *u = upper(d->o.uuid);

					v = gen_vdi(m, sr, u, false, false, NULL);
					free(u);
					feat[F_UPPER_PARENT]++;
				}
			}
			break;
		case 8:
			v = gen_vdi(m, sr, "", false, false, NULL);
			feat[F_EMPTY_PARENT]++;
			break;
		default:
			/* random link to any VDI on the SR (shared ancestors, branching) */
			if (all->n) {
				v = gen_vdi(m, sr, uuid_of(all->v[rnd(all->n)]), chance(30), chance(30),
					    NULL);
				feat[F_BRANCH]++;
			}
		}
		if (v) {
			vl_add(all, v);
			vl_add(leaves, v);
		}
	}
}

static struct ct_vm *gen_vm(struct ct_model *m, int kind, const struct ct_vm *of)
{
	struct ct_vm *vm = (struct ct_vm *)ct_obj_new(CT_VM);
	static const char *const vmnames[] = { "web01", "web01", "db-primary", "app", "app",
		"backup-proxy", "" };

	vm->o.ref = gen_ref("vm");
	vm->o.uuid = gen_uuid(true);
	if (chance(30)) {
		vm->name_label = ct_xstrdup(vmnames[rnd(7)]);
		feat[F_VM_NAME_TIE]++;
	} else {
		vm->name_label = gen_name("vm");
	}
	vm->power_state = (enum ct_power_state)rnd(5);
	vm->snapshot_of = ct_xstrdup("OpaqueRef:NULL");
	vm->suspend_vdi = ct_xstrdup("OpaqueRef:NULL");
	vm->resident_on = ct_xstrdup("OpaqueRef:NULL");
	switch (kind) {
	case 0:
		feat[F_VM_REAL]++;
		break;
	case 1:
		vm->is_a_snapshot = true;
		vm->is_a_template = chance(90);
		vm->snapshot_time = snap_times[rnd(5)];
		free(vm->snapshot_of);
		if (of && chance(85)) {
			vm->snapshot_of = ct_xstrdup(of->o.ref);
		} else {
			vm->snapshot_of = ct_xstrdup(rnd(2) ? "OpaqueRef:dead-vm" : "OpaqueRef:NULL");
			feat[F_VM_SNAP_DEAD]++;
		}
		feat[F_VM_SNAP]++;
		break;
	case 2:
		vm->is_a_template = true;
		vm->is_default_template = chance(50);
		feat[F_VM_TEMPLATE]++;
		break;
	default:
		vm->is_control_domain = true;
		feat[F_VM_DOM0]++;
	}
	ct_model_put(m, &vm->o);
	return vm;
}

static struct ct_vbd *gen_vbd(struct ct_model *m, const char *vm_ref, const char *vdi_ref)
{
	static const char *const udev[] = { "0", "1", "2", "3", "10", "0", "1", "xvdb", "", NULL,
		"-1", " 2", "02", "99999999999999999999", "0x10", "-99999999999999999999" };
	static const char *const dev[] = { "xvda", "xvdb", "xvdc", "hda", "", NULL };
	struct ct_vbd *b = (struct ct_vbd *)ct_obj_new(CT_VBD);
	int k = rnd((int)(sizeof(udev) / sizeof(udev[0])));

	b->o.ref = gen_ref("vbd");
	b->o.uuid = gen_uuid(false);
	b->vm = ct_xstrdup(vm_ref);
	b->vdi = ct_xstrdup(chance(1) ? "" : vdi_ref);
	b->type = chance(90) ? CT_VBD_DISK : (enum ct_vbd_type)rnd(4);
	b->userdevice = ct_xstrdup(udev[k]);
	if (k >= 7)
		feat[F_VBD_ODD_DEV]++;
	b->device = ct_xstrdup(dev[rnd(6)]);
	b->currently_attached = rnd(2);
	b->read_only = chance(10);
	ct_model_put(m, &b->o);
	feat[F_VBD]++;
	return b;
}

static void gen_task(struct ct_model *m, const struct ct_sr *sr)
{
	static const double prog[] = { 0, 0.4, 0.4, 0.999, -0.2, 1.3, 0.05 };
	struct ct_task *t = (struct ct_task *)ct_obj_new(CT_TASK);
	int k = rnd(10);

	t->o.ref = gen_ref("task");
	t->o.uuid = gen_uuid(false);
	t->name_label = ct_xstrdup(k < 6 ? "Garbage Collection" : k == 6 ? "garbage collection" :
				   k == 7 ? "VDI.snapshot" : k == 8 ? NULL : "Coalesce");
	t->status = chance(80) ? CT_TASK_PENDING : (enum ct_task_status)rnd(5);
	t->progress = prog[rnd(7)];
	if (chance(90))
		ct_map_set(&t->other_config, "applies_to", sr && chance(90) ? sr->o.ref :
			   "OpaqueRef:gone-sr");
	feat[k < 7 ? F_GC_TASK : F_OTHER_TASK]++;
	ct_model_put(m, &t->o);
}

static const char *rand_vdi_uuid(struct ct_model *m);

static struct ct_message *gen_message(struct ct_model *m, const struct ct_sr *sr)
{
	struct ct_message *ms = (struct ct_message *)ct_obj_new(CT_MESSAGE);
	static const long ages[] = { 60, 3600, 23 * 3600, 24 * 3600, 24 * 3600 + 1, 25 * 3600,
		30 * 86400, -3600 };
	int k = rnd(7);

	ms->o.ref = gen_ref("message");
	ms->o.uuid = gen_uuid(false);
	switch (k) {
	case 0: case 1:
		ms->name = ct_xstrdup("SM_GC_NO_SPACE");
		ms->body = ct_xstrdup("GC out of space");
		feat[F_MSG_NOSPACE]++;
		break;
	case 2:
		ms->name = ct_xstrdup(rnd(2) ? "No space left on device" : "Input/output error");
		ms->body = ct_xstrdup(rnd(2) ? "Run out of space while coalescing." : "I/O error while coalescing.");
		feat[F_MSG_COALESCE]++;
		break;
	case 3:
		ms->name = ct_xstrdup(rnd(2) ? "Invalid argument" : "VM_SNAPSHOTTED");
		ms->body = ct_xstrdup(rnd(2) ? "" : NULL);
		feat[F_MSG_COALESCE]++;
		break;
	case 4:
		ms->name = ct_xstrdup(rnd(2) ? "ALARM" : NULL);
		ms->body = ct_xstrdup("leaf-coalescing stuck on VDI");
		feat[F_MSG_COALESCE]++;
		break;
	case 5:
		ms->name = ct_xstrdup("failed to unpause tapdisk");
		ms->body = rnd(3) ? ct_xasprintf("Failed to unpause tapdisk for VDI %s, VMs using this "
						 "tapdisk have lost access to the corresponding disk(s)",
						 rand_vdi_uuid(m)) : NULL;
		feat[F_MSG_COALESCE]++;
		break;
	default:
		ms->name = ct_xstrdup("HA_POOL_OVERCOMMITTED");
		ms->body = ct_xstrdup("nothing");
	}
	ms->priority = rrange(1, 5);
	ms->cls = ct_xstrdup("SR");
	ms->obj_uuid = sr ? (chance(90) ? ct_xstrdup(sr->o.uuid) : upper(sr->o.uuid)) :
		ct_xstrdup("deadbeef");
	k = rnd(9);
	ms->timestamp = k == 8 ? 0 : now0 - ages[k];
	if (k >= 3 && k < 8)
		feat[F_MSG_OLD]++;
	ct_model_put(m, &ms->o);
	return ms;
}

/* ---- the whole model ---- */

static void gen_model(struct ct_model *m, int scale)
{
	int nsr = rrange(1, 8);
	struct vlist all = { 0 }, leaves = { 0 }, prev = { 0 };
	struct ct_vm **real;
	int nreal;

	if (chance(95)) {
		struct ct_pool *p = (struct ct_pool *)ct_obj_new(CT_POOL);

		p->o.ref = gen_ref("pool");
		p->o.uuid = gen_uuid(false);
		p->name_label = gen_name("pool");
		ct_model_put(m, &p->o);
	} else {
		feat[F_NO_POOL]++;
	}
	for (int s = 0; s < nsr; s++) {
		struct ct_sr *sr = gen_sr(m);
		struct vlist here = { 0 };
		int chains = rnd(3) == 0 ? 0 : rrange(1, 6 * scale);

		for (int i = 0; i < chains; i++)
			gen_chain(m, sr, &here, &leaves);
		gen_specials(m, sr, &here, &leaves, &prev);
		if (chance(30))
			gen_task(m, sr);
		if (chance(10))
			gen_task(m, sr);
		if (chance(30)) {
			struct ct_message *ms = gen_message(m, sr);

			if (chance(30)) {
				/* sm_config gc_no_space naming a message (or a gone one) */
				struct ct_sr *d = (struct ct_sr *)ct_obj_dup(&sr->o);

				ct_map_set(&d->sm_config, "gc_no_space", rnd(3) ? ms->o.ref :
					   "OpaqueRef:gone-message");
				feat[F_SM_GC_NO_SPACE]++;
				ct_model_put(m, &d->o);
				sr = d;
			}
		}
		for (int i = 0; i < here.n; i++) {
			vl_add(&all, here.v[i]);
			vl_add(&prev, here.v[i]);
		}
		free(here.v);
	}
	/* VDIs off any SR */
	for (int i = rnd(3); i > 0; i--) {
		struct ct_vdi *v = gen_vdi(m, NULL, all.n ? uuid_of(all.v[rnd(all.n)]) : NULL, false,
					   false, NULL);
		vl_add(&all, v);
	}
	/* VMs */
	nreal = rrange(0, 6 * scale);
	real = ct_xcalloc((size_t)nreal + 1, sizeof(*real));
	for (int i = 0; i < nreal; i++) {
		real[i] = gen_vm(m, 0, NULL);
		for (int d = rrange(chance(10) ? 0 : 1, 3); d > 0 && leaves.n; d--) {
			const struct ct_vdi *v = chance(85) ? leaves.v[rnd(leaves.n)] : all.v[rnd(all.n)];

			gen_vbd(m, real[i]->o.ref, v->o.ref);
		}
		if (chance(10)) {
			struct ct_vbd *b = gen_vbd(m, real[i]->o.ref, "OpaqueRef:NULL");

			b->type = CT_VBD_CD;
			b->empty = true;
			feat[F_VBD_CD_EMPTY]++;
		}
		for (int s = rrange(0, chance(30) ? 3 : 0); s > 0; s--) {
			struct ct_vm *sv = gen_vm(m, 1, real[i]);

			if (leaves.n) {
				/* a snapshot VM's disk: preferably a snapshot VDI */
				const struct ct_vdi *v = leaves.v[rnd(leaves.n)];

				for (int t = 0; t < 8 && !v->is_a_snapshot; t++)
					v = leaves.v[rnd(leaves.n)];
				gen_vbd(m, sv->o.ref, v->o.ref);
			}
		}
	}
	for (int i = rnd(3); i > 0; i--) {
		struct ct_vm *vm = gen_vm(m, 1 + rnd(3), nreal ? real[rnd(nreal)] : NULL);

		if (all.n && chance(60))
			gen_vbd(m, vm->o.ref, all.v[rnd(all.n)]->o.ref);
	}
	/* shared VDIs, VBDs pointing nowhere */
	if (nreal >= 2 && leaves.n && chance(30)) {
		const struct ct_vdi *v = leaves.v[rnd(leaves.n)];

		gen_vbd(m, real[rnd(nreal)]->o.ref, v->o.ref);
		gen_vbd(m, real[rnd(nreal)]->o.ref, v->o.ref);
		feat[F_VBD_SHARED]++;
	}
	if (all.n && chance(20)) {
		gen_vbd(m, rnd(2) ? "OpaqueRef:gone-vm" : "OpaqueRef:NULL", all.v[rnd(all.n)]->o.ref);
		feat[F_VBD_UNKNOWN_VM]++;
	}
	if (nreal && chance(20)) {
		gen_vbd(m, real[rnd(nreal)]->o.ref, "OpaqueRef:gone-vdi");
		feat[F_VBD_UNKNOWN_VDI]++;
	}
	/* VM snapshot sets that claim more than the records show */
	if (nreal && chance(20)) {
		struct ct_vm *d = (struct ct_vm *)ct_obj_dup(&real[rnd(nreal)]->o);

		for (int s = rrange(1, 4); s > 0; s--) {
			char r[32];

			snprintf(r, sizeof(r), "OpaqueRef:snap-%d", ++seq);
			ct_strset_add(&d->snapshots, r);
		}
		ct_model_put(m, &d->o);
	}
	/* VDI vbds sets: real VBDs, VBDs of other VDIs, gone VBDs */
	for (int i = rnd(4); i > 0 && all.n; i--) {
		const struct ct_vdi *v = (const struct ct_vdi *)pick(m, CT_VDI);
		struct ct_vdi *d;
		const struct ct_obj *b = pick(m, CT_VBD);

		if (!v)
			break;
		d = (struct ct_vdi *)ct_obj_dup(&v->o);
		if (b && rnd(2)) {
			ct_strset_add(&d->vbds, b->ref);
			feat[F_VDI_VBDS_SET]++;
		} else {
			ct_strset_add(&d->vbds, "OpaqueRef:gone-vbd");
			feat[F_VDI_VBDS_BOGUS]++;
		}
		ct_model_put(m, &d->o);
	}
	/* a task and a message about no SR */
	if (chance(10))
		gen_task(m, NULL);
	if (chance(10))
		gen_message(m, NULL);
	free(real);
	free(all.v);
	free(leaves.v);
	free(prev.v);
}

/* ---- mutations (the watcher's put/del) ---- */

static const char *rand_vdi_uuid(struct ct_model *m)
{
	const struct ct_obj *o = pick(m, CT_VDI);

	return o && o->uuid && *o->uuid ? o->uuid : NULL;
}

static void mutate_vdi(struct ct_model *m, struct ct_vdi *d)
{
	switch (rnd(14)) {
	case 0: {
		const char *u = rand_vdi_uuid(m);

		if (u)
			ct_map_set(&d->sm_config, "vhd-parent", u);
		break;
	}
	case 1:
		map_del(&d->sm_config, "vhd-parent");
		break;
	case 2: {
		char *u = canon_uuid();

		ct_map_set(&d->sm_config, "vhd-parent", rnd(2) || !uuid_of(d) ? u : d->o.uuid);
		free(u);
		break;
	}
	case 3:
		d->managed = !d->managed;
		d->read_only = !d->managed;
		break;
	case 4:
		d->is_a_snapshot = !d->is_a_snapshot;
		d->snapshot_time = snap_times[rnd(5)];
		break;
	case 5: {
		const struct ct_obj *s = pick(m, CT_SR);

		free(d->sr);
		d->sr = s && chance(90) ? ct_xstrdup(s->ref) : ct_xstrdup("OpaqueRef:gone-sr");
		break;
	}
	case 6:
		free(d->name_label);
		d->name_label = gen_name("disk");
		break;
	case 7: {
		const char *u = rand_vdi_uuid(m);

		free(d->o.uuid);
		d->o.uuid = u && rnd(2) ? ct_xstrdup(u) : gen_uuid(true);
		break;
	}
	case 8:
		if (ct_map_get(&d->sm_config, "paused"))
			map_del(&d->sm_config, "paused");
		else
			ct_map_set(&d->sm_config, "paused", "true");
		break;
	case 9:
		ct_map_set(&d->sm_config, "vdi_type", rnd(2) ? "aio" : "vhd");
		break;
	case 10:
		d->missing = !d->missing;
		d->type = gen_vdi_type();
		break;
	case 11:
		d->virtual_size = rnd(4) ? (int64_t)rrange(1, 3000) * FX_GIB : 0;
		break;
	case 12: {
		const struct ct_obj *b = pick(m, CT_VBD);

		ct_strset_add(&d->vbds, b && rnd(2) ? b->ref : "OpaqueRef:gone-vbd");
		break;
	}
	default:
		ct_strset_add(&d->current_operations, "destroy");
	}
}

static void mutate(struct ct_model *m)
{
	int k = rnd(100);

	if (k < 30) {
		struct ct_obj *o = pick(m, CT_VDI);
		struct ct_vdi *d;

		if (!o)
			return;
		d = (struct ct_vdi *)ct_obj_dup(o);
		for (int i = rrange(1, 2); i > 0; i--)
			mutate_vdi(m, d);
		ct_model_put(m, &d->o);
		feat[F_MUT_PUT]++;
	} else if (k < 36) {
		static const enum ct_class cl[] = { CT_VDI, CT_SR, CT_VM, CT_VBD, CT_TASK, CT_POOL };
		struct ct_obj *o = pick(m, cl[rnd(6)]);

		if (o) {
			ct_model_put(m, ct_obj_dup(o));
			feat[F_MUT_PUT_SAME]++;
		}
	} else if (k < 50) {
		static const enum ct_class cl[] = { CT_VDI, CT_VDI, CT_VDI, CT_VBD, CT_VBD, CT_VM,
			CT_SR, CT_TASK, CT_MESSAGE, CT_POOL };
		enum ct_class c = cl[rnd(10)];
		struct ct_obj *o = pick(m, c);

		if (o) {
			char *ref = ct_xstrdup(o->ref);

			ct_model_del(m, c, ref);
			free(ref);
			feat[F_MUT_DEL]++;
		}
		if (chance(10)) {
			ct_model_del(m, CT_VDI, "OpaqueRef:never-there");
			ct_model_del(m, CT_VBD, "OpaqueRef:NULL");
			feat[F_MUT_DEL_ABSENT]++;
		}
	} else if (k < 60) {
		/* new VDIs: a fresh chain, or children of an existing one */
		const struct ct_sr *sr = (const struct ct_sr *)pick(m, CT_SR);
		const char *pu = chance(70) ? rand_vdi_uuid(m) : NULL;
		char *p = pu ? ct_xstrdup(pu) : NULL;
		struct ct_vdi *v;

		v = gen_vdi(m, sr && chance(95) ? sr : NULL, p, chance(40), chance(20), NULL);
		free(p);
		if (chance(40)) {
			const struct ct_obj *vm = pick(m, CT_VM);

			if (vm)
				gen_vbd(m, vm->ref, v->o.ref);
		}
		feat[F_MUT_PUT]++;
	} else if (k < 70) {
		/* VBD changes */
		const struct ct_obj *vm = pick(m, CT_VM), *v = pick(m, CT_VDI);
		struct ct_obj *b = pick(m, CT_VBD);

		if (b && rnd(2)) {
			struct ct_vbd *d = (struct ct_vbd *)ct_obj_dup(b);

			if (v && rnd(2)) {
				free(d->vdi);
				d->vdi = ct_xstrdup(v->ref);
			} else if (vm) {
				free(d->vm);
				d->vm = ct_xstrdup(vm->ref);
			}
			if (chance(30)) {
				free(d->userdevice);
				d->userdevice = ct_xasprintf("%d", rnd(4));
			}
			ct_model_put(m, &d->o);
		} else if (vm && v && chance(30)) {
			struct ct_vbd *nb = gen_vbd(m, vm->ref, v->ref), *d;

			d = (struct ct_vbd *)ct_obj_dup(&nb->o);
			free(d->o.ref);
			d->o.ref = ct_xstrdup("OpaqueRef:gone-vbd");
			ct_model_put(m, &d->o);
		} else if (vm && v) {
			gen_vbd(m, vm->ref, v->ref);
		}
		feat[F_MUT_PUT]++;
	} else if (k < 78) {
		struct ct_obj *o = pick(m, CT_VM);
		struct ct_vm *d;

		if (!o)
			return;
		d = (struct ct_vm *)ct_obj_dup(o);
		switch (rnd(5)) {
		case 0: d->is_a_snapshot = !d->is_a_snapshot; break;
		case 1: d->is_a_template = !d->is_a_template; break;
		case 2: d->is_control_domain = !d->is_control_domain; break;
		case 3: free(d->name_label); d->name_label = gen_name("vm"); break;
		default: {
			const struct ct_obj *of = pick(m, CT_VM);

			free(d->snapshot_of);
			d->snapshot_of = ct_xstrdup(of ? of->ref : "OpaqueRef:NULL");
		}
		}
		ct_model_put(m, &d->o);
		feat[F_MUT_PUT]++;
	} else if (k < 86) {
		struct ct_obj *o = pick(m, CT_SR);
		struct ct_sr *d;

		if (!o || chance(15)) {
			gen_sr(m);
			return;
		}
		d = (struct ct_sr *)ct_obj_dup(o);
		switch (rnd(5)) {
		case 0: free(d->name_label); d->name_label = gen_name("sr"); break;
		case 1: free(d->type); d->type = ct_xstrdup(rnd(2) ? "lvm" : rnd(2) ? "iso" : "nfs"); break;
		case 2: d->physical_utilisation = d->physical_size - d->physical_size / 50; break;
		case 3: free(d->o.uuid); d->o.uuid = gen_uuid(true); break;
		default: {
			char t[32];

			snprintf(t, sizeof(t), "%lld", (long long)now0);
			ct_map_set(&d->sm_config, "last-coalesce-error", t);
		}
		}
		ct_model_put(m, &d->o);
		feat[F_MUT_PUT]++;
	} else if (k < 94) {
		const struct ct_sr *sr = (const struct ct_sr *)pick(m, CT_SR);

		if (rnd(2)) {
			struct ct_obj *t = pick(m, CT_TASK);

			if (t && rnd(2)) {
				struct ct_task *d = (struct ct_task *)ct_obj_dup(t);

				d->progress = rnd(2) ? d->progress + 0.1 : d->progress;
				ct_model_put(m, &d->o);
			} else {
				gen_task(m, sr);
			}
		} else {
			gen_message(m, sr);
		}
		feat[F_MUT_PUT]++;
	} else if (k < 97) {
		struct ct_obj *o = pick(m, CT_POOL);

		if (o) {
			struct ct_pool *d = (struct ct_pool *)ct_obj_dup(o);

			free(d->name_label);
			d->name_label = gen_name("pool");
			ct_model_put(m, &d->o);
		}
		feat[F_MUT_PUT]++;
	} else {
		/* a full re-load in place: clear, then every record back (copied) */
		struct ct_model tmp;

		ct_model_init(&tmp);
		for (int c = 0; c < CT_NCLASSES; c++)
			for (size_t i = 0; i < ct_model_count(m, (enum ct_class)c); i++)
				ct_model_put(&tmp, ct_obj_dup(ct_model_at(m, (enum ct_class)c, i)));
		ct_model_clear(m);
		for (int c = 0; c < CT_NCLASSES; c++)
			for (size_t i = 0; i < ct_model_count(&tmp, (enum ct_class)c); i++)
				ct_model_put(m, ct_obj_dup(ct_model_at(&tmp, (enum ct_class)c, i)));
		ct_model_release(&tmp);
		feat[F_MUT_CLEAR]++;
	}
}

/* Changes that leave VDIs, VBDs and VMs alone. */
static void mutate_light(struct ct_model *m)
{
	const struct ct_sr *sr = (const struct ct_sr *)pick(m, CT_SR);
	struct ct_obj *o;

	switch (rnd(6)) {
	case 0:
		gen_task(m, sr);
		break;
	case 1:
		o = pick(m, CT_TASK);
		if (o) {
			struct ct_task *d = (struct ct_task *)ct_obj_dup(o);

			d->progress = rnd(3) ? d->progress + 0.05 * rrange(0, 4) : d->progress;
			if (chance(10))
				d->status = CT_TASK_SUCCESS;
			ct_model_put(m, &d->o);
		}
		break;
	case 2:
		gen_message(m, sr);
		break;
	case 3:
		o = pick(m, rnd(2) ? CT_TASK : CT_MESSAGE);
		if (o) {
			char *ref = ct_xstrdup(o->ref);

			ct_model_del(m, o->cls, ref);
			free(ref);
		}
		break;
	case 4:
		if (sr) {
			struct ct_sr *d = (struct ct_sr *)ct_obj_dup(&sr->o);

			d->physical_utilisation = d->physical_size / 100 * rrange(0, 101);
			if (chance(20))   /* a switch flips: pending links change */
				ct_map_set(&d->other_config, "leaf-coalesce", rnd(2) ? "false" : "true");
			ct_model_put(m, &d->o);
		}
		break;
	default:
		break;   /* time only */
	}
	feat[F_MUT_LIGHT]++;
}

/* ---- config ---- */

struct cfg {
	struct ct_config c;
	struct ct_pool_conf pc;
	struct ct_sr_override ov[4];
	char *match[4];
	bool pc_null;
	struct ct_gate_conf job;
};

static int lim(int lo, int hi)
{
	return chance(60) ? -1 : rrange(lo, hi);
}

static void gen_cfg(struct cfg *g, struct ct_model *m)
{
	memset(g, 0, sizeof(*g));
	ct_config_init(&g->c);
	if (chance(50)) {
		g->c.gate.tolerance = rrange(0, 3);
		g->c.gate.max_depth = rrange(2, 30);
		g->c.gate.min_free_percent = rnd(5) ? rrange(0, 60) : 100;
		g->c.gate.policy = (enum ct_gate_policy)rnd(2);
		g->c.health.warn_depth = rrange(2, 25);
		g->c.health.crit_depth = rnd(5) ? g->c.health.warn_depth + rrange(0, 8) : rrange(2, 10);
		g->c.health.coalesce_warn = rrange(0, 12);
		g->c.health.crit_free_percent = rrange(0, 30);
	}
	g->c.health.stall_after = rnd(4) == 0 ? 0 : rnd(3) == 0 ? 60 : rnd(2) ? 3600 : 6 * 3600;
	g->pc_null = chance(8);
	if (g->pc_null)
		feat[F_PC_NULL]++;
	g->pc.name = rnd(5) == 0 ? NULL : rnd(4) == 0 ? (char *)"p\xc3\xb6ol \x1b[1m" : (char *)"lab";
	g->pc.tolerance = lim(0, 3);
	g->pc.max_depth = lim(2, 30);
	g->pc.min_free_percent = lim(0, 60);
	g->pc.warn_depth = lim(2, 25);
	g->pc.crit_depth = lim(3, 30);
	g->pc.coalesce_warn = lim(0, 10);
	g->pc.crit_free_percent = lim(0, 30);
	g->pc.n_srs = rnd(4);
	g->pc.srs = g->ov;
	for (int i = 0; i < g->pc.n_srs; i++) {
		struct ct_sr_override *o = &g->ov[i];
		const struct ct_sr *sr = (const struct ct_sr *)pick(m, CT_SR);
		int k = rnd(7);

		feat[F_OVERRIDE]++;
		if (k == 0)
			g->match[i] = ct_xstrdup("nfs*");
		else if (k == 1)
			g->match[i] = ct_xstrdup("*");
		else if (k == 2 && sr && sr->o.uuid)
			g->match[i] = rnd(2) ? ct_xstrdup(sr->o.uuid) : upper(sr->o.uuid);
		else if (k == 3 && sr && sr->name_label)
			g->match[i] = ct_xstrdup(sr->name_label);
		else if (k == 4)
			g->match[i] = ct_xstrdup("lvm-?ull");
		else if (k == 5)
			g->match[i] = NULL;
		else
			g->match[i] = ct_xstrdup("*prod*");
		o->match = g->match[i];
		o->tolerance = lim(0, 3);
		o->max_depth = lim(2, 30);
		o->min_free_percent = lim(0, 60);
		o->warn_depth = lim(2, 25);
		o->crit_depth = lim(3, 30);
		o->coalesce_warn = lim(0, 10);
		o->crit_free_percent = lim(0, 30);
		o->stall_after = rnd(3) == 0 ? 0 : rnd(2) ? -1 : 120;
	}
	g->job = g->c.gate;
	if (chance(70)) {
		g->job.tolerance = 0;
		g->job.max_depth = 5;
	}
	if (chance(30))
		g->job.min_free_percent = rrange(0, 80);
	g->job.policy = CT_GATE_WAIT;
}

static void cfg_release(struct cfg *g)
{
	for (int i = 0; i < 4; i++)
		free(g->match[i]);
	ct_config_release(&g->c);
}

/* ---- a report as text ---- */

static void esc(struct ct_sb *sb, const char *s)
{
	if (!s) {
		ct_sb_adds(sb, "(null)");
		return;
	}
	ct_sb_adds(sb, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\' || *p == '"' || *p >= 0x80)
			ct_sb_addf(sb, "\\x%02x", *p);
		else
			ct_sb_add(sb, (const char *)p, 1);
	}
	ct_sb_adds(sb, "\"");
}

/* A record pointer as its ref; "*" marks a pointer that is not the model's record. */
static void objref(struct ct_sb *sb, struct ct_model *m, const struct ct_obj *o)
{
	if (!o) {
		ct_sb_adds(sb, "-");
		return;
	}
	esc(sb, o->ref);
	if (ct_model_find(m, o->cls, o->ref) != o)
		ct_sb_adds(sb, "*");
}

#define OREF(sb, m, p) objref(sb, m, (p) ? &(p)->o : NULL)

static void dump_stall(struct ct_sb *sb, const struct ct_stall *s)
{
	ct_sb_addf(sb, "stall n=%d\n", s->n);
	for (int i = 0; i < s->n; i++) {
		ct_sb_adds(sb, " stall sr_uuid=");
		esc(sb, s->e[i].sr_uuid);
		ct_sb_addf(sb, " pending=%d since=%lld gc_progress=%.17g gc_progress_at=%lld "
			   "gc_task=%llx cand=", s->e[i].pending, (long long)s->e[i].since,
			   s->e[i].gc_progress, (long long)s->e[i].gc_progress_at,
			   (unsigned long long)s->e[i].gc_task);
		for (int k = 0; k < s->e[i].n_cand; k++)
			ct_sb_addf(sb, "%llx:%d,", (unsigned long long)s->e[i].cand[k].h,
				   s->e[i].cand[k].runs);
		ct_sb_adds(sb, "\n");
	}
}

/* Everything the report holds, and its lookups for every record of the model (extra: a VM
 * record that is not the model's, or NULL). Owned by the caller. */
static char *dump_report(struct ct_model *m, int rc, const struct ct_chain_report *rp,
			 const struct ct_vm *extra, const struct ct_stall *stall)
{
	struct ct_sb sb;
	char *out;

	ct_sb_init(&sb);
	ct_sb_addf(&sb, "rc=%d pool_name=", rc);
	esc(&sb, rp->pool_name);
	ct_sb_addf(&sb, " n_vdis=%d n_srs=%d n_vms=%d n_problems=%d worst=%d\n", rp->n_vdis,
		   rp->n_srs, rp->n_vms, rp->n_problems, (int)rp->worst);
	for (int i = 0; i < rp->n_srs; i++) {
		const struct ct_sr_verdict *s = &rp->srs[i];

		ct_sb_addf(&sb, "sr[%d] sr=", i);
		OREF(&sb, m, s->sr);
		ct_sb_addf(&sb, " vhd=%d thick=%d n_vdis=%d pending=%d max_depth=%d stacked=%d "
			   "orphans=%d garbage=%d broken=%d deep=%d free_bytes=%lld "
			   "free_percent=%.17g gc_progress=%.17g gc_paused=%d gc_no_space=%d gc_note=",
			   s->vhd, s->thick, s->n_vdis, s->pending, s->max_depth, s->stacked, s->orphans,
			   s->garbage, s->broken, s->deep, (long long)s->free_bytes, s->free_percent,
			   s->gc_progress, s->gc_paused, s->gc_no_space);
		esc(&sb, s->gc_note);
		ct_sb_addf(&sb, " gc_running=%d gc_idle=%d gc_silent=%d gc_blocked=%s switches=%u "
			   "not_coalesced=%d paused=%d coalesce_error=%s@%lld coalesce_failed=%d",
			   s->gc_running, s->gc_idle, s->gc_silent, s->gc_blocked ? s->gc_blocked : "-",
			   s->switches, s->not_coalesced, s->paused, s->coalesce_error,
			   (long long)s->coalesce_error_at, s->coalesce_failed);
		ct_sb_addf(&sb, " gc_stalled=%d pending_since=%lld gate={%d,%d,%d,%d,%lld} "
			   "health={%d,%d,%d,%d,%lld,%lld} severity=%d coalesce_failed=%d "
			   "refused_vms=%d first_vdi=%d n_vdi_verdicts=%d merge_max=%lld patience=%lld "
			   "gc_task=%llx gc_stuck=%d/%d\n", s->gc_stalled,
			   (long long)s->pending_since, s->gate.tolerance, s->gate.max_depth,
			   s->gate.min_free_percent, (int)s->gate.policy, (long long)s->gate.wait_timeout,
			   s->health.warn_depth, s->health.crit_depth, s->health.coalesce_warn,
			   s->health.crit_free_percent, (long long)s->health.stale_after,
			   (long long)s->health.stall_after, (int)s->severity, s->coalesce_failed,
			   s->refused_vms, s->first_vdi, s->n_vdi_verdicts, (long long)s->merge_max,
			   s->patience, (unsigned long long)s->gc_task, s->gc_stuck, s->gc_stuck_runs);
	}
	for (int i = 0; i < rp->n_vdis; i++) {
		const struct ct_vdi_verdict *v = &rp->vdis[i];

		ct_sb_addf(&sb, "vdi[%d] vdi=", i);
		OREF(&sb, m, v->vdi);
		ct_sb_addf(&sb, " sr_index=%d parent=%d depth=%d children=%d stacked=%d pending=%d "
			   "state=%d severity=%d is_vhd=%d is_base_copy=%d in_use=%d vm=", v->sr_index,
			   v->parent, v->depth, v->children, v->stacked, v->pending, (int)v->state,
			   (int)v->severity, v->is_vhd, v->is_base_copy, v->in_use);
		OREF(&sb, m, v->vm);
		ct_sb_adds(&sb, " vbd=");
		OREF(&sb, m, v->vbd);
		ct_sb_adds(&sb, " snapshot_vm=");
		OREF(&sb, m, v->snapshot_vm);
		ct_sb_addf(&sb, " cycle=%d missing_parent=", v->cycle);
		esc(&sb, v->missing_parent);
		ct_sb_addf(&sb, " broken_above=%d gc_mark=%d paused=%d no_coalesce=%s merge=%d/%lld\n",
			   v->broken_above, v->gc_mark, v->paused, v->no_coalesce ? v->no_coalesce : "-",
			   v->merge_link, (long long)v->merge_bytes);
	}
	for (int i = 0; i < rp->n_vms; i++) {
		const struct ct_vm_verdict *v = &rp->vms[i];

		ct_sb_addf(&sb, "vm[%d] vm=", i);
		OREF(&sb, m, v->vm);
		ct_sb_addf(&sb, " refused=%d n_reasons=%d n_snapshots=%d max_depth=%d severity=%d "
			   "gate_eta=%lld gate_work=%lld\n", v->refused, v->n_reasons, v->n_snapshots,
			   v->max_depth, (int)v->severity, v->gate_eta, (long long)v->gate_work);
		for (int k = 0; k < v->n_reasons; k++) {
			ct_sb_adds(&sb, "  reason ");
			esc(&sb, v->reasons[k]);
			ct_sb_adds(&sb, "\n");
		}
	}
	for (int i = 0; i < rp->n_problems; i++) {
		const struct ct_problem *p = &rp->problems[i];

		ct_sb_addf(&sb, "problem[%d] severity=%d cls=%d sr_index=%d kind=%d ref=", i,
			   (int)p->severity, (int)p->cls, p->sr_index, (int)p->kind);
		esc(&sb, p->ref);
		ct_sb_adds(&sb, " uuid=");
		esc(&sb, p->uuid);
		ct_sb_adds(&sb, " reason=");
		esc(&sb, p->reason);
		ct_sb_adds(&sb, "\n");
	}
	ct_sb_adds(&sb, "find_vdi");
	for (size_t i = 0; i < ct_model_count(m, CT_VDI); i++)
		ct_sb_addf(&sb, " %d", ct_chain_find_vdi(rp, (const struct ct_vdi *)ct_model_at(m, CT_VDI, i)));
	ct_sb_addf(&sb, " null=%d\nfind_vm", ct_chain_find_vdi(rp, NULL));
	for (size_t i = 0; i < ct_model_count(m, CT_VM); i++)
		ct_sb_addf(&sb, " %d", ct_chain_find_vm(rp, (const struct ct_vm *)ct_model_at(m, CT_VM, i)));
	ct_sb_addf(&sb, " null=%d", ct_chain_find_vm(rp, NULL));
	if (extra)
		ct_sb_addf(&sb, " extra=%d", ct_chain_find_vm(rp, extra));
	ct_sb_adds(&sb, "\n");
	if (stall)
		dump_stall(&sb, stall);
	out = ct_sb_detach(&sb);
	ct_sb_release(&sb);
	return out ? out : ct_xstrdup("");
}

/* ---- one case ---- */

struct run {
	unsigned long long seed;
	bool evaluate;              /* false: generate and change only (feature coverage) */
	int step;
	const char *where;
	struct ct_chain_report kept;   /* refreshed across steps */
	struct ct_stall st_refresh, st_eval;   /* fed by the refresh path / the fresh path */
	const struct ct_vm *extra;  /* a copied VM record, not the model's */
	long compares;
};

/* Fail naming the seed, the step and the first line where the two dumps differ. */
static void compare(const struct run *x, const char *what, const char *a, const char *b)
{
	const char *pa = a, *pb = b;
	int line = 1;

	if (!strcmp(a, b))
		return;
	for (;;) {
		size_t la = strcspn(pa, "\n"), lb = strcspn(pb, "\n");

		if (la != lb || memcmp(pa, pb, la)) {
			ck_abort_msg("seed %llu step %d (%s, %s): dumps differ at line %d\n"
				     "  refresh: %.600s\n  eval:    %.600s", x->seed, x->step, x->where,
				     what, line, la ? ct_xstrndup(pa, la) : "(end)",
				     lb ? ct_xstrndup(pb, lb) : "(end)");
		}
		if (!pa[la] || !pb[lb])
			break;
		pa += la + 1;
		pb += lb + 1;
		line++;
	}
	ck_abort_msg("seed %llu step %d (%s, %s): dumps differ (in length only)", x->seed, x->step,
		     x->where, what);
}

#define INV(x, cond, ...) do { \
	if (!(cond)) \
		ck_abort_msg("seed %llu step %d (%s): invariant failed: %s: %s", (x)->seed, \
			     (x)->step, (x)->where, #cond, ct_xasprintf(__VA_ARGS__)); \
} while (0)

static bool vm_real(const struct ct_vm *vm)
{
	return !vm->is_a_snapshot && !vm->is_a_template && !vm->is_control_domain;
}

/* What a fresh report must satisfy, independently of refresh. */
static void check_invariants(const struct run *x, struct ct_model *m, const struct ct_chain_report *r)
{
	size_t nv = ct_model_count(m, CT_VDI), nvm = ct_model_count(m, CT_VM);
	int *seen = ct_xcalloc(nv + 1, sizeof(*seen)), *vm_seen = ct_xcalloc(nvm + 1, sizeof(*vm_seen));
	int sum = 0;

	INV(x, r->n_vdis >= 0 && r->n_srs >= 0 && r->n_vms >= 0, "counts");
	for (int s = 0; s < r->n_srs; s++) {
		const struct ct_sr_verdict *sv = &r->srs[s];

		INV(x, sv->sr && ct_model_find(m, CT_SR, sv->sr->o.ref) == &sv->sr->o, "sr[%d]", s);
		INV(x, sv->first_vdi >= 0 && sv->n_vdi_verdicts >= 0 &&
		    sv->first_vdi + sv->n_vdi_verdicts <= r->n_vdis, "sr[%d] range %d+%d of %d", s,
		    sv->first_vdi, sv->n_vdi_verdicts, r->n_vdis);
		INV(x, sv->n_vdi_verdicts == 0 || sv->first_vdi == sum, "sr[%d] first_vdi %d, expected %d",
		    s, sv->first_vdi, sum);
		for (int i = sv->first_vdi; i < sv->first_vdi + sv->n_vdi_verdicts; i++)
			INV(x, r->vdis[i].sr_index == s, "vdi[%d] sr_index %d in the range of sr[%d]", i,
			    r->vdis[i].sr_index, s);
		sum += sv->n_vdi_verdicts;
	}
	INV(x, sum == r->n_vdis, "SR ranges cover %d of %d VDI verdicts", sum, r->n_vdis);
	for (int i = 0; i < r->n_vdis; i++) {
		const struct ct_vdi_verdict *v = &r->vdis[i];
		long pos;

		INV(x, v->vdi && ct_model_find(m, CT_VDI, v->vdi->o.ref) == &v->vdi->o,
		    "vdi[%d] is not the model's record", i);
		pos = ct_model_pos_of_ref(m, CT_VDI, ct_key_ref(v->vdi->o.ref), v->vdi->o.ref);
		INV(x, pos >= 0 && (size_t)pos < nv && ct_model_at(m, CT_VDI, (size_t)pos) == &v->vdi->o,
		    "vdi[%d] position %ld", i, pos);
		seen[pos]++;
		INV(x, v->sr_index >= 0 && v->sr_index < r->n_srs, "vdi[%d] sr_index %d", i, v->sr_index);
		INV(x, ct_model_sr(m, v->vdi->sr) == r->srs[v->sr_index].sr, "vdi[%d] on another SR", i);
		INV(x, ct_chain_find_vdi(r, v->vdi) == i, "find_vdi(vdi[%d]) = %d", i,
		    ct_chain_find_vdi(r, v->vdi));
		INV(x, v->parent >= -1 && v->parent < i, "vdi[%d] parent %d", i, v->parent);
		if (v->parent >= 0) {
			const struct ct_vdi_verdict *p = &r->vdis[v->parent];

			INV(x, v->depth == p->depth + 1, "vdi[%d] depth %d, parent vdi[%d] depth %d", i,
			    v->depth, v->parent, p->depth);
			INV(x, p->sr_index == v->sr_index, "vdi[%d] parent on another SR", i);
		}
		INV(x, v->broken_above >= -1 && v->broken_above <= i, "vdi[%d] broken_above %d", i,
		    v->broken_above);
		INV(x, !v->vm || ct_model_find(m, CT_VM, v->vm->o.ref) == &v->vm->o, "vdi[%d] vm", i);
		INV(x, !v->vbd || ct_model_find(m, CT_VBD, v->vbd->o.ref) == &v->vbd->o, "vdi[%d] vbd", i);
		INV(x, !v->snapshot_vm ||
		    ct_model_find(m, CT_VM, v->snapshot_vm->o.ref) == &v->snapshot_vm->o,
		    "vdi[%d] snapshot_vm", i);
	}
	for (size_t k = 0; k < nv; k++) {
		const struct ct_vdi *v = (const struct ct_vdi *)ct_model_at(m, CT_VDI, k);
		bool known = ct_model_sr(m, v->sr) != NULL;

		INV(x, seen[k] == (known ? 1 : 0), "VDI %s (SR %s) appears %d times", v->o.ref,
		    v->sr ? v->sr : "(null)", seen[k]);
	}
	for (int i = 0; i < r->n_vms; i++) {
		const struct ct_vm *vm = r->vms[i].vm;
		long pos;

		INV(x, vm && ct_model_find(m, CT_VM, vm->o.ref) == &vm->o, "vm[%d]", i);
		INV(x, vm_real(vm), "vm[%d] %s is not a real VM", i, vm->o.ref);
		INV(x, ct_chain_find_vm(r, vm) == i, "find_vm(vm[%d]) = %d", i, ct_chain_find_vm(r, vm));
		pos = ct_model_pos_of_ref(m, CT_VM, ct_key_ref(vm->o.ref), vm->o.ref);
		INV(x, pos >= 0 && (size_t)pos < nvm, "vm[%d] position %ld", i, pos);
		vm_seen[pos]++;
	}
	for (size_t k = 0; k < nvm; k++) {
		const struct ct_vm *vm = (const struct ct_vm *)ct_model_at(m, CT_VM, k);

		INV(x, vm_seen[k] == (vm_real(vm) ? 1 : 0), "VM %s appears %d times", vm->o.ref,
		    vm_seen[k]);
	}
	for (int i = 1; i < r->n_problems; i++)
		INV(x, ct_severity_rank(r->problems[i - 1].severity) >=
		    ct_severity_rank(r->problems[i].severity), "problems %d and %d out of order", i - 1, i);
	free(seen);
	free(vm_seen);
}

/* One evaluation point: a fresh report (invariants), the kept report refreshed (or left
 * stale this time), both written out and compared, with each path's stall tracker. */
static void step(struct run *x, struct ct_model *m, struct cfg *g, time_t now, const char *where)
{
	const struct ct_pool_conf *pc = g->pc_null ? NULL : &g->pc;
	bool refresh = chance(80), refresh_first = chance(50), repeat = chance(20);
	struct ct_chain_report fresh, other;
	int rc_fresh, rc_kept = 0, rc_other;
	char *a, *b;

	x->step++;
	x->where = where;
	feat[F_STALL_STEPS]++;
	if (!x->evaluate)
		return;
	memset(&fresh, 0, sizeof(fresh));
	memset(&other, 0, sizeof(other));
	if (refresh && refresh_first)
		rc_kept = ct_chain_refresh(m, &g->c, pc, now, &x->st_refresh, &x->kept);
	rc_fresh = ct_chain_eval(m, &g->c, pc, now, &x->st_eval, &fresh);
	if (refresh && !refresh_first)
		rc_kept = ct_chain_refresh(m, &g->c, pc, now, &x->st_refresh, &x->kept);
	check_invariants(x, m, &fresh);
	b = dump_report(m, rc_fresh, &fresh, x->extra, &x->st_eval);
	if (refresh) {
		a = dump_report(m, rc_kept, &x->kept, x->extra, &x->st_refresh);
		compare(x, "refresh vs eval", a, b);
	} else {
		/* the kept report waits for a later step; its stall tracker is fed all the same */
		rc_other = ct_chain_eval(m, &g->c, pc, now, &x->st_refresh, &other);
		a = dump_report(m, rc_other, &other, x->extra, &x->st_refresh);
		compare(x, "eval vs eval", a, b);
		ct_chain_report_release(&other);
	}
	free(a);
	free(b);
	x->compares++;
	if (refresh && repeat) {
		/* nothing changed: the kept structure is judged again, without a stall tracker */
		rc_kept = ct_chain_refresh(m, &g->c, pc, now, NULL, &x->kept);
		memset(&other, 0, sizeof(other));
		rc_other = ct_chain_eval(m, &g->c, pc, now, NULL, &other);
		a = dump_report(m, rc_kept, &x->kept, x->extra, NULL);
		b = dump_report(m, rc_other, &other, x->extra, NULL);
		compare(x, "repeated refresh, no stall", a, b);
		free(a);
		free(b);
		ct_chain_report_release(&other);
		x->compares++;
	}
	ct_chain_report_release(&fresh);
}

/* A fresh report of a model no report is kept for (the old tables after a swap). */
static void check_alone(struct run *x, struct ct_model *m, struct cfg *g, time_t now,
			const char *where)
{
	struct ct_chain_report r;

	x->step++;
	x->where = where;
	if (!x->evaluate)
		return;
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(ct_chain_eval(m, &g->c, g->pc_null ? NULL : &g->pc, now, NULL, &r), 0);
	check_invariants(x, m, &r);
	ct_chain_report_release(&r);
}

static void shuffled_copy(struct ct_model *to, struct ct_model *from)
{
	for (int c = 0; c < CT_NCLASSES; c++) {
		size_t n = ct_model_count(from, (enum ct_class)c);
		size_t *ord = ct_xcalloc(n + 1, sizeof(*ord));

		for (size_t i = 0; i < n; i++)
			ord[i] = i;
		for (size_t i = n; i > 1; i--) {
			size_t j = (size_t)rnd((int)i), t = ord[i - 1];

			ord[i - 1] = ord[j];
			ord[j] = t;
		}
		for (size_t i = 0; i < n; i++)
			ct_model_put(to, ct_obj_dup(ct_model_at(from, (enum ct_class)c, ord[i])));
		free(ord);
	}
}

static long run_case(unsigned long long seed, bool evaluate)
{
	struct ct_model m, f;
	struct cfg cfgs[2], *g = &cfgs[0];
	struct run x;
	time_t now;
	struct ct_vm *copy = NULL;
	char where[64];

	memset(&x, 0, sizeof(x));
	x.seed = seed;
	x.evaluate = evaluate;
	rs = seed * 0x2545f4914f6cdd1dULL + 1;
	seq = 0;
	now0 = NOW_BASE + rnd(86400 * 30);
	odd_pct = chance(25) ? 40 : 10;
	now = now0;
	ct_model_init(&m);
	gen_model(&m, chance(10) ? 4 : 1);
	gen_cfg(&cfgs[0], &m);
	if (chance(20) && ct_model_count(&m, CT_VM)) {
		copy = (struct ct_vm *)ct_obj_dup(pick(&m, CT_VM));
		x.extra = copy;
	}
	step(&x, &m, g, now, "initial");
	x.extra = NULL;   /* the copy's source may go away */

	for (int r = rrange(1, 5); r > 0; r--) {
		for (int k = rrange(1, 8); k > 0; k--)
			mutate(&m);
		now += chance(10) ? 0 : chance(5) ? -600 : rrange(30, 8 * 3600);
		if (chance(25)) {
			/* GC progress moves (or not) between evaluations */
			for (size_t i = 0; i < ct_model_count(&m, CT_SR); i++)
				if (chance(30))
					gen_task(&m, (const struct ct_sr *)ct_model_at(&m, CT_SR, i));
		}
		snprintf(where, sizeof(where), "mutation round, %d to go", r - 1);
		step(&x, &m, g, now, where);
	}

	/* what a refresh judges again on the kept structure: GC progress, messages, SR usage,
	 * time passing */
	for (int r = rrange(1, 4); r > 0; r--) {
		for (int k = rrange(0, 3); k > 0; k--)
			mutate_light(&m);
		if (g == &cfgs[0] && chance(15)) {
			/* the configuration reloaded: other limits, other objects */
			g = &cfgs[1];
			gen_cfg(g, &m);
			feat[F_CFG_SWITCH]++;
		}
		now += rrange(0, 4 * 3600);
		step(&x, &m, g, now, "light changes");
	}

	/* the watcher's full reload: a fresh model swapped in wholesale */
	if (chance(60)) {
		ct_model_init(&f);
		if (chance(30)) {
			gen_model(&f, 1);
			feat[F_SWAP_FRESH]++;
		} else {
			/* the same records, copied in a shuffled order, then changed */
			shuffled_copy(&f, &m);
			for (int k = rnd(5); k > 0; k--)
				mutate(&f);
		}
		if (chance(50)) {
			/* the fresh model's indexes built before the swap */
			const struct ct_obj *sr = pick(&f, CT_SR);
			size_t n;

			if (sr)
				ct_model_sr_vdis(&f, (const struct ct_sr *)sr, &n);
			ct_model_tasks_for(&f, sr ? sr->ref : NULL, &n);
		}
		ct_model_swap(&m, &f);
		feat[F_SWAP]++;
		now += rrange(60, 3 * 3600);
		step(&x, &m, g, now, "after swap (live)");
		check_alone(&x, &f, g, now, "after swap (old tables)");
		ct_model_release(&f);
		for (int k = rrange(0, 4); k > 0; k--)
			mutate(&m);
		step(&x, &m, g, now + 7 * 3600, "after swap + mutations");
		for (int k = rrange(0, 2); k > 0; k--)
			mutate_light(&m);
		step(&x, &m, g, now + 8 * 3600, "after swap + light changes");
	}
	step(&x, &m, g, now + 24 * 3600, "final");

	ct_obj_free(copy ? &copy->o : NULL);
	ct_chain_report_release(&x.kept);
	ct_stall_release(&x.st_refresh);
	ct_stall_release(&x.st_eval);
	ct_model_release(&m);
	cfg_release(&cfgs[0]);
	if (g == &cfgs[1])
		cfg_release(&cfgs[1]);
	return x.compares;
}

/* ---- tests ---- */

START_TEST(refresh_matches_eval_random)
{
	unsigned long long first = 1 + (unsigned long long)_i * CHUNK_SEEDS;
	long compares = 0;

	for (unsigned long long s = first; s < first + CHUNK_SEEDS; s++)
		compares += run_case(s, true);
	ck_assert_int_gt(compares, CHUNK_SEEDS * 4);
}
END_TEST

/* The seeds produce every feature the generator has (so the list above covers them). */
START_TEST(seeds_cover_generator)
{
	memset(feat, 0, sizeof(feat));
	for (unsigned long long s = 1; s <= N_CHUNKS * CHUNK_SEEDS; s++)
		run_case(s, false);
	for (int i = 0; i < F_N; i++)
		ck_assert_msg(feat[i] > 0, "no seed of 1..%d produces \"%s\"", N_CHUNKS * CHUNK_SEEDS,
			      feat_names[i]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("chain_random");
	TCase *tc = tcase_create("refresh");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, seeds_cover_generator);
	tcase_add_loop_test(tc, refresh_matches_eval_random, 0, N_CHUNKS);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
