#!/bin/bash
# UI: `b` on a VM opens a dialog with the gate verdict and what will happen, focus on Cancel;
# Cancel changes nothing (the simulator's call log proves it); confirming runs the gated
# backup on a worker with progress in the status line, the run lands in the Jobs view and
# Enter opens its report. A VM with stacked base copies is refused with reasons and no
# VM.snapshot reaches the simulator.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

sim_start bk --scenario backup --gc-speed 0 || { fail "simulator starts"; finish; }
write_config "$T_TMP/c.conf" lab "$SIM_URL_bk"
snapshots() { sim_ctl bk GET /sim/calls | python3 -c '
import json, sys
print(sum(1 for c in json.load(sys.stdin) if c["method"].endswith("VM.snapshot")))'; }

ui_start -- -c "$T_TMP/c.conf"
ui_check "tree loaded" "web01 xvda"

# select web01's disk through the filter, then b
ui_keys /; ui_keys -l web01; ui_keys Enter G
ui_keys b
ui_check "backup dialog opens" "Gated backup of 'web01'"
ui_check "it shows the gate verdict" "Gate verdict: OK"
ui_check "it says what will happen" "Async.VM.snapshot of VM 'web01'"
ui_check "focus starts on Cancel" "[> Cancel <]"
ui_keys Enter
ui_check "Enter on Cancel cancels" "cancelled, nothing was changed"
assert_eq "no VM.snapshot call after Cancel" "$(snapshots)" "0"

ui_keys b
ui_check "dialog again" "Gated backup of 'web01'"
ui_keys Tab
ui_check "Tab moves focus to the action" "[> Run backup <]"
ui_keys Enter
ui_check "the backup succeeds (status line)" "1 of 1 VM succeeded" 60
assert_eq "one VM.snapshot call" "$(snapshots)" "1"
ui_keys 4
ui_check "Jobs view lists the run" "adhoc"
ui_check "with its status" "success"
ui_keys Enter
ui_check "Enter opens the run's report (the text of chaintop report RUN)" "Run 1: backup of job 'adhoc' on pool 'lab': success"
ui_check "report says where the run ran" ", on host "
ui_check "report lists the VM" "web01 ("
ui_check "report lists the snapshot step" "snapshot   success"
ui_keys q
ui_check_gone "q closes the report" "Run 1: backup"
ui_keys q
ui_check "q goes back to the tree" "POOL > SR > CHAINS"

# stacked-vm: refused with reasons, recorded as skipped, no snapshot call
ui_keys Escape x
ui_keys /; ui_keys -l stacked-vm; ui_keys Enter G
ui_keys b
ui_check "refusal shown before anything runs" "Gate verdict: REFUSED"
ui_check "with the engine's reason" "stacked base copies"
ui_keys Tab Enter
ui_check "the refused backup is reported" "backup of VM 'stacked-vm'" 60
assert_eq "still one VM.snapshot call (none for stacked-vm)" "$(snapshots)" "1"
ui_keys 4
ui_check "Jobs view marks the refused run" "skipped"
ui_keys Up Enter
ui_check "the refused run's report (newest first)" "Run 2: backup of job 'adhoc' on pool 'lab': skipped"
ui_check "the chain as judged, as text" "chain as judged:"
ui_check "leaf first, then its base copies" "xvda: 'stacked-vm 0'"
if ui_lacks '"vdi_uuid"'; then ok "no raw JSON in the report"; else fail "no raw JSON in the report"; fi
n=$(ui_screen | grep -cF "stacked base copies above disk")
assert_eq "the reason is said once (outcome and gate step point to it)" "$n" 1
ui_check "the gate step points to the reasons" "see the reasons"
ui_keys q
ui_keys 1 q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""
finish
