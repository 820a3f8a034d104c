#!/bin/bash
# bench/load.sh - how fast `chaintop tree --json` loads a big pool, against the time curl needs
# just to download the same get_all_records replies (login included, both sides).
#
#   bench/load.sh                 VMS="500 2000 8000" RUNS=5; CHAINTOP=path to the binary
#   BASELINE=path/to/old/chaintop bench/load.sh    also runs that binary, paired with CHAINTOP
#
# The replies come from bench/replay_server.py, which serves them from memory at loopback
# speed: they are recorded once per pool size from the simulator (--scenario big --vms N)
# into $CHAINTOP_BENCH_CACHE (default ~/.cache/chaintop-bench; REC=1 records again). Each
# run then downloads the nine classes with nine parallel curls (-Z) and one after the other
# on one connection, and runs chaintop tree --json under /usr/bin/time (wall, user+system
# CPU, peak RSS) and `chaintop events` until the pool is loaded (login and load alone).
# Prints every run, then the median and the min-max spread of each figure and of the ratio
# chaintop / parallel curl taken run by run (aim: <= 2x). Benchmarks assert
# nothing: the machine may be shared, so compare ratios and medians, not single times.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
CHAINTOP=${CHAINTOP:-$ROOT/chaintop}
BASELINE=${BASELINE:-}
SIZES=${VMS:-500 2000 8000}
RUNS=${RUNS:-5}
CACHE=${CHAINTOP_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chaintop-bench}
CLASSES="pool host SR VDI VM VBD PBD task message"
TIME=/usr/bin/time

[ -x "$CHAINTOP" ] || { echo "bench/load.sh: build chaintop first (make)" >&2; exit 2; }
[ -z "$BASELINE" ] || [ -x "$BASELINE" ] || { echo "bench/load.sh: BASELINE=$BASELINE is not executable" >&2; exit 2; }
[ -x "$TIME" ] || { echo "bench/load.sh: needs $TIME (GNU time)" >&2; exit 2; }
command -v curl >/dev/null || { echo "bench/load.sh: needs curl" >&2; exit 2; }
mkdir -p "$CACHE" || exit 2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chaintop-bench.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# start_bg NAME CMD...: runs CMD, waits for its "ready URL" line, sets $url
start_bg() {
	local name=$1
	shift
	"$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pids+=($!)
	url=
	local t_end=$(( $(date +%s) + 900 ))   # the simulator builds an 8000-VM pool slowly
	while [ "$(date +%s)" -lt "$t_end" ]; do
		url=$(sed -n 's/^ready //p' "$tmp/$name.out" | head -n1)
		[ -n "$url" ] && return 0
		kill -0 "${pids[-1]}" 2>/dev/null || break
		sleep 0.05
	done
	echo "bench/load.sh: $name did not start:" >&2
	cat "$tmp/$name.err" >&2
	exit 1
}

stop_bg() {
	kill "${pids[-1]}" 2>/dev/null
	wait "${pids[-1]}" 2>/dev/null
	unset 'pids[-1]'
}

