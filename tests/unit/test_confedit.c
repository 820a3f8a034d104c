/* Unit tests for confedit.c: the pin goes into the right pool entry (multi-line, one-line,
 * with and without a tls group), comments, layout and mode stay, a symlink is followed, and
 * an entry that cannot be found unambiguously is refused with the file unchanged. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/confedit.h"
#include "config/config.h"
#include "lib/util.h"

#define FP "sha256:3F:A1:07:5C:9B:E2:44:81:0D:6E:C3:72:19:B8:5A:F0:2C:94:E7:61:08:DB:35:4F:A2:C6:7E:13:90:5B:D8:24"

static char tmpdir[256];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/ct-confedit-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	setenv("CT_TEST_PW", "secret", 1);
}

static void teardown(void)
{
	char *cmd = ct_xasprintf("rm -rf '%s'", tmpdir);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

static char *pin(const char *text, const char *pool)
{
	struct ct_err e;
	char *out;

	ct_err_init(&e);
	out = ct_confedit_pin_text(text, pool, FP, &e);
	ck_assert_msg(out != NULL, "%s", e.msg);
	return out;
}

static void refused(const char *text, const char *pool, const char *why)
{
	struct ct_err e;

	ct_err_init(&e);
	ck_assert_ptr_null(ct_confedit_pin_text(text, pool, FP, &e));
	ck_assert_msg(strstr(e.msg, why), "%s", e.msg);
}

START_TEST(multi_line_entry)
{
	const char *in =
		"# pools\n"
		"pools = (\n"
		"\t{\n"
		"\t\tname = \"lab\";   # the lab\n"
		"\t\turl = \"https://10.0.0.1\";\n"
		"\t\tpassword_env = \"CT_TEST_PW\";\n"
		"\t},\n"
		"\t{\n"
		"\t\tname = \"prod\";\n"
		"\t\t/* { name = \"lab\"; } in a comment */\n"
		"\t\turl = \"https://10.0.0.2\"; // \"}\" here\n"
		"\t\tpassword_env = \"CT_TEST_PW\";\n"
		"\t}\n"
		");\n";
	char *out = pin(in, "prod");

	ck_assert_str_eq(out,
		"# pools\n"
		"pools = (\n"
		"\t{\n"
		"\t\tname = \"lab\";   # the lab\n"
		"\t\turl = \"https://10.0.0.1\";\n"
		"\t\tpassword_env = \"CT_TEST_PW\";\n"
		"\t},\n"
		"\t{\n"
		"\t\tname = \"prod\";\n"
		"\t\t/* { name = \"lab\"; } in a comment */\n"
		"\t\turl = \"https://10.0.0.2\"; // \"}\" here\n"
		"\t\tpassword_env = \"CT_TEST_PW\";\n"
		"\t\ttls = { fingerprint = \"" FP "\"; };\n"
		"\t}\n"
		");\n");
	free(out);
}
END_TEST

START_TEST(one_line_entry)
{
	const char *in = "pools = (\n  { name = \"lab\"; url = \"https://a\"; },\n"
			 "  { name: \"b\", url: \"https://b\" }\n);\n";
	char *out = pin(in, "lab"), *out2 = pin(in, "b");

	ck_assert_str_eq(out, "pools = (\n  { name = \"lab\"; url = \"https://a\"; tls = { fingerprint = \""
			 FP "\"; }; },\n  { name: \"b\", url: \"https://b\" }\n);\n");
	ck_assert_str_eq(out2, "pools = (\n  { name = \"lab\"; url = \"https://a\"; },\n"
			 "  { name: \"b\", url: \"https://b\" tls = { fingerprint = \"" FP "\"; }; }\n);\n");
	free(out);
	free(out2);
}
END_TEST

START_TEST(into_tls_group)
{
	const char *in = "pools = ( {\n    name = \"lab\";\n    tls = {\n        verify = true;\n    };\n"
			 "}, { name = \"b\"; tls = { verify = true; }; } );\n";
	char *out = pin(in, "lab"), *out2 = pin(in, "b");

	ck_assert_str_eq(out, "pools = ( {\n    name = \"lab\";\n    tls = {\n        verify = true;\n"
			 "    \tfingerprint = \"" FP "\";\n    };\n}, { name = \"b\"; tls = { verify = true; }; } );\n");
	ck_assert_str_eq(out2, "pools = ( {\n    name = \"lab\";\n    tls = {\n        verify = true;\n    };\n"
			 "}, { name = \"b\"; tls = { verify = true; fingerprint = \"" FP "\"; }; } );\n");
	free(out);
	free(out2);
}
END_TEST

START_TEST(refusals)
{
	refused("pools = ( { name = \"lab\"; }, { name = \"lab\"; } );", "lab",
		"2 pool entries are named 'lab'");
	refused("pools = ( { name = \"lab\"; } );", "prod", "no entry named 'prod'");
	/* a name elsewhere is no pool entry */
	refused("jobs = ( { name = \"prod\"; } );\npools = ( { name = \"lab\"; } );", "prod",
		"no entry named 'prod'");
	refused("pools = ( { name = \"lab\"; tls = { fingerprint = \"sha256:00\"; }; } );", "lab",
		"sets a fingerprint already");
	refused("pools = ( { name = \"lab\"; );", "lab", "does not match");
}
END_TEST

START_TEST(file_mode_and_symlink)
{
	char *path = ct_xasprintf("%s/real.conf", tmpdir), *link = ct_xasprintf("%s/c.conf", tmpdir);
	const char *text = "# keep me\npools = (\n  {\n    name = \"lab\";\n    url = \"https://10.0.0.1\";\n    username = \"root\";\n"
			   "    password_env = \"CT_TEST_PW\";\n  }\n);\n";
	struct ct_config c;
	struct ct_err e;
	struct stat st;
	FILE *f = fopen(path, "w");
	char buf[1024];
	size_t n;

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(symlink(path, link), 0);
	ct_err_init(&e);
	ck_assert_msg(ct_confedit_pin_file(link, "lab", FP, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));   /* the link stays a link */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0640);
	f = fopen(path, "r");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "# keep me\n"));
	ck_assert_ptr_nonnull(strstr(buf, "    tls = { fingerprint = \"" FP "\"; };\n  }\n"));
	ct_config_init(&c);
	ck_assert_msg(ct_config_load(&c, link, false, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(ct_config_pool(&c, "lab")->tls.fingerprint, FP);
	ct_config_release(&c);
	/* a second pin is refused and the file stays as it is */
	ck_assert_int_eq(ct_confedit_pin_file(link, "lab", FP, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "was not changed"));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0640);
	free(path);
	free(link);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("confedit");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, multi_line_entry);
	tcase_add_test(tc, one_line_entry);
	tcase_add_test(tc, into_tls_group);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, file_mode_and_symlink);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
