/* decode_bench: the streaming decoder's speed on pool-sized replies. Builds in memory the
 * VM and VDI get_all_records replies of a pool of N VMs (default 2000, two VDIs each) in
 * XAPI's encoding (every member xapi sends, most of which chaintop skips), then decodes
 * each RUNS times (default 5) in 128 KiB chunks, as libcurl hands them over.
 * Usage: decode_bench [N [RUNS]]. Prints MB, the median and best ms and MB/s, per reply and
 * for both; asserts nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xapi/decode.h"
#include "lib/util.h"

#define HEAD "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>" \
	"<member><name>Status</name><value>Success</value></member>" \
	"<member><name>Value</name><value><struct>"
#define TAIL "</struct></value></member></struct></value></param></params></methodResponse>"
#define M(n, v) "<member><name>" n "</name><value>" v "</value></member>"
#define EMPTYMAP "<struct></struct>"
#define EMPTYSET "<array><data></data></array>"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void vdi_record(struct ct_sb *sb, int i)
{
	ct_sb_addf(sb, "<member><name>OpaqueRef:%08x-vdi0-4000-8000-%012d</name><value><struct>"
		   M("uuid", "%08x-aaaa-4bbb-8ccc-%012d") M("name_label", "disk %d of vm %d")
		   M("name_description", "created by the installer")
		   M("allowed_operations", "<array><data><value>clone</value><value>snapshot</value>"
		     "<value>copy</value><value>destroy</value></data></array>")
		   M("current_operations", EMPTYMAP) M("SR", "OpaqueRef:sr-%d")
		   M("VBDs", "<array><data><value>OpaqueRef:vbd-%d</value></data></array>")
		   M("crash_dumps", EMPTYSET) M("virtual_size", "%lld")
		   M("physical_utilisation", "%lld") M("type", "user") M("sharable", "false")
		   M("read_only", "false") M("other_config", EMPTYMAP) M("storage_lock", "false")
		   M("location", "%08x-aaaa-4bbb-8ccc-%012d") M("managed", "true")
		   M("missing", "false") M("parent", "OpaqueRef:NULL")
		   M("xenstore_data", EMPTYMAP)
		   M("sm_config", "<struct>" M("vdi_type", "vhd") M("vhd-parent",
		     "%08x-aaaa-4bbb-8ccc-%012d") "</struct>")
		   M("is_a_snapshot", "false") M("snapshot_of", "OpaqueRef:NULL")
		   M("snapshots", EMPTYSET) M("snapshot_time", "19700101T00:00:00Z")
		   M("tags", EMPTYSET) M("allow_caching", "false") M("on_boot", "persist")
		   M("metadata_of_pool", "OpaqueRef:NULL") M("metadata_latest", "false")
		   M("is_tools_iso", "false") M("cbt_enabled", "false")
		   "</struct></value></member>",
		   i, i, i, i, i, i / 2, i % 20, i, (long long)i << 30, (long long)i << 20, i, i,
		   i + 1, i + 1);
}

static void vm_record(struct ct_sb *sb, int i)
{
	ct_sb_addf(sb, "<member><name>OpaqueRef:%08x-vm00-4000-8000-%012d</name><value><struct>"
		   M("uuid", "%08x-bbbb-4bbb-8ccc-%012d")
		   M("allowed_operations", "<array><data><value>snapshot</value><value>clone"
		     "</value><value>start</value></data></array>")
		   M("current_operations", EMPTYMAP) M("name_label", "vm %d")
		   M("name_description", "") M("power_state", "Running") M("user_version", "1")
		   M("is_a_template", "false") M("is_default_template", "false")
		   M("suspend_VDI", "OpaqueRef:NULL") M("resident_on", "OpaqueRef:host-%d")
		   M("scheduled_to_be_resident_on", "OpaqueRef:NULL") M("affinity", "OpaqueRef:NULL")
		   M("memory_overhead", "11534336") M("memory_target", "0")
		   M("memory_static_max", "2147483648") M("memory_dynamic_max", "2147483648")
		   M("memory_dynamic_min", "2147483648") M("memory_static_min", "536870912")
		   M("VCPUs_params", EMPTYMAP) M("VCPUs_max", "2") M("VCPUs_at_startup", "2")
		   M("actions_after_shutdown", "destroy") M("actions_after_reboot", "restart")
		   M("actions_after_crash", "restart") M("consoles", EMPTYSET) M("VIFs", EMPTYSET)
		   M("VBDs", "<array><data><value>OpaqueRef:vbd-%d</value><value>OpaqueRef:vbd-%d"
		     "</value></data></array>")
		   M("VUSBs", EMPTYSET) M("crash_dumps", EMPTYSET) M("VTPMs", EMPTYSET)
		   M("PV_bootloader", "") M("PV_kernel", "") M("PV_ramdisk", "") M("PV_args", "")
		   M("PV_bootloader_args", "") M("PV_legacy_args", "")
		   M("HVM_boot_policy", "BIOS order")
		   M("HVM_boot_params", "<struct>" M("order", "cd") "</struct>")
		   M("HVM_shadow_multiplier", "<double>1.0</double>")
		   M("platform", "<struct>" M("timeoffset", "0") M("device-model",
		     "qemu-upstream-compat") M("acpi", "1") M("apic", "true") M("pae", "true")
		     M("nx", "true") M("viridian", "false") "</struct>")
		   M("PCI_bus", "") M("other_config", EMPTYMAP) M("domid", "%d")
		   M("domarch", "") M("last_boot_CPU_flags", EMPTYMAP)
		   M("is_control_domain", "false") M("metrics", "OpaqueRef:NULL")
		   M("guest_metrics", "OpaqueRef:NULL") M("last_booted_record", "")
		   M("recommendations", "") M("xenstore_data", EMPTYMAP)
		   M("ha_always_run", "false") M("ha_restart_priority", "")
		   M("is_a_snapshot", "false") M("snapshot_of", "OpaqueRef:NULL")
		   M("snapshots", EMPTYSET) M("snapshot_time", "19700101T00:00:00Z")
		   M("transportable_snapshot_id", "") M("blobs", EMPTYMAP) M("tags", EMPTYSET)
		   M("blocked_operations", EMPTYMAP) M("snapshot_info", EMPTYMAP)
		   M("snapshot_metadata", "") M("parent", "OpaqueRef:NULL") M("children", EMPTYSET)
		   M("bios_strings", EMPTYMAP) M("protection_policy", "OpaqueRef:NULL")
		   M("is_snapshot_from_vmpp", "false") M("snapshot_schedule", "OpaqueRef:NULL")
		   M("is_vmss_snapshot", "false") M("appliance", "OpaqueRef:NULL")
		   M("start_delay", "0") M("shutdown_delay", "0") M("order", "0")
		   M("VGPUs", EMPTYSET) M("attached_PCIs", EMPTYSET) M("suspend_SR", "OpaqueRef:NULL")
		   M("version", "0") M("generation_id", "") M("hardware_platform_version", "0")
		   M("has_vendor_device", "false") M("requires_reboot", "false")
		   M("reference_label", "") M("domain_type", "hvm") M("NVRAM", EMPTYMAP)
		   "</struct></value></member>",
		   i, i, i, i, i, i % 8, 2 * i, 2 * i + 1, i + 1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void count_cb(void *ctx, struct ct_obj *o)
{
	(*(size_t *)ctx)++;
	ct_obj_free(o);
}

/* Returns the median ms. */
static double bench(const char *what, enum ct_class c, const struct ct_sb *sb, int runs)
{
	double med;
	double *ms = ct_xcalloc((size_t)runs, sizeof(*ms));
	size_t records = 0;

	for (int r = 0; r < runs; r++) {
		struct ct_decoder *d = ct_decoder_new(CT_DEC_RECORDS, c, count_cb, &records);
		struct ct_err e;
		double t0 = now_ms();
		int rc = 0;

		ct_err_init(&e);
		for (size_t off = 0; off < sb->len && rc == 0; off += 131072)
			rc = ct_decoder_feed(d, sb->buf + off,
					     sb->len - off < 131072 ? sb->len - off : 131072, &e);
		if (rc == 0)
			rc = ct_decoder_finish(d, &e);
		ms[r] = now_ms() - t0;
		ct_decoder_free(d);
		if (rc < 0) {
			fprintf(stderr, "decode_bench: %s: %s\n", what, e.msg);
			exit(1);
		}
	}
	qsort(ms, (size_t)runs, sizeof(*ms), cmp_double);
	printf("%-5s %7.1f MB %8zu records  median %7.1f ms  best %7.1f ms  %6.0f MB/s\n", what,
	       (double)sb->len / 1e6, records / (size_t)runs, ms[runs / 2], ms[0],
	       (double)sb->len / 1e3 / ms[runs / 2]);
	med = ms[runs / 2];
	free(ms);
	return med;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000;
	int runs = argc > 2 ? atoi(argv[2]) : 5;
	struct ct_sb vdi, vm;
	double t;

	if (n < 1 || runs < 1) {
		fprintf(stderr, "usage: decode_bench [VMS [RUNS]]\n");
		return 2;
	}
	ct_sb_init(&vdi);
	ct_sb_init(&vm);
	ct_sb_adds(&vdi, HEAD);
	ct_sb_adds(&vm, HEAD);
	for (int i = 0; i < n; i++) {
		vdi_record(&vdi, 2 * i);
		vdi_record(&vdi, 2 * i + 1);
		vm_record(&vm, i);
	}
	ct_sb_adds(&vdi, TAIL);
	ct_sb_adds(&vm, TAIL);
	printf("decode_bench: %d VMs, %d runs each, 128 KiB chunks\n", n, runs);
	t = bench("VDI", CT_VDI, &vdi, runs);
	t += bench("VM", CT_VM, &vm, runs);
	printf("both  %7.1f MB  medians' sum %7.1f ms  %6.0f MB/s\n", (double)(vdi.len + vm.len) / 1e6,
	       t, (double)(vdi.len + vm.len) / 1e3 / t);
	ct_sb_release(&vdi);
	ct_sb_release(&vm);
	return 0;
}
