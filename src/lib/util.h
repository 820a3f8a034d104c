/* util.h - allocation, small containers and time helpers shared by every module.
 *
 * The x* allocators never return NULL: on exhaustion they leave curses (through the hook
 * set with ct_set_fatal_hook), print what failed and exit(70). Zero-size requests are
 * rounded up to one byte. All free functions accept NULL. */
#ifndef CT_UTIL_H
#define CT_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/err.h"

void *ct_xmalloc(size_t n);
void *ct_xcalloc(size_t n, size_t size);
void *ct_xrealloc(void *p, size_t n);
char *ct_xstrdup(const char *s);              /* NULL in, NULL out */
char *ct_xstrndup(const char *s, size_t n);
char *ct_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Called before the process exits on a fatal error (the console restores the terminal). */
void ct_set_fatal_hook(void (*hook)(void));
void ct_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Growable NUL-terminated string. buf is never NULL after ct_sb_init; after ct_sb_detach it
 * is NULL until the next add (release is then optional). */
struct ct_sb {
	char *buf;
	size_t len, cap;
};
void ct_sb_init(struct ct_sb *sb);
void ct_sb_release(struct ct_sb *sb);
void ct_sb_add(struct ct_sb *sb, const char *s, size_t n);
void ct_sb_adds(struct ct_sb *sb, const char *s);
void ct_sb_addf(struct ct_sb *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *ct_sb_detach(struct ct_sb *sb);         /* caller owns the result; sb is left empty */

/* String map (XAPI maps such as sm_config, other_config). Keys and values owned. */
struct ct_map {
	size_t n, cap;
	char **k, **v;
};
void ct_map_release(struct ct_map *m);
void ct_map_set(struct ct_map *m, const char *k, const char *v);   /* copies both */
const char *ct_map_get(const struct ct_map *m, const char *k);      /* NULL if absent */
void ct_map_copy(struct ct_map *dst, const struct ct_map *src);     /* dst must be empty */

/* String set (XAPI sets of refs or strings). Items owned. */
struct ct_strset {
	size_t n, cap;
	char **v;
};
void ct_strset_release(struct ct_strset *s);
void ct_strset_add(struct ct_strset *s, const char *v);             /* copies */
bool ct_strset_has(const struct ct_strset *s, const char *v);
void ct_strset_copy(struct ct_strset *dst, const struct ct_strset *src);

/* Durations as written in the configuration and on the command line: "90", "30s", "15m",
 * "2h", "14d", "1w". Returns 0 and sets *secs, or -1 on a malformed value. */
int ct_parse_duration(const char *s, long long *secs);
/* The same, but every number must carry its unit (s, m, h, d or w): a bare "3" returns -2
 * (it would mean 3 seconds, never what someone who types it for an age means). */
int ct_parse_duration_unit(const char *s, long long *secs);
/* "2h", "14d 3h", "45s": compact human form of a number of seconds into buf. */
void ct_format_duration(long long secs, char *buf, size_t len);
/* "10.0 GiB" style into buf. */
void ct_format_bytes(long long bytes, char *buf, size_t len);

/* XAPI datetimes: "20250319T04:16:24Z", with dashes or without, with "Z", "+hh:mm"/"-hh:mm"
 * or no zone (UTC). Returns 0 and sets *t, -1 if malformed. The epoch means "unset". */
int ct_parse_xapi_time(const char *s, time_t *t);
/* UTC "%Y%m%dT%H:%M:%SZ" (the form XAPI and chaintop tags use) into buf (>= 20 bytes). */
void ct_format_xapi_time(time_t t, char *buf, size_t len);

/* "2026-11-25 22:04:24" in local time into buf, or "-" for an unset time (<= 0). */
void ct_format_local_time(time_t t, char *buf, size_t len);

/* mkdir -p with this mode for each missing component. Returns 0, or -1 with errno set
 * (the caller says which directory and what to do). */
int ct_mkdir_p(const char *dir, unsigned int mode);

/* The state directory (job history, locks, stall memory): missing components are created
 * 0700 whatever the umask; an existing directory that group or others can write, or that
 * belongs to another user (root excepted), is refused with a message saying what to do.
 * Returns 0, or -1 with e filled (CT_E_CONFIG when refused, CT_E_IO when it cannot be
 * created). */
int ct_state_dir_ready(const char *dir, struct ct_err *e);

/* Open a file of the state directory for writing: never through a symbolic link
 * (O_NOFOLLOW), close-on-exec, mode 0600 whatever the umask (an existing file of ours is
 * set to 0600). flags: O_CREAT, O_EXCL, O_TRUNC, O_RDWR... as for open(2); O_WRONLY is
 * used when neither O_RDWR nor O_WRONLY is given. Returns the descriptor, or -1 with errno
 * set (ELOOP for a symbolic link). */
int ct_open_private(const char *path, int flags);

/* Short uuid for messages: the first 8 characters. Returns a pointer into a static-free
 * caller buffer of at least 9 bytes. */
const char *ct_short_uuid(const char *uuid, char buf[9]);

/* Copy src into dst (size len) replacing control characters and invalid UTF-8 with escapes
 * (\x1b, \n, ...) so untrusted XAPI text can be printed to a terminal or a log. Always
 * NUL-terminates; cuts on a character boundary. Returns dst. */
char *ct_sanitize(const char *src, char *dst, size_t len);

/* Shell-style glob match (fnmatch without flags). */
bool ct_glob_match(const char *pattern, const char *s);

/* Monotonic clock in milliseconds. */
int64_t ct_now_ms(void);

#endif
