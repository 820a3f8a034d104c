#!/usr/bin/env bash
# Gate policy `wait`: re-judged on every change until healthy (the simulator's GC coalesces
# the stacked base copies, then the snapshot follows at once), and gives up at the deadline
# when the GC is paused, recorded as skipped with the reasons at the deadline.
source "$(dirname "$0")/../lib.sh"

sim_start b --scenario backup --gc-speed 0 || { fail "simulator"; finish; }
URL=$SIM_URL_b
CONF="$T_TMP/c.conf"
CONF_EXTRA='jobs = ( { name = "waiter"; pool = "backup-lab"; vms = [ "stacked-vm" ]; retention = 0;
                       gate = { policy = "wait"; wait_timeout = "3s"; }; } );'
write_config "$CONF" backup-lab "$URL"

# --- the deadline: GC paused, the job's own wait_timeout (3 s) ends it
sim_ctl b POST /sim/gc/pause >/dev/null
sim_ctl b POST '/sim/gc/speed?f=40' >/dev/null
start=$SECONDS
out=$("$CHAINTOP" backup -c "$CONF" --job waiter 2>&1); rc=$?
took=$((SECONDS - start))
assert_eq "deadline: exit 1 (skipped)" "$rc" 1
assert_contains "deadline: says it waited" "$out" "waiting up to 3s"
assert_contains "deadline: gave up" "$out" "gave up after 3s"
[ "$took" -ge 3 ] && [ "$took" -le 15 ] && ok "deadline: gave up after about 3 s ($took s)" || fail "deadline: took $took s"
j=$("$CHAINTOP" report -c "$CONF" --json "$("$CHAINTOP" report -c "$CONF" --last 1 --json | jq -r '.runs[0].id')")
assert_eq "deadline: item skipped" "$(jq -r '.run.items[0].status' <<<"$j")" skipped
assert_contains "deadline: reasons at the deadline recorded" "$(jq -r '.run.items[0].reasons[0]' <<<"$j")" "stacked base copies"
assert_eq "deadline: wait step recorded" "$(jq -r '.run.items[0].steps[1].name + " " + .run.items[0].steps[1].status' <<<"$j")" "wait skipped"
assert_contains "deadline: chain as judged recorded" "$(jq -c '.run.items[0].chain' <<<"$j")" '"stacked":2'
assert_eq "deadline: no snapshot of stacked-vm" \
	"$(sim_ctl b GET /sim/calls | jq '[.[] | select(.method | test("VM.snapshot$"))] | length')" 0

# --- SIGTERM while waiting: recorded as interrupted at once
"$CHAINTOP" backup -c "$CONF" --job waiter --wait 60s >"$T_TMP/term.out" 2>&1 &
bpid=$!
wait_for 10 grep -q "waiting up to 1m" "$T_TMP/term.out" || fail "SIGTERM: not waiting"
kill -TERM "$bpid"
t0=$SECONDS
wait "$bpid"; rc=$?
assert_eq "SIGTERM: exit 2" "$rc" 2
[ $((SECONDS - t0)) -le 5 ] && ok "SIGTERM: stopped promptly" || fail "SIGTERM: took $((SECONDS - t0)) s"
j=$("$CHAINTOP" report -c "$CONF" --json "$("$CHAINTOP" report -c "$CONF" --last 1 --json | jq -r '.runs[0].id')")
assert_eq "SIGTERM: run interrupted" "$(jq -r '.run.status' <<<"$j")" interrupted
assert_eq "SIGTERM: wait step interrupted" "$(jq -r '.run.items[0].steps[-1].name + " " + .run.items[0].steps[-1].status' <<<"$j")" "wait interrupted"

# --- the GC finishes while we wait: the snapshot follows as soon as the gate passes
sim_ctl b POST /sim/gc/speed?f=0 >/dev/null
sim_ctl b POST /sim/gc/resume >/dev/null
"$CHAINTOP" backup -c "$CONF" --job waiter --wait 60s >"$T_TMP/wait.out" 2>&1 &
bpid=$!
wait_for 10 grep -q "waiting up to 1m" "$T_TMP/wait.out" && ok "wait: waiting" || fail "wait: not waiting: $(cat "$T_TMP/wait.out")"
sleep 1
grep -q "snapshot '" "$T_TMP/wait.out" && fail "wait: snapshot before the GC ran" || ok "wait: no snapshot while the GC is stopped"
sim_ctl b POST '/sim/gc/speed?f=40' >/dev/null
gc_start=$(date +%s.%N)
wait "$bpid"; rc=$?
done_at=$(date +%s.%N)
out=$(cat "$T_TMP/wait.out")
assert_eq "wait: exit 0" "$rc" 0
assert_contains "wait: gate passed after waiting" "$out" "gate passes after"
assert_contains "wait: snapshot made" "$out" "made and tagged"
secs=$(awk -v a="$gc_start" -v b="$done_at" 'BEGIN { printf "%.1f", b - a }')
awk -v s="$secs" 'BEGIN { exit !(s < 20) }' && ok "wait: done $secs s after the GC started" || fail "wait: took $secs s after the GC started"
j=$("$CHAINTOP" report -c "$CONF" --json "$("$CHAINTOP" report -c "$CONF" --last 1 --json | jq -r '.runs[0].id')")
assert_eq "wait: item success" "$(jq -r '.run.items[0].status' <<<"$j")" success
assert_eq "wait: steps" "$(jq -r '[.run.items[0].steps[].name] | join(",")' <<<"$j")" "gate,wait,recheck,snapshot,tag"
finish
