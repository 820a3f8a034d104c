#!/bin/bash
# UI: the text can be read: relative times count ("last contact 8s ago" does not stay 8 s),
# deep chains keep their names on screen (the indent is capped, the hidden levels counted).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

sim_start lab --scenario coalescing --gc-speed 0 || { fail "simulator starts"; finish; }
write_config "$T_TMP/c.conf" lab "$SIM_URL_lab"
ui_start -- -c "$T_TMP/c.conf"
ui_check "connected" "lab: connected"
ui_keys Home
ui_check "pool row selected, its detail shown" "last contact"
kill "$SIM_PID_lab"; wait "$SIM_PID_lab" 2>/dev/null
ui_check "stale" "STALE data, last contact"
# between two attempts of a long backoff nothing rebuilds the rows: the pool row and the
# detail pane must count the seconds by themselves
ui_check "backing off" "lab: reconnecting (4)" 40
r1=$(ui_line "STALE data, last contact" | grep -o 'last contact [0-9]*s')
d1=$(ui_line "last event" | grep -o 'last contact [0-9]*s')
sleep 2.5
r2=$(ui_line "STALE data, last contact" | grep -o 'last contact [0-9]*s')
d2=$(ui_line "last event" | grep -o 'last contact [0-9]*s')
[ -n "$r1" ] && [ "$r1" != "$r2" ] && ok "pool row's age counts ($r1 -> $r2)" || fail "pool row's age stays: $r1 -> $r2"
[ -n "$d1" ] && [ "$d1" != "$d2" ] && ok "detail pane's age counts ($d1 -> $d2)" || fail "detail pane's age stays: $d1 -> $d2"
ui_keys q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""
finish
