/* Unit tests for config.c: a full configuration, every kind of error (with file, line and
 * key in the message), typo suggestions, durations, password sources and their checks,
 * per-SR limits, job gate overrides, the search order. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "lib/util.h"

static char tmpdir[256];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/ct-config-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	unsetenv("CHAINTOP_CONFIG");
	unsetenv("CT_TEST_PW");
}

static void teardown(void)
{
	char *cmd = ct_xasprintf("rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* Writes a file under tmpdir with the given mode; returns its path (caller frees). */
static char *write_file(const char *name, const char *text, mode_t mode)
{
	char *path = ct_xasprintf("%s/%s", tmpdir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

/* Loads text; expects failure and that the message contains every given fragment. */
static void expect_error(const char *text, bool allow_prompt, const char *const *frags)
{
	struct ct_config c;
	struct ct_err e;

	ct_config_init(&c);
	ct_err_init(&e);
	int rc = ct_config_load_string(&c, text, "test.conf", allow_prompt, &e);
	ck_assert_msg(rc == -1, "expected an error for:\n%s", text);
	ck_assert_int_eq(e.code, CT_E_CONFIG);
	for (; *frags; frags++)
		ck_assert_msg(strstr(e.msg, *frags), "message '%s' lacks '%s'", e.msg, *frags);
	ck_assert_int_eq(c.n_pools, 0);   /* a failed load leaves defaults */
	ct_config_release(&c);
}

#define EXPECT_ERROR(text, ...) \
	expect_error(text, false, (const char *const[]){ __VA_ARGS__, NULL })

static int load_ok(struct ct_config *c, const char *text, bool allow_prompt)
{
	struct ct_err e;

	ct_config_init(c);
	ct_err_init(&e);
	int rc = ct_config_load_string(c, text, "test.conf", allow_prompt, &e);
	ck_assert_msg(rc == 0, "unexpected error: %s", e.msg);
	return rc;
}

#define POOL "pools = ( { name = \"lab\"; url = \"https://10.0.0.1\"; username = \"root\"; " \
	"password_env = \"CT_TEST_PW\"; } );\n"

START_TEST(defaults)
{
	struct ct_config c;

	ct_config_init(&c);
	ck_assert_int_eq(c.gate.tolerance, 1);
	ck_assert_int_eq(c.gate.max_depth, 25);
	ck_assert_int_eq(c.gate.min_free_percent, 10);
	ck_assert_int_eq(c.gate.policy, CT_GATE_SKIP);
	ck_assert_int_eq(c.gate.wait_timeout, 1800);
	ck_assert_int_eq(c.health.warn_depth, 20);
	ck_assert_int_eq(c.health.crit_depth, 28);
	ck_assert_int_eq(c.health.coalesce_warn, 10);
	ck_assert_int_eq(c.health.crit_free_percent, 5);
	ck_assert_int_eq(c.health.stale_after, 14 * 86400);
	ck_assert_int_eq(c.health.stall_after, 6 * 3600);
	ck_assert(c.ui_bell);
	ck_assert_ptr_nonnull(c.state_dir);
	ck_assert(strstr(c.state_dir, "chaintop") != NULL);
	ct_config_release(&c);

	setenv("XDG_STATE_HOME", "/var/tmp/xdg-state", 1);
	ct_config_init(&c);
	ck_assert_str_eq(c.state_dir, "/var/tmp/xdg-state/chaintop");
	ct_config_release(&c);
	unsetenv("XDG_STATE_HOME");
	char *home = ct_xstrdup(getenv("HOME"));
	setenv("HOME", "/home/op", 1);
	ct_config_init(&c);
	ck_assert_str_eq(c.state_dir, "/home/op/.local/state/chaintop");
	ct_config_release(&c);
	if (home)
		setenv("HOME", home, 1);
	free(home);
}
END_TEST

START_TEST(full_config)
{
	struct ct_config c;
	const char *text =
		"pools = (\n"
		"  { name = \"lab\"; url = \"https://10.0.0.1\"; username = \"root\";\n"
		"    password_env = \"CT_TEST_PW\";\n"
		"    tls = { verify = true; fingerprint = \"ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89\"; };\n"
		"    read_only = true;\n"
		"    tolerance = 2; max_depth = 20; min_free_percent = 15;\n"
		"    warn_depth = 18; crit_depth = 24; coalesce_warn = 5; crit_free_percent = 3;\n"
		"    srs = ( { match = \"nfs-*\"; tolerance = 3; },\n"
		"            { match = \"5f1a2b3c-0000-4000-8000-000000000001\"; max_depth = 10; } ); },\n"
		"  { name = \"dr\"; url = \"https://dr.example.com:8443\"; username = \"chaintop\";\n"
		"    password_env = \"CT_TEST_PW\"; }\n"
		");\n"
		"gate = { tolerance = 0; max_depth = 22; min_free_percent = 12; policy = \"wait\"; wait_timeout = \"45m\"; };\n"
		"health = { warn_depth = 15; crit_depth = 26; coalesce_warn = 7; crit_free_percent = 4;\n"
		"           stale_after = \"7d\"; stall_after = 3600; };\n"
		"jobs = (\n"
		"  { name = \"nightly\"; pool = \"lab\"; vms = [ \"web-*\", \"tag:backup\" ]; mode = \"snapshot\"; retention = 3; },\n"
		"  { name = \"weekly-export\"; pool = \"dr\"; vms = [ \"db01\" ]; mode = \"export\";\n"
		"    export_dir = \"/srv/backups\"; compression = \"gzip\"; retention = 0;\n"
		"    gate = { policy = \"skip\"; wait_timeout = \"2h\"; max_depth = 28; }; }\n"
		");\n"
		"state_dir = \"/var/lib/chaintop\";\n";

	setenv("CT_TEST_PW", "s3cret", 1);
	load_ok(&c, text, false);
	ck_assert_int_eq(c.n_pools, 2);
	const struct ct_pool_conf *p = ct_config_pool(&c, "lab");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->url, "https://10.0.0.1");
	ck_assert_str_eq(p->username, "root");
	ck_assert_str_eq(p->password, "s3cret");
	ck_assert_str_eq(p->password_env, "CT_TEST_PW");
	ck_assert_ptr_null(p->password_file);
	ck_assert(p->tls.verify);
	ck_assert_str_eq(p->tls.fingerprint, "sha256:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
			 "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89");
	ck_assert(p->read_only);
	ck_assert_int_eq(p->tolerance, 2);
	ck_assert_int_eq(p->max_depth, 20);
	ck_assert_int_eq(p->min_free_percent, 15);
	ck_assert_int_eq(p->warn_depth, 18);
	ck_assert_int_eq(p->crit_depth, 24);
	ck_assert_int_eq(p->coalesce_warn, 5);
	ck_assert_int_eq(p->crit_free_percent, 3);
	ck_assert_int_eq(p->n_srs, 2);
	ck_assert_str_eq(p->srs[0].match, "nfs-*");
	ck_assert_int_eq(p->srs[0].tolerance, 3);
	ck_assert_int_eq(p->srs[0].max_depth, -1);
	ck_assert_int_eq(p->srs[1].max_depth, 10);

	const struct ct_pool_conf *dr = ct_config_pool(&c, "dr");
	ck_assert_ptr_nonnull(dr);
	ck_assert(dr->tls.verify);
	ck_assert(!dr->read_only);
	ck_assert_int_eq(dr->tolerance, -1);
	ck_assert_ptr_null(ct_config_pool(&c, "nope"));

	ck_assert_int_eq(c.gate.tolerance, 0);
	ck_assert_int_eq(c.gate.max_depth, 22);
	ck_assert_int_eq(c.gate.min_free_percent, 12);
	ck_assert_int_eq(c.gate.policy, CT_GATE_WAIT);
	ck_assert_int_eq(c.gate.wait_timeout, 45 * 60);
	ck_assert_int_eq(c.health.warn_depth, 15);
	ck_assert_int_eq(c.health.crit_depth, 26);
	ck_assert_int_eq(c.health.coalesce_warn, 7);
	ck_assert_int_eq(c.health.crit_free_percent, 4);
	ck_assert_int_eq(c.health.stale_after, 7 * 86400);
	ck_assert_int_eq(c.health.stall_after, 3600);

	ck_assert_int_eq(c.n_jobs, 2);
	const struct ct_job_conf *j = ct_config_job(&c, "nightly");
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(j->pool, "lab");
	ck_assert_int_eq(j->n_vms, 2);
	ck_assert_str_eq(j->vms[0], "web-*");
	ck_assert_str_eq(j->vms[1], "tag:backup");
	ck_assert_int_eq(j->mode, CT_JOB_SNAPSHOT);
	ck_assert_int_eq(j->retention, 3);
	ck_assert_int_eq(j->compression, CT_COMPRESS_ZSTD);
	ck_assert(!j->gate_overridden);
	ck_assert_int_eq(j->gate.max_depth, 22);            /* the global gate */
	ck_assert_int_eq(j->gate.policy, CT_GATE_WAIT);
	j = ct_config_job(&c, "weekly-export");
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(j->mode, CT_JOB_EXPORT);
	ck_assert_str_eq(j->export_dir, "/srv/backups");
	ck_assert_int_eq(j->compression, CT_COMPRESS_GZIP);
	ck_assert_int_eq(j->retention, 0);
	ck_assert_ptr_null(ct_config_job(&c, "nope"));
	ck_assert_str_eq(c.state_dir, "/var/lib/chaintop");
	ck_assert_int_eq(c.n_warnings, 0);
	ct_config_release(&c);
}
END_TEST

START_TEST(job_gate_override)
{
	struct ct_config c;

	setenv("CT_TEST_PW", "pw", 1);
	load_ok(&c, POOL
		"gate = { tolerance = 2; max_depth = 20; policy = \"skip\"; };\n"
		"jobs = ( { name = \"a\"; pool = \"lab\"; vms = [ \"x\" ];\n"
		"           gate = { policy = \"wait\"; wait_timeout = \"2h\"; max_depth = 28; }; },\n"
		"         { name = \"b\"; pool = \"lab\"; vms = \"single-vm\"; } );\n", false);
	const struct ct_job_conf *a = ct_config_job(&c, "a");
	ck_assert(a->gate_overridden);
	ck_assert_int_eq(a->gate.policy, CT_GATE_WAIT);
	ck_assert_int_eq(a->gate.wait_timeout, 7200);
	ck_assert_int_eq(a->gate.max_depth, 28);
	ck_assert_int_eq(a->gate.tolerance, 2);             /* inherited from the global gate */
	ck_assert_int_eq(a->gate.min_free_percent, 10);     /* default */
	const struct ct_job_conf *b = ct_config_job(&c, "b");
	ck_assert(!b->gate_overridden);
	ck_assert_int_eq(b->gate.policy, CT_GATE_SKIP);
	ck_assert_int_eq(b->gate.max_depth, 20);
	ck_assert_int_eq(b->n_vms, 1);
	ck_assert_str_eq(b->vms[0], "single-vm");
	ct_config_release(&c);
}
END_TEST

START_TEST(durations)
{
	struct ct_config c;

	load_ok(&c, "gate = { wait_timeout = 90; };\nhealth = { stale_after = \"14d\"; stall_after = \"30s\"; };\n",
		false);
	ck_assert_int_eq(c.gate.wait_timeout, 90);
	ck_assert_int_eq(c.health.stale_after, 14 * 86400);
	ck_assert_int_eq(c.health.stall_after, 30);
	ct_config_release(&c);
	load_ok(&c, "gate = { wait_timeout = \"15m\"; };\nhealth = { stall_after = \"2h\"; };\n", false);
	ck_assert_int_eq(c.gate.wait_timeout, 900);
	ck_assert_int_eq(c.health.stall_after, 7200);
	ct_config_release(&c);

	EXPECT_ERROR("gate = {\n  wait_timeout = \"5 minutes\";\n};\n",
		     "test.conf:2:", "gate.wait_timeout", "not a duration", "\"15m\"");
	EXPECT_ERROR("gate = { wait_timeout = -5; };\n", "test.conf:1:", "gate.wait_timeout",
		     "negative");
	EXPECT_ERROR("gate = { wait_timeout = \"60d\"; };\n", "test.conf:1:", "out of range");
	/* stale_after decides what prune proposes: a bare number (seconds) is refused */
	EXPECT_ERROR("health = { stale_after = 3; };\n", "test.conf:1:", "health.stale_after",
		     "has no unit", "\"3d\"");
	EXPECT_ERROR("health = { stale_after = \"3\"; };\n", "test.conf:1:", "health.stale_after",
		     "has no unit");
	EXPECT_ERROR("health = { stall_after = 1.5; };\n", "test.conf:1:", "health.stall_after",
		     "expected a duration");
}
END_TEST

START_TEST(errors_name_file_line_key)
{
	setenv("X", "x", 1);
	setenv("CT_TEST_PW", "pw", 1);
	/* syntax */
	EXPECT_ERROR("gate = {\n  tolerance = 1;\n  max_depth = = 3;\n};\n", "test.conf:3:", "syntax error");
	/* type */
	EXPECT_ERROR("\n\ngate = { tolerance = \"2\"; };\n", "test.conf:3:", "gate.tolerance",
		     "expected an integer from 0 to 10");
	EXPECT_ERROR("gate = 5;\n", "test.conf:1:", "gate", "expected a group");
	EXPECT_ERROR("pools = { name = \"x\"; };\n", "test.conf:1:", "pools", "expected a list");
	/* range */
	EXPECT_ERROR("gate = {\n max_depth = 40;\n};\n", "test.conf:2:", "gate.max_depth",
		     "40 is out of range", "from 2 to 30");
	EXPECT_ERROR("health = { crit_free_percent = 100; };\n", "test.conf:1:",
		     "health.crit_free_percent", "out of range");
	EXPECT_ERROR("health = { warn_depth = 29; crit_depth = 28; };\n", "test.conf:1:",
		     "health.warn_depth", "above crit_depth");
	EXPECT_ERROR("gate = { policy = \"later\"; };\n", "gate.policy", "\"skip\"", "\"wait\"");
	/* pools */
	EXPECT_ERROR("pools = (\n { name = \"lab\"; username = \"root\"; password_env = \"X\"; }\n);\n",
		     "test.conf:2:", "pools[0] ('lab').url", "missing");
	EXPECT_ERROR("pools = (\n { name = \"lab\";\n   url = \"ftp://10.0.0.1\"; username = \"root\"; }\n);\n",
		     "test.conf:3:", "url", "http:// or https://");
	EXPECT_ERROR("pools = ( { name = \"lab\"; url = \"https://\"; username = \"root\"; } );\n",
		     "test.conf:1:", "no host name");
	EXPECT_ERROR("pools = ( { url = \"https://a\"; username = \"root\"; } );\n",
		     "test.conf:1:", "pools[0].name", "missing");
	EXPECT_ERROR("pools = ( { name = \"has space\"; url = \"https://a\"; } );\n",
		     "pools[0].name", "not a valid pool name");
	EXPECT_ERROR("pools = ( { name = \"lab\"; url = \"https://a\"; } );\n",
		     "pools[0] ('lab').username", "missing");
	EXPECT_ERROR(POOL "pools2 = 1;\n", "test.conf:2:", "pools2", "did you mean 'pools'");
	EXPECT_ERROR("pools = (\n { name = \"lab\"; url = \"https://a\"; username = \"r\"; password_env = \"X\"; },\n"
		     " { name = \"lab\"; url = \"https://b\"; username = \"r\"; password_env = \"X\"; }\n);\n",
		     "test.conf:3:", "'lab' is used twice");
	EXPECT_ERROR("pools = ( { name = \"lab\"; url = \"https://a\"; username = \"r\";\n"
		     "  password_env = \"X\";\n  password_file = \"/x\"; } );\n",
		     "test.conf:3:", "password_file", "exactly one of");
	EXPECT_ERROR("pools = ( { name = \"lab\"; url = \"https://a\"; username = \"r\";\n"
		     "  tls = { fingerprint = \"AB:CD\"; }; password_env = \"X\"; } );\n",
		     "test.conf:2:", "tls.fingerprint", "not a SHA-256 fingerprint");
	EXPECT_ERROR("pools = ( { name = \"lab\"; url = \"https://a\"; username = \"r\";\n"
		     "  tls = { verify = \"no\"; }; } );\n",
		     "test.conf:2:", "tls.verify", "expected true or false");
	EXPECT_ERROR("pools = ( { name = \"lab\"; url = \"https://a\"; username = \"r\";\n"
		     "  tls = { ca_file = \"/nonexistent/ca.pem\"; }; } );\n",
		     "test.conf:2:", "tls.ca_file", "cannot read '/nonexistent/ca.pem'");
	EXPECT_ERROR("pools = ( { name = \"lab\"; url = \"https://a\"; username = \"r\";\n"
		     "  srs = ( { tolerance = 2; } ); } );\n",
		     "test.conf:2:", "srs[0].match", "missing");
	EXPECT_ERROR("pools = ( { name = \"lab\"; url = \"https://a\"; username = \"r\";\n"
		     "  srs = ( { match = \"nfs\"; crit_depth = 12; } ); } );\n",
		     "test.conf:2:", "srs[0].warn_depth", "above crit_depth");
	EXPECT_ERROR("pools = ( { name = \"lab\"; url = \"https://a\"; username = \"r\";\n"
		     "  max_depth = 1; } );\n",
		     "test.conf:2:", "pools[0] ('lab').max_depth", "from 2 to 30");
	/* no password source, outside the console */
	EXPECT_ERROR("pools = (\n { name = \"lab\"; url = \"https://a\"; username = \"r\"; }\n);\n",
		     "test.conf:2:", "no password source", "password_file", "password_env");
	/* jobs */
	EXPECT_ERROR(POOL "jobs = (\n { name = \"n\"; pool = \"other\"; vms = [ \"a\" ]; }\n);\n",
		     "test.conf:3:", "jobs[0] ('n').pool", "'other' is not a configured pool", "'lab'");
	EXPECT_ERROR(POOL "jobs = (\n { name = \"n\"; pool = \"lab\"; vms = [ \"a\" ];\n   mode = \"export\"; }\n);\n",
		     "test.conf:3:", "export_dir", "mode \"export\"");
	EXPECT_ERROR(POOL "jobs = ( { name = \"n\"; pool = \"lab\"; vms = [ ]; } );\n",
		     "test.conf:2:", "vms", "at least one");
	EXPECT_ERROR(POOL "jobs = ( { name = \"n\"; pool = \"lab\"; } );\n",
		     "test.conf:2:", "vms", "missing");
	EXPECT_ERROR(POOL "jobs = ( { name = \"n\"; pool = \"lab\"; vms = [ \"tag:\" ]; } );\n",
		     "vms", "empty");
	EXPECT_ERROR(POOL "jobs = ( { name = \"n\"; pool = \"lab\"; vms = [ \"a\" ]; mode = \"copy\"; } );\n",
		     "jobs[0] ('n').mode", "\"snapshot\" or \"export\"");
	EXPECT_ERROR(POOL "jobs = ( { name = \"n\"; pool = \"lab\"; vms = [ \"a\" ]; compression = \"xz\"; } );\n",
		     "compression", "\"zstd\", \"gzip\" or \"none\"");
	EXPECT_ERROR(POOL "jobs = ( { name = \"n\"; pool = \"lab\"; vms = [ \"a\" ]; retention = -1; } );\n",
		     "retention", "from 0 to");
	EXPECT_ERROR(POOL "jobs = ( { name = \"n\"; pool = \"lab\"; vms = [ \"a\" ];\n"
		     "  gate = { policy = \"wait\"; tolerance = 11; }; } );\n",
		     "test.conf:3:", "jobs[0] ('n').gate.tolerance", "from 0 to 10");
	EXPECT_ERROR(POOL "jobs = ( { name = \"n\"; pool = \"lab\"; vms = [ \"a\" ]; },\n"
		     "         { name = \"n\"; pool = \"lab\"; vms = [ \"b\" ]; } );\n",
		     "test.conf:3:", "'n' is used twice");
	EXPECT_ERROR("state_dir = 5;\n", "test.conf:1:", "state_dir", "expected a directory path");
}
END_TEST

START_TEST(unknown_keys)
{
	EXPECT_ERROR("gate = {\n  tolerence = 2;\n};\n", "test.conf:2:", "gate.tolerence",
		     "unknown key 'tolerence'", "did you mean 'tolerance'");
	EXPECT_ERROR("pools = ( { name = \"lab\"; url = \"https://a\"; username = \"r\";\n"
		     "  pasword_file = \"/x\"; } );\n",
		     "test.conf:2:", "pasword_file", "did you mean 'password_file'");
	EXPECT_ERROR("health = { stale_afer = \"3d\"; };\n", "did you mean 'stale_after'");
	EXPECT_ERROR("pools = ( { name = \"lab\"; url = \"https://a\"; username = \"r\";\n"
		     "  tls = { verfy = false; }; } );\n", "test.conf:2:", "tls.verfy", "'verify'");
	/* a key valid elsewhere: say where it belongs */
	EXPECT_ERROR("\nwait_timeout = \"2h\";\n", "test.conf:2:", "wait_timeout",
		     "belongs in the gate block");
	EXPECT_ERROR("health = { policy = \"wait\"; };\n", "health.policy", "belongs in the gate");
	/* nothing close: list the keys */
	EXPECT_ERROR("colour = \"blue\";\n", "test.conf:1:", "unknown key 'colour'", "pools, gate");
}
END_TEST

START_TEST(password_file_permissions)
{
	struct ct_config c;
	struct ct_err e;
	char *pw = write_file("lab.pass", "hunter2-secret\n", 0644);
	char *text = ct_xasprintf("pools = (\n { name = \"lab\"; url = \"https://a\"; username = \"root\";\n"
				  "   password_file = \"%s\"; }\n);\n", pw);

	ct_config_init(&c);
	ct_err_init(&e);
	ck_assert_int_eq(ct_config_load_string(&c, text, "test.conf", true, &e), -1);
	ck_assert_msg(strstr(e.msg, "test.conf:3:"), "%s", e.msg);
	ck_assert(strstr(e.msg, "password_file") != NULL);
	ck_assert(strstr(e.msg, "mode 0644") != NULL);
	ck_assert(strstr(e.msg, "chmod 600") != NULL);
	ck_assert(strstr(e.msg, pw) != NULL);
	ck_assert(strstr(e.msg, "hunter2") == NULL);
	ct_config_release(&c);

	/* group-readable is refused too */
	ck_assert_int_eq(chmod(pw, 0640), 0);
	ct_config_init(&c);
	ck_assert_int_eq(ct_config_load_string(&c, text, "test.conf", false, &e), -1);
	ck_assert(strstr(e.msg, "mode 0640") != NULL);
	ct_config_release(&c);

	/* 0600: accepted, one trailing newline stripped */
	ck_assert_int_eq(chmod(pw, 0600), 0);
	load_ok(&c, text, false);
	ck_assert_str_eq(c.pools[0].password, "hunter2-secret");
	ck_assert_str_eq(c.pools[0].password_file, pw);
	ck_assert_int_eq(c.n_warnings, 0);
	ct_config_release(&c);
	free(text);
	free(pw);

	/* CRLF and no newline at all */
	pw = write_file("crlf.pass", "pa ss\r\n", 0600);
	text = ct_xasprintf("pools = ( { name = \"lab\"; url = \"https://a\"; username = \"root\"; "
			    "password_file = \"%s\"; } );\n", pw);
	load_ok(&c, text, false);
	ck_assert_str_eq(c.pools[0].password, "pa ss");
	ct_config_release(&c);
	free(text);
	free(pw);

	/* empty, two lines, missing file */
	static const char *const bad[][2] = {
		{ "", "is empty" }, { "\n", "is empty" }, { "a\nb\n", "more than one line" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pw = write_file("bad.pass", bad[i][0], 0600);
		text = ct_xasprintf("pools = ( { name = \"lab\"; url = \"https://a\"; username = \"r\"; "
				    "password_file = \"%s\"; } );\n", pw);
		expect_error(text, false, (const char *const[]){ "test.conf:1:", bad[i][1], NULL });
		free(text);
		free(pw);
	}
	expect_error("pools = ( { name = \"lab\"; url = \"https://a\"; username = \"r\"; "
		     "password_file = \"/nonexistent/lab.pass\"; } );\n", true,
		     (const char *const[]){ "test.conf:1:", "cannot open '/nonexistent/lab.pass'",
					    "chmod 600", NULL });
}
END_TEST

START_TEST(password_file_relative_to_config)
{
	struct ct_config c;
	struct ct_err e;
	char *pw = write_file("rel.pass", "relpw\n", 0600);
	char *conf = write_file("chaintop.conf",
				"pools = ( { name = \"lab\"; url = \"https://a\"; username = \"root\";\n"
				"  password_file = \"rel.pass\"; } );\n"
				"state_dir = \"state\";\n", 0600);

	ct_config_init(&c);
	ct_err_init(&e);
	ck_assert_msg(ct_config_load(&c, conf, false, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(c.path, conf);
	ck_assert_str_eq(c.pools[0].password, "relpw");
	ck_assert_str_eq(c.pools[0].password_file, pw);
	char *sd = ct_xasprintf("%s/state", tmpdir);
	ck_assert_str_eq(c.state_dir, sd);
	free(sd);
	ct_config_release(&c);

	/* errors in a file carry the file's path */
	free(conf);
	conf = write_file("bad.conf", "gate = {\n  max_depth = 99;\n};\n", 0600);
	ct_config_init(&c);
	ck_assert_int_eq(ct_config_load(&c, conf, false, &e), -1);
	char *want = ct_xasprintf("%s:2: gate.max_depth", conf);
	ck_assert_msg(strstr(e.msg, want), "%s", e.msg);
	free(want);
	ct_config_release(&c);
	free(conf);
	free(pw);
}
END_TEST

START_TEST(password_env)
{
	struct ct_config c;
	struct ct_err e;

	setenv("CT_TEST_PW", "from-env", 1);
	load_ok(&c, POOL, false);
	ck_assert_str_eq(c.pools[0].password, "from-env");
	ck_assert_int_eq(c.n_warnings, 0);
	ct_config_release(&c);

	unsetenv("CT_TEST_PW");
	ct_config_init(&c);
	ct_err_init(&e);
	ck_assert_int_eq(ct_config_load_string(&c, "\n" POOL, "test.conf", false, &e), -1);
	ck_assert_msg(strstr(e.msg, "test.conf:2:"), "%s", e.msg);
	ck_assert(strstr(e.msg, "password_env") != NULL);
	ck_assert(strstr(e.msg, "CT_TEST_PW is not set") != NULL);
	ct_config_release(&c);

	/* the console may ask instead */
	load_ok(&c, POOL, true);
	ck_assert_ptr_null(c.pools[0].password);
	ck_assert_int_eq(c.n_warnings, 1);
	ck_assert(strstr(c.warnings[0], "CT_TEST_PW") != NULL);
	ct_config_release(&c);

	/* no source at all: the console prompts */
	load_ok(&c, "pools = ( { name = \"lab\"; url = \"https://a\"; username = \"root\"; } );\n", true);
	ck_assert_ptr_null(c.pools[0].password);
	ct_config_release(&c);
}
END_TEST

START_TEST(plain_password_warns)
{
	struct ct_config c;

	load_ok(&c, "pools = ( { name = \"lab\";\n  url = \"http://10.0.0.1\"; username = \"root\";\n"
		"  password = \"plain-secret\"; tls = { verify = false; }; } );\n", false);
	ck_assert_str_eq(c.pools[0].password, "plain-secret");
	ck_assert_int_eq(c.n_warnings, 3);    /* http://, verify = false, plain password */
	bool saw_http = false, saw_plain = false, saw_verify = false;
	for (int i = 0; i < c.n_warnings; i++) {
		ck_assert(strstr(c.warnings[i], "plain-secret") == NULL);
		ck_assert(strstr(c.warnings[i], "test.conf:") != NULL);
		if (strstr(c.warnings[i], "http://") && strstr(c.warnings[i], "test.conf:2:"))
			saw_http = true;
		if (strstr(c.warnings[i], "password_file") && strstr(c.warnings[i], "test.conf:3:"))
			saw_plain = true;
		if (strstr(c.warnings[i], "tls.verify"))
			saw_verify = true;
	}
	ck_assert(saw_http && saw_plain && saw_verify);
	ct_config_release(&c);
}
END_TEST

START_TEST(plain_http_allowed)
{
	struct ct_config c;

	/* a lab pool on http:// says so in its entry: no warning for it, one for the other */
	setenv("CT_TEST_PW", "s3cret", 1);
	load_ok(&c, "pools = ( { name = \"lab\"; url = \"http://10.0.0.1\"; username = \"root\";\n"
		"  password_env = \"CT_TEST_PW\"; tls = { allow_plain_http = true; }; },\n"
		"  { name = \"prod\"; url = \"http://10.0.0.2\"; username = \"root\";\n"
		"  password_env = \"CT_TEST_PW\"; } );\n", false);
	ck_assert(c.pools[0].tls.allow_plain_http);
	ck_assert(!c.pools[1].tls.allow_plain_http);
	ck_assert_int_eq(c.n_warnings, 1);
	ck_assert(strstr(c.warnings[0], "pool 'prod' uses http://") != NULL);
	ck_assert(strstr(c.warnings[0], "test.conf:3:") != NULL);
	ck_assert(strstr(c.warnings[0], "allow_plain_http") != NULL);
	ct_config_release(&c);
	unsetenv("CT_TEST_PW");
	/* a value that is not a boolean is refused, naming the key */
	EXPECT_ERROR("pools = ( { name = \"lab\"; url = \"http://10.0.0.1\"; username = \"root\";\n"
		     "  password_env = \"X\"; tls = { allow_plain_http = \"yes\"; }; } );\n",
		     "test.conf:2:", "allow_plain_http");
}
END_TEST

START_TEST(fingerprint_forms)
{
	static const char *const forms[] = {
		"sha256:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89",
		"abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
		"SHA256 Fingerprint=AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
	};
	for (size_t i = 0; i < 3; i++) {
		struct ct_config c;
		char *text = ct_xasprintf("pools = ( { name = \"lab\"; url = \"https://a\"; "
					  "username = \"r\"; tls = { fingerprint = \"%s\"; }; } );\n",
					  forms[i]);
		load_ok(&c, text, true);
		ck_assert_str_eq(c.pools[0].tls.fingerprint,
				 "sha256:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
				 "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89");
		ct_config_release(&c);
		free(text);
	}
}
END_TEST

START_TEST(limits_resolution)
{
	struct ct_config c;
	struct ct_gate_conf g;
	struct ct_health_conf h;

	setenv("CT_TEST_PW", "pw", 1);
	load_ok(&c,
		"gate = { tolerance = 1; max_depth = 25; min_free_percent = 10; };\n"
		"health = { warn_depth = 20; crit_depth = 28; };\n"
		"pools = ( { name = \"lab\"; url = \"https://a\"; username = \"r\"; password_env = \"CT_TEST_PW\";\n"
		"  max_depth = 20; warn_depth = 16;\n"
		"  srs = ( { match = \"nfs-*\"; tolerance = 2; crit_free_percent = 8; },\n"
		"          { match = \"0F1E2D3C-aaaa-4bbb-8ccc-000000000001\"; max_depth = 12; },\n"
		"          { match = \"nfs-fast\"; tolerance = 4; },\n"
		"          { match = \"slow-nfs\"; stall_after = 0; },\n"
		"          { match = \"ext-*\"; stall_after = \"2d\"; } ); },\n"
		"  { name = \"dr\"; url = \"https://b\"; username = \"r\"; password_env = \"CT_TEST_PW\"; } );\n",
		false);
	const struct ct_pool_conf *lab = ct_config_pool(&c, "lab");
	const struct ct_pool_conf *dr = ct_config_pool(&c, "dr");

	/* global only */
	ct_config_limits_for(&c, dr, "nfs-a", "u1", &g, &h);
	ck_assert_int_eq(g.tolerance, 1);
	ck_assert_int_eq(g.max_depth, 25);
	ck_assert_int_eq(h.warn_depth, 20);
	/* pool overrides */
	ct_config_limits_for(&c, lab, "local", "u2", &g, &h);
	ck_assert_int_eq(g.tolerance, 1);
	ck_assert_int_eq(g.max_depth, 20);
	ck_assert_int_eq(h.warn_depth, 16);
	ck_assert_int_eq(h.crit_depth, 28);
	/* SR by glob, over the pool's */
	ct_config_limits_for(&c, lab, "nfs-backup", "u3", &g, &h);
	ck_assert_int_eq(g.tolerance, 2);
	ck_assert_int_eq(g.max_depth, 20);
	ck_assert_int_eq(h.crit_free_percent, 8);
	ck_assert_int_eq(h.warn_depth, 16);
	ck_assert_int_eq(h.stall_after, 6 * 3600);
	/* per-SR stall_after: a duration, or 0 for an SR whose GC is never reported stalled */
	ct_config_limits_for(&c, lab, "ext-local", "u5", &g, &h);
	ck_assert_int_eq(h.stall_after, 2 * 86400);
	ct_config_limits_for(&c, lab, "slow-nfs", "u6", &g, &h);
	ck_assert_int_eq(h.stall_after, 0);
	ct_config_limits_for(&c, lab, "nfs-backup", "u3", &g, &h);
	/* the first match wins: nfs-fast matches "nfs-*" before "nfs-fast" */
	ct_config_limits_for(&c, lab, "nfs-fast", "u4", &g, &h);
	ck_assert_int_eq(g.tolerance, 2);
	/* SR by uuid, case-insensitive */
	ct_config_limits_for(&c, lab, "iscsi-1", "0f1e2d3c-AAAA-4bbb-8ccc-000000000001", &g, &h);
	ck_assert_int_eq(g.max_depth, 12);
	ck_assert_int_eq(g.tolerance, 1);
	/* no pool, NULL outputs */
	ct_config_limits_for(&c, NULL, "nfs-a", NULL, &g, NULL);
	ck_assert_int_eq(g.tolerance, 1);
	ct_config_limits_for(NULL, NULL, NULL, NULL, &g, &h);
	ck_assert_int_eq(g.max_depth, 25);
	ck_assert_int_eq(h.crit_depth, 28);
	ct_config_release(&c);
}
END_TEST

/* limits = { ... }: what a server may send, globally and per pool. */
START_TEST(reply_limits)
{
	struct ct_config c;

	setenv("CT_TEST_PW", "pw", 1);
	load_ok(&c, POOL, false);
	ck_assert_int_eq(c.pools[0].limits.reply_bytes, 1LL << 30);
	ck_assert_int_eq(c.pools[0].limits.reply_records, 500000);
	ck_assert_int_eq(c.pools[0].limits.stall_time, 20);
	ck_assert_int_eq(c.pools[0].limits.login_timeout, 10);
	ct_config_release(&c);
	load_ok(&c, "limits = { reply_bytes = \"2G\"; reply_records = 900000; stall_time = \"1m\"; };\n"
		"pools = ( { name = \"a\"; url = \"https://a\"; username = \"root\"; "
		"password_env = \"CT_TEST_PW\"; },\n"
		"  { name = \"b\"; url = \"https://b\"; username = \"root\"; password_env = \"CT_TEST_PW\"; "
		"limits = { reply_bytes = 8388608; login_timeout = \"30s\"; }; } );\n", false);
	ck_assert_int_eq(c.limits.reply_bytes, 2LL << 30);
	ck_assert_int_eq(c.pools[0].limits.reply_bytes, 2LL << 30);
	ck_assert_int_eq(c.pools[0].limits.reply_records, 900000);
	ck_assert_int_eq(c.pools[0].limits.stall_time, 60);
	ck_assert_int_eq(c.pools[1].limits.reply_bytes, 8 << 20);
	ck_assert_int_eq(c.pools[1].limits.reply_records, 900000);
	ck_assert_int_eq(c.pools[1].limits.login_timeout, 30);
	ct_config_release(&c);
	load_ok(&c, "limits = { reply_bytes = \"512 MiB\"; };\n", false);
	ck_assert_int_eq(c.limits.reply_bytes, 512LL << 20);
	ct_config_release(&c);
	EXPECT_ERROR("limits = { reply_bytes = \"lots\"; };\n", "test.conf:1:", "limits.reply_bytes",
		     "not a size");
	EXPECT_ERROR("limits = { reply_bytes = 10; };\n", "limits.reply_bytes", "out of range");
	EXPECT_ERROR("limits = { reply_records = 0; };\n", "limits.reply_records", "out of range");
	EXPECT_ERROR("limits = { stall = 5; };\n", "unknown key 'stall'");
}
END_TEST

START_TEST(search_order)
{
	struct ct_config c;
	struct ct_err e;
	char *xdg = ct_xasprintf("%s/xdg", tmpdir);

	setenv("XDG_CONFIG_HOME", xdg, 1);
	ct_config_init(&c);
	ct_err_init(&e);
	if (access("/etc/chaintop/chaintop.conf", F_OK) != 0) {
		ck_assert_int_eq(ct_config_load(&c, NULL, false, &e), -1);
		ck_assert(strstr(e.msg, "no configuration file found") != NULL);
		ck_assert(strstr(e.msg, "$CHAINTOP_CONFIG") != NULL);
		ck_assert_msg(strstr(e.msg, xdg), "%s", e.msg);
		ck_assert(strstr(e.msg, "/etc/chaintop/chaintop.conf") != NULL);
		ck_assert(strstr(e.msg, "conf/chaintop.conf.example") != NULL);
	}
	ct_config_release(&c);

	/* $XDG_CONFIG_HOME/chaintop/chaintop.conf */
	char *dir = ct_xasprintf("%s/chaintop", xdg);
	ck_assert_int_eq(mkdir(xdg, 0700), 0);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	free(write_file("xdg/chaintop/chaintop.conf", "gate = { tolerance = 3; };\n", 0600));
	ct_config_init(&c);
	ck_assert_msg(ct_config_load(&c, NULL, false, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(c.gate.tolerance, 3);
	ct_config_release(&c);

	/* $CHAINTOP_CONFIG wins over it */
	char *envf = write_file("env.conf", "gate = { tolerance = 4; };\n", 0600);
	setenv("CHAINTOP_CONFIG", envf, 1);
	ct_config_init(&c);
	ck_assert_msg(ct_config_load(&c, NULL, false, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(c.gate.tolerance, 4);
	ck_assert_str_eq(c.path, envf);
	ct_config_release(&c);

	/* -c wins over both; a missing -c file is an error naming it */
	char *cf = write_file("c.conf", "gate = { tolerance = 5; };\n", 0600);
	ct_config_init(&c);
	ck_assert_msg(ct_config_load(&c, cf, false, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(c.gate.tolerance, 5);
	ct_config_release(&c);
	ct_config_init(&c);
	ck_assert_int_eq(ct_config_load(&c, "/nonexistent/x.conf", false, &e), -1);
	ck_assert(strstr(e.msg, "/nonexistent/x.conf") != NULL);
	ck_assert(strstr(e.msg, "-c") != NULL);
	ct_config_release(&c);
	unsetenv("CHAINTOP_CONFIG");
	unsetenv("XDG_CONFIG_HOME");
	free(cf);
	free(envf);
	free(dir);
	free(xdg);
}
END_TEST

START_TEST(prompt_without_terminal)
{
	struct ct_pool_conf p;
	struct ct_err e;

	/* In a test run without a controlling terminal the prompt must fail cleanly. */
	if (access("/dev/tty", R_OK | W_OK) == 0) {
		int fd = open("/dev/tty", O_RDWR);
		if (fd >= 0) {
			close(fd);
			return;   /* a real terminal: do not block on it */
		}
	}
	memset(&p, 0, sizeof(p));
	p.name = "lab";
	ct_err_init(&e);
	ck_assert_int_eq(ct_config_prompt_password(&p, &e), -1);
	ck_assert(strstr(e.msg, "pool 'lab'") != NULL);
	ck_assert(strstr(e.msg, "password_file") != NULL);
	ck_assert_ptr_null(p.password);
}
END_TEST

/* The example file parses (with its password file and CA file pointed at real files) and
 * mentions every key the parser knows. */
START_TEST(example_file)
{
	static const char *const keys[] = {
		"pools", "name", "url", "username", "password_file", "password_env", "password",
		"tls", "verify", "ca_file", "fingerprint", "read_only", "srs", "match", "tolerance",
		"max_depth", "min_free_percent", "warn_depth", "crit_depth", "coalesce_warn",
		"crit_free_percent", "gate", "policy", "wait_timeout", "health", "stale_after",
		"stall_after", "jobs", "pool", "vms", "mode", "retention", "export_dir",
		"compression", "state_dir", "limits", "reply_bytes", "reply_records", "stall_time",
		"login_timeout", NULL
	};
	struct ct_config c;
	struct ct_err e;
	FILE *f = fopen("conf/chaintop.conf.example", "r");
	struct ct_sb sb;
	char buf[4096];
	size_t n;

	if (!f)
		f = fopen("../../conf/chaintop.conf.example", "r");
	ck_assert_msg(f != NULL, "conf/chaintop.conf.example not found from the working directory");
	ct_sb_init(&sb);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		ct_sb_add(&sb, buf, n);
	fclose(f);
	for (const char *const *k = keys; *k; k++) {
		char *pat = ct_xasprintf("%s =", *k);
		ck_assert_msg(strstr(sb.buf, pat), "the example does not mention '%s'", *k);
		free(pat);
	}

	char *pw = write_file("lab.pass", "example-pw\n", 0600);
	char *ca = write_file("ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
	struct ct_sb t;
	ct_sb_init(&t);
	for (const char *p = sb.buf; *p;) {
		if (!strncmp(p, "/etc/chaintop/lab.pass", 22)) {
			ct_sb_adds(&t, pw);
			p += 22;
		} else if (!strncmp(p, "/etc/ssl/certs/example-internal-ca.pem", 38)) {
			ct_sb_adds(&t, ca);
			p += 38;
		} else {
			ct_sb_add(&t, p++, 1);
		}
	}
	setenv("CHAINTOP_DR_PASSWORD", "dr-pw", 1);
	ct_config_init(&c);
	ct_err_init(&e);
	ck_assert_msg(ct_config_load_string(&c, t.buf, "chaintop.conf.example", false, &e) == 0,
		      "%s", e.msg);
	ck_assert_int_eq(c.n_pools, 2);
	ck_assert_str_eq(c.pools[0].password, "example-pw");
	ck_assert_str_eq(c.pools[1].password, "dr-pw");
	ck_assert_int_eq(c.n_jobs, 2);
	ck_assert_int_eq(c.n_warnings, 0);
	ct_config_release(&c);
	unsetenv("CHAINTOP_DR_PASSWORD");
	ct_sb_release(&t);
	ct_sb_release(&sb);
	free(pw);
	free(ca);
}
END_TEST

/* ui.bell: the console's bell on transitions, on unless the file says false. */
START_TEST(ui_bell)
{
	struct ct_config c;

	load_ok(&c, "ui = { bell = false; };\n", false);
	ck_assert(!c.ui_bell);
	ct_config_release(&c);
	load_ok(&c, "ui = { bell = true; };\n", false);
	ck_assert(c.ui_bell);
	ct_config_release(&c);
	EXPECT_ERROR("ui = { bell = \"no\"; };\n", "ui.bell", "expected true or false");
	EXPECT_ERROR("ui = { bel = false; };\n", "bel");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, ui_bell);
	tcase_add_test(tc, full_config);
	tcase_add_test(tc, job_gate_override);
	tcase_add_test(tc, durations);
	tcase_add_test(tc, plain_http_allowed);
	tcase_add_test(tc, errors_name_file_line_key);
	tcase_add_test(tc, unknown_keys);
	tcase_add_test(tc, password_file_permissions);
	tcase_add_test(tc, password_file_relative_to_config);
	tcase_add_test(tc, password_env);
	tcase_add_test(tc, plain_password_warns);
	tcase_add_test(tc, fingerprint_forms);
	tcase_add_test(tc, limits_resolution);
	tcase_add_test(tc, reply_limits);
	tcase_add_test(tc, search_order);
	tcase_add_test(tc, prompt_without_terminal);
	tcase_add_test(tc, example_file);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
