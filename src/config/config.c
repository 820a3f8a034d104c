/* config.c - chaintop's configuration: libconfig parsing, validation, password sources.
 *
 * Every setting is checked against the keys its block allows (a typo is an error that
 * suggests the closest known key), its type and its range. Errors read
 * "FILE:LINE: KEY: what is wrong; what is expected". Relative paths in the file
 * (password_file, ca_file, export_dir, state_dir) are taken from the file's directory;
 * "~/" is the home directory. Passwords are read at load time, held only in
 * ct_pool_conf.password and wiped on release; no message ever contains one. */
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "lib/util.h"

#define EXAMPLE_HINT "see chaintop.conf.example: conf/ in the source tree, " \
	"share/doc/chaintop/ under the install prefix"
#define MAX_CONFIG_BYTES (16 * 1024 * 1024)
#define MAX_PASSWORD_BYTES 4096

/* ---- defaults, release ---------------------------------------------------------------- */

static char *default_state_dir(void)
{
	const char *x = getenv("XDG_STATE_HOME");
	const char *home;

	if (x && x[0] == '/')
		return ct_xasprintf("%s/chaintop", x);
	home = getenv("HOME");
	if (!home || home[0] != '/') {
		struct passwd *pw = getpwuid(getuid());
		home = pw && pw->pw_dir ? pw->pw_dir : "/tmp";
	}
	return ct_xasprintf("%s/.local/state/chaintop", home);
}

void ct_config_init(struct ct_config *c)
{
	memset(c, 0, sizeof(*c));
	c->ui_bell = true;
	c->gate.tolerance = 1;
	c->gate.max_depth = 25;
	c->gate.min_free_percent = 10;
	c->gate.policy = CT_GATE_SKIP;
	c->gate.wait_timeout = 30 * 60;
	c->health.warn_depth = 20;
	c->health.crit_depth = 28;
	c->health.coalesce_warn = 10;
	c->health.crit_free_percent = 5;
	c->health.stale_after = 14 * 86400;
	c->health.stall_after = 6 * 3600;
	c->limits.reply_bytes = 1LL << 30;
	c->limits.reply_records = 500000;
	c->limits.stall_time = 20;
	c->limits.login_timeout = 10;
	c->state_dir = default_state_dir();
	c->serve.listen = ct_xstrdup(CT_SERVE_LISTEN);
	c->serve.notify_after = CT_SERVE_NOTIFY_AFTER;
}

static void wipe_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static void pool_release(struct ct_pool_conf *p)
{
	free(p->name);
	free(p->url);
	free(p->username);
	wipe_free(p->password);
	free(p->password_file);
	free(p->password_env);
	free(p->tls.ca_file);
	free(p->tls.fingerprint);
	for (int i = 0; i < p->n_srs; i++)
		free(p->srs[i].match);
	free(p->srs);
}

static void notify_release(struct ct_notify_conf *n)
{
	free(n->command);
	free(n->webhook);
	free(n->tls.ca_file);
	free(n->tls.fingerprint);
}

static void job_release(struct ct_job_conf *j)
{
	notify_release(&j->notify);
	free(j->name);
	free(j->pool);
	for (int i = 0; i < j->n_vms; i++)
		free(j->vms[i]);
	free(j->vms);
	free(j->export_dir);
}

void ct_config_release(struct ct_config *c)
{
	if (!c)
		return;
	free(c->path);
	for (int i = 0; i < c->n_pools; i++)
		pool_release(&c->pools[i]);
	free(c->pools);
	for (int i = 0; i < c->n_jobs; i++)
		job_release(&c->jobs[i]);
	free(c->jobs);
	notify_release(&c->notify);
	free(c->state_dir);
	free(c->serve.listen);
	free(c->serve.tls_cert);
	free(c->serve.tls_key);
	free(c->serve.username);
	wipe_free(c->serve.secret);
	for (int i = 0; i < c->n_warnings; i++)
		free(c->warnings[i]);
	free(c->warnings);
	memset(c, 0, sizeof(*c));
}

/* ---- loader state and messages -------------------------------------------------------- */

struct ld {
	struct ct_config *c;
	const char *name;          /* file name for messages */
	char *dir;                 /* base of relative paths, NULL = as written */
	bool allow_prompt;
	bool file_shared;          /* the file is readable by group/others */
	struct ct_err *e;
};

static const char *src_file(const struct ld *L, const config_setting_t *s)
{
	const char *f = s ? config_setting_source_file(s) : NULL;
	return f ? f : L->name;
}

/* "FILE:LINE: KEY: message". Returns -1. */
static int fail(struct ld *L, const config_setting_t *s, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct ld *L, const config_setting_t *s, const char *key, const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ct_err_set(L->e, CT_E_CONFIG, "%s:%d: %s: %s", src_file(L, s),
			  s ? (int)config_setting_source_line(s) : 0, key, msg);
}

static void warn(struct ld *L, const config_setting_t *s, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void warn(struct ld *L, const config_setting_t *s, const char *key, const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	struct ct_config *c = L->c;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->warnings = ct_xrealloc(c->warnings, (size_t)(c->n_warnings + 1) * sizeof(*c->warnings));
	c->warnings[c->n_warnings++] = ct_xasprintf("%s:%d: %s: %s", src_file(L, s),
						    s ? (int)config_setting_source_line(s) : 0,
						    key, msg);
}

/* "prefix.key" (or "key" at the top). */
static void keypath(char *buf, size_t len, const char *prefix, const char *key)
{
	size_t n = 0;

	for (const char *p = prefix; p && *p && n + 1 < len; p++)
		buf[n++] = *p;
	if (prefix && *prefix && n + 1 < len)
		buf[n++] = '.';
	for (const char *p = key; *p && n + 1 < len; p++)
		buf[n++] = *p;
	buf[n] = '\0';
}

static const char *type_name(int t)
{
	switch (t) {
	case CONFIG_TYPE_GROUP: return "a group { ... }";
	case CONFIG_TYPE_INT: case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a decimal number";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array [ ... ]";
	case CONFIG_TYPE_LIST: return "a list ( ... )";
	}
	return "an empty value";
}

/* ---- unknown keys --------------------------------------------------------------------- */

static const char *const top_keys[] = {
	"pools", "gate", "health", "jobs", "state_dir", "limits", "notify", "serve", "ui", NULL
};
static const char *const serve_keys[] = { "listen", "tls_cert", "tls_key", "auth", "notify_after",
	NULL };
static const char *const auth_keys[] = {
	"type", "username", "token_file", "token_env", "password_file", "password_env", NULL
};
static const char *const ui_keys[] = { "bell", NULL };
static const char *const pool_keys[] = {
	"name", "url", "username", "password_file", "password_env", "password", "tls",
	"read_only", "prune_include_foreign", "srs", "tolerance", "max_depth", "min_free_percent",
	"warn_depth", "crit_depth", "coalesce_warn", "crit_free_percent", "limits", NULL
};
static const char *const limits_keys[] = {
	"reply_bytes", "reply_records", "stall_time", "login_timeout", NULL
};
static const char *const tls_keys[] = { "verify", "ca_file", "fingerprint", "allow_plain_http",
					NULL };
static const char *const sr_keys[] = {
	"match", "tolerance", "max_depth", "min_free_percent", "warn_depth", "crit_depth",
	"coalesce_warn", "crit_free_percent", "stall_after", NULL
};
static const char *const gate_keys[] = {
	"tolerance", "max_depth", "min_free_percent", "policy", "wait_timeout", NULL
};
static const char *const health_keys[] = {
	"warn_depth", "crit_depth", "coalesce_warn", "crit_free_percent", "stale_after",
	"stall_after", NULL
};
static const char *const job_keys[] = {
	"name", "pool", "vms", "mode", "retention", "export_dir", "compression", "gate", "notify",
	NULL
};
static const char *const notify_keys[] = { "command", "webhook", "on", "timeout", "tls", NULL };

/* Where a key that is misplaced belongs, for the hint. */
static const struct {
	const char *const *keys;
	const char *where;
} key_homes[] = {
	{ gate_keys, "the gate block (gate = { ... };) or a job's gate block" },
	{ health_keys, "the health block (health = { ... };)" },
	{ pool_keys, "a pool entry (pools = ( { ... } );)" },
	{ tls_keys, "a pool's tls block (tls = { ... };)" },
	{ limits_keys, "a limits block (limits = { ... };) at the top level or in a pool" },
	{ job_keys, "a job entry (jobs = ( { ... } );)" },
	{ notify_keys, "a notify block (notify = { ... };) at the top level or in a job" },
	{ serve_keys, "the serve block (serve = { listen = ...; };)" },
	{ auth_keys, "the serve block's auth block (auth = { type = ...; };)" },
	{ ui_keys, "the ui block (ui = { bell = false; };)" },
	{ top_keys, "the top level of the file" },
};

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[64];

	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static bool in_list(const char *const *keys, const char *k)
{
	for (; *keys; keys++)
		if (!strcmp(*keys, k))
			return true;
	return false;
}

static int check_keys(struct ld *L, const config_setting_t *grp, const char *prefix,
		      const char *const *known)
{
	int n = config_setting_length(grp);

	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
		const char *k = config_setting_name(s);
		const char *best = NULL;
		size_t bestd = SIZE_MAX;
		char path[256], list[512];
		size_t off = 0;

		if (!k || in_list(known, k))
			continue;
		keypath(path, sizeof(path), prefix, k);
		for (const char *const *p = known; *p; p++) {
			size_t d = edit_distance(k, *p);
			if (d < bestd) {
				bestd = d;
				best = *p;
			}
		}
		list[0] = '\0';
		for (const char *const *p = known; *p && off < sizeof(list); p++)
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
						p == known ? "" : ", ", *p);
		if (best && (bestd <= 2 || bestd * 3 <= strlen(k)))
			return fail(L, s, path, "unknown key '%s'; did you mean '%s'? (keys here: %s)",
				    k, best, list);
		for (size_t h = 0; h < sizeof(key_homes) / sizeof(key_homes[0]); h++)
			if (key_homes[h].keys != known && in_list(key_homes[h].keys, k))
				return fail(L, s, path, "unknown key '%s' here; it belongs in %s "
					    "(keys here: %s)", k, key_homes[h].where, list);
		return fail(L, s, path, "unknown key '%s' (keys here: %s)", k, list);
	}
	return 0;
}

