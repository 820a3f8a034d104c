#!/bin/bash
# Hostile servers (issue 11): tests/hostile/hostile_server.py stands in front of the
# simulator and misbehaves one way per mode. Every command (tree, check, backup, prune and
# the console) must end with a clear error within its time limit, with bounded memory, and
# never talk to the pool less securely than configured: nothing may reach the plain-http
# "trap" listener the server names in its lies, and the password never travels in clear.
# Small limits in the configuration keep the run short.
source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/ui/lib_ui.sh"

RSS_MAX_KB=$((300 * 1024))
PW=$CHAINTOP_TEST_PASSWORD

command -v openssl >/dev/null || { fail "openssl is needed for this test"; finish; }
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$T_TMP/key.pem" -out "$T_TMP/cert.pem" 2>/dev/null ||
	{ fail "openssl could not make a certificate"; finish; }
FP=$(openssl x509 -in "$T_TMP/cert.pem" -noout -fingerprint -sha256 | sed 's/^.*=//')
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$T_TMP/key2.pem" -out "$T_TMP/cert2.pem" 2>/dev/null ||
	{ fail "openssl could not make a second certificate"; finish; }
FP2=$(openssl x509 -in "$T_TMP/cert2.pem" -noout -fingerprint -sha256 | sed 's/^.*=//')
sim_start b --scenario backup --gc-speed 0 || { fail "simulator"; finish; }

HOSTILE_PID=""
# hostile MODE [tls]: (re)start the hostile server; sets H_URL, TRAP_URL; empties the trap log
hostile() {
	local mode=$1 tls=() i
	[ "${2:-}" = tls ] && tls=(--tls "$T_TMP/cert.pem" "$T_TMP/key.pem"
				   --tls2 "$T_TMP/cert2.pem" "$T_TMP/key2.pem")
	hostile_stop
	: >"$T_TMP/trap.log"
	: >"$T_TMP/hostile.out"
	python3 "$T_ROOT/tests/hostile/hostile_server.py" --upstream "$SIM_URL_b" --mode "$mode" \
		--trap-log "$T_TMP/trap.log" "${tls[@]}" >"$T_TMP/hostile.out" 2>"$T_TMP/hostile.err" &
	HOSTILE_PID=$!
	T_PIDS+=("$HOSTILE_PID")
	for i in $(seq 1 100); do
		grep -q '^ready ' "$T_TMP/hostile.out" && break
		sleep 0.05
	done
	read -r _ H_URL TRAP_URL <"$T_TMP/hostile.out"
	[ -n "${H_URL:-}" ] || { fail "hostile server ($mode) did not start"; cat "$T_TMP/hostile.err"; }
}
hostile_stop() {
	if [ -n "$HOSTILE_PID" ]; then
		kill "$HOSTILE_PID" 2>/dev/null
		wait "$HOSTILE_PID" 2>/dev/null
		HOSTILE_PID=""
	fi
}

# conf [limits block] [pool extra keys]: $T_TMP/c.conf on the hostile server
conf() {
	cat >"$T_TMP/c.conf" <<EOF
pools = ( { name = "lab"; url = "$H_URL"; username = "root";
            password_env = "CHAINTOP_TEST_PASSWORD"; ${2:-} } );
state_dir = "$T_TMP/state/chaintop";
limits = { ${1:-} };
jobs = (
  { name = "snap"; pool = "lab"; vms = [ "web01" ]; mode = "snapshot"; retention = 0; },
  { name = "exp"; pool = "lab"; vms = [ "web02" ]; mode = "export"; retention = 0;
    export_dir = "$T_TMP/exports"; compression = "zstd"; }
);
EOF
}
PIN="tls = { fingerprint = \"sha256:$FP\"; };"

