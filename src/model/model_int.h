/* model_int.h - the model's private layout, for model.c and its close users (the chain
 * engine, and the unit tests and benchmarks of both): the 128-bit keys of refs and uuids,
 * the digests kept beside the records, the tables' layout and lookups by key.
 *
 * Everything here exists for speed: a fleet is 20 pools of 10,000 VDIs, and the chain
 * engine judges a pool by streaming these arrays instead of following each record's
 * scattered strings. Other code goes through model.h. */
#ifndef CT_MODEL_INT_H
#define CT_MODEL_INT_H

#include "lib/htab.h"
#include "model/model.h"

/* ---- digests -------------------------------------------------------------------------
 * What the chain engine reads of every VDI, VBD and VM, taken once when the record is put
 * (it has just been decoded and is still in cache) and kept in a dense array beside the
 * records. A full evaluation streams these arrays instead of following each record's
 * scattered strings. A record is never changed once put: a change is a new record. */

/* A ref or uuid in 128 bits. A canonical uuid (lowercase 8-4-4-4-12 hex of the RFC 4122
 * variant, the form XAPI makes) maps exactly: equal keys mean equal strings, and the order
 * of keys is the order of the strings. Refs map "OpaqueRef:" + canonical uuid the same way.
 * Any other string is hashed into values a canonical uuid never takes (variant bits 11),
 * so an equality of such keys must be confirmed on the strings. {0, 0}: no value (NULL,
 * empty, or for refs "OpaqueRef:NULL"). */
struct ct_key {
	uint64_t hi, lo;
};
struct ct_key ct_key_uuid(const char *uuid);
struct ct_key ct_key_ref(const char *ref);
static inline bool ct_key_none(struct ct_key k) { return !k.hi && !k.lo; }
static inline bool ct_key_eq(struct ct_key a, struct ct_key b) { return a.hi == b.hi && a.lo == b.lo; }
/* Equal keys are equal strings (no confirmation needed). */
static inline bool ct_key_exact(struct ct_key k) { return (k.lo >> 62) == 2; }

enum {
	CT_DG_MANAGED = 1u << 0,     /* VDI */
	CT_DG_SNAPSHOT = 1u << 1,    /* VDI, VM: is_a_snapshot */
	CT_DG_MISSING = 1u << 2,     /* VDI */
	CT_DG_RAW = 1u << 3,         /* VDI: sm_config vdi_type aio or raw (no VHD header) */
	CT_DG_GC_MARK = 1u << 4,     /* VDI: sm_config relinking (the GC re-points it) */
	CT_DG_SELF_PARENT = 1u << 5, /* VDI: vhd-parent is its own uuid */
	CT_DG_BUSY = 1u << 6,        /* VDI: current_operations not empty */
	CT_DG_HAS_VBDS = 1u << 7,    /* VDI: its VBDs set is not empty */
	CT_DG_LONG_NAME = 1u << 8,   /* name_label longer than the 16 bytes of name[] */
	CT_DG_REAL_VM = 1u << 9,     /* VM: not a snapshot, template or control domain */
	CT_DG_PAUSED = 1u << 10,     /* VDI: sm_config paused (tapdisk paused: I/O frozen) */
	CT_DG_NOT_CHAIN = 1u << 11,  /* VDI: type cbt_metadata or vdi_type cbtlog: not a chain
	                              * member (its vhd-parent can be stale) */
	CT_DG_NO_LEAF = 1u << 12,    /* VDI: SM will not leaf-coalesce it (on_boot reset,
	                              * allow_caching, other_config leaf-coalesce=false) */
	CT_DG_BLOCKS = 1u << 13,     /* VDI: sm_config vhd-blocks is set */
};

/* (A record's own ref is keyed in its table's hash slots, not here.) */
struct ct_vdi_digest {
	struct ct_key uuid, sr;
	struct ct_key parent;        /* sm_config vhd-parent (a uuid), none if absent or empty */
	uint64_t name[2];            /* first 16 bytes of name_label, big-endian, NUL-padded:
	                              * compared as numbers they sort like strcmp */
	int64_t virtual_size, physical_utilisation;
	time_t snapshot_time;
	uint32_t flags;
	enum ct_vdi_type type;
};

struct ct_vbd_digest {
	struct ct_key vdi, vm;
	long userdevice;             /* strtol of userdevice, 0 when unset */
	enum ct_vbd_type type;
};

struct ct_vm_digest {
	struct ct_key uuid, snapshot_of;
	uint64_t name[2];
	uint32_t flags;
	uint32_t n_snapshots;        /* size of its snapshots set */
};

/* The hash of a key (the tables of model.c and chain.c). uuids from other tools need not
 * be random: every bit of the key reaches the hash. */
static inline uint64_t ct_key_hash(struct ct_key k)
{
	return ct_hash_mix(k.hi ^ (k.lo * 0x9e3779b97f4a7c15ULL));
}

/* The records of one class, keyed by ref. */
struct ct_table {
	struct ct_obj **items;   /* dense, order unspecified */
	size_t n, cap;
	struct ct_htab refs;     /* ct_key_hash of a ref key -> index in items, the key kept
	                          * beside each slot (probes compare these, not the records'
	                          * strings) */
	void *digests;           /* VDI, VBD and VM: a digest per item, same order; else NULL */
	uint64_t stamp;          /* changes with every put/del, unique in the process: equal
	                          * stamps mean the same records (it moves with the table) */
};

/* All functions below expect the caller to hold the model's lock. */

/* The stamp of class c's table (see struct ct_table). */
uint64_t ct_model_stamp(const struct ct_model *m, enum ct_class c);

/* The digests of every VDI, VBD and VM, in the order of ct_model_at (NULL when there are
 * no records of the class). Borrowed like the records. */
const struct ct_vdi_digest *ct_model_vdi_digests(const struct ct_model *m);
const struct ct_vbd_digest *ct_model_vbd_digests(const struct ct_model *m);
const struct ct_vm_digest *ct_model_vm_digests(const struct ct_model *m);

/* Position (for ct_model_at) of the record of class c whose ref has key k, or -1. ref is
 * that ref's string, read only when k is not exact. ct_model_prefetch_ref starts loading
 * what a later lookup of k reads, so a loop of lookups overlaps their cache misses. */
long ct_model_pos_of_ref(const struct ct_model *m, enum ct_class c, struct ct_key k, const char *ref);
void ct_model_prefetch_ref(const struct ct_model *m, enum ct_class c, struct ct_key k);

#endif
