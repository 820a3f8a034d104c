/* test_xva.c - the streaming XVA check: complete tar, ova.xml first, every chunk followed by
 * a matching .checksum (SHA-1 hex) or .xxhash (XXH64 %016X), gzip and zstd, fed in any pieces. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

#include "lib/util.h"
#include "jobs/xva.h"

struct buf {
	unsigned char *p;
	size_t n;
};

static void add(struct buf *b, const void *d, size_t n)
{
	b->p = ct_xrealloc(b->p, b->n + n + 1);
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void member(struct buf *b, const char *name, const void *data, size_t n)
{
	unsigned char h[512] = { 0 }, zero[512] = { 0 };
	unsigned sum = 0;

	snprintf((char *)h, 100, "%s", name);
	snprintf((char *)h + 100, 8, "%07o", 0644);
	snprintf((char *)h + 124, 12, "%011o", (unsigned)n);
	snprintf((char *)h + 136, 12, "%011o", 0);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	add(b, h, 512);
	add(b, data, n);
	add(b, zero, (512 - n % 512) % 512);
}

static void chunk(struct buf *b, const char *name, const unsigned char *d, size_t n, bool xxh)
{
	char sum[64], fname[128];

	member(b, name, d, n);
	if (xxh) {
		snprintf(sum, sizeof(sum), "%016llX", (unsigned long long)XXH64(d, n, 0));
		snprintf(fname, sizeof(fname), "%s.xxhash", name);
	} else {
		unsigned char md[20];
		unsigned int len = 0;

		EVP_Digest(d, n, md, &len, EVP_sha1(), NULL);
		for (int i = 0; i < 20; i++)
			sprintf(sum + 2 * i, "%02x", md[i]);
		snprintf(fname, sizeof(fname), "%s.checksum", name);
	}
	member(b, fname, sum, strlen(sum));
}

static void end(struct buf *b)
{
	unsigned char zero[1024] = { 0 };

	add(b, zero, sizeof(zero));
}

/* ova.xml, two disks of two chunks each (one empty, as xapi's keep-alive blocks are). */
static struct buf make(bool xxh)
{
	struct buf b = { 0 };
	static unsigned char data[3000];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 3);
	member(&b, "ova.xml", "<value/>", 8);
	chunk(&b, "Ref:2/00000000", data, sizeof(data), xxh);
	chunk(&b, "Ref:2/00000001", data, 0, xxh);
	chunk(&b, "Ref:4/00000000", data + 5, 1000, xxh);
	chunk(&b, "Ref:4/00000007", data, 512, xxh);
	end(&b);
	return b;
}

static int check_in_pieces(const struct buf *b, size_t piece, struct ct_xva_stats *st, struct ct_err *e)
{
	struct ct_xva *v = ct_xva_new();
	int rc = 0;

	for (size_t off = 0; off < b->n && rc == 0; off += piece)
		rc = ct_xva_feed(v, b->p + off, b->n - off < piece ? b->n - off : piece, e);
	if (rc == 0)
		rc = ct_xva_finish(v, st, e);
	ct_xva_free(v);
	return rc;
}

START_TEST(test_good_sha1_and_xxhash_any_pieces)
{
	static const size_t pieces[] = { 1, 3, 511, 512, 4096, 1 << 20 };
	struct ct_xva_stats st;
	struct ct_err e;

	for (int x = 0; x < 2; x++) {
		struct buf b = make(x == 1);

		for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
			ct_err_init(&e);
			ck_assert_msg(check_in_pieces(&b, pieces[i], &st, &e) == 0, "%s", e.msg);
			ck_assert_int_eq(st.n_chunks, 4);
			ck_assert_int_eq(st.n_disks, 2);
			ck_assert_int_eq(x ? st.n_xxhash : st.n_sha1, 4);
			ck_assert_str_eq(st.compression, "none");
		}
		free(b.p);
	}
}
END_TEST

