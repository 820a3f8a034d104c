/* confedit.h - careful textual edits of the configuration file: what the console writes when
 * the operator decides something that belongs in the file (trusting a pool's certificate).
 *
 * The file is edited as text, never re-serialised: its comments, layout and mode stay. The
 * new text is checked by loading it before it replaces the file (a temporary file in the same
 * directory, then rename), and an edit whose place cannot be found unambiguously is refused. */
#ifndef CT_CONFEDIT_H
#define CT_CONFEDIT_H

#include "lib/err.h"

/* The text of the pools entry named pool with tls.fingerprint = fingerprint added: into the
 * entry's tls group when it has one, else as a new `tls = { fingerprint = "..."; };`, on its
 * own line (with the entry's indentation) or, for an entry written on one line, before its
 * closing brace. Refuses (CT_E_CONFIG) when no entry or more than one has that name, or the
 * entry has a fingerprint already. Returns an owned string, or NULL with e set. */
char *ct_confedit_pin_text(const char *text, const char *pool, const char *fingerprint,
			   struct ct_err *e);

/* Apply ct_confedit_pin_text to the file at path (a symlink is followed: the file it names is
 * replaced), after checking that the new text loads and gives the pool that pin. The file's
 * mode is kept. Returns 0 or -1 with e set; on failure the file is unchanged. */
int ct_confedit_pin_file(const char *path, const char *pool, const char *fingerprint,
			 struct ct_err *e);

#endif
