#!/bin/bash
# XAPI client and watcher against the simulator: live events, SESSION_INVALID recovery,
# HOST_IS_SLAVE, a wrong password, an unreachable pool.
source "$(dirname "$0")/../lib.sh"

EV_PIDS=()
# events_start FILE CONFIG [args]: run `chaintop events` in the background, output to FILE
events_start() {
	local out=$1 conf=$2; shift 2
	"$CHAINTOP" events -c "$conf" "$@" >"$out" 2>"$out.err" &
	EV_PID=$!
	EV_PIDS+=("$EV_PID")
	T_PIDS+=("$EV_PID")
}
# events_stop PID: SIGINT, wait; sets EV_RC
events_stop() {
	kill -INT "$1" 2>/dev/null
	local i
	for i in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
	wait "$1"; EV_RC=$?
}
has_line() { grep -qE -- "$2" "$1"; }
# wait_line FILE REGEX SECONDS: wait until a line matches; prints the elapsed ms
wait_line() {
	local file=$1 re=$2 secs=$3 t0 t1
	t0=$(date +%s%N)
	while ! grep -qE -- "$re" "$file"; do
		t1=$(date +%s%N)
		if [ $(( (t1 - t0) / 1000000 )) -gt $((secs * 1000)) ]; then echo -1; return 1; fi
		sleep 0.02
	done
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000000 ))
}

sim_start A --gc-speed 50 || { fail "simulator A"; finish; }
write_config "$T_TMP/a.conf" lab "$SIM_URL_A"

# --- events: the initial load, then a snapshot taken by someone else, within a second
events_start "$T_TMP/ev1" "$T_TMP/a.conf"
ms=$(wait_line "$T_TMP/ev1" ' lab pool connected ' 30)
check "events: the pool connects and loads (${ms} ms)" [ "$ms" -ge 0 ]
assert_contains "events: the connected line counts the pool's objects" "$(cat "$T_TMP/ev1")" "VMs"
sleep 0.3
t0=$(date +%s%N)
sim_ctl A POST "/sim/snapshot?vm=web03&name=ct-snap-one" >/dev/null
ms=$(wait_line "$T_TMP/ev1" ' lab VM add ct-snap-one$' 5)
t1=$(date +%s%N)
total=$(( (t1 - t0) / 1000000 ))
if [ "$ms" -ge 0 ] && [ "$total" -lt 1000 ]; then
	ok "events: a snapshot taken through the control channel shows within a second (${total} ms)"
else
	fail "events: snapshot line took ${total} ms (limit 1000)"; sed 's/^/    | /' "$T_TMP/ev1" | tail -n 20
fi
check "events: the snapshot's disks show too" has_line "$T_TMP/ev1" ' lab VDI add '
check "events: mods of the source VM show" has_line "$T_TMP/ev1" ' lab VM mod web03$'

# --- SESSION_INVALID: every session expires; the model is kept and events keep coming
lines_before=$(wc -l <"$T_TMP/ev1")
sim_ctl A POST /sim/fault '{"kind": "expire_sessions"}' >/dev/null
sleep 0.5
sim_ctl A POST "/sim/snapshot?vm=web04&name=ct-snap-after-expiry" >/dev/null
ms=$(wait_line "$T_TMP/ev1" ' lab VM add ct-snap-after-expiry$' 20)
check "SESSION_INVALID: a new snapshot still appears in events after the sessions expired (${ms} ms)" [ "$ms" -ge 0 ]
new=$(tail -n +"$((lines_before + 1))" "$T_TMP/ev1")
dels=$(grep -c ' del ' <<<"$new")
adds=$(grep -c ' add ' <<<"$new")
if [ "$dels" -lt 10 ] && [ "$adds" -lt 30 ]; then
	ok "SESSION_INVALID: the model was kept (re-load reported $adds adds, $dels dels, not the whole pool)"
else
	fail "SESSION_INVALID: $adds adds and $dels dels after the expiry: the model looks lost"
fi
assert_not_contains "SESSION_INVALID: no reconnect was needed" "$new" "pool reconnecting"
logins=$(sim_ctl A GET /sim/calls | python3 -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin) if c["method"] == "session.login_with_password"))')
check "SESSION_INVALID: chaintop logged in again ($logins logins)" [ "$logins" -ge 2 ]
originator=$(sim_ctl A GET /sim/calls | python3 -c 'import json,sys; c=[c for c in json.load(sys.stdin) if c["method"] == "session.login_with_password"][0]; print(c["params"][3] if len(c["params"]) > 3 else "")')
assert_eq "login: originator is chaintop" "$originator" "chaintop"

# --- the deletion of a snapshot shows with its name (the model still holds the record)
sim_ctl A POST "/sim/vm/destroy?vm=ct-snap-one" >/dev/null
ms=$(wait_line "$T_TMP/ev1" ' lab VM del ct-snap-one$' 5)
check "events: a deleted snapshot is named on its del line (${ms} ms)" [ "$ms" -ge 0 ]

