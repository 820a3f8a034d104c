#!/bin/bash
# UI: with the merge rate `check` measured (state_dir/stall.json) the SR detail says whether
# the SR keeps up with each backup job's chain work (from the job history), and a VM the
# gate refuses for its chains says when the gate should pass again.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

sim_start b --scenario backup --gc-speed 0 || { fail "simulator starts"; finish; }
CONF="$T_TMP/c.conf"
STATE="$T_TMP/state/chaintop"
CONF_EXTRA='jobs = ( { name = "nightly"; pool = "backup-lab"; vms = [ "web01" ]; mode = "snapshot"; retention = 2; } );'
write_config "$CONF" backup-lab "$SIM_URL_b"
state() { sim_ctl b GET /sim/state; }
leaf=$(state | jq -r '.vms[] | select(.name == "web01" and (.is_a_snapshot | not)) | .disks[0].uuid')
sr=$(state | jq -r '.srs[] | select(.name == "nfs-backup") | .uuid')

"$CHAINTOP" backup -c "$CONF" --job nightly >/dev/null 2>&1 || fail "first backup run"
t0=$(date +%s); next_second() { [ "$(date +%s)" -gt "$t0" ]; }
wait_for 5 next_second
sim_ctl b POST /sim/set "{\"class\":\"VDI\",\"uuid\":\"$leaf\",\"field\":\"physical_utilisation\",\"value\":$((50 * 1024 * 1024 * 1024))}" >/dev/null
"$CHAINTOP" backup -c "$CONF" --job nightly >/dev/null 2>&1 || fail "second backup run"
# check measured 1 GiB/h on nfs-backup
"$CHAINTOP" check -c "$CONF" >/dev/null 2>&1
python3 - "$STATE/stall.json" "$sr" <<'PY'
import json, sys
path, sr = sys.argv[1:]
d = json.load(open(path))
d["srs"] = [e for e in d["srs"] if e["sr_uuid"] != sr] + [{"sr_uuid": sr, "pending": 0,
    "since": 0, "gc_progress": None, "gc_progress_at": 0, "gc_seen_at": 0, "gc_failed_at": 0,
    "work_bytes": 0, "work_at": 0, "rate": 1024 ** 3 / 3600.0}]
json.dump(d, open(path, "w"))
PY

UI_COLS=200 ui_start -- -c "$CONF"
ui_check "SR nfs-backup listed" "nfs-backup"
ui_keys '/' ; ui_keys -l 'nfs-backup'; ui_keys Enter
ui_wait 5 "filter 'nfs-backup' kept"
ui_keys j
ui_check "SR detail: the job falls behind" "FALLS BEHIND: SR 'nfs-backup' of pool 'backup-lab' merges 1.0 GiB/h; job 'nightly' adds ~"
ui_check "SR detail: the growth" "chains will grow by ~"
ui_keys x '/' ; ui_keys -l 'stacked-vm'; ui_keys Enter
ui_wait 5 "filter 'stacked-vm' kept"
ui_keys G
ui_wait 5 "VDI 'stacked-vm"
ui_check "stacked VM: refused" "Gate for VM 'stacked-vm': REFUSED"
ui_check "stacked VM: when the gate passes again" "the gate should pass again in about "
ui_keys q
ui_wait 10 "chaintop exited rc=0" && ok "quits cleanly" || fail "quits cleanly"
finish
