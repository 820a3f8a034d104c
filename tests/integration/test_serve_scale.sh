#!/bin/bash
# chaintop serve on 20 small simulated pools and one big one at once: every pool up with as
# many SRs as its simulator has; five pools killed go to up 0 and keep their series, the
# others stay up; three of them restarted on the same port come back to up 1 and data age 0;
# every scrape parses strictly (tests/prom_parse.py: typed families, escaped labels, no
# series twice) and carries every pool.
#   SCALE_BIG_VMS=N        VMs of the big pool (default 300)
#   SERVE_SOAK_SECONDS=S   then keep scraping for S seconds while the pools snapshot and
#                          coalesce, and print serve's RSS at start and end (default 0)
source "$(dirname "$0")/../lib.sh"
PARSE="$T_ROOT/tests/prom_parse.py"
NSMALL=20
BIGVMS=${SCALE_BIG_VMS:-300}

# all simulators at once, then wait for each (as sim_start does, in parallel)
sim_bg() { # NAME args...
	local name=$1; shift
	python3 "$T_ROOT/tests/sim/xapi_sim.py" --port 0 "$@" >"$T_TMP/sim-$name.out" 2>"$T_TMP/sim-$name.err" &
	T_PIDS+=($!)
	printf -v "SIM_PID_$name" '%s' "$!"
}
sim_ready() { # NAME: sets SIM_URL_NAME once the simulator printed "ready URL"
	local url
	url=$(sed -n 's/^ready //p' "$T_TMP/sim-$1.out" 2>/dev/null | head -n1)
	[ -n "$url" ] && printf -v "SIM_URL_$1" '%s' "$url"
}
for i in $(seq 1 $NSMALL); do
	sim_bg "p$i" --scenario big --vms 20 --seed "$i" --gc-speed 20
