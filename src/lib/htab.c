/* htab.c - the one hash table (see htab.h). */
#include "lib/htab.h"

#include <stdlib.h>

#include "lib/util.h"

void ct_htab_init(struct ct_htab *t, size_t ksize)
{
	memset(t, 0, sizeof(*t));
	t->ksize = ksize;
}

void ct_htab_release(struct ct_htab *t)
{
	free(t->s);
	free(t->keys);
	ct_htab_init(t, t->ksize);
}

/* Empty slots, at least `slots` (a power of two) of them; memory from an earlier, larger
 * use is kept. */
static void set_slots(struct ct_htab *t, size_t slots)
{
	unsigned bits = 0;

	while (((size_t)1 << bits) < slots)
		bits++;
	if (slots > t->nalloc) {
		free(t->s);
		free(t->keys);
		t->s = ct_xcalloc(slots, sizeof(*t->s));
		t->keys = t->ksize ? ct_xcalloc(slots, t->ksize) : NULL;
		t->nalloc = slots;
	} else {
		memset(t->s, 0, slots * sizeof(*t->s));
	}
	t->mask = slots - 1;
	t->shift = 64 - bits;
	t->n = 0;
}

void ct_htab_reset(struct ct_htab *t, size_t n)
{
	size_t slots = 16;

	/* load at most 1/2 */
	while (slots < n * 2 + 1)
		slots <<= 1;
	set_slots(t, slots);
}

static void place(struct ct_htab *t, uint32_t tag, uint32_t val, const void *key)
{
	size_t i = ct_htab_home(t, tag);

	while (t->s[i].tag)
		i = (i + 1) & t->mask;
	t->s[i].tag = tag;
	t->s[i].val = val;
	if (t->ksize) {
		if (key)
			memcpy(t->keys + i * t->ksize, key, t->ksize);
		else
			memset(t->keys + i * t->ksize, 0, t->ksize);
	}
}

/* Twice the slots (16 at first), every entry placed again by its tag. */
static void grow(struct ct_htab *t)
{
	struct ct_hslot *old = t->s;
	unsigned char *oldk = t->keys;
	size_t nold = t->s ? t->mask + 1 : 0, n = t->n;

	t->s = NULL;
	t->keys = NULL;
	t->nalloc = 0;
	set_slots(t, nold ? nold * 2 : 16);
	for (size_t i = 0; i < nold; i++)
		if (old[i].tag)
			place(t, old[i].tag, old[i].val, oldk ? oldk + i * t->ksize : NULL);
	t->n = n;
	free(old);
	free(oldk);
}

void ct_htab_add_key(struct ct_htab *t, uint64_t h, uint32_t val, const void *key)
{
	if (!t->s || (t->n + 1) * 2 > t->mask + 1)
		grow(t);
	place(t, ct_htab_tag(h), val, key);
	t->n++;
}

void ct_htab_add(struct ct_htab *t, uint64_t h, uint32_t val)
{
	ct_htab_add_key(t, h, val, NULL);
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
			if (t->ksize)
				memcpy(t->keys + hole * t->ksize, t->keys + j * t->ksize, t->ksize);
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
