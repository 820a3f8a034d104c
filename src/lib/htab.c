/* htab.c - the one hash table (see htab.h). */
#include "lib/htab.h"

#include <stdlib.h>

#include "lib/util.h"

void ct_htab_release(struct ct_htab *t)
{
	free(t->s);
	memset(t, 0, sizeof(*t));
}

/* Slots for n entries at load at most 1/2: a power of two above 2n, at least 16. */
static void size_for(size_t n, size_t *slots, unsigned *bits)
{
	*slots = 16;
	*bits = 4;
	while (*slots < n * 2 + 1) {
		*slots <<= 1;
		(*bits)++;
	}
}

void ct_htab_reset(struct ct_htab *t, size_t n)
{
	size_t slots;
	unsigned bits;

	size_for(n, &slots, &bits);
	if (slots > t->nalloc) {
		free(t->s);
		t->s = ct_xcalloc(slots, sizeof(*t->s));
		t->nalloc = slots;
	} else {
		memset(t->s, 0, slots * sizeof(*t->s));
	}
	t->mask = slots - 1;
	t->shift = 64 - bits;
	t->n = 0;
}

static void place(struct ct_htab *t, uint32_t tag, uint32_t val)
{
	size_t i = ct_htab_home(t, tag);

	while (t->s[i].tag)
		i = (i + 1) & t->mask;
	t->s[i].tag = tag;
	t->s[i].val = val;
}

static void grow(struct ct_htab *t)
{
	struct ct_hslot *old = t->s;
	size_t nold = t->s ? t->mask + 1 : 0, n = t->n;

	t->s = NULL;
	t->nalloc = 0;
	ct_htab_reset(t, n + 1 > n * 2 ? n + 1 : n * 2);
	for (size_t i = 0; i < nold; i++)
		if (old[i].tag)
			place(t, old[i].tag, old[i].val);
	t->n = n;
	free(old);
}

void ct_htab_add(struct ct_htab *t, uint64_t h, uint32_t val)
{
	if (!t->s || (t->n + 1) * 2 > t->mask + 1)
		grow(t);
	place(t, ct_htab_tag(h), val);
	t->n++;
}

/* The slot of entry (h, val), or -1. */
static long find_slot(const struct ct_htab *t, uint64_t h, uint32_t val)
{
	uint32_t tag = ct_htab_tag(h);

	if (!t->n)
		return -1;
	for (size_t i = ct_htab_home(t, tag); t->s[i].tag; i = (i + 1) & t->mask)
		if (t->s[i].tag == tag && t->s[i].val == val)
			return (long)i;
	return -1;
}

bool ct_htab_del(struct ct_htab *t, uint64_t h, uint32_t val)
{
	long at = find_slot(t, h, val);
	size_t hole, j;

	if (at < 0)
		return false;
	/* Backward-shift deletion: pull later members of the probe run into the hole when
	 * their home slot does not lie cyclically in (hole, j]. */
	hole = j = (size_t)at;
	for (;;) {
		size_t home;
		bool stays;

		j = (j + 1) & t->mask;
		if (!t->s[j].tag)
			break;
		home = ct_htab_home(t, t->s[j].tag);
		stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
		if (!stays) {
			t->s[hole] = t->s[j];
			hole = j;
		}
	}
	t->s[hole].tag = 0;
	t->s[hole].val = 0;
	t->n--;
	return true;
}

bool ct_htab_set(struct ct_htab *t, uint64_t h, uint32_t from, uint32_t to)
{
	long at = find_slot(t, h, from);

	if (at < 0)
		return false;
	t->s[at].val = to;
	return true;
}

uint64_t ct_hash_mem(const void *p, size_t n, uint64_t seed)
{
	const unsigned char *b = p;
	uint64_t h = seed ^ 0x243f6a8885a308d3ULL ^ n, w;

	for (; n >= 8; n -= 8, b += 8) {
		memcpy(&w, b, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 31;
	}
	w = 0;
	memcpy(&w, b, n);
	return ct_hash_mix(h ^ w);
}
