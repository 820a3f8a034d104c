#!/bin/bash
# chaintop tree against the simulator: the forest, VM names next to disks, states, JSON
# matching what the simulator serves, glyphs by locale, per-SR overrides, a dead pool.
source "$(dirname "$0")/../lib.sh"

sim_start co --scenario coalescing --gc-speed 2 || { fail "simulator starts"; finish; }
sim_ctl co POST /sim/gc/pause >/dev/null
write_config "$T_TMP/co.conf" coalesce-lab "$SIM_URL_co"

out=$(LC_ALL=C "$CHAINTOP" tree -c "$T_TMP/co.conf" 2>"$T_TMP/err"); rc=$?
assert_eq "tree: exit 0" "$rc" 0
assert_contains "tree: pool line" "$out" "pool 'coalesce-lab' "
assert_contains "tree: SR line with type, space, pending" "$out" "SR 'nfs-01' "
assert_contains "tree: thin/thick" "$out" "(lvm, thick)"
assert_contains "tree: VM and device next to the live disk" "$out" "VM 'stacked-vm' xvda, depth 4"
assert_contains "tree: stacked marker" "$out" "[stacked: 2 above, tolerance 1]"
assert_contains "tree: pending marker" "$out" "[pending: 1 coalesce link above]"
assert_contains "tree: snapshot name and age" "$out" "snapshot 'healthy-vm snap' "
assert_contains "tree: snapshot age" "$out" "ago)"
assert_contains "tree: ASCII glyphs in the C locale" "$out" "|- "
assert_not_contains "tree: no UTF-8 glyphs in the C locale" "$out" "├─"
indent=$(grep -F "VM 'stacked-vm' xvda" <<<"$out" | sed -E 's/'"'"'stacked-vm.*//' | wc -c)
base_indent=$(grep -F "base copy" <<<"$out" | head -n1 | sed -E 's/base copy.*//' | wc -c)
check "tree: indented by depth" test "$indent" -gt "$((base_indent + 6))"

out=$(LC_ALL=C.UTF-8 "$CHAINTOP" tree -c "$T_TMP/co.conf" 2>/dev/null)
assert_contains "tree: UTF-8 glyphs in a UTF-8 locale" "$out" "├─ "

