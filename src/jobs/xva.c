/* xva.c - streaming XVA verification (see xva.h): decompress (zstd, gzip) -> tar headers and
 * data -> SHA-1 and XXH64 of every chunk, compared with the checksum file that follows it. */
#include "jobs/xva.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

#include "lib/util.h"

#define BLK 512
#define OUTBUF (128 * 1024)

enum comp { C_UNKNOWN, C_NONE, C_GZIP, C_ZSTD };
enum member { M_DATA, M_SHA1, M_XXH, M_OVA, M_LONGNAME, M_OTHER };

struct ct_xva {
	enum comp comp;
	unsigned char magic[4];
	size_t n_magic;
	z_stream z;
	bool z_init, z_end;
	ZSTD_DStream *zs;
	bool zs_frame_done;
	unsigned char *out;
	/* tar */
	unsigned char hdr[BLK];
	size_t hdr_len;
	int zero_blocks;
	bool ended;                /* two zero blocks seen */
	bool in_member;
	enum member kind;
	uint64_t left, pad;        /* data bytes left in the member, then padding */
	char name[300];
	char longname[256];
	bool have_longname;
	size_t ln_len;
	char sum_text[80];
	size_t sum_len;
	/* the last data chunk, waiting for its checksum file */
	bool pending;
	char pending_name[300];
	EVP_MD_CTX *sha;
	XXH64_state_t *xxh;
	unsigned char sha_out[20];
	unsigned long long xxh_out;
	bool seen_ova, first_member_done;
	char last_disk[256];
	struct ct_xva_stats st;
	bool failed;
	struct ct_err err;
};

struct ct_xva *ct_xva_new(void)
{
	struct ct_xva *v = ct_xcalloc(1, sizeof(*v));

	v->out = ct_xmalloc(OUTBUF);
	v->sha = EVP_MD_CTX_new();
	v->xxh = XXH64_createState();
	if (!v->sha || !v->xxh)
		ct_fatal("out of memory creating the XVA checksum state");
	ct_err_init(&v->err);
	v->st.compression = "none";
	return v;
}

void ct_xva_free(struct ct_xva *v)
{
	if (!v)
		return;
	if (v->z_init)
		inflateEnd(&v->z);
	ZSTD_freeDStream(v->zs);
	EVP_MD_CTX_free(v->sha);
	XXH64_freeState(v->xxh);
	free(v->out);
	free(v);
}

static int fault(struct ct_xva *v, struct ct_err *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fault(struct ct_xva *v, struct ct_err *e, const char *fmt, ...)
{
	char msg[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->failed = true;
	ct_err_set(&v->err, CT_E_PROTO, "%s (at byte %lld of the tar stream)", msg,
		   (long long)v->st.tar_bytes);
	*e = v->err;
	return -1;
}

static uint64_t octal(const unsigned char *p, size_t n, bool *ok)
{
	uint64_t x = 0;
	size_t i = 0;

	*ok = true;
	if (p[0] & 0x80) {   /* GNU base-256 for sizes of 8 GiB and more */
		x = p[0] & 0x3f;
		for (i = 1; i < n; i++)
			x = (x << 8) | p[i];
		return x;
	}
	while (i < n && p[i] == ' ')
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++)
		x = x * 8 + (uint64_t)(p[i] - '0');
	if (i < n && p[i] != '\0' && p[i] != ' ')
		*ok = false;
	return x;
}

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && !strcmp(s + a - b, suf);
}

