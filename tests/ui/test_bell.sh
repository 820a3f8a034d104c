#!/bin/bash
# UI: the bell rings once per transition: a new CRITICAL problem, a pool going down (not
# what was already wrong at start-up), and never with ui = { bell = false; }. The pane's
# output is piped to a file (tmux pipe-pane) and its BEL bytes counted.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

bells() { tr -cd '\a' <"$T_TMP/out" | wc -c; }
# legacy-erp's chain root: set its vhd-parent to a uuid the SR does not have (CRITICAL, as
# test_health_kinds.sh shows)
break_chain() {
	local root
	root=$(sim_ctl prod GET /sim/state | python3 -c '
import json, sys
s = json.load(sys.stdin)
vm = [v for v in s["vms"] if v["name"] == "legacy-erp"][0]
print(vm["disks"][0]["chain"][-1])')
	sim_ctl prod POST /sim/set "{\"class\": \"VDI\", \"uuid\": \"$root\", \"field\": \"sm_config\", \"key\": \"vhd-parent\", \"value\": \"0badc0de-0000-4000-8000-000000000000\"}" >/dev/null
}

sim_start prod --scenario demo --gc-speed 0 || { fail "simulator prod starts"; finish; }
write_config "$T_TMP/c.conf" prod "$SIM_URL_prod"
ui_start -- -c "$T_TMP/c.conf"
ui_tmux pipe-pane -t "$UI_SESSION" -o "cat >>$T_TMP/out"
ui_check "prod up" "prod: connected"
ui_check "Health counted" " 2 Health ("
sleep 1   # a few frames: nothing new, nothing rings
assert_eq "no bell for what was there at start-up" "$(bells)" "0"
break_chain
ui_check "a new CRITICAL" "1C "
for i in $(seq 1 50); do [ "$(bells)" -ge 1 ] && break; sleep 0.1; done
sleep 0.5   # later frames must not ring again
assert_eq "one bell for the new CRITICAL" "$(bells)" "1"
kill "$SIM_PID_prod"; wait "$SIM_PID_prod" 2>/dev/null
ui_check "the pool is down" "prod: reconnecting"
for i in $(seq 1 50); do [ "$(bells)" -ge 2 ] && break; sleep 0.1; done
sleep 0.5
assert_eq "one bell for the pool going down" "$(bells)" "2"
ui_keys q
ui_check "quits" "chaintop exited rc=0"
[ -z "$(ui_stderr)" ] && ok "nothing on stderr" || { fail "stderr:"; ui_stderr | head -20; }

# ui.bell = false: the same CRITICAL is silent
sim_start prod2 --scenario demo --gc-speed 0 || { fail "simulator prod2 starts"; finish; }
CONF_EXTRA='ui = { bell = false; };' write_config "$T_TMP/q.conf" prod "$SIM_URL_prod2"
: >"$T_TMP/out"
ui_start -- -c "$T_TMP/q.conf"
ui_tmux pipe-pane -t "$UI_SESSION" -o "cat >>$T_TMP/out"
ui_check "prod up (quiet)" "prod: connected"
root=$(sim_ctl prod2 GET /sim/state | python3 -c '
import json, sys
s = json.load(sys.stdin)
vm = [v for v in s["vms"] if v["name"] == "legacy-erp"][0]
print(vm["disks"][0]["chain"][-1])')
sim_ctl prod2 POST /sim/set "{\"class\": \"VDI\", \"uuid\": \"$root\", \"field\": \"sm_config\", \"key\": \"vhd-parent\", \"value\": \"0badc0de-0000-4000-8000-000000000000\"}" >/dev/null
ui_check "the CRITICAL shows" "1C "
sleep 1
assert_eq "ui.bell = false: no bell" "$(bells)" "0"
ui_keys q
ui_check "quits (quiet)" "chaintop exited rc=0"
finish
