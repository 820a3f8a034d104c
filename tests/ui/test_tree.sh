#!/bin/bash
# UI: the tree shows the simulator's pool, SRs, VMs and chains; chains waiting to coalesce
# are highlighted by a marker, a state word and colour; when the simulator's GC coalesces
# them the highlight goes without a key press. Also monochrome (NO_COLOR) and TERM=vt100
# with an ASCII locale.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

sim_start lab --scenario coalescing || { fail "simulator starts"; finish; }
sim_ctl lab POST /sim/gc/pause >/dev/null
write_config "$T_TMP/c.conf" lab "$SIM_URL_lab"

ui_start -- -c "$T_TMP/c.conf"
ui_check "header shows the pool connected" "lab: connected"
ui_check "pool row" "coalesce-lab"
ui_check "SR nfs-01" "nfs-01"
ui_check "SR lvm-01" "lvm-01"
ui_check "live disk of healthy-vm" "healthy-vm"
ui_check "live disk of stacked-vm" "stacked-vm"
ui_check "live disk of leafpending-vm" "leafpending-vm"
ui_check "base copies in the chain forest" "base copy"
ui_check "a stacked chain is marked" "STACKED"
ui_check "pending coalesce is marked" "PENDING"

line=$(ui_line "stacked-vm")
assert_contains "stacked-vm's disk carries the state word" "$line" "STACKED"
case "$line" in "= "*|"=."*) ok "stacked row starts with the '=' marker (reads in monochrome)";;
	*) fail "stacked row marker: [$line]";; esac
healthy=$(ui_line "healthy-vm")
assert_not_contains "healthy-vm is not highlighted" "$healthy" "STACKED"
col=$(ui_line "stacked-vm" -e)
if grep -qE $'\e\\[[0-9;]*(3[0-7]|9[0-7])(;[0-9]+)*m' <<<"$col"; then ok "stacked row is coloured"; else fail "stacked row colour: $(cat -v <<<"$col")"; fi
detail=$(ui_screen)
assert_contains "detail pane is shown" "$detail" "Detail (i)"

# live updates never move the selected row from under the cursor
ui_keys G k
# the keys are handled asynchronously: poll until the selection has moved
for _ in $(seq 1 100); do
	before=$(ui_selected)
	grep -qF "healthy-vm xvda" <<<"$before" && break
	sleep 0.1
done
assert_contains "a row is selected" "$before" "healthy-vm xvda"
sim_ctl lab POST "/sim/snapshot?vm=healthy-vm&name=live-update-test" >/dev/null
ui_check "the new snapshot appears without a key press" "live-update-test"
after=$(ui_selected)
assert_contains "the same row stays selected after the update" "$after" "healthy-vm xvda"

# the simulator's GC coalesces: highlights go by themselves
sim_ctl lab POST "/sim/gc/speed?f=60" >/dev/null
sim_ctl lab POST /sim/gc/resume >/dev/null
ui_check_gone "STACKED highlight goes without a key press" "STACKED" 90
ui_check_gone "PENDING highlight goes without a key press" "PENDING" 90
ui_check "the VMs are still there" "stacked-vm"

ui_keys q
ui_check "q quits" "chaintop exited rc=0"
[ "$(ui_tmux display -p -t "$UI_SESSION" '#{alternate_on}')" = 0 ] && ok "terminal restored (alternate screen off)" || fail "alternate screen still on"

# monochrome: NO_COLOR keeps the markers and words, no colour escapes
sim_ctl lab POST /sim/gc/pause >/dev/null
ui_start NO_COLOR=1 -- -c "$T_TMP/c.conf"
ui_check "NO_COLOR: tree drawn" "nfs-01"
scr=$(ui_screen -e)
if grep -qE $'\e\\[[0-9;]*(3[0-7]|4[0-7]|9[0-7]|38;5)(;[0-9]+)*m' <<<"$scr"; then fail "NO_COLOR: colour escapes found"; else ok "NO_COLOR: no colour escapes"; fi
if grep -qE $'\e\\[[0-9;]*(1|7)(;[0-9]+)*m' <<<"$scr"; then ok "NO_COLOR: bold/reverse still used"; else fail "NO_COLOR: no attributes at all"; fi
ui_keys q
ui_check "NO_COLOR: q quits" "chaintop exited rc=0"

