#!/bin/bash
# UI: a pool killed mid-session shows as reconnecting with its last data marked stale, and
# recovers by itself when the simulator comes back on the same port.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

sim_start lab --scenario coalescing --seed 7 || { fail "simulator starts"; finish; }
port=${SIM_URL_lab##*:}
write_config "$T_TMP/c.conf" lab "$SIM_URL_lab"

ui_start -- -c "$T_TMP/c.conf"
ui_check "connected" "lab: connected"
ui_check "tree loaded" "stacked-vm"

kill "$SIM_PID_lab"; wait "$SIM_PID_lab" 2>/dev/null
ui_check "header says reconnecting" "lab: reconnecting" 30
ui_check "last data kept, marked stale" "STALE"
ui_check "rows still on screen" "stacked-vm"

sim_start lab --scenario coalescing --seed 7 --port "$port" || { fail "simulator restarts on port $port"; finish; }
ui_check "recovers when the pool is back" "lab: connected" 90
ui_check_gone "stale mark goes" "STALE" 30
ui_check "tree still there" "stacked-vm"
ui_keys q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""
finish
