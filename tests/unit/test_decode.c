/* Unit tests for decode.c (and the pure parts of xapi.c): raw replies in XAPI's real
 * encoding (ocaml-rpc: bare-text strings, ints as text, <i4> only in valid_ref_counts,
 * dashless datetimes, no whitespace between tags), fed in small chunks to prove the
 * decoder streams, plus the awkward and hostile cases. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xapi/decode.h"
#include "lib/err.h"
#include "model/model.h"
#include "lib/util.h"
#include "xapi/xapi.h"

#define HEAD "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>" \
	"<member><name>Status</name><value>Success</value></member>" \
	"<member><name>Value</name><value>"
#define TAIL "</value></member></struct></value></param></params></methodResponse>"
#define M(n, v) "<member><name>" n "</name><value>" v "</value></member>"

struct coll {
	struct ct_obj *o[64];
	int n;
};

static void collect(void *ctx, struct ct_obj *o)
{
	struct coll *c = ctx;

	ck_assert_int_lt(c->n, 64);
	c->o[c->n++] = o;
}

static void coll_release(struct coll *c)
{
	for (int i = 0; i < c->n; i++)
		ct_obj_free(c->o[i]);
	c->n = 0;
}

static struct ct_obj *coll_find(struct coll *c, const char *ref)
{
	for (int i = 0; i < c->n; i++)
		if (c->o[i]->ref && !strcmp(c->o[i]->ref, ref))
			return c->o[i];
	return NULL;
}

/* Feed xml in chunks of `chunk` bytes (0 = all at once); returns the finish result. */
static int feed(struct ct_decoder *d, const char *xml, size_t len, size_t chunk, struct ct_err *e)
{
	size_t off = 0;

	if (chunk == 0)
		chunk = len ? len : 1;
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;

		if (ct_decoder_feed(d, xml + off, n, e) < 0)
			return -1;
		off += n;
	}
	return ct_decoder_finish(d, e);
}

static const size_t chunks[] = { 0, 1, 3, 7, 64 };
#define NCHUNKS (sizeof(chunks) / sizeof(chunks[0]))

static const char vdi_reply[] = HEAD "<struct>"
	"<member><name>OpaqueRef:aaaa-1</name><value><struct>"
	M("uuid", "3c5d0e8a-5b52-4e1c-9d0e-2f6b1a7c9e01")
	M("name_label", "web01 &amp; db &lt;disk&gt; &quot;0&quot;")
	M("name_description", "<string>typed string</string>")
	M("allowed_operations", "<array><data><value>snapshot</value><value>clone</value></data></array>")
	M("current_operations", "<struct>" M("OpaqueRef:task-1", "snapshot") M("OpaqueRef:task-2", "clone") "</struct>")
	M("SR", "OpaqueRef:sr-1")
	M("VBDs", "<array><data><value>OpaqueRef:vbd-1</value><value>OpaqueRef:vbd-2</value></data></array>")
	M("crash_dumps", "<array><data></data></array>")
	M("virtual_size", "42949672960")
	M("physical_utilisation", "<i8>1073741824</i8>")
	M("type", "user")
	M("sharable", "<boolean>0</boolean>")
	M("read_only", "<boolean>1</boolean>")
	M("other_config", "<struct>" M("xo:backup:job", "nightly") M("k&amp;v", "a&lt;b") "</struct>")
	M("storage_lock", "<boolean>0</boolean>")
	M("location", "3c5d0e8a")
	M("managed", "<boolean>1</boolean>")
	M("missing", "<boolean>0</boolean>")
	M("parent", "OpaqueRef:NULL")
	M("xenstore_data", "<struct></struct>")
	M("sm_config", "<struct>" M("vdi_type", "vhd") M("vhd-parent", "a1b2c3d4-0000-4000-8000-123456789abc") M("host_OpaqueRef:h1", "RW") "</struct>")
	M("is_a_snapshot", "<boolean>1</boolean>")
	M("snapshot_of", "OpaqueRef:vdi-src")
	M("snapshots", "<array><data></data></array>")
	M("snapshot_time", "<dateTime.iso8601>20250319T04:16:24Z</dateTime.iso8601>")
	M("tags", "<array><data><value>a</value></data></array>")
	M("allow_caching", "<boolean>0</boolean>")
	M("on_boot", "persist")
	M("metadata_of_pool", "OpaqueRef:NULL")
	M("metadata_latest", "<boolean>0</boolean>")
	M("is_tools_iso", "<boolean>0</boolean>")
	M("cbt_enabled", "<boolean>1</boolean>")
	M("future_field", "<struct>" M("deep", "<array><data><value><struct>" M("x", "<i4>1</i4>") "</struct></value></data></array>") "</struct>")
	"</struct></value></member>"
	"<member><name>OpaqueRef:bbbb-2</name><value><struct>"
	M("uuid", "<string>00000000-0000-4000-8000-000000000002</string>")
	M("name_label", "")
	M("type", "some_new_type")
	"</struct></value></member>"
	"</struct>" TAIL;

START_TEST(records_vdi)
{
	for (size_t k = 0; k < NCHUNKS; k++) {
		struct coll c = { .n = 0 };
		struct ct_decoder *d = ct_decoder_new(CT_DEC_RECORDS, CT_VDI, collect, &c);
		struct ct_err e;
		struct ct_vdi *v, *w;

		ct_err_init(&e);
		ck_assert_msg(feed(d, vdi_reply, strlen(vdi_reply), chunks[k], &e) == 0,
			      "chunk %zu: %s", chunks[k], e.msg);
		ck_assert_int_eq(c.n, 2);
		ck_assert_uint_eq(ct_decoder_records(d), 2);
		v = (struct ct_vdi *)coll_find(&c, "OpaqueRef:aaaa-1");
		ck_assert_ptr_nonnull(v);
		ck_assert_int_eq(v->o.cls, CT_VDI);
		ck_assert_str_eq(v->o.uuid, "3c5d0e8a-5b52-4e1c-9d0e-2f6b1a7c9e01");
		ck_assert_str_eq(v->name_label, "web01 & db <disk> \"0\"");
		ck_assert_str_eq(v->name_description, "typed string");
		ck_assert_str_eq(v->sr, "OpaqueRef:sr-1");
		ck_assert_uint_eq(v->vbds.n, 2);
		ck_assert(ct_strset_has(&v->vbds, "OpaqueRef:vbd-2"));
		ck_assert_int_eq(v->virtual_size, 42949672960LL);
		ck_assert_int_eq(v->physical_utilisation, 1073741824LL);
		ck_assert_int_eq(v->type, CT_VDI_USER);
		ck_assert(v->managed);
		ck_assert(!v->missing);
		ck_assert(v->is_a_snapshot);
		ck_assert(v->read_only);
		ck_assert(!v->sharable);
		ck_assert(v->cbt_enabled);
		ck_assert_str_eq(v->snapshot_of, "OpaqueRef:vdi-src");
		ck_assert_uint_eq(v->snapshots.n, 0);
		ck_assert_int_eq((long long)v->snapshot_time, 1742357784LL);
		ck_assert_str_eq(ct_map_get(&v->sm_config, "vhd-parent"),
				 "a1b2c3d4-0000-4000-8000-123456789abc");
		ck_assert_str_eq(ct_map_get(&v->sm_config, "host_OpaqueRef:h1"), "RW");
		ck_assert_str_eq(ct_map_get(&v->other_config, "k&v"), "a<b");
		ck_assert_str_eq(ct_map_get(&v->other_config, "xo:backup:job"), "nightly");
		ck_assert_uint_eq(v->current_operations.n, 2);
		ck_assert(ct_strset_has(&v->current_operations, "snapshot"));
		ck_assert(ct_strset_has(&v->current_operations, "clone"));

		/* missing fields keep the defaults; a newer enum value is "other" */
		w = (struct ct_vdi *)coll_find(&c, "OpaqueRef:bbbb-2");
		ck_assert_ptr_nonnull(w);
		ck_assert_str_eq(w->o.uuid, "00000000-0000-4000-8000-000000000002");
		ck_assert_str_eq(w->name_label, "");
		ck_assert_int_eq(w->type, CT_VDI_OTHER);
		ck_assert_int_eq(w->virtual_size, 0);
		ck_assert_uint_eq(w->sm_config.n, 0);
		ck_assert_int_eq((long long)w->snapshot_time, 0);
		coll_release(&c);
		ct_decoder_free(d);
	}
}
END_TEST

