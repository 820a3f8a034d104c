/* options.h - declarative command-line options (as git's parse-options and tmux's
 * cmd_entry): each command describes its options in one table (long name, short letter,
 * argument kind, help, where the value goes); one parser built on getopt_long reads them,
 * and the usage and --help text are generated from the same table.
 *
 *	bool json = false;
 *	const struct ct_option opts[] = {
 *		CT_OPT_BOOL("json", 0, &json, "print one JSON document"),
 *		CT_OPT_END
 *	};
 *	static const struct ct_command cmd = { .name = "tree", .synopsis = "[--json]", ... };
 *	if (ct_options_parse(&cmd, opts, cli, &rc) < 0)
 *		return rc;
 *
 * Every command also takes the common options (-c FILE, --pool NAME, --read-only,
 * --no-color) and -h/--help, wherever they stand. Values are taken as given (strings):
 * the command checks what they mean and says what is wrong with them. Long options must be
 * written in full (no abbreviations: "--y" is not "--yes" for a command that deletes). */
#ifndef CT_CLI_OPTIONS_H
#define CT_CLI_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "cli/cli.h"

enum ct_opt_kind {
	CT_OPT_KIND_END,
	CT_OPT_KIND_BOOL,      /* no value: sets *(bool *)value */
	CT_OPT_KIND_STRING,    /* one value: *(const char **)value (the last one given wins) */
	CT_OPT_KIND_LIST,      /* repeatable: appended to *(const char ***)value, *count */
};

struct ct_option {
	const char *long_name;      /* without the dashes */
	int short_name;             /* a letter, or 0 */
	enum ct_opt_kind kind;
	const char *argh;           /* what the value is, in usage ("NAME", "DURATION") */
	const char *help;           /* lines separated by '\n' */
	void *value;
	int *count;                 /* CT_OPT_KIND_LIST: number of values */
};

#define CT_OPT_BOOL(l, s, v, h) { (l), (s), CT_OPT_KIND_BOOL, NULL, (h), (v), NULL }
#define CT_OPT_STRING(l, s, a, v, h) { (l), (s), CT_OPT_KIND_STRING, (a), (h), (v), NULL }
#define CT_OPT_LIST(l, s, a, v, n, h) { (l), (s), CT_OPT_KIND_LIST, (a), (h), (v), (n) }
#define CT_OPT_END { NULL, 0, CT_OPT_KIND_END, NULL, NULL, NULL, NULL }

struct ct_command {
	const char *name;           /* "tree"; NULL for the console (chaintop alone) */
	const char *synopsis;       /* after "usage: chaintop NAME "; lines after the first are
				     * indented under it, or, when they start with "or: ",
				     * another form ("   or: chaintop NAME ...") */
	const char *description;    /* paragraphs before the options, or NULL */
	const char *footer;         /* after the options (exit status), or NULL */
	int max_args;               /* positional arguments allowed (-1: any number) */
	int usage_exit;             /* exit code of a usage error (2; check: 3, UNKNOWN) */
	bool no_common;             /* needs no configuration (verify): its help does not point
				     * to the common options (they are still accepted) */
	void (*more_help)(FILE *f); /* printed after the description (the console: commands) */
};

/* Parse cli->argv (cli->argv[0] is the command name, or the program for the console)
 * against the common options and opts. Returns 0 when the command should run: its
 * positional arguments are then cli->argv[cli->first_arg .. cli->argc), in the order given
 * (for the console, cmd->name NULL, parsing stops at the first one: the command's name).
 * Returns -1 when the process should exit with *exit_code: 0 after --help (usage on
 * stdout), cmd->usage_exit after a usage error (which command, which option, what is
 * wrong, then the usage on stderr). cli->pools grows with each --pool (free it). */
int ct_options_parse(const struct ct_command *cmd, const struct ct_option *opts,
		     struct ct_cli *cli, int *exit_code);

/* The generated usage: synopsis, description, options with their help, footer. */
void ct_options_usage(FILE *f, const struct ct_command *cmd, const struct ct_option *opts);

#endif
