#!/bin/bash
# chaintop check against the simulator: verdicts and exit codes per scenario, every output
# format, an unreachable pool as UNKNOWN, a chain the GC coalesces turning WARNING -> OK,
# and a paused GC reported as stalled across runs (state kept in the state directory).
source "$(dirname "$0")/../lib.sh"

run_check() { # config, args...: sets OUT, ERR, RC
	local cfg=$1; shift
	OUT=$("$CHAINTOP" check -c "$cfg" "$@" 2>"$T_TMP/check.err"); RC=$?
	ERR=$(cat "$T_TMP/check.err")
}

json_get() { # python expression over the parsed JSON "d" on stdin
	python3 -c 'import json,sys; d=json.load(sys.stdin); print('"$1"')'
}

# --- coalescing: stacked-vm refused (WARNING), healthy and leaf-pending VMs fine ---------
sim_start co --scenario coalescing --gc-speed 2 || { fail "simulator (coalescing) starts"; finish; }
sim_ctl co POST /sim/gc/pause >/dev/null
write_config "$T_TMP/co.conf" coalesce-lab "$SIM_URL_co"
run_check "$T_TMP/co.conf"
assert_eq "coalescing: exit 1 (WARNING)" "$RC" 1
assert_contains "coalescing: summary line" "$(head -n1 <<<"$OUT")" "chaintop WARNING: 1 pool, 2 SRs, 4 VMs"
assert_contains "coalescing: stacked reason names disk, SR, pool, figure and limit" "$OUT" \
	"WARNING  2 stacked base copies above disk 'stacked-vm xvda'"
assert_contains "coalescing: reason carries SR and tolerance" "$OUT" "on SR 'nfs-01' of pool 'coalesce-lab' (tolerance 1)"
assert_not_contains "coalescing: leaf-pending VM is not refused" "$OUT" "leafpending-vm xvda"
assert_not_contains "coalescing: healthy VM is not mentioned" "$OUT" "healthy-vm"
assert_not_contains "coalescing: no error on stderr" "$ERR" "error"

run_check "$T_TMP/co.conf" --format json
assert_eq "json: exit 1" "$RC" 1
assert_eq "json: status" "$(json_get 'd["status"]' <<<"$OUT")" "WARNING"
assert_eq "json: stacked-vm refused" \
	"$(json_get '[v["gate"] for v in d["pools"][0]["vms"] if v["name"]=="stacked-vm"][0]' <<<"$OUT")" refused
assert_eq "json: leafpending-vm ok" \
	"$(json_get '[v["gate"] for v in d["pools"][0]["vms"] if v["name"]=="leafpending-vm"][0]' <<<"$OUT")" ok
assert_eq "json: stacked leaf state and counts" \
	"$(json_get '[(v["state"],v["stacked"],v["depth"]) for s in d["pools"][0]["srs"] for v in s["vdis"] if "stacked-vm" in v["vms"]][0]' <<<"$OUT")" \
	"('stacked', 2, 4)"
assert_eq "json: leaf-pending leaf is pending, not stacked" \
	"$(json_get '[(v["state"],v["stacked"],v["pending"]) for s in d["pools"][0]["srs"] for v in s["vdis"] if "leafpending-vm" in v["vms"]][0]' <<<"$OUT")" \
	"('pending', 0, 1)"
assert_eq "json: problems listed" "$(json_get 'len(d["problems"]) > 0' <<<"$OUT")" True

run_check "$T_TMP/co.conf" --format nagios
assert_eq "nagios: exit 1" "$RC" 1
assert_contains "nagios: status line" "$(head -n1 <<<"$OUT")" "CHAINTOP WARNING - "
assert_contains "nagios: perfdata" "$(head -n1 <<<"$OUT")" " | max_depth=4;20;28 pending="
assert_contains "nagios: problem lines" "$OUT" "WARNING: 2 stacked base copies above disk 'stacked-vm xvda'"

run_check "$T_TMP/co.conf" --format prometheus
assert_eq "prometheus: exit 1" "$RC" 1
assert_contains "prometheus: pool up" "$OUT" 'chaintop_pool_up{pool="coalesce-lab"} 1'
assert_contains "prometheus: TYPE line" "$OUT" "# TYPE chaintop_sr_vdis_pending_coalesce gauge"
assert_contains "prometheus: SR gauge" "$OUT" 'chaintop_sr_chain_depth_max{pool="coalesce-lab",sr="nfs-01",'
bad=$(grep -vE '^(# (HELP|TYPE) .*|[a-z_]+(\{[^}]*\})? -?[0-9.e+]+)$' <<<"$OUT" | head -n3)
assert_eq "prometheus: every line is exposition format" "$bad" ""

run_check "$T_TMP/co.conf" --format yaml
assert_eq "bad format: exit 3" "$RC" 3
assert_contains "bad format: says what is allowed" "$ERR" "use text, json, nagios or prometheus"
run_check "$T_TMP/co.conf" --pool nosuch
assert_eq "unknown pool name: exit 3" "$RC" 3
assert_contains "unknown pool name: lists the configured ones" "$ERR" "'coalesce-lab'"

