#!/usr/bin/env bash
# What a kill -9 leaves, found by prune through the job history (issue 13): the snapshot a
# run asked VM.snapshot for before it could tag it (listed as "left by interrupted run N of
# job J (killed during the snapshot step)", owner chaintop, in text and --json; --yes removes
# it and records that in run N), the same while xapi is still making it (left for later), and
# the export task a run created (task.create) and could not destroy: prune --yes, or the next
# run, destroys exactly that task and never another tool's task, however it is labelled.
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
snaps_of() { # VM name -> snapshot names
	python3 - "$URL" "$1" <<'PY'
import sys, xmlrpc.client
s = xmlrpc.client.ServerProxy(sys.argv[1])
h = s.session.login_with_password("root", "chaintop-demo")["Value"]
recs = s.VM.get_all_records(h)["Value"]
vm = [r for r, v in recs.items() if v["name_label"] == sys.argv[2] and not v["is_a_snapshot"]][0]
for v in recs.values():
    if v["is_a_snapshot"] and v["snapshot_of"] == vm:
        print(v["name_label"])
PY
}
has_snap() { snaps_of "$1" | grep -qF "$2"; }
tasks_like() { # "label<TAB>status" of every task whose label starts with $1
	python3 - "$URL" "$1" <<'PY'
import sys, xmlrpc.client
s = xmlrpc.client.ServerProxy(sys.argv[1])
h = s.session.login_with_password("root", "chaintop-demo")["Value"]
for t in s.task.get_all_records(h)["Value"].values():
    if t["name_label"].startswith(sys.argv[2]):
        print("%s\t%s\t%s" % (t["name_label"], t["status"], t["name_description"][:40]))
PY
}
intent_recorded() { [ -n "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT intent FROM items WHERE intent IS NOT NULL AND intent_done = 0").fetchone() or "")' "$DB" 2>/dev/null)" ]; }

open_intents() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM items WHERE intent IS NOT NULL AND intent_done = 0").fetchone()[0])' "$DB"; }

# --- kill -9 while the VM.snapshot call is still on its way into xapi (no task yet)
sim_ctl k POST /sim/fault '{"kind": "slow", "method": "Async.VM.snapshot", "seconds": 6}' >/dev/null
"$CHAINTOP" backup -c "$CONF" --job k >"$T_TMP/run1.out" 2>&1 &
BPID=$!
wait_for 20 intent_recorded && ok "snapshot step reached" || fail "no intent recorded: $(cat "$T_TMP/run1.out")"
# the intent is recorded before the call is sent: kill only once the call has reached xapi
slow_call_arrived() { [ "$(sim_ctl k GET /sim/state | jq '.faults_fired.slow')" -ge 1 ]; }
wait_for 10 slow_call_arrived || fail "the VM.snapshot call did not reach the simulator: $(cat "$T_TMP/run1.out")"
kill -9 "$BPID"; wait "$BPID" 2>/dev/null
name=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT intent FROM items WHERE run_id = 1").fetchone()[0])' "$DB")
out=$("$CHAINTOP" prune -c "$CONF" --dry-run 2>&1); rc=$?
assert_eq "in flight: dry run exits 0" "$rc" 0
assert_contains "in flight: listed as left by the killed run" "$out" "left by interrupted run 1 of job 'k' (killed during the snapshot step)"
assert_contains "in flight: says xapi may still make it" "$out" "so xapi may still make it"
out=$("$CHAINTOP" prune -c "$CONF" --yes 2>&1); rc=$?
assert_eq "in flight: prune --yes exits 0" "$rc" 0
assert_contains "in flight: resolution leaves it for later" "$out" "is not there yet and the call was sent"
assert_eq "in flight: the intent stays open" "$(open_intents)" 1

