/* test_htab - the one hash table (lib/htab.h) against a plain array as the reference:
 * adds, finds, deletes with backward shift, re-pointing values, growth, reset with kept
 * memory, colliding tags, keys kept beside the slots, and the hash functions. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/htab.h"
#include "lib/util.h"

/* Keys are strings in a caller's array; values are their indexes, as the callers use it. */
struct set {
	struct ct_htab t;
	char **key;
	bool *live;
	size_t n;
};

static uint64_t hkey(const char *s)
{
	return ct_hash_str(s, 0);
}

static long find(const struct set *s, const char *k)
{
	struct ct_hprobe p;
	long v;

	for (ct_htab_probe(&s->t, hkey(k), &p); (v = ct_htab_next(&s->t, &p)) >= 0;)
		if (!strcmp(s->key[v], k))
			return v;
	return -1;
}

START_TEST(add_find_delete)
{
	enum { N = 5000 };
	struct set s = { 0 };
	char buf[64];
	struct ct_hprobe p;

	ck_assert_int_eq(find(&s, "absent"), -1);   /* a zeroed table is empty */
	ct_htab_probe(&s.t, 42, &p);
	ck_assert_int_eq(ct_htab_next(&s.t, &p), -1);
	ct_htab_prefetch(&s.t, 42);
	ck_assert(!ct_htab_del(&s.t, 42, 0));
	s.key = ct_xcalloc(N, sizeof(*s.key));
	s.live = ct_xcalloc(N, sizeof(*s.live));
	for (size_t i = 0; i < N; i++) {
		snprintf(buf, sizeof(buf), "OpaqueRef:%08zx-key", i * 7919);
		s.key[i] = ct_xstrdup(buf);
		ct_htab_add(&s.t, hkey(buf), (uint32_t)i);
		s.live[i] = true;
	}
	ck_assert_uint_eq(s.t.n, N);
	ck_assert_uint_ge(s.t.mask + 1, 2 * N);   /* load at most 1/2 */
	for (size_t i = 0; i < N; i++)
		ck_assert_int_eq(find(&s, s.key[i]), (long)i);
	ck_assert_int_eq(find(&s, "OpaqueRef:none"), -1);

	/* delete every third key: the others stay reachable across the shifted runs */
	for (size_t i = 0; i < N; i += 3) {
		ck_assert(ct_htab_del(&s.t, hkey(s.key[i]), (uint32_t)i));
		s.live[i] = false;
	}
	ck_assert(!ct_htab_del(&s.t, hkey(s.key[0]), 0));   /* already gone */
	for (size_t i = 0; i < N; i++)
		ck_assert_int_eq(find(&s, s.key[i]), s.live[i] ? (long)i : -1);

	/* re-point: the key of value 1 moves to index 0 (what a swap-remove does) */
	ck_assert(ct_htab_set(&s.t, hkey(s.key[1]), 1, 0));
	ck_assert(!ct_htab_set(&s.t, hkey(s.key[1]), 1, 0));
	free(s.key[0]);
	s.key[0] = s.key[1];
	s.key[1] = ct_xstrdup("moved away");
	ck_assert_int_eq(find(&s, s.key[0]), 0);

	/* reset keeps the memory of a larger use and leaves nothing behind */
	{
		struct ct_hslot *mem = s.t.s;

		ct_htab_reset(&s.t, 10);
		ck_assert_ptr_eq(s.t.s, mem);
		ck_assert_uint_eq(s.t.n, 0);
		ck_assert_uint_eq(s.t.mask + 1, 32);
		for (size_t i = 0; i < N; i++)
			ck_assert_int_eq(find(&s, s.key[i]), -1);
		ct_htab_add(&s.t, hkey(s.key[2]), 2);
		ck_assert_int_eq(find(&s, s.key[2]), 2);
	}
	for (size_t i = 0; i < N; i++)
		free(s.key[i]);
	free(s.key);
	free(s.live);
	ct_htab_release(&s.t);
	ck_assert_ptr_null(s.t.s);
	ck_assert_uint_eq(s.t.n, 0);
}
END_TEST

/* Many entries under one hash (every tag equal): the walk yields them all, deletes in any
 * order keep the rest reachable, and a probe run wrapping past the last slot works. */
START_TEST(same_tag)
{
	struct ct_htab t = { 0 };
	struct ct_hprobe p;
	bool seen[12];
	long v;
	int n;

	for (uint32_t i = 0; i < 12; i++)
		ct_htab_add(&t, 0xdeadbeef00000000ULL, i);
	/* tag 0 is taken as 1: the same walk for hashes whose high half is 0 or 1 */
	ct_htab_add(&t, 0x0000000012345678ULL, 100);
	ct_htab_add(&t, 0x00000001abcdef00ULL, 101);
	memset(seen, 0, sizeof(seen));
	n = 0;
	for (ct_htab_probe(&t, 0xdeadbeef12345678ULL, &p); (v = ct_htab_next(&t, &p)) >= 0; n++) {
		ck_assert_int_lt(v, 12);
		ck_assert(!seen[v]);
		seen[v] = true;
	}
	ck_assert_int_eq(n, 12);
	n = 0;
	for (ct_htab_probe(&t, 0x0000000000000001ULL, &p); (v = ct_htab_next(&t, &p)) >= 0; n++)
		ck_assert(v == 100 || v == 101);
	ck_assert_int_eq(n, 2);
	for (uint32_t i = 0; i < 12; i += 2)
		ck_assert(ct_htab_del(&t, 0xdeadbeef00000000ULL, i));
	n = 0;
	for (ct_htab_probe(&t, 0xdeadbeef00000000ULL, &p); (v = ct_htab_next(&t, &p)) >= 0; n++)
		ck_assert_int_eq(v % 2, 1);
	ck_assert_int_eq(n, 6);
	ck_assert_uint_eq(t.n, 8);
	ct_htab_release(&t);
}
END_TEST

