/* util.c - allocation, small containers, durations, times, sanitising. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void (*fatal_hook)(void);

void ct_set_fatal_hook(void (*hook)(void))
{
	fatal_hook = hook;
}

void ct_fatal(const char *fmt, ...)
{
	va_list ap;

	if (fatal_hook)
		fatal_hook();
	fputs("chaintop: fatal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(70);
}

void *ct_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		ct_fatal("out of memory allocating %zu bytes", n);
	return p;
}

void *ct_xcalloc(size_t n, size_t size)
{
	void *p;

	if (n == 0 || size == 0)
		n = size = 1;
	p = calloc(n, size);
	if (!p)
		ct_fatal("out of memory allocating %zu x %zu bytes", n, size);
	return p;
}

void *ct_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		ct_fatal("out of memory allocating %zu bytes", n);
	return q;
}

char *ct_xstrdup(const char *s)
{
	return s ? ct_xstrndup(s, strlen(s)) : NULL;
}

char *ct_xstrndup(const char *s, size_t n)
{
	char *p;
	size_t len;

	if (!s)
		return NULL;
	len = strnlen(s, n);
	p = ct_xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *ct_xasprintf(const char *fmt, ...)
{
	struct ct_sb sb;
	va_list ap;
	int n;

	ct_sb_init(&sb);
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		ct_fatal("bad format string '%s'", fmt);
	sb.buf = ct_xrealloc(sb.buf, (size_t)n + 1);
	sb.cap = (size_t)n + 1;
	va_start(ap, fmt);
	vsnprintf(sb.buf, sb.cap, fmt, ap);
	va_end(ap);
	return sb.buf;
}

/* --- string builder --- */

void ct_sb_init(struct ct_sb *sb)
{
	sb->cap = 64;
	sb->len = 0;
	sb->buf = ct_xmalloc(sb->cap);
	sb->buf[0] = '\0';
}

void ct_sb_release(struct ct_sb *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->cap = 0;
}

static void sb_grow(struct ct_sb *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;

	if (need <= sb->cap)
		return;
	if (sb->cap == 0)
		sb->cap = 64;   /* detached: grow from nothing */
	while (sb->cap < need)
		sb->cap *= 2;
	sb->buf = ct_xrealloc(sb->buf, sb->cap);
}

void ct_sb_add(struct ct_sb *sb, const char *s, size_t n)
{
	sb_grow(sb, n);
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void ct_sb_adds(struct ct_sb *sb, const char *s)
{
	ct_sb_add(sb, s, strlen(s));
}

void ct_sb_addf(struct ct_sb *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	sb_grow(sb, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

char *ct_sb_detach(struct ct_sb *sb)
{
	char *s = sb->buf;

	/* Left empty without a buffer, so a detach needs no release (a later add allocates). */
	sb->buf = NULL;
	sb->len = sb->cap = 0;
	return s ? s : ct_xstrdup("");
}

/* --- map and set --- */

void ct_map_release(struct ct_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->k[i]);
		free(m->v[i]);
	}
	free(m->k);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

void ct_map_set(struct ct_map *m, const char *k, const char *v)
{
	for (size_t i = 0; i < m->n; i++) {
		if (!strcmp(m->k[i], k)) {
			free(m->v[i]);
			m->v[i] = ct_xstrdup(v ? v : "");
			return;
		}
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 4;
		m->k = ct_xrealloc(m->k, m->cap * sizeof(*m->k));
		m->v = ct_xrealloc(m->v, m->cap * sizeof(*m->v));
	}
	m->k[m->n] = ct_xstrdup(k);
	m->v[m->n] = ct_xstrdup(v ? v : "");
	m->n++;
}

const char *ct_map_get(const struct ct_map *m, const char *k)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->k[i], k))
			return m->v[i];
	return NULL;
}

void ct_map_copy(struct ct_map *dst, const struct ct_map *src)
{
	for (size_t i = 0; i < src->n; i++)
		ct_map_set(dst, src->k[i], src->v[i]);
}

void ct_strset_release(struct ct_strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void ct_strset_add(struct ct_strset *s, const char *v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4;
		s->v = ct_xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = ct_xstrdup(v ? v : "");
}

bool ct_strset_has(const struct ct_strset *s, const char *v)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], v))
			return true;
	return false;
}

void ct_strset_copy(struct ct_strset *dst, const struct ct_strset *src)
{
	for (size_t i = 0; i < src->n; i++)
		ct_strset_add(dst, src->v[i]);
}