# JSON: the shape of design.md section 4, figures as the simulator has them
"$CHAINTOP" tree -c "$T_TMP/co.conf" --json >"$T_TMP/tree.json" 2>/dev/null; rc=$?
assert_eq "tree --json: exit 0" "$rc" 0
sim_ctl co GET /sim/state >"$T_TMP/state.json"
res=$(python3 - "$T_TMP/tree.json" "$T_TMP/state.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))
p = t["pools"][0]
errs = []
for k in ("name", "uuid", "connected", "error", "srs", "vms"):
    if k not in p: errs.append("pool key " + k)
if p["connected"] is not True or p["error"] is not None: errs.append("connected/error")
srs = {x["uuid"]: x for x in p["srs"]}
for sr in s["srs"]:
    j = srs.get(sr["uuid"])
    if j is None: errs.append("SR missing " + sr["name"]); continue
    for k in ("uuid", "name", "type", "physical_size", "physical_utilisation", "gc", "vdis"):
        if k not in j: errs.append("SR key " + k)
    if j["physical_size"] != sr["physical_size"]: errs.append("size of " + sr["name"])
    if len(j["vdis"]) != sr["vdis"]: errs.append("VDI count of %s: %d != %d" % (sr["name"], len(j["vdis"]), sr["vdis"]))
vdis = {v["uuid"]: v for x in p["srs"] for v in x["vdis"]}
for v in vdis.values():
    for k in ("uuid", "name", "managed", "is_a_snapshot", "parent", "depth", "children", "stacked", "pending", "state", "vms"):
        if k not in v: errs.append("VDI key " + k)
for vm in s["vms"]:
    for d in vm["disks"]:
        j = vdis.get(d["uuid"])
        if j is None: errs.append("disk missing " + d["uuid"]); continue
        if j["depth"] != d["depth"]: errs.append("depth of %s: %d != %d" % (vm["name"], j["depth"], d["depth"]))
        if vm["name"] not in j["vms"]: errs.append("vms of disk of " + vm["name"])
        # the parent chain as the simulator has it
        chain, u = [], d["uuid"]
        while u:
            chain.append(u); u = vdis[u]["parent"] if u in vdis else None
        if chain != d["chain"]: errs.append("chain of " + vm["name"])
names = sorted(v["name"] for v in p["vms"])
real = sorted(v["name"] for v in s["vms"] if not v["is_a_snapshot"])
if names != real: errs.append("vms %r != %r" % (names, real))
for v in p["vms"]:
    for k in ("uuid", "name", "power_state", "snapshots", "gate", "reasons"):
        if k not in v: errs.append("VM key " + k)
print("ok" if not errs else "; ".join(errs[:5]))
PY
)
assert_eq "tree --json matches the simulator" "$res" "ok"
# every figure and name of the document against the pool's own XAPI records (the model the
# simulator serves, read with python's client): not against another of our writers
res=$(python3 - "$T_TMP/tree.json" "$SIM_URL_co" <<'PY'
import json, sys, xmlrpc.client
t = json.load(open(sys.argv[1]))
s = xmlrpc.client.ServerProxy(sys.argv[2])
h = s.session.login_with_password("root", "chaintop-demo")["Value"]
rec = {c: getattr(s, c).get_all_records(h)["Value"] for c in ("pool", "SR", "VDI", "VBD", "VM")}
errs = []
def eq(what, got, want):
    if got != want: errs.append("%s: %r != %r" % (what, got, want))
p = t["pools"][0]
pool = next(iter(rec["pool"].values()))
eq("pool uuid", p["uuid"], pool["uuid"])
eq("pool name_label", p["name_label"], pool["name_label"])
vdi_by_uuid = {v["uuid"]: (r, v) for r, v in rec["VDI"].items()}
# VMs on a disk, through its VBDs, as xapi links them
vms_of = {}
for b in rec["VBD"].values():
    if b["VDI"] in rec["VDI"] and b["VM"] in rec["VM"]:
        vms_of.setdefault(b["VDI"], []).append((rec["VM"][b["VM"]], b))
jsrs = {x["uuid"]: x for x in p["srs"]}
for r, sr in rec["SR"].items():
    j = jsrs.get(sr["uuid"])
    if j is None: errs.append("SR %s missing" % sr["name_label"]); continue
    n = sr["name_label"]
    eq("SR %s name" % n, j["name"], n)
    eq("SR %s type" % n, j["type"], sr["type"])
    eq("SR %s physical_size" % n, j["physical_size"], int(sr["physical_size"]))
    eq("SR %s physical_utilisation" % n, j["physical_utilisation"], int(sr["physical_utilisation"]))
    eq("SR %s free_bytes" % n, j["free_bytes"], int(sr["physical_size"]) - int(sr["physical_utilisation"]))
    eq("SR %s disks" % n, sorted(v["uuid"] for v in j["vdis"]), sorted(rec["VDI"][x]["uuid"] for x in sr["VDIs"]))
    for v in j["vdis"]:
        vr, x = vdi_by_uuid[v["uuid"]]
        w = "VDI %s" % x["name_label"]
        eq(w + " name", v["name"], x["name_label"])
        eq(w + " is_a_snapshot", v["is_a_snapshot"], x["is_a_snapshot"])
        eq(w + " managed", v["managed"], x["managed"])
        eq(w + " virtual_size", v["virtual_size"], int(x["virtual_size"]))
        eq(w + " physical_utilisation", v["physical_utilisation"], int(x["physical_utilisation"]))
        eq(w + " parent", v["parent"], x["sm_config"].get("vhd-parent"))
        eq(w + " children", v["children"], sum(1 for y in rec["VDI"].values() if y["sm_config"].get("vhd-parent") == x["uuid"]))
        depth, u = 0, x["uuid"]
        while u in vdi_by_uuid and depth < 100:
            depth += 1
            u = vdi_by_uuid[u][1]["sm_config"].get("vhd-parent")
        eq(w + " depth", v["depth"], depth)
        on = [(vm, b) for vm, b in vms_of.get(vr, []) if not vm["is_control_domain"]]
        eq(w + " vms", sorted(v["vms"]), sorted(vm["name_label"] for vm, b in on))
        live = [(vm, b) for vm, b in on if not (vm["is_a_snapshot"] or vm["is_a_template"])]
        if live:   # the VM that runs on it, and its device
            eq(w + " vm and device", (v.get("vm"), v.get("device")), (live[0][0]["name_label"], live[0][1]["device"]))
        snap = [vm["name_label"] for vm, b in on if vm["is_a_snapshot"]]
        if snap:
            eq(w + " snapshot", v.get("snapshot"), snap[0])
jvms = {v["uuid"]: v for v in p["vms"]}
for r, vm in rec["VM"].items():
    if vm["is_a_snapshot"] or vm["is_a_template"] or vm["is_control_domain"]: continue
    j = jvms.get(vm["uuid"])
    if j is None: errs.append("VM %s missing" % vm["name_label"]); continue
    w = "VM %s" % vm["name_label"]
    eq(w + " name", j["name"], vm["name_label"])
    eq(w + " power_state", j["power_state"], vm["power_state"])
    eq(w + " snapshots", j["snapshots"], len(vm["snapshots"]))
eq("VM count", len(p["vms"]), sum(1 for v in rec["VM"].values() if not (v["is_a_snapshot"] or v["is_a_template"] or v["is_control_domain"])))
print("ok" if not errs else "; ".join(errs[:8]))
PY
)
assert_eq "tree --json: field values match the pool's XAPI records" "$res" "ok"

