#!/usr/bin/env bash
# Xen Orchestra's own XAPI client (the npm package xen-api) loads the simulator completely:
# it tries JSON-RPC first and falls back to XML-RPC (transports/auto.mjs), lists the classes
# with system.listMethods (empty <params/>), fetches every class, and follows event.from. The
# package is installed once under the build directory (no registry access on later runs).
source "$(dirname "$0")/../lib.sh"

XO_VERSION=4.7.6
dir="${BUILD:-$T_ROOT/build}/npm-xen-api-$XO_VERSION"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "SKIP - node and npm are not installed: scripts/deps.sh installs them (nodejs npm)"
	finish
fi
if [ ! -f "$dir/node_modules/xen-api/package.json" ]; then
	mkdir -p "$dir"
	if ! npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "xen-api@$XO_VERSION" >"$T_TMP/npm.log" 2>&1; then
		fail "npm could not install xen-api@$XO_VERSION (is the npm registry reachable?): $(tail -n 5 "$T_TMP/npm.log")"
		finish
	fi
fi
cp "$T_ROOT/tests/integration/xo_client_load.mjs" "$dir/load.mjs"

sim_start x --scenario backup --gc-speed 0 || { fail "simulator"; finish; }
URL=$SIM_URL_x
# every class the simulator lists, with its number of objects, as XML-RPC reports them
expect=$(python3 - "$URL" <<'PY'
import sys, xmlrpc.client, json
s = xmlrpc.client.ServerProxy(sys.argv[1])
h = s.session.login_with_password("root", "chaintop-demo")["Value"]
types = [m.split(".")[0] for m in s.system.listMethods() if m.endswith(".get_all_records")]
print(json.dumps({t: len(getattr(s, t).get_all(h)["Value"]) for t in types}))
PY
)
out=$(cd "$dir" && timeout 90 node load.mjs "$URL" root chaintop-demo "$expect" web01 2>&1); rc=$?
assert_eq "XO client: exit 0" "$rc" 0
assert_contains "XO client: connected" "$out" "ok connected"
for t in $(jq -r 'keys[]' <<<"$expect"); do
	assert_contains "XO client: every $t object fetched" "$out" "ok $t: $(jq -r --arg t "$t" '.[$t]' <<<"$expect") objects"
done
assert_contains "XO client: a change arrives through event.from" "$out" "ok event: the snapshot arrived"
assert_not_contains "XO client: no event fetching error" "$out" "event fetching error"
finish
