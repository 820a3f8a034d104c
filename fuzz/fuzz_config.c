/* fuzz_config: the configuration loader (src/config/config.c, libconfig underneath) on arbitrary
 * text, then the lookups the commands make on what it loaded. Any outcome but a crash, a
 * leak or an error without a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_config c;
	struct ct_err e;
	char *text = malloc(size + 1);

	memcpy(text, data, size);
	text[size] = '\0';
	ct_config_init(&c);
	ct_err_init(&e);
	if (ct_config_load_string(&c, text, "fuzz.conf", true, &e) < 0) {
		if (!e.msg[0] || e.code == CT_OK)
			__builtin_trap();
	} else {
		for (int i = 0; i < c.n_pools; i++) {
			struct ct_gate_conf g;
			struct ct_health_conf h;

			if (ct_config_pool(&c, c.pools[i].name) == NULL)
				__builtin_trap();
			ct_config_limits_for(&c, &c.pools[i], "sr-1", NULL, &g, &h);
			for (int k = 0; k < c.pools[i].n_srs; k++)
				ct_config_limits_for(&c, &c.pools[i], c.pools[i].srs[k].match,
						     c.pools[i].srs[k].match, &g, &h);
		}
		for (int i = 0; i < c.n_jobs; i++)
			if (ct_config_job(&c, c.jobs[i].name) == NULL)
				__builtin_trap();
	}
	ct_config_release(&c);
	free(text);
	return 0;
}