/* ---- typed getters: 1 = set, 0 = absent, -1 = error ----------------------------------- */

static int get_int(struct ld *L, const config_setting_t *grp, const char *prefix,
		   const char *key, long long lo, long long hi, int *out)
{
	config_setting_t *s = config_setting_get_member(grp, key);
	char path[256];
	long long v;

	if (!s)
		return 0;
	keypath(path, sizeof(path), prefix, key);
	if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
		return fail(L, s, path, "found %s; expected an integer from %lld to %lld",
			    type_name(config_setting_type(s)), lo, hi);
	v = config_setting_get_int64(s);
	if (v < lo || v > hi)
		return fail(L, s, path, "%lld is out of range; expected an integer from %lld to %lld",
			    v, lo, hi);
	*out = (int)v;
	return 1;
}

static int get_bool(struct ld *L, const config_setting_t *grp, const char *prefix,
		    const char *key, bool *out)
{
	config_setting_t *s = config_setting_get_member(grp, key);
	char path[256];

	if (!s)
		return 0;
	keypath(path, sizeof(path), prefix, key);
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(L, s, path, "found %s; expected true or false (without quotes)",
			    type_name(config_setting_type(s)));
	*out = config_setting_get_bool(s) != 0;
	return 1;
}

/* Borrowed string (valid until the libconfig tree is destroyed). Empty strings refused. */
static int get_str(struct ld *L, const config_setting_t *grp, const char *prefix,
		   const char *key, const char *what, const char **out)
{
	config_setting_t *s = config_setting_get_member(grp, key);
	char path[256];
	const char *v;

	if (!s)
		return 0;
	keypath(path, sizeof(path), prefix, key);
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(L, s, path, "found %s; expected %s in double quotes",
			    type_name(config_setting_type(s)), what);
	v = config_setting_get_string(s);
	if (!v || !*v)
		return fail(L, s, path, "is empty; expected %s", what);
	*out = v;
	return 1;
}

/* One of names (NULL-terminated); *out its index. what: "mode"; expected: the choices as
 * written in messages ("\"snapshot\" or \"export\""). */
static int get_choice(struct ld *L, const config_setting_t *grp, const char *prefix,
		      const char *key, const char *const *names, const char *what,
		      const char *expected, int *out)
{
	const char *v;
	char path[256];
	int r = get_str(L, grp, prefix, key, expected, &v);

	if (r <= 0)
		return r;
	for (int i = 0; names[i]; i++) {
		if (!strcmp(v, names[i])) {
			*out = i;
			return 1;
		}
	}
	keypath(path, sizeof(path), prefix, key);
	return fail(L, config_setting_get_member(grp, key), path, "'%s' is not a %s; expected %s",
		    v, what, expected);
}

/* need_unit: a bare number is refused (for ages that decide what prune deletes, where "3"
 * would mean 3 seconds). */
static int get_duration(struct ld *L, const config_setting_t *grp, const char *prefix,
			const char *key, long long lo, long long hi, bool need_unit, long long *out)
{
	config_setting_t *s = config_setting_get_member(grp, key);
	char path[256], los[32], his[32];
	long long v;

	if (!s)
		return 0;
	keypath(path, sizeof(path), prefix, key);
	ct_format_duration(lo, los, sizeof(los));
	ct_format_duration(hi, his, sizeof(his));
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(s);
		if (need_unit)
			return fail(L, s, path, "%lld has no unit; write it in quotes with one, such "
				    "as \"%lldd\" for days or \"%llds\" for seconds (units: s, m, h, "
				    "d, w)", v, v, v);
		if (v < 0)
			return fail(L, s, path, "%lld is negative; expected a duration from %s to %s "
				    "(seconds, or \"30s\", \"15m\", \"2h\", \"14d\")", v, los, his);
		break;
	case CONFIG_TYPE_STRING:
		if (need_unit && ct_parse_duration_unit(config_setting_get_string(s), &v) == -2)
			return fail(L, s, path, "'%s' has no unit; write \"%sd\" for days or "
				    "\"%ss\" for seconds (units: s, m, h, d, w)",
				    config_setting_get_string(s), config_setting_get_string(s),
				    config_setting_get_string(s));
		if (ct_parse_duration(config_setting_get_string(s), &v) < 0)
			return fail(L, s, path, "'%s' is not a duration; expected seconds or a number "
				    "with a unit: \"30s\", \"15m\", \"2h\", \"14d\", \"1w\"",
				    config_setting_get_string(s));
		break;
	default:
		return fail(L, s, path, "found %s; expected a duration such as \"30m\" or a "
			    "number of seconds", type_name(config_setting_type(s)));
	}
	if (v < lo || v > hi) {
		char vs[32];
		ct_format_duration(v, vs, sizeof(vs));
		return fail(L, s, path, "%s is out of range; expected a duration from %s to %s",
			    vs, los, his);
	}
	*out = v;
	return 1;
}

/* A size in bytes: an integer, or a string with a binary unit ("512M", "2 GiB"). */
static int parse_size(const char *s, long long *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	while (*s == ' ')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	while (*end == ' ')
		end++;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (shift && (*end == 'i' || *end == 'I'))
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || v > (1ULL << 50) || (v << shift) >> shift != v)
		return -1;
	*out = (long long)(v << shift);
	return 0;
}

static int get_size(struct ld *L, const config_setting_t *grp, const char *prefix,
		    const char *key, long long lo, long long hi, long long *out)
{
	config_setting_t *s = config_setting_get_member(grp, key);
	char path[256], los[32], his[32], vs[32];
	long long v;

	if (!s)
		return 0;
	keypath(path, sizeof(path), prefix, key);
	ct_format_bytes(lo, los, sizeof(los));
	ct_format_bytes(hi, his, sizeof(his));
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_STRING:
		if (parse_size(config_setting_get_string(s), &v) < 0)
			return fail(L, s, path, "'%s' is not a size; expected bytes or a number with "
				    "a unit: \"512M\", \"2G\"", config_setting_get_string(s));
		break;
	default:
		return fail(L, s, path, "found %s; expected a size such as \"1G\" or a number of "
			    "bytes", type_name(config_setting_type(s)));
	}
	if (v < lo || v > hi) {
		ct_format_bytes(v, vs, sizeof(vs));
		return fail(L, s, path, "%s is out of range; expected a size from %s to %s", vs,
			    los, his);
	}
	*out = v;
	return 1;
}

/* Required group member of a given libconfig type (GROUP, LIST). */
static int get_block(struct ld *L, const config_setting_t *grp, const char *prefix,
		     const char *key, int type, const char *example, config_setting_t **out)
{
	config_setting_t *s = config_setting_get_member(grp, key);
	char path[256];

	*out = NULL;
	if (!s)
		return 0;
	keypath(path, sizeof(path), prefix, key);
	if (config_setting_type(s) != type)
		return fail(L, s, path, "found %s; expected %s, as in %s",
			    type_name(config_setting_type(s)), type_name(type), example);
	*out = s;
	return 1;
}

/* ---- paths ---------------------------------------------------------------------------- */

static char *resolve_path(const struct ld *L, const char *p)
{
	if (p[0] == '~' && (p[1] == '/' || !p[1])) {
		const char *home = getenv("HOME");
		if (!home || !*home) {
			struct passwd *pw = getpwuid(getuid());
			home = pw && pw->pw_dir ? pw->pw_dir : "";
		}
		return ct_xasprintf("%s%s", home, p + 1);
	}
	if (p[0] != '/' && L->dir)
		return ct_xasprintf("%s/%s", L->dir, p);
	return ct_xstrdup(p);
}

/* ---- limits shared by gate, health, pools and SR overrides ---------------------------- */

