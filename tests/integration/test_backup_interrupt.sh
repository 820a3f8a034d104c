#!/usr/bin/env bash
# Interrupted runs: kill -9 during an export leaves an `interrupted` record (found by the
# next open) and no .xva; Ctrl-C (SIGINT) during an export is recorded as interrupted and
# removes the .part; the next run cleans the half-made snapshot the interrupted one left.
# The simulator is stopped (SIGSTOP) mid-export so the export is surely in flight.
source "$(dirname "$0")/../lib.sh"

sim_start b --scenario backup --gc-speed 40 --export-scale 0.0078125 || { fail "simulator"; finish; }
URL=$SIM_URL_b
SIMPID=$SIM_PID_b
CONF="$T_TMP/c.conf"
EXP="$T_TMP/exports"
CONF_EXTRA="jobs = ( { name = \"exp\"; pool = \"backup-lab\"; vms = [ \"web02\" ]; mode = \"export\";
                       retention = 3; export_dir = \"$EXP\"; },
                     { name = \"two\"; pool = \"backup-lab\"; vms = [ \"web0*\" ]; mode = \"export\";
                       retention = 3; export_dir = \"$T_TMP/two\"; } );"
write_config "$CONF" backup-lab "$URL"

snaps_of_web02() {
	sim_ctl b GET /sim/state | jq -r '(.vms[] | select(.name == "web02") | .ref) as $r |
		.vms[] | select(.is_a_snapshot and .snapshot_of == $r) | .uuid'
}
# start a run, wait until its export is in flight, freeze the simulator
start_and_freeze() {
	"$CHAINTOP" backup -c "$CONF" --job exp >"$T_TMP/run.out" 2>&1 &
	BPID=$!
	if wait_for 20 sh -c "find '$EXP' -name '*.xva.part' 2>/dev/null | grep -q ."; then
		kill -STOP "$SIMPID"
		ok "$1: export in flight"
	else
		fail "$1: no export started: $(cat "$T_TMP/run.out")"
	fi
}

# --- kill -9 during the export
start_and_freeze "kill -9"
kill -9 "$BPID"; wait "$BPID" 2>/dev/null
kill -CONT "$SIMPID"
[ -z "$(find "$EXP" -name '*.xva')" ] && ok "kill -9: no .xva" || fail "kill -9: an .xva exists"
list=$("$CHAINTOP" report -c "$CONF" --json)
assert_eq "kill -9: run recorded interrupted" "$(jq -r '.runs[0].status' <<<"$list")" interrupted
run1=$(jq -r '.runs[0].id' <<<"$list")
j=$("$CHAINTOP" report -c "$CONF" --json "$run1")
assert_eq "kill -9: item interrupted" "$(jq -r '.run.items[0].status' <<<"$j")" interrupted
assert_eq "kill -9: export step interrupted" "$(jq -r '.run.items[0].steps[-1].name + " " + .run.items[0].steps[-1].status' <<<"$j")" "export interrupted"
half=$(jq -r '.run.items[0].steps[] | select(.name == "snapshot") | .detail' <<<"$j" | grep -o '[0-9a-f]\{8\}-[0-9a-f-]\{27\}')
assert_contains "kill -9: its half-made snapshot is there" "$(snaps_of_web02)" "$half"
txt=$("$CHAINTOP" report -c "$CONF")
assert_contains "kill -9: list shows interrupted" "$txt" "interrupted"

# --- the next run cleans the half-made snapshot and the dead .part
out=$("$CHAINTOP" backup -c "$CONF" --job exp 2>&1); rc=$?
assert_eq "next run: exit 0" "$rc" 0
assert_contains "next run: cleans the half-made snapshot" "$out" "removed half-made snapshot"
assert_not_contains "next run: the half-made snapshot is gone" "$(snaps_of_web02)" "$half"
assert_eq "next run: one complete .xva" "$(find "$EXP" -name '*.xva' | wc -l)" 1
assert_eq "next run: dead .part removed" "$(find "$EXP" -name '*.part' | wc -l)" 0

# --- SIGINT during the export
next_second   # a new time stamp for the file name
start_and_freeze "SIGINT"
kill -INT "$BPID"
# the export is aborted even though the simulator sends nothing
if wait_for 10 sh -c "! kill -0 $BPID 2>/dev/null"; then ok "SIGINT: stops while the server is stalled"; else fail "SIGINT: still running"; fi
kill -CONT "$SIMPID"
wait "$BPID"; rc=$?
out=$(cat "$T_TMP/run.out")
assert_eq "SIGINT: exit 2" "$rc" 2
assert_contains "SIGINT: says interrupted" "$out" "was interrupted"
assert_eq "SIGINT: no .part left" "$(find "$EXP" -name '*.part' | wc -l)" 0
assert_eq "SIGINT: no new .xva" "$(find "$EXP" -name '*.xva' | wc -l)" 1
assert_eq "SIGINT: run interrupted" "$("$CHAINTOP" report -c "$CONF" --json | jq -r '.runs[0].status')" interrupted

# --- the pool is lost mid-run: recorded as interrupted, the next VM is not attempted
"$CHAINTOP" backup -c "$CONF" --job two >"$T_TMP/lost.out" 2>&1 &
BPID=$!
if wait_for 20 sh -c "find '$T_TMP/two' -name '*.xva.part' 2>/dev/null | grep -q ."; then
	{ kill -9 "$SIMPID"; wait "$SIMPID"; } 2>/dev/null
	ok "lost pool: export in flight, simulator killed"
else
	fail "lost pool: no export started: $(cat "$T_TMP/lost.out")"
fi
t0=$(date +%s.%N)
wait "$BPID"; rc=$?
echo "# lost pool: run ended $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after the kill"
out=$(cat "$T_TMP/lost.out")
assert_eq "lost pool: exit 2" "$rc" 2
assert_contains "lost pool: says so" "$out" "lost contact with pool 'backup-lab'"
assert_contains "lost pool: the rest not attempted" "$out" "was interrupted"
j=$("$CHAINTOP" report -c "$CONF" --json "$("$CHAINTOP" report -c "$CONF" --last 1 --json | jq -r '.runs[0].id')")
assert_eq "lost pool: run interrupted" "$(jq -r '.run.status' <<<"$j")" interrupted
assert_eq "lost pool: one item, interrupted" "$(jq -r '[.run.items[].status] | join(",")' <<<"$j")" interrupted
assert_eq "lost pool: no .xva" "$(find "$T_TMP/two" -name '*.xva' | wc -l)" 0
finish
