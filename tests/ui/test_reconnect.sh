#!/bin/bash
# UI: a pool killed mid-session shows as reconnecting with its last data marked stale, and
# recovers by itself when the simulator comes back on the same port. Refused credentials
# show as "auth failed"; a pool without a password source is prompted for before curses;
# a configuration error is printed on stderr with exit status 2, before curses.
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

# wrong password: the header says so, the console stays usable
ui_start CHAINTOP_TEST_PASSWORD=wrong-password -- -c "$T_TMP/c.conf"
ui_check "refused credentials show as auth failed" "lab: auth failed"
ui_keys q
ui_check "q quits" "chaintop exited rc=0"

# no password source: asked on the terminal before the screen starts
sed 's/password_env = "CHAINTOP_TEST_PASSWORD";//' "$T_TMP/c.conf" >"$T_TMP/p.conf"
ui_start -- -c "$T_TMP/p.conf"
ui_check "password prompt before curses" "Password for root@"
ui_keys -l "$CHAINTOP_TEST_PASSWORD"
ui_keys Enter
ui_check "connected with the typed password" "lab: connected"
scr=$(ui_screen)
assert_not_contains "the typed password is not on screen" "$scr" "$CHAINTOP_TEST_PASSWORD"
ui_keys q
ui_check "q quits" "chaintop exited rc=0"

# a configuration error: message on stderr, exit 2, no screen
echo 'pools = ( { name = "lab"; url = 12; } );' >"$T_TMP/bad.conf"
out=$("$CHAINTOP" -c "$T_TMP/bad.conf" 2>&1 </dev/null); rc=$?
assert_eq "configuration error exits 2" "$rc" "2"
assert_contains "the error names the file" "$out" "bad.conf"
out=$("$CHAINTOP" -c "$T_TMP/c.conf" --pool nosuch 2>&1 </dev/null); rc=$?
assert_eq "unknown --pool exits 2" "$rc" "2"
assert_contains "the error names the pool" "$out" "nosuch"
finish
