#!/bin/bash
# UI: the Snapshots view names each candidate's source VM and its owner in the words of
# prune --dry-run, shows SIZE as the physical utilisation of the disks deleting destroys and
# SPACE BACK as what deleting gives back after GC, sorts by space back; the delete dialog of
# one snapshot is titled with it and its VM, and names each disk as a snapshot disk with the
# live VDI it is a snapshot of, never as the live disk.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

sim_start ow --scenario owners --gc-speed 0 || { fail "simulator starts"; finish; }
# the pool also proposes other tools' snapshots (prune_include_foreign), so every owner shows
cat >"$T_TMP/c.conf" <<CONF
pools = ( { name = "lab"; url = "$SIM_URL_ow"; username = "root"; password_env = "CHAINTOP_TEST_PASSWORD";
            prune_include_foreign = true; } );
state_dir = "$T_TMP/state/chaintop";
jobs = ( { name = "nightly"; pool = "lab"; vms = [ "app01" ]; } );
CONF
live_disk=$(sim_ctl ow GET /sim/state | python3 -c '
import json, sys
for v in json.load(sys.stdin)["vms"]:
    if v["name"] == "app01" and not v["is_a_snapshot"]:
        print(v["disks"][0]["uuid"][:8])')
[ -n "$live_disk" ] || { fail "the live disk of app01 is known"; finish; }

UI_COLS=160 ui_start -- -c "$T_TMP/c.conf"
ui_check "tree loaded" "nfs-owners"
ui_keys 3
ui_check "SPACE BACK column" "SPACE BACK  WHY"
ui_check "candidates listed" "app01 nightly"
assert_contains "VM and OWNER columns" "$(ui_screen | grep -F 'SPACE BACK')" " VM "
assert_contains "OWNER column" "$(ui_screen | grep -F 'SPACE BACK')" " OWNER "
row() { ui_screen | grep -F -- "$1" | head -n1; }
assert_contains "chaintop's own snapshot: its job" "$(row 'app01 nightly')" "chaintop 'nightly'"
assert_contains "and its VM" "$(row 'app01 nightly')" " app01 "
assert_contains "Xen Orchestra's snapshot" "$(row 'XO Backup nightly-delta')" "Xen Orchestra"
assert_contains "a VMSS snapshot" "$(row 'db01-20261101-0200')" "VMSS"
assert_contains "its VM" "$(row 'db01-20261101-0200')" " db01 "
assert_contains "a manual checkpoint" "$(row 'app02 before upgrade')" "manual"

# sorting: s cycles age, size, space back; the largest space back comes first
ui_keys s
ui_check "sort by size" "sorted by size"
ui_keys s
ui_check "sort by space back" "sorted by space back"
# SPACE BACK is the second size on a row (SIZE first)
sizes=$(ui_screen | grep -E '^\S? *\[[ x]\] ' | python3 -c '
import re, sys
u = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
for line in sys.stdin:
    v = re.findall(r"([0-9.]+) (B|KiB|MiB|GiB|TiB)\b", line)
    if len(v) >= 2:
        print(int(float(v[1][0]) * u[v[1][1]]))')
sorted_sizes=$(printf '%s\n' "$sizes" | sort -rn)
assert_eq "several rows compared" "$(printf '%s\n' "$sizes" | grep -c .)" "7"
assert_eq "rows in decreasing space back" "$sizes" "$sorted_sizes"
ui_keys s
ui_check "back to age" "sorted by age"

# detail pane: the owner sentence of prune --dry-run
ui_keys /
ui_keys -l "app01 nightly"
ui_keys Enter
ui_check "filtered to chaintop's snapshot" "app01 nightly"
ui_check "detail names the owner as prune does" "owner: chaintop job 'nightly'"
ui_check "detail names the VM" "of VM: app01"
ui_check "size is physical, space back after GC" "on disk (physical utilisation"
ui_keys Home j d
ui_check "dialog titled with the snapshot and its VM" "Delete snapshot 'app01 nightly"
ui_check "title names the VM" "of VM 'app01'"
ui_check "the snapshot disk is named as one, with its live VDI" "snapshot disk 'app01 0' (snapshot of VDI $live_disk"
ui_check "the VM.destroy step names the snapshot" "VM.destroy snapshot 'app01 nightly"
scr=$(ui_screen)
assert_not_contains "no step reads like the live disk" "$scr" "  disk 'app01 0'"
assert_contains "the owner is said in the dialog" "$scr" "made by: chaintop job 'nightly'"
ui_keys Escape
ui_check "Esc cancels" "cancelled, nothing was changed"
destroys=$(sim_ctl ow GET /sim/calls | python3 -c '
import json, sys
print(" ".join(c["method"] for c in json.load(sys.stdin) if c["method"].endswith(".destroy")))')
assert_eq "nothing destroyed" "$destroys" ""

# help says what Space on a group header does
ui_keys '?'
ui_check "help on Space on a group header" "on a group header (pool > SR): all of the group"
ui_keys q 1 q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""
finish