# --- xapi finished the call: prune lists the untagged snapshot, then removes it
if wait_for 30 has_snap web02 "$name"; then ok "xapi made the snapshot after all"; else fail "no snapshot '$name'"; fi
sim_ctl k POST /sim/fault '{"kind": "clear"}' >/dev/null
sim_ctl k POST /sim/calls/clear >/dev/null
out=$("$CHAINTOP" prune -c "$CONF" --dry-run 2>&1); rc=$?
assert_eq "dry run exits 0" "$rc" 0
assert_contains "dry run: the snapshot by its recorded name" "$out" "snapshot '$name'"
assert_contains "dry run: owner chaintop" "$out" "owner: chaintop job 'k'"
assert_contains "dry run: which run left it and when it was killed" "$out" "left by interrupted run 1 of job 'k' (killed during the snapshot step)"
assert_contains "dry run: what resolving does" "$out" "VM.destroy of snapshot '$name'"
assert_not_contains "dry run: not also a candidate" "$out" "candidates:"
json=$("$CHAINTOP" prune -c "$CONF" --dry-run --json 2>/dev/null); rc=$?
assert_eq "--json exits 0" "$rc" 0
res=$(python3 -c '
import json, sys
d = json.loads(sys.argv[1])
p = d["pools"][0]
i = p["interrupted"]
print(len(i), i[0]["kind"], i[0]["state"], i[0]["run"], i[0]["job"], i[0]["owner"], i[0]["step"], i[0]["name"] == sys.argv[2], bool(i[0]["uuid"]), len(p["plan"]))' "$json" "$name")
assert_eq "--json: the leftover with its run, job, owner and state" "$res" "1 snapshot found 1 k chaintop snapshot True True 0"
destroys=$(sim_ctl k GET /sim/calls | python3 -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin) if c["method"].endswith("destroy")))')
assert_eq "dry runs made no destroying call" "$destroys" 0
out=$("$CHAINTOP" prune -c "$CONF" --yes 2>&1); rc=$?
assert_eq "prune --yes exits 0" "$rc" 0
assert_contains "prune --yes: removed and said so" "$out" "removed snapshot '$name'"
assert_eq "prune --yes: the snapshot is gone" "$(snaps_of web02 | grep -cF "$name")" 0
rep=$("$CHAINTOP" report -c "$CONF" 1)
assert_contains "history: run 1 has the recover step" "$rep" "recover"
assert_contains "history: what prune removed" "$rep" "killed run 1 made but never recorded"
out=$("$CHAINTOP" prune -c "$CONF" --dry-run 2>&1)
assert_not_contains "resolved: not listed again" "$out" "interrupted run 1"

# --- kill -9 while xapi's VM.snapshot task runs: "still running", left for later
sim_ctl k POST /sim/fault '{"kind": "slow_task", "method": "Async.VM.snapshot", "seconds": 15}' >/dev/null
"$CHAINTOP" backup -c "$CONF" --job k >"$T_TMP/run3.out" 2>&1 &
BPID=$!
snap_task_pending() { tasks_like "Async.VM.snapshot" | grep -q $'\tpending\t'; }
if wait_for 20 sh -c "$(declare -f tasks_like snap_task_pending); URL='$URL' snap_task_pending" && wait_for 10 intent_recorded; then
	ok "pending: VM.snapshot task running"
else
	fail "pending: no VM.snapshot task: $(cat "$T_TMP/run3.out")"
fi
kill -9 "$BPID"; wait "$BPID" 2>/dev/null
prun=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT MAX(id) FROM runs WHERE job = \"k\"").fetchone()[0])' "$DB")
pname=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT intent FROM items WHERE run_id = ?", (int(sys.argv[2]),)).fetchone()[0])' "$DB" "$prun")
out=$("$CHAINTOP" prune -c "$CONF" --dry-run 2>&1)
assert_contains "pending: listed" "$out" "left by interrupted run $prun of job 'k' (killed during the snapshot step)"
assert_contains "pending: says the task still runs" "$out" "a VM.snapshot task is still running"
out=$("$CHAINTOP" prune -c "$CONF" --yes 2>&1); rc=$?
assert_eq "pending: prune --yes exits 0" "$rc" 0
assert_contains "pending: resolution leaves it for later" "$out" "is not there yet and a VM.snapshot task is still running"
assert_eq "pending: the intent stays open" "$(open_intents)" 1
if wait_for 40 has_snap web02 "$pname"; then ok "pending: xapi made the snapshot"; else fail "pending: no snapshot '$pname'"; fi
sim_ctl k POST /sim/fault '{"kind": "clear"}' >/dev/null
out=$("$CHAINTOP" prune -c "$CONF" --yes 2>&1)
assert_contains "pending: once made, prune removes it" "$out" "removed snapshot '$pname'"
assert_eq "pending: no intent open" "$(open_intents)" 0