static void hex(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* The checksum file just read: compare with the pending chunk. */
static int check_sum(struct ct_xva *v, struct ct_err *e)
{
	char base[300], want[80], got[80];
	size_t bl = strlen(v->name) - (v->kind == M_SHA1 ? strlen(".checksum") : strlen(".xxhash"));
	size_t n = v->sum_len;

	snprintf(base, sizeof(base), "%.*s", (int)bl, v->name);
	if (!v->pending || strcmp(base, v->pending_name) != 0)
		return fault(v, e, "checksum file %s does not follow its chunk %s", v->name, base);
	while (n && (v->sum_text[n - 1] == '\n' || v->sum_text[n - 1] == ' ' || v->sum_text[n - 1] == '\r'))
		n--;
	snprintf(want, sizeof(want), "%.*s", (int)n, v->sum_text);
	if (v->kind == M_SHA1) {
		hex(v->sha_out, 20, got);
		v->st.n_sha1++;
	} else {
		snprintf(got, sizeof(got), "%016llX", v->xxh_out);
		v->st.n_xxhash++;
	}
	if (strcasecmp(want, got) != 0)
		return fault(v, e, "chunk %s is damaged: its %s is %s but %s says %s", base,
			     v->kind == M_SHA1 ? "SHA-1" : "XXH64", got, v->name, want);
	v->pending = false;
	v->st.n_chunks++;
	return 0;
}

static int member_end(struct ct_xva *v, struct ct_err *e)
{
	switch (v->kind) {
	case M_DATA: {
		unsigned int len = 0;

		EVP_DigestFinal_ex(v->sha, v->sha_out, &len);
		v->xxh_out = XXH64_digest(v->xxh);
		v->pending = true;
		snprintf(v->pending_name, sizeof(v->pending_name), "%s", v->name);
		break;
	}
	case M_SHA1:
	case M_XXH:
		return check_sum(v, e);
	case M_LONGNAME:
		v->longname[v->ln_len < sizeof(v->longname) ? v->ln_len : sizeof(v->longname) - 1] = '\0';
		v->have_longname = true;
		break;
	default:
		break;
	}
	return 0;
}

static int header(struct ct_xva *v, struct ct_err *e)
{
	const unsigned char *h = v->hdr;
	unsigned sum = 0, stored;
	uint64_t size;
	bool ok, ok2;
	char type = (char)h[156];
	const char *slash;

	for (int i = 0; i < BLK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	stored = (unsigned)octal(h + 148, 8, &ok);
	size = octal(h + 124, 12, &ok2);
	if (!ok || !ok2 || stored != sum)
		return fault(v, e, "not a tar header: the export is damaged or not an XVA");
	if (v->have_longname) {
		snprintf(v->name, sizeof(v->name), "%s", v->longname);
		v->have_longname = false;
	} else if (!memcmp(h + 257, "ustar", 5) && h[345]) {
		snprintf(v->name, sizeof(v->name), "%.155s/%.100s", (const char *)h + 345, (const char *)h);
	} else {
		snprintf(v->name, sizeof(v->name), "%.100s", (const char *)h);
	}
	v->left = size;
	v->pad = (BLK - size % BLK) % BLK;
	v->in_member = true;
	if (type == 'L') {
		v->kind = M_LONGNAME;
		v->ln_len = 0;
		return 0;
	}
	if (!v->first_member_done) {
		v->first_member_done = true;
		if (strcmp(v->name, "ova.xml") != 0)
			return fault(v, e, "the first member is %s, not ova.xml: not an XVA", v->name);
		v->seen_ova = true;
		v->kind = M_OVA;
		return 0;
	}
	if (type != '0' && type != '\0') {
		v->kind = M_OTHER;
		return 0;
	}
	if (ends_with(v->name, ".checksum")) {
		v->kind = M_SHA1;
	} else if (ends_with(v->name, ".xxhash")) {
		v->kind = M_XXH;
	} else {
		if (v->pending)
			return fault(v, e, "chunk %s has no checksum file", v->pending_name);
		v->kind = M_DATA;
		EVP_DigestInit_ex(v->sha, EVP_sha1(), NULL);
		XXH64_reset(v->xxh, 0);
		slash = strchr(v->name, '/');
		if (slash && (strlen(v->last_disk) != (size_t)(slash - v->name) ||
			      strncmp(v->last_disk, v->name, (size_t)(slash - v->name)) != 0)) {
			snprintf(v->last_disk, sizeof(v->last_disk), "%.*s", (int)(slash - v->name), v->name);
			v->st.n_disks++;
		}
	}
	v->sum_len = 0;
	return 0;
}

/* Tar bytes (decompressed). */
static int tar_feed(struct ct_xva *v, const unsigned char *p, size_t n, struct ct_err *e)
{
	while (n > 0) {
		if (v->in_member && v->left > 0) {
			size_t k = n < v->left ? n : (size_t)v->left;

			switch (v->kind) {
			case M_DATA:
				EVP_DigestUpdate(v->sha, p, k);
				XXH64_update(v->xxh, p, k);
				break;
			case M_SHA1:
			case M_XXH:
				for (size_t i = 0; i < k && v->sum_len < sizeof(v->sum_text) - 1; i++)
					v->sum_text[v->sum_len++] = (char)p[i];
				break;
			case M_LONGNAME:
				for (size_t i = 0; i < k; i++, v->ln_len++)
					if (v->ln_len < sizeof(v->longname))
						v->longname[v->ln_len] = (char)p[i];
				break;
			default:
				break;
			}
			v->left -= k;
			p += k;
			n -= k;
			v->st.tar_bytes += (int64_t)k;
			if (v->left == 0 && member_end(v, e) < 0)
				return -1;
			continue;
		}
		if (v->in_member && v->pad > 0) {
			size_t k = n < v->pad ? n : (size_t)v->pad;

			v->pad -= k;
			p += k;
			n -= k;
			v->st.tar_bytes += (int64_t)k;
			continue;
		}
		if (v->in_member) {
			v->in_member = false;
			continue;
		}
		if (v->ended) {   /* padding after the end-of-archive blocks: must be zero */
			for (size_t i = 0; i < n; i++)
				if (p[i])
					return fault(v, e, "data after the end of the archive");
			v->st.tar_bytes += (int64_t)n;
			return 0;
		}
		{
			size_t k = BLK - v->hdr_len < n ? BLK - v->hdr_len : n;
			bool zero = true;

			memcpy(v->hdr + v->hdr_len, p, k);
			v->hdr_len += k;
			p += k;
			n -= k;
			v->st.tar_bytes += (int64_t)k;
			if (v->hdr_len < BLK)
				continue;
			v->hdr_len = 0;
			for (int i = 0; i < BLK && zero; i++)
				zero = v->hdr[i] == 0;
			if (zero) {
				if (++v->zero_blocks == 2)
					v->ended = true;
				continue;
			}
			if (v->zero_blocks)
				return fault(v, e, "a zero block inside the archive");
			if (header(v, e) < 0)
				return -1;
			if (v->left == 0) {   /* an empty member: no data, no padding */
				v->in_member = false;
				if (member_end(v, e) < 0)
					return -1;
			}
		}
	}
	return 0;
}

static int decompress(struct ct_xva *v, const unsigned char *p, size_t n, struct ct_err *e)
{
	if (v->comp == C_NONE)
		return tar_feed(v, p, n, e);
	if (v->comp == C_GZIP) {
		v->z.next_in = (unsigned char *)p;
		v->z.avail_in = (unsigned)n;
		while (v->z.avail_in > 0) {
			int rc;

			if (v->z_end) {   /* gzip allows members one after the other */
				if (inflateReset(&v->z) != Z_OK)
					return fault(v, e, "gzip: cannot restart after a member");
				v->z_end = false;
			}
			v->z.next_out = v->out;
			v->z.avail_out = OUTBUF;
			rc = inflate(&v->z, Z_NO_FLUSH);
			if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
				return fault(v, e, "gzip stream damaged: %s", v->z.msg ? v->z.msg : "inflate failed");
			if (tar_feed(v, v->out, OUTBUF - v->z.avail_out, e) < 0)
				return -1;
			if (rc == Z_STREAM_END)
				v->z_end = true;
			if (rc == Z_BUF_ERROR && v->z.avail_out == OUTBUF)
				break;
		}
		return 0;
	}
	{
		ZSTD_inBuffer in = { p, n, 0 };
		bool full = false;

		/* until the input is used up and the decoder holds no more output */
		while (in.pos < in.size || full) {
			ZSTD_outBuffer out = { v->out, OUTBUF, 0 };
			size_t rc = ZSTD_decompressStream(v->zs, &out, &in);

			if (ZSTD_isError(rc))
				return fault(v, e, "zstd stream damaged: %s", ZSTD_getErrorName(rc));
			if (rc == 0)
				v->zs_frame_done = true;
			else if (out.pos > 0 || in.pos > 0)
				v->zs_frame_done = false;
			full = out.pos == out.size;
			if (tar_feed(v, v->out, out.pos, e) < 0)
				return -1;
		}
	}
	return 0;
}

static int start(struct ct_xva *v, struct ct_err *e)
{
	static const unsigned char zmagic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

	if (v->n_magic >= 4 && !memcmp(v->magic, zmagic, 4)) {
		v->comp = C_ZSTD;
		v->st.compression = "zstd";
		v->zs = ZSTD_createDStream();
		if (!v->zs || ZSTD_isError(ZSTD_initDStream(v->zs)))
			return fault(v, e, "cannot start a zstd decoder");
	} else if (v->n_magic >= 2 && v->magic[0] == 0x1f && v->magic[1] == 0x8b) {
		v->comp = C_GZIP;
		v->st.compression = "gzip";
		if (inflateInit2(&v->z, 15 + 16) != Z_OK)
			return fault(v, e, "cannot start a gzip decoder");
		v->z_init = true;
	} else {
		v->comp = C_NONE;
	}
	return decompress(v, v->magic, v->n_magic, e);
}

int ct_xva_feed(struct ct_xva *v, const void *buf, size_t n, struct ct_err *e)
{
	const unsigned char *p = buf;

	if (v->failed) {
		*e = v->err;
		return -1;
	}
	v->st.stream_bytes += (int64_t)n;
	if (v->comp == C_UNKNOWN) {
		while (n > 0 && v->n_magic < 4) {
			v->magic[v->n_magic++] = *p++;
			n--;
		}
		if (v->n_magic < 4)
			return 0;
		if (start(v, e) < 0)
			return -1;
	}
	return n ? decompress(v, p, n, e) : 0;
}

int ct_xva_finish(struct ct_xva *v, struct ct_xva_stats *stats, struct ct_err *e)
{
	int rc = -1;

	if (v->failed) {
		*e = v->err;
		goto out;
	}
	if (v->comp == C_UNKNOWN && start(v, e) < 0)
		goto out;
	if (v->comp == C_ZSTD && !v->zs_frame_done) {
		fault(v, e, "the zstd stream is cut short: the export is incomplete");
		goto out;
	}
	if (v->comp == C_GZIP && !v->z_end) {
		fault(v, e, "the gzip stream is cut short: the export is incomplete");
		goto out;
	}
	if (!v->seen_ova) {
		fault(v, e, "no ova.xml: empty or not an XVA");
		goto out;
	}
	if (v->pending) {
		fault(v, e, "chunk %s has no checksum file: the export is incomplete", v->pending_name);
		goto out;
	}
	if (v->in_member || !v->ended) {
		fault(v, e, "the tar stream ends without its end-of-archive blocks: the export is incomplete");
		goto out;
	}
	rc = 0;
out:
	if (stats)
		*stats = v->st;
	return rc;
}

int ct_xva_verify_file(const char *path, struct ct_xva_stats *stats, struct ct_err *e)
{
	struct ct_xva *v;
	unsigned char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

	if (fd < 0)
		return ct_err_set(e, CT_E_IO, "cannot open %s: %s", path, strerror(errno));
	v = ct_xva_new();
	buf = ct_xmalloc(1 << 20);
	for (;;) {
		ssize_t r = read(fd, buf, 1 << 20);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ct_err_set(e, CT_E_IO, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if (ct_xva_feed(v, buf, (size_t)r, e) < 0)
			goto out;
	}
	rc = ct_xva_finish(v, stats, e);
out:
	if (rc < 0 && stats)
		*stats = v->st;
	free(buf);
	ct_xva_free(v);
	close(fd);
	return rc;
}
