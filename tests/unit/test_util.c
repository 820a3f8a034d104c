/* Unit tests for util.c and err.c: durations, XAPI times, sanitising, maps, errors. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/util.h"

START_TEST(durations)
{
	long long s;

	ck_assert_int_eq(ct_parse_duration("30s", &s), 0);
	ck_assert_int_eq(s, 30);
	ck_assert_int_eq(ct_parse_duration("15m", &s), 0);
	ck_assert_int_eq(s, 900);
	ck_assert_int_eq(ct_parse_duration("2h", &s), 0);
	ck_assert_int_eq(s, 7200);
	ck_assert_int_eq(ct_parse_duration("14d", &s), 0);
	ck_assert_int_eq(s, 14 * 86400);
	ck_assert_int_eq(ct_parse_duration("1d 2h", &s), 0);
	ck_assert_int_eq(s, 86400 + 7200);
	ck_assert_int_eq(ct_parse_duration("90", &s), 0);
	ck_assert_int_eq(s, 90);
	ck_assert_int_eq(ct_parse_duration("", &s), -1);
	ck_assert_int_eq(ct_parse_duration("5x", &s), -1);
	ck_assert_int_eq(ct_parse_duration("-5m", &s), -1);
	ck_assert_int_eq(ct_parse_duration("99999999999999d", &s), -1);
	/* with a unit required: "3" would mean 3 seconds */
	ck_assert_int_eq(ct_parse_duration_unit("3", &s), -2);
	ck_assert_int_eq(ct_parse_duration_unit("1d 2", &s), -2);
	ck_assert_int_eq(ct_parse_duration_unit("3d", &s), 0);
	ck_assert_int_eq(s, 3 * 86400);
	ck_assert_int_eq(ct_parse_duration_unit("1d 2h", &s), 0);
	ck_assert_int_eq(ct_parse_duration_unit("soon", &s), -1);
}
END_TEST

START_TEST(xapi_times)
{
	time_t t;
	char buf[32];

	ck_assert_int_eq(ct_parse_xapi_time("20250319T04:16:24Z", &t), 0);
	ck_assert_int_eq((long long)t, 1742357784LL);
	ct_format_xapi_time(t, buf, sizeof(buf));
	ck_assert_str_eq(buf, "20250319T04:16:24Z");
	/* no zone = UTC; dashes allowed; offsets */
	ck_assert_int_eq(ct_parse_xapi_time("20250319T04:16:24", &t), 0);
	ck_assert_int_eq((long long)t, 1742357784LL);
	ck_assert_int_eq(ct_parse_xapi_time("2025-03-19T04:16:24Z", &t), 0);
	ck_assert_int_eq((long long)t, 1742357784LL);
	ck_assert_int_eq(ct_parse_xapi_time("20250319T06:16:24+02:00", &t), 0);
	ck_assert_int_eq((long long)t, 1742357784LL);
	ck_assert_int_eq(ct_parse_xapi_time("19700101T00:00:00Z", &t), 0);
	ck_assert_int_eq((long long)t, 0);
	ck_assert_int_eq(ct_parse_xapi_time("2025031904:16:24Z", &t), -1);
	ck_assert_int_eq(ct_parse_xapi_time("garbage", &t), -1);
	ck_assert_int_eq(ct_parse_xapi_time("20251319T04:16:24Z", &t), -1);
}
END_TEST

START_TEST(sanitize)
{
	char out[64];

	ck_assert_str_eq(ct_sanitize("web01", out, sizeof(out)), "web01");
	ck_assert_str_eq(ct_sanitize("a\x1b[2Jb", out, sizeof(out)), "a\\x1b[2Jb");
	ck_assert_str_eq(ct_sanitize("line\nnext", out, sizeof(out)), "line\\nnext");
	ck_assert_str_eq(ct_sanitize("caf\xc3\xa9", out, sizeof(out)), "caf\xc3\xa9");
	ck_assert_str_eq(ct_sanitize("bad\xff", out, sizeof(out)), "bad\\xff");
	ck_assert_str_eq(ct_sanitize("c1\xc2\x9b" "x", out, sizeof(out)), "c1\\u009bx");
	/* cut on a character boundary, never half a sequence or half an escape */
	ck_assert_str_eq(ct_sanitize("\xc3\xa9\xc3\xa9", out, 4), "\xc3\xa9");
	ck_assert_str_eq(ct_sanitize("ab\x01", out, 5), "ab");
	ck_assert_str_eq(ct_sanitize(NULL, out, sizeof(out)), "");
}
END_TEST