START_TEST(test_damaged_and_incomplete)
{
	struct buf b = make(false);
	struct ct_err e;
	struct buf cut = { b.p, b.n - 1024 };

	/* one byte of the first chunk's data changed */
	b.p[1536 + 100] ^= 0x40;
	ct_err_init(&e);
	ck_assert_int_eq(check_in_pieces(&b, 4096, NULL, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "chunk Ref:2/00000000 is damaged"));
	b.p[1536 + 100] ^= 0x40;
	/* no end-of-archive blocks */
	ct_err_init(&e);
	ck_assert_int_eq(check_in_pieces(&cut, 4096, NULL, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "incomplete"));
	/* cut inside a member */
	cut.n = 1500;
	ct_err_init(&e);
	ck_assert_int_eq(check_in_pieces(&cut, 4096, NULL, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "incomplete"));
	free(b.p);
	/* a chunk without its checksum, and ova.xml not first */
	{
		struct buf c = { 0 };

		member(&c, "ova.xml", "x", 1);
		member(&c, "Ref:2/00000000", "abc", 3);
		member(&c, "Ref:2/00000001", "abc", 3);
		end(&c);
		ct_err_init(&e);
		ck_assert_int_eq(check_in_pieces(&c, 100, NULL, &e), -1);
		ck_assert_ptr_nonnull(strstr(e.msg, "chunk Ref:2/00000000 has no checksum file"));
		free(c.p);
		memset(&c, 0, sizeof(c));
		member(&c, "Ref:2/00000000", "abc", 3);
		end(&c);
		ct_err_init(&e);
		ck_assert_int_eq(check_in_pieces(&c, 100, NULL, &e), -1);
		ck_assert_ptr_nonnull(strstr(e.msg, "not ova.xml"));
		free(c.p);
	}
	/* not a tar at all */
	{
		struct buf h = { (unsigned char *)ct_xstrdup("<html><body>HTTP 500</body></html>"), 0 };

		h.n = strlen((char *)h.p);
		ct_err_init(&e);
		ck_assert_int_eq(check_in_pieces(&h, 100, NULL, &e), -1);
		free(h.p);
	}
}
END_TEST

START_TEST(test_gzip_and_zstd)
{
	struct buf b = make(true);
	struct ct_xva_stats st;
	struct ct_err e;
	size_t zcap = ZSTD_compressBound(b.n);
	unsigned char *z = ct_xmalloc(zcap);
	size_t zn = ZSTD_compress(z, zcap, b.p, b.n, 3);
	uLongf gcap = compressBound(b.n) + 64;
	unsigned char *g = ct_xmalloc(gcap);
	z_stream zs;
	struct buf zb, gb;

	ck_assert(!ZSTD_isError(zn));
	zb.p = z;
	zb.n = zn;
	ct_err_init(&e);
	ck_assert_msg(check_in_pieces(&zb, 7, &st, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(st.compression, "zstd");
	ck_assert_int_eq(st.n_chunks, 4);
	zb.n = zn - 5;
	ct_err_init(&e);
	ck_assert_int_eq(check_in_pieces(&zb, 4096, NULL, &e), -1);

	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = b.p;
	zs.avail_in = (uInt)b.n;
	zs.next_out = g;
	zs.avail_out = (uInt)gcap;
	ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
	gb.p = g;
	gb.n = zs.total_out;
	deflateEnd(&zs);
	ct_err_init(&e);
	ck_assert_msg(check_in_pieces(&gb, 13, &st, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(st.compression, "gzip");
	gb.n -= 10;
	ct_err_init(&e);
	ck_assert_int_eq(check_in_pieces(&gb, 4096, NULL, &e), -1);
	free(z);
	free(g);
	free(b.p);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xva");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_good_sha1_and_xxhash_any_pieces);
	tcase_add_test(tc, test_damaged_and_incomplete);
	tcase_add_test(tc, test_gzip_and_zstd);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