# run WHAT LIMIT_S chaintop-args...: run chaintop under a hard kill at LIMIT_S; sets OUT, RC.
# A crash (signal), a hang (killed), or a peak RSS over RSS_MAX_KB fails.
run() {
	local what=$1 limit=$2 rss; shift 2
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f %M -o "$T_TMP/rss" timeout -s KILL "$limit" "$CHAINTOP" "$@" \
			>"$T_TMP/out" 2>"$T_TMP/err"
		RC=$?
		rss=$(grep -E '^[0-9]+$' "$T_TMP/rss" | tail -n1)
	else   # GNU time missing: the hard kill still bounds the run; RSS is not measured
		timeout -s KILL "$limit" "$CHAINTOP" "$@" >"$T_TMP/out" 2>"$T_TMP/err"
		RC=$?
		rss=0
	fi
	OUT=$(cat "$T_TMP/out" "$T_TMP/err")
	if [ "$RC" -ge 124 ]; then
		fail "$what: killed or crashed (exit $RC)"; sed 's/^/    | /' <<<"$OUT" | head -n 20
	elif [ -z "$rss" ] || [ "$rss" -gt "$RSS_MAX_KB" ]; then
		fail "$what: peak RSS ${rss:-?} kB (limit $RSS_MAX_KB kB)"
	else
		ok "$what: exit $RC, peak RSS $rss kB"
	fi
}
trap_clean() { # what
	local log
	log=$(cat "$T_TMP/trap.log")
	assert_not_contains "$1: no plain-http request reached the trap" "$log" "HTTP/1.1"
	assert_not_contains "$1: the password was not sent in clear" "$log" "$PW"
}

# ---- endless get_all_records: the record limit, then the byte limit -------------------
hostile endless
conf 'reply_records = 20000;'
for cmd in "tree" "check" "backup --job snap --dry-run" "prune --dry-run"; do
	# shellcheck disable=SC2086
	run "endless records: $cmd" 60 $cmd -c "$T_TMP/c.conf"
	check "endless records: $cmd fails" [ "$RC" -ne 0 ]
	assert_contains "endless records: $cmd names the limit and its key" "$OUT" \
		"passed the limit of 20000 records for one reply (limits.reply_records)"
	assert_contains "endless records: $cmd names the pool and the class" "$OUT" \
		"pool 'lab'"
done
conf 'reply_bytes = "8M";'
run "endless records, byte limit: tree" 60 tree -c "$T_TMP/c.conf"
assert_contains "the byte limit names its key and the class" "$OUT" \
	"(class VM) passed the limit of 8.0 MiB for one reply (limits.reply_bytes)"

# ---- a login reply nested 180,000 deep, and a member name holding NULs -----------------
hostile deep
conf ''
for cmd in tree check; do
	run "deep nesting: $cmd" 30 $cmd -c "$T_TMP/c.conf"
	check "deep nesting: $cmd ends with an error, no crash (rc $RC)" test "$RC" -ge 1 -a "$RC" -le 3
	assert_contains "deep nesting: $cmd says why" "$OUT" "nested deeper than"
done
hostile nul-name
conf ''
run "NUL in a member name: tree" 30 tree -c "$T_TMP/c.conf"
check "NUL in a member name: tree ends without a crash (rc $RC)" [ "$RC" -le 1 ]

# ---- slow-loris: a reply at one byte a second ---------------------------------------
hostile slow-load
conf 'stall_time = "2s";'
run "slow reply: tree" 30 tree -c "$T_TMP/c.conf"
assert_contains "slow reply: tree says the reply stalled" "$OUT" \
	"to VM.get_all_records stalled: less than 2048 bytes in 2 s (limits.stall_time)"
run "slow reply: backup --dry-run" 30 backup --job snap --dry-run -c "$T_TMP/c.conf"
assert_contains "slow reply: backup says the reply stalled" "$OUT" "stalled"
hostile slow-login
conf 'stall_time = "2s";'
run "slow login: tree" 30 tree -c "$T_TMP/c.conf"
assert_contains "slow login: the login stalled" "$OUT" "to session.login_with_password stalled"

