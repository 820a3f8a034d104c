#!/bin/bash
# UI: a list that shrinks under its selection (filter, deletion, a pool dropping) keeps the
# selection on the same object, or the nearest row, and never indexes the old list
# (issue 12: Snapshots `3`, `G`, `/pre-patch` Enter, then a pool change was a segfault).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

sim_start demo --scenario demo --gc-speed 0 || { fail "simulator starts"; finish; }
write_config "$T_TMP/c.conf" prod "$SIM_URL_demo"

ui_start -- -c "$T_TMP/c.conf"
ui_check "demo loaded" "prod: connected"
ui_keys 3
ui_check "Snapshots view" "candidates"
ui_keys G
ui_keys /; ui_keys -l pre-patch; ui_keys Enter
ui_check "filter kept" "filter 'pre-patch' kept"
# any change on the pool rebuilds the list under the selection
sim_ctl demo POST "/sim/snapshot?vm=web01&name=stale-select-1" >/dev/null
ui_check "the filter shows the one match" "SR 'nfs-vmstore': 1 candidate,"
ui_check_gone "candidates that do not match are gone" "restore-tmp"
ui_check "the match is listed" "snapshot pre-patch "
sel=$(ui_selected | cut -f2)
assert_contains "selection on the remaining candidate" "$sel" "pre-patch"
ui_keys x
ui_check "x clears the filter, the list comes back" "before-pg16-upgrade"
sel=$(ui_selected | cut -f2)
assert_contains "selection stays on the same candidate" "$sel" "pre-patch"
ui_check "still alive" "3 Snapshots"
ui_keys q q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""

# a pool without any candidate: an empty list (found by the stress test: qsort of no array)
sim_start lab --scenario coalescing --gc-speed 0 || { fail "lab simulator starts"; finish; }
write_config "$T_TMP/l.conf" lab "$SIM_URL_lab"
ui_start -- -c "$T_TMP/l.conf"
ui_check "lab loaded" "lab: connected"
ui_keys 3
ui_check "empty Snapshots view says so" "no stale snapshots and no orphan disks"
ui_keys s j G Space d
ui_check "nothing to delete" "nothing to delete"
sim_ctl lab POST "/sim/snapshot?vm=healthy-vm&name=empty-list-1" >/dev/null
ui_keys s
ui_check "sorted again after a change (s: age, size, space back)" "sorted by space back"
ui_keys q q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""
finish