events_stop "$EV_PID"
assert_eq "events: SIGINT stops it cleanly" "$EV_RC" "0"
assert_eq "events: nothing on stderr but the http:// warning" "$(grep -vc "warning: .*http://" "$T_TMP/ev1.err")" "0"
calls=$(sim_ctl A GET /sim/calls)
assert_contains "events: logged out on exit" "$calls" '"session.logout"'

# --- events --pool filters, unknown pool is a usage error
out=$("$CHAINTOP" events -c "$T_TMP/a.conf" --pool nosuch 2>&1); rc=$?
check "events --pool nosuch: exit 2" [ "$rc" -eq 2 ]
assert_contains "events --pool nosuch: names the configured pools" "$out" "'lab'"

# --- HOST_IS_SLAVE: the configured host is a member; chaintop follows it to the master
sim_start M --gc-speed 50 --pool-name master-pool || fail "simulator M"
sim_start S --scenario slave --master "$SIM_URL_M" || fail "simulator S"
write_config "$T_TMP/s.conf" member "$SIM_URL_S"
events_start "$T_TMP/ev2" "$T_TMP/s.conf"
ms=$(wait_line "$T_TMP/ev2" ' member pool connected ' 30)
check "HOST_IS_SLAVE: connected through the member (${ms} ms)" [ "$ms" -ge 0 ]
assert_contains "HOST_IS_SLAVE: the connected line names the master's URL" "$(cat "$T_TMP/ev2")" "connected $SIM_URL_M:"
events_stop "$EV_PID"
if [ -x "$CHAINTOP" ] && "$CHAINTOP" tree --help >/dev/null 2>&1; then
	out=$("$CHAINTOP" tree -c "$T_TMP/s.conf" --json 2>&1); rc=$?
	check "HOST_IS_SLAVE: tree loads the master's pool (exit $rc)" [ "$rc" -eq 0 ]
	assert_contains "HOST_IS_SLAVE: tree shows the master's SRs" "$out" "nfs-vmstore"
fi
calls=$(sim_ctl M GET /sim/calls)
assert_contains "HOST_IS_SLAVE: the master got the login" "$calls" '"session.login_with_password"'

# --- a wrong password: a clear error, no retry storm
CHAINTOP_TEST_PASSWORD=wrong-password "$CHAINTOP" tree -c "$T_TMP/a.conf" >"$T_TMP/tree.out" 2>"$T_TMP/tree.err"; rc=$?
check "wrong password: tree exits non-zero ($rc)" [ "$rc" -ne 0 ]
err=$(cat "$T_TMP/tree.out" "$T_TMP/tree.err")
assert_contains "wrong password: says the user was refused" "$err" "refused user 'root'"
assert_contains "wrong password: says what to check" "$err" "password_file or password_env"
assert_not_contains "wrong password: the password is never printed" "$err" "wrong-password"
assert_not_contains "wrong password: no sanitizer report" "$err" "Sanitizer"
CHAINTOP_TEST_PASSWORD=wrong-password events_start "$T_TMP/ev3" "$T_TMP/a.conf"
ms=$(wait_line "$T_TMP/ev3" ' lab pool auth-failed ' 10)
check "wrong password: events shows auth-failed (${ms} ms)" [ "$ms" -ge 0 ]
sleep 1.5
n=$(grep -c 'auth-failed' "$T_TMP/ev3")
check "wrong password: retried slowly, not in a loop ($n lines)" [ "$n" -eq 1 ]
events_stop "$EV_PID"
assert_eq "wrong password: events still exits 0 on SIGINT" "$EV_RC" "0"

# --- an unreachable pool: reconnecting with backoff, never a hang
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
write_config "$T_TMP/dead.conf" dead "http://127.0.0.1:$port"
events_start "$T_TMP/ev4" "$T_TMP/dead.conf"
ms=$(wait_line "$T_TMP/ev4" ' dead pool reconnecting \(attempt 2' 10)
check "unreachable: reconnecting with a growing attempt count (${ms} ms)" [ "$ms" -ge 0 ]
assert_contains "unreachable: the reason names the URL" "$(cat "$T_TMP/ev4")" "127.0.0.1:$port"
t0=$(date +%s%N)
events_stop "$EV_PID"
t1=$(date +%s%N)
check "unreachable: stops promptly during backoff ($(( (t1 - t0) / 1000000 )) ms)" [ $(( (t1 - t0) / 1000000 )) -lt 2000 ]

# --- a server that accepts and never answers: cancelled promptly on stop
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16); print(s.getsockname()[1], flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' >"$T_TMP/mute.port" &
T_PIDS+=($!)
for i in $(seq 1 50); do [ -s "$T_TMP/mute.port" ] && break; sleep 0.05; done
write_config "$T_TMP/mute.conf" mute "http://127.0.0.1:$(cat "$T_TMP/mute.port")"
events_start "$T_TMP/ev5" "$T_TMP/mute.conf"
sleep 1
t0=$(date +%s%N)
events_stop "$EV_PID"
t1=$(date +%s%N)
check "silent server: a blocked call is cancelled promptly on SIGINT ($(( (t1 - t0) / 1000000 )) ms)" [ $(( (t1 - t0) / 1000000 )) -lt 2000 ]
assert_eq "silent server: exit 0" "$EV_RC" "0"

finish
