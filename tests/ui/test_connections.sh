#!/bin/bash
# UI: connections as an operator needs them (issue 12). A master that accepts TCP and never
# answers shows as not answering within 10 s, at first contact and while watched (the event
# long-poll is the heartbeat; the long-poll itself is not taken for a hang), with when
# chaintop gives up and reconnects. A refused login waits for the operator (no retry loop)
# until R. The messages (m) keep each connection error whole; o reads one in full.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

sim_start prod --scenario demo --gc-speed 0 || { fail "simulator prod starts"; finish; }
sim_start lab --scenario coalescing --gc-speed 0 || { fail "simulator lab starts"; finish; }

HPIDS=()
# hostile NAME MODE: a hostile server in front of prod; sets H_URL_<NAME>, H_PID_<NAME>
hostile() {
	local out="$T_TMP/hostile-$1.out" i url
	python3 "$T_ROOT/tests/hostile/hostile_server.py" --upstream "$SIM_URL_prod" --mode "$2" \
		>"$out" 2>"$T_TMP/hostile-$1.err" &
	printf -v "H_PID_$1" '%s' $!
	T_PIDS+=($!)
	for i in $(seq 1 100); do
		grep -q '^ready ' "$out" && break
		sleep 0.05
	done
	read -r _ url _ <"$out"
	[ -n "$url" ] || { fail "hostile server $1 ($2) starts"; finish; }
	printf -v "H_URL_$1" '%s' "$url"
}
hostile hung hang
hostile later hang-later
write_config "$T_TMP/c.conf" later "$H_URL_later" hung "$H_URL_hung" lab "$SIM_URL_lab"

ui_start -- -c "$T_TMP/c.conf"
ui_check "the watched pool connects" "2 ok"
ui_keys 2
ui_check "Health view" "SEVERITY"
# first contact with a hung master: its login gets no reply
ui_check "a hung master is not answering within 10 s" "pool 'hung' is not answering" 10
ui_check "it says which call got no reply" "session.login_with_password got no reply"
# the long-poll is no hang: a watched pool stays connected over several of them
bad=0
for _ in $(seq 1 24); do
	ui_has "pool 'later' is not answering" && bad=1
	sleep 0.5
done
assert_eq "the event long-poll is not taken for a hang (12 s)" "$bad" "0"
ui_check "the watched pool is still up (only the hung one is down)" "1 DOWN (hung)"
# the watched master hangs
kill -USR1 "$H_PID_later"
ui_check "a watched master that hangs is not answering within 10 s" "pool 'later' is not answering" 12
line=$(ui_line "pool 'later' is not answering")
assert_contains "as UNKNOWN" "$line" "UNKNOWN"
ui_check "with when chaintop reconnects" "reconnects in "
ui_check "the header counts it as down" "2 DOWN (later, hung)"
# R drops the call a master is not answering and logs in afresh at once, rather than at
# the call's own time limit
ui_keys R
ui_keys m
ui_check "R reconnects both, the hung calls too" "reconnecting now to 2 pools"
ui_check "the dropped call is said in the messages" "the master did not answer event.from; dropped it"
ui_keys q
ui_check "q closes the messages" "chaintop |"
ui_keys q
ui_check "q closes the view" "chaintop |"
ui_keys q q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""

# a refused login waits for the operator: no retry loop, R retries
write_config "$T_TMP/c2.conf" lab "$SIM_URL_lab"
sim_ctl lab POST /sim/calls/clear >/dev/null
ui_start CHAINTOP_TEST_PASSWORD=wrong -- -c "$T_TMP/c2.conf"
ui_keys 2
ui_check "a refused login waits for the operator" "pool 'lab' waiting for you"
ui_check "and says what retries it" "no retry until you press R"
ui_check "the header says so" "lab: auth failed, WAITING FOR YOU"
logins() { sim_ctl lab GET /sim/calls | grep -o '"session.login_with_password"' | wc -l; }
n1=$(logins)
sleep 3
n2=$(logins)
assert_eq "no retry without the operator" "$n2" "$n1"
ui_keys R
ui_check "R retries" "reconnecting now to 1 pool"
for _ in $(seq 1 40); do [ "$(logins)" -gt "$n1" ] && break; sleep 0.25; done
[ "$(logins)" -gt "$n1" ] && ok "R tried the login again" || fail "R tried the login again"
# the messages keep the error whole; o reads it
ui_keys m
ui_check "the messages list the connection error" "pool 'lab' waits for you (R retries)"
ui_keys j o
ui_check "o reads the message in full" "in the pool's password_file or password_env"
ui_keys q q
ui_keys q q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""
finish
