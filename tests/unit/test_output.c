/* Unit tests for output.c: the JSON shape of design.md section 4 (parsed back with
 * jansson), the Nagios status line and perfdata, the Prometheus exposition format, the
 * check summary and the text tree. */
#include <check.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/chain.h"
#include "output/output.h"
#include "test_chain_fixture.h"

#define NOW ((time_t)1764100000)

static struct fx F;
static struct ct_chain_report R;
static struct ct_output_pool P[2];
static char *buf;
static size_t len;

/* One pool: a healthy VM with a snapshot, a stacked VM, a deep VM, an orphan, an ISO SR;
 * plus an unreachable second pool. */
static void setup(void)
{
	struct ct_sr *nfs, *iso;
	struct ct_vm *web, *snap;
	struct ct_vdi *b, *l, *s;

	fx_init(&F);
	nfs = fx_sr(&F, "nfs-01", "nfs", 2048 * FX_GIB, 400 * FX_GIB);
	iso = fx_sr(&F, "ISOs \"lib\"", "iso", 100 * FX_GIB, 100 * FX_GIB);
	fx_vdi_o(&F, iso, "debian.iso", (struct fx_vdi_opts){ .raw = true });
	web = fx_vm(&F, "web01");
	snap = fx_vm_o(&F, "web01 before-patch", true, web);
	b = fx_base(&F, nfs, NULL);
	l = fx_vdi(&F, nfs, "web01 0", b);
	s = fx_vdi_o(&F, nfs, "web01 0", (struct fx_vdi_opts){ .parent = b, .snapshot = true });
	fx_vbd(&F, web, l, "0");
	fx_vbd(&F, snap, s, "0");
	fx_stacked_vm(&F, nfs, "stacked-vm", 3, NULL);
	fx_deep_vm(&F, nfs, "deep-vm", 29, NULL);
	fx_vdi(&F, nfs, "orphan-data", NULL);
	fx_vdi(&F, nfs, "bad \xff name", NULL);
	fx_gc_task(&F, nfs, 0.25);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW, NULL, &R), 0);
	memset(P, 0, sizeof(P));
	P[0].name = "lab";
	P[0].connected = true;
	P[0].state = "connected";
	P[0].model = &F.m;
	P[0].report = &R;
	P[1].name = "dead";
	P[1].state = "failed";
	P[1].error = "cannot connect to https://192.0.2.1: Connection refused";
	buf = NULL;
	len = 0;
}

static void teardown(void)
{
	free(buf);
	ct_chain_report_release(&R);
	fx_release(&F);
}

static FILE *mem(void)
{
	FILE *f;

	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	return f;
}

static void has_keys(json_t *o, const char *const *keys)
{
	ck_assert(json_is_object(o));
	for (int i = 0; keys[i]; i++)
		ck_assert_msg(json_object_get(o, keys[i]) != NULL, "missing key %s", keys[i]);
}

static json_t *find_by_name(json_t *arr, const char *name)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o)
		if (!strcmp(json_string_value(json_object_get(o, "name")), name))
			return o;
	return NULL;
}