/* Random adds and deletes against a reference array, with a table that keeps shrinking
 * back through reset: the table and the reference agree after every step. */
START_TEST(random_against_reference)
{
	enum { K = 3000 };
	struct set s = { 0 };
	unsigned seed = 12345;
	char buf[32];

	s.key = ct_xcalloc(K, sizeof(*s.key));
	s.live = ct_xcalloc(K, sizeof(*s.live));
	for (size_t i = 0; i < K; i++) {
		snprintf(buf, sizeof(buf), "k%zu", i);
		s.key[i] = ct_xstrdup(buf);
	}
	for (int round = 0; round < 40000; round++) {
		size_t i;

		seed = seed * 1103515245u + 12345u;
		i = (seed >> 8) % K;
		if (s.live[i]) {
			ck_assert(ct_htab_del(&s.t, hkey(s.key[i]), (uint32_t)i));
			s.live[i] = false;
			s.n--;
		} else {
			ck_assert_int_eq(find(&s, s.key[i]), -1);
			ct_htab_add(&s.t, hkey(s.key[i]), (uint32_t)i);
			s.live[i] = true;
			s.n++;
		}
		ck_assert_uint_eq(s.t.n, s.n);
		if (round % 997 == 0)
			for (size_t j = 0; j < K; j++)
				ck_assert_int_eq(find(&s, s.key[j]), s.live[j] ? (long)j : -1);
	}
	for (size_t i = 0; i < K; i++)
		free(s.key[i]);
	free(s.key);
	free(s.live);
	ct_htab_release(&s.t);
}
END_TEST

/* A table that keeps 16 bytes of key beside each slot: the keys follow their entries
 * through growth, backward-shift deletes and a release that keeps the key size. */
START_TEST(keyed)
{
	enum { N = 2000 };
	struct ct_htab t;
	struct k16 { uint64_t a, b; } k;
	struct ct_hprobe p;
	long v;

	ct_htab_init(&t, sizeof(k));
	for (uint32_t round = 0; round < 2; round++) {
		for (uint32_t i = 0; i < N; i++) {
			k = (struct k16){ i, ~(uint64_t)i };
			ct_htab_add_key(&t, ct_hash_mem(&k, sizeof(k), 0), i, &k);
		}
		for (uint32_t i = 0; i < N; i += 2) {
			k = (struct k16){ i, ~(uint64_t)i };
			ck_assert(ct_htab_del(&t, ct_hash_mem(&k, sizeof(k), 0), i));
		}
		for (uint32_t i = 0; i < N; i++) {
			long found = -1;

			k = (struct k16){ i, ~(uint64_t)i };
			ct_htab_prefetch(&t, ct_hash_mem(&k, sizeof(k), 0));
			for (ct_htab_probe(&t, ct_hash_mem(&k, sizeof(k), 0), &p);
			     (v = ct_htab_next(&t, &p)) >= 0;)
				if (!memcmp(ct_htab_key(&t, &p), &k, sizeof(k)))
					found = v;
			ck_assert_int_eq(found, i % 2 ? (long)i : -1);
		}
		ct_htab_release(&t);
		ck_assert_uint_eq(t.ksize, sizeof(k));
		ck_assert_ptr_null(t.keys);
	}
}
END_TEST

START_TEST(hashes)
{
	const char a[] = "OpaqueRef:0b0c1d2e-aaaa-4bbb-8ccc-000000000001";
	char b[sizeof(a)];
	int x, y;

	memcpy(b, a, sizeof(a));
	b[sizeof(a) - 2] = '2';
	ck_assert_uint_eq(ct_hash_str(a, 0), ct_hash_mem(a, strlen(a), 0));
	ck_assert_uint_ne(ct_hash_str(a, 0), ct_hash_str(b, 0));   /* the last byte counts */
	ck_assert_uint_ne(ct_hash_str(a, 0), ct_hash_str(a, 1));   /* so does the seed */
	ck_assert_uint_ne(ct_hash_mem("ab", 1, 0), ct_hash_mem("ab", 2, 0));   /* and the length */
	ck_assert_uint_ne(ct_hash_ptr(&x), ct_hash_ptr(&y));
	ck_assert_uint_eq(ct_hash_mix(0), 0);
	/* one input bit flips about half the output bits, the high half (the tag) included */
	{
		int total = 0;

		for (int bit = 0; bit < 64; bit++) {
			uint64_t d = ct_hash_mix(0x0123456789abcdefULL) ^
				     ct_hash_mix(0x0123456789abcdefULL ^ (1ULL << bit));

			ck_assert_uint_ne(d >> 32, 0);
			total += __builtin_popcountll(d);
		}
		ck_assert_int_gt(total, 64 * 24);
		ck_assert_int_lt(total, 64 * 40);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("htab");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, add_find_delete);
	tcase_add_test(tc, same_tag);
	tcase_add_test(tc, random_against_reference);
	tcase_add_test(tc, keyed);
	tcase_add_test(tc, hashes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