export CHAINTOP_BENCH_PASSWORD=chaintop-demo
write_conf() {
	cat >"$tmp/chaintop.conf" <<EOF
pools = ( { name = "big"; url = "$1"; username = "root"; password_env = "CHAINTOP_BENCH_PASSWORD"; } );
state_dir = "$tmp/state";
EOF
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

login_body='<?xml version="1.0"?><methodCall><methodName>session.login_with_password</methodName><params><param><value>root</value></param><param><value>chaintop-demo</value></param><param><value>1.0</value></param><param><value>bench</value></param></params></methodCall>'

# raw_fetch MODE: log in with curl, then fetch every class (MODE seq: one connection, one
# after the other; par: nine in parallel). Prints elapsed ms and total bytes.
raw_fetch() {
	local mode=$1 t0 t1 s args=() first=1 c bytes
	rm -f "$tmp"/raw_*
	t0=$(now_ms)
	s=$(curl -s -H 'Content-Type: text/xml' --data-binary "$login_body" "$url/" |
	    grep -o 'OpaqueRef:[0-9a-fA-F-]*' | head -n1)
	for c in $CLASSES; do
		printf '<?xml version="1.0"?><methodCall><methodName>%s.get_all_records</methodName><params><param><value>%s</value></param></params></methodCall>' \
			"$c" "$s" >"$tmp/req_$c"
		[ $first -eq 1 ] || args+=(--next)
		first=0
		args+=(-s -o "$tmp/raw_$c" -H 'Content-Type: text/xml' --data-binary "@$tmp/req_$c" "$url/")
	done
	if [ "$mode" = par ]; then
		curl -Z --parallel-max 9 "${args[@]}" 2>/dev/null
	else
		curl "${args[@]}"
	fi
	t1=$(now_ms)
	bytes=$(cat "$tmp"/raw_* | wc -c)
	echo "$((t1 - t0)) $bytes"
}

# chaintop_run BINARY: prints wall ms, CPU ms (user + system) and peak RSS KiB of tree --json
chaintop_run() {
	local wall usr sys rss
	"$TIME" -f '%e %U %S %M' -o "$tmp/time" "$1" tree -c "$tmp/chaintop.conf" --json \
		>"$tmp/tree.json" 2>"$tmp/tree.err" ||
		{ echo "bench/load.sh: chaintop tree failed:" >&2; cat "$tmp/tree.err" >&2; exit 1; }
	read -r wall usr sys rss <"$tmp/time"
	awk -v w="$wall" -v u="$usr" -v s="$sys" -v r="$rss" \
		'BEGIN { printf "%d %d %d\n", w * 1000 + 0.5, (u + s) * 1000 + 0.5, r }'
}

# events_run: prints the ms `chaintop events` needs to log in and load the whole pool (the
# "pool connected" line): the client's share of tree's time, without the chain evaluation
# and the JSON writing; "-" when it did not get there within a minute
events_run() {
	local t0 t1 pid t_end
	t0=$(now_ms)
	t_end=$((t0 + 60000))
	"$CHAINTOP" events -c "$tmp/chaintop.conf" >"$tmp/events.out" 2>"$tmp/events.err" &
	pid=$!
	while ! grep -q ' pool connected ' "$tmp/events.out" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null || [ "$(now_ms)" -gt "$t_end" ]; then
			kill -INT "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			echo -
			return
		fi
		sleep 0.005
	done
	t1=$(now_ms)
	kill -INT "$pid"
	wait "$pid"
	echo "$((t1 - t0))"
}

# record VMS FILE: the replies of the simulator's big pool, through the recording proxy
record() {
	local vms=$1 file=$2 sim_url
	echo "recording the replies of a $vms-VM pool into $file ..." >&2
	start_bg sim python3 tests/sim/xapi_sim.py --port 0 --scenario big --vms "$vms" --gc-speed 0
	sim_url=$url
	start_bg rec python3 bench/replay_server.py --port 0 --upstream "$sim_url" --save "$file.tmp"
	write_conf "$url"
	raw_fetch seq >/dev/null
	chaintop_run "$CHAINTOP" >/dev/null
	events_run >/dev/null
	curl -s -X POST "$url/replay/save" >/dev/null && mv "$file.tmp" "$file" ||
		{ echo "bench/load.sh: could not save the recording" >&2; exit 1; }
	stop_bg
	stop_bg
}

# stats: reads numbers, prints "median (min-max)"
stats() {
	sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%g (%g-%g)\n", m, v[1], v[NR] }'
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for VMS in $SIZES; do
	file=$CACHE/replay-big-$VMS.v2.pickle
	if [ "${REC:-0}" = 1 ] || [ ! -s "$file" ]; then
		record "$VMS" "$file"
	fi
	start_bg replay python3 bench/replay_server.py --port 0 --load "$file"
	write_conf "$url"
	# warm-up: page cache, the server's first connections
	raw_fetch par >/dev/null
	chaintop_run "$CHAINTOP" >/dev/null
	: >"$tmp/runs"
	: >"$tmp/events"
	echo
	printf '%-4s %9s %9s %9s %9s %8s %7s %9s' run "curl par" "curl seq" "tree ms" "CPU ms" "RSS MiB" ratio "events"
	[ -n "$BASELINE" ] && printf ' %9s %9s %8s %7s %9s' "base ms" "base CPU" "base MiB" ratio "new/base"
	echo
	for i in $(seq 1 "$RUNS"); do
		read -r par bytes < <(raw_fetch par)
		read -r seq _ < <(raw_fetch seq)
		read -r ct cpu rss < <(chaintop_run "$CHAINTOP")
		line="$i $par $seq $ct $cpu $((rss / 1024)) $(awk -v a="$ct" -v b="$par" 'BEGIN { printf "%.2f", a / b }')"
		if [ -n "$BASELINE" ]; then
			read -r bct bcpu brss < <(chaintop_run "$BASELINE")
			line="$line $bct $bcpu $((brss / 1024)) $(awk -v a="$bct" -v b="$par" 'BEGIN { printf "%.2f", a / b }')"
			line="$line $(awk -v a="$ct" -v b="$bct" 'BEGIN { printf "%.2f", a / b }')"
		fi
		ev=$(events_run)
		echo "$line" >>"$tmp/runs"
		[ "$ev" = - ] || echo "$ev" >>"$tmp/events"
		# shellcheck disable=SC2086
		set -- $line
		printf '%-4s %9s %9s %9s %9s %8s %7s %9s' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$ev"
		shift 7
		[ $# -gt 0 ] && printf ' %9s %9s %8s %7s %9s' "$@"
		echo
	done
	stop_bg
	col() { awk -v c="$1" '{ print $c }' "$tmp/runs" | stats; }
	echo "pool: $VMS VMs (big scenario), $((bytes / 1000000)) MB of get_all_records XML; medians (min-max) of $RUNS runs:"
	echo "  curl, 9 in parallel: $(col 2) ms; one after the other: $(col 3) ms"
	echo "  chaintop tree --json: wall $(col 4) ms, CPU $(col 5) ms, peak RSS $(col 6) MiB"
	echo "  ratio tree --json / parallel curl: $(col 7)x (aim <= 2x)"
	echo "  of which login and load (chaintop events until 'pool connected'): $(stats <"$tmp/events") ms"
	if [ -n "$BASELINE" ]; then
		echo "  baseline tree --json: wall $(col 8) ms, CPU $(col 9) ms, peak RSS $(col 10) MiB, ratio $(col 11)x"
		echo "  new / baseline wall, paired: $(col 12)x"
	fi
done