#define R_TOLERANCE 0, 10
#define R_MAX_DEPTH 2, 30
#define R_PERCENT 0, 99
#define R_DEPTH 1, 30
#define R_COALESCE 1, 1000000

static int get_policy(struct ld *L, const config_setting_t *grp, const char *prefix,
		      enum ct_gate_policy *out)
{
	const char *v = NULL;
	char path[256];
	int r = get_str(L, grp, prefix, "policy", "\"skip\" or \"wait\"", &v);

	if (r <= 0)
		return r;
	if (!strcmp(v, "skip"))
		*out = CT_GATE_SKIP;
	else if (!strcmp(v, "wait"))
		*out = CT_GATE_WAIT;
	else {
		keypath(path, sizeof(path), prefix, "policy");
		return fail(L, config_setting_get_member(grp, "policy"), path,
			    "'%s' is not a policy; expected \"skip\" (refuse and move on) or "
			    "\"wait\" (wait until the chain is healthy)", v);
	}
	return 1;
}

/* Gate block keys over *g; *any set when one was given. */
static int parse_gate(struct ld *L, const config_setting_t *grp, const char *prefix,
		      struct ct_gate_conf *g, bool *any)
{
	int r[5];

	if (check_keys(L, grp, prefix, gate_keys) < 0)
		return -1;
	if ((r[0] = get_int(L, grp, prefix, "tolerance", R_TOLERANCE, &g->tolerance)) < 0 ||
	    (r[1] = get_int(L, grp, prefix, "max_depth", R_MAX_DEPTH, &g->max_depth)) < 0 ||
	    (r[2] = get_int(L, grp, prefix, "min_free_percent", R_PERCENT,
			    &g->min_free_percent)) < 0 ||
	    (r[3] = get_policy(L, grp, prefix, &g->policy)) < 0 ||
	    (r[4] = get_duration(L, grp, prefix, "wait_timeout", 1, 30LL * 86400, false,
				 &g->wait_timeout)) < 0)
		return -1;
	if (any)
		*any = r[0] || r[1] || r[2] || r[3] || r[4];
	return 0;
}

static int check_depths(struct ld *L, const config_setting_t *grp, const char *prefix,
			int warn_depth, int crit_depth)
{
	const config_setting_t *at = config_setting_get_member(grp, "warn_depth");
	char path[256];

	if (warn_depth <= crit_depth)
		return 0;
	if (!at)
		at = config_setting_get_member(grp, "crit_depth");
	keypath(path, sizeof(path), prefix, "warn_depth");
	return fail(L, at ? at : grp, path, "warn_depth %d is above crit_depth %d; expected "
		    "warn_depth at most crit_depth", warn_depth, crit_depth);
}

static int parse_health(struct ld *L, const config_setting_t *grp)
{
	struct ct_health_conf *h = &L->c->health;

	if (check_keys(L, grp, "health", health_keys) < 0 ||
	    get_int(L, grp, "health", "warn_depth", R_DEPTH, &h->warn_depth) < 0 ||
	    get_int(L, grp, "health", "crit_depth", R_DEPTH, &h->crit_depth) < 0 ||
	    get_int(L, grp, "health", "coalesce_warn", R_COALESCE, &h->coalesce_warn) < 0 ||
	    get_int(L, grp, "health", "crit_free_percent", R_PERCENT, &h->crit_free_percent) < 0 ||
	    get_duration(L, grp, "health", "stale_after", 1, 3650LL * 86400, true, &h->stale_after) < 0 ||
	    get_duration(L, grp, "health", "stall_after", 1, 365LL * 86400, false, &h->stall_after) < 0)
		return -1;
	return check_depths(L, grp, "health", h->warn_depth, h->crit_depth);
}

/* Limit overrides of a pool or an SR (fields preset to -1 = inherit). */
struct limits {
	int *tolerance, *max_depth, *min_free_percent;
	int *warn_depth, *crit_depth, *coalesce_warn, *crit_free_percent;
};

static int parse_limits(struct ld *L, const config_setting_t *grp, const char *prefix,
			const struct limits *l)
{
	return get_int(L, grp, prefix, "tolerance", R_TOLERANCE, l->tolerance) < 0 ||
	       get_int(L, grp, prefix, "max_depth", R_MAX_DEPTH, l->max_depth) < 0 ||
	       get_int(L, grp, prefix, "min_free_percent", R_PERCENT, l->min_free_percent) < 0 ||
	       get_int(L, grp, prefix, "warn_depth", R_DEPTH, l->warn_depth) < 0 ||
	       get_int(L, grp, prefix, "crit_depth", R_DEPTH, l->crit_depth) < 0 ||
	       get_int(L, grp, prefix, "coalesce_warn", R_COALESCE, l->coalesce_warn) < 0 ||
	       get_int(L, grp, prefix, "crit_free_percent", R_PERCENT, l->crit_free_percent) < 0
		       ? -1 : 0;
}

/* limits = { ... }: over the values already in l (the defaults, or the global block). */
static int parse_net_limits(struct ld *L, const config_setting_t *parent, const char *prefix,
			    struct ct_limits_conf *l)
{
	config_setting_t *g;
	char pre[160];
	int r = get_block(L, parent, prefix, "limits", CONFIG_TYPE_GROUP,
			  "limits = { reply_bytes = \"1G\"; reply_records = 500000; };", &g);

	if (r <= 0)
		return r;
	keypath(pre, sizeof(pre), prefix, "limits");
	if (check_keys(L, g, pre, limits_keys) < 0 ||
	    get_size(L, g, pre, "reply_bytes", 4096, 1LL << 40, &l->reply_bytes) < 0 ||
	    get_duration(L, g, pre, "stall_time", 1, 3600, false, &l->stall_time) < 0 ||
	    get_duration(L, g, pre, "login_timeout", 1, 3600, false, &l->login_timeout) < 0)
		return -1;
	{
		int rec = -1;

		if (get_int(L, g, pre, "reply_records", 1, 1000000000, &rec) < 0)
			return -1;
		if (rec > 0)
			l->reply_records = rec;
	}
	return 0;
}

static int pick(int over, int base)
{
	return over >= 0 ? over : base;
}

/* ---- names ---------------------------------------------------------------------------- */

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
			return false;
	}
	return true;
}

static int get_name(struct ld *L, const config_setting_t *grp, const char *prefix,
		    const char *what, const char **out)
{
	char path[256];
	int r = get_str(L, grp, prefix, "name", "a name", out);

	keypath(path, sizeof(path), prefix, "name");
	if (r < 0)
		return -1;
	if (r == 0)
		return fail(L, grp, path, "missing; every %s needs a name = \"...\";", what);
	if (!valid_name(*out))
		return fail(L, config_setting_get_member(grp, "name"), path,
			    "'%s' is not a valid %s name; expected 1 to 64 letters, digits, '-', "
			    "'_' or '.', starting with a letter or digit", *out, what);
	return 0;
}

/* "pools[2] ('lab')" when the entry has a usable name, else "pools[2]". */
static void named_prefix(char *buf, size_t len, const char *list, int idx,
			 const config_setting_t *g)
{
	const config_setting_t *n = config_setting_get_member(g, "name");
	const char *v = n && config_setting_type(n) == CONFIG_TYPE_STRING ?
		config_setting_get_string(n) : NULL;

	if (v && valid_name(v))
		snprintf(buf, len, "%s[%d] ('%s')", list, idx, v);
	else
		snprintf(buf, len, "%s[%d]", list, idx);
}

/* ---- passwords ------------------------------------------------------------------------ */

