#!/bin/bash
# UI: q while a backup runs asks first: Stay (Esc) leaves it running; "Quit when it ends"
# keeps the console until the run ends, then quits by itself; "Cancel it and quit" stops the
# run at once (its gate wait ends) and quits, and the run is in the job history.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

sim_start bk --scenario backup --gc-speed 0 || { fail "simulator starts"; finish; }
# policy wait: the backup of stacked-vm (refused by the gate, no GC to resolve it) waits
CONF_EXTRA='gate = { policy = "wait"; wait_timeout = "40s"; };' \
	write_config "$T_TMP/c.conf" lab "$SIM_URL_bk"

start_wait() {
	ui_keys /; ui_keys -l stacked-vm; ui_keys Enter G
	ui_keys b
	ui_check "backup dialog" "Gated backup of 'stacked-vm'"
	ui_check "it will wait" "policy 'wait' re-judges"
	ui_keys Tab Enter
	ui_check "the backup waits on the gate" "backup of VM 'stacked-vm' on pool 'lab':"
	ui_keys Escape
}

ui_start -- -c "$T_TMP/c.conf"
ui_check "tree loaded" "stacked-vm"
start_wait
ui_keys q
ui_check "q asks first" "Quit while an action runs?"
ui_check "it names the action" "backup of VM 'stacked-vm' on pool 'lab' is still running"
ui_check "focus on Stay" "[> Stay <]"
ui_check "the cancel choice" "[  Cancel it and quit  ]"
ui_check "the wait choice" "[  Quit when it ends  ]"
ui_check "consequences spelled out" "a gate wait ends"
ui_keys Escape
ui_check_gone "Esc stays" "Quit while an action runs?"
if ui_lacks "chaintop exited"; then ok "the console is still open"; else fail "the console is still open"; fi
ui_keys :; ui_keys -l q; ui_keys Enter
ui_check ":q asks too" "Quit while an action runs?"
ui_keys Tab Tab
ui_check "focus on the wait choice" "[> Quit when it ends <]"
ui_keys Enter
ui_check "the status line says it will quit after the run" "quitting when it ends (q asks again) ["
if ui_lacks "chaintop exited"; then ok "not quit yet"; else fail "not quit yet"; fi
ui_check "quits by itself once the wait has timed out" "chaintop exited rc=0" 120
assert_contains "the run ended before the quit" "$(ui_stderr)$(ui_screen)" "chaintop exited rc=0"

ui_start -- -c "$T_TMP/c.conf"
ui_check "tree loaded again" "stacked-vm"
start_wait
ui_keys q
ui_check "q asks" "Quit while an action runs?"
ui_keys Tab
ui_check "focus on cancel" "[> Cancel it and quit <]"
ui_keys Enter
ui_check "cancel quits at once (no 40s wait)" "chaintop exited rc=0" 20
rep=$("$CHAINTOP" -c "$T_TMP/c.conf" report 2>&1)
assert_contains "the waited run ran to its end (the gate wait timed out: skipped)" "$(grep -E '^. 1 ' <<<"$rep")" "skipped"
assert_contains "the cancelled run is recorded as interrupted" "$(grep -E '^. 2 ' <<<"$rep")" "interrupted"
finish
