/* cli.h - the subcommands (no curses). Each takes the arguments after the command name
 * and returns the process exit code. Each parses its options with cli/options.h, which
 * also fills the common options (-c FILE, --pool NAME, --read-only, --no-color) in. */
#ifndef CT_CLI_H
#define CT_CLI_H

#include <stdbool.h>

struct ct_cli {
	const char *config_path;   /* -c FILE or NULL */
	const char **pools;        /* --pool NAME (repeatable) */
	int n_pools;
	bool read_only;            /* --read-only */
	bool no_color;             /* --no-color or NO_COLOR set */
	int argc;                  /* the command's arguments (cli/options.h parses them) */
	char **argv;               /* argv[0] is the command name */
	int first_arg;             /* after parsing: the first positional argument */
};

int ct_cmd_tree(struct ct_cli *cli);
int ct_cmd_events(struct ct_cli *cli);
int ct_cmd_check(struct ct_cli *cli);
int ct_cmd_backup(struct ct_cli *cli);
int ct_cmd_prune(struct ct_cli *cli);
int ct_cmd_report(struct ct_cli *cli);
int ct_cmd_scan(struct ct_cli *cli);
int ct_cmd_verify(struct ct_cli *cli);
int ct_cmd_serve(struct ct_cli *cli);

#endif