/* Invisible and direction-changing characters would let a name disguise itself
 * ("backup\u202egpj.exe", "web\u200b01" beside "web01"): shown escaped. */
START_TEST(sanitize_invisible)
{
	char out[96];

	ck_assert_str_eq(ct_sanitize("ab\xe2\x80\xae" "cd", out, sizeof(out)), "ab\\u202ecd");
	ck_assert_str_eq(ct_sanitize("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", out,
				     sizeof(out)), "\\u202a\\u202b\\u202c\\u202d");
	ck_assert_str_eq(ct_sanitize("\xe2\x81\xa6x\xe2\x81\xa9", out, sizeof(out)),
			 "\\u2066x\\u2069");
	ck_assert_str_eq(ct_sanitize("web\xe2\x80\x8b" "01", out, sizeof(out)), "web\\u200b01");
	ck_assert_str_eq(ct_sanitize("\xe2\x80\x8c\xe2\x80\x8d\xe2\x80\x8e\xe2\x80\x8f", out,
				     sizeof(out)), "\\u200c\\u200d\\u200e\\u200f");
	ck_assert_str_eq(ct_sanitize("\xe2\x81\xa0\xef\xbb\xbfz", out, sizeof(out)),
			 "\\u2060\\ufeffz");
	/* soft hyphen, Arabic letter mark, line separator, a language tag */
	ck_assert_str_eq(ct_sanitize("a\xc2\xad\xd8\x9c\xe2\x80\xa8\xf3\xa0\x80\x81", out,
				     sizeof(out)), "a\\u00ad\\u061c\\u2028\\U000e0001");
	/* visible non-ASCII stays as it is */
	ck_assert_str_eq(ct_sanitize("\xe2\x80\x94\xe2\x82\xac\xe6\x97\xa5", out, sizeof(out)),
			 "\xe2\x80\x94\xe2\x82\xac\xe6\x97\xa5");
	/* cut before an escape that does not fit whole */
	ck_assert_str_eq(ct_sanitize("ab\xe2\x80\xae", out, 6), "ab");
}
END_TEST

/* state_dir: 0700 whatever the umask, a group/world-writable one refused, private files
 * 0600 and never opened through a symbolic link. */