# per-SR override: an NFS SR that never leaf-coalesces gets tolerance 2
cat >"$T_TMP/ov.conf" <<CONF
pools = ( { name = "coalesce-lab"; url = "$SIM_URL_co"; username = "root";
            password_env = "CHAINTOP_TEST_PASSWORD";
            srs = ( { match = "nfs-*"; tolerance = 2; } ); } );
state_dir = "$T_TMP/state/chaintop";
CONF
out=$(LC_ALL=C "$CHAINTOP" tree -c "$T_TMP/ov.conf" 2>&1)
assert_not_contains "override: not stacked with tolerance 2" "$out" "[stacked:"
assert_contains "override: still pending" "$out" "[pending: 3 coalesce links above]"

# a dead pool: clear message, exit non-zero, the other pool still printed
write_config "$T_TMP/two.conf" coalesce-lab "$SIM_URL_co" gone "http://127.0.0.1:9"
out=$(LC_ALL=C "$CHAINTOP" tree -c "$T_TMP/two.conf" 2>"$T_TMP/err"); rc=$?
assert_eq "dead pool: exit 1" "$rc" 1
assert_contains "dead pool: the other pool printed" "$out" "VM 'stacked-vm' xvda"
assert_contains "dead pool: marked in the tree" "$out" "pool 'gone': not loaded: "
assert_contains "dead pool: message on stderr" "$(cat "$T_TMP/err")" "pool 'gone' could not be loaded"
"$CHAINTOP" tree -c "$T_TMP/two.conf" --json >"$T_TMP/two.json" 2>/dev/null
res=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); p=[x for x in d["pools"] if x["name"]=="gone"][0]; print(p["connected"], bool(p["error"]), p["srs"])' "$T_TMP/two.json")
assert_eq "dead pool: JSON connected false with its error" "$res" "False True []"

# deep: the 29-deep chain is shown and flagged
sim_start deep --scenario deep --gc-speed 2 || { fail "simulator (deep) starts"; finish; }
write_config "$T_TMP/deep.conf" deep-lab "$SIM_URL_deep"
out=$(LC_ALL=C "$CHAINTOP" tree -c "$T_TMP/deep.conf" 2>&1)
assert_contains "deep: the leaf at depth 29, flagged" "$out" "VM 'deep-vm' xvda, depth 29, 40.0 GiB"
assert_contains "deep: critical marker" "$out" "[DEEP, CRITICAL: depth 29]"

out=$("$CHAINTOP" tree --help); rc=$?
assert_eq "--help exits 0" "$rc" 0
assert_contains "--help mentions --json" "$out" "--json"
out=$("$CHAINTOP" tree --bogus 2>&1); rc=$?
assert_eq "unknown argument: exit 2" "$rc" 2
finish
