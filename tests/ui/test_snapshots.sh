#!/bin/bash
# UI: the Snapshots view lists the prune candidates grouped by pool and SR with reasons and
# the effect of deleting them, sorts by age, size or space back; Space tags, `d` opens a dialog listing
# every object and XAPI call with focus on Cancel; Cancel destroys nothing (call log);
# confirming deletes exactly the planned objects on a worker and the run shows in Jobs.
# More than 10 items need a typed confirmation.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

sim_start pr --scenario prune --gc-speed 0 || { fail "simulator starts"; finish; }
CONF_EXTRA='jobs = ( { name = "nightly"; pool = "lab"; vms = [ "app01" ]; } );' \
	write_config "$T_TMP/c.conf" lab "$SIM_URL_pr"
destroys() { sim_ctl pr GET /sim/calls | python3 -c '
import json, sys
print(" ".join(c["method"] for c in json.load(sys.stdin) if c["method"].endswith(".destroy")))'; }

ui_start -- -c "$T_TMP/c.conf"
ui_check "tree loaded" "nfs-prune"
ui_keys 3
ui_check "grouped by pool and SR" "pool 'lab' > SR 'nfs-prune'"
ui_check "snapshot whose VM is gone" "legacy-snap"
ui_check "old snapshot" "pre-upgrade"
scr=$(ui_screen)
# a plain unused disk no tool marked is someone's data: kept unless --include-foreign
assert_not_contains "a disk no tool marked is not a candidate by default" "$scr" "orphan-data"
assert_not_contains "a suspend VDI is not a candidate" "$scr" "Suspend image"
assert_not_contains "the job's own recent snapshot is not a candidate" "$scr" "app01 nightly"
ui_check "reasons shown" "older than 14d"
ui_check "effect of deleting shown" "effect:"

ui_keys s
ui_check "sort by size" "sorted by size"
first=$(ui_screen | grep -E '^\S? *\[[ x]\] ' | head -n1)
assert_contains "largest first when sorted by size" "$first" "app01 weekly"
ui_keys s
ui_check "then by space back" "sorted by space back"
ui_keys s
ui_check "sort by age" "sorted by age"
first=$(ui_screen | grep -E '^\S? *\[[ x]\] ' | head -n1)
assert_contains "oldest first when sorted by age" "$first" "legacy-snap"

# tag the two oldest and ask to delete
ui_keys Home j Space Space
ui_check "two tagged" "2 tagged"
ui_keys d
ui_check "dialog names the pool" "Delete 2 items from pool 'lab'"
ui_check "dialog lists the XAPI calls" "XAPI calls, in this order"
ui_check "with VM.destroy of the snapshot" "VM.destroy snapshot '"
ui_check "and VDI.destroy of its snapshot disk" "VDI.destroy snapshot disk '"
ui_check "each on its ref" "  [OpaqueRef:"
ui_check "focus on Cancel" "[> Cancel <]"
ui_keys Escape
ui_check "Esc cancels" "cancelled, nothing was changed"
assert_eq "no destroying call after Cancel" "$(destroys)" ""

ui_keys d
ui_check "dialog again" "Delete 2 items from pool 'lab'"
ui_keys Tab Enter
ui_check "deletion reported on the status line" "2 done, 0 refused, 0 failed" 60
calls=$(destroys)
assert_eq "exactly the planned calls reached the simulator" "$calls" "VM.destroy VDI.destroy VM.destroy VDI.destroy"
ui_check_gone "deleted snapshot leaves the list" "legacy-snap"
ui_keys 4
ui_check "Jobs view lists the prune run" "prune"
ui_check "with its status" "success"
ui_keys Enter
ui_check "report lists the destroyed objects (the text of chaintop report RUN)" "  legacy-snap ("
ui_keys q q q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""

# more than 10 items: a typed confirmation (the demo pool has a dozen stale snapshots)
sim_start demo --scenario demo --gc-speed 0 || { fail "demo simulator starts"; finish; }
write_config "$T_TMP/d.conf" prod "$SIM_URL_demo"
ui_start -- -c "$T_TMP/d.conf"
ui_check "demo loaded" "prod: connected"
ui_keys 3
ui_check "candidates listed" "candidates"
ui_keys Home j
for j in $(seq 1 11); do ui_keys Space; done
ui_check "eleven tagged" "11 tagged"
ui_keys d
ui_check "typed confirmation asked for more than 10" "Type 'delete 11' to enable Delete"
ui_keys Tab Enter
ui_check "Delete without the word is refused" "type 'delete 11' exactly"
ui_keys -l "delete 11"
ui_check "the typed word shows" "to enable Delete: delete 11_"
ui_keys Escape
ui_check "Esc cancels" "cancelled, nothing was changed"
ui_keys 1 q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""
finish
