#!/bin/bash
# UI: the Health view answers "what is wrong?" first: one cause is one row (an SR that
# fills: "SR 'x' 0.0% free: N VMs cannot be snapshotted", Enter lists the VMs), a pool that
# cannot be reached is an UNKNOWN row with its last error and the next retry (counting
# down; R reconnects now), and the selection stays on its problem when rows come and go above it.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

sim_start prod --scenario demo --gc-speed 0 || { fail "simulator prod starts"; finish; }
sim_start lab --scenario coalescing --gc-speed 0 || { fail "simulator lab starts"; finish; }
lab_port=${SIM_URL_lab##*:}
write_config "$T_TMP/c.conf" prod "$SIM_URL_prod" lab "$SIM_URL_lab"

ui_start -- -c "$T_TMP/c.conf"
ui_check "both pools up" "lab: connected"
ui_check "prod up" "prod: connected"
ui_keys 2
ui_check "Health view" "SEVERITY"
# reasons lead with what is wrong; the POOL column names the pool, the reason does not
ui_check "an orphan leads with the problem" "not used by any VM: VDI 'restore-tmp'"
ui_check "a deep chain leads with its depth" "27 VHDs deep (warning at 20): disk 'legacy-erp xvda'"
scr=$(ui_screen)
assert_not_contains "the reason does not repeat the pool" "$scr" "of pool 'prod'"
n=$(grep -c "legacy-erp xvda" <<<"$scr")
assert_eq "the deep chain is one row (not a VM row and a VDI row)" "$n" "1"
# the selection stays on its problem when a more severe one appears above it
ui_keys j j
sleep 0.3
before=$(ui_selected | cut -f2)
sim_ctl prod POST "/sim/sr/free?sr=nfs-vmstore&bytes=0" >/dev/null
ui_check "the full SR is one row" "SR 'nfs-vmstore' 0.0% free: "
after=$(ui_selected | cut -f2)
assert_eq "selection kept on its problem" "$after" "$before"
ui_keys g
scr=$(ui_screen)
assert_contains "the row says how many VMs cannot be snapshotted" "$scr" "VMs cannot be snapshotted [+ Enter lists them]"
n=$(grep -c "minimum 10% for a snapshot of" <<<"$scr")
assert_eq "no per-VM rows for the full SR before it is opened" "$n" "0"
assert_contains "CRITICAL first" "$(ui_screen | sed -n 4p)" "CRITICAL"
ui_keys Enter
ui_check "Enter lists the VMs" "  - SR 'nfs-vmstore' has 0.0% free"
ui_check "the group says Enter hides them" "[- Enter hides them]"
ui_keys Enter
ui_check_gone "Enter again hides them" "  - SR 'nfs-vmstore' has 0.0% free"

# a pool that drops: an UNKNOWN row with the reason and the next retry
kill "$SIM_PID_lab"; wait "$SIM_PID_lab" 2>/dev/null
ui_check "a down pool is a problem row" "pool 'lab' is unreachable, "
line=$(ui_line "pool 'lab' is unreachable")
assert_contains "as UNKNOWN" "$line" "UNKNOWN"
ui_check "with the next retry" "next retry in "
ui_check "and the age of the data kept" "ago (stale)"
# the countdown ticks: the text changes by itself
t1=$(ui_line "pool 'lab' is unreachable" | grep -o 'next retry in [0-9a-z]*')
changed=0
for _ in $(seq 1 40); do
	sleep 0.25
	t2=$(ui_line "pool 'lab' is unreachable" | grep -o 'next retry in [0-9a-z]*\|retrying now')
	[ -n "$t2" ] && [ "$t2" != "$t1" ] && { changed=1; break; }
done
assert_eq "the retry time counts down ($t1)" "$changed" "1"

# R reconnects now instead of waiting out the backoff (16 s after the fifth failure)
ui_check "backing off" "lab: reconnecting (5)" 60
sim_start lab --scenario coalescing --gc-speed 0 --port "$lab_port" || { fail "lab restarts"; finish; }
ui_keys R
ui_check "R says what it does" "reconnecting now to 1 pool"
ui_check "R reconnects at once" "lab: connected" 5
ui_check_gone "the pool's problem row goes" "pool 'lab' is unreachable"
kill "$SIM_PID_lab"; wait "$SIM_PID_lab" 2>/dev/null
ui_check "down again" "pool 'lab' is unreachable, "

# the first screen at 80x24 names both causes
ui_resize 80 24
ui_check "80x24: the full SR" "SR 'nfs-vmstore' 0.0% free"
ui_check "80x24: the down pool" "pool 'lab' is unreach"
ui_resize 120 40
ui_keys q q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""
finish
