#!/bin/bash
# UI: problems-only mode (p) says how much of the tree it hides.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

sim_start prod --scenario demo --gc-speed 0 || { fail "simulator prod starts"; finish; }
write_config "$T_TMP/c.conf" prod "$SIM_URL_prod"
ui_start -- -c "$T_TMP/c.conf"
ui_check "prod up" "prod: connected"
ui_keys p
ui_check "problems only says what it hides" " rows hidden]"
tab=$(ui_line "[problems only: ")
hidden=$(grep -o 'problems only: [0-9]* of [0-9]* rows hidden' <<<"$tab")
read -r h total < <(sed -E 's/problems only: ([0-9]+) of ([0-9]+) rows hidden/\1 \2/' <<<"$hidden")
[ -n "$h" ] && [ "$h" -gt 0 ] && [ "$h" -lt "$total" ] && ok "some rows hidden, not all ($hidden)" ||
	fail "some rows hidden, not all: [$tab]"
ui_keys p
ui_check_gone "p again shows every row" "[problems only"
ui_keys q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""
finish
