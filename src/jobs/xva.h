/* xva.h - verify an XVA (a VM export of xapi) as a stream: the tar is complete and every disk
 * chunk "Ref:N/00000000" (8 decimal digits) matches the checksum file that follows it: ".checksum" (SHA-1 in hex,
 * older xapi) or ".xxhash" (XXH64 as 16 hex digits, newer xapi; xen-api stream_vdi.ml).
 * gzip and zstd compressed exports are recognised by their magic bytes and decompressed on
 * the fly. Used by the backup while it writes an export, and by `chaintop verify`.
 * A struct ct_xva is used by one thread at a time. */
#ifndef CT_XVA_H
#define CT_XVA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct ct_xva;

struct ct_xva_stats {
	int64_t stream_bytes;      /* bytes fed (compressed size) */
	int64_t tar_bytes;         /* bytes of the tar stream (decompressed) */
	int n_chunks;              /* disk chunks checked */
	int n_sha1, n_xxhash;      /* of which with a .checksum / .xxhash file */
	int n_disks;               /* distinct Ref:N directories */
	const char *compression;   /* "none", "gzip", "zstd"; static */
};

/* Returns owned; free with ct_xva_free. */
struct ct_xva *ct_xva_new(void);
void ct_xva_free(struct ct_xva *v);
/* Feed the next bytes of the export as received. -1 at the first fault (e says which chunk
 * or which part of the stream, and at which offset); later calls fail the same way. */
int ct_xva_feed(struct ct_xva *v, const void *buf, size_t n, struct ct_err *e);
/* After the last byte: -1 when the stream is incomplete (no end-of-archive blocks, a chunk
 * without its checksum, a compressed frame cut short, no ova.xml). stats may be NULL. */
int ct_xva_finish(struct ct_xva *v, struct ct_xva_stats *stats, struct ct_err *e);
/* Verify a file; stats may be NULL. */
int ct_xva_verify_file(const char *path, struct ct_xva_stats *stats, struct ct_err *e);

#endif
