#!/bin/bash
# The garbage collector's signals as SM and xapi produce them, end to end through
# `chaintop check` and `tree` against the simulator: an SR whose GC ran out of space
# 260 snapshots ago (VM_SNAPSHOTTED messages flood the 200 newest), a tapdisk that could
# not be unpaused, a paused disk with no GC running, a CBT log over a pending base copy,
# an on_boot=reset chain, and SM's coalesce-error messages.
source "$(dirname "$0")/../lib.sh"

json_get() { # python expression over the parsed JSON "d" on stdin
	python3 -c 'import json,sys; d=json.load(sys.stdin); print('"$1"')'
}
vdi_of() { # NAME: the uuid of VM NAME's first disk, from the simulator's state
	sim_ctl gc GET /sim/state | python3 -c 'import json,sys
d=json.load(sys.stdin)
print([v for v in d["vms"] if v["name"]==sys.argv[1] and not v["is_a_snapshot"]][0]["disks"][0]["uuid"])' "$1"
}
set_vdi() { # UUID FIELD [KEY] VALUE
	if [ $# -eq 4 ]; then
		sim_ctl gc POST /sim/set "{\"class\":\"VDI\",\"uuid\":\"$1\",\"field\":\"$2\",\"key\":\"$3\",\"value\":\"$4\"}" >/dev/null
	else
		sim_ctl gc POST /sim/set "{\"class\":\"VDI\",\"uuid\":\"$1\",\"field\":\"$2\",\"value\":\"$3\"}" >/dev/null
	fi
}

sim_start gc --scenario coalescing --gc-speed 40 || { fail "simulator starts"; finish; }
write_config "$T_TMP/gc.conf" coalesce-lab "$SIM_URL_gc"

# nfs-01 fills up: SM posts SM_GC_NO_SPACE and keeps its ref in the SR's sm_config
sim_ctl gc POST "/sim/sr/free?sr=nfs-01&bytes=1000000" >/dev/null
no_space_key() { sim_ctl gc GET /sim/state >/dev/null && "$CHAINTOP" tree -c "$T_TMP/gc.conf" --json 2>/dev/null |
	json_get '[s["gc_no_space"] for s in d["pools"][0]["srs"] if s["name"]=="nfs-01"][0]' | grep -q True; }
if wait_for 30 no_space_key; then ok "GC out of space seen"; else fail "GC out of space seen"; fi
sim_ctl gc POST /sim/gc/pause >/dev/null
# give the room back so that only the GC's report says "out of space"
sim_ctl gc POST "/sim/sr/free?sr=nfs-01&bytes=$((2 << 40))" >/dev/null

# then a night of backups: xapi posts VM_SNAPSHOTTED on every snapshot
for i in $(seq 1 260); do
	echo "{\"name\":\"VM_SNAPSHOTTED\",\"priority\":4,\"cls\":\"VM\",\"obj\":\"healthy-vm\",\"body\":\"snapshot $i\"}"
done | sim_ctl_many gc POST /sim/message

# a tapdisk SM could not unpause (cleanup.py _report_tapdisk_unpause_error): on stacked-vm
lost=$(vdi_of stacked-vm)
sim_ctl gc POST /sim/message "{\"name\":\"failed to unpause tapdisk\",\"priority\":4,\"cls\":\"SR\",\"obj\":\"nfs-01\",\"body\":\"Failed to unpause tapdisk for VDI $lost, VMs using this tapdisk have lost access to the corresponding disk(s)\"}" >/dev/null
# a paused disk on lvm-01, no GC running there (a failed snapshot left it)
frozen=$(vdi_of lvm-vm)
set_vdi "$frozen" sm_config paused true
# healthy-vm's base copy: its snapshot VDI becomes a CBT log with a stale vhd-parent
snapvdi=$(sim_ctl gc GET /sim/state | python3 -c 'import json,sys
d=json.load(sys.stdin)
h=[v for v in d["vms"] if v["name"]=="healthy-vm" and not v["is_a_snapshot"]][0]
print([v for v in d["vms"] if v["is_a_snapshot"] and v["snapshot_of"]==h["ref"]][0]["disks"][0]["uuid"])')
set_vdi "$snapvdi" type cbt_metadata
# leafpending-vm's disk is reset on boot: SM never leaf-coalesces it
reset=$(vdi_of leafpending-vm)
set_vdi "$reset" on_boot reset

# a disk left plugged into dom0 (XO's Health view lists these)
dom0vdi=$(vdi_of healthy-vm)
dom0vbd=$(sim_ctl gc POST "/sim/vbd/attach?vdi=$dom0vdi" | python3 -c 'import json,sys; print(json.load(sys.stdin)["uuid"])')

CONF_EXTRA='health = { stall_after = "2s"; };' write_config "$T_TMP/gc.conf" coalesce-lab "$SIM_URL_gc"
OUT=$("$CHAINTOP" check -c "$T_TMP/gc.conf" 2>"$T_TMP/err"); RC=$?
assert_eq "check: exit 2 (CRITICAL)" "$RC" 2
assert_contains "out-of-space SR named although 260 newer messages came after" "$OUT" \
	"CRITICAL the garbage collector of SR 'nfs-01' of pool 'coalesce-lab' reported it is out of space"
assert_contains "the lost disk is CRITICAL, with its VM" "$OUT" \
	"CRITICAL tapdisk of disk 'stacked-vm xvda'"
assert_contains "the lost disk: what to do" "$OUT" "VM 'stacked-vm' has lost access to the disk; restart the VM"
assert_contains "the paused disk: I/O frozen" "$OUT" "disk 'lvm-vm xvda'"
assert_contains "the paused disk: said as frozen I/O" "$OUT" "disk I/O frozen"
assert_not_contains "the paused disk is not GC work" "$OUT" "coalescing a live disk"
assert_not_contains "no stall about the reset chain" "$OUT" "leafpending-vm"
assert_contains "dom0-attached VDI: WARNING with the host" "$OUT" \
	"is attached to the control domain of host 'lab-host-01'"
assert_contains "dom0-attached VDI: the xe commands" "$OUT" "xe vbd-unplug uuid=$dom0vbd; xe vbd-destroy uuid=$dom0vbd"

OUT=$("$CHAINTOP" tree -c "$T_TMP/gc.conf" --json 2>/dev/null)
assert_eq "tree json: CBT log hides nothing, healthy-vm's leaf is pending" \
	"$(json_get '[(v["state"],v["pending"]) for s in d["pools"][0]["srs"] for v in s["vdis"] if "healthy-vm" in v["vms"]][0]' <<<"$OUT")" \
	"('pending', 1)"
assert_eq "tree json: reset chain not pending, with SM's reason" \
	"$(json_get '[(v["state"],v["pending"],v["no_coalesce"]) for s in d["pools"][0]["srs"] for v in s["vdis"] if "leafpending-vm" in v["vms"]][0]' <<<"$OUT")" \
	"('ok', 0, 'the disk is reset on boot (on_boot=reset)')"
assert_eq "tree json: the paused disk" \
	"$(json_get '[v["paused"] for s in d["pools"][0]["srs"] for v in s["vdis"] if "lvm-vm" in v["vms"]][0]' <<<"$OUT")" True
assert_eq "tree json: SR counts the link SM will not do apart" \
	"$(json_get '[s["not_coalesced"] for s in d["pools"][0]["srs"] if s["name"]=="nfs-01"][0]' <<<"$OUT")" 1
OUT=$("$CHAINTOP" tree -c "$T_TMP/gc.conf" 2>/dev/null)
assert_contains "tree text: SM will not coalesce the reset chain" "$OUT" \
	"[SM will not coalesce this: the disk is reset on boot (on_boot=reset)]"
assert_contains "tree text: paused disk frozen" "$OUT" "[paused: disk I/O frozen]"

# every output format carries the CRITICAL
OUT=$("$CHAINTOP" check -c "$T_TMP/gc.conf" --format nagios 2>/dev/null)
assert_contains "nagios: CRITICAL" "$(head -n1 <<<"$OUT")" "CHAINTOP CRITICAL - "
assert_contains "nagios: lost disk line" "$OUT" "CRITICAL: tapdisk of disk 'stacked-vm xvda'"
OUT=$("$CHAINTOP" check -c "$T_TMP/gc.conf" --format prometheus 2>/dev/null)
assert_contains "prometheus: gc_no_space gauge" "$OUT" 'chaintop_sr_gc_no_space{pool="coalesce-lab",sr="nfs-01"'
OUT=$("$CHAINTOP" check -c "$T_TMP/gc.conf" --format json 2>/dev/null)
assert_eq "json: status CRITICAL" "$(json_get 'd["status"]' <<<"$OUT")" CRITICAL
assert_eq "json: a CRITICAL problem on the lost VDI" \
	"$(json_get '[p["severity"] for p in d["problems"] if p.get("uuid")=="'"$lost"'"][0]' <<<"$OUT")" CRITICAL

# the paused disk stays paused past 2 minutes: CRITICAL (since is kept in the state dir)
python3 - "$T_TMP/state/chaintop/stall.json" "$frozen" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
for e in d.get("paused", []):
    if e["vdi_uuid"] == sys.argv[2]:
        e["since"] -= 600
json.dump(d, open(p, "w"))
PY
OUT=$("$CHAINTOP" check -c "$T_TMP/gc.conf" 2>/dev/null)
assert_contains "paused for over 2 minutes: CRITICAL" "$OUT" "CRITICAL disk 'lvm-vm xvda'"
assert_contains "paused for over 2 minutes: said" "$OUT" "disk I/O frozen for over 2 minutes"

# SM's coalesce errors: named after the OS error, one an hour (last-coalesce-error)
sim_start ce --scenario coalescing --gc-speed 0 || { fail "simulator (coalesce error) starts"; finish; }
write_config "$T_TMP/ce.conf" coalesce-lab "$SIM_URL_ce"
sim_ctl ce POST /sim/fault '{"kind":"coalesce_error","sr":"nfs-01","errno":"EIO"}' >/dev/null
sim_ctl ce POST "/sim/gc/speed?f=40" >/dev/null
io_error() { "$CHAINTOP" check -c "$T_TMP/ce.conf" 2>/dev/null | grep -q "reported a coalesce error ('Input/output error' at "; }
if wait_for 30 io_error; then ok "coalesce error named after the OS error"; else fail "coalesce error named after the OS error"; fi

# work left from SM's vhd-blocks, the room the largest merge needs, and the ETA once a
# merge has been seen (check keeps the rate in the state directory)
sim_start eta --scenario coalescing --seed 7 --gc-speed 0 || { fail "simulator (eta) starts"; finish; }
write_config "$T_TMP/eta.conf" coalesce-lab "$SIM_URL_eta"
OUT=$("$CHAINTOP" tree -c "$T_TMP/eta.conf" 2>/dev/null)
assert_contains "tree: SR work left and space needed" "$OUT" ", the largest needs "
OUT=$("$CHAINTOP" tree -c "$T_TMP/eta.conf" --json 2>/dev/null)
assert_eq "tree json: base copies measured from vhd-blocks" \
	"$(json_get '[(s["work_links"] > s["work_estimated"], s["work_bytes"] > 0, s["need_bytes"] > 0) for s in d["pools"][0]["srs"] if s["name"]=="nfs-01"][0]' <<<"$OUT")" \
	"(True, True, True)"
"$CHAINTOP" check -c "$T_TMP/eta.conf" >/dev/null 2>&1
sim_ctl eta POST "/sim/gc/speed?f=3" >/dev/null
eta_known() {
	"$CHAINTOP" check -c "$T_TMP/eta.conf" --format json 2>/dev/null | python3 -c 'import json,sys
d=json.load(sys.stdin)
sys.exit(0 if [s for s in d["pools"][0]["srs"] if s["name"]=="nfs-01" and s["eta_seconds"] is not None] else 1)'
}
if wait_for 120 eta_known; then ok "a merge seen: rate and ETA known"; else fail "a merge seen: rate and ETA known"; fi
OUT=$("$CHAINTOP" check -c "$T_TMP/eta.conf" --format json 2>/dev/null)
assert_eq "json: merge rate measured" \
	"$(json_get '[s["merge_rate"] > 0 for s in d["pools"][0]["srs"] if s["name"]=="nfs-01"][0]' <<<"$OUT")" True
assert_contains "stall memory keeps the rate" "$(cat "$T_TMP/state/chaintop/stall.json")" '"rate"'
# tree reads the rate check measured (and saves nothing); VMs carry their gate ETA field
OUT=$("$CHAINTOP" tree -c "$T_TMP/eta.conf" --json 2>/dev/null)
assert_eq "tree json: the measured merge rate" \
	"$(json_get '[s["merge_rate"] is not None and s["merge_rate"] > 0 for s in d["pools"][0]["srs"] if s["name"]=="nfs-01"][0]' <<<"$OUT")" True
assert_eq "tree json: gate_eta_seconds per VM (null: nothing to wait for)" \
	"$(json_get '[("gate_eta_seconds" in v, v["gate_eta_seconds"]) for v in d["pools"][0]["vms"] if v["name"]=="healthy-vm"][0]' <<<"$OUT")" "(True, None)"

# chaintop scan: SR.scan on the named SR (kicks its GC); refused read-only; unknown SR
sim_ctl ce POST /sim/calls/clear >/dev/null
OUT=$("$CHAINTOP" scan -c "$T_TMP/ce.conf" --sr nfs-01 2>&1); RC=$?
assert_eq "scan: exit 0" "$RC" 0
assert_contains "scan: says what it did" "$OUT" "SR 'nfs-01' ("
nfs_ref=$(sim_ctl ce GET /sim/state | python3 -c 'import json,sys; print([s["ref"] for s in json.load(sys.stdin)["srs"] if s["name"]=="nfs-01"][0])')
assert_eq "scan: SR.scan called on that SR" \
	"$(sim_ctl ce GET /sim/calls | python3 -c 'import json,sys; print([c["params"][1] for c in json.load(sys.stdin) if c["method"]=="SR.scan"])')" \
	"['$nfs_ref']"
OUT=$("$CHAINTOP" --read-only scan -c "$T_TMP/ce.conf" --sr nfs-01 2>&1); RC=$?
assert_eq "scan --read-only: exit 2" "$RC" 2
assert_contains "scan --read-only: says why" "$OUT" "--read-only is set"
OUT=$("$CHAINTOP" scan -c "$T_TMP/ce.conf" --sr nosuch 2>&1); RC=$?
assert_eq "scan unknown SR: exit 2" "$RC" 2
assert_contains "scan unknown SR: says so" "$OUT" "no SR named or with uuid 'nosuch'"
finish
