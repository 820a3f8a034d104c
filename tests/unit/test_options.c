/* Unit tests for cli/options.c: the values each kind of option fills in, repeated options,
 * the common options before and after the command, positional arguments in the order given,
 * "--", --help, and the exit codes of usage errors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"

static const struct ct_command console = {
	.name = NULL, .synopsis = "[-c FILE]", .max_args = -1, .usage_exit = 2,
};
static const struct ct_command cmd = {
	.name = "demo", .synopsis = "[--flag] [--name NAME] [--item X]... [ARG]...",
	.description = "A command of the tests.\n", .footer = "Exit status: 0.\n",
	.max_args = 2, .usage_exit = 2,
};
static const struct ct_command monitor = {
	.name = "monitor", .synopsis = "", .max_args = 0, .usage_exit = 3,
};

struct vals {
	bool flag;
	const char *name;
	const char **items;
	int n_items;
};

/* chaintop ARGS... as main.c parses it: the console's options, then the command's. */
static int parse(const struct ct_command *c, struct ct_cli *cli, struct vals *v, int *exit_code,
		 char **argv)
{
	static const struct ct_option none[] = { CT_OPT_END };
	const struct ct_option opts[] = {
		CT_OPT_BOOL("flag", 'f', &v->flag, "a flag"),
		CT_OPT_STRING("name", 'N', "NAME", &v->name, "a name"),
		CT_OPT_LIST("item", 0, "X", &v->items, &v->n_items, "an item (repeatable)"),
		CT_OPT_END
	};
	int argc = 0;

	while (argv[argc])
		argc++;
	memset(cli, 0, sizeof(*cli));
	memset(v, 0, sizeof(*v));
	cli->argc = argc;
	cli->argv = argv;
	if (ct_options_parse(&console, none, cli, exit_code) < 0)
		return -1;
	ck_assert_int_lt(cli->first_arg, argc);
	cli->argc = argc - cli->first_arg;
	cli->argv = argv + cli->first_arg;
	return ct_options_parse(c, opts, cli, exit_code);
}

static void release(struct ct_cli *cli, struct vals *v)
{
	free(cli->pools);
	free(v->items);
}

START_TEST(values_and_order)
{
	char *argv[] = { "chaintop", "-c", "a.conf", "--pool", "p1", "demo", "one", "--flag",
			 "--name=n1", "--pool=p2", "--item", "x", "two", "--item=y", "--read-only",
			 NULL };
	struct ct_cli cli;
	struct vals v;
	int rc = -1;

	ck_assert_int_eq(parse(&cmd, &cli, &v, &rc, argv), 0);
	ck_assert_str_eq(cli.config_path, "a.conf");
	ck_assert_int_eq(cli.n_pools, 2);
	ck_assert_str_eq(cli.pools[0], "p1");
	ck_assert_str_eq(cli.pools[1], "p2");
	ck_assert_ptr_null(cli.pools[2]);
	ck_assert(cli.read_only);
	ck_assert(!cli.no_color);
	ck_assert(v.flag);
	ck_assert_str_eq(v.name, "n1");
	ck_assert_int_eq(v.n_items, 2);
	ck_assert_str_eq(v.items[0], "x");
	ck_assert_str_eq(v.items[1], "y");
	/* the positional arguments, in the order given, after the options */
	ck_assert_int_eq(cli.argc - cli.first_arg, 2);
	ck_assert_str_eq(cli.argv[cli.first_arg], "one");
	ck_assert_str_eq(cli.argv[cli.first_arg + 1], "two");
	release(&cli, &v);
}
END_TEST

START_TEST(short_forms_and_dashdash)
{
	char *argv[] = { "chaintop", "demo", "-f", "-N", "n2", "--", "--flag", NULL };
	struct ct_cli cli;
	struct vals v;
	int rc = -1;

	ck_assert_int_eq(parse(&cmd, &cli, &v, &rc, argv), 0);
	ck_assert(v.flag);
	ck_assert_str_eq(v.name, "n2");
	ck_assert_int_eq(cli.argc - cli.first_arg, 1);
	ck_assert_str_eq(cli.argv[cli.first_arg], "--flag");   /* after "--": an argument */
	release(&cli, &v);
}
END_TEST

START_TEST(last_value_wins)
{
	char *argv[] = { "chaintop", "demo", "--name", "a", "--name", "b", NULL };
	struct ct_cli cli;
	struct vals v;
	int rc = -1;

	ck_assert_int_eq(parse(&cmd, &cli, &v, &rc, argv), 0);
	ck_assert_str_eq(v.name, "b");
	release(&cli, &v);
}
END_TEST

START_TEST(help_and_usage_errors)
{
	char *help[] = { "chaintop", "demo", "--help", NULL };
	char *unknown[] = { "chaintop", "demo", "--nope", NULL };
	char *abbrev[] = { "chaintop", "demo", "--fla", NULL };
	char *abbrev_eq[] = { "chaintop", "demo", "--na=x", NULL };
	char *missing[] = { "chaintop", "demo", "--name", NULL };
	char *valued[] = { "chaintop", "demo", "--flag=1", NULL };
	char *extra[] = { "chaintop", "demo", "a", "b", "c", NULL };
	char *mon[] = { "chaintop", "monitor", "--nope", NULL };
	char *before[] = { "chaintop", "--nope", "demo", NULL };
	struct ct_cli cli;
	struct vals v;
	int rc = -1;

	ck_assert_int_eq(parse(&cmd, &cli, &v, &rc, help), -1);
	ck_assert_int_eq(rc, 0);
	release(&cli, &v);
	char **bad[] = { unknown, abbrev, abbrev_eq, missing, valued, extra, before };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = -1;
		ck_assert_int_eq(parse(&cmd, &cli, &v, &rc, bad[i]), -1);
		ck_assert_msg(rc == 2, "case %zu: exit %d", i, rc);
		release(&cli, &v);
	}
	rc = -1;
	ck_assert_int_eq(parse(&monitor, &cli, &v, &rc, mon), -1);
	ck_assert_int_eq(rc, 3);   /* a monitoring plugin's usage error is UNKNOWN */
	release(&cli, &v);
}
END_TEST

START_TEST(usage_from_the_table)
{
	const struct ct_option opts[] = {
		CT_OPT_BOOL("flag", 'f', NULL, "a flag"),
		CT_OPT_STRING("name", 0, "NAME", NULL, "a name\nover two lines"),
		CT_OPT_STRING("a-very-long-option-name", 0, "VALUE", NULL, "help below it"),
		CT_OPT_END
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ct_options_usage(f, &cmd, opts);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "usage: chaintop demo [--flag] [--name NAME]"));
	ck_assert_ptr_nonnull(strstr(buf, "\nA command of the tests.\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\n  -f, --flag   a flag\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\n  --name NAME  a name\n               over two lines\n"));
	/* longer than the help column: the help goes under it */
	ck_assert_ptr_nonnull(strstr(buf, "\n  --a-very-long-option-name VALUE\n               help below it\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nExit status: 0.\n"));
	free(buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, values_and_order);
	tcase_add_test(tc, short_forms_and_dashdash);
	tcase_add_test(tc, last_value_wins);
	tcase_add_test(tc, help_and_usage_errors);
	tcase_add_test(tc, usage_from_the_table);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
