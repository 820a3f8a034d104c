/* fuzz_events: the event path end to end. An event.from reply (the input, after one byte
 * that seeds the chunk sizes) is decoded and applied to a live model that already holds a
 * small pool (watch.c's apply_batch, included here as it is static), twice, then the pool is
 * judged (chain.c) and written as JSON and text as `tree` and `check` would. Any outcome
 * but a crash, a leak or an inconsistent model. */
#include "watch/watch.c"

#include "engine/chain.h"
#include "xapi/decode.h"
#include "fuzz_common.h"
#include "output/output.h"

#define EV(op, cls, ref, snap) "<value><struct><member><name>class</name><value>" cls \
	"</value></member><member><name>operation</name><value>" op "</value></member>" \
	"<member><name>ref</name><value>" ref "</value></member><member><name>snapshot</name>" \
	"<value><struct>" snap "</struct></value></member></struct></value>"
#define F(n, v) "<member><name>" n "</name><value>" v "</value></member>"
#define SET(a) "<array><data>" a "</data></array>"
#define MAP(a) "<struct>" a "</struct>"

static const char base_reply[] = "<methodResponse><params><param><value><struct>"
	F("Status", "Success") "<member><name>Value</name><value><struct>"
	"<member><name>events</name><value><array><data>"
	EV("add", "pool", "OpaqueRef:p", F("uuid", "p") F("name_label", "pool") F("master", "OpaqueRef:h"))
	EV("add", "host", "OpaqueRef:h", F("uuid", "h") F("name_label", "h1") F("address", "10.0.0.1"))
	EV("add", "SR", "OpaqueRef:sr", F("uuid", "sr") F("name_label", "nfs") F("type", "nfs")
	   F("physical_size", "1000000") F("physical_utilisation", "500000")
	   F("VDIs", SET("<value>OpaqueRef:v1</value><value>OpaqueRef:v2</value><value>OpaqueRef:v3</value>")))
	EV("add", "VDI", "OpaqueRef:v1", F("uuid", "v1") F("SR", "OpaqueRef:sr") F("managed", "false")
	   F("virtual_size", "100") F("sm_config", MAP(F("vdi_type", "vhd"))))
	EV("add", "VDI", "OpaqueRef:v2", F("uuid", "v2") F("SR", "OpaqueRef:sr") F("managed", "true")
	   F("is_a_snapshot", "true") F("snapshot_of", "OpaqueRef:v3")
	   F("sm_config", MAP(F("vhd-parent", "v1"))))
	EV("add", "VDI", "OpaqueRef:v3", F("uuid", "v3") F("SR", "OpaqueRef:sr") F("managed", "true")
	   F("VBDs", SET("<value>OpaqueRef:b</value>")) F("sm_config", MAP(F("vhd-parent", "v1"))))
	EV("add", "VM", "OpaqueRef:vm", F("uuid", "vm") F("name_label", "web")
	   F("power_state", "Running") F("VBDs", SET("<value>OpaqueRef:b</value>")))
	EV("add", "VBD", "OpaqueRef:b", F("uuid", "b") F("VM", "OpaqueRef:vm") F("VDI", "OpaqueRef:v3")
	   F("type", "Disk") F("currently_attached", "true"))
	EV("add", "task", "OpaqueRef:t", F("uuid", "t") F("name_label", "SR.scan")
	   F("status", "pending") F("other_config", MAP(F("applies_to", "OpaqueRef:sr"))))
	"</data></array></value></member>" F("token", "1") "</struct></value></member>"
	"</struct></value></param></params></methodResponse>";

static struct ct_config conf;
static FILE *devnull;

static int decode_events(const uint8_t *data, size_t n, uint32_t seed, struct ct_event_batch *b)
{
	struct ct_decoder *d = ct_decoder_new(CT_DEC_EVENTS, CT_POOL, NULL, NULL);
	struct ct_err e;
	int rc;

	ct_err_init(&e);
	ct_event_batch_init(b);
	rc = seed ? fz_feed(d, data, n, seed, 1 + seed % 200, &e) : ct_decoder_feed(d, data, n, &e);
	if (rc == 0)
		rc = ct_decoder_finish(d, &e);
	if (rc == 0)
		ct_decoder_take_events(d, b);
	ct_decoder_free(d);
	return rc;
}

static void apply(struct ct_watch *w, const uint8_t *data, size_t n, uint32_t seed)
{
	struct ct_event_batch b;

	if (decode_events(data, n, seed, &b) < 0)
		return;
	ct_model_lock(&w->model);
	apply_batch(w, &b);
	ct_model_unlock(&w->model);
	ct_event_batch_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_watchset ws;
	struct ct_watch w;
	struct ct_chain_report r;
	struct ct_output_pool op;
	time_t now = 1700000000;

	if (size < 1)
		return 0;
	if (!devnull) {
		struct ct_err e;

		ct_err_init(&e);
		ct_config_init(&conf);
		if (ct_config_load_string(&conf, "pools = ( { name = \"p\"; url = \"https://h\"; "
					  "username = \"root\"; password = \"x\"; } );", "fuzz", true,
					  &e) < 0)
			__builtin_trap();
		devnull = fopen("/dev/null", "w");
	}
	memset(&ws, 0, sizeof(ws));
	memset(&w, 0, sizeof(w));
	w.set = &ws;
	w.conf = &conf.pools[0];
	ct_model_init(&w.model);
	apply(&w, (const uint8_t *)base_reply, sizeof(base_reply) - 1, 0);
	if (ct_model_count(&w.model, CT_VDI) != 3)
		__builtin_trap();
	/* the same batch twice: adds become mods, dels find nothing the second time */
	apply(&w, data + 1, size - 1, 0);
	apply(&w, data + 1, size - 1, data[0] * 2654435761u + 1);
	memset(&r, 0, sizeof(r));
	if (ct_chain_eval(&w.model, &conf, &conf.pools[0], now, NULL, &r) == 0) {
		memset(&op, 0, sizeof(op));
		op.name = "p";
		op.connected = true;
		op.model = &w.model;
		op.report = &r;
		ct_output_write_json(devnull, &op, 1, true, now);
		ct_output_tree_text(devnull, &op, 1, true, now);
		ct_output_check_text(devnull, &op, 1);
		ct_chain_report_release(&r);
	}
	ct_model_release(&w.model);
	return 0;
}
