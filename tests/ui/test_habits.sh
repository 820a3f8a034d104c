#!/bin/bash
# UI: operator habits (issue 16): Esc closes the filter prompt and leaves the filter on (the
# tab line shows it), x clears it; the filter ignores case for all of Unicode; n/N go from
# match to match; y copies the selected uuid through OSC 52 and says it in the status line.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

# no --gc-speed: the garbage collector stays still, so Health's count does too
sim_start demo --scenario demo || { fail "simulator starts"; finish; }
write_config "$T_TMP/c.conf" prod "$SIM_URL_demo"
# a snapshot whose name needs Unicode case folding (Ä/ä, Д/д)
sim_ctl demo POST "/sim/snapshot?vm=db-primary&name=%C3%84rzte-%D0%94%D0%B0%D0%BC%D0%BF" >/dev/null

ui_start -- -c "$T_TMP/c.conf"
ui_check "tree loaded" "iscsi-lvm"
ui_check "VM disks shown" "db-primary"
ui_tmux set-option -s set-clipboard on >/dev/null

# Esc closes the prompt; the filter stays and the tab line shows it
ui_keys /; ui_keys -l web0
ui_check "filter applies as it is typed" "web01"
ui_check_gone "filter hides the rest" "db-primary"
ui_keys Escape
ui_check "Esc keeps the filter (status)" "filter 'web0' kept; x clears it"
ui_check "the tab line shows the filter" "filter: web0"
ui_keys Escape
sleep 0.3
ui_check "Esc in the tree does not clear the filter" "filter: web0"
if ui_lacks "db-primary"; then ok "rows stay filtered after Esc"; else fail "rows stay filtered after Esc"; fi

# n/N: the pool row (kept to show the matches) is skipped
ui_keys g n
for i in $(seq 1 50); do sel=$(ui_selected); case "$sel" in *web0*) break;; esac; sleep 0.1; done
case "$sel" in *web0*) ok "n selects a matching row";; *) fail "n selects a matching row: [$sel]";; esac
first=$sel
ui_keys n
for i in $(seq 1 50); do sel=$(ui_selected); [ "$sel" != "$first" ] && break; sleep 0.1; done
case "$sel" in *web0*) ok "n again selects the next match";; *) fail "n again: [$sel]";; esac
[ "$sel" != "$first" ] && ok "the next match is another row" || fail "n did not move: [$sel]"
ui_keys N
for i in $(seq 1 50); do sel=$(ui_selected); [ "$sel" = "$first" ] && break; sleep 0.1; done
assert_eq "N goes back to the previous match" "$sel" "$first"

# y: the uuid to the clipboard (tmux keeps OSC 52 in a paste buffer) and the status line
ui_keys y
ui_check "y says what it copied" "copied (OSC 52): "
uuid=$(ui_screen | sed -n 's/.*copied (OSC 52): \([0-9a-f-]*\).*/\1/p' | head -n1)
[ ${#uuid} -eq 36 ] && ok "the status line shows a uuid" || fail "no uuid in the status line: [$uuid]"
for i in $(seq 1 50); do buf=$(ui_tmux show-buffer 2>/dev/null); [ "$buf" = "$uuid" ] && break; sleep 0.1; done
assert_eq "the terminal received the uuid by OSC 52" "$buf" "$uuid"

# x clears the filter
ui_keys x
ui_check "x clears the filter: other rows are back" "dc01 xvda"
ui_check "x says so" "filter cleared"
ui_check_gone "the tab line no longer shows it" "filter: web0"
ui_keys n
ui_check "n without a filter says how to set one" "no filter: / sets one"

# Unicode case folding: lower case finds the upper-case name, and the other way round
ui_keys /; ui_keys -l "ärzte-дамп"; ui_keys Enter
ui_check "lower case matches Ä and Д" "Ärzte-Дамп"
ui_check_gone "the rest is hidden" "web01"
ui_keys x
ui_keys /; ui_keys -l "ÄRZTE"; ui_keys Enter
ui_check "upper case matches too" "Ärzte-Дамп"
ui_keys x

# a match on a VM keeps its whole chain: the snapshot whose name does not name the VM
ui_keys /; ui_keys -l "dc01"; ui_keys Enter
ui_check "the VM's disk matches" "dc01 xvda"
ui_check "its snapshot (named without the VM) stays" "pre-KB5034441"
after=$(ui_screen | grep -A1 -F "dc01 xvda" | tail -n1)
assert_contains "in the disk's chain, right below it" "$after" "pre-KB5034441"
ui_check_gone "other chains are hidden" "nextcloud xvda"
ui_keys x

# a filter belongs to the view it was typed in; Health's tab count is never filtered
badge() { ui_screen | sed -n 's/.* 2 Health (\([0-9]*\)) .*/\1/p' | head -n1; }
ui_check "Health's tab counts problems" " 2 Health ("
total=$(badge)
ui_keys /; ui_keys -l "web0"; ui_keys Enter
ui_check "tree filter on" "filter: web0"
assert_eq "the tree's filter leaves Health's count alone" "$(badge)" "$total"
ui_keys 2
ui_check "Health view" "SEVERITY"
ui_check_gone "the tree's filter does not apply to Health" "filter: web0"
ui_keys /; ui_keys -l "no-such-problem-zz"; ui_keys Enter
ui_check "Health's own filter" "no problem matches the filter (x clears it)"
assert_eq "Health's tab count is the unfiltered total" "$(badge)" "$total"
ui_keys 1
ui_check "back in the tree, its filter is back" "filter: web0"
ui_check_gone "and Health's is not shown here" "filter: no-such-problem-zz"
ui_keys 2
ui_check "Health's filter is kept too" "filter: no-such-problem-zz"
ui_keys x 1 x
ui_check_gone "x cleared the tree's filter" "filter: web0"

# collapse/expand: - closes every row below the pools, + opens them all
ui_keys -- -
ui_check "- closes the rows below the pools" "rows below the pools closed"
ui_check_gone "- hides the disks" "db-primary xvdb"
ui_check "the SRs stay" "iscsi-lvm"
ui_keys +
ui_check "+ opens every row" "db-primary xvdb"
# select dc01's disk (n on a filter, then x), h goes to its parent, h again closes it
ui_keys /; ui_keys -l "dc01 xvda"; ui_keys Enter n x
ui_check_gone "filter cleared" "filter: dc01"
for i in $(seq 1 50); do sel=$(ui_selected); case "$sel" in *"dc01 xvda"*) break;; esac; sleep 0.1; done
assert_contains "the disk is selected" "$sel" "dc01 xvda"
ui_keys h
for i in $(seq 1 50); do sel=$(ui_selected); case "$sel" in *"base copy 9e79c6e5"*) break;; esac; sleep 0.1; done
assert_contains "h on a leaf selects its parent" "$sel" "base copy 9e79c6e5"
ui_keys Left
ui_check_gone "Left on an open row closes it" "dc01 xvda"
ui_keys l
ui_check "l opens it again" "dc01 xvda"
ui_keys h Right
ui_check "Right opens a closed row" "dc01 xvda"
ui_keys Right
ui_check "Right on an open row scrolls INFO as > does" "(scrolled: < back"
ui_keys Left
ui_check_gone "Left scrolls it back first" "(scrolled: < back"
ui_check "and leaves the row open" "dc01 xvda"

