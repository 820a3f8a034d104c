#!/bin/bash
# UI: S on an SR kicks its garbage collector (SR.scan) after a dialog naming the pool, the SR
# and the exact call, focus on Cancel; refused in read-only mode with the reason.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

sim_start lab --scenario coalescing --gc-speed 0 || { fail "simulator starts"; finish; }
write_config "$T_TMP/c.conf" coalesce-lab "$SIM_URL_lab"
nfs_ref=$(sim_ctl lab GET /sim/state | jq -r '.srs[] | select(.name == "nfs-01") | .ref')
scans() { sim_ctl lab GET /sim/calls | jq -r --arg r "$nfs_ref" '[.[] | select(.method == "SR.scan" and .params[1] == $r)] | length'; }

ui_start -- -c "$T_TMP/c.conf"
ui_check "SR nfs-01 listed" "nfs-01"
sim_ctl lab POST /sim/calls/clear >/dev/null
ui_keys /; ui_keys -l nfs-01; ui_keys Enter
ui_wait 5 "filter 'nfs-01' kept"
ui_keys S
ui_check "S on a pool row says what to select" "select an SR row, then S"
ui_keys j S
ui_check "scan dialog opens" "Scan SR 'nfs-01'"
ui_check "it names the pool and the SR" "Pool 'coalesce-lab', SR 'nfs-01' (uuid "
ui_check "it names the exact call" "SR.scan $nfs_ref  (SR 'nfs-01' of pool 'coalesce-lab')"
ui_check "focus starts on Cancel" "[> Cancel <]"
ui_keys Enter
ui_check "Enter on Cancel cancels" "cancelled, nothing was changed"
assert_eq "no SR.scan after Cancel" "$(scans)" 0
ui_keys S
ui_check "dialog again" "Scan SR 'nfs-01'"
ui_keys Tab
ui_check "Tab moves focus to the action" "[> Scan SR <]"
ui_keys Enter
ui_check "the scan is reported on the status line" "SR 'nfs-01' of pool 'coalesce-lab' scanned"
assert_eq "one SR.scan call on nfs-01" "$(scans)" 1
ui_keys q
ui_wait 10 "chaintop exited rc=0" && ok "quits cleanly" || fail "quits cleanly"

ui_start -- -c "$T_TMP/c.conf" --read-only
ui_check "read-only in the header" "[READ-ONLY]"
ui_keys /; ui_keys -l nfs-01; ui_keys Enter
ui_wait 5 "filter 'nfs-01' kept"
ui_keys j S
ui_check "S says it is disabled and why" "scan is disabled: chaintop was started with --read-only"
assert_eq "no SR.scan in read-only mode" "$(scans)" 1
ui_keys q
ui_wait 10 "chaintop exited rc=0" && ok "quits cleanly (read-only)" || fail "quits cleanly (read-only)"
assert_eq "nothing on stderr" "$(ui_stderr)" ""
finish
