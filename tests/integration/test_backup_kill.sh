#!/usr/bin/env bash
# kill -9 at the snapshot step (the snapshot call is slowed down in the simulator so the
# process dies while xapi is still making it): the exact snapshot name was recorded in the
# history before the call, so the next run finds the untagged snapshot by that name and
# snapshot_of, removes it and records what it did. kill -9 during an export: the next run
# removes the tagged snapshot and the dead temp file, and makes a verified export.
source "$(dirname "$0")/../lib.sh"

sim_start k --scenario backup --gc-speed 0 --export-scale 0.0078125 || { fail "simulator"; finish; }
URL=$SIM_URL_k
CONF="$T_TMP/c.conf"
EXP="$T_TMP/exports"
CONF_EXTRA="jobs = ( { name = \"k\"; pool = \"backup-lab\"; vms = [ \"web02\" ]; retention = 3; },
                     { name = \"kx\"; pool = \"backup-lab\"; vms = [ \"halted-vm\" ]; mode = \"export\";
                       retention = 2; export_dir = \"$EXP\"; } );"
write_config "$CONF" backup-lab "$URL"
DB="$T_TMP/state/chaintop/jobs.db"
snaps_of() { # VM name -> "name<TAB>chaintop:run tag" of its snapshots (XML-RPC: tags included)
	python3 - "$URL" "$1" <<'PY'
import sys, xmlrpc.client
s = xmlrpc.client.ServerProxy(sys.argv[1])
h = s.session.login_with_password("root", "chaintop-demo")["Value"]
recs = s.VM.get_all_records(h)["Value"]
vm = [r for r, v in recs.items() if v["name_label"] == sys.argv[2] and not v["is_a_snapshot"]][0]
for v in recs.values():
    if v["is_a_snapshot"] and v["snapshot_of"] == vm:
        print("%s\t%s" % (v["name_label"], v["other_config"].get("chaintop:run", "")))
PY
}
has_snap() { snaps_of "$1" | grep -qF "$2"; }
intent_of_run() { # run id -> the snapshot name recorded before the call
	python3 - "$DB" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
r = db.execute("SELECT intent FROM items WHERE run_id = ? AND intent IS NOT NULL", (int(sys.argv[2]),)).fetchone()
print(r[0] if r else "")
PY
}

# --- kill -9 while VM.snapshot runs
sim_ctl k POST /sim/fault '{"kind": "slow", "method": "Async.VM.snapshot", "seconds": 3}' >/dev/null
"$CHAINTOP" backup -c "$CONF" --job k >"$T_TMP/run1.out" 2>&1 &
BPID=$!
if wait_for 20 sh -c "[ -n \"\$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT intent FROM items WHERE intent IS NOT NULL\").fetchone() or \"\")' '$DB' 2>/dev/null)\" ]"; then
	ok "snapshot step: the snapshot name is in the history before the call"
else
	fail "snapshot step: no intent recorded: $(cat "$T_TMP/run1.out")"
fi
# the intent is recorded before the call is sent: kill only once the call has reached xapi
slow_call_arrived() { [ "$(sim_ctl k GET /sim/state | jq '.faults_fired.slow')" -ge 1 ]; }
wait_for 10 slow_call_arrived || fail "the VM.snapshot call did not reach the simulator: $(cat "$T_TMP/run1.out")"
kill -9 "$BPID"; wait "$BPID" 2>/dev/null
name=$(intent_of_run 1)
[[ $name == "chaintop k run 1 "* ]] && ok "intent: the name carries the job and run id" || fail "intent: [$name]"
# xapi finishes the call the dead process made
if wait_for 20 has_snap web02 "$name"; then
	ok "kill -9: xapi made the snapshot after all"
else
	fail "kill -9: no snapshot '$name' appeared"
fi
assert_eq "kill -9: that snapshot carries no chaintop tag" "$(snaps_of web02 | grep -F "$name" | cut -f2)" ""
out=$("$CHAINTOP" backup -c "$CONF" --job k 2>&1); rc=$?
assert_eq "next run: exit 0" "$rc" 0
assert_contains "next run: removes it by name and says so" "$out" "removed snapshot '$name'"
assert_eq "next run: the untagged snapshot is gone" "$(snaps_of web02 | grep -cF "$name")" 0
assert_eq "next run: its own snapshot is tagged" "$(snaps_of web02 | grep -c $'\t2$')" 1
rep=$("$CHAINTOP" report -c "$CONF" 1)
assert_contains "report of the killed run: the recovery is recorded" "$rep" "recover"
assert_contains "report of the killed run: what was removed" "$rep" "killed run 1 made but never recorded"
out=$("$CHAINTOP" backup -c "$CONF" --job k 2>&1)
assert_not_contains "a resolved intent is not looked at again" "$out" "killed run"

# --- the call never reached xapi: recorded as such, nothing to remove
sim_ctl k POST /sim/fault '{"method": "Async.VM.snapshot", "error": ["SR_BACKEND_FAILURE_44", "", "There is insufficient space", ""]}' >/dev/null
out=$("$CHAINTOP" backup -c "$CONF" --job k 2>&1)
assert_contains "refused snapshot: failure reported" "$out" "SR_BACKEND_FAILURE_44"
out=$("$CHAINTOP" backup -c "$CONF" --job k 2>&1)
assert_not_contains "refused snapshot: no intent left open" "$out" "killed run"

# --- kill -9 during an export
sim_ctl k POST /sim/fault '{"kind": "export_slow", "seconds_per_mib": 2}' >/dev/null
"$CHAINTOP" backup -c "$CONF" --job kx >"$T_TMP/run2.out" 2>&1 &
BPID=$!
if wait_for 30 sh -c "find '$EXP' -name '*.xva.part' 2>/dev/null | grep -q ."; then
	ok "export: in flight"
else
	fail "export: not started: $(cat "$T_TMP/run2.out")"
fi
kill -9 "$BPID"; wait "$BPID" 2>/dev/null
sim_ctl k POST /sim/fault '{"kind": "clear"}' >/dev/null
assert_eq "export killed: its snapshot is there, tagged" "$(snaps_of halted-vm | grep -c $'\t[0-9]')" 1
out=$("$CHAINTOP" backup -c "$CONF" --job kx 2>&1); rc=$?
assert_eq "after the killed export: exit 0" "$rc" 0
assert_contains "after the killed export: half-made snapshot removed" "$out" "removed half-made snapshot"
assert_eq "after the killed export: no snapshot left" "$(snaps_of halted-vm | wc -l)" 0
[ -z "$(find "$EXP" -name '*.part')" ] && ok "after the killed export: temp file removed" || fail "a .part is left"
xva=$(find "$EXP" -name '*.xva')
assert_contains "after the killed export: a verified export" "$("$CHAINTOP" verify "$xva")" ": OK"

finish
