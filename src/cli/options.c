/* options.c - one option parser for every command (see options.h), on getopt_long. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "lib/util.h"

/* Options a long name alone has get getopt values above any character. */
#define LONG_ONLY_BASE 256
/* Help starts in this column unless every option is shorter. */
#define HELP_COLUMN_MAX 22

static void common_options(struct ct_cli *cli, struct ct_option out[5])
{
	const struct ct_option common[] = {
		CT_OPT_STRING("config", 'c', "FILE", &cli->config_path,
			      "configuration file (default: $CHAINTOP_CONFIG,\n"
			      "$XDG_CONFIG_HOME/chaintop/chaintop.conf, /etc/chaintop/chaintop.conf)"),
		CT_OPT_LIST("pool", 0, "NAME", &cli->pools, &cli->n_pools,
			    "only this pool (repeatable)"),
		CT_OPT_BOOL("read-only", 0, &cli->read_only, "never change anything on the pools"),
		CT_OPT_BOOL("no-color", 0, &cli->no_color,
			    "no colours (NO_COLOR in the environment does the same)"),
		CT_OPT_END
	};

	memcpy(out, common, sizeof(common));
}

static const struct ct_option help_option =
	CT_OPT_BOOL("help", 'h', NULL, "show this help and exit");

static const char *prog_name(const struct ct_command *cmd, char *buf, size_t len)
{
	snprintf(buf, len, "chaintop%s%s", cmd->name ? " " : "", cmd->name ? cmd->name : "");
	return buf;
}

/* "-f, --format FORMAT" or "--json" */
static void left_part(const struct ct_option *o, char *buf, size_t len)
{
	char s[8] = "";

	if (o->short_name)
		snprintf(s, sizeof(s), "-%c, ", o->short_name);
	snprintf(buf, len, "%s--%s%s%s", s, o->long_name, o->argh ? " " : "",
		 o->argh ? o->argh : "");
}

static void help_lines(FILE *f, const struct ct_option *opts, int col)
{
	for (const struct ct_option *o = opts; o->kind != CT_OPT_KIND_END; o++) {
		char left[128];
		const char *h = o->help, *nl;
		int w;

		left_part(o, left, sizeof(left));
		w = (int)strlen(left);
		fprintf(f, "  %s", left);
		if (w > col) {
			fputc('\n', f);
			w = -2;
		}
		do {
			nl = strchr(h, '\n');
			fprintf(f, "%*s%.*s\n", col - w + 2, "", nl ? (int)(nl - h) : (int)strlen(h), h);
			w = -2;
			h = nl ? nl + 1 : NULL;
		} while (h);
	}
}

static int column(const struct ct_option *opts, int col)
{
	for (const struct ct_option *o = opts; o->kind != CT_OPT_KIND_END; o++) {
		char left[128];
		int w;

		left_part(o, left, sizeof(left));
		w = (int)strlen(left);
		if (w > col && w <= HELP_COLUMN_MAX)
			col = w;
	}
	return col;
}

