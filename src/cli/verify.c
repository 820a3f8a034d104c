/* cli_verify.c - `chaintop verify FILE.xva...`: the check the backup makes before it renames
 * an export into place, for any XVA (see xva.h). Needs no configuration and no pool. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "lib/util.h"
#include "jobs/xva.h"

static const struct ct_command verify_cmd = {
	.name = "verify",
	.synopsis = "FILE.xva...",
	.description =
		"Checks that each XVA (a VM export of xapi, plain, gzip or zstd) is a complete tar\n"
		"stream and that every disk chunk matches its checksum file (.checksum SHA-1 or\n"
		".xxhash XXH64).\n",
	.footer = "Exit status: 0 every file verified, 1 a file is damaged or incomplete, 2 a file\n"
		  "cannot be read or bad usage.\n",
	.max_args = -1,
	.usage_exit = 2,
	.no_common = true,
};

int ct_cmd_verify(struct ct_cli *cli)
{
	int n_files = 0, worst = 0;

	static const struct ct_option opts[] = { CT_OPT_END };
	int rc;

	if (ct_options_parse(&verify_cmd, opts, cli, &rc) < 0)
		return rc;
	for (int i = cli->first_arg; i < cli->argc; i++) {
		const char *path = cli->argv[i];
		struct ct_xva_stats st;
		struct ct_err e;
		char name[1024], sz[32], msg[1024];

		n_files++;
		ct_err_init(&e);
		memset(&st, 0, sizeof(st));
		ct_sanitize(path, name, sizeof(name));
		if (ct_xva_verify_file(path, &st, &e) < 0) {
			ct_sanitize(e.msg, msg, sizeof(msg));
			if (e.code == CT_E_IO) {
				printf("%s: UNREADABLE: %s\n", name, msg);
				worst = 2;
			} else {
				printf("%s: DAMAGED: %s; do not restore from this file, make a new export\n",
				       name, msg);
				if (worst < 1)
					worst = 1;
			}
			continue;
		}
		ct_format_bytes(st.stream_bytes, sz, sizeof(sz));
		printf("%s: OK: %d chunk%s of %d disk%s match their checksums (%d SHA-1, %d XXH64); %s, compression %s\n",
		       name, st.n_chunks, st.n_chunks == 1 ? "" : "s", st.n_disks,
		       st.n_disks == 1 ? "" : "s", st.n_sha1, st.n_xxhash, sz, st.compression);
	}
	if (n_files == 0) {
		fprintf(stderr, "chaintop verify: name at least one .xva file\n");
		ct_options_usage(stderr, &verify_cmd, opts);
		return 2;
	}
	return worst;
}
