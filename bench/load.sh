#!/bin/bash
# bench/load.sh - how fast `chaintop tree --json` loads a big pool, against the time curl needs
# just to fetch the same get_all_records replies (login included, both sides).
#
#   bench/load.sh            VMS=2000 RUNS=5 by default; CHAINTOP=path to the binary
#
# Starts the simulator with --scenario big --vms $VMS, warms it up, then alternates RUNS
# measurements of: curl fetching the nine classes one after the other on one connection,
# curl fetching them in parallel (-Z), and chaintop tree --json (wall time and peak RSS via
# /usr/bin/time). Prints the best of each, the ratio chaintop / fastest raw fetch, and the
# aims (ratio <= 1.5, RSS < 200 MB).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
CHAINTOP=${CHAINTOP:-$ROOT/chaintop}
VMS=${VMS:-2000}
RUNS=${RUNS:-5}
CLASSES="pool host SR VDI VM VBD PBD task message"
TIME=/usr/bin/time

[ -x "$CHAINTOP" ] || { echo "bench/load.sh: build chaintop first (make)" >&2; exit 2; }
[ -x "$TIME" ] || { echo "bench/load.sh: needs $TIME (GNU time) for the peak RSS" >&2; exit 2; }
command -v curl >/dev/null || { echo "bench/load.sh: needs curl" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chaintop-bench.XXXXXX")
sim_pid=
cleanup() {
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

python3 tests/sim/xapi_sim.py --port 0 --scenario big --vms "$VMS" --gc-speed 0 >"$tmp/sim.out" 2>"$tmp/sim.err" &
sim_pid=$!
url=
for _ in $(seq 1 400); do
	url=$(sed -n 's/^ready //p' "$tmp/sim.out" | head -n1)
	[ -n "$url" ] && break
	sleep 0.05
done
[ -n "$url" ] || { echo "bench/load.sh: the simulator did not start:" >&2; cat "$tmp/sim.err" >&2; exit 1; }

export CHAINTOP_BENCH_PASSWORD=chaintop-demo
cat >"$tmp/chaintop.conf" <<EOF
pools = ( { name = "big"; url = "$url"; username = "root"; password_env = "CHAINTOP_BENCH_PASSWORD"; } );
state_dir = "$tmp/state";
EOF

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

login_body='<?xml version="1.0"?><methodCall><methodName>session.login_with_password</methodName><params><param><value>root</value></param><param><value>chaintop-demo</value></param><param><value>1.0</value></param><param><value>bench</value></param></params></methodCall>'

# raw_fetch MODE: log in with curl, then fetch every class (MODE seq: one connection, one
# after the other; par: in parallel). Prints elapsed ms and total bytes.
raw_fetch() {
	local mode=$1 t0 t1 s args=() first=1 c bytes
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

# chaintop_run: prints wall ms and peak RSS KiB of `chaintop tree --json`
chaintop_run() {
	local t0 t1 rss
	t0=$(now_ms)
	"$TIME" -f '%M' -o "$tmp/time" "$CHAINTOP" tree -c "$tmp/chaintop.conf" --json >"$tmp/tree.json" 2>"$tmp/tree.err" ||
		{ echo "bench/load.sh: chaintop tree failed:" >&2; cat "$tmp/tree.err" >&2; exit 1; }
	t1=$(now_ms)
	rss=$(tail -n1 "$tmp/time")
	echo "$((t1 - t0)) $rss"
}

# events_run: prints the ms `chaintop events` needs to log in and load the whole pool (the
# "pool connected" line), which is the client's share of tree's time, without the chain
# evaluation, the JSON writing and the teardown
events_run() {
	local t0 t1 pid
	t0=$(now_ms)
	"$CHAINTOP" events -c "$tmp/chaintop.conf" >"$tmp/events.out" 2>"$tmp/events.err" &
	pid=$!
	while ! grep -q ' pool connected ' "$tmp/events.out" 2>/dev/null; do
		kill -0 "$pid" 2>/dev/null || { echo "bench/load.sh: chaintop events failed:" >&2; cat "$tmp/events.err" >&2; exit 1; }
		sleep 0.005
	done
	t1=$(now_ms)
	kill -INT "$pid"
	wait "$pid"
	echo "$((t1 - t0))"
}

# warm-up: the simulator serializes records lazily and caches them
raw_fetch seq >/dev/null
chaintop_run >/dev/null

best_seq=999999 best_par=999999 best_ct=999999 best_ev=999999 max_rss=0 bytes=0
printf '%-5s %12s %12s %14s %10s %16s\n' run "curl seq ms" "curl par ms" "tree --json ms" "RSS MiB" "events load ms"
for i in $(seq 1 "$RUNS"); do
	read -r seq bytes < <(raw_fetch seq)
	read -r par _ < <(raw_fetch par)
	read -r ct rss < <(chaintop_run)
	ev=$(events_run)
	if [ -z "$seq" ] || [ -z "$par" ] || [ -z "$ct" ] || [ -z "$rss" ] || [ -z "$ev" ]; then
		echo "run $i: a measurement failed (see above); skipped"
		continue
	fi
	printf '%-5s %12s %12s %14s %10s %16s\n' "$i" "$seq" "$par" "$ct" "$((rss / 1024))" "$ev"
	[ "$seq" -lt "$best_seq" ] && best_seq=$seq
	[ "$par" -lt "$best_par" ] && best_par=$par
	[ "$ct" -lt "$best_ct" ] && best_ct=$ct
	[ "$ev" -lt "$best_ev" ] && best_ev=$ev
	[ "$rss" -gt "$max_rss" ] && max_rss=$rss
done
raw=$best_seq
[ "$best_par" -lt "$raw" ] && raw=$best_par
vdis=$(grep -o '"uuid"' "$tmp/tree.json" | wc -l)
echo
echo "pool: $VMS VMs (big scenario), $((bytes / 1000000)) MB of get_all_records XML, $vdis uuids in the JSON"
echo "raw fetch (curl, best of $RUNS): sequential ${best_seq} ms, parallel ${best_par} ms"
echo "chaintop tree --json (best of $RUNS): ${best_ct} ms, peak RSS $((max_rss / 1024)) MiB"
ratio=$(awk -v a="$best_ct" -v b="$raw" 'BEGIN { printf "%.2f", a / b }')
echo "ratio chaintop / fastest raw fetch: ${ratio}x (aim <= 1.5x); RSS aim < 200 MiB"
echo "of which login + parallel load (chaintop events until 'pool connected', best of $RUNS): ${best_ev} ms," \
	"$(awk -v a="$best_ev" -v b="$raw" 'BEGIN { printf "%.2f", a / b }')x the raw fetch;" \
	"the rest is the chain evaluation, the JSON writing and the teardown"
awk -v r="$ratio" -v m="$max_rss" 'BEGIN { exit !(r <= 1.5 && m < 200 * 1024) }' &&
	echo "load: within the aims" || echo "load: OUTSIDE the aims"