void ct_options_usage(FILE *f, const struct ct_command *cmd, const struct ct_option *opts)
{
	struct ct_cli dummy = { 0 };
	struct ct_option common[5];
	char prog[64];
	const char *s = cmd->synopsis, *nl;
	int indent, col;

	prog_name(cmd, prog, sizeof(prog));
	indent = (int)strlen("usage: ") + (int)strlen(prog) + 1;
	fprintf(f, "usage: %s", prog);
	for (bool first = true; s; first = false) {
		nl = strchr(s, '\n');
		if (first)
			fputc(' ', f);
		else if (cmd->name && !strncmp(s, "or: ", 4))   /* another form, as git says it */
			fprintf(f, "%*sor: %s ", (int)strlen("usage: ") - 4, "", prog), s += 4;
		else if (cmd->name)
			fprintf(f, "%*s", indent, "");
		else   /* the console's other forms: "       chaintop COMMAND ..." */
			fprintf(f, "%*s%s ", (int)strlen("usage: "), "", prog);
		fprintf(f, "%.*s\n", nl ? (int)(nl - s) : (int)strlen(s), s);
		s = nl ? nl + 1 : NULL;
	}
	if (cmd->description)
		fprintf(f, "\n%s", cmd->description);
	if (cmd->more_help)
		cmd->more_help(f);
	common_options(&dummy, common);
	col = column(opts, 0);
	if (!cmd->name)
		col = column(common, col);
	if (opts[0].kind != CT_OPT_KIND_END) {
		fputc('\n', f);
		help_lines(f, opts, col);
	}
	if (!cmd->name) {
		fprintf(f, "\ncommon options (before or after the command):\n");
		help_lines(f, common, col);
	} else if (!cmd->no_common) {
		fprintf(f, "\nCommon options (-c FILE, --pool NAME, --read-only, --no-color): "
			"see chaintop --help.\n");
	}
	if (cmd->footer)
		fprintf(f, "\n%s", cmd->footer);
}

/* The combined table: the command's options, the common ones, --help. */
static struct ct_option *all_options(const struct ct_option *opts, struct ct_cli *cli,
				     int *n_out)
{
	struct ct_option common[5], *all;
	int n = 0, k = 0;

	common_options(cli, common);
	while (opts[n].kind != CT_OPT_KIND_END)
		n++;
	all = ct_xcalloc((size_t)n + 6, sizeof(*all));
	for (int i = 0; i < n; i++)
		all[k++] = opts[i];
	for (int i = 0; common[i].kind != CT_OPT_KIND_END; i++)
		all[k++] = common[i];
	all[k++] = help_option;
	*n_out = k;
	return all;
}

static int find_val(const struct ct_option *all, int n, int val)
{
	for (int i = 0; i < n; i++)
		if (val == (all[i].short_name ? all[i].short_name : LONG_ONLY_BASE + i))
			return i;
	return -1;
}

/* The option as typed, for messages: "--form" of "--form=json", or "-f". */
static void typed_name(const char *arg, char *buf, size_t len)
{
	size_t n = strcspn(arg ? arg : "", "=");

	snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), arg ? arg : "");
}

static int usage_error(const struct ct_command *cmd, const struct ct_option *opts, int *exit_code,
		       const char *fmt, const char *what, const char *more)
{
	char prog[64], wb[128];

	fprintf(stderr, "%s: ", prog_name(cmd, prog, sizeof(prog)));
	fprintf(stderr, fmt, ct_sanitize(what, wb, sizeof(wb)), more ? more : "");
	fputc('\n', stderr);
	ct_options_usage(stderr, cmd, opts);
	*exit_code = cmd->usage_exit ? cmd->usage_exit : 2;
	return -1;
}

int ct_options_parse(const struct ct_command *cmd, const struct ct_option *opts,
		     struct ct_cli *cli, int *exit_code)
{
	struct ct_option *all;
	struct option *lo;
	struct ct_sb optstring;
	int n, rc = 0, nargs;
	bool help = false;

