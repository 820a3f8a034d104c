#!/bin/bash
# UI: the text can be read: relative times count ("last contact 8s ago" does not stay 8 s),
# o reads a cut text in full in a pager, many pools give a compact header,
# deep chains keep their names on screen (the indent is capped, the hidden levels counted),
# > and < scroll a list's last column sideways and a cut status message says where its
# whole text is (80x24), and a wide terminal gives INFO the width, not NAME (200x50).
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

# every cut text can be read in full: o opens the selection's detail in a pager
sim_start lab --scenario coalescing --gc-speed 0 --port "${SIM_URL_lab##*:}" || { fail "lab restarts"; finish; }
ui_start -- -c "$T_TMP/c.conf"
ui_check "connected again" "lab: connected"
ui_keys 2
ui_check "Health lists the stacked disk" "2 stacked base copies above disk 'stacked-vm xvda'"
ui_keys i
ui_check_gone "without the detail pane its reason is cut" "let it coalesce them before snapshotting"
ui_keys g o
ui_check "o opens the whole reason in the pager" "let it coalesce them before snapshotting"
ui_check "the pager says how to close it" "Esc/q closes, Up/Down scrolls"
ui_keys Escape
ui_check_gone "Esc closes the pager" "Esc/q closes, Up/Down scrolls"
ui_keys i 1 /; ui_keys -l "stacked-vm xvda"; ui_keys Enter
ui_check "filtered to the disk" "filter: stacked-vm xvda"
ui_keys End o
ui_check "o in the tree: the detail in full" "Detail of 'stacked-vm xvda'"
ui_check "with the chain to its root" "Chain to root:"
ui_keys q
ui_check_gone "q closes the pager" "Detail of 'stacked-vm xvda'"
ui_keys Escape q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""

# five pools (one down): the header is one summary, worst state first, always on screen;
# at 80 columns two pools are summarised too
python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' >"$T_TMP/port"
dead="http://127.0.0.1:$(cat "$T_TMP/port")"
write_config "$T_TMP/5.conf" a1 "$SIM_URL_lab" a2 "$SIM_URL_lab" a3 "$SIM_URL_lab" a4 "$SIM_URL_lab" zdown "$dead"
ui_start -- -c "$T_TMP/5.conf"
ui_check "five pools summarised" "| 5 pools: 1 DOWN (zdown)"
ui_check "the others ok" "4 ok |"
ui_resize 80 24
ui_check "the worst state is on screen at 80 columns" "5 pools: 1 DOWN (zdown)"
ui_keys q
ui_check "q quits" "chaintop exited rc=0"
write_config "$T_TMP/2.conf" a1 "$SIM_URL_lab" a2 "$SIM_URL_lab"
ui_start -- -c "$T_TMP/2.conf"
ui_check "two pools, each named at 120 columns" "a2: connected"
ui_resize 80 24
ui_check "two pools summarised at 80 columns" "| 2 pools: 2 ok |"
ui_keys q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""

# a chain 29 VHDs deep: the indent stops at 8 levels and counts the rest, so the name of
# the deepest disk is on screen, selected or not; its snapshots are not flagged one by one
sim_start deep --scenario deep --gc-speed 0 || { fail "deep simulator starts"; finish; }
write_config "$T_TMP/d.conf" deep "$SIM_URL_deep"
ui_start -- -c "$T_TMP/d.conf"
ui_check "deep pool loaded" "deep: connected"
ui_keys /; ui_keys -l "deep-vm xvda"; ui_keys Enter
ui_check "filtered" "filter: deep-vm xvda"
# the disk's row: its name, then the DEPTH column (n again until the rows are all in; the
# filter keeps the disk's whole chain, so its snapshots follow it)
disk_row() { ui_screen | grep -E "deep-vm xvda +[0-9]+ " | head -n1; }
has_disk_row() { ui_keys g n; sleep 0.2; [ -n "$(disk_row)" ]; }
check "the deepest disk's name is on screen" wait_for 15 has_disk_row
line=$(disk_row)
assert_contains "the hidden levels are counted" "$line" "┆+"
assert_contains "the disk is flagged DEEP" "$line" "DEEP"
sel=$(ui_selected | cut -f2)
assert_contains "the name shows on the selected row too" "$sel" "deep-vm xvda"
ui_keys x
ui_check_gone "filter cleared" "filter: deep-vm"
ui_keys End
ui_check "snapshots listed" "deep-vm hourly 22"
n=$(ui_screen | grep "deep-vm hourly" | grep -c "DEEP")
assert_eq "no snapshot row flagged DEEP" "$n" "0"
ui_keys q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""

