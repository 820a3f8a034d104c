#!/bin/bash
# make demo: start two simulated pools (tests/sim/xapi_sim.py) and open chaintop on them.
# The simulators stop when the console exits. Nothing here touches a real pool.
set -eu
cd "$(dirname "$0")/.."
BIN=${CHAINTOP:-./chaintop}
dir=$(mktemp -d "${TMPDIR:-/tmp}/chaintop-demo.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

start_sim() { # name seed pool-name
	python3 tests/sim/xapi_sim.py --port 0 --scenario demo --seed "$2" --pool-name "$3" \
		>"$dir/$1.out" 2>"$dir/$1.log" &
	pids+=("$!")
}
start_sim prod 1 prod-pool
start_sim dr 2 dr-pool
url_of() {
	local i
	for i in $(seq 1 200); do
		if grep -q '^ready ' "$dir/$1.out" 2>/dev/null; then
			sed -n 's/^ready //p' "$dir/$1.out" | head -n1
			return 0
		fi
		sleep 0.05
	done
	echo "demo: the $1 simulator did not start:" >&2
	cat "$dir/$1.log" >&2
	return 1
}
prod_url=$(url_of prod)
dr_url=$(url_of dr)
export CHAINTOP_DEMO_PASSWORD=chaintop-demo
sed -e "s|@PROD_URL@|$prod_url|" -e "s|@DR_URL@|$dr_url|" -e "s|@STATE_DIR@|$dir/state|" \
	conf/demo.conf.in >"$dir/demo.conf"
echo "demo: simulated pools at $prod_url and $dr_url; starting chaintop (q quits)"
"$BIN" -c "$dir/demo.conf" "$@"