	all = all_options(opts, cli, &n);
	lo = ct_xcalloc((size_t)n + 1, sizeof(*lo));
	ct_sb_init(&optstring);
	/* the console stops at the command's name ('+'); a command's own arguments may
	 * stand between its options (getopt moves them to the end, in the order given) */
	ct_sb_addf(&optstring, "%s:", cmd->name ? "" : "+");
	for (int i = 0; i < n; i++) {
		bool arg = all[i].kind == CT_OPT_KIND_STRING || all[i].kind == CT_OPT_KIND_LIST;

		lo[i].name = all[i].long_name;
		lo[i].has_arg = arg ? required_argument : no_argument;
		lo[i].val = all[i].short_name ? all[i].short_name : LONG_ONLY_BASE + i;
		if (all[i].short_name)
			ct_sb_addf(&optstring, "%c%s", all[i].short_name, arg ? ":" : "");
	}
	optind = 0;   /* a fresh scan (glibc: 0 also resets its internal state) */
	opterr = 0;
	for (;;) {
		int li = -1, c, i;
		const char *elem;
		char tb[128];

		c = getopt_long(cli->argc, cli->argv, optstring.buf, lo, &li);
		if (c == -1)
			break;
		elem = optind - 1 < cli->argc && optind >= 1 ? cli->argv[optind - 1] : "";
		if (c == '?') {
			i = find_val(all, n, optopt);
			if (optopt && i >= 0 && !strncmp(elem, "--", 2)) {
				typed_name(elem, tb, sizeof(tb));
				rc = usage_error(cmd, opts, exit_code, "option '%s' takes no value%s",
						 tb, NULL);
			} else if (optopt && strncmp(elem, "--", 2)) {
				snprintf(tb, sizeof(tb), "-%c", optopt);
				rc = usage_error(cmd, opts, exit_code, "unknown option '%s'%s", tb, NULL);
			} else {
				typed_name(elem, tb, sizeof(tb));
				rc = usage_error(cmd, opts, exit_code, "unknown option '%s'%s", tb, NULL);
			}
			goto out;
		}
		if (c == ':') {
			char more[160];

			i = find_val(all, n, optopt);
			if (i < 0)
				snprintf(tb, sizeof(tb), "-%c", optopt);
			else if (strncmp(elem, "--", 2))
				snprintf(tb, sizeof(tb), "-%c", all[i].short_name);
			else
				snprintf(tb, sizeof(tb), "--%s", all[i].long_name);
			snprintf(more, sizeof(more), " (%s)", i >= 0 && all[i].argh ? all[i].argh : "");
			rc = usage_error(cmd, opts, exit_code, "option '%s' needs a value%s", tb, more);
			goto out;
		}
		i = find_val(all, n, c);
		if (i < 0)
			continue;   /* cannot happen: getopt returns only what the table has */
		if (li >= 0) {
			/* getopt_long takes unambiguous prefixes; chaintop wants the whole name */
			const char *t = optarg && optarg == elem && optind >= 2 ? cli->argv[optind - 2] :
				elem;
			size_t l = strlen(all[i].long_name);

			if (strncmp(t, "--", 2) || strncmp(t + 2, all[i].long_name, l) ||
			    (t[2 + l] && t[2 + l] != '=')) {
				char more[160];

				typed_name(t, tb, sizeof(tb));
				snprintf(more, sizeof(more), " (did you mean '--%s'?)", all[i].long_name);
				rc = usage_error(cmd, opts, exit_code, "unknown option '%s'%s", tb, more);
				goto out;
			}
		}
		switch (all[i].kind) {
		case CT_OPT_KIND_BOOL:
			if (all[i].value)
				*(bool *)all[i].value = true;
			else
				help = true;
			break;
		case CT_OPT_KIND_STRING:
			*(const char **)all[i].value = optarg;
			break;
		case CT_OPT_KIND_LIST: {
			const char ***v = all[i].value;

			*v = ct_xrealloc(*v, ((size_t)*all[i].count + 2) * sizeof(**v));
			(*v)[(*all[i].count)++] = optarg;
			(*v)[*all[i].count] = NULL;
			break;
		}
		case CT_OPT_KIND_END:
			break;
		}
	}
	if (help) {
		ct_options_usage(stdout, cmd, opts);
		*exit_code = 0;
		rc = -1;
		goto out;
	}
	cli->first_arg = optind;
	nargs = cli->argc - optind;
	if (cmd->name && cmd->max_args >= 0 && nargs > cmd->max_args) {
		rc = usage_error(cmd, opts, exit_code, "unexpected argument '%s'%s",
				 cli->argv[optind + cmd->max_args], NULL);
		goto out;
	}
out:
	ct_sb_release(&optstring);
	free(lo);
	free(all);
	return rc;
}
