/* htab.h - the one hash table of chaintop, and its hash functions.
 *
 * Open addressing with linear probing over 8-byte slots: a 32-bit tag taken from the
 * caller's 64-bit hash, and a 32-bit value (usually an index into the caller's own array of
 * keys or records). The table never sees a key: a lookup walks the values whose tag matches
 * and the caller confirms each on its own key, so one implementation serves strings,
 * pointers and 128-bit keys alike, and a slot stays 8 bytes whatever the key (a table of
 * 100,000 entries is 2 MB of slots).
 *
 *	struct ct_hprobe p;
 *	long v;
 *
 *	for (ct_htab_probe(t, h, &p); (v = ct_htab_next(t, &p)) >= 0;)
 *		if (key_equal(&keys[v], key))
 *			return v;
 *	return -1;
 *
 * A table may also keep a few bytes of each entry's key beside its slot (ksize, set by
 * ct_htab_init): a probe then confirms a candidate on ct_htab_key without leaving the
 * table, one cache miss instead of two dependent ones (the model's ref tables, 16-byte
 * keys, looked up a hundred thousand times an evaluation).
 *
 * The home slot of an entry is derived from its tag alone, so the table grows, deletes
 * (backward shift: no tombstones) and reports where a probe will start without asking the
 * caller for hashes again. Load stays at most 1/2. A zeroed struct is an empty table without
 * keys; the table holds no lock (the caller's lock covers it). The caller's hash must mix
 * every bit of the key into the high 32 bits (the hash functions below do). */
#ifndef CT_HTAB_H
#define CT_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct ct_hslot {
	uint32_t tag;            /* 0 = empty */
	uint32_t val;
};

struct ct_htab {
	struct ct_hslot *s;      /* NULL until the first add or reset */
	unsigned char *keys;     /* ksize bytes per slot, beside s; NULL when ksize is 0 */
	size_t ksize;
	size_t mask;             /* slots - 1 */
	unsigned shift;          /* 64 - log2(slots) */
	size_t n;                /* entries */
	size_t nalloc;           /* slots allocated (a reset to fewer keeps them) */
};

/* A walk over the entries that may hold one key. */
struct ct_hprobe {
	size_t i;                /* the slot to look at next */
	size_t at;               /* the slot of the last value ct_htab_next returned */
	uint32_t tag;
};

/* An empty table keeping ksize bytes of key per entry (0: none, as a zeroed struct). */
void ct_htab_init(struct ct_htab *t, size_t ksize);
/* Free the slots; the table stays usable, empty, with its key size. */
void ct_htab_release(struct ct_htab *t);
/* Empty the table, with room for n entries without growing; memory from an earlier, larger
 * use is kept. */
void ct_htab_reset(struct ct_htab *t, size_t n);
/* Add val under hash h (another entry with the same key is the caller's business: look it
 * up first). Grows as needed. */
void ct_htab_add(struct ct_htab *t, uint64_t h, uint32_t val);
/* The same, with the entry's ksize bytes of key. */
void ct_htab_add_key(struct ct_htab *t, uint64_t h, uint32_t val, const void *key);
/* Remove the entry (h, val); false when there is none. */
bool ct_htab_del(struct ct_htab *t, uint64_t h, uint32_t val);
/* The entry (h, from) now holds to (the caller moved the keyed item); false when absent. */
bool ct_htab_set(struct ct_htab *t, uint64_t h, uint32_t from, uint32_t to);

static inline uint32_t ct_htab_tag(uint64_t h)
{
	uint32_t tag = (uint32_t)(h >> 32);

	return tag ? tag : 1;
}

/* Fibonacci hashing of the tag: the home slot. */
static inline size_t ct_htab_home(const struct ct_htab *t, uint32_t tag)
{
	return (size_t)(((uint64_t)tag * 0x9e3779b97f4a7c15ULL) >> t->shift);
}

static inline void ct_htab_probe(const struct ct_htab *t, uint64_t h, struct ct_hprobe *p)
{
	p->tag = ct_htab_tag(h);
	p->i = t->n ? ct_htab_home(t, p->tag) : 0;
}

/* The next value whose tag matches the probe's hash, -1 when there is no other. */
static inline long ct_htab_next(const struct ct_htab *t, struct ct_hprobe *p)
{
	if (!t->n)
		return -1;
	for (;;) {
		const struct ct_hslot *sl = &t->s[p->i];

		if (!sl->tag)
			return -1;
		p->at = p->i;
		p->i = (p->i + 1) & t->mask;
		if (sl->tag == p->tag)
			return (long)sl->val;
	}
}

/* The key bytes kept with the value ct_htab_next just returned (tables with a ksize). */
static inline const void *ct_htab_key(const struct ct_htab *t, const struct ct_hprobe *p)
{
	return t->keys + p->at * t->ksize;
}

/* Start loading the slot (and key) a lookup of h will read first: loops of lookups overlap
 * their cache misses by prefetching a few keys ahead. Always inlined: GCC 12 otherwise
 * splits the early return off and deletes the rest, taking a prefetch for no effect. */
static inline __attribute__((always_inline))
void ct_htab_prefetch(const struct ct_htab *t, uint64_t h)
{
	size_t i;

	if (!t->n)
		return;
	i = ct_htab_home(t, ct_htab_tag(h));
	__builtin_prefetch(&t->s[i]);
	if (t->ksize)
		__builtin_prefetch(t->keys + i * t->ksize);
}

/* ---- hash functions: every bit of the input reaches every bit of the result ---------- */

/* The 64-bit finaliser of MurmurHash3. */
static inline uint64_t ct_hash_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static inline uint64_t ct_hash_ptr(const void *p)
{
	return ct_hash_mix((uint64_t)(uintptr_t)p);
}

/* n bytes at p, eight at a time (refs and uuids are 36 to 46 bytes); seed chains hashes
 * (the hash of a pair is the hash of the second seeded with the first's). Inline: the
 * decoder hashes every member name of every record. */
static inline uint64_t ct_hash_mem(const void *p, size_t n, uint64_t seed)
{
	const unsigned char *b = p;
	uint64_t h = seed ^ 0x243f6a8885a308d3ULL ^ n, w;

	for (; n >= 8; n -= 8, b += 8) {
		memcpy(&w, b, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 31;
	}
	w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)b[i] << (8 * i);
	return ct_hash_mix(h ^ w);
}

static inline uint64_t ct_hash_str(const char *s, uint64_t seed)
{
	return ct_hash_mem(s, strlen(s), seed);
}

#endif