# --- kill -9 during an export: the task chaintop created stays in xapi
# Another tool's tasks, one even labelled like ours: never touched.
python3 - "$URL" <<'PY'
import sys, xmlrpc.client
s = xmlrpc.client.ServerProxy(sys.argv[1])
h = s.session.login_with_password("root", "chaintop-demo")["Value"]
s.task.create(h, "chaintop export of VM x (job kx, run 2)", "someone else's task")
s.task.create(h, "XO export", "Xen Orchestra")
PY
kill_export() {
	sim_ctl k POST /sim/fault '{"kind": "export_slow", "seconds_per_mib": 2}' >/dev/null
	"$CHAINTOP" backup -c "$CONF" --job kx >"$T_TMP/runx.out" 2>&1 &
	BPID=$!
	if wait_for 30 sh -c "[ \"\$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT COUNT(*) FROM items i JOIN runs r ON r.id = i.run_id WHERE i.export_task IS NOT NULL AND r.status = \x27running\x27\").fetchone()[0])' '$DB' 2>/dev/null)\" = 1 ]"; then
		ok "export $1: in flight"
	else
		fail "export $1: not started: $(cat "$T_TMP/runx.out")"
	fi
	kill -9 "$BPID"; wait "$BPID" 2>/dev/null
	sim_ctl k POST /sim/fault '{"kind": "clear"}' >/dev/null
}
kill_export 1
run=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT MAX(id) FROM runs WHERE job = \"kx\"").fetchone()[0])' "$DB")
ours="chaintop export of VM"
left_task() { tasks_like "$ours" | grep -F "run $run)" | grep -vF "someone else"; }
[ -n "$(left_task)" ] && ok "export killed: its task is left in xapi" || fail "export killed: no task left: $(tasks_like chaintop)"
assert_contains "the task's description names job, run and item" "$(left_task)" "chaintop backup export: job 'kx', run $run"
out=$("$CHAINTOP" prune -c "$CONF" --dry-run 2>&1)
assert_contains "dry run: the export task" "$out" "export task 'chaintop export of VM"
assert_contains "dry run: left by the killed run" "$out" "left by interrupted run $run of job 'kx' (killed during the export step)"
assert_contains "dry run: task.destroy" "$out" "task.destroy of export task"
out=$("$CHAINTOP" prune -c "$CONF" --yes 2>&1); rc=$?
assert_eq "prune --yes (task): exit 0" "$rc" 0
assert_contains "prune --yes: destroyed the task and said so" "$out" "destroyed the export task"
assert_eq "prune --yes: chaintop's task is gone" "$(left_task | wc -l)" 0
assert_eq "prune --yes: the look-alike task of another tool is kept" "$(tasks_like "$ours" | grep -cF "someone else")" 1
assert_eq "prune --yes: the other tool's task is kept" "$(tasks_like "XO export" | wc -l)" 1
rep=$("$CHAINTOP" report -c "$CONF" "$run")
assert_contains "history: the killed export run records the task's destruction" "$rep" "destroyed the export task"

# --- and the next run does the same
kill_export 2
run=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT MAX(id) FROM runs WHERE job = \"kx\"").fetchone()[0])' "$DB")
[ -n "$(left_task)" ] && ok "second kill: task left" || fail "second kill: no task left"
out=$("$CHAINTOP" backup -c "$CONF" --job kx 2>&1); rc=$?
assert_eq "next run: exit 0" "$rc" 0
assert_contains "next run: destroys the killed run's task" "$out" "destroyed the export task"
assert_eq "next run: no chaintop task left" "$(tasks_like "$ours" | grep -vcF "someone else")" 0
assert_eq "next run: the look-alike task is still kept" "$(tasks_like "$ours" | grep -cF "someone else")" 1
finish
