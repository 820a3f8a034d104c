# tests/lib.sh - helpers for the shell integration and UI tests. Source it.
#   sim_start NAME [simulator args...]   starts a simulator; sets SIM_URL_<NAME>, SIM_PID_<NAME>
#   write_config FILE POOLNAME URL [extra pool keys]   a config using password_env
#   sim_ctl NAME METHOD PATH [JSON]      the simulator's control channel; sim_ctl_many: many calls
#   ok "what" / fail "what"               record a result; finish prints "N passed, M failed"
#   assert_contains "what" HAYSTACK NEEDLE, assert_not_contains, assert_eq
#   wait_for SECONDS command...          poll until the command succeeds
#   next_second                          wait for the clock's next second (new time stamps)
set -u
T_PASSED=0; T_FAILED=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/chaintop-t.XXXXXX")
T_PIDS=()
: "${CHAINTOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/chaintop}"
T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CHAINTOP_TEST_PASSWORD=chaintop-demo
export XDG_STATE_HOME="$T_TMP/state" XDG_CONFIG_HOME="$T_TMP/config"
unset CHAINTOP_CONFIG

t_cleanup() {
	local p
	for p in "${T_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${T_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT

ok()   { T_PASSED=$((T_PASSED + 1)); echo "ok - $*"; }
fail() { T_FAILED=$((T_FAILED + 1)); echo "FAIL - $*"; }
check() { # "what" command...: ok when the command succeeds
	local what=$1; shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
assert_contains() {
	if grep -qF -- "$3" <<<"$2"; then ok "$1"; else fail "$1: expected to find [$3] in:"; sed 's/^/    | /' <<<"$2" | head -n 40; fi
}
assert_not_contains() {
	if grep -qF -- "$3" <<<"$2"; then fail "$1: did not expect [$3] in:"; sed 's/^/    | /' <<<"$2" | head -n 40; else ok "$1"; fi
}
assert_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected [$3], got [$2]"; fi
}
finish() {
	echo "$T_PASSED passed, $T_FAILED failed"
	[ "$T_FAILED" -eq 0 ]
	exit $?
}

# sim_start NAME args...: start tests/sim/xapi_sim.py on a free port, wait for "ready URL".
sim_start() {
	local name=$1; shift
	local out="$T_TMP/sim-$name.out" i url=""
	python3 "$T_ROOT/tests/sim/xapi_sim.py" --port 0 "$@" >"$out" 2>"$T_TMP/sim-$name.err" &
	local pid=$!
	T_PIDS+=("$pid")
	for i in $(seq 1 200); do
		url=$(sed -n 's/^ready //p' "$out" | head -n1)
		[ -n "$url" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$url" ]; then
		echo "simulator $name did not start:" >&2; cat "$T_TMP/sim-$name.err" >&2
		return 1
	fi
	printf -v "SIM_URL_$name" '%s' "$url"
	printf -v "SIM_PID_$name" '%s' "$pid"
}

# sim_ctl NAME METHOD PATH [JSON body]: the simulator's control channel (/sim/...)
sim_ctl() {
	local var="SIM_URL_$1"; local url=${!var}
	if [ $# -ge 4 ]; then
		curl -skf -X "$2" -H 'Content-Type: application/json' --data "$4" "$url$3"
	else
		curl -skf -X "$2" "$url$3"
	fi
}

# sim_ctl_many NAME METHOD PATH: one control call per JSON body read from stdin (one a line),
# all through one curl and one connection: hundreds of calls cost a fraction of a second
sim_ctl_many() {
	local var="SIM_URL_$1" body first=1
	local url=${!var}
	while IFS= read -r body; do
		[ $first -eq 1 ] || echo next
		first=0
		body=${body//\\/\\\\}
		printf 'url = "%s"\nrequest = "%s"\nheader = "Content-Type: application/json"\ndata = "%s"\noutput = "/dev/null"\n' \
			"$url$3" "$2" "${body//\"/\\\"}"
	done | curl -skf --fail-early -K -
}

# write_config FILE then pool entries as "name url" pairs; $CONF_EXTRA (if set) is appended
write_config() {
	local file=$1; shift
	{
		echo "pools = ("
		local first=1
		while [ $# -ge 2 ]; do
			[ $first -eq 0 ] && echo ","
			first=0
			printf '  { name = "%s"; url = "%s"; username = "root"; password_env = "CHAINTOP_TEST_PASSWORD"; }' "$1" "$2"
			shift 2
		done
		echo ");"
		echo "state_dir = \"$T_TMP/state/chaintop\";"
		printf '%s\n' "${CONF_EXTRA:-}"
	} >"$file"
}

# wait_for SECONDS command...: retry until the command succeeds. The pause between tries
# grows from 50 ms to 200 ms: a condition met at once is seen at once; never longer, or a
# short-lived state (an export's .part file) could fall between two tries.
wait_for() {
	local secs=$1; shift
	local end=$((SECONDS + secs)) ms=50
	while [ $SECONDS -lt $end ]; do
		"$@" && return 0
		sleep "0.$(printf '%03d' "$ms")"
		ms=$((ms * 3 / 2)); [ $ms -gt 200 ] && ms=200
	done
	"$@"   # once more at the deadline: the last pause counts too
}

# next_second: wait until the clock reaches the next second (chaintop stamps snapshot and file
# names to the second: two runs need two stamps), instead of a fixed sleep of a second or more
next_second() {
	local s=$EPOCHSECONDS
	while [ "$EPOCHSECONDS" -eq "$s" ]; do sleep 0.05; done
}