START_TEST(datetimes_and_ints)
{
	static const char reply[] = HEAD "<struct>"
		"<member><name>OpaqueRef:t1</name><value><struct>"
		M("uuid", "t1") M("status", "pending") M("progress", "<double>0.25</double>")
		M("created", "<dateTime.iso8601>20250319T04:16:24Z</dateTime.iso8601>")
		M("finished", "<dateTime.iso8601>20250319T04:16:24</dateTime.iso8601>")
		"</struct></value></member>"
		"<member><name>OpaqueRef:t2</name><value><struct>"
		M("uuid", "t2") M("status", "failure") M("progress", "<double>1</double>")
		M("created", "<dateTime.iso8601>2025-03-19T04:16:24Z</dateTime.iso8601>")
		M("finished", "<dateTime.iso8601>20250319T06:16:24+02:00</dateTime.iso8601>")
		M("error_info", "<array><data><value>SR_BACKEND_FAILURE_44</value><value></value>"
		  "<value>There is insufficient space</value></data></array>")
		M("result", "&lt;value&gt;OpaqueRef:vm-9&lt;/value&gt;")
		M("other_config", "<struct>" M("applies_to", "OpaqueRef:sr-1") "</struct>")
		"</struct></value></member>"
		"<member><name>OpaqueRef:t3</name><value><struct>"
		M("uuid", "t3") M("status", "success")
		M("created", "<dateTime.iso8601>19700101T00:00:00Z</dateTime.iso8601>")
		M("finished", "<dateTime.iso8601>not a date</dateTime.iso8601>")
		"</struct></value></member>"
		"</struct>" TAIL;
	static const char hosts[] = HEAD "<struct>"
		"<member><name>OpaqueRef:h1</name><value><struct>"
		M("uuid", "h1") M("API_version_major", "<i4>2</i4>") M("API_version_minor", "<int>21</int>")
		M("enabled", "<boolean>1</boolean>") M("address", "10.0.0.1")
		M("software_version", "<struct>" M("product_version", "8.2.1") "</struct>")
		"</struct></value></member>"
		"<member><name>OpaqueRef:h2</name><value><struct>"
		M("uuid", "h2") M("API_version_major", "2") M("API_version_minor", "<i8>15</i8>")
		M("enabled", "true")
		"</struct></value></member>"
		"<member><name>OpaqueRef:h3</name><value><struct>"
		M("uuid", "h3") M("API_version_major", "garbage") M("API_version_minor", "1.0")
		"</struct></value></member>"
		"</struct>" TAIL;
	struct coll c = { .n = 0 };
	struct ct_decoder *d = ct_decoder_new(CT_DEC_RECORDS, CT_TASK, collect, &c);
	struct ct_err e;
	struct ct_task *t;
	struct ct_host *h;
	char *res = NULL;

	ct_err_init(&e);
	ck_assert_msg(feed(d, reply, strlen(reply), 5, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(c.n, 3);
	t = (struct ct_task *)coll_find(&c, "OpaqueRef:t1");
	ck_assert_int_eq(t->status, CT_TASK_PENDING);
	ck_assert(t->progress > 0.24 && t->progress < 0.26);
	ck_assert_int_eq((long long)t->created, 1742357784LL);
	ck_assert_int_eq((long long)t->finished, 1742357784LL);   /* no zone = UTC */
	t = (struct ct_task *)coll_find(&c, "OpaqueRef:t2");
	ck_assert_int_eq(t->status, CT_TASK_FAILURE);
	ck_assert_int_eq((long long)t->created, 1742357784LL);    /* with dashes */
	ck_assert_int_eq((long long)t->finished, 1742357784LL);   /* +02:00 */
	ck_assert(t->progress > 0.99);
	ck_assert_uint_eq(t->error_info.n, 3);
	ck_assert_str_eq(t->error_info.v[0], "SR_BACKEND_FAILURE_44");
	ck_assert_str_eq(t->error_info.v[1], "");
	ck_assert_str_eq(t->result, "<value>OpaqueRef:vm-9</value>");
	ck_assert_int_eq(ct_xapi_parse_task_result(t->result, &res, &e), 0);
	ck_assert_str_eq(res, "OpaqueRef:vm-9");
	free(res);
	ck_assert_str_eq(ct_map_get(&t->other_config, "applies_to"), "OpaqueRef:sr-1");
	t = (struct ct_task *)coll_find(&c, "OpaqueRef:t3");
	ck_assert_int_eq(t->status, CT_TASK_SUCCESS);
	ck_assert_int_eq((long long)t->created, 0);    /* the epoch means unset */
	ck_assert_int_eq((long long)t->finished, 0);   /* unreadable: unset, not fatal */
	coll_release(&c);
	ct_decoder_free(d);

	d = ct_decoder_new(CT_DEC_RECORDS, CT_HOST, collect, &c);
	ck_assert_msg(feed(d, hosts, strlen(hosts), 2, &e) == 0, "%s", e.msg);
	h = (struct ct_host *)coll_find(&c, "OpaqueRef:h1");
	ck_assert_int_eq(h->api_version_major, 2);
	ck_assert_int_eq(h->api_version_minor, 21);
	ck_assert(h->enabled);
	ck_assert_str_eq(h->address, "10.0.0.1");
	ck_assert_str_eq(ct_map_get(&h->software_version, "product_version"), "8.2.1");
	h = (struct ct_host *)coll_find(&c, "OpaqueRef:h2");
	ck_assert_int_eq(h->api_version_major, 2);
	ck_assert_int_eq(h->api_version_minor, 15);
	ck_assert(h->enabled);
	h = (struct ct_host *)coll_find(&c, "OpaqueRef:h3");
	ck_assert_int_eq(h->api_version_major, 0);
	ck_assert_int_eq(h->api_version_minor, 1);
	coll_release(&c);
	ct_decoder_free(d);
}
END_TEST

START_TEST(vm_vbd_message_records)
{
	static const char vms[] = HEAD "<struct>"
		"<member><name>OpaqueRef:vm-1</name><value><struct>"
		M("uuid", "vm-1-uuid") M("name_label", "web01") M("power_state", "Running")
		M("is_a_template", "<boolean>0</boolean>") M("is_control_domain", "<boolean>0</boolean>")
		M("is_a_snapshot", "<boolean>0</boolean>") M("snapshot_of", "OpaqueRef:NULL")
		M("snapshots", "<array><data><value>OpaqueRef:vm-2</value></data></array>")
		M("VBDs", "<array><data><value>OpaqueRef:vbd-1</value></data></array>")
		M("tags", "<array><data><value>prod</value><value>web</value></data></array>")
		M("blocked_operations", "<struct>" M("destroy", "protected") "</struct>")
		M("suspend_VDI", "OpaqueRef:NULL") M("resident_on", "OpaqueRef:h1")
		M("current_operations", "<struct></struct>")
		"</struct></value></member>"
		"<member><name>OpaqueRef:vm-2</name><value><struct>"
		M("uuid", "vm-2-uuid") M("name_label", "web01 snap") M("power_state", "Halted")
		M("is_a_template", "<boolean>1</boolean>") M("is_a_snapshot", "<boolean>1</boolean>")
		M("snapshot_of", "OpaqueRef:vm-1")
		M("snapshot_time", "<dateTime.iso8601>20250319T04:16:24Z</dateTime.iso8601>")
		"</struct></value></member>"
		"</struct>" TAIL;
	static const char vbds[] = HEAD "<struct>"
		"<member><name>OpaqueRef:vbd-1</name><value><struct>"
		M("uuid", "vbd-1-uuid") M("VM", "OpaqueRef:vm-1") M("VDI", "OpaqueRef:vdi-1")
		M("type", "Disk") M("mode", "RW") M("currently_attached", "<boolean>1</boolean>")
		M("empty", "<boolean>0</boolean>") M("userdevice", "0") M("device", "xvda")
		"</struct></value></member>"
		"<member><name>OpaqueRef:vbd-2</name><value><struct>"
		M("uuid", "vbd-2-uuid") M("VM", "OpaqueRef:vm-1") M("VDI", "OpaqueRef:NULL")
		M("type", "CD") M("mode", "RO") M("empty", "<boolean>1</boolean>") M("userdevice", "3")
		"</struct></value></member>"
		"</struct>" TAIL;
	static const char msgs[] = HEAD "<struct>"
		"<member><name>OpaqueRef:m1</name><value><struct>"
		M("uuid", "m1") M("name", "SM_GC_NO_SPACE") M("priority", "3") M("cls", "SR")
		M("obj_uuid", "sr-uuid") M("timestamp", "<dateTime.iso8601>20250319T04:16:24Z</dateTime.iso8601>")
		M("body", "&lt;body&gt;no space&lt;/body&gt;")
		"</struct></value></member>"
		"</struct>" TAIL;
	struct coll c = { .n = 0 };
	struct ct_decoder *d = ct_decoder_new(CT_DEC_RECORDS, CT_VM, collect, &c);
	struct ct_err e;
	struct ct_vm *vm;
	struct ct_vbd *b;
	struct ct_message *m;

	ct_err_init(&e);
	ck_assert_msg(feed(d, vms, strlen(vms), 11, &e) == 0, "%s", e.msg);
	vm = (struct ct_vm *)coll_find(&c, "OpaqueRef:vm-1");
	ck_assert_str_eq(vm->name_label, "web01");
	ck_assert_int_eq(vm->power_state, CT_POWER_RUNNING);
	ck_assert(!vm->is_a_template && !vm->is_a_snapshot && !vm->is_control_domain);
	ck_assert_uint_eq(vm->snapshots.n, 1);
	ck_assert_uint_eq(vm->tags.n, 2);
	ck_assert_str_eq(vm->tags.v[1], "web");
	ck_assert_str_eq(vm->suspend_vdi, "OpaqueRef:NULL");
	ck_assert_str_eq(vm->resident_on, "OpaqueRef:h1");
	ck_assert_uint_eq(vm->current_operations.n, 0);
	vm = (struct ct_vm *)coll_find(&c, "OpaqueRef:vm-2");
	ck_assert_int_eq(vm->power_state, CT_POWER_HALTED);
	ck_assert(vm->is_a_template && vm->is_a_snapshot);
	ck_assert_str_eq(vm->snapshot_of, "OpaqueRef:vm-1");
	ck_assert_int_eq((long long)vm->snapshot_time, 1742357784LL);
	coll_release(&c);
	ct_decoder_free(d);

	d = ct_decoder_new(CT_DEC_RECORDS, CT_VBD, collect, &c);
	ck_assert_msg(feed(d, vbds, strlen(vbds), 4, &e) == 0, "%s", e.msg);
	b = (struct ct_vbd *)coll_find(&c, "OpaqueRef:vbd-1");
	ck_assert_int_eq(b->type, CT_VBD_DISK);
	ck_assert(!b->read_only && b->currently_attached && !b->empty);
	ck_assert_str_eq(b->vm, "OpaqueRef:vm-1");
	ck_assert_str_eq(b->vdi, "OpaqueRef:vdi-1");
	ck_assert_str_eq(b->device, "xvda");
	b = (struct ct_vbd *)coll_find(&c, "OpaqueRef:vbd-2");
	ck_assert_int_eq(b->type, CT_VBD_CD);
	ck_assert(b->read_only && b->empty);
	ck_assert(ct_ref_is_null(b->vdi));
	coll_release(&c);
	ct_decoder_free(d);

	d = ct_decoder_new(CT_DEC_RECORDS, CT_MESSAGE, collect, &c);
	ck_assert_msg(feed(d, msgs, strlen(msgs), 1, &e) == 0, "%s", e.msg);
	m = (struct ct_message *)coll_find(&c, "OpaqueRef:m1");
	ck_assert_str_eq(m->name, "SM_GC_NO_SPACE");
	ck_assert_int_eq(m->priority, 3);
	ck_assert_str_eq(m->cls, "SR");
	ck_assert_str_eq(m->obj_uuid, "sr-uuid");
	ck_assert_int_eq((long long)m->timestamp, 1742357784LL);
	ck_assert_str_eq(m->body, "<body>no space</body>");
	coll_release(&c);
	ct_decoder_free(d);
}
END_TEST

START_TEST(failure_envelope)
{
	static const char reply[] = "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
		M("Status", "Failure")
		M("ErrorDescription", "<array><data><value>SESSION_INVALID</value>"
		  "<value>OpaqueRef:dead</value></data></array>")
		"</struct></value></param></params></methodResponse>";
	static const char rbac[] = "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
		M("Status", "Failure")
		M("ErrorDescription", "<array><data><value>RBAC_PERMISSION_DENIED</value>"
		  "<value>VM.destroy</value><value>No permission in the role</value></data></array>")
		"</struct></value></param></params></methodResponse>";

	for (size_t k = 0; k < NCHUNKS; k++) {
		struct coll c = { .n = 0 };
		struct ct_decoder *d = ct_decoder_new(CT_DEC_RECORDS, CT_VM, collect, &c);
		struct ct_err e;

		ct_err_init(&e);
		ck_assert_int_eq(feed(d, reply, strlen(reply), chunks[k], &e), -1);
		ck_assert_int_eq(e.code, CT_E_XAPI);
		ck_assert(ct_err_is(&e, "SESSION_INVALID"));
		ck_assert_int_eq(e.n_params, 1);
		ck_assert_str_eq(e.params[0], "OpaqueRef:dead");
		ck_assert_int_eq(c.n, 0);
		ct_decoder_free(d);
	}
	{
		struct ct_decoder *d = ct_decoder_new(CT_DEC_EVENTS, CT_POOL, NULL, NULL);
		struct ct_err e;

		ct_err_init(&e);
		ck_assert_int_eq(feed(d, rbac, strlen(rbac), 9, &e), -1);
		ck_assert(ct_err_is(&e, "RBAC_PERMISSION_DENIED"));
		ck_assert_str_eq(e.params[0], "VM.destroy");
		ck_assert_ptr_nonnull(strstr(e.msg, "RBAC_PERMISSION_DENIED"));
		ct_decoder_free(d);
	}
}
END_TEST

static const char events_reply[] = HEAD "<struct>"
	"<member><name>events</name><value><array><data>"
	"<value><struct>" M("id", "81340") M("timestamp", "0.0") M("class", "vm") M("operation", "add")
	M("ref", "OpaqueRef:vm-new")
	M("snapshot", "<struct>" M("uuid", "vm-new-uuid") M("name_label", "new vm") M("power_state", "Halted") "</struct>")
	"</struct></value>"
	"<value><struct>" M("id", "81341") M("timestamp", "0.0") M("class", "vif") M("operation", "add")
	M("ref", "OpaqueRef:vif-1") M("snapshot", "<struct>" M("uuid", "vif") "</struct>")
	"</struct></value>"
	"<value><struct>" M("id", "81342") M("timestamp", "0.0") M("class", "vdi") M("operation", "mod")
	M("ref", "OpaqueRef:vdi-5")
	M("snapshot", "<struct>" M("uuid", "vdi-5-uuid") M("sm_config", "<struct>" M("paused", "true") "</struct>") "</struct>")
	"</struct></value>"
	"<value><struct>" M("id", "81343") M("timestamp", "0.0") M("class", "vbd") M("operation", "del")
	M("ref", "OpaqueRef:vbd-9")
	"</struct></value>"
	"<value><struct>" M("id", "0") M("timestamp", "0.0") M("class", "message") M("operation", "add")
	M("ref", "OpaqueRef:msg-1")
	M("snapshot", "<struct>" M("uuid", "msg-1") M("name", "VM_STARTED") M("cls", "VM") M("priority", "5") "</struct>")
	"</struct></value>"
	"</data></array></value></member>"
	"<member><name>valid_ref_counts</name><value><struct>"
	M("vdi", "<i4>57</i4>") M("vm", "<i4>12</i4>") M("vif", "<i4>30</i4>") M("SR", "<i4>4</i4>")
	"</struct></value></member>"
	M("token", "00000000000000081343,00000000000000000007")
	"</struct>" TAIL;

START_TEST(event_batch)
{
	for (size_t k = 0; k < NCHUNKS; k++) {
		struct ct_decoder *d = ct_decoder_new(CT_DEC_EVENTS, CT_POOL, NULL, NULL);
		struct ct_event_batch b;
		struct ct_err e;
		struct ct_vm *vm;
		struct ct_vdi *vdi;

		ct_err_init(&e);
		ck_assert_msg(feed(d, events_reply, strlen(events_reply), chunks[k], &e) == 0, "%s", e.msg);
		ct_decoder_take_events(d, &b);
		ct_decoder_free(d);
		ck_assert_uint_eq(b.n, 4);   /* the vif event is not kept */
		ck_assert_int_eq(b.ev[0].op, CT_EV_ADD);
		ck_assert_int_eq(b.ev[0].cls, CT_VM);
		ck_assert_str_eq(b.ev[0].ref, "OpaqueRef:vm-new");
		vm = (struct ct_vm *)b.ev[0].snapshot;
		ck_assert_ptr_nonnull(vm);
		ck_assert_str_eq(vm->o.ref, "OpaqueRef:vm-new");
		ck_assert_str_eq(vm->name_label, "new vm");
		ck_assert_int_eq(b.ev[1].op, CT_EV_MOD);
		ck_assert_int_eq(b.ev[1].cls, CT_VDI);
		vdi = (struct ct_vdi *)b.ev[1].snapshot;
		ck_assert_str_eq(ct_map_get(&vdi->sm_config, "paused"), "true");
		ck_assert_int_eq(b.ev[2].op, CT_EV_DEL);
		ck_assert_int_eq(b.ev[2].cls, CT_VBD);
		ck_assert_ptr_null(b.ev[2].snapshot);
		ck_assert_int_eq(b.ev[3].cls, CT_MESSAGE);
		ck_assert_str_eq(((struct ct_message *)b.ev[3].snapshot)->name, "VM_STARTED");
		ck_assert_int_eq(b.valid_ref_counts[CT_VDI], 57);
		ck_assert_int_eq(b.valid_ref_counts[CT_VM], 12);
		ck_assert_int_eq(b.valid_ref_counts[CT_SR], 4);
		ck_assert_int_eq(b.valid_ref_counts[CT_VBD], -1);
		ck_assert_str_eq(b.token, "00000000000000081343,00000000000000000007");
		ct_event_batch_release(&b);
		ck_assert_uint_eq(b.n, 0);
		ck_assert_ptr_null(b.token);
	}
}
END_TEST

START_TEST(empty_events_and_record)
{
	static const char empty[] = HEAD "<struct>"
		M("events", "<array><data></data></array>")
		M("valid_ref_counts", "<struct></struct>")
		M("token", "00000000000000000010,00000000000000000000")
		"</struct>" TAIL;
	static const char rec[] = HEAD "<struct>" M("uuid", "sr-uuid") M("name_label", "nfs-01")
		M("type", "nfs") M("shared", "<boolean>1</boolean>")
		M("physical_size", "4398046511104") M("physical_utilisation", "1099511627776")
		M("VDIs", "<array><data><value>OpaqueRef:v1</value></data></array>")
		"</struct>" TAIL;
	static const char norecs[] = HEAD "<struct></struct>" TAIL;
	struct ct_decoder *d = ct_decoder_new(CT_DEC_EVENTS, CT_POOL, NULL, NULL);
	struct ct_event_batch b;
	struct ct_err e;
	struct ct_sr *sr;
	struct coll c = { .n = 0 };

	ct_err_init(&e);
	ck_assert_int_eq(feed(d, empty, strlen(empty), 3, &e), 0);
	ct_decoder_take_events(d, &b);
	ck_assert_uint_eq(b.n, 0);
	ck_assert_str_eq(b.token, "00000000000000000010,00000000000000000000");
	ct_event_batch_release(&b);
	ct_decoder_free(d);

	d = ct_decoder_new(CT_DEC_RECORD, CT_SR, NULL, NULL);
	ck_assert_int_eq(feed(d, rec, strlen(rec), 6, &e), 0);
	sr = (struct ct_sr *)ct_decoder_take_record(d);
	ck_assert_ptr_nonnull(sr);
	ck_assert_int_eq(sr->o.cls, CT_SR);
	ck_assert_str_eq(sr->name_label, "nfs-01");
	ck_assert(sr->shared);
	ck_assert_int_eq(sr->physical_size, 4398046511104LL);
	/* SR.VDIs is skipped (the model has VDI.SR), the fields after it still read */
	ck_assert_uint_eq(sr->pbds.n, 0);
	ct_obj_free(&sr->o);
	ct_decoder_free(d);

	d = ct_decoder_new(CT_DEC_RECORDS, CT_SR, collect, &c);
	ck_assert_int_eq(feed(d, norecs, strlen(norecs), 0, &e), 0);
	ck_assert_int_eq(c.n, 0);
	ct_decoder_free(d);
}
END_TEST

static int decode_err(enum ct_dec_kind kind, const char *xml, size_t len, size_t chunk,
		      struct ct_err *e)
{
	struct coll c = { .n = 0 };
	struct ct_decoder *d = ct_decoder_new(kind, CT_VDI, collect, &c);
	int rc;

	ct_err_init(e);
	rc = feed(d, xml, len, chunk, e);
	coll_release(&c);
	ct_decoder_free(d);
	return rc;
}

START_TEST(truncated_and_malformed)
{
	struct ct_err e;
	size_t len = strlen(vdi_reply);

	/* cut anywhere: never a success, never a crash */
	for (size_t cut = 0; cut < len; cut += 37) {
		ck_assert_int_eq(decode_err(CT_DEC_RECORDS, vdi_reply, cut, 13, &e), -1);
		ck_assert_int_eq(e.code, CT_E_PROTO);
	}
	ck_assert_int_eq(decode_err(CT_DEC_RECORDS, vdi_reply, len / 2, 100, &e), -1);
	ck_assert_msg(strstr(e.msg, "ended after"), "%s", e.msg);

	/* an unescaped map key (xapi does not escape member names) */
	{
		static const char bad[] = HEAD "<struct><member><name>OpaqueRef:x</name><value><struct>"
			M("other_config", "<struct>" M("a&b", "1") "</struct>")
			"</struct></value></member></struct>" TAIL;

		ck_assert_int_eq(decode_err(CT_DEC_RECORDS, bad, strlen(bad), 8, &e), -1);
		ck_assert_int_eq(e.code, CT_E_PROTO);
		ck_assert_msg(strstr(e.msg, "not well-formed"), "%s", e.msg);
		ck_assert_msg(strstr(e.msg, "map keys"), "%s", e.msg);
	}
	/* not XML at all: an HTML error page */
	{
		static const char html[] = "<html><body><h1>500 Internal Error</h1></body></html>";

		ck_assert_int_eq(decode_err(CT_DEC_RECORDS, html, strlen(html), 0, &e), -1);
		ck_assert_int_eq(e.code, CT_E_PROTO);
	}
	/* garbage */
	ck_assert_int_eq(decode_err(CT_DEC_RECORDS, "\x01\x02garbage", 9, 0, &e), -1);
	ck_assert_int_eq(e.code, CT_E_PROTO);
	/* empty reply */
	ck_assert_int_eq(decode_err(CT_DEC_RECORDS, "", 0, 0, &e), -1);
	ck_assert_int_eq(e.code, CT_E_PROTO);
	/* well-formed but no Status */
	{
		static const char nostatus[] = "<methodResponse><params><param><value><struct>"
			M("Value", "<struct></struct>") "</struct></value></param></params></methodResponse>";

		ck_assert_int_eq(decode_err(CT_DEC_RECORDS, nostatus, strlen(nostatus), 0, &e), -1);
		ck_assert_int_eq(e.code, CT_E_PROTO);
		ck_assert_msg(strstr(e.msg, "Status"), "%s", e.msg);
	}
	/* an XML-RPC fault (never sent by xapi) */
	{
		static const char fault[] = "<methodResponse><fault><value><struct>"
			M("faultCode", "<int>4</int>") M("faultString", "Too many parameters")
			"</struct></value></fault></methodResponse>";

		ck_assert_int_eq(decode_err(CT_DEC_RECORDS, fault, strlen(fault), 0, &e), -1);
		ck_assert_int_eq(e.code, CT_E_PROTO);
		ck_assert_msg(strstr(e.msg, "fault"), "%s", e.msg);
	}
	/* an unknown element */
	{
		static const char odd[] = HEAD "<struct><blob/></struct>" TAIL;

		ck_assert_int_eq(decode_err(CT_DEC_RECORDS, odd, strlen(odd), 0, &e), -1);
		ck_assert_int_eq(e.code, CT_E_PROTO);
	}
	/* a DOCTYPE with entities (billion laughs) is refused outright */
	{
		static const char lol[] = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
			"<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
			"<methodResponse><params><param><value>&lol2;</value></param></params></methodResponse>";

		ck_assert_int_eq(decode_err(CT_DEC_RECORDS, lol, strlen(lol), 0, &e), -1);
		ck_assert_int_eq(e.code, CT_E_PROTO);
		ck_assert_msg(strstr(e.msg, "DOCTYPE"), "%s", e.msg);
	}
}
END_TEST

START_TEST(too_deep)
{
	struct ct_sb sb;
	struct ct_err e;

	ct_sb_init(&sb);
	ct_sb_adds(&sb, HEAD "<struct><member><name>OpaqueRef:x</name><value><struct>"
		   "<member><name>future</name><value>");
	for (int i = 0; i < 5000; i++)
		ct_sb_adds(&sb, "<array><data><value>");
	ct_sb_adds(&sb, "x");
	for (int i = 0; i < 5000; i++)
		ct_sb_adds(&sb, "</value></data></array>");
	ct_sb_adds(&sb, "</value></member></struct></value></member></struct>" TAIL);
	ck_assert_int_eq(decode_err(CT_DEC_RECORDS, sb.buf, sb.len, 4096, &e), -1);
	ck_assert_int_eq(e.code, CT_E_PROTO);
	ck_assert_msg(strstr(e.msg, "nested deeper"), "%s", e.msg);
	ct_sb_release(&sb);
}
END_TEST

START_TEST(huge_strings)
{
	struct ct_sb sb;
	struct ct_err e;
	size_t big = CT_DEC_MAX_STRING + 1000;
	char *filler = malloc(big + 1);
	struct coll c = { .n = 0 };
	struct ct_decoder *d;

	memset(filler, 'A', big);
	filler[big] = '\0';
	/* a huge value in a field chaintop keeps: refused */
	ct_sb_init(&sb);
	ct_sb_adds(&sb, HEAD "<struct><member><name>OpaqueRef:x</name><value><struct>"
		   "<member><name>name_label</name><value>");
	ct_sb_adds(&sb, filler);
	ct_sb_adds(&sb, "</value></member></struct></value></member></struct>" TAIL);
	ck_assert_int_eq(decode_err(CT_DEC_RECORDS, sb.buf, sb.len, 65536, &e), -1);
	ck_assert_int_eq(e.code, CT_E_PROTO);
	ck_assert_msg(strstr(e.msg, "longer than"), "%s", e.msg);
	ct_sb_release(&sb);

	/* the same in a field chaintop ignores: skipped without being stored */
	ct_sb_init(&sb);
	ct_sb_adds(&sb, HEAD "<struct><member><name>OpaqueRef:x</name><value><struct>"
		   M("uuid", "u1") "<member><name>xenstore_data</name><value>");
	ct_sb_adds(&sb, filler);
	ct_sb_adds(&sb, "</value></member></struct></value></member></struct>" TAIL);
	d = ct_decoder_new(CT_DEC_RECORDS, CT_VDI, collect, &c);
	ct_err_init(&e);
	ck_assert_msg(feed(d, sb.buf, sb.len, 65536, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(c.n, 1);
	ck_assert_str_eq(c.o[0]->uuid, "u1");
	coll_release(&c);
	ct_decoder_free(d);
	ct_sb_release(&sb);

	/* a huge member name */
	ct_sb_init(&sb);
	ct_sb_adds(&sb, HEAD "<struct><member><name>");
	ct_sb_adds(&sb, filler);
	ct_sb_adds(&sb, "</name><value><struct></struct></value></member></struct>" TAIL);
	ck_assert_int_eq(decode_err(CT_DEC_RECORDS, sb.buf, sb.len, 65536, &e), -1);
	ck_assert_int_eq(e.code, CT_E_PROTO);
	ct_sb_release(&sb);
	free(filler);
}
END_TEST

START_TEST(limits_on_sets)
{
	struct ct_sb sb;
	struct ct_err e;
	struct coll c = { .n = 0 };
	struct ct_decoder *d = ct_decoder_new(CT_DEC_RECORDS, CT_VDI, collect, &c);

	ct_sb_init(&sb);
	ct_sb_adds(&sb, HEAD "<struct><member><name>OpaqueRef:x</name><value><struct>"
		   "<member><name>VBDs</name><value><array><data>");
	for (int i = 0; i < 200; i++)
		ct_sb_addf(&sb, "<value>OpaqueRef:%d</value>", i);
	ct_sb_adds(&sb, "</data></array></value></member></struct></value></member></struct>" TAIL);
	ct_decoder_set_limits(d, 0, 0, 100);
	ct_err_init(&e);
	ck_assert_int_eq(feed(d, sb.buf, sb.len, 100, &e), -1);
	ck_assert_int_eq(e.code, CT_E_PROTO);
	ck_assert_msg(strstr(e.msg, "more than 100"), "%s", e.msg);
	/* later calls repeat the error */
	ck_assert_int_eq(ct_decoder_feed(d, "x", 1, &e), -1);
	ck_assert_int_eq(ct_decoder_finish(d, &e), -1);
	coll_release(&c);
	ct_decoder_free(d);
	ct_sb_release(&sb);
}
END_TEST

START_TEST(task_results)
{
	struct ct_err e;
	char *s = NULL;

	ct_err_init(&e);
	ck_assert_int_eq(ct_xapi_parse_task_result("<value>OpaqueRef:abc</value>", &s, &e), 0);
	ck_assert_str_eq(s, "OpaqueRef:abc");
	free(s);
	ck_assert_int_eq(ct_xapi_parse_task_result("<value><string>x&amp;y</string></value>", &s, &e), 0);
	ck_assert_str_eq(s, "x&y");
	free(s);
	ck_assert_int_eq(ct_xapi_parse_task_result("<value></value>", &s, &e), 0);
	ck_assert_str_eq(s, "");
	free(s);
	ck_assert_int_eq(ct_xapi_parse_task_result("", &s, &e), 0);
	ck_assert_str_eq(s, "");
	free(s);
	ck_assert_int_eq(ct_xapi_parse_task_result(NULL, &s, &e), 0);
	ck_assert_str_eq(s, "");
	free(s);
	ck_assert_int_eq(ct_xapi_parse_task_result("<value>unterminated", &s, &e), -1);
	ck_assert_int_eq(e.code, CT_E_PROTO);
	ck_assert_ptr_null(s);
}
END_TEST

/* The tokenizer's own rules: references, self-closing tags, UTF-8, and what it refuses. */
START_TEST(tokenizer_rules)
{
	static const char refs[] = "<?xml version='1.0' encoding='UTF-8'?>\n<methodResponse>\n"
		"<params><param><value><struct>" M("Status", "Success") M("Value", "<struct>"
		"<member><name>OpaqueRef:r1</name><value><struct>"
		M("uuid", "r1") M("name_label", "A&#66;&#x43; &#x263A; caf\xc3\xa9 bad\xff\xfe end")
		"<member><name>name_description</name><value/></member>"
		M("xenstore_data", "<struct>" M("stray&key", "ignored: chaintop does not keep this field") "</struct>")
		"</struct></value></member></struct>")
		"</struct></value></param></params></methodResponse>\n";
	struct coll c = { .n = 0 };
	struct ct_decoder *d = ct_decoder_new(CT_DEC_RECORDS, CT_VDI, collect, &c);
	struct ct_vdi *v;
	struct ct_err e;

	ct_err_init(&e);
	ck_assert_msg(feed(d, refs, strlen(refs), 2, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(c.n, 1);
	v = (struct ct_vdi *)c.o[0];
	ck_assert_str_eq(v->name_label, "ABC \xe2\x98\xba caf\xc3\xa9 bad\xef\xbf\xbd\xef\xbf\xbd end");
	ck_assert_str_eq(v->name_description, "");
	coll_release(&c);
	ct_decoder_free(d);

	{
		static const char *const bad[] = {
			HEAD "<struct></array>" TAIL,                           /* mismatched end tag */
			HEAD "<struct><!-- hi --></struct>" TAIL,               /* comment */
			HEAD "<struct><![CDATA[x]]></struct>" TAIL,             /* CDATA */
			HEAD "<struct></struct>" TAIL "<extra/>",               /* second root */
			HEAD "<struct></struct>" TAIL "junk",                   /* text after the root */
			HEAD "<struct><member><name>r</name><value><struct>" M("name_label", "x&bogus;") "</struct></value></member></struct>" TAIL,
			HEAD "<struct><member><name>r</name><value><struct>" M("name_label", "&#0;") "</struct></value></member></struct>" TAIL,
			HEAD "<struct><member><name>r</name><value><struct>" M("name_label", "&#xD800;") "</struct></value></member></struct>" TAIL,
			HEAD "<struct><member><name>a</name><value><string>x</string></value><</member></struct>" TAIL,
			HEAD "<1struct></1struct>" TAIL,
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			ck_assert_msg(decode_err(CT_DEC_RECORDS, bad[i], strlen(bad[i]), 5, &e) == -1,
				      "case %zu accepted", i);
			ck_assert_int_eq(e.code, CT_E_PROTO);
		}
	}
	/* a stray '&' in a map key of a field chaintop keeps: a clear error with the hint */
	{
		static const char key[] = HEAD "<struct><member><name>OpaqueRef:x</name><value><struct>"
			M("sm_config", "<struct>" M("a&b", "1") "</struct>")
			"</struct></value></member></struct>" TAIL;

		ck_assert_int_eq(decode_err(CT_DEC_RECORDS, key, strlen(key), 3, &e), -1);
		ck_assert_msg(strstr(e.msg, "map keys"), "%s", e.msg);
	}
}
END_TEST

/* A pool-wide reply of many records, fed in odd-sized chunks, with all records checked. */
START_TEST(many_records_streamed)
{
	struct ct_sb sb;
	struct ct_err e;
	size_t count = 0;
	struct ct_decoder *d;

	ct_sb_init(&sb);
	ct_sb_adds(&sb, HEAD "<struct>");
	for (int i = 0; i < 3000; i++)
		ct_sb_addf(&sb, "<member><name>OpaqueRef:%d</name><value><struct>"
			   M("uuid", "uuid-%d") M("virtual_size", "%d") M("name_label", "disk %d")
			   M("sm_config", "<struct>" M("vhd-parent", "p-%d") "</struct>")
			   "</struct></value></member>", i, i, i * 1000, i, i);
	ct_sb_adds(&sb, "</struct>" TAIL);
	d = ct_decoder_new(CT_DEC_RECORDS, CT_VDI, NULL, NULL);
	ct_err_init(&e);
	for (size_t off = 0; off < sb.len;) {
		size_t n = 1 + (off * 7919) % 4093;

		if (n > sb.len - off)
			n = sb.len - off;
		ck_assert_int_eq(ct_decoder_feed(d, sb.buf + off, n, &e), 0);
		off += n;
	}
	ck_assert_int_eq(ct_decoder_finish(d, &e), 0);
	count = ct_decoder_records(d);
	ck_assert_uint_eq(count, 3000);
	ck_assert_uint_eq(ct_decoder_bytes(d), sb.len);
	ct_decoder_free(d);
	ct_sb_release(&sb);
}
END_TEST

/* Random damage to real replies, fed in random chunks: any outcome but a crash, a leak or a
 * success that lost the envelope's verdict. Deterministic (fixed seed). */
START_TEST(mutations_never_crash)
{
	static const char *const bases[] = { vdi_reply, events_reply };
	static const char noise[] = "<>&;/\"'x \x80\xff";
	unsigned int seed = 12345;

	for (int iter = 0; iter < 3000; iter++) {
		const char *base = bases[iter % 2];
		size_t len = strlen(base);
		char *buf = malloc(len + 64);
		struct coll c = { .n = 0 };
		enum ct_dec_kind kind = iter % 2 ? CT_DEC_EVENTS : CT_DEC_RECORDS;
		struct ct_decoder *d = ct_decoder_new(kind, CT_VDI, collect, &c);
		struct ct_err e;
		int edits = 1 + rand_r(&seed) % 4;
		size_t off = 0;
		int rc = 0;

		memcpy(buf, base, len);
		for (int k = 0; k < edits; k++) {
			size_t at = (size_t)rand_r(&seed) % len;

			switch (rand_r(&seed) % 3) {
			case 0:   /* overwrite a byte */
				buf[at] = noise[rand_r(&seed) % (sizeof(noise) - 1)];
				break;
			case 1:   /* truncate */
				len = at;
				break;
			default:  /* drop a byte */
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
				break;
			}
			if (len == 0)
				break;
		}
		ct_err_init(&e);
		while (off < len && rc == 0) {
			size_t n = 1 + (size_t)rand_r(&seed) % 97;

			if (n > len - off)
				n = len - off;
			rc = ct_decoder_feed(d, buf + off, n, &e);
			off += n;
		}
		if (rc == 0)
			rc = ct_decoder_finish(d, &e);
		if (rc < 0)
			ck_assert_msg(e.code == CT_E_PROTO || e.code == CT_E_XAPI, "iter %d: code %d", iter, e.code);
		if (kind == CT_DEC_EVENTS && rc == 0) {
			struct ct_event_batch b;

			ct_decoder_take_events(d, &b);
			ck_assert_ptr_nonnull(b.token);
			ct_event_batch_release(&b);
		}
		coll_release(&c);
		ct_decoder_free(d);
		free(buf);
	}
}
END_TEST

/* Issue 11 item 1: a record member name holding NUL bytes was looked up past the end of the
 * field name it matched up to the NUL (an out-of-bounds read, caught by ASan). The minimized
 * input of the fuzzer that found it, then complete replies with 1 to 40 NULs after every kept
 * field name of every class; all are refused (NUL is no XML character). */
START_TEST(nul_in_field_name)
{
	static const char found[] = "<param><value><struct><name>Value</name><value><struct>"
		"<name></name><value><struct><name>name_description\0\0\0\0\0</name><value>";
	static const char *const names[] = {
		"name_description", "name_label", "uuid", "other_config", "sm_config", "VBDs", "SR",
		"type", "snapshot_of", "current_operations", "is_a_snapshot", "status", "cls",
	};
	struct ct_err e;
	int accepted = 0;

	for (int c = 0; c < CT_NCLASSES; c++) {
		struct coll col = { .n = 0 };
		struct ct_decoder *d = ct_decoder_new(CT_DEC_RECORDS, (enum ct_class)c, collect, &col);

		ct_err_init(&e);
		ck_assert_int_eq(feed(d, found, sizeof(found) - 1, 0, &e), -1);
		ck_assert_int_eq(e.code, CT_E_PROTO);
		ct_decoder_free(d);
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			for (int nuls = 1; nuls <= 40; nuls++) {
				struct ct_sb sb;

				ct_sb_init(&sb);
				ct_sb_adds(&sb, HEAD "<struct><member><name>OpaqueRef:x</name><value><struct>"
					   "<member><name>");
				ct_sb_adds(&sb, names[i]);
				for (int k = 0; k < nuls; k++)
					ct_sb_add(&sb, "", 1);
				ct_sb_adds(&sb, "</name><value>d</value></member></struct></value></member>"
					   "</struct>" TAIL);
				d = ct_decoder_new(CT_DEC_RECORDS, (enum ct_class)c, collect, &col);
				if (feed(d, sb.buf, sb.len, chunks[nuls % NCHUNKS], &e) == 0 ||
				    e.code != CT_E_PROTO)
					accepted++;
				coll_release(&col);
				ct_decoder_free(d);
				ct_sb_release(&sb);
			}
		}
	}
	ck_assert_int_eq(accepted, 0);
}
END_TEST

/* Decode one VDI record reply fed in chunks of `chunk` bytes; *label gets its name_label
 * (owned) on success. */
static int one_label(const char *xml, size_t len, size_t chunk, char **label, struct ct_err *e)
{
	struct coll c = { .n = 0 };
	struct ct_decoder *d = ct_decoder_new(CT_DEC_RECORDS, CT_VDI, collect, &c);
	int rc;

	*label = NULL;
	ct_err_init(e);
	rc = feed(d, xml, len, chunk, e);
	if (rc == 0 && c.n == 1)
		*label = ct_xstrdup(((struct ct_vdi *)c.o[0])->name_label);
	else if (rc == 0)
		rc = ct_err_set(e, CT_E_PROTO, "%d records", c.n);
	coll_release(&c);
	ct_decoder_free(d);
	return rc;
}

#define REC(label_xml) HEAD "<struct><member><name>OpaqueRef:r</name><value><struct>" \
	M("uuid", "u") M("name_label", label_xml) "</struct></value></member></struct>" TAIL

/* Issue 11 item 9: defects a differential fuzzer against Python's xmlrpc.client found. Valid
 * XML decodes the same whatever the chunking (every split point); invalid XML is refused
 * whatever the chunking. */
START_TEST(xml_conformance)
{
	static const struct {
		const char *xml;
		size_t len;   /* 0: strlen */
		const char *label;
	} good[] = {
		/* references of exactly 12 characters (leading zeros), and longer */
		{ REC("&#x0000000041;&#0000000066;&#x000000000000043;"), 0, "ABC" },
		/* a '>' inside a quoted attribute value does not end the tag */
		{ REC("<string lang=\"a>b\" q='\"'>x&gt;y</string>"), 0, "x>y" },
		/* XML end-of-line handling: CR LF and a lone CR become LF; &#13; stays a CR */
		{ REC("a\r\nb\rc\r\r\nd\n&#13;e\r"), 0, "a\nb\nc\n\nd\n\re\n" },
		/* a byte order mark, the declaration, and processing instructions anywhere */
		{ "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\" standalone='yes'?>"
		  "<?xml-stylesheet href=\"a>b\" don't < care?><methodResponse><?pi x?><params>"
		  "<param><value><struct>" M("Status", "Success") M("Value", "<struct><member>"
		  "<name>OpaqueRef:r</name><value><struct>" M("uuid", "u")
		  M("name_label", "ab<?inside a value?" "?>cd") "</struct></value></member></struct>")
		  "</struct></value></param></params></methodResponse><?after the root?>\n", 0,
		  "abcd" },
		/* a tab, LF and non-ASCII text are characters like any other */
		{ REC("\tx\ny \xc3\xa9"), 0, "\tx\ny \xc3\xa9" },
	};
	static const char *const bad[] = {
		REC("&#x0x41;"),                 /* strtoul's 0x prefix */
		REC("&#+65;"), REC("&# 65;"), REC("&#x;"), REC("&#X41;"), REC("&#;"),
		REC("&#x1B;"), REC("&#0;"), REC("&#x000;"), REC("&#xFFFE;"), REC("&#x110000;"),
		REC("&#x000000000000000000041z;"),
		REC("&abcdefghijklm;"), REC("&amp"), REC("& b;"),
		REC("a\x1b" "b"),                /* ESC in kept text */
		REC("a\x01"),
		HEAD "<struct><member><name>OpaqueRef:r</name><value><struct>"
		M("xenstore_data", "skipped \x1b text") "</struct></value></member></struct>" TAIL,
		HEAD "<struct><member><name>OpaqueRef:r</name><value><struct>"
		M("xenstore_data", "<struct>" M("k\x7f\x08", "v") "</struct>")
		"</struct></value></member></struct>" TAIL,
		REC("<string\x1b>x</string>"),   /* a control inside a tag */
		REC("<string a>x</string>"),     /* attributes: no value, twice, '<' or a bad & */
		REC("<string a=\"1\" a=\"2\">x</string>"),
		REC("<string a=\"1\"b=\"2\">x</string>"),
		REC("<string a=\"&bogus;\">x</string>"),
		REC("<string a=\"x\">x</strinG>"),
		REC("<i8>1</i4>"), REC("<nil></ex:nil>"),   /* aliases of one type still match */
		HEAD "<struct><member><name>OpaqueRef:r</name><value><struct>"
		M("xenstore_data", "<int>1</i4>") "</struct></value></member></struct>" TAIL,
		/* in a skipped value too: names are checked and must match */
		HEAD "<struct><member><name>OpaqueRef:r</name><value><struct>"
		M("xenstore_data", "<struct></array>") "</struct></value></member></struct>" TAIL,
		HEAD "<struct><member><name>OpaqueRef:r</name><value><struct>"
		M("xenstore_data", "<1x></1x>") "</struct></value></member></struct>" TAIL,
		/* the declaration: only at the very start, a version, UTF-8 */
		" <?xml version=\"1.0\"?>" REC("x") + 21,
		"\n<?xml version=\"1.0\"?><methodResponse/>",
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodResponse/>",
		"<?xml encoding=\"UTF-8\"?><methodResponse/>",
		"<?xml version=\"1 0\"?><methodResponse/>",
		"<?XML version=\"1.0\"?><methodResponse/>",
		"<methodResponse><?xml version=\"1.0\"?></methodResponse>",
		"<?" "?><methodResponse/>",
		"\xEF\xBB<methodResponse/>",     /* a broken byte order mark */
		"\xEF\xBB\xBF\xEF\xBB\xBF<methodResponse/>",
	};
	struct ct_err e;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t len = good[i].len ? good[i].len : strlen(good[i].xml);

		for (size_t chunk = 0; chunk <= len; chunk++) {
			char *label = NULL;

			ck_assert_msg(one_label(good[i].xml, len, chunk, &label, &e) == 0,
				      "good %zu, chunk %zu: %s", i, chunk, e.msg);
			ck_assert_msg(!strcmp(label, good[i].label), "good %zu, chunk %zu: '%s'", i,
				      chunk, label);
			free(label);
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i]);

		for (size_t chunk = 0; chunk <= len; chunk += 1 + chunk / 8) {
			char *label = NULL;

			ck_assert_msg(one_label(bad[i], len, chunk, &label, &e) == -1,
				      "bad %zu accepted with chunk %zu", i, chunk);
			ck_assert_int_eq(e.code, CT_E_PROTO);
		}
	}
	/* NUL is no XML character either, wherever it is */
	{
		static const char nul[] = REC("a\0b");
		static const char nul_tag[] = REC("<string\0>a</string>");
		char *label = NULL;

		ck_assert_int_eq(one_label(nul, sizeof(nul) - 1, 0, &label, &e), -1);
		ck_assert_ptr_nonnull(strstr(e.msg, "control character"));
		ck_assert_int_eq(one_label(nul_tag, sizeof(nul_tag) - 1, 3, &label, &e), -1);
	}
	/* the messages say what is wrong */
	{
		static const char enc[] = "<?xml version=\"1.0\" encoding=\"latin1\"?><methodResponse/>";
		char *label = NULL;

		ck_assert_int_eq(one_label(enc, strlen(enc), 0, &label, &e), -1);
		ck_assert_msg(strstr(e.msg, "encoding 'latin1'"), "%s", e.msg);
	}
}
END_TEST

/* The fast paths (whole members skipped from the buffer, plain tags and text straight to the
 * handlers) against the tokenizer alone: fed one byte at a time, no fast path ever has a
 * whole tag in hand, so every chunking must give what the whole reply gives, on members
 * in every form (typed, empty, nested, with attributes, references, CRs, non-ASCII, in kept
 * and in skipped members), and refuse the same ill-formed replies. */
#define FP_REC(fields) HEAD "<struct><member><name>OpaqueRef:v1</name><value><struct>" fields \
	"</struct></value></member><member><name>OpaqueRef:v2</name><value><struct>" \
	M("uuid", "u2") "</struct></value></member></struct>" TAIL

static char *vdi_text(const struct ct_vdi *v)
{
	struct ct_sb sb;

	ct_sb_init(&sb);
	ct_sb_addf(&sb, "%s|%s|%s|%s|%lld|%lld|%d|%d|%d|%lld|", v->o.uuid ? v->o.uuid : "-",
		   v->name_label ? v->name_label : "-", v->name_description ? v->name_description : "-",
		   v->sr ? v->sr : "-", (long long)v->virtual_size, (long long)v->physical_utilisation,
		   v->managed, v->is_a_snapshot, (int)v->type, (long long)v->snapshot_time);
	for (size_t i = 0; i < v->vbds.n; i++)
		ct_sb_addf(&sb, "vbd=%s|", v->vbds.v[i]);
	for (size_t i = 0; i < v->sm_config.n; i++)
		ct_sb_addf(&sb, "sm:%s=%s|", v->sm_config.k[i], v->sm_config.v[i]);
	for (size_t i = 0; i < v->current_operations.n; i++)
		ct_sb_addf(&sb, "op=%s|", v->current_operations.v[i]);
	return ct_sb_detach(&sb);
}

static int fp_decode(const char *xml, size_t chunk, char **out, struct ct_err *e)
{
	struct coll c = { .n = 0 };
	struct ct_decoder *d = ct_decoder_new(CT_DEC_RECORDS, CT_VDI, collect, &c);
	int rc;

	*out = NULL;
	ct_err_init(e);
	rc = feed(d, xml, strlen(xml), chunk, e);
	if (rc == 0) {
		struct ct_obj *v1 = coll_find(&c, "OpaqueRef:v1");

		ck_assert_int_eq(c.n, 2);
		ck_assert_ptr_nonnull(v1);
		*out = vdi_text((const struct ct_vdi *)v1);
	}
	coll_release(&c);
	ct_decoder_free(d);
	return rc;
}

START_TEST(fast_paths_match_tokenizer)
{
	static const struct {
		const char *xml, *want;
	} good[] = {
		{ FP_REC(M("uuid", "u1") M("allowed_operations", "<array><data><value>clone</value>"
		  "<value/></data></array>") M("name_label", "<string>disk &amp; one</string>")
		  M("location", "") M("xenstore_data", "<struct>" M("a&lt;b", "x\r\ny") "</struct>")
		  M("virtual_size", "<int>42</int>") M("physical_utilisation", "7")
		  M("managed", "<boolean>1</boolean>") M("type", "user") M("SR", "OpaqueRef:s")
		  M("VBDs", "<array><data><value>OpaqueRef:b1</value><value><string>OpaqueRef:b2"
		  "</string></value></data></array>")
		  M("sm_config", "<struct>" M("vhd-parent", "p") M("k\xc3\xa9", "v\r") "</struct>")
		  M("current_operations", "<struct>" M("t1", "destroy") "</struct>")
		  M("snapshot_time", "<dateTime.iso8601>20240102T03:04:05Z</dateTime.iso8601>")
		  "<member><name>other</name><value/></member>"
		  "<member><name>tags</name><value><array lang=\"x\"><data></data></array></value></member>"
		  M("name_description", "caf\xc3\xa9\r") M("na\xc3\xafve", "<struct><member><name>x"
		  "</name><value><array><data><value><struct></struct></value></data></array></value>"
		  "</member></struct>")),
		  "u1|disk & one|caf\xc3\xa9\n|OpaqueRef:s|42|7|1|0|1|1704164645|vbd=OpaqueRef:b1|"
		  "vbd=OpaqueRef:b2|sm:vhd-parent=p|sm:k\xc3\xa9=v\n|op=destroy|" },
		/* white space between the tags, as a pretty-printing proxy might send */
		{ FP_REC("\n <member>\n  <name>uuid</name>\n  <value>u1</value>\n </member>\n"
		  " <member> <name>xenstore_data</name> <value> <struct> </struct> </value> </member>"
		  " <member><name>name_label</name><value>l</value></member>\n"),
		  "u1|l|-|-|0|0|0|0|1|0|" },
	};
	static const char *const bad[] = {
		FP_REC(M("xenstore_data", "<struct></array>")),        /* skipped, mismatched */
		FP_REC(M("xenstore_data", "<struct><member></struct>")),
		FP_REC(M("xenstore_data", "a\x01 b")),                  /* a control, skipped */
		FP_REC(M("name_\x01label", "x")),                       /* in a member name */
		FP_REC(M("location", "x</valu")),                       /* an unclosed skipped value */
		FP_REC(M("name_label", "a<b")),
		FP_REC("<member><name>x</name><value>1</value></membre>"),
		FP_REC("<member><name>uuid</name><value>u</value></member></member>"),
		FP_REC(M("VBDs", "<array><data><value>a</value></data></array></array>")),
		FP_REC(M("xenstore_data", "<1x></1x>")),
	};
	struct ct_err e;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t len = strlen(good[i].xml);
		char *whole = NULL;

		ck_assert_msg(fp_decode(good[i].xml, 0, &whole, &e) == 0, "good %zu: %s", i, e.msg);
		ck_assert_msg(!strcmp(whole, good[i].want), "good %zu: %s", i, whole);
		for (size_t chunk = 1; chunk <= len; chunk += 1 + chunk / 16) {
			char *part = NULL;

			ck_assert_msg(fp_decode(good[i].xml, chunk, &part, &e) == 0, "good %zu, chunk %zu: %s",
				      i, chunk, e.msg);
			ck_assert_msg(!strcmp(part, whole), "good %zu, chunk %zu: %s", i, chunk, part);
			free(part);
		}
		free(whole);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i]);

		for (size_t chunk = 0; chunk <= len; chunk += 1 + chunk / 16) {
			char *out = NULL;

			ck_assert_msg(fp_decode(bad[i], chunk, &out, &e) == -1, "bad %zu accepted with chunk %zu",
				      i, chunk);
			ck_assert_int_eq(e.code, CT_E_PROTO);
		}
	}
}
END_TEST

