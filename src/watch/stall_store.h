/* stall_store.h - the engine's coalesce stall memory (struct ct_stall, engine/chain.h) kept
 * across runs as JSON in the state directory, so a `check` from cron can tell "GC stalled
 * since 03:10" from one look. The engine judges; this file is where that memory touches disk.
 * Written to a temporary file in the same directory, then renamed: a crash leaves the old
 * file or the new one, never half of one. */
#ifndef CT_STALL_STORE_H
#define CT_STALL_STORE_H

#include "engine/chain.h"
#include "lib/err.h"

int ct_stall_load(struct ct_stall *s, const char *path, struct ct_err *e);  /* missing = empty */
int ct_stall_save(const struct ct_stall *s, const char *path, struct ct_err *e);

#endif
