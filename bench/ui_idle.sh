#!/bin/bash
# bench/ui_idle.sh - the console against a big simulated pool (default 2000 VMs), in tmux:
#   1. load time: start to the tree on screen;
#   2. idle CPU: user+system time chaintop used over IDLE seconds (default 60) with nothing
#      changing (the simulator's GC paused), from /proc/<pid>/stat;
#   3. latency: a snapshot taken through the simulator's control channel to its row on
#      screen (the console filtered on the snapshot names so the row is visible), N times.
# Usage: bench/ui_idle.sh [VMS] [IDLE_SECONDS] [SNAPSHOTS]
set -u
cd "$(dirname "$0")/.."
VMS=${1:-2000}; IDLE=${2:-60}; NSNAP=${3:-5}
source tests/lib.sh
source tests/ui/lib_ui.sh

sim_start big --scenario big --vms "$VMS" || { echo "simulator did not start"; exit 1; }
sim_ctl big POST /sim/gc/pause >/dev/null
write_config "$T_TMP/c.conf" big "$SIM_URL_big"

t0=$(date +%s.%N)
ui_start -- -c "$T_TMP/c.conf"
if ! wait_for 120 ui_has "big: connected" || ! wait_for 60 ui_has "base copy"; then echo "the tree did not load"; ui_screen; exit 1; fi
t1=$(date +%s.%N)
pane=$(ui_tmux display -p -t "$UI_SESSION" '#{pane_pid}')
pid=$(pgrep -P "$pane" | head -n1)
[ -n "$pid" ] || { echo "chaintop process not found"; exit 1; }
# let the first evaluation and any late events settle
sleep 3
tck=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
c0=$(cpu "$pid"); s0=$(date +%s.%N)
sleep "$IDLE"
c1=$(cpu "$pid"); s1=$(date +%s.%N)
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")

# snapshot -> row on screen (filtered on the coming snapshot's name, so the row shows on top)
mapfile -t names < <(sim_ctl big GET /sim/state | python3 -c '
import json, sys
s = json.load(sys.stdin)
print("\n".join(v["name"] for v in s["vms"] if not v["is_a_snapshot"] and v["power_state"] == "Running"))')
lat=()
for i in $(seq 1 "$NSNAP"); do
	vm=${names[$((i * 37 % ${#names[@]}))]}
	name="bench-snap-$i-$RANDOM"
	ui_keys Escape /
	ui_keys -l "$name"
	ui_keys Enter
	wait_for 10 ui_has "filter: $name" || { echo "filter not applied"; continue; }
	a=$(date +%s%N)
	sim_ctl big POST "/sim/snapshot?vm=$vm&name=$name" >/dev/null || { echo "snapshot of $vm failed"; continue; }
	while ! ui_screen | grep -F -- "$name" | grep -qF "snapshot,"; do
		[ $(( ($(date +%s%N) - a) / 1000000 )) -gt 20000 ] && break
		sleep 0.02
	done
	b=$(date +%s%N)
	lat+=($(( (b - a) / 1000000 )))
done
ui_keys Escape q

awk -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v s0="$s0" -v s1="$s1" -v tck="$tck" \
    -v vms="$VMS" -v rss="$rss" 'BEGIN {
	wall = s1 - s0; used = (c1 - c0) / tck;
	printf "ui_idle: big pool, %d VMs\n", vms;
	printf "  load to tree on screen      %.2f s\n", t1 - t0;
	printf "  idle CPU over %.0f s          %.2f s CPU = %.3f%% of one core\n", wall, used, 100 * used / wall;
	printf "  resident memory             %.1f MiB\n", rss / 1024;
}'
printf '  snapshot -> row on screen   '
printf '%s ms ' "${lat[@]}"
printf '\n'
sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
echo "  latency median $(sed -n "$(( (${#lat[@]} + 1) / 2 ))p" <<<"$sorted") ms, max $(tail -n1 <<<"$sorted") ms (includes ~20 ms screen polling)"