START_TEST(json_shape)
{
	static const char *const pool_keys[] = { "name", "uuid", "connected", "error", "srs", "vms", NULL };
	static const char *const sr_keys[] = { "uuid", "name", "type", "physical_size",
		"physical_utilisation", "gc", "vdis", NULL };
	static const char *const vdi_keys[] = { "uuid", "name", "managed", "is_a_snapshot", "parent",
		"depth", "children", "stacked", "pending", "state", "vms", NULL };
	static const char *const vm_keys[] = { "uuid", "name", "power_state", "snapshots", "gate",
		"reasons", NULL };
	FILE *f = mem();
	json_error_t je;
	json_t *root, *pools, *p, *srs, *sr, *vdis, *vms, *vm, *v;
	size_t i;
	bool saw_stacked = false, saw_snapshot = false;

	ck_assert_int_eq(ct_output_write_json(f, P, 2, false, NOW), 0);
	fclose(f);
	root = json_loads(buf, 0, &je);
	ck_assert_msg(root != NULL, "invalid JSON: %s", je.text);
	pools = json_object_get(root, "pools");
	ck_assert_int_eq(json_array_size(pools), 2);
	p = json_array_get(pools, 0);
	has_keys(p, pool_keys);
	ck_assert(json_is_true(json_object_get(p, "connected")));
	ck_assert(json_is_null(json_object_get(p, "error")));
	ck_assert_str_eq(json_string_value(json_object_get(p, "uuid")), ct_model_pool(&F.m)->o.uuid);
	srs = json_object_get(p, "srs");
	ck_assert_int_eq(json_array_size(srs), 2);
	json_array_foreach(srs, i, sr)
		has_keys(sr, sr_keys);
	sr = find_by_name(srs, "nfs-01");
	ck_assert_ptr_nonnull(sr);
	ck_assert(json_is_integer(json_object_get(sr, "physical_size")));
	ck_assert_int_eq(json_integer_value(json_object_get(sr, "physical_size")), 2048 * FX_GIB);
	ck_assert(json_real_value(json_object_get(sr, "gc")) > 0.24);
	ck_assert(json_is_null(json_object_get(find_by_name(srs, "ISOs \"lib\""), "gc")));
	vdis = json_object_get(sr, "vdis");
	ck_assert_int_gt(json_array_size(vdis), 30);
	json_array_foreach(vdis, i, v) {
		const char *st = json_string_value(json_object_get(v, "state"));

		has_keys(v, vdi_keys);
		ck_assert(json_is_boolean(json_object_get(v, "managed")));
		ck_assert(json_is_integer(json_object_get(v, "depth")));
		ck_assert(json_is_array(json_object_get(v, "vms")));
		ck_assert(json_is_null(json_object_get(v, "parent")) ||
			  json_is_string(json_object_get(v, "parent")));
		ck_assert(!strcmp(st, "ok") || !strcmp(st, "pending") || !strcmp(st, "stacked") ||
			  !strcmp(st, "deep") || !strcmp(st, "garbage") || !strcmp(st, "broken") ||
			  !strcmp(st, "orphan"));
		if (!strcmp(st, "stacked")) {
			saw_stacked = true;
			ck_assert_int_eq(json_integer_value(json_object_get(v, "stacked")), 2);
			ck_assert_str_eq(json_string_value(json_array_get(json_object_get(v, "vms"), 0)),
					 "stacked-vm");
		}
		if (json_is_true(json_object_get(v, "is_a_snapshot")) &&
		    !strcmp(json_string_value(json_object_get(v, "name")), "web01 0")) {
			saw_snapshot = true;
			ck_assert_str_eq(json_string_value(json_array_get(json_object_get(v, "vms"), 0)),
					 "web01 before-patch");
		}
	}
	ck_assert(saw_stacked && saw_snapshot);
	vms = json_object_get(p, "vms");
	ck_assert_int_eq(json_array_size(vms), 3);   /* web01, stacked-vm, deep-vm: no snapshots */
	json_array_foreach(vms, i, vm)
		has_keys(vm, vm_keys);
	vm = find_by_name(vms, "stacked-vm");
	ck_assert_str_eq(json_string_value(json_object_get(vm, "gate")), "refused");
	ck_assert_int_eq(json_array_size(json_object_get(vm, "reasons")), 1);
	vm = find_by_name(vms, "web01");
	ck_assert_str_eq(json_string_value(json_object_get(vm, "gate")), "ok");
	ck_assert_int_eq(json_integer_value(json_object_get(vm, "snapshots")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(vm, "power_state")), "Running");
	/* the unreachable pool */
	p = json_array_get(pools, 1);
	has_keys(p, pool_keys);
	ck_assert(json_is_false(json_object_get(p, "connected")));
	ck_assert_str_eq(json_string_value(json_object_get(p, "error")), P[1].error);
	ck_assert(json_is_null(json_object_get(p, "uuid")));
	ck_assert_int_eq(json_array_size(json_object_get(p, "srs")), 0);
	ck_assert_ptr_null(json_object_get(root, "status"));
	json_decref(root);
}
END_TEST