static int read_password_file(struct ld *L, const config_setting_t *s, const char *key,
			      const char *path, char **out)
{
	char buf[MAX_PASSWORD_BYTES + 2];
	struct stat st;
	ssize_t got;
	size_t n = 0;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return fail(L, s, key, "cannot open '%s' (%s); expected a file holding the password "
			    "on one line, readable only by you (chmod 600)", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		fail(L, s, key, "cannot stat '%s' (%s)", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(L, s, key, "'%s' is not a regular file; expected a file holding the password",
		     path);
		goto out;
	}
	if (st.st_mode & 077) {
		fail(L, s, key, "'%s' can be accessed by group or others (mode %04o), so the "
		     "password is not private; refused, as ssh refuses such key files. Run: "
		     "chmod 600 '%s'", path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	while (n < sizeof(buf)) {
		got = read(fd, buf + n, sizeof(buf) - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			fail(L, s, key, "cannot read '%s' (%s)", path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > MAX_PASSWORD_BYTES) {
		fail(L, s, key, "'%s' is larger than %d bytes; expected the password on one line",
		     path, MAX_PASSWORD_BYTES);
		goto out;
	}
	if (n > 0 && buf[n - 1] == '\n') {
		n--;
		if (n > 0 && buf[n - 1] == '\r')
			n--;
	}
	if (n == 0) {
		fail(L, s, key, "'%s' is empty; expected the password on one line", path);
		goto out;
	}
	if (memchr(buf, '\n', n) || memchr(buf, '\0', n)) {
		fail(L, s, key, "'%s' holds more than one line; expected only the password",
		     path);
		goto out;
	}
	*out = ct_xstrndup(buf, n);
	rc = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

static int parse_password(struct ld *L, const config_setting_t *grp, const char *prefix,
			  struct ct_pool_conf *p)
{
	static const char *const srcs[] = { "password_file", "password_env", "password" };
	config_setting_t *set[3];
	const char *v;
	char path[256];
	int nset = 0;

	int first = -1, later = -1;

	for (int i = 0; i < 3; i++) {
		set[i] = config_setting_get_member(grp, srcs[i]);
		if (!set[i])
			continue;
		nset++;
		if (first < 0 || config_setting_source_line(set[i]) <
				 config_setting_source_line(set[first])) {
			later = first;
			first = i;
		} else if (later < 0 || config_setting_source_line(set[i]) >=
					config_setting_source_line(set[later])) {
			later = i;
		}
	}
	if (nset > 1) {
		keypath(path, sizeof(path), prefix, srcs[later]);
		return fail(L, set[later], path, "pool '%s' already has %s; expected exactly one "
			    "of password_file, password_env or password", p->name, srcs[first]);
	}
	if (set[0]) {
		keypath(path, sizeof(path), prefix, "password_file");
		if (get_str(L, grp, prefix, "password_file", "a file path", &v) < 0)
			return -1;
		p->password_file = resolve_path(L, v);
		return read_password_file(L, set[0], path, p->password_file, &p->password);
	}
	if (set[1]) {
		const char *val;
		keypath(path, sizeof(path), prefix, "password_env");
		if (get_str(L, grp, prefix, "password_env", "an environment variable name", &v) < 0)
			return -1;
		p->password_env = ct_xstrdup(v);
		val = getenv(v);
		if (val && *val) {
			p->password = ct_xstrdup(val);
			return 0;
		}
		if (L->allow_prompt) {
			warn(L, set[1], path, "the environment variable %s is not set; the console "
			     "asks for the password of pool '%s'", v, p->name);
			return 0;
		}
		return fail(L, set[1], path, "the environment variable %s is not set or empty; "
			    "export it before running chaintop, or use password_file", v);
	}
	if (set[2]) {
		keypath(path, sizeof(path), prefix, "password");
		if (get_str(L, grp, prefix, "password", "the password", &v) < 0)
			return -1;
		p->password = ct_xstrdup(v);
		/* Wipe libconfig's copy now; the tree is destroyed after parsing. */
		explicit_bzero((char *)v, strlen(v));
		warn(L, set[2], path, "pool '%s' has its password written in the configuration%s; "
		     "move it to a password_file readable only by you (chmod 600) or to "
		     "password_env", p->name,
		     L->file_shared ? ", which group or others can read" : "");
		return 0;
	}
	if (L->allow_prompt)
		return 0;
	keypath(path, sizeof(path), prefix, "password_file");
	return fail(L, grp, path, "pool '%s' has no password source; expected password_file = "
		    "\"/path\" (a file only you can read) or password_env = \"VARIABLE\"", p->name);
}

/* ---- pools ---------------------------------------------------------------------------- */

/* "sha256:AB:CD:..." from "sha256:ab:cd..", "AB:CD..", "abcd..", "SHA256 Fingerprint=AB:..". */
static char *normalise_fingerprint(const char *s)
{
	unsigned char b[32];
	int n = 0, hi = -1;
	const char *eq = strchr(s, '=');
	struct ct_sb sb;

	if (eq)
		s = eq + 1;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!strncasecmp(s, "sha256:", 7))
		s += 7;
	for (; *s; s++) {
		int v;
		char ch = *s;
		if (ch == ':' || ch == ' ' || ch == '\t')
			continue;
		if (ch >= '0' && ch <= '9')
			v = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			v = ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			v = ch - 'A' + 10;
		else
			return NULL;
		if (n >= 32)
			return NULL;
		if (hi < 0) {
			hi = v;
		} else {
			b[n++] = (unsigned char)(hi << 4 | v);
			hi = -1;
		}
	}
	if (n != 32 || hi >= 0)
		return NULL;
	ct_sb_init(&sb);
	ct_sb_adds(&sb, "sha256:");
	for (int i = 0; i < 32; i++)
		ct_sb_addf(&sb, i ? ":%02X" : "%02X", b[i]);
	char *out = ct_sb_detach(&sb);
	ct_sb_release(&sb);
	return out;
}

/* what: "pool 'lab'", "the webhook of job 'nightly'" */
static int parse_tls(struct ld *L, const config_setting_t *grp, const char *prefix,
		     struct ct_tls_conf *tls, const char *what)
{
	const char *v;
	char path[256];
	int r;

	if (check_keys(L, grp, prefix, tls_keys) < 0)
		return -1;
	r = get_bool(L, grp, prefix, "verify", &tls->verify);
	if (r < 0)
		return -1;
	if (r > 0 && !tls->verify) {
		keypath(path, sizeof(path), prefix, "verify");
		warn(L, config_setting_get_member(grp, "verify"), path, "TLS certificate checks "
		     "are off for %s: anyone between you and %s can read %s; pin the certificate "
		     "with fingerprint = \"sha256:...\" instead", what,
		     strncmp(what, "pool ", 5) ? "it" : "the pool",
		     strncmp(what, "pool ", 5) ? "the reports" : "the password");
	}
	r = get_bool(L, grp, prefix, "allow_plain_http", &tls->allow_plain_http);
	if (r < 0)
		return -1;
	r = get_str(L, grp, prefix, "ca_file", "a file path", &v);
	if (r < 0)
		return -1;
	if (r > 0) {
		keypath(path, sizeof(path), prefix, "ca_file");
		tls->ca_file = resolve_path(L, v);
		if (access(tls->ca_file, R_OK) < 0)
			return fail(L, config_setting_get_member(grp, "ca_file"), path,
				    "cannot read '%s' (%s); expected a PEM file with the CA "
				    "certificate that signed the certificate of %s",
				    tls->ca_file, strerror(errno), what);
	}
	r = get_str(L, grp, prefix, "fingerprint", "a SHA-256 fingerprint", &v);
	if (r < 0)
		return -1;
	if (r > 0) {
		keypath(path, sizeof(path), prefix, "fingerprint");
		tls->fingerprint = normalise_fingerprint(v);
		if (!tls->fingerprint)
			return fail(L, config_setting_get_member(grp, "fingerprint"), path,
				    "'%s' is not a SHA-256 fingerprint; expected 32 bytes in hex as "
				    "openssl x509 -noout -fingerprint -sha256 prints them, e.g. "
				    "\"sha256:AB:CD:...\"", v);
	}
	return 0;
}

/* An http:// or https:// URL with a host; *plain when it is http://. expected, shape: what
 * the messages ask for instead. */
static int check_url(struct ld *L, const config_setting_t *s, const char *path, const char *v,
		     const char *expected, const char *shape, bool *plain)
{
	const char *host;

	if (!strncasecmp(v, "https://", 8))
		host = v + 8;
	else if (!strncasecmp(v, "http://", 7))
		host = v + 7;
	else
		return fail(L, s, path, "'%s' is not an http:// or https:// URL; expected %s", v,
			    expected);
	if (!*host || *host == '/' || *host == ':' || strpbrk(v, " \t\r\n"))
		return fail(L, s, path, "'%s' has no host name; expected %s", v, shape);
	*plain = host == v + 7;
	return 0;
}

static int parse_url(struct ld *L, const config_setting_t *grp, const char *prefix,
		     struct ct_pool_conf *p)
{
	const char *v;
	char path[256];
	config_setting_t *s = config_setting_get_member(grp, "url");
	int r = get_str(L, grp, prefix, "url", "https://HOST[:PORT]", &v);
	bool plain;   /* warned after the tls block, which may allow it */

	keypath(path, sizeof(path), prefix, "url");
	if (r < 0)
		return -1;
	if (r == 0)
		return fail(L, grp, path, "missing for pool '%s'; expected url = "
			    "\"https://POOL-MASTER\";", p->name);
	if (check_url(L, s, path, v, "\"https://POOL-MASTER\" (the pool master's address)",
		      "\"https://HOST[:PORT]\"", &plain) < 0)
		return -1;
	p->url = ct_xstrdup(v);
	return 0;
}

/* After the tls block: http:// is warned unless the pool's entry says it is meant (a lab
 * pool or a simulator on a trusted network: tls = { allow_plain_http = true; }). */
static void warn_plain_http(struct ld *L, const config_setting_t *grp, const char *prefix,
			    const struct ct_pool_conf *p)
{
	char path[256];

	if (strncasecmp(p->url, "http://", 7) || p->tls.allow_plain_http)
		return;
	keypath(path, sizeof(path), prefix, "url");
	warn(L, config_setting_get_member(grp, "url"), path, "pool '%s' uses http://, which "
	     "sends the password and all data unencrypted; use https:// (for a lab pool on a "
	     "trusted network, tls = { allow_plain_http = true; } in its entry silences this)",
	     p->name);
}

static int parse_srs(struct ld *L, const config_setting_t *list, const char *prefix,
		     struct ct_pool_conf *p)
{
	int n = config_setting_length(list);

	p->srs = ct_xcalloc((size_t)(n ? n : 1), sizeof(*p->srs));
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		struct ct_sr_override *o = &p->srs[i];
		char pre[256], path[300];
		const char *m;
		int r;

		snprintf(pre, sizeof(pre), "%s.srs[%d]", prefix, i);
		o->tolerance = o->max_depth = o->min_free_percent = -1;
		o->warn_depth = o->crit_depth = o->coalesce_warn = o->crit_free_percent = -1;
		o->stall_after = -1;
		p->n_srs = i + 1;
		if (config_setting_type(g) != CONFIG_TYPE_GROUP)
			return fail(L, g, pre, "found %s; expected a group such as "
				    "{ match = \"nfs-*\"; tolerance = 2; }",
				    type_name(config_setting_type(g)));
		if (check_keys(L, g, pre, sr_keys) < 0)
			return -1;
		r = get_str(L, g, pre, "match", "an SR name glob or SR uuid", &m);
		if (r < 0)
			return -1;
		if (r == 0) {
			keypath(path, sizeof(path), pre, "match");
			return fail(L, g, path, "missing; expected match = \"NAME-GLOB\" or the SR's "
				    "uuid");
		}
		o->match = ct_xstrdup(m);
		if (parse_limits(L, g, pre, &(struct limits){
				&o->tolerance, &o->max_depth, &o->min_free_percent, &o->warn_depth,
				&o->crit_depth, &o->coalesce_warn, &o->crit_free_percent }) < 0)
			return -1;
		if (get_duration(L, g, pre, "stall_after", 0, 365LL * 86400, false, &o->stall_after) < 0)
			return -1;
		if (check_depths(L, g, pre,
				 pick(o->warn_depth, pick(p->warn_depth, L->c->health.warn_depth)),
				 pick(o->crit_depth, pick(p->crit_depth, L->c->health.crit_depth))) < 0)
			return -1;
	}
	return 0;
}

static int parse_pool(struct ld *L, const config_setting_t *g, int idx, struct ct_pool_conf *p)
{
	char pre[128];
	const char *v;
	config_setting_t *b;
	int r;

	snprintf(pre, sizeof(pre), "pools[%d]", idx);
	p->tls.verify = true;
	p->tolerance = p->max_depth = p->min_free_percent = -1;
	p->warn_depth = p->crit_depth = p->coalesce_warn = p->crit_free_percent = -1;
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(L, g, pre, "found %s; expected a group such as { name = \"lab\"; "
			    "url = \"https://10.0.0.1\"; username = \"root\"; ... }",
			    type_name(config_setting_type(g)));
	named_prefix(pre, sizeof(pre), "pools", idx, g);
	if (check_keys(L, g, pre, pool_keys) < 0)
		return -1;
	snprintf(pre, sizeof(pre), "pools[%d]", idx);
	if (get_name(L, g, pre, "pool", &v) < 0)
		return -1;
	p->name = ct_xstrdup(v);
	for (int i = 0; i < idx; i++)
		if (!strcmp(L->c->pools[i].name, p->name))
			return fail(L, config_setting_get_member(g, "name"), pre, "pool name '%s' "
				    "is used twice; expected a unique name for each pool", p->name);
	snprintf(pre, sizeof(pre), "pools[%d] ('%s')", idx, p->name);
	if (parse_url(L, g, pre, p) < 0)
		return -1;
	r = get_str(L, g, pre, "username", "a user name", &v);
	if (r < 0)
		return -1;
	if (r == 0) {
		char path[128];
		keypath(path, sizeof(path), pre, "username");
		return fail(L, g, path, "missing for pool '%s'; expected username = \"root\"; (or "
			    "another user with a pool role)", p->name);
	}
	p->username = ct_xstrdup(v);
	if (get_bool(L, g, pre, "read_only", &p->read_only) < 0 ||
	    get_bool(L, g, pre, "prune_include_foreign", &p->prune_include_foreign) < 0)
		return -1;
	p->limits = L->c->limits;
	if (parse_net_limits(L, g, pre, &p->limits) < 0)
		return -1;
	if (parse_limits(L, g, pre, &(struct limits){
			&p->tolerance, &p->max_depth, &p->min_free_percent, &p->warn_depth,
			&p->crit_depth, &p->coalesce_warn, &p->crit_free_percent }) < 0)
		return -1;
	if (check_depths(L, g, pre, pick(p->warn_depth, L->c->health.warn_depth),
			 pick(p->crit_depth, L->c->health.crit_depth)) < 0)
		return -1;
	if (get_block(L, g, pre, "tls", CONFIG_TYPE_GROUP,
		      "tls = { verify = true; fingerprint = \"sha256:...\"; };", &b) < 0)
		return -1;
	if (b) {
		char tp[128], what[160];

		keypath(tp, sizeof(tp), pre, "tls");
		snprintf(what, sizeof(what), "pool '%s'", p->name);
		if (parse_tls(L, b, tp, &p->tls, what) < 0)
			return -1;
	}
	warn_plain_http(L, g, pre, p);
	if (get_block(L, g, pre, "srs", CONFIG_TYPE_LIST,
		      "srs = ( { match = \"nfs-*\"; tolerance = 2; } );", &b) < 0)
		return -1;
	if (b && parse_srs(L, b, pre, p) < 0)
		return -1;
	return parse_password(L, g, pre, p);
}

static int parse_pools(struct ld *L, const config_setting_t *list)
{
	struct ct_config *c = L->c;
	int n = config_setting_length(list);

	c->pools = ct_xcalloc((size_t)(n ? n : 1), sizeof(*c->pools));
	for (int i = 0; i < n; i++) {
		c->n_pools = i + 1;
		if (parse_pool(L, config_setting_get_elem(list, (unsigned)i), i, &c->pools[i]) < 0)
			return -1;
	}
	return 0;
}

/* ---- jobs ----------------------------------------------------------------------------- */

static int parse_vms(struct ld *L, const config_setting_t *g, const char *prefix,
		     struct ct_job_conf *j)
{
	config_setting_t *s = config_setting_get_member(g, "vms");
	char path[160];
	int n, t;

	keypath(path, sizeof(path), prefix, "vms");
	if (!s)
		return fail(L, g, path, "missing for job '%s'; expected a list of VM selectors "
			    "such as vms = [ \"web-*\", \"tag:nightly\", \"UUID\" ];", j->name);
	t = config_setting_type(s);
	if (t == CONFIG_TYPE_STRING) {
		j->vms = ct_xcalloc(1, sizeof(*j->vms));
		j->vms[0] = ct_xstrdup(config_setting_get_string(s));
		j->n_vms = 1;
	} else if (t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST) {
		n = config_setting_length(s);
		if (n == 0)
			return fail(L, s, path, "is empty; expected at least one VM selector (a name "
				    "glob, a VM uuid or \"tag:NAME\")");
		j->vms = ct_xcalloc((size_t)n, sizeof(*j->vms));
		for (int i = 0; i < n; i++) {
			config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			if (config_setting_type(e) != CONFIG_TYPE_STRING)
				return fail(L, e, path, "element %d is %s; expected strings: a name "
					    "glob, a VM uuid or \"tag:NAME\"", i + 1,
					    type_name(config_setting_type(e)));
			j->vms[i] = ct_xstrdup(config_setting_get_string(e));
			j->n_vms = i + 1;
		}
	} else {
		return fail(L, s, path, "found %s; expected a list of VM selectors such as "
			    "[ \"web-*\", \"tag:nightly\" ]", type_name(t));
	}
	for (int i = 0; i < j->n_vms; i++) {
		const char *v = j->vms[i];
		if (!*v || (!strncmp(v, "tag:", 4) && !v[4]))
			return fail(L, s, path, "selector %d is empty; expected a name glob, a VM "
				    "uuid or \"tag:NAME\"", i + 1);
	}
	return 0;
}

/* ---- notify ---------------------------------------------------------------------------- */

/* what: "job 'nightly'" or "every job" (for messages). */
static int parse_notify(struct ld *L, const config_setting_t *grp, const char *prefix,
			struct ct_notify_conf *n, const char *what)
{
	const char *v;
	char path[256];
	config_setting_t *b;
	bool plain;   /* warned after the tls block, which may allow it */
	int r;

	n->set = true;
	n->on = CT_NOTIFY_FAILURE;
	n->timeout = 60;
	n->tls.verify = true;
	if (check_keys(L, grp, prefix, notify_keys) < 0)
		return -1;
	static const char *const on_names[] = { "failure", "always", "never", NULL };
	int on = CT_NOTIFY_FAILURE;

	if (get_choice(L, grp, prefix, "on", on_names, "choice", "\"failure\" (a run that did "
		       "not succeed), \"always\" or \"never\"", &on) < 0)
		return -1;
	n->on = (enum ct_notify_on)on;
	if (get_duration(L, grp, prefix, "timeout", 1, 3600, false, &n->timeout) < 0)
		return -1;
	r = get_str(L, grp, prefix, "command", "a shell command", &v);
	if (r < 0)
		return -1;
	if (r > 0)
		n->command = ct_xstrdup(v);
	r = get_str(L, grp, prefix, "webhook", "an https:// URL", &v);
	if (r < 0)
		return -1;
	if (r > 0) {
		config_setting_t *s = config_setting_get_member(grp, "webhook");

		keypath(path, sizeof(path), prefix, "webhook");
		if (n->command)
			return fail(L, s, path, "both command and webhook are set for %s; expected "
				    "one of them (a command can post to several places itself)", what);
		if (check_url(L, s, path, v, "\"https://HOST/PATH\"", "\"https://HOST/PATH\"",
			      &plain) < 0)
			return -1;
		if (plain)
			warn(L, s, path, "the webhook of %s uses http://, which sends the run reports "
			     "unencrypted; use https://", what);
		n->webhook = ct_xstrdup(v);
	}
	if (!n->command && !n->webhook && n->on != CT_NOTIFY_NEVER)
		return fail(L, grp, prefix, "has neither command nor webhook; expected command = "
			    "\"/usr/local/bin/mail-report\"; or webhook = \"https://...\"; (or on = "
			    "\"never\" to silence %s)", what);
	if (get_block(L, grp, prefix, "tls", CONFIG_TYPE_GROUP,
		      "tls = { ca_file = \"/etc/ssl/hook-ca.pem\"; };", &b) < 0)
		return -1;
	if (b) {
		char tp[128], tw[200];

		keypath(tp, sizeof(tp), prefix, "tls");
		if (!n->webhook)
			return fail(L, b, tp, "is only used with webhook; remove it or set webhook");
		snprintf(tw, sizeof(tw), "the webhook of %s", what);
		if (parse_tls(L, b, tp, &n->tls, tw) < 0)
			return -1;
	}
	return 0;
}

const struct ct_notify_conf *ct_config_notify(const struct ct_config *c, const struct ct_job_conf *j)
{
	const struct ct_notify_conf *n = j && j->notify.set ? &j->notify : &c->notify;

	return n->set && n->on != CT_NOTIFY_NEVER ? n : NULL;
}

static int parse_job(struct ld *L, const config_setting_t *g, int idx, struct ct_job_conf *j)
{
	char pre[128], path[192];
	const char *v;
	config_setting_t *b;
	int r;

	snprintf(pre, sizeof(pre), "jobs[%d]", idx);
	j->mode = CT_JOB_SNAPSHOT;
	j->retention = 7;
	j->compression = CT_COMPRESS_ZSTD;
	j->gate = L->c->gate;
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(L, g, pre, "found %s; expected a group such as { name = \"nightly\"; "
			    "pool = \"lab\"; vms = [ \"web-*\" ]; }", type_name(config_setting_type(g)));
	named_prefix(pre, sizeof(pre), "jobs", idx, g);
	if (check_keys(L, g, pre, job_keys) < 0)
		return -1;
	snprintf(pre, sizeof(pre), "jobs[%d]", idx);
	if (get_name(L, g, pre, "job", &v) < 0)
		return -1;
	j->name = ct_xstrdup(v);
	for (int i = 0; i < idx; i++)
		if (!strcmp(L->c->jobs[i].name, j->name))
			return fail(L, config_setting_get_member(g, "name"), pre, "job name '%s' is "
				    "used twice; expected a unique name for each job", j->name);
	snprintf(pre, sizeof(pre), "jobs[%d] ('%s')", idx, j->name);

	r = get_str(L, g, pre, "pool", "a pool name", &v);
	keypath(path, sizeof(path), pre, "pool");
	if (r < 0)
		return -1;
	if (r == 0)
		return fail(L, g, path, "missing for job '%s'; expected pool = \"NAME\" naming one "
			    "of the pools", j->name);
	if (!ct_config_pool(L->c, v)) {
		struct ct_sb names;
		ct_sb_init(&names);
		for (int i = 0; i < L->c->n_pools; i++)
			ct_sb_addf(&names, "%s'%s'", i ? ", " : "", L->c->pools[i].name);
		fail(L, config_setting_get_member(g, "pool"), path, "'%s' is not a configured pool; "
		     "expected one of: %s", v, L->c->n_pools ? names.buf : "(no pools configured)");
		ct_sb_release(&names);
		return -1;
	}
	j->pool = ct_xstrdup(v);
	if (parse_vms(L, g, pre, j) < 0)
		return -1;

	static const char *const mode_names[] = { "snapshot", "export", NULL };
	static const char *const comp_names[] = { "zstd", "gzip", "none", NULL };
	int choice = CT_JOB_SNAPSHOT;

	if (get_choice(L, g, pre, "mode", mode_names, "mode", "\"snapshot\" or \"export\"",
		       &choice) < 0)
		return -1;
	j->mode = (enum ct_job_mode)choice;
	if (get_int(L, g, pre, "retention", 0, 10000, &j->retention) < 0)
		return -1;
	r = get_str(L, g, pre, "export_dir", "a directory path", &v);
	if (r < 0)
		return -1;
	if (r > 0)
		j->export_dir = resolve_path(L, v);
	keypath(path, sizeof(path), pre, "export_dir");
	if (j->mode == CT_JOB_EXPORT && !j->export_dir)
		return fail(L, g, path, "missing for job '%s' with mode \"export\"; expected "
			    "export_dir = \"/srv/backups\"; (where the XVA files go)", j->name);
	if (j->mode == CT_JOB_SNAPSHOT && j->export_dir)
		warn(L, config_setting_get_member(g, "export_dir"), path, "job '%s' has mode "
		     "\"snapshot\", so export_dir is not used; set mode = \"export\" to write XVA "
		     "files", j->name);
	choice = CT_COMPRESS_ZSTD;
	if (get_choice(L, g, pre, "compression", comp_names, "compression",
		       "\"zstd\", \"gzip\" or \"none\"", &choice) < 0)
		return -1;
	j->compression = (enum ct_compression)choice;
	if (get_block(L, g, pre, "gate", CONFIG_TYPE_GROUP,
		      "gate = { policy = \"wait\"; wait_timeout = \"2h\"; };", &b) < 0)
		return -1;
	if (b) {
		keypath(path, sizeof(path), pre, "gate");
		if (parse_gate(L, b, path, &j->gate, &j->gate_overridden) < 0)
			return -1;
	}
	if (get_block(L, g, pre, "notify", CONFIG_TYPE_GROUP,
		      "notify = { command = \"...\"; on = \"failure\"; };", &b) < 0)
		return -1;
	if (b) {
		char what[160];

		keypath(path, sizeof(path), pre, "notify");
		snprintf(what, sizeof(what), "job '%s'", j->name);
		if (parse_notify(L, b, path, &j->notify, what) < 0)
			return -1;
	}
	return 0;
}

static int parse_jobs(struct ld *L, const config_setting_t *list)
{
	struct ct_config *c = L->c;
	int n = config_setting_length(list);

	c->jobs = ct_xcalloc((size_t)(n ? n : 1), sizeof(*c->jobs));
	for (int i = 0; i < n; i++) {
		c->n_jobs = i + 1;
		if (parse_job(L, config_setting_get_elem(list, (unsigned)i), i, &c->jobs[i]) < 0)
			return -1;
	}
	return 0;
}

/* ---- top level ------------------------------------------------------------------------ */

/* serve = { listen = "127.0.0.1:9739"; tls_cert = ...; tls_key = ...;
 *           auth = { type = "bearer"; token_file = ...; }; }; */
static int parse_serve_secret(struct ld *L, const config_setting_t *a, const char *file_key,
			      const char *env_key, const char *what)
{
	config_setting_t *fs = config_setting_get_member(a, file_key);
	config_setting_t *es = config_setting_get_member(a, env_key);
	const char *v;
	char path[256];

	if ((fs != NULL) == (es != NULL)) {
		keypath(path, sizeof(path), "serve.auth", fs ? env_key : file_key);
		return fail(L, fs ? es : a, path, "expected exactly one of %s (a file only you can "
			    "read) or %s (an environment variable) for the %s", file_key, env_key,
			    what);
	}
	if (fs) {
		char *file;
		int r;

		keypath(path, sizeof(path), "serve.auth", file_key);
		if (get_str(L, a, "serve.auth", file_key, "a file path", &v) < 0)
			return -1;
		file = resolve_path(L, v);
		r = read_password_file(L, fs, path, file, &L->c->serve.secret);
		free(file);
		return r;
	}
	keypath(path, sizeof(path), "serve.auth", env_key);
	if (get_str(L, a, "serve.auth", env_key, "an environment variable name", &v) < 0)
		return -1;
	if (!getenv(v) || !*getenv(v))
		return fail(L, es, path, "the environment variable %s is not set or empty; export "
			    "it before running chaintop serve, or use %s", v, file_key);
	L->c->serve.secret = ct_xstrdup(getenv(v));
	return 0;
}

static int parse_serve(struct ld *L, const config_setting_t *g)
{
	struct ct_serve_conf *sc = &L->c->serve;
	config_setting_t *a;
	const char *v;
	int r;

	if (check_keys(L, g, "serve", serve_keys) < 0)
		return -1;
	r = get_str(L, g, "serve", "listen", "an address HOST:PORT such as 127.0.0.1:9739", &v);
	if (r < 0)
		return -1;
	if (r > 0) {
		free(sc->listen);
		sc->listen = ct_xstrdup(v);
	}
	for (int i = 0; i < 2; i++) {
		const char *key = i ? "tls_key" : "tls_cert";

		r = get_str(L, g, "serve", key, "a PEM file path", &v);
		if (r < 0)
			return -1;
		if (r > 0)
			*(i ? &sc->tls_key : &sc->tls_cert) = resolve_path(L, v);
	}
	if (get_duration(L, g, "serve", "notify_after", 0, 7LL * 86400, false, &sc->notify_after) < 0)
		return -1;
	if (!sc->tls_cert != !sc->tls_key)
		return fail(L, g, sc->tls_cert ? "serve.tls_key" : "serve.tls_cert", "TLS needs "
			    "both tls_cert (the certificate chain, PEM) and tls_key (its private key)");
	if (get_block(L, g, "serve", "auth", CONFIG_TYPE_GROUP,
		      "auth = { type = \"bearer\"; token_file = \"/etc/chaintop/serve.token\"; };",
		      &a) < 0)
		return -1;
	if (!a)
		return 0;
	if (check_keys(L, a, "serve.auth", auth_keys) < 0)
		return -1;
	r = get_str(L, a, "serve.auth", "type", "\"bearer\" or \"basic\"", &v);
	if (r < 0)
		return -1;
	if (r == 0 || (strcmp(v, "bearer") && strcmp(v, "basic")))
		return fail(L, a, "serve.auth.type", "expected type = \"bearer\" (Authorization: "
			    "Bearer TOKEN) or type = \"basic\" (user name and password)");
	if (!strcmp(v, "bearer")) {
		if (config_setting_get_member(a, "username") ||
		    config_setting_get_member(a, "password_file") ||
		    config_setting_get_member(a, "password_env"))
			return fail(L, a, "serve.auth", "type \"bearer\" takes token_file or "
				    "token_env, not a user name or password");
		sc->auth = CT_SERVE_AUTH_BEARER;
		return parse_serve_secret(L, a, "token_file", "token_env", "bearer token");
	}
	if (config_setting_get_member(a, "token_file") || config_setting_get_member(a, "token_env"))
		return fail(L, a, "serve.auth", "type \"basic\" takes username and password_file "
			    "or password_env, not a token");
	r = get_str(L, a, "serve.auth", "username", "a user name", &v);
	if (r < 0)
		return -1;
	if (r == 0 || !*v || strchr(v, ':'))
		return fail(L, a, "serve.auth.username", "type \"basic\" needs username = "
			    "\"NAME\" (without a colon)");
	sc->auth = CT_SERVE_AUTH_BASIC;
	sc->username = ct_xstrdup(v);
	return parse_serve_secret(L, a, "password_file", "password_env", "password");
}

static int parse_root(struct ld *L, const config_setting_t *root)
{
	config_setting_t *b;
	const char *v;
	int r;

	if (check_keys(L, root, "", top_keys) < 0)
		return -1;
	/* Global limits first: pools and jobs inherit them. */
	if (get_block(L, root, "", "gate", CONFIG_TYPE_GROUP,
		      "gate = { tolerance = 1; max_depth = 25; };", &b) < 0)
		return -1;
	if (b && parse_gate(L, b, "gate", &L->c->gate, NULL) < 0)
		return -1;
	if (get_block(L, root, "", "health", CONFIG_TYPE_GROUP,
		      "health = { warn_depth = 20; crit_depth = 28; };", &b) < 0)
		return -1;
	if (b && parse_health(L, b) < 0)
		return -1;
	if (parse_net_limits(L, root, "", &L->c->limits) < 0)
		return -1;
	if (get_block(L, root, "", "pools", CONFIG_TYPE_LIST,
		      "pools = ( { name = \"lab\"; url = \"https://10.0.0.1\"; ... } );", &b) < 0)
		return -1;
	if (b && parse_pools(L, b) < 0)
		return -1;
	if (get_block(L, root, "", "notify", CONFIG_TYPE_GROUP,
		      "notify = { command = \"...\"; on = \"failure\"; };", &b) < 0)
		return -1;
	if (b && parse_notify(L, b, "notify", &L->c->notify, "every job") < 0)
		return -1;
	if (get_block(L, root, "", "jobs", CONFIG_TYPE_LIST,
		      "jobs = ( { name = \"nightly\"; pool = \"lab\"; vms = [ \"web-*\" ]; } );",
		      &b) < 0)
		return -1;
	if (b && parse_jobs(L, b) < 0)
		return -1;
	if (get_block(L, root, "", "serve", CONFIG_TYPE_GROUP,
		      "serve = { listen = \"127.0.0.1:9739\"; };", &b) < 0)
		return -1;
	if (b && parse_serve(L, b) < 0)
		return -1;
	if (get_block(L, root, "", "ui", CONFIG_TYPE_GROUP, "ui = { bell = false; };", &b) < 0)
		return -1;
	if (b && (check_keys(L, b, "ui", ui_keys) < 0 || get_bool(L, b, "ui", "bell", &L->c->ui_bell) < 0))
		return -1;
	r = get_str(L, root, "", "state_dir", "a directory path", &v);
	if (r < 0)
		return -1;
	if (r > 0) {
		free(L->c->state_dir);
		L->c->state_dir = resolve_path(L, v);
	}
	return 0;
}

static int load_text(struct ct_config *c, const char *text, const char *name, const char *dir,
		     bool allow_prompt, bool file_shared, struct ct_err *e)
{
	struct ld L = { .c = c, .name = name, .allow_prompt = allow_prompt,
			.file_shared = file_shared, .e = e };
	config_t cfg;
	int rc = -1;

	L.dir = dir ? ct_xstrdup(dir) : NULL;
	config_init(&cfg);
	if (dir)
		config_set_include_dir(&cfg, dir);
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		const char *f = config_error_file(&cfg);
		ct_err_set(e, CT_E_CONFIG, "%s:%d: syntax error: %s; expected libconfig syntax "
			   "such as key = value; and name = { ... }; (%s)", f ? f : name,
			   config_error_line(&cfg), config_error_text(&cfg), EXAMPLE_HINT);
		goto out;
	}
	rc = parse_root(&L, config_root_setting(&cfg));
out:
	config_destroy(&cfg);
	free(L.dir);
	if (rc < 0) {
		ct_config_release(c);
		ct_config_init(c);
	}
	return rc;
}

int ct_config_load_string(struct ct_config *c, const char *text, const char *name,
			  bool allow_prompt, struct ct_err *e)
{
	return load_text(c, text ? text : "", name ? name : "(string)", NULL, allow_prompt, false,
			 e);
}

/* Reads a whole file into *text (owned by the caller, NUL-terminated). The buffer is sized
 * from fstat and any copy left behind by growth is wiped: the text may hold a password. */
static int read_file(const char *path, const char *how, char **text, bool *shared,
		     struct ct_err *e)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), rc = -1;
	ssize_t got;

	if (fd < 0)
		return ct_err_set(e, CT_E_CONFIG, "cannot read the configuration file '%s' (%s): "
				  "%s; check the path and its permissions (%s)", path, how,
				  strerror(errno), EXAMPLE_HINT);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ct_err_set(e, CT_E_CONFIG, "the configuration file '%s' (%s) is not a regular file; "
			   "expected a libconfig text file", path, how);
		goto out;
	}
	if (st.st_size > MAX_CONFIG_BYTES) {
		ct_err_set(e, CT_E_CONFIG, "the configuration file '%s' is larger than %d MiB; "
			   "expected a small libconfig text file", path, MAX_CONFIG_BYTES >> 20);
		goto out;
	}
	*shared = (st.st_mode & 077) != 0;
	cap = (size_t)st.st_size + 4096;
	buf = ct_xmalloc(cap);
	for (;;) {
		if (len + 1 >= cap) {
			char *bigger;
			if (cap > MAX_CONFIG_BYTES) {
				ct_err_set(e, CT_E_CONFIG, "the configuration file '%s' is larger than "
					   "%d MiB; expected a small libconfig text file", path,
					   MAX_CONFIG_BYTES >> 20);
				goto out;
			}
			bigger = ct_xmalloc(cap * 2);
			memcpy(bigger, buf, len);
			explicit_bzero(buf, len);
			free(buf);
			buf = bigger;
			cap *= 2;
		}
		got = read(fd, buf + len, cap - 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ct_err_set(e, CT_E_CONFIG, "cannot read the configuration file '%s': %s", path,
				   strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	buf[len] = '\0';
	*text = buf;
	buf = NULL;
	rc = 0;
out:
	if (buf) {
		explicit_bzero(buf, len);
		free(buf);
	}
	close(fd);
	return rc;
}

static char *config_home_path(void)
{
	const char *x = getenv("XDG_CONFIG_HOME");
	const char *home;

	if (x && x[0] == '/')
		return ct_xasprintf("%s/chaintop/chaintop.conf", x);
	home = getenv("HOME");
	if (!home || home[0] != '/') {
		struct passwd *pw = getpwuid(getuid());
		home = pw && pw->pw_dir ? pw->pw_dir : NULL;
	}
	return home ? ct_xasprintf("%s/.config/chaintop/chaintop.conf", home) : NULL;
}

/* The file to load by the search order; *how says where it came from. */
static int find_config(const char *path, char **found, const char **how, struct ct_err *e)
{
	const char *env = getenv("CHAINTOP_CONFIG");
	char *home;

	if (path) {
		*found = ct_xstrdup(path);
		*how = "given with -c";
		return 0;
	}
	if (env && *env) {
		*found = ct_xstrdup(env);
		*how = "named by $CHAINTOP_CONFIG";
		return 0;
	}
	home = config_home_path();
	if (home && access(home, F_OK) == 0) {
		*found = home;
		*how = "the per-user configuration";
		return 0;
	}
	if (access("/etc/chaintop/chaintop.conf", F_OK) == 0) {
		free(home);
		*found = ct_xstrdup("/etc/chaintop/chaintop.conf");
		*how = "the system configuration";
		return 0;
	}
	ct_err_set(e, CT_E_CONFIG, "no configuration file found; looked for -c FILE (not given), "
		   "$CHAINTOP_CONFIG (not set), %s and /etc/chaintop/chaintop.conf. Create one "
		   "from chaintop.conf.example (conf/chaintop.conf.example in the source tree, "
		   "share/doc/chaintop/chaintop.conf.example under the install prefix), "
		   "chmod 600 it, and list your pools in it",
		   home ? home : "$XDG_CONFIG_HOME/chaintop/chaintop.conf");
	free(home);
	return -1;
}

int ct_config_load(struct ct_config *c, const char *path, bool allow_prompt, struct ct_err *e)
{
	char *file = NULL, *text = NULL, *dir = NULL, *slash;
	const char *how = "";
	bool shared = false;
	int rc = -1;

	if (find_config(path, &file, &how, e) < 0)
		goto out;
	if (read_file(file, how, &text, &shared, e) < 0)
		goto out;
	slash = strrchr(file, '/');
	dir = slash ? ct_xstrndup(file, (size_t)(slash - file) + (slash == file)) : ct_xstrdup(".");
	rc = load_text(c, text, file, dir, allow_prompt, shared, e);
	if (rc == 0)
		c->path = ct_xstrdup(file);
out:
	if (text) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
	free(dir);
	free(file);
	return rc;
}

/* ---- lookups -------------------------------------------------------------------------- */

const struct ct_pool_conf *ct_config_pool(const struct ct_config *c, const char *name)
{
	if (!c || !name)
		return NULL;
	for (int i = 0; i < c->n_pools; i++)
		if (c->pools[i].name && !strcmp(c->pools[i].name, name))
			return &c->pools[i];
	return NULL;
}

const struct ct_job_conf *ct_config_job(const struct ct_config *c, const char *name)
{
	if (!c || !name)
		return NULL;
	for (int i = 0; i < c->n_jobs; i++)
		if (c->jobs[i].name && !strcmp(c->jobs[i].name, name))
			return &c->jobs[i];
	return NULL;
}

static void apply_limits(struct ct_gate_conf *g, struct ct_health_conf *h, int tolerance,
			 int max_depth, int min_free_percent, int warn_depth, int crit_depth,
			 int coalesce_warn, int crit_free_percent)
{
	g->tolerance = pick(tolerance, g->tolerance);
	g->max_depth = pick(max_depth, g->max_depth);
	g->min_free_percent = pick(min_free_percent, g->min_free_percent);
	h->warn_depth = pick(warn_depth, h->warn_depth);
	h->crit_depth = pick(crit_depth, h->crit_depth);
	h->coalesce_warn = pick(coalesce_warn, h->coalesce_warn);
	h->crit_free_percent = pick(crit_free_percent, h->crit_free_percent);
}

void ct_config_limits_for(const struct ct_config *c, const struct ct_pool_conf *pool,
			  const char *sr_name, const char *sr_uuid,
			  struct ct_gate_conf *gate, struct ct_health_conf *health)
{
	struct ct_gate_conf g;
	struct ct_health_conf h;

	if (c) {
		g = c->gate;
		h = c->health;
	} else {
		struct ct_config d;
		ct_config_init(&d);
		g = d.gate;
		h = d.health;
		ct_config_release(&d);
	}
	if (pool) {
		apply_limits(&g, &h, pool->tolerance, pool->max_depth, pool->min_free_percent,
			     pool->warn_depth, pool->crit_depth, pool->coalesce_warn,
			     pool->crit_free_percent);
		for (int i = 0; i < pool->n_srs; i++) {
			const struct ct_sr_override *o = &pool->srs[i];
			if (!o->match)
				continue;
			if ((sr_uuid && *sr_uuid && !strcasecmp(o->match, sr_uuid)) ||
			    (sr_name && ct_glob_match(o->match, sr_name))) {
				apply_limits(&g, &h, o->tolerance, o->max_depth, o->min_free_percent,
					     o->warn_depth, o->crit_depth, o->coalesce_warn,
					     o->crit_free_percent);
				if (o->stall_after >= 0)
					h.stall_after = o->stall_after;
				break;
			}
		}
	}
	if (gate)
		*gate = g;
	if (health)
		*health = h;
}

/* ---- password prompt ------------------------------------------------------------------ */

static volatile sig_atomic_t prompt_signal;

static void prompt_on_signal(int sig)
{
	prompt_signal = sig;
}

int ct_config_prompt_password(struct ct_pool_conf *p, struct ct_err *e)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
	struct sigaction sa, old[5];
	struct termios saved, quiet;
	char buf[MAX_PASSWORD_BYTES + 1];
	size_t n = 0;
	bool have_termios = false, eof = false, toolong = false;
	char prompt[600];
	int fd, rc = -1, len;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return ct_err_set(e, CT_E_CONFIG, "pool '%s' needs a password and there is no terminal "
				  "to ask on (%s); set password_file (chmod 600) or password_env in "
				  "the pool's entry", p->name ? p->name : "?",
				  strerror(errno));
	len = snprintf(prompt, sizeof(prompt), "Password for %s@%s (pool '%s'): ",
		       p->username ? p->username : "root", p->url ? p->url : "?",
		       p->name ? p->name : "?");
	if (len < 0 || (size_t)len >= sizeof(prompt))
		len = (int)strlen(prompt);

	prompt_signal = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = prompt_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;             /* no SA_RESTART: a signal ends the read */
	for (int i = 0; i < 5; i++)
		sigaction(sigs[i], &sa, &old[i]);

	if (tcgetattr(fd, &saved) == 0) {
		have_termios = true;
		quiet = saved;
		quiet.c_lflag &= (tcflag_t)~(ECHO | ECHOE | ECHOK | ECHONL);
		quiet.c_lflag |= ICANON;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	if (write(fd, prompt, (size_t)len) < 0) {
		/* the read below still works; the prompt is cosmetic */
	}
	while (!prompt_signal) {
		char ch;
		ssize_t got = read(fd, &ch, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			eof = true;
			break;
		}
		if (ch == '\n' || ch == '\r')
			break;
		if (n < MAX_PASSWORD_BYTES)
			buf[n++] = ch;
		else
			toolong = true;
	}
	if (have_termios)
		tcsetattr(fd, TCSAFLUSH, &saved);
	if (write(fd, "\n", 1) < 0) {
		/* as above */
	}
	for (int i = 0; i < 5; i++)
		sigaction(sigs[i], &old[i], NULL);

	if (prompt_signal) {
		int sig = prompt_signal;
		ct_err_set(e, CT_E_CANCEL, "password entry for pool '%s' was interrupted; nothing "
			   "was connected", p->name ? p->name : "?");
		close(fd);
		explicit_bzero(buf, sizeof(buf));
		raise(sig);
		return -1;
	}
	if (eof && n == 0) {
		ct_err_set(e, CT_E_CANCEL, "no password entered for pool '%s' (end of input); "
			   "type it at the prompt, or set password_file or password_env",
			   p->name ? p->name : "?");
		goto out;
	}
	if (toolong) {
		ct_err_set(e, CT_E_CONFIG, "the password entered for pool '%s' is longer than %d "
			   "bytes; type it again", p->name ? p->name : "?", MAX_PASSWORD_BYTES);
		goto out;
	}
	if (n == 0) {
		ct_err_set(e, CT_E_CONFIG, "no password entered for pool '%s'; type the password "
			   "of %s at the prompt", p->name ? p->name : "?",
			   p->username ? p->username : "root");
		goto out;
	}
	wipe_free(p->password);
	p->password = ct_xstrndup(buf, n);
	rc = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}
