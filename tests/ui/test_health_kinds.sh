#!/bin/bash
# UI: the Health view groups and folds problems by the engine's kind, never by reading its
# sentences (a VM named like a depth reason keeps its own rows), and a broken parent link is
# CRITICAL ("this disk may not attach") in Health, tree and check alike.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

sim_start prod --scenario demo --gc-speed 0 || { fail "simulator prod starts"; finish; }
write_config "$T_TMP/c.conf" prod "$SIM_URL_prod"
state=$(sim_ctl prod GET /sim/state)
# legacy-erp's disk: its chain, leaf to root
read -r root < <(python3 -c '
import json, sys
s = json.load(sys.stdin)
vm = [v for v in s["vms"] if v["name"] == "legacy-erp"][0]
print(vm["disks"][0]["chain"][-1])' <<<"$state")
[ -n "$root" ] || { fail "legacy-erp has a chain"; finish; }
# a VM whose name reads like the gate's depth sentence, on a chain whose root names a
# parent the SR does not have
sim_ctl prod POST /sim/set '{"class": "VM", "name": "legacy-erp", "field": "name_label", "value": "erp VHDs deep (limit 9)"}' >/dev/null
sim_ctl prod POST /sim/set "{\"class\": \"VDI\", \"uuid\": \"$root\", \"field\": \"sm_config\", \"key\": \"vhd-parent\", \"value\": \"0badc0de-0000-4000-8000-000000000000\"}" >/dev/null

ui_start -- -c "$T_TMP/c.conf"
ui_check "prod up" "prod: connected"
ui_keys 2
ui_check "Health view" "SEVERITY"
ui_check "the broken link leads with what is wrong" "parent VHD missing: "
line=$(ui_line "parent VHD missing: ")
assert_contains "a broken parent link is CRITICAL" "$line" "CRITICAL"
ui_keys o
ui_check "the pager says the disk may not attach" "this disk may not"
ui_keys q
# the VM's own refusal for the broken chain is not folded into its deep disk's row
ui_check "the VM's broken-chain refusal has its row" "sits on a broke"
ui_keys q q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""

# check and tree agree
out=$("$CHAINTOP" check -c "$T_TMP/c.conf" --format json 2>/dev/null)
kinds=$(python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(sorted({p["severity"] + ":" + p["kind"] for p in d["problems"] if p.get("kind") == "broken"})))' <<<"$out")
assert_contains "check: the broken link is CRITICAL with kind broken" "$kinds" "CRITICAL:broken"
assert_contains "check: the VM's refusal carries kind broken" "$kinds" "WARNING:broken"
tree=$("$CHAINTOP" tree -c "$T_TMP/c.conf" 2>&1)
assert_contains "tree names the broken link" "$tree" "BROKEN"
finish