# 80x24: a cut reason, INFO or message can be read on its row: > scrolls the last column
# right, < and Left bring it back, Left once more goes back as before
UI_COLS=80 UI_ROWS=24 ui_start -- -c "$T_TMP/c.conf"
ui_check "80x24: the tree is loaded" "stacked-vm xvda"
ui_keys 2 i
ui_check "Health at 80 columns" "SEVERITY"
ui_check_gone "the stacked disk's reason is cut" "let it coalesce them before snapshotting"
ui_check "the REASON title says > scrolls it" "REASON (> scrolls) (Enter jumps"
scrolled_to() { ui_keys '>'; sleep 0.2; ui_has "$1"; }
check "> brings the end of the reason onto its row" wait_for 15 scrolled_to "let it coalesce them before snapshotting"
line=$(ui_line "let it coalesce them before snapshotting")
assert_contains "on the problem's own row (severity, pool, kind still there)" "$line" "lab"
ui_check "the title says it is scrolled" "REASON (scrolled: < back"
ui_keys '<' '<' '<' '<' '<' '<' '<' '<' '<' '<' '<' '<' '<' '<' '<' '<'
ui_check_gone "< scrolls back" "let it coalesce them before snapshotting"
ui_check "back at the start" "REASON (> scrolls)"
ui_keys '>'
ui_check "scrolled again" "REASON (scrolled: < back"
ui_keys Left
ui_check "Left scrolls back while scrolled" "REASON (> scrolls)"
ui_keys Left
ui_check "Left at the start goes back to the tree, as before" "POOL > SR > CHAINS"
ui_check "the SR row's INFO is cut at 80 columns" "INFO (> scrolls)"
ui_check_gone "its end is not on screen" "pending coalesce"
check "> shows the rest of the SR's INFO" wait_for 15 scrolled_to "pending coalesce"
ui_keys Home
ui_keys ':'; ui_keys -l "pool a-pool-name-long-enough-that-the-error-naming-it-cannot-fit-on-one-line"; ui_keys Enter
ui_check "the error is on the status line" "[ERROR] no pool named 'a-pool-name-long-enough"
ui_check "cut, it says where the whole text is" "[m: whole text]"
ui_check_gone "its end is cut" "configured pools: lab"
ui_keys ':'; ui_keys -l "messages"; ui_keys Enter
ui_check ":messages runs the action: the message history" "Messages ("
ui_keys Enter
ui_check "Enter reads the newest message whole" "configured pools: lab"
ui_keys Escape
ui_check_gone "Esc closes the pager" "configured pools: lab"
ui_keys q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""

# 200x50: NAME is as wide as its longest value, INFO gets the rest; the same message fits
UI_COLS=200 UI_ROWS=50 ui_start -- -c "$T_TMP/c.conf"
ui_check "200x50: the tree is loaded" "stacked-vm xvda"
title=$(ui_line "POOL > SR > CHAINS")
depth_at=$(awk -v t="$title" 'BEGIN { print index(t, "DEPTH") }')
[ "$depth_at" -gt 0 ] && [ "$depth_at" -lt 80 ] && ok "NAME sized to its values: DEPTH at column $depth_at of 200" ||
	fail "NAME padded: DEPTH at column $depth_at of 200: $title"
case $title in *"(> scrolls)"*) fail "INFO cut at 200 columns: $title" ;; *) ok "INFO whole at 200 columns: no scroll hint" ;; esac
sr=$(ui_line "pending coalesce")
[ -n "$sr" ] && ok "an SR's INFO is whole at 200 columns" || fail "no whole SR INFO at 200 columns"
ui_keys 2
ui_check "Health at 200 columns" "SEVERITY"
ui_check "Health lists the stacked disk" "2 stacked base copies above disk 'stacked-vm xvda'"
line=$(ui_screen | grep -E "^\* WARNING +lab" | grep "2 stacked base copies" | head -n1)
echo "$line" | grep -qE "lab +(VM|VDI) " && ! echo "$line" | grep -qE "lab {4,}(VM|VDI) " &&
	ok "POOL as wide as the pool's name" || fail "POOL column padded: $line"
assert_contains "REASON gets the width: the reason's middle is on its row" "$line" "no garbage collection is running on the SR"
ui_keys ':'; ui_keys -l "pool a-pool-name-long-enough-that-the-error-naming-it-cannot-fit-on-one-line"; ui_keys Enter
ui_check "the same error whole at 200 columns" "configured pools: lab"
ui_check_gone "no marker when nothing is cut" "[m: whole text]"
ui_keys 1 q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""
finish