# --- the GC coalesces: WARNING turns OK while check is re-run ----------------------------
sim_ctl co POST "/sim/gc/speed?f=40" >/dev/null
sim_ctl co POST /sim/gc/resume >/dev/null
healthy() { "$CHAINTOP" check -c "$T_TMP/co.conf" >/dev/null 2>&1; }
if wait_for 90 healthy; then ok "GC coalesced: check exits 0"; else fail "GC coalesced: check exits 0"; fi
run_check "$T_TMP/co.conf"
assert_eq "after GC: exit 0" "$RC" 0
assert_contains "after GC: healthy summary" "$OUT" "all chains healthy"

# --- a stalled GC: pending does not go down, no progress, across two runs ----------------
# its own seed: SR uuids (and so stall memory entries) not shared with the sims above
sim_start st --scenario coalescing --seed 11 --gc-speed 2 || { fail "simulator (stall) starts"; finish; }
sim_ctl st POST /sim/gc/pause >/dev/null
CONF_EXTRA='health = { stall_after = "2s"; };' write_config "$T_TMP/st.conf" coalesce-lab "$SIM_URL_st"
run_check "$T_TMP/st.conf"
assert_not_contains "stall: not on the first run" "$OUT" "GC stalled since"
state_file=$(ls "$T_TMP"/state/chaintop/stall.json 2>/dev/null)
assert_eq "stall: memory kept in the state directory" "$state_file" "$T_TMP/state/chaintop/stall.json"
stalled() { run_check "$T_TMP/st.conf"; grep -qF "GC stalled since" <<<"$OUT"; }
wait_for 15 stalled   # stall_after (2 s) passes: a later run, not a fixed sleep
assert_contains "stall: reported on a later run" "$OUT" "GC stalled since"
assert_contains "stall: names SR and pool" "$OUT" "on SR 'nfs-01' of pool 'coalesce-lab'"

# --- a full SR: CRITICAL free space and the GC's SM_GC_NO_SPACE message ------------------
sim_start full --scenario coalescing --gc-speed 40 || { fail "simulator (full) starts"; finish; }
sim_ctl full POST "/sim/sr/free?sr=nfs-01&bytes=1000000" >/dev/null
write_config "$T_TMP/full.conf" coalesce-lab "$SIM_URL_full"
no_space() { "$CHAINTOP" check -c "$T_TMP/full.conf" 2>/dev/null | grep -q "reported it is out of space"; }
if wait_for 30 no_space; then ok "full SR: GC out of space reported"; else fail "full SR: GC out of space reported"; fi
run_check "$T_TMP/full.conf"
assert_eq "full SR: exit 2 (CRITICAL)" "$RC" 2
assert_contains "full SR: free space critical" "$OUT" "CRITICAL SR 'nfs-01' of pool 'coalesce-lab' has 0.0% free"
assert_contains "full SR: SM_GC_NO_SPACE critical" "$OUT" "CRITICAL the garbage collector of SR 'nfs-01' of pool 'coalesce-lab' reported it is out of space"
assert_contains "full SR: the gate refuses snapshots there" "$OUT" "minimum 10% for a snapshot of VM 'healthy-vm'"
run_check "$T_TMP/full.conf" --format json
assert_eq "json: an SR problem names the SR only" \
	"$(json_get '[(p["sr_name"],p["vm"],p["vdi"]) for p in d["problems"] if p["class"]=="SR" and p["kind"]=="sr_free"][0]' <<<"$OUT")" \
	"('nfs-01', None, None)"

# --- deep: CRITICAL -----------------------------------------------------------------------
sim_start deep --scenario deep --gc-speed 2 || { fail "simulator (deep) starts"; finish; }
write_config "$T_TMP/deep.conf" deep-lab "$SIM_URL_deep"
run_check "$T_TMP/deep.conf"
assert_eq "deep: exit 2 (CRITICAL)" "$RC" 2
assert_contains "deep: critical depth reason" "$OUT" "CRITICAL disk 'deep-vm xvda'"
assert_contains "deep: figure and limits" "$OUT" "is 29 VHDs deep (warning at 20, critical at 28"
assert_contains "deep: gate refusal" "$OUT" "is 29 VHDs deep (limit 25"
run_check "$T_TMP/deep.conf" --format nagios
assert_contains "deep: nagios CRITICAL with depth perfdata" "$(head -n1 <<<"$OUT")" "max_depth=29;20;28"
assert_eq "deep: nagios exit 2" "$RC" 2
# problems carry what they are about (issue 16: route alerts without parsing the sentence)
run_check "$T_TMP/deep.conf" --format json
leaf=$(json_get '[v["uuid"] for s in d["pools"][0]["srs"] for v in s["vdis"] if "deep-vm" in v["vms"]][0]' <<<"$OUT")
vmu=$(json_get '[v["uuid"] for v in d["pools"][0]["vms"] if v["name"]=="deep-vm"][0]' <<<"$OUT")
sru=$(json_get '[s["uuid"] for s in d["pools"][0]["srs"] for v in s["vdis"] if "deep-vm" in v["vms"]][0]' <<<"$OUT")
assert_eq "json: the disk's deep problem names its VDI, VM and SR" \
	"$(json_get '[(p["vdi"],p["vm"],p["sr"],p["vm_name"]) for p in d["problems"] if p["class"]=="VDI" and p["kind"]=="deep"][0]' <<<"$OUT")" \
	"('$leaf', '$vmu', '$sru', 'deep-vm')"