/* The kinds of ordinary calls (issue 11 item 2): a string, a set of strings, and a reply
 * nested 180,000 deep, which xmlrpc-c could not free without overflowing the stack. */
START_TEST(string_and_set_values)
{
	static const char str[] = HEAD "OpaqueRef:s&amp;1" TAIL;
	static const char boolean[] = HEAD "<boolean>0</boolean>" TAIL;
	static const char set[] = HEAD "<array><data><value>a</value><value><string>b</string>"
		"</value><value/></data></array>" TAIL;
	static const char strct[] = HEAD "<struct></struct>" TAIL;
	struct ct_err e;
	struct ct_sb deep;

	for (size_t k = 0; k < NCHUNKS; k++) {
		struct ct_decoder *d = ct_decoder_new(CT_DEC_STRING, CT_POOL, NULL, NULL);
		struct ct_strset got;
		char *s;

		ct_err_init(&e);
		ck_assert_int_eq(feed(d, str, strlen(str), chunks[k], &e), 0);
		s = ct_decoder_take_string(d);
		ck_assert_str_eq(s, "OpaqueRef:s&1");
		free(s);
		ct_decoder_free(d);
		d = ct_decoder_new(CT_DEC_STRING, CT_POOL, NULL, NULL);
		ck_assert_int_eq(feed(d, boolean, strlen(boolean), chunks[k], &e), 0);
		s = ct_decoder_take_string(d);
		ck_assert_str_eq(s, "false");
		free(s);
		ct_decoder_free(d);
		d = ct_decoder_new(CT_DEC_SET, CT_POOL, NULL, NULL);
		ck_assert_int_eq(feed(d, set, strlen(set), chunks[k], &e), 0);
		ct_decoder_take_set(d, &got);
		ck_assert_uint_eq(got.n, 3);
		ck_assert_str_eq(got.v[1], "b");
		ck_assert_str_eq(got.v[2], "");
		ct_strset_release(&got);
		ct_decoder_free(d);
		ck_assert_int_eq(decode_err(CT_DEC_SET, str, strlen(str), chunks[k], &e), -1);
		ck_assert_msg(strstr(e.msg, "not a set of strings"), "%s", e.msg);
		ck_assert_int_eq(decode_err(CT_DEC_STRING, strct, strlen(strct), chunks[k], &e), -1);
		ck_assert_msg(strstr(e.msg, "not a string"), "%s", e.msg);
		ck_assert_int_eq(decode_err(CT_DEC_STRING, set, strlen(set), chunks[k], &e), -1);
	}
	ct_sb_init(&deep);
	ct_sb_adds(&deep, HEAD);
	for (int i = 0; i < 90000; i++)
		ct_sb_adds(&deep, "<array><data><value>");
	for (int i = 0; i < 90000; i++)
		ct_sb_adds(&deep, "</value></data></array>");
	ct_sb_adds(&deep, TAIL);
	ck_assert_int_eq(decode_err(CT_DEC_STRING, deep.buf, deep.len, 16384, &e), -1);
	ck_assert_msg(e.code == CT_E_PROTO && strstr(e.msg, "nested deeper"), "%s", e.msg);
	ck_assert_int_eq(decode_err(CT_DEC_SET, deep.buf, deep.len, 0, &e), -1);
	ck_assert_msg(strstr(e.msg, "nested deeper"), "%s", e.msg);
	ct_sb_release(&deep);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("decode");
	TCase *tc = tcase_create("decode");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, records_vdi);
	tcase_add_test(tc, datetimes_and_ints);
	tcase_add_test(tc, vm_vbd_message_records);
	tcase_add_test(tc, failure_envelope);
	tcase_add_test(tc, event_batch);
	tcase_add_test(tc, empty_events_and_record);
	tcase_add_test(tc, truncated_and_malformed);
	tcase_add_test(tc, too_deep);
	tcase_add_test(tc, huge_strings);
	tcase_add_test(tc, limits_on_sets);
	tcase_add_test(tc, task_results);
	tcase_add_test(tc, many_records_streamed);
	tcase_add_test(tc, tokenizer_rules);
	tcase_add_test(tc, mutations_never_crash);
	tcase_add_test(tc, nul_in_field_name);
	tcase_add_test(tc, xml_conformance);
	tcase_add_test(tc, fast_paths_match_tokenizer);
	tcase_add_test(tc, string_and_set_values);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
