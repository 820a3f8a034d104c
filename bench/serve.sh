#!/bin/bash
# bench/serve.sh - chaintop serve on POOLS simulated pools of VMS VMs each (the simulator's
# `big` scenario, GC running): once every pool is up, SCRAPES scrapes of /metrics one after
# the other, and prints
#   - scrape latency: median and max over the scrapes (curl's time_total), with the size;
#   - /api/v1/state latency (one request) and size;
#   - serve's RSS after the scrapes, and per pool.
# The scrapes format kept samples (no XAPI call, no model lock), so their cost follows the
# number of series, not the pool sizes.
# Usage: bench/serve.sh [POOLS] [VMS] [SCRAPES]     (default 20 pools, 200 VMs, 200 scrapes)
set -u
cd "$(dirname "$0")/.."
POOLS=${1:-20}; VMS=${2:-200}; N=${3:-200}
source tests/lib.sh

# every simulator at once (a big one takes a while to build), then wait for each
for i in $(seq 1 "$POOLS"); do
	python3 tests/sim/xapi_sim.py --port 0 --scenario big --vms "$VMS" --seed "$i" --gc-speed 5 \
		>"$T_TMP/sim-$i.out" 2>"$T_TMP/sim-$i.err" &
	T_PIDS+=($!)
done
args=()
for i in $(seq 1 "$POOLS"); do
	ready() { url=$(sed -n 's/^ready //p' "$T_TMP/sim-$i.out" | head -n1); [ -n "$url" ]; }
	wait_for 900 ready || { echo "simulator $i did not start"; cat "$T_TMP/sim-$i.err"; exit 1; }
	args+=("pool-$i" "$url")
done
write_config "$T_TMP/c.conf" "${args[@]}"
"$CHAINTOP" serve -c "$T_TMP/c.conf" --listen 127.0.0.1:0 2>"$T_TMP/serve.log" &
pid=$!
T_PIDS+=("$pid")
addr=""
for _ in $(seq 1 100); do
	addr=$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$T_TMP/serve.log")
	[ -n "$addr" ] && break
	sleep 0.1
done
[ -n "$addr" ] || { echo "serve did not start"; cat "$T_TMP/serve.log"; exit 1; }
t0=$(date +%s.%N)
all_up() { [ "$(curl -sf "http://$addr/metrics" | grep -c '^chaintop_pool_up{.*} 1$')" -eq "$POOLS" ]; }
wait_for 600 all_up || { echo "not every pool came up"; exit 1; }
t1=$(date +%s.%N)
sleep 2
: >"$T_TMP/lat"
for _ in $(seq 1 "$N"); do
	curl -s -o /dev/null -w '%{time_total} %{size_download}\n' "http://$addr/metrics" >>"$T_TMP/lat"
done
st=$(curl -s -o /dev/null -w '%{time_total} %{size_download}' "http://$addr/api/v1/state")
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
series=$(curl -s "http://$addr/metrics" | grep -vc '^#')
sort -n "$T_TMP/lat" | awk -v pools="$POOLS" -v vms="$VMS" -v load="$(echo "$t1 - $t0" | bc)" \
	-v st="$st" -v rss="$rss" -v series="$series" '
	{ t[NR] = $1; size = $2 }
	END {
		printf "serve: %d pools x %d VMs, all up after %.1f s\n", pools, vms, load
		printf "/metrics: %d scrapes, median %.1f ms, max %.1f ms, %d bytes, %d series\n",
			NR, 1000 * t[int((NR + 1) / 2)], 1000 * t[NR], size, series
		split(st, s, " ")
		printf "/api/v1/state: %.1f ms, %d bytes\n", 1000 * s[1], s[2]
		printf "RSS %.1f MiB (%.2f MiB a pool)\n", rss / 1024, rss / 1024 / pools
	}'