done
sim_bg big --scenario big --vms "$BIGVMS" --seed 99 --gc-speed 20
args=()
for n in $(seq -f 'p%g' 1 $NSMALL) big; do
	wait_for 60 sim_ready "$n" || { fail "simulator $n starts"; cat "$T_TMP/sim-$n.err"; finish; }
	v="SIM_URL_$n"; args+=("$([ "$n" = big ] && echo big || echo "small-${n#p}")" "${!v}")
done
write_config "$T_TMP/c.conf" "${args[@]}"
ok "21 simulators started"

"$CHAINTOP" serve -c "$T_TMP/c.conf" --listen 127.0.0.1:0 2>"$T_TMP/serve.log" &
SPID=$!
T_PIDS+=("$SPID")
addr=""
for _ in $(seq 1 100); do
	addr=$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$T_TMP/serve.log")
	[ -n "$addr" ] && break
	sleep 0.1
done
[ -n "$addr" ] || { fail "serve starts"; cat "$T_TMP/serve.log"; finish; }

# summary of one scrape: "up<TAB>pool<TAB>n_srs<TAB>data_age" lines, or "ERROR ..." when the
# exposition is not well-formed or a pool is missing
summary() {
	curl -sf "http://$addr/metrics" >"$T_TMP/m.txt" || { echo "ERROR scrape failed"; return; }
	python3 - "$PARSE" "$T_TMP/m.txt" "$T_TMP/c.conf" <<'EOF'
import sys, re, importlib.util
spec = importlib.util.spec_from_file_location("p", sys.argv[1]); p = importlib.util.module_from_spec(spec); spec.loader.exec_module(p)
try:
    s = p.parse(open(sys.argv[2]).read())
except p.ParseError as e:
    print("ERROR", e); sys.exit()
pools = re.findall(r'\{ name = "([^"]+)"', open(sys.argv[3]).read())
up = {l["pool"]: v for n, l, v in s if n == "chaintop_pool_up"}
age = {l["pool"]: v for n, l, v in s if n == "chaintop_pool_data_age_seconds"}
srs = {}
for n, l, v in s:
    if n == "chaintop_sr_size_bytes":
        srs[l["pool"]] = srs.get(l["pool"], 0) + 1
for q in pools:
    if q not in up:
        print("ERROR pool %s missing" % q)
    else:
        print("%d\t%s\t%d\t%d" % (up[q], q, srs.get(q, 0), age.get(q, -1)))
EOF
}
expect_srs() { # pool name -> SR count of its simulator
	local n=${1#small-}; [ "$1" = big ] && n=big || n="p$n"
	sim_ctl "$n" GET /sim/state | jq '.srs | length'
}
all_up() { s=$(summary); ! grep -q ERROR <<<"$s" && [ "$(awk '$1 == 1' <<<"$s" | wc -l)" -eq $((NSMALL + 1)) ]; }
if wait_for 120 all_up; then ok "all 21 pools up"; else fail "all 21 pools up"; echo "$s" | head; fi
bad=""
declare -A nsrs
while IFS=$'\t' read -r u p n a; do
	nsrs[$p]=$(expect_srs "$p")
	[ "$n" = "${nsrs[$p]}" ] || bad+=" $p($n)"
done <<<"$s"
assert_eq "every pool has its simulator's SRs" "$bad" ""

# --- five pools killed ---------------------------------------------------------------------
killed=(3 7 11 15 19)
declare -A port
for i in "${killed[@]}"; do
	v="SIM_URL_p$i"; port[$i]=${!v##*:}
	v="SIM_PID_p$i"; kill "${!v}"; wait "${!v}" 2>/dev/null
done
five_down() {
	s=$(summary)
	! grep -q ERROR <<<"$s" || return 1
	for i in "${killed[@]}"; do grep -qP "^0\tsmall-$i\t" <<<"$s" || return 1; done
	[ "$(awk '$1 == 1' <<<"$s" | wc -l)" -eq $((NSMALL + 1 - ${#killed[@]})) ]
}
if wait_for 60 five_down; then ok "the five killed pools are up 0, the 16 others up 1"; else fail "five down"; echo "$s"; fi
bad=""
while IFS=$'\t' read -r u p n a; do
	[ "$n" = "${nsrs[$p]}" ] || bad+=" $p($n)"
done <<<"$s"
assert_eq "killed pools keep their SR series" "$bad" ""

# --- three of them back on the same port -----------------------------------------------------
back=(3 7 11)
for i in "${back[@]}"; do
	sim_start "p$i" --scenario big --vms 20 --seed "$i" --gc-speed 20 --port "${port[$i]}" || fail "simulator p$i restarts"
done
three_back() {
	s=$(summary)
	! grep -q ERROR <<<"$s" || return 1
	for i in "${back[@]}"; do grep -qP "^1\tsmall-$i\t\d+\t0$" <<<"$s" || return 1; done
	for i in 15 19; do grep -qP "^0\tsmall-$i\t" <<<"$s" || return 1; done
	true
}
if wait_for 90 three_back; then ok "the restarted pools are up 1 with fresh data, the others still down"; else fail "three back"; echo "$s"; fi
assert_eq "every scrape parsed, no series twice" "$(grep -c ERROR <<<"$s")" 0

# --- optional soak -----------------------------------------------------------------------------
soak=${SERVE_SOAK_SECONDS:-0}
if [ "$soak" -gt 0 ]; then
	rss() { awk '/VmRSS/ { print $2 }' "/proc/$SPID/status"; }
	r0=$(rss); end=$((SECONDS + soak)); n=0 errs=0
	mapfile -t vms < <(sim_ctl big GET /sim/state | jq -r '.vms[] | select(.is_a_snapshot | not) | .name' | head -n 50)
	while [ $SECONDS -lt $end ]; do
		sim_ctl big POST "/sim/snapshot?vm=${vms[$((n % ${#vms[@]}))]}&name=soak-$n" >/dev/null || true
		summary | grep -q ERROR && errs=$((errs + 1))
		n=$((n + 1))
		sleep 1
	done
	echo "soak: $n scrapes over ${soak}s, RSS ${r0} kB -> $(rss) kB"
	assert_eq "soak: every scrape well-formed" "$errs" 0
fi
kill -TERM "$SPID"; wait "$SPID"; rc=$?
assert_eq "serve exits 0 on SIGTERM" "$rc" 0
finish