# TERM=vt100 and a non-UTF-8 locale: ASCII tree glyphs, no colour
UI_LANG=C ui_start TERM=vt100 -- -c "$T_TMP/c.conf"
ui_check "vt100: tree drawn" "nfs-01"
scr=$(ui_screen)
assert_contains "vt100/C locale: ASCII tree glyphs" "$scr" "\`-"
if grep -q $'\xe2\x94' <<<"$scr"; then fail "vt100/C locale: UTF-8 box glyphs found"; else ok "vt100/C locale: no UTF-8 glyphs"; fi
scr=$(ui_screen -e)
if grep -qE $'\e\\[[0-9;]*(3[0-7]|4[0-7])(;[0-9]+)*m' <<<"$scr"; then fail "vt100: colour escapes found"; else ok "vt100: no colour"; fi
ui_keys q
ui_check "vt100: q quits" "chaintop exited rc=0"
err=$(ui_stderr)
assert_eq "nothing on stderr" "$err" ""

# TERM=xterm-256color and TERM=tmux-256color draw too
for term in xterm-256color tmux-256color; do
	ui_start TERM=$term -- -c "$T_TMP/c.conf"
	ui_check "$term: tree drawn" "nfs-01"
	ui_keys q
	ui_check "$term: q quits" "chaintop exited rc=0"
done

# the console lists SRs and chains in the order `chaintop tree` prints them (the engine's
# preorder, ties broken by uuid): the same SRs, base copies (by short uuid) and snapshots,
# one after the other, as far as the screen goes (the demo pool's base copies sort apart
# when the console sorts on its own)
sim_start demo --scenario demo || { fail "demo simulator starts"; finish; }
write_config "$T_TMP/demo.conf" demo "$SIM_URL_demo"
"$CHAINTOP" tree -c "$T_TMP/demo.conf" >"$T_TMP/tree.txt" 2>/dev/null
UI_COLS=160 UI_ROWS=60 ui_start -- -c "$T_TMP/demo.conf"
ui_check "tall console loaded" "base copy"
cat >"$T_TMP/order.py" <<'PY'
import re, sys

def tree_tokens(lines):
    out = []
    for l in lines:
        if m := re.search(r"SR '([^']+)'", l):
            out.append("sr:" + m.group(1))
        elif m := re.search(r"base copy ([0-9a-f]{8})", l):
            out.append("b:" + m.group(1))
        elif m := re.search(r"snapshot '([^']+)'", l):
            out.append("s:" + m.group(1))
        elif m := re.search(r"VM '([^']+)' (\S+),", l):
            out.append("d:%s %s" % (m.group(1), m.group(2)))
    return out

def screen_tokens(lines):
    out = []
    for l in lines[3:]:
        body = re.sub(r"^[│├└─▾▸ ]+", "", l[2:])
        parts = re.split(r"\s{2,}", body.strip())
        if len(parts) < 2:
            continue
        name, info = parts[0], l
        if name.startswith("base copy "):
            out.append("b:" + name[10:18])
        elif "% free" in info and "VDIs" in info:
            out.append("sr:" + name)
        elif " disk '" in info:
            out.append("d:" + name)
        elif " snapshot, " in info:
            out.append("s:" + name)
    return out

# disks are named differently in the two (a halted VM's by position); ISO SRs start closed
t = [x for x in tree_tokens(open(sys.argv[1]).read().splitlines()) if x[0] != "d"]
s = [x for x in screen_tokens(open(sys.argv[2]).read().splitlines()) if x[0] != "d"]
print("same" if t[:len(s)] == s and len(s) >= 5 else "tree %s\nconsole %s" % (t, s))
PY
same_order() {
	ui_screen >"$T_TMP/screen.txt"
	order=$(python3 "$T_TMP/order.py" "$T_TMP/tree.txt" "$T_TMP/screen.txt")
	[ "$order" = same ]
}
if wait_for 15 same_order; then ok "console and tree command list chains in the same order"
else fail "console and tree command order chains differently: $order"; fi
ui_keys q
ui_check "q quits" "chaintop exited rc=0"
finish