START_TEST(json_check)
{
	json_t *root = ct_output_json(P, 2, true, NOW), *probs, *q;
	size_t i;
	int last = 99;

	ck_assert_str_eq(json_string_value(json_object_get(root, "status")), "CRITICAL");
	ck_assert_int_eq(json_integer_value(json_object_get(root, "exit_code")), 2);
	probs = json_object_get(root, "problems");
	ck_assert_int_gt(json_array_size(probs), 3);
	json_array_foreach(probs, i, q) {
		const char *sev = json_string_value(json_object_get(q, "severity"));
		enum ct_severity s = !strcmp(sev, "CRITICAL") ? CT_SEV_CRITICAL :
			!strcmp(sev, "UNKNOWN") ? CT_SEV_UNKNOWN :
			!strcmp(sev, "WARNING") ? CT_SEV_WARNING : CT_SEV_OK;

		ck_assert(json_is_string(json_object_get(q, "reason")));
		ck_assert(json_is_string(json_object_get(q, "pool")));
		ck_assert(json_is_string(json_object_get(q, "class")));
		/* per pool, most severe first */
		if (!strcmp(json_string_value(json_object_get(q, "pool")), "lab")) {
			ck_assert_int_le(ct_severity_rank(s), last);
			last = ct_severity_rank(s);
		} else {
			ck_assert_int_eq(s, CT_SEV_UNKNOWN);
		}
	}
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(root, "pools"), 1),
							   "severity")), "UNKNOWN");
	json_decref(root);
}
END_TEST

/* Streamed output against the whole-document builder: the same keys, values and order,
 * one record (pool, SR, VDI, VM, problem) a line. */
