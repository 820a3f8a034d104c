/* config.h - chaintop's configuration (libconfig), design.md section 4.
 *
 * Search order: -c FILE, $CHAINTOP_CONFIG, $XDG_CONFIG_HOME/chaintop/chaintop.conf
 * (~/.config when unset), /etc/chaintop/chaintop.conf. Unknown keys are errors. Every error
 * names the file, the line and the key, and says what is expected. Secrets are read at
 * load time and kept only in ct_pool_conf.password; never printed or logged. */
#ifndef CT_CONFIG_H
#define CT_CONFIG_H

#include <stdbool.h>

#include "lib/err.h"

/* Gate limits (design.md section 3). Per job overrides use the same struct. */
enum ct_gate_policy { CT_GATE_SKIP, CT_GATE_WAIT };

struct ct_gate_conf {
	int tolerance;             /* stacked base copies allowed above a disk, default 1 */
	int max_depth;             /* refuse at depth >= this, default 25 */
	int min_free_percent;      /* thin SRs: refuse below this free, default 10 */
	enum ct_gate_policy policy;  /* default skip */
	long long wait_timeout;    /* seconds, default 30m */
};

struct ct_health_conf {
	int warn_depth;            /* 20 */
	int crit_depth;            /* 28 */
	int coalesce_warn;         /* 10 VDIs pending coalesce on one SR */
	int crit_free_percent;     /* 5 */
	long long stale_after;     /* 14d, seconds */
	long long stall_after;     /* 6h, seconds */
};

/* Per-SR override inside a pool: matched by SR name glob or uuid. A field < 0 is unset
 * (inherit). */
struct ct_sr_override {
	char *match;
	int tolerance, max_depth, min_free_percent;
	int warn_depth, crit_depth, coalesce_warn, crit_free_percent;
	long long stall_after;     /* seconds; 0 = never report a stalled GC here (an SR that
				      never leaf-coalesces); < 0 = inherit */
};

/* What chaintop accepts from a pool's server (limits = { ... } at the top level, and in a
 * pool entry to override it for that pool). */
struct ct_limits_conf {
	long long reply_bytes;     /* bytes of one XML-RPC reply, default 1 GiB */
	long long reply_records;   /* records of one reply, default 500,000 */
	long long stall_time;      /* seconds a reply may move less than 1 KiB/s, default 20 */
	long long login_timeout;   /* seconds for a whole login call, default 10 */
};

struct ct_tls_conf {
	bool verify;               /* default true */
	char *ca_file;             /* NULL = system CAs */
	char *fingerprint;         /* "sha256:AB:CD:..." normalised to upper-case hex with colons, or NULL */
	bool allow_plain_http;     /* an http:// url is meant (lab pool): not warned */
};

struct ct_pool_conf {
	char *name;
	char *url;                 /* https://host[:port] or http:// (warned) */
	char *username;
	char *password;            /* resolved secret, NULL until resolved (console may prompt) */
	char *password_file, *password_env;  /* where it came from */
	struct ct_tls_conf tls;
	struct ct_limits_conf limits;   /* the global limits with this pool's overrides */
	bool read_only;
	bool prune_include_foreign;  /* prune also proposes Xen Orchestra's, VMSS and
	                              * unknown-owner snapshots and disks (never blocked or
	                              * protected ones), as --include-foreign does */
	struct ct_sr_override *srs;
	int n_srs;
	/* pool-wide overrides of gate/health limits; < 0 = inherit */
	int tolerance, max_depth, min_free_percent;
	int warn_depth, crit_depth, coalesce_warn, crit_free_percent;
};

/* Who hears of a run once it has ended (jobs/notify.h): a command or a webhook. */
enum ct_notify_on { CT_NOTIFY_FAILURE, CT_NOTIFY_ALWAYS, CT_NOTIFY_NEVER };
struct ct_notify_conf {
	bool set;                  /* a notify block was given */
	char *command;             /* run with /bin/sh -c, or NULL */
	char *webhook;             /* http(s) URL the report is POSTed to, or NULL */
	enum ct_notify_on on;      /* default failure: any run that did not end in success */
	long long timeout;         /* seconds the command or the POST may take; default 60 */
	struct ct_tls_conf tls;    /* the webhook's, as a pool's tls block */
};