/* --- durations --- */

int ct_parse_duration_unit(const char *s, long long *secs)
{
	const char *p = s;

	if (ct_parse_duration(s, secs) < 0)
		return -1;
	/* each run of digits must be followed by a unit letter */
	while (*p) {
		if (isdigit((unsigned char)*p)) {
			while (isdigit((unsigned char)*p))
				p++;
			if (!*p || isspace((unsigned char)*p))
				return -2;
		} else {
			p++;
		}
	}
	return 0;
}

int ct_parse_duration(const char *s, long long *secs)
{
	long long total = 0;
	bool any = false;

	if (!s)
		return -1;
	while (*s) {
		char *end;
		long long v, mult;

		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		if (!isdigit((unsigned char)*s))
			return -1;
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno || v < 0)
			return -1;
		switch (*end) {
		case '\0': case ' ': mult = 1; break;
		case 's': mult = 1; end++; break;
		case 'm': mult = 60; end++; break;
		case 'h': mult = 3600; end++; break;
		case 'd': mult = 86400; end++; break;
		case 'w': mult = 7 * 86400; end++; break;
		default: return -1;
		}
		if (v > (long long)(100LL * 365 * 86400) / mult)
			return -1;
		total += v * mult;
		any = true;
		s = end;
	}
	if (!any)
		return -1;
	*secs = total;
	return 0;
}

void ct_format_duration(long long secs, char *buf, size_t len)
{
	if (secs < 0)
		secs = 0;
	if (secs < 60)
		snprintf(buf, len, "%llds", secs);
	else if (secs < 3600)
		snprintf(buf, len, "%lldm", secs / 60);
	else if (secs < 86400)
		snprintf(buf, len, "%lldh%02lldm", secs / 3600, (secs % 3600) / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", secs / 86400, (secs % 86400) / 3600);
}

void ct_format_bytes(long long bytes, char *buf, size_t len)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)(bytes < 0 ? -bytes : bytes);
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%s%lld B", bytes < 0 ? "-" : "", bytes < 0 ? -bytes : bytes);
	else
		snprintf(buf, len, "%s%.1f %s", bytes < 0 ? "-" : "", v, units[u]);
}

/* --- XAPI datetimes --- */

static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return 0;
}

int ct_parse_xapi_time(const char *s, time_t *t)
{
	struct tm tm;
	int y, mo, d, h, mi, se, off = 0;
	const char *p = s;

	if (!s)
		return -1;
	while (isspace((unsigned char)*p))
		p++;
	if (digits(&p, 4, &y) < 0)
		return -1;
	if (*p == '-')
		p++;
	if (digits(&p, 2, &mo) < 0)
		return -1;
	if (*p == '-')
		p++;
	if (digits(&p, 2, &d) < 0)
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0 || *p++ != ':' ||
	    digits(&p, 2, &se) < 0)
		return -1;
	if (*p == '.')   /* fractional seconds: ignored */
		while (isdigit((unsigned char)*++p))
			;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om = 0;

		p++;
		if (digits(&p, 2, &oh) < 0)
			return -1;
		if (*p == ':')
			p++;
		if (isdigit((unsigned char)*p) && digits(&p, 2, &om) < 0)
			return -1;
		off = sign * (oh * 3600 + om * 60);
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*t = timegm(&tm) - off;
	return 0;
}

void ct_format_xapi_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y%m%dT%H:%M:%SZ", &tm);
}

void ct_format_local_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t <= 0 || !localtime_r(&t, &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

int ct_mkdir_p(const char *dir, unsigned int mode)
{
	char *p = ct_xstrdup(dir);

	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST) {
				int err = errno;

				free(p);
				errno = err;
				return -1;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return 0;
}

int ct_state_dir_ready(const char *dir, struct ct_err *e)
{
	char *p = ct_xstrdup(dir);
	struct stat st;
	int rc = -1;

	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0700) == 0) {
				/* the umask may have taken the owner's bits too */
				if (chmod(p, 0700) < 0) {
					ct_err_set(e, CT_E_IO, "cannot set the mode of the new directory "
						   "'%s': %s", p, strerror(errno));
					goto out;
				}
			} else if (errno != EEXIST) {
				ct_err_set(e, CT_E_IO, "cannot create the state directory '%s' (%s at "
					   "'%s'): set state_dir in the configuration to a writable place",
					   dir, strerror(errno), p);
				goto out;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		ct_err_set(e, CT_E_CONFIG, "the state directory '%s' is not a directory: set "
			   "state_dir in the configuration to a private directory", dir);
		goto out;
	}
	if (st.st_mode & 022) {
		ct_err_set(e, CT_E_CONFIG, "the state directory '%s' can be written by group or "
			   "others (mode %04o), so they could replace chaintop's job history, locks "
			   "and stall memory: chmod 700 '%s', or set state_dir to a private directory",
			   dir, (unsigned)(st.st_mode & 07777), dir);
		goto out;
	}
	if (st.st_uid != getuid() && st.st_uid != 0) {
		ct_err_set(e, CT_E_CONFIG, "the state directory '%s' belongs to another user (uid "
			   "%u): run chaintop as that user, or set state_dir to a directory of yours",
			   dir, (unsigned)st.st_uid);
		goto out;
	}
	rc = 0;