static void stream_matches(const struct ct_output_pool *p, int n, bool check)
{
	FILE *f = mem();
	json_error_t je;
	json_t *streamed, *whole;
	char *a, *b;
	size_t lines = 0, records = (size_t)n;

	ck_assert_int_eq(ct_output_write_json(f, p, n, check, NOW), 0);
	fclose(f);
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(buf[len - 1], '\n');
	streamed = json_loads(buf, 0, &je);
	ck_assert_msg(streamed != NULL, "invalid JSON at line %d: %s", je.line, je.text);
	whole = ct_output_json(p, n, check, NOW);
	ck_assert(json_equal(streamed, whole));
	a = json_dumps(streamed, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	b = json_dumps(whole, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	ck_assert_str_eq(a, b);
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	for (int i = 0; i < n; i++) {
		const struct ct_chain_report *r = p[i].report;

		if (p[i].connected && r)
			records += (size_t)(r->n_srs + r->n_vdis + r->n_vms + (check ? r->n_problems : 0));
		else if (check)
			records++;
	}
	ck_assert_uint_eq(lines, records + 1);
	free(a);
	free(b);
	json_decref(streamed);
	json_decref(whole);
}

START_TEST(json_stream)
{
	stream_matches(P, 2, false);
	stream_matches(P, 2, true);
	stream_matches(P, 1, true);
	stream_matches(&P[1], 1, false);
	stream_matches(P, 0, false);
	stream_matches(P, 0, true);
}
END_TEST

/* The streaming writer escapes strings itself: names full of what JSON must escape (every
 * control character, quotes, backslashes) or must not (slash, DEL, UTF-8 of every length,
 * U+2028), and invalid UTF-8 as XAPI may send it (a lone continuation byte, an overlong
 * form, a surrogate, a byte no UTF-8 holds, a sequence cut short). Each VDI's line must be
 * exactly jansson's encoding of the same record, and parse back to the expected name. */
static const char *const edge_names[] = {
	"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15"
	"\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f end",
	"quote \" backslash \\ both \\\" slash / del \x7f",
	"\"", "\\", "",
	"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xbe line\xe2\x80\xa8sep",
	"lone \x80 continuation",
	"overlong \xc0\x80",
	"surrogate \xed\xa0\x80",
	"bad \xf5\x80\x80\x80 lead",
	"cut \xe2\x82",
};

START_TEST(json_escaping)
{
	struct fx fx;
	struct ct_chain_report rep;
	struct ct_output_pool pool = { .name = "esc \"pool\"\n", .connected = true, .state = "connected" };
	const size_t n_names = sizeof(edge_names) / sizeof(edge_names[0]);
	struct ct_sr *sr;
	json_t *whole, *vdis, *parsed;
	json_error_t je;
	size_t checked = 0;
	FILE *f;

	fx_init(&fx);
	sr = fx_sr(&fx, "sr \x01 \"x\"", "nfs", 1024 * FX_GIB, 100 * FX_GIB);
	for (size_t i = 0; i < n_names; i++) {
		struct ct_vm *vm = fx_vm(&fx, edge_names[i]);

		fx_vbd(&fx, vm, fx_vdi(&fx, sr, edge_names[i], NULL), "0");
	}
	ck_assert_int_eq(ct_chain_eval(&fx.m, &fx.c, &fx.pc, NOW, NULL, &rep), 0);
	pool.model = &fx.m;
	pool.report = &rep;

	f = mem();
	ck_assert_int_eq(ct_output_write_json(f, &pool, 1, true, NOW), 0);
	fclose(f);
	parsed = json_loads(buf, 0, &je);
	ck_assert_msg(parsed != NULL, "invalid JSON at line %d: %s", je.line, je.text);
	whole = ct_output_json(&pool, 1, true, NOW);
	ck_assert(json_equal(parsed, whole));
	vdis = json_object_get(json_array_get(json_object_get(json_array_get(
		json_object_get(whole, "pools"), 0), "srs"), 0), "vdis");
	ck_assert_uint_eq(json_array_size(vdis), n_names);

	/* byte for byte: each VDI, on its own line, is jansson's dump of that VDI */
	for (size_t i = 0; i < json_array_size(vdis); i++) {
		char *want = json_dumps(json_array_get(vdis, i),
					JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
		char *at = strstr(buf, want);

		if (at && at > buf && at[-1] == '\n' && strchr(",]\n", at[strlen(want)]))
			checked++;
		free(want);
	}
	ck_assert_uint_eq(checked, n_names);

	/* valid names come back as they were; invalid ones in ct_sanitize's form */
	for (size_t i = 0; i < n_names; i++) {
		char san_buf[4096];
		json_t *j = json_string(edge_names[i]);
		const char *want = j ? edge_names[i] : ct_sanitize(edge_names[i], san_buf, sizeof(san_buf));

		ck_assert_msg(find_by_name(vdis, want) != NULL, "name %zu not found", i);
		json_decref(j);
	}
	ck_assert(json_string_value(json_object_get(json_array_get(json_object_get(parsed, "pools"),
								   0), "name")) != NULL);
	json_decref(parsed);
	json_decref(whole);
	ct_chain_report_release(&rep);
	fx_release(&fx);
}
END_TEST

START_TEST(json_write_error)
{
	FILE *f = fopen("/dev/full", "w");

	if (!f)
		return;   /* no /dev/full here */
	ck_assert_int_eq(ct_output_write_json(f, P, 2, true, NOW), -1);
	fclose(f);
}
END_TEST

START_TEST(nagios)
{
	FILE *f = mem();
	char *nl;

	ct_output_nagios(f, &F.c, P, 1);
	fclose(f);
	ck_assert_msg(!strncmp(buf, "CHAINTOP CRITICAL - ", 20), "got: %s", buf);
	nl = strchr(buf, '\n');
	ck_assert_ptr_nonnull(nl);
	*nl = '\0';
	ck_assert_ptr_nonnull(strstr(buf, " | max_depth=29;20;28 pending=3;10; "));
	ck_assert_ptr_nonnull(strstr(buf, "stacked=1;;"));
	ck_assert_ptr_nonnull(strstr(buf, "orphans=2;;"));
	ck_assert_ptr_nonnull(strstr(buf, "is 29 VHDs deep"));
	/* exactly one '|' on the status line */
	ck_assert_ptr_eq(strchr(buf, '|'), strrchr(buf, '|'));
	ck_assert_ptr_nonnull(strstr(nl + 1, "CRITICAL: "));
	ck_assert_ptr_nonnull(strstr(nl + 1, "WARNING: 2 stacked base copies above disk 'stacked-vm xvda'"));
	ck_assert_ptr_null(strstr(nl + 1, "\xff"));
	free(buf);
	buf = NULL;

	/* an unreachable pool alone: UNKNOWN */
	f = mem();
	ct_output_nagios(f, &F.c, &P[1], 1);
	fclose(f);
	ck_assert_msg(!strncmp(buf, "CHAINTOP UNKNOWN - 1 pool (1 unreachable)", 41), "got: %s", buf);
	ck_assert_ptr_nonnull(strstr(buf, "pools_unreachable=1;;1"));
	ck_assert_ptr_nonnull(strstr(buf, "Connection refused"));
}
END_TEST

START_TEST(prometheus)
{
	FILE *f = mem();
	regex_t sample, comment;
	char *line, *next;
	int samples = 0;

	ct_output_prometheus(f, P, 2, NOW);
	fclose(f);
	ck_assert_int_eq(regcomp(&sample, "^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\",?)*\\})? -?[0-9.e+]+$",
				 REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_int_eq(regcomp(&comment, "^# (HELP [a-z_]+ .+|TYPE [a-z_]+ gauge|chaintop: pool '[^']+' is UNKNOWN: .+)$",
				 REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_ptr_nonnull(strstr(buf, "# HELP chaintop_pool_up "));
	ck_assert_ptr_nonnull(strstr(buf, "# TYPE chaintop_pool_up gauge\n"));
	ck_assert_ptr_nonnull(strstr(buf, "chaintop_pool_up{pool=\"lab\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(buf, "chaintop_pool_up{pool=\"dead\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(buf, "chaintop_pool_severity{pool=\"dead\"} 3\n"));
	/* the reason of an UNKNOWN pool, as a comment scrapers skip */
	ck_assert_ptr_nonnull(strstr(buf, "# chaintop: pool 'dead' is UNKNOWN: cannot connect"));
	ck_assert_ptr_nonnull(strstr(buf, "chaintop_pool_chain_depth_max{pool=\"lab\"} 29\n"));
	ck_assert_ptr_nonnull(strstr(buf, "chaintop_sr_vdis_pending_coalesce{pool=\"lab\",sr=\"nfs-01\",sr_uuid=\""));
	ck_assert_ptr_nonnull(strstr(buf, "chaintop_sr_gc_progress{pool=\"lab\",sr=\"nfs-01\""));
	ck_assert_ptr_nonnull(strstr(buf, ",type=\"nfs\"} 0.2500\n"));
	ck_assert_ptr_nonnull(strstr(buf, "chaintop_sr_free_bytes{pool=\"lab\",sr=\"nfs-01\""));
	/* label values escaped */
	ck_assert_ptr_nonnull(strstr(buf, "sr=\"ISOs \\\"lib\\\"\""));
	/* non-VHD SRs carry no chain figures */
	ck_assert_ptr_null(strstr(buf, "chaintop_sr_vdis_orphan{pool=\"lab\",sr=\"ISOs"));
	for (line = buf; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (line[0] == '#') {
			ck_assert_msg(regexec(&comment, line, 0, NULL, 0) == 0, "bad comment: %s", line);
		} else {
			ck_assert_msg(regexec(&sample, line, 0, NULL, 0) == 0, "bad sample: %s", line);
			samples++;
		}
	}
	ck_assert_int_gt(samples, 30);
	regfree(&sample);
	regfree(&comment);
}
END_TEST

START_TEST(check_text)
{
	FILE *f = mem();
	char *crit, *unk, *warn;

	ct_output_check_text(f, P, 2);
	fclose(f);
	ck_assert_msg(!strncmp(buf, "chaintop CRITICAL: 2 pools (1 unreachable), 2 SRs, 3 VMs: ", 58),
		      "got: %s", buf);
	crit = strstr(buf, "\nCRITICAL ");
	unk = strstr(buf, "\nUNKNOWN  pool 'dead' could not be loaded: cannot connect");
	warn = strstr(buf, "\nWARNING  ");
	ck_assert(crit && unk && warn);
	ck_assert(crit < unk && unk < warn);
	ck_assert_ptr_null(strstr(buf, "\xff"));
	ck_assert_ptr_nonnull(strstr(buf, "bad \\xff name"));
}
END_TEST

START_TEST(tree_text)
{
	FILE *f = mem();

	ct_output_tree_text(f, P, 2, false, NOW);
	fclose(f);
	ck_assert_msg(!strncmp(buf, "pool 'lab' ", 11), "got: %s", buf);
	ck_assert_ptr_nonnull(strstr(buf, "|- SR 'ISOs \"lib\"'"));
	ck_assert_ptr_nonnull(strstr(buf, "(iso, no VHD chains): 1 VDI\n"));
	ck_assert_ptr_nonnull(strstr(buf, "`- SR 'nfs-01' "));
	ck_assert_ptr_nonnull(strstr(buf, "(nfs, thin): 400.0 GiB used of 2.0 TiB"));
	ck_assert_ptr_nonnull(strstr(buf, "GC at 25%"));
	ck_assert_ptr_nonnull(strstr(buf, "'web01 0' "));
	ck_assert_ptr_nonnull(strstr(buf, " VM 'web01' xvda, depth 2"));
	ck_assert_ptr_nonnull(strstr(buf, "snapshot 'web01 before-patch' "));
	ck_assert_ptr_nonnull(strstr(buf, "[stacked: 2 above, tolerance 1]"));
	ck_assert_ptr_nonnull(strstr(buf, "[DEEP, CRITICAL: depth 29]"));
	ck_assert_ptr_nonnull(strstr(buf, "[ORPHAN: no VM uses it]"));
	ck_assert_ptr_nonnull(strstr(buf, "   |  |  `- "));
	ck_assert_ptr_nonnull(strstr(buf, "\npool 'dead': not loaded: cannot connect"));
	ck_assert_ptr_null(strstr(buf, "\xe2\x94"));
	free(buf);
	buf = NULL;
	f = mem();
	ct_output_tree_text(f, P, 1, true, NOW);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "\xe2\x94\x94\xe2\x94\x80 SR 'nfs-01'"));   /* "└─" */
}
END_TEST

START_TEST(formats_and_codes)
{
	enum ct_output_format fmt;

	ck_assert_int_eq(ct_output_parse_format("nagios", &fmt), 0);
	ck_assert_int_eq(fmt, CT_FMT_NAGIOS);
	ck_assert_int_eq(ct_output_parse_format("prometheus", &fmt), 0);
	ck_assert_int_eq(fmt, CT_FMT_PROMETHEUS);
	ck_assert_int_eq(ct_output_parse_format("xml", &fmt), -1);
	ck_assert_int_eq(ct_output_exit_code(CT_SEV_OK), 0);
	ck_assert_int_eq(ct_output_exit_code(CT_SEV_WARNING), 1);
	ck_assert_int_eq(ct_output_exit_code(CT_SEV_CRITICAL), 2);
	ck_assert_int_eq(ct_output_exit_code(CT_SEV_UNKNOWN), 3);
	ck_assert_int_eq(ct_output_worst(P, 2), CT_SEV_CRITICAL);
	ck_assert_int_eq(ct_output_worst(&P[1], 1), CT_SEV_UNKNOWN);
	ck_assert_int_eq(ct_output_worst(P, 0), CT_SEV_OK);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("output");
	TCase *tc = tcase_create("render");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, json_shape);
	tcase_add_test(tc, json_check);
	tcase_add_test(tc, json_stream);
	tcase_add_test(tc, json_escaping);
	tcase_add_test(tc, json_write_error);
	tcase_add_test(tc, nagios);
	tcase_add_test(tc, prometheus);
	tcase_add_test(tc, check_text);
	tcase_add_test(tc, tree_text);
	tcase_add_test(tc, formats_and_codes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
