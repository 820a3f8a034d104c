#!/bin/bash
# UI: I writes the incident summary (the document of `chaintop report --incident`) of the
# pools shown to a new file in the state directory, says its path in the status line and
# the messages; when the state directory cannot take it, $TMPDIR does, and it says why.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

sim_start prod --scenario demo --gc-speed 0 || { fail "simulator prod starts"; finish; }
write_config "$T_TMP/c.conf" prod "$SIM_URL_prod"
ui_start -- -c "$T_TMP/c.conf"
ui_check "prod up" "prod: connected"
ui_check "problems judged" " 2 Health ("
ui_keys I
ui_check "I says where the summary is" "incident summary of 1 pool written to "
path=$(ls "$XDG_STATE_HOME"/chaintop/incident-*.md 2>/dev/null | head -n1)
[ -f "$path" ] && ok "the file is in the state directory" || fail "no incident-*.md in the state directory"
# the whole message (the status line may cut it): the messages view, Enter reads it whole
ui_keys m Enter
ui_check "the messages keep the path" "$path"
ui_keys Escape Escape
assert_eq "readable by its owner only" "$(stat -c %a "$path")" "600"
doc=$(cat "$path")
assert_contains "a Markdown title" "$doc" "# chaintop incident summary"
assert_contains "the pools" "$doc" "## Pools"
assert_contains "the pool by name" "$doc" "prod"
assert_contains "the problems" "$doc" "## Problems"
assert_contains "a problem of the pool, with its full reason" "$doc" "legacy-erp"
assert_contains "the GC per SR" "$doc" "## Garbage collector per SR"
assert_contains "the failed runs" "$doc" "## Job failures"
# the same sections as `chaintop report --incident`
cli=$("$CHAINTOP" report --incident -c "$T_TMP/c.conf" 2>/dev/null)
assert_eq "the same sections as report --incident" "$(grep '^## ' <<<"$doc")" "$(grep '^## ' <<<"$cli")"
assert_eq "the same problems as report --incident" "$(grep -c '^- ' <<<"$doc")" "$(grep -c '^- ' <<<"$cli")"
ui_keys q
ui_check "quits" "chaintop exited rc=0"
[ -z "$(ui_stderr)" ] && ok "nothing on stderr" || { fail "stderr:"; ui_stderr | head -20; }

# a state directory that cannot take the file: $TMPDIR does, and the status line says so
mkdir -p "$T_TMP/alt/chaintop" "$T_TMP/tmpdir"
sed "s|^state_dir = .*|state_dir = \"$T_TMP/alt/chaintop\";|" "$T_TMP/c.conf" >"$T_TMP/c2.conf"
ui_start TMPDIR="$T_TMP/tmpdir" -- -c "$T_TMP/c2.conf"
ui_check "prod up (2)" "prod: connected"
ui_check "problems judged (2)" " 2 Health ("
rm -rf "$T_TMP/alt/chaintop"; : >"$T_TMP/alt/chaintop"   # a file where the directory was
ui_keys I
ui_check "it says it wrote it" "incident summary of 1 pool written to "
for i in $(seq 1 50); do ls "$T_TMP"/tmpdir/incident-*.md >/dev/null 2>&1 && break; sleep 0.1; done
ls "$T_TMP"/tmpdir/incident-*.md >/dev/null 2>&1 && ok "written to \$TMPDIR" || fail "nothing in \$TMPDIR"
ui_keys m Enter
ui_check "it says why the state directory did not take it" "could not take it: Not a directory"
ui_keys Escape Escape
ui_keys q
ui_check "quits (2)" "chaintop exited rc=0"
finish