out:
	free(p);
	return rc;
}

int ct_open_private(const char *path, int flags)
{
	struct stat st;
	int fd;

	if (!(flags & (O_RDWR | O_WRONLY)))
		flags |= O_WRONLY;
	fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int err = EINVAL;   /* not a regular file (a FIFO, a device) */

		close(fd);
		errno = err;
		return -1;
	}
	if ((st.st_mode & 07777) != 0600 && st.st_uid == getuid() && fchmod(fd, 0600) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

const char *ct_short_uuid(const char *uuid, char buf[9])
{
	snprintf(buf, 9, "%s", uuid ? uuid : "");
	return buf;
}

/* --- sanitising untrusted text --- */

/* Length of a valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (s[0] == 0xe0 && s[1] < 0xa0)
			return 0;   /* overlong */
		if (s[0] == 0xed && s[1] >= 0xa0)
			return 0;   /* surrogates */
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if (s[0] == 0xf0 && s[1] < 0x90)
			return 0;
		if (s[0] == 0xf4 && s[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

/* The code point of a valid n-byte UTF-8 sequence. */
static uint32_t utf8_cp(const unsigned char *s, size_t n)
{
	switch (n) {
	case 2:
		return (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
	case 3:
		return (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	case 4:
		return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
		       (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
	default:
		return s[0];
	}
}

/* C1 controls, and characters that print nothing or change the direction of what follows
 * (Unicode format characters, line and paragraph separators): a name holding them could
 * pass for another one, or reorder the text after it on the operator's screen. */
static bool invisible_cp(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0xad || (c >= 0x600 && c <= 0x605) ||
	       c == 0x61c || c == 0x6dd || c == 0x70f || c == 0x180e ||
	       (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
	       (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x206f) || c == 0xfeff ||
	       (c >= 0xfff9 && c <= 0xfffb) || (c >= 0x1d173 && c <= 0x1d17a) ||
	       c == 0xe0001 || (c >= 0xe0020 && c <= 0xe007f);
}

char *ct_sanitize(const char *src, char *dst, size_t len)
{
	const unsigned char *s = (const unsigned char *)(src ? src : "");
	size_t o = 0;

	if (len == 0)
		return dst;
	while (*s) {
		char esc[16];
		size_t n = utf8_len(s), elen;
		const char *out;

		if (n == 1 && (*s < 0x20 || *s == 0x7f)) {
			switch (*s) {
			case '\n': out = "\\n"; break;
			case '\t': out = "\\t"; break;
			case '\r': out = "\\r"; break;
			default:
				snprintf(esc, sizeof(esc), "\\x%02x", *s);
				out = esc;
			}
			elen = strlen(out);
			n = 1;
		} else if (n == 0) {
			snprintf(esc, sizeof(esc), "\\x%02x", *s);
			out = esc;
			elen = strlen(out);
			n = 1;
		} else if (n > 1 && invisible_cp(utf8_cp(s, n))) {
			/* C1 controls can also act as escape introducers */
			uint32_t c = utf8_cp(s, n);

			snprintf(esc, sizeof(esc), c > 0xffff ? "\\U%08x" : "\\u%04x", (unsigned)c);
			out = esc;
			elen = strlen(out);
		} else {
			out = (const char *)s;
			elen = n;
		}
		if (o + elen >= len)
			break;
		memcpy(dst + o, out, elen);
		o += elen;
		s += n;
	}
	dst[o] = '\0';
	return dst;
}

bool ct_glob_match(const char *pattern, const char *s)
{
	return pattern && s && fnmatch(pattern, s, 0) == 0;
}

int64_t ct_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