START_TEST(state_dir_private)
{
	char base[] = "/tmp/ct-util-XXXXXX", dir[128], file[160], link_path[160];
	struct ct_err e;
	struct stat st;
	mode_t old = umask(0);
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(dir, sizeof(dir), "%s/a/b", base);
	ct_err_init(&e);
	ck_assert_msg(ct_state_dir_ready(dir, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	snprintf(file, sizeof(file), "%s/a", base);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	/* files: 0600 under umask 0, an existing 0644 one set to 0600 */
	snprintf(file, sizeof(file), "%s/stall.json", dir);
	fd = ct_open_private(file, O_CREAT | O_EXCL);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	close(fd);
	ck_assert_int_eq(chmod(file, 0644), 0);
	fd = ct_open_private(file, O_RDWR | O_CREAT);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	/* a symbolic link is not followed */
	snprintf(link_path, sizeof(link_path), "%s/x.lock", dir);
	ck_assert_int_eq(symlink(file, link_path), 0);
	errno = 0;
	ck_assert_int_eq(ct_open_private(link_path, O_RDWR | O_CREAT), -1);
	ck_assert_int_eq(errno, ELOOP);
	/* a world-writable state directory is refused, naming it and the fix */
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_int_eq(ct_state_dir_ready(dir, &e), -1);
	ck_assert_int_eq(e.code, CT_E_CONFIG);
	ck_assert_msg(strstr(e.msg, dir) && strstr(e.msg, "0777") && strstr(e.msg, "chmod 700"),
		      "%s", e.msg);
	ck_assert_int_eq(chmod(dir, 0770), 0);
	ck_assert_int_eq(ct_state_dir_ready(dir, &e), -1);
	umask(old);
	unlink(link_path);
	unlink(file);
	rmdir(dir);
	snprintf(file, sizeof(file), "%s/a", base);
	rmdir(file);
	rmdir(base);
}
END_TEST

START_TEST(maps_and_sets)
{
	struct ct_map m = { 0 }, c = { 0 };
	struct ct_strset s = { 0 };

	ct_map_set(&m, "vhd-parent", "abc");
	ct_map_set(&m, "paused", "true");
	ct_map_set(&m, "vhd-parent", "def");
	ck_assert_uint_eq(m.n, 2);
	ck_assert_str_eq(ct_map_get(&m, "vhd-parent"), "def");
	ck_assert_ptr_null(ct_map_get(&m, "missing"));
	ct_map_copy(&c, &m);
	ck_assert_str_eq(ct_map_get(&c, "paused"), "true");
	for (int i = 0; i < 100; i++)
		ct_strset_add(&s, i % 2 ? "OpaqueRef:a" : "OpaqueRef:b");
	ck_assert_uint_eq(s.n, 100);
	ck_assert(ct_strset_has(&s, "OpaqueRef:a"));
	ck_assert(!ct_strset_has(&s, "OpaqueRef:c"));
	ct_map_release(&m);
	ct_map_release(&c);
	ct_strset_release(&s);
}
END_TEST

START_TEST(string_builder)
{
	struct ct_sb sb;
	char *s;

	ct_sb_init(&sb);
	for (int i = 0; i < 1000; i++)
		ct_sb_addf(&sb, "%d,", i);
	ck_assert_uint_eq(sb.len, strlen(sb.buf));
	s = ct_sb_detach(&sb);
	ck_assert(!strncmp(s, "0,1,2,", 6));
	free(s);
	ct_sb_release(&sb);
}
END_TEST

START_TEST(formats)
{
	char buf[32];

	ct_format_bytes(10737418240LL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "10.0 GiB");
	ct_format_bytes(512, buf, sizeof(buf));
	ck_assert_str_eq(buf, "512 B");
	ct_format_duration(3 * 86400 + 4 * 3600, buf, sizeof(buf));
	ck_assert_str_eq(buf, "3d04h");
	ct_format_duration(45, buf, sizeof(buf));
	ck_assert_str_eq(buf, "45s");
	ck_assert(ct_glob_match("web-*", "web-01"));
	ck_assert(!ct_glob_match("web-*", "db-01"));
}
END_TEST

START_TEST(xapi_errors)
{
	struct ct_err e;
	const char *desc[] = { "SR_BACKEND_FAILURE_44", "", "There is insufficient space", "" };
	const char *unknown[] = { "SOMETHING_NEW", "OpaqueRef:1" };

	ct_err_init(&e);
	ck_assert_int_eq(ct_err_set_xapi(&e, desc, 4), -1);
	ck_assert_int_eq(e.code, CT_E_XAPI);
	ck_assert_str_eq(e.xapi_code, "SR_BACKEND_FAILURE_44");
	ck_assert_int_eq(e.n_params, 3);
	ck_assert_str_eq(e.params[1], "There is insufficient space");
	ck_assert(strstr(e.msg, "SR_BACKEND_FAILURE_44") != NULL);
	ck_assert(strstr(e.msg, "insufficient space") != NULL);
	ck_assert(ct_err_is(&e, "SR_BACKEND_FAILURE_44"));
	ct_err_set_xapi(&e, unknown, 2);
	ck_assert(strstr(e.msg, "SOMETHING_NEW") != NULL);
	ck_assert(strstr(e.msg, "OpaqueRef:1") != NULL);
	ct_err_set(&e, CT_E_NET, "connection refused by %s", "10.0.0.1");
	ct_err_prefix(&e, "pool '%s'", "lab");
	ck_assert_str_eq(e.msg, "pool 'lab': connection refused by 10.0.0.1");
	ck_assert_str_eq(e.xapi_code, "");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, durations);
	tcase_add_test(tc, xapi_times);
	tcase_add_test(tc, sanitize);
	tcase_add_test(tc, sanitize_invisible);
	tcase_add_test(tc, state_dir_private);
	tcase_add_test(tc, maps_and_sets);
	tcase_add_test(tc, string_builder);
	tcase_add_test(tc, formats);
	tcase_add_test(tc, xapi_errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
