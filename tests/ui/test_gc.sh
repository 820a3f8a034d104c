#!/bin/bash
# UI: the SR detail says what the garbage collector has left to do (from SM's vhd-blocks),
# the room its largest merge needs, and the links SM will never coalesce; a disk left
# paused is shown as frozen I/O, not as GC work.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

sim_start lab --scenario coalescing || { fail "simulator starts"; finish; }
sim_ctl lab POST /sim/gc/pause >/dev/null
reset=$(sim_ctl lab GET /sim/state | python3 -c 'import json,sys
d=json.load(sys.stdin)
print([v for v in d["vms"] if v["name"]=="leafpending-vm"][0]["disks"][0]["uuid"])')
sim_ctl lab POST /sim/set "{\"class\":\"VDI\",\"uuid\":\"$reset\",\"field\":\"on_boot\",\"value\":\"reset\"}" >/dev/null
write_config "$T_TMP/c.conf" lab "$SIM_URL_lab"

ui_start -- -c "$T_TMP/c.conf"
ui_check "SR nfs-01 listed" "nfs-01"
ui_keys g j j j
ui_check "SR detail: work left and the room its largest merge needs" "GC work left"
ui_check "SR detail: the room the largest merge needs, and the free space" "the largest merge needs "
ui_check "SR detail: no rate yet" "merge rate not measured yet"
ui_check "SR detail: the link SM will not coalesce" "1 link SM will not coalesce"
ui_keys q
ui_wait 10 "chaintop exited rc=0" && ok "quits cleanly" || fail "quits cleanly"
finish