enum ct_job_mode { CT_JOB_SNAPSHOT, CT_JOB_EXPORT };
enum ct_compression { CT_COMPRESS_ZSTD, CT_COMPRESS_GZIP, CT_COMPRESS_NONE };

struct ct_job_conf {
	char *name;
	char *pool;                /* pool name */
	char **vms;                /* selectors: name glob, uuid, or "tag:NAME" */
	int n_vms;
	enum ct_job_mode mode;
	int retention;             /* default 7; 0 = keep all */
	char *export_dir;
	enum ct_compression compression;
	struct ct_gate_conf gate;  /* global gate with this job's overrides applied */
	bool gate_overridden;
	struct ct_notify_conf notify;   /* set: this job's, replacing the global one */
};

/* `chaintop serve` (serve = { ... };). The secrets are read at load time, like passwords. */
enum ct_serve_auth { CT_SERVE_AUTH_NONE, CT_SERVE_AUTH_BEARER, CT_SERVE_AUTH_BASIC };
struct ct_serve_conf {
	char *listen;              /* "HOST:PORT", default CT_SERVE_LISTEN */
	char *tls_cert, *tls_key;  /* PEM files, both or neither */
	enum ct_serve_auth auth;
	char *username;            /* basic */
	char *secret;              /* the bearer token or the basic password (wiped on release) */
	long long notify_after;    /* seconds a transition must last before the notify block
				    * hears of it (a pool that blinks is not paged) */
};
#define CT_SERVE_LISTEN "127.0.0.1:9739"
#define CT_SERVE_NOTIFY_AFTER 60

struct ct_config {
	char *path;                /* file it was loaded from, NULL if none (defaults) */
	struct ct_pool_conf *pools;
	int n_pools;
	struct ct_gate_conf gate;
	struct ct_health_conf health;
	struct ct_limits_conf limits;
	struct ct_job_conf *jobs;
	int n_jobs;
	struct ct_notify_conf notify;   /* the default of every job, and prune's */
	struct ct_serve_conf serve;
	bool ui_bell;              /* ui.bell: the console rings on a new CRITICAL, a pool going
				    * down or a failed run (default true) */
	char *state_dir;           /* default $XDG_STATE_HOME/chaintop or ~/.local/state/chaintop */
	char **warnings;           /* non-fatal notes (plain password key, http://, verify=false) */
	int n_warnings;
};

void ct_config_init(struct ct_config *c);        /* defaults, no pools */
void ct_config_release(struct ct_config *c);

/* Load from the given path, or by the search order when path is NULL. Fills c (which
 * must be freshly initialised). Resolves password_file / password_env; a pool whose
 * password source is missing is an error unless allow_prompt (console), in which case
 * its password stays NULL for the caller to prompt. */
int ct_config_load(struct ct_config *c, const char *path, bool allow_prompt, struct ct_err *e);
/* Same, from a string (tests); `name` is used in messages as the file name. */
int ct_config_load_string(struct ct_config *c, const char *text, const char *name,
			  bool allow_prompt, struct ct_err *e);

const struct ct_pool_conf *ct_config_pool(const struct ct_config *c, const char *name);
const struct ct_job_conf *ct_config_job(const struct ct_config *c, const char *name);
/* The notify block that applies to job j (NULL: an ad hoc run or prune, the global one);
 * NULL when none does or it says on = "never". */
const struct ct_notify_conf *ct_config_notify(const struct ct_config *c, const struct ct_job_conf *j);

/* Console only: ask for p's password on /dev/tty with echo off ("Password for
 * USER@URL (pool 'NAME'): ") and store it in p->password (owned by p, wiped on release).
 * Returns -1 with a message when there is no terminal, on end of input, on an empty
 * answer, or when interrupted (the terminal is restored first). */
int ct_config_prompt_password(struct ct_pool_conf *p, struct ct_err *e);

/* Effective limits for an SR of a pool: global, then pool, then the first SR override
 * whose match is the SR's uuid or a glob matching its name. */
void ct_config_limits_for(const struct ct_config *c, const struct ct_pool_conf *pool,
			  const char *sr_name, const char *sr_uuid,
			  struct ct_gate_conf *gate, struct ct_health_conf *health);

#endif