# ---- check --timeout: a load that never gets an answer; UNKNOWN in every format -------
hostile hang-load
conf ''
for fmt in text json nagios prometheus; do
	run "no answer: check --timeout 4s --format $fmt" 30 check --timeout 4s --format "$fmt" \
		-c "$T_TMP/c.conf"
	assert_eq "no answer: check --format $fmt exits UNKNOWN" "$RC" 3
	assert_contains "no answer: check --format $fmt gives the reason (pool, call, limit)" \
		"$(cat "$T_TMP/out")" \
		"the time limit of the run (check --timeout 4s) ran out while waiting for pool 'lab'"
	assert_contains "no answer: check --format $fmt names what it waited for" \
		"$(cat "$T_TMP/out")" "VM.get_all_records"
done
# no core dump can hold the password
"$CHAINTOP" check --timeout 4s -c "$T_TMP/c.conf" >/dev/null 2>&1 &
cpid=$!
T_PIDS+=("$cpid")
wait_for 5 grep -qsE "Max core file size +0 +0 " "/proc/$cpid/limits"
core=$(grep "Max core file size" "/proc/$cpid/limits" 2>/dev/null)
wait "$cpid" 2>/dev/null
check "no core dumps: RLIMIT_CORE is 0 ($core)" grep -qE 'size +0 +0 ' <<<"$core"

# ---- HOST_IS_SLAVE downgrade: an https pool, pinned -----------------------------------
hostile slave-url tls
conf '' "$PIN"
run "HOST_IS_SLAVE http://: tree" 30 tree -c "$T_TMP/c.conf"
check "HOST_IS_SLAVE http://: tree fails" [ "$RC" -ne 0 ]
assert_contains "HOST_IS_SLAVE http://: refused, naming the pool and the address" "$OUT" \
	"pool 'lab' ($H_URL) is a pool member and named '$TRAP_URL' as its master (HOST_IS_SLAVE), which is not a host address"
trap_clean "HOST_IS_SLAVE http://"
run "HOST_IS_SLAVE http://: check" 30 check -c "$T_TMP/c.conf"
assert_eq "HOST_IS_SLAVE http://: check is UNKNOWN" "$RC" 3
trap_clean "HOST_IS_SLAVE http:// (check)"

# a bare host:port is followed, keeping https and the pin: the trap sees only TLS
hostile slave-host tls
conf '' "$PIN"
run "HOST_IS_SLAVE host:port: tree" 30 tree -c "$T_TMP/c.conf"
check "HOST_IS_SLAVE host:port: tree fails" [ "$RC" -ne 0 ]
assert_contains "HOST_IS_SLAVE host:port: the master is asked over https" "$OUT" \
	"https://${TRAP_URL#http://}"
trap_clean "HOST_IS_SLAVE host:port"
check "HOST_IS_SLAVE host:port: the trap saw a TLS handshake, not HTTP" \
	grep -qE '^connection: b.\\x16\\x03' "$T_TMP/trap.log"

# the real master has its own certificate: the pin is kept across the redirect, and the
# message says why it fails and what to pin
hostile slave-tls tls
conf '' "$PIN"
run "HOST_IS_SLAVE to a master with another certificate: tree" 30 tree -c "$T_TMP/c.conf"
check "pinned pool, master with another certificate: tree fails" [ "$RC" -ne 0 ]
assert_contains "pinned pool: the message says the pin was kept across the redirect" "$OUT" \
	"named https://127.0.0.1:"
assert_contains "pinned pool: the message gives the master's fingerprint and the pin" "$OUT" \
	"fingerprint $FP2, not the pinned $FP: every host has its own certificate"
conf '' "tls = { fingerprint = \"sha256:$FP2\"; };"
run "HOST_IS_SLAVE, pool pinned to the master's certificate: tree" 30 tree -c "$T_TMP/c.conf"
check "pinned to the master's certificate: the member's certificate does not match" [ "$RC" -ne 0 ]
trap_clean "HOST_IS_SLAVE with another certificate"