assert_eq "json: the VM's gate refusal names the VM and SR, no VDI" \
	"$(json_get '[(p["vm"],p["sr"],p["vdi"]) for p in d["problems"] if p["class"]=="VM" and p["kind"]=="deep"][0]' <<<"$OUT")" \
	"('$vmu', '$sru', None)"
assert_eq "json: every problem has kind, sr, vm, vdi" \
	"$(json_get 'all(all(k in p for k in ("kind","sr","vm","vdi","sr_name","vm_name","vdi_name")) for p in d["problems"])' <<<"$OUT")" True

# --- backup: thick SR without room, stacked VM ---------------------------------------------
sim_start bk --scenario backup --gc-speed 2 || { fail "simulator (backup) starts"; finish; }
sim_ctl bk POST /sim/gc/pause >/dev/null
write_config "$T_TMP/bk.conf" backup-lab "$SIM_URL_bk"
run_check "$T_TMP/bk.conf"
assert_eq "backup: exit 1" "$RC" 1
assert_contains "backup: thick SR space" "$OUT" "SR 'lvm-full' of pool 'backup-lab' (thick, lvm) has"
assert_contains "backup: names the VM that needs it" "$OUT" "less than the 500.0 GiB a snapshot of VM 'bigdisk-vm' needs"
assert_contains "backup: stacked VM" "$OUT" "above disk 'stacked-vm xvda'"
assert_not_contains "backup: web01 fine" "$OUT" "web01"

# --- an unreachable pool is UNKNOWN and does not hide the others ---------------------------
write_config "$T_TMP/two.conf" backup-lab "$SIM_URL_bk" gone "http://127.0.0.1:9"
run_check "$T_TMP/two.conf"
assert_eq "unreachable: exit 3 (UNKNOWN)" "$RC" 3
assert_contains "unreachable: UNKNOWN line with its error" "$OUT" "UNKNOWN  pool 'gone' could not be loaded: "
assert_contains "unreachable: the other pool still judged" "$OUT" "above disk 'stacked-vm xvda'"
run_check "$T_TMP/two.conf" --format json
assert_eq "json: the unreachable pool is pool_down, about no SR, VM or VDI" \
	"$(json_get '[(p["kind"],p["sr"],p["vm"],p["vdi"]) for p in d["problems"] if p["pool"]=="gone"][0]' <<<"$OUT")" \
	"('pool_down', None, None, None)"
run_check "$T_TMP/two.conf" --format nagios
assert_contains "unreachable: nagios UNKNOWN" "$(head -n1 <<<"$OUT")" "CHAINTOP UNKNOWN - 2 pools (1 unreachable)"
run_check "$T_TMP/two.conf" --format prometheus
assert_contains "unreachable: pool_up 0" "$OUT" 'chaintop_pool_up{pool="gone"} 0'
assert_contains "unreachable: other pool up" "$OUT" 'chaintop_pool_up{pool="backup-lab"} 1'
run_check "$T_TMP/two.conf" --pool backup-lab
assert_eq "--pool selects: exit 1" "$RC" 1
assert_not_contains "--pool selects: no unreachable pool" "$OUT" "gone"

# --- demo: runs clean over a big mixed pool (ISO/udev SRs give no false alarms) ------------
sim_start demo --scenario demo --gc-speed 0.05 || { fail "simulator (demo) starts"; finish; }
write_config "$T_TMP/demo.conf" prod-pool "$SIM_URL_demo"
run_check "$T_TMP/demo.conf"
assert_contains "demo: orphan restore-tmp" "$OUT" "VDI 'restore-tmp'"
assert_contains "demo: legacy-erp deep warning" "$OUT" "disk 'legacy-erp xvda'"
assert_not_contains "demo: no alarm on the ISO SR" "$OUT" "SR 'ISOs'"
assert_not_contains "demo: no alarm on the DVD drive" "$OUT" "DVD"
assert_not_contains "demo: suspend VDI is not an orphan" "$OUT" "Suspend image"

out=$("$CHAINTOP" check --help); rc=$?
assert_eq "--help exits 0" "$rc" 0
assert_contains "--help names the formats" "$out" "--format text"
finish