# s sorts the tree: depth, pending, size, name, then the chain order again
lineno() { ui_screen | grep -nF -- "$1" | head -n1 | cut -d: -f1; }
ui_keys g -- -   # SRs only: they all fit on the screen
ui_check "closed" "rows below the pools closed"
ui_check "chain order: ISOs before iscsi-lvm" "ISOs"
[ "$(lineno "─▸ ISOs")" -lt "$(lineno "─▸ iscsi-lvm")" ] && ok "the engine's order first" || fail "order before s"
ui_keys s
ui_check "s sorts by depth" "[sorted by depth]"
ui_check "and says what comes next" "tree sorted by depth (s: pending next)"
ui_keys s s
ui_check "then pending, then size" "[sorted by size]"
ui_keys s
ui_check "then name" "[sorted by name]"
for i in $(seq 1 50); do [ "$(lineno "─▸ iscsi-lvm")" -lt "$(lineno "─▸ ISOs")" ] 2>/dev/null && break; sleep 0.1; done
[ "$(lineno "─▸ iscsi-lvm")" -lt "$(lineno "─▸ ISOs")" ] && ok "by name, any case: iscsi-lvm before ISOs" || fail "name order"
ui_keys s
ui_check_gone "s again: the chain order, no tag" "[sorted by"
ui_keys +

# VM grouping: a VM row says its disks' worst state; problems only keeps the base copy a
# pending disk waits on, though that base copy is fine itself
ui_keys v
ui_check "VM grouping" "POOL > VM > DISK > CHAIN"
ui_keys -- -
# jenkins sits below the first screen: wait for its row to show closed, not for a disk
# row that was never on screen to be absent
ui_check "VM rows only: jenkins closed" "─▸ jenkins "
ui_check_gone "its disk rows are gone" "xvda 'jenkins 0'"
line=$(ui_line "─▸ jenkins ")
assert_contains "a closed VM row shows its disk's PENDING" "$line" "PENDING"
ui_keys p
ui_check "problems only" "[problems only: "
after=$(ui_screen | grep -A1 -F "xvda 'jenkins 0'" | tail -n1)
assert_contains "the base copy jenkins' disk waits on stays" "$after" "base copy"
assert_contains "though it is ok itself" "$after" " ok "
ui_keys p + v
ui_check "SR grouping again" "POOL > SR > CHAINS"

# help lists the new keys (generated from the action table)
ui_keys '?'
ui_check "help: x clears the filter" "clear the filter"
ui_check "help: n/N" "select the next row the filter matches"
ui_check "help: y" "copy the selected object's uuid"
ui_keys q
ui_keys q
ui_check "quits" "chaintop exited rc=0"
[ -z "$(ui_stderr)" ] && ok "nothing on stderr" || { fail "stderr:"; ui_stderr | head -20; }
finish