# ---- redirects from https to http: XML-RPC and exports --------------------------------
hostile redirect-http tls
conf '' "$PIN"
run "redirect to http: tree" 30 tree -c "$T_TMP/c.conf"
check "redirect to http: tree fails" [ "$RC" -ne 0 ]
trap_clean "redirect to http (XML-RPC)"
hostile redirect-export tls
conf '' "$PIN"
rm -rf "$T_TMP/exports"
run "redirect to http: export backup" 60 backup --job exp -c "$T_TMP/c.conf"
check "redirect to http: the export fails" [ "$RC" -ne 0 ]
assert_contains "redirect to http: the export says it refused the redirect" "$OUT" \
	"which is not https: chaintop never leaves https for plain http"
trap_clean "redirect to http (export)"

# ---- names that would disguise themselves --------------------------------------------
hostile bidi-name
conf ''
run "bidi names: tree" 30 tree -c "$T_TMP/c.conf"
assert_eq "bidi names: tree loads" "$RC" 0
assert_contains "bidi names: the override is shown escaped" "$OUT" '\u202eevil\u200b'
check "bidi names: no raw U+202E reaches the output" \
	bash -c "! grep -q $'\\xe2\\x80\\xae' '$T_TMP/out'"

# ---- the console: the error on screen, memory bounded, a clean exit on q ---------------
hostile endless
conf 'reply_records = 20000;'
UI_COLS=260 ui_start -- -c "$T_TMP/c.conf"
ui_check "console: the limit is on screen" "limits.reply_records" 30
cpid=$(ui_tmux display -p -t "$UI_SESSION" '#{pane_pid}')
cpid=$(pgrep -P "$cpid" | head -n1)
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$cpid/status" 2>/dev/null)
check "console: peak RSS ${hwm:-?} kB under $RSS_MAX_KB kB" [ "${hwm:-999999999}" -lt "$RSS_MAX_KB" ]
ui_keys q
ui_check "console: q quits cleanly" "chaintop exited rc=0" 15

# ---- state_dir: private whatever the umask; a world-writable one refused --------------
hostile pass
conf ''
rm -rf "$T_TMP/state"
(umask 000; "$CHAINTOP" check -c "$T_TMP/c.conf" >/dev/null 2>&1)
assert_eq "umask 000: state_dir is 0700" "$(stat -c %a "$T_TMP/state/chaintop" 2>/dev/null)" 700
assert_eq "umask 000: stall.json is 0600" "$(stat -c %a "$T_TMP/state/chaintop/stall.json" 2>/dev/null)" 600
(umask 000; "$CHAINTOP" backup --job snap --dry-run -c "$T_TMP/c.conf" >/dev/null 2>&1)
assert_eq "umask 000: jobs.db is 0600" "$(stat -c %a "$T_TMP/state/chaintop/jobs.db" 2>/dev/null)" 600
chmod 0777 "$T_TMP/state/chaintop"
run "world-writable state_dir: backup --dry-run" 30 backup --job snap --dry-run -c "$T_TMP/c.conf"
check "world-writable state_dir: backup refuses" [ "$RC" -ne 0 ]
assert_contains "world-writable state_dir: the message says what to do" "$OUT" \
	"can be written by group or others (mode 0777)"
chmod 0700 "$T_TMP/state/chaintop"
ln -s "$T_TMP/elsewhere" "$T_TMP/state/chaintop/backup-snap.lock"
run "symlinked lock: backup" 30 backup --job snap -c "$T_TMP/c.conf"
check "symlinked lock: backup refuses" [ "$RC" -ne 0 ]
assert_contains "symlinked lock: the message names the lock file" "$OUT" "backup-snap.lock"
check "symlinked lock: nothing created through the link" [ ! -e "$T_TMP/elsewhere" ]

hostile_stop
finish
