#!/bin/bash
# The example alert rules (docs/chaintop-alerts.yml): every metric they name is a family
# chaintop writes; promtool accepts them and the scrape configuration example; and, when Prometheus is installed, a real
# Prometheus scraping `chaintop serve` every second with the rules (their `for:` set to 0)
# fires each alert on the matching simulated fault: a pool killed, a chain too deep, a GC
# out of space, a GC stalled, a backup job that never succeeded.
source "$(dirname "$0")/../lib.sh"
RULES="$T_ROOT/docs/chaintop-alerts.yml"

# --- names: every chaintop_* name in an expr is a family of src/output/metrics.c ------------
missing=$(python3 - "$RULES" "$T_ROOT/src/output/metrics.c" <<'EOF'
import re, sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))
fams = set(re.findall(r'\{ "(chaintop_[a-z_]+)", "', open(sys.argv[2]).read()))
bad = []
n = 0
for g in rules["groups"]:
    for r in g["rules"]:
        n += 1
        for name in re.findall(r"\bchaintop_[a-z_]+", r["expr"]):
            if name not in fams:
                bad.append("%s: %s" % (r["alert"], name))
        for k in ("summary", "description"):
            if k not in r.get("annotations", {}):
                bad.append("%s: no %s" % (r["alert"], k))
print("\n".join(bad) if bad else "ok %d rules" % n)
EOF
)
assert_contains "every rule names existing metric families and has a summary" "$missing" "ok "
if command -v promtool >/dev/null; then
	assert_contains "promtool check rules" "$(promtool check rules "$RULES" 2>&1)" "SUCCESS"
	# the scrape configuration example, with the rules where this checkout has them
	sed "s|/etc/prometheus/chaintop-alerts.yml|$RULES|" "$T_ROOT/docs/prometheus-chaintop.yml" >"$T_TMP/example.yml"
	assert_contains "promtool check config on the example" "$(promtool check config "$T_TMP/example.yml" 2>&1)" "SUCCESS: $T_TMP/example.yml is valid"
else
	echo "promtool not installed: the rules were checked by the parser only"
fi
if ! command -v prometheus >/dev/null; then
	echo "prometheus not installed: the alerts are not fired against the simulator"
	finish
fi

# --- the faults --------------------------------------------------------------------------
sim_start deep --scenario deep || { fail "simulator deep"; finish; }
sim_start stall --scenario coalescing --seed 21 --gc-speed 2 || { fail "simulator stall"; finish; }
sim_ctl stall POST /sim/gc/pause >/dev/null
sim_start space --scenario coalescing --seed 22 --gc-speed 40 || { fail "simulator space"; finish; }
# nfs-01 full before its GC merges anything: SM posts SM_GC_NO_SPACE
sim_ctl space POST "/sim/sr/free?sr=nfs-01&bytes=1000000" >/dev/null
sim_start gone --scenario coalescing --seed 23 || { fail "simulator gone"; finish; }
sim_start b --scenario backup --gc-speed 0 || { fail "simulator backup"; finish; }
CONF_EXTRA='health = { stall_after = "2s"; };
jobs = ( { name = "stacked"; pool = "backup-lab"; vms = [ "stacked-vm" ]; retention = 0; } );' \
	write_config "$T_TMP/c.conf" deep-lab "$SIM_URL_deep" stall-lab "$SIM_URL_stall" \
	space-lab "$SIM_URL_space" gone-lab "$SIM_URL_gone" backup-lab "$SIM_URL_b"
"$CHAINTOP" backup -c "$T_TMP/c.conf" --job stacked >"$T_TMP/backup.out" 2>&1

"$CHAINTOP" serve -c "$T_TMP/c.conf" --listen 127.0.0.1:0 2>"$T_TMP/serve.log" &
T_PIDS+=($!)
addr=""
for _ in $(seq 1 100); do
	addr=$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$T_TMP/serve.log")
	[ -n "$addr" ] && break
	sleep 0.1
done
[ -n "$addr" ] || { fail "serve starts"; cat "$T_TMP/serve.log"; finish; }
gone_up() { curl -sf "http://$addr/metrics" | grep -q '^chaintop_pool_up{pool="gone-lab"} 1$'; }
wait_for 30 gone_up || fail "pool gone-lab up before it is killed"
kill "$SIM_PID_gone"

# --- Prometheus, scraping every second, rules without their waits -------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -E 's/^( *)for: .*/\1for: 0s/' "$RULES" >"$T_TMP/rules.yml"
cat >"$T_TMP/prom.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $T_TMP/rules.yml
scrape_configs:
  - job_name: chaintop
    static_configs:
      - targets: ["$addr"]
EOF
prometheus --config.file="$T_TMP/prom.yml" --storage.tsdb.path="$T_TMP/tsdb" \
	--web.listen-address="127.0.0.1:$port" >"$T_TMP/prom.log" 2>&1 &
T_PIDS+=($!)
firing() { # ALERT [label=value]: the alert fires (with that label)
	curl -sf "http://127.0.0.1:$port/api/v1/alerts" | python3 -c '
import json, sys
want, lab = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
d = json.load(sys.stdin)
sys.exit(0 if any(a["labels"].get("alertname") == want and a["state"] == "firing" and
                  all(a["labels"].get(k) == v for k, v in lab.items())
                  for a in d["data"]["alerts"]) else 1)' "$@"
}
scraped() { curl -sf "http://127.0.0.1:$port/api/v1/query?query=up" | grep -q '"value":\[[0-9.]*,"1"\]'; }
if wait_for 60 scraped; then ok "Prometheus scrapes chaintop serve"; else fail "Prometheus scrapes chaintop serve"; tail -5 "$T_TMP/prom.log"; finish; fi
check "ChaintopPoolDown fires for the killed pool" wait_for 60 firing ChaintopPoolDown pool=gone-lab
check "ChaintopChainDepth fires on the deep chains" wait_for 30 firing ChaintopChainDepth pool=deep-lab
check "ChaintopGCNoSpace fires on the full SR" wait_for 60 firing ChaintopGCNoSpace pool=space-lab sr=nfs-01
check "ChaintopGCStalled fires on the paused GC" wait_for 60 firing ChaintopGCStalled pool=stall-lab
check "ChaintopBackupMissing fires for the job that never succeeded" wait_for 30 firing ChaintopBackupMissing job_name=stacked
if [ "$T_FAILED" -gt 0 ]; then
	curl -sf "http://$addr/metrics" | grep -E '^chaintop_(job|sr_gc_no_space|problems\{pool="space)' | grep -v ' 0$' | head -20
	cat "$T_TMP/backup.out"
fi
if firing ChaintopPoolDown pool=deep-lab; then fail "a live pool is not down"; else ok "no PoolDown for a live pool"; fi
finish
