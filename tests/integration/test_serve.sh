#!/bin/bash
# chaintop serve against two simulated pools: /metrics parsed strictly (tests/prom_parse.py)
# in both formats, figures checked against the simulator's state and against `check`, job
# metrics from backups run while it serves, a killed pool going to up 0 with its last
# figures kept, bearer authentication, /api/v1/state as JSON, the HTTP errors, HTTPS, and
# the simulators' call logs showing no call that changes a pool.
source "$(dirname "$0")/../lib.sh"
PARSE="$T_ROOT/tests/prom_parse.py"

sim_start co --scenario coalescing --gc-speed 2 || { fail "simulator (coalescing) starts"; finish; }
sim_ctl co POST /sim/gc/pause >/dev/null
sim_start b --scenario backup --gc-speed 0 || { fail "simulator (backup) starts"; finish; }
EXP="$T_TMP/exports"
mkdir -p "$EXP"
umask 077
printf 's3cret-token\n' >"$T_TMP/token"
CONF_EXTRA="serve = { auth = { type = \"bearer\"; token_file = \"$T_TMP/token\"; }; };
jobs = (
  { name = \"exp\"; pool = \"backup-lab\"; vms = [ \"web02\" ]; mode = \"export\"; retention = 1;
    export_dir = \"$EXP\"; compression = \"zstd\"; },
  { name = \"stacked\"; pool = \"backup-lab\"; vms = [ \"stacked-vm\" ]; retention = 0; }
);" write_config "$T_TMP/c.conf" coalesce-lab "$SIM_URL_co" backup-lab "$SIM_URL_b"

# serve_start NAME CONFIG [args]: sets ADDR_<NAME>, PID_<NAME> (address from the log)
serve_start() {
	local name=$1 conf=$2; shift 2
	local log="$T_TMP/serve-$name.log" addr="" i
	"$CHAINTOP" serve -c "$conf" --listen 127.0.0.1:0 "$@" 2>"$log" &
	local pid=$!
	T_PIDS+=("$pid")
	for i in $(seq 1 100); do
		addr=$(sed -n 's/.*listening on https\{0,1\}:\/\/\([^ ]*\).*/\1/p' "$log" | head -n1)
		[ -n "$addr" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	printf -v "ADDR_$name" '%s' "$addr"
	printf -v "PID_$name" '%s' "$pid"
	[ -n "$addr" ]
}
AUTH=(-H "Authorization: Bearer s3cret-token")
scrape() { curl -sf "${AUTH[@]}" "http://$ADDR_s/metrics"; }
# value SERIES-SELECTOR: python over the parsed samples of the last scrape in $T_TMP/m.txt
sel() { # NAME [k=v ...]: prints the matching samples' values, one a line
	python3 - "$PARSE" "$T_TMP/m.txt" "$@" <<'EOF'
import sys, importlib.util
spec = importlib.util.spec_from_file_location("p", sys.argv[1]); p = importlib.util.module_from_spec(spec); spec.loader.exec_module(p)
s = p.parse(open(sys.argv[2]).read())
name, want = sys.argv[3], dict(a.split("=", 1) for a in sys.argv[4:])
for n, l, v in s:
    if n == name and all(l.get(k) == x for k, x in want.items()):
        print("%.17g" % v)
EOF
}
fresh() { scrape >"$T_TMP/m.txt"; }
up_is() { fresh && [ "$(sel chaintop_pool_up pool="$1")" = "$2" ]; }

serve_start s "$T_TMP/c.conf" || { fail "serve starts"; cat "$T_TMP/serve-s.log"; finish; }
ok "serve starts and prints its address"
if wait_for 30 up_is coalesce-lab 1 && wait_for 30 up_is backup-lab 1; then ok "both pools up"; else fail "both pools up"; cat "$T_TMP/m.txt" | head -20; fi

# --- authentication ----------------------------------------------------------------------
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
assert_eq "no token: 401" "$(code "http://$ADDR_s/metrics")" 401
assert_eq "wrong token: 401" "$(code -H 'Authorization: Bearer s3cret-tokem' "http://$ADDR_s/metrics")" 401
assert_eq "token with a suffix: 401" "$(code -H 'Authorization: Bearer s3cret-token2' "http://$ADDR_s/metrics")" 401
assert_contains "401 names the scheme" "$(curl -si "http://$ADDR_s/metrics")" 'WWW-Authenticate: Bearer realm="chaintop"'
assert_eq "right token: 200" "$(code "${AUTH[@]}" "http://$ADDR_s/metrics")" 200

# --- the exposition, strictly --------------------------------------------------------------
fresh
assert_contains "text format parses" "$(python3 "$PARSE" "$T_TMP/m.txt")" "ok "
ctype=$(curl -s -o /dev/null -w '%{content_type}' "${AUTH[@]}" "http://$ADDR_s/metrics")
assert_eq "text format content type" "$ctype" "text/plain; version=0.0.4; charset=utf-8"
curl -sf "${AUTH[@]}" -H 'Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' \
	-D "$T_TMP/om.h" "http://$ADDR_s/metrics" >"$T_TMP/om.txt"
assert_contains "OpenMetrics when asked: content type" "$(cat "$T_TMP/om.h")" "application/openmetrics-text; version=1.0.0"
assert_contains "OpenMetrics parses (ends with # EOF)" "$(python3 "$PARSE" --openmetrics "$T_TMP/om.txt")" "ok "

# --- figures against the simulator and against check ---------------------------------------
state=$(sim_ctl co GET /sim/state)
bad=0
while IFS=$'\t' read -r name size used; do
	[ "$(sel chaintop_sr_size_bytes pool=coalesce-lab sr="$name")" = "$size" ] || { bad=1; echo "size of $name"; }
	[ "$(sel chaintop_sr_used_bytes pool=coalesce-lab sr="$name")" = "$used" ] || { bad=1; echo "used of $name"; }
done < <(jq -r '.srs[] | [.name, .physical_size, .physical_utilisation] | @tsv' <<<"$state")
assert_eq "SR size and used bytes as the simulator has them" "$bad" 0
assert_eq "deepest chain on nfs-01" "$(sel chaintop_sr_chain_depth_max pool=coalesce-lab sr=nfs-01)" 4
"$CHAINTOP" check -c "$T_TMP/c.conf" --pool coalesce-lab --format json >"$T_TMP/check.json" 2>/dev/null
assert_eq "pending coalesce as check counts it" "$(sel chaintop_sr_vdis_pending_coalesce pool=coalesce-lab sr=nfs-01)" \
	"$(jq '.pools[0].srs[] | select(.name == "nfs-01") | .pending' "$T_TMP/check.json")"
assert_eq "pool severity WARNING (check status)" "$(sel chaintop_pool_severity pool=coalesce-lab)" 1
assert_eq "stacked problem counted by kind" "$(sel chaintop_problems pool=coalesce-lab kind=stacked severity=warning)" 1
assert_eq "the refused VM has its problem series" "$(sel chaintop_problem pool=coalesce-lab vm=stacked-vm kind=stacked)" 1
assert_eq "work left on nfs-01 is measured" "$( [ "$(sel chaintop_sr_coalesce_work_bytes pool=coalesce-lab sr=nfs-01)" -gt 0 ] && echo yes)" yes

# a live change: the SR shrinks on the pool, the next scrape shows it
sim_ctl co POST "/sim/sr/free?sr=nfs-01&bytes=1000000000" >/dev/null
shrunk() { fresh && [ "$(sel chaintop_sr_free_bytes pool=coalesce-lab sr=nfs-01)" = 1000000000 ]; }
check "SR free space follows the pool's events" wait_for 20 shrunk

# --- job metrics from the history, read while serving ---------------------------------------
"$CHAINTOP" backup -c "$T_TMP/c.conf" --job exp >"$T_TMP/b1.out" 2>&1 || true
"$CHAINTOP" backup -c "$T_TMP/c.conf" --job stacked >"$T_TMP/b2.out" 2>&1 || true
jobs_in() { fresh && [ -n "$(sel chaintop_job_last_run_status job_name=stacked)" ] && [ -n "$(sel chaintop_job_last_run_status job_name=exp)" ]; }
check "job metrics appear after the runs" wait_for 40 jobs_in
assert_eq "exp: last run succeeded" "$(sel chaintop_job_last_run_status job_name=exp kind=backup pool=backup-lab status=success)" 1
assert_eq "exp: one item ok" "$(sel chaintop_job_last_run_items job_name=exp result=ok)" 1
assert_eq "exp: bytes exported > 0" "$( [ "$(sel chaintop_job_last_run_exported_bytes job_name=exp)" -gt 0 ] && echo yes)" yes
assert_eq "exp: last success timestamp set" "$( [ "$(sel chaintop_job_last_success_timestamp_seconds job_name=exp)" -gt 1000000000 ] && echo yes)" yes
assert_eq "web02: last backup success per VM" "$( [ "$(sel chaintop_vm_last_backup_success_timestamp_seconds job_name=exp vm=web02)" -gt 1000000000 ] && echo yes)" yes
assert_eq "stacked: the refused VM counted as skipped" "$(sel chaintop_job_last_run_items job_name=stacked result=skipped)" 1
assert_eq "stacked: no success recorded" "$(sel chaintop_job_last_success_timestamp_seconds job_name=stacked)" ""

# --- /api/v1/state, /healthz and the HTTP errors ----------------------------------------------
curl -sf "${AUTH[@]}" "http://$ADDR_s/api/v1/state" >"$T_TMP/state.json"
assert_eq "state: valid JSON with both pools" "$(jq -r '[.pools[].name] | sort | join(",")' "$T_TMP/state.json")" "backup-lab,coalesce-lab"
assert_eq "state: the SRs of the pool" "$(jq '.pools[] | select(.name == "coalesce-lab") | .srs | length' "$T_TMP/state.json")" \
	"$(jq '.srs | length' <<<"$state")"
"$CHAINTOP" tree -c "$T_TMP/c.conf" --pool coalesce-lab --json 2>/dev/null >"$T_TMP/tree.json"
assert_eq "state: same VDIs as tree --json" \
	"$(jq -c '[.pools[] | select(.name == "coalesce-lab") | .srs[].vdis[].uuid] | sort' "$T_TMP/state.json")" \
	"$(jq -c '[.pools[0].srs[].vdis[].uuid] | sort' "$T_TMP/tree.json")"
assert_contains "healthz" "$(curl -sf "${AUTH[@]}" "http://$ADDR_s/healthz")" "ok: 2 of 2 pools connected"
assert_eq "unknown path: 404" "$(code "${AUTH[@]}" "http://$ADDR_s/nope")" 404
assert_eq "POST: 405" "$(code "${AUTH[@]}" -X POST "http://$ADDR_s/metrics")" 405
assert_contains "405 says what is allowed" "$(curl -si "${AUTH[@]}" -X DELETE "http://$ADDR_s/metrics")" "Allow: GET, HEAD"
raw() { # bytes to send -> the status line
	python3 - "$ADDR_s" "$1" <<'EOF'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
print(s.recv(200).split(b"\r\n")[0].decode())
EOF
}
assert_eq "malformed request line: 400" "$(raw 'GARBAGE\r\n\r\n')" "HTTP/1.1 400 Bad Request"
assert_eq "not HTTP/1.x: 505" "$(raw 'GET / HTTP/2.0\r\n\r\n')" "HTTP/1.1 505 HTTP Version Not Supported"
assert_eq "header without colon: 400" "$(raw 'GET /metrics HTTP/1.1\r\nbroken header\r\n\r\n')" "HTTP/1.1 400 Bad Request"
assert_eq "huge request head: 431" "$(code "${AUTH[@]}" -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' a)" "http://$ADDR_s/metrics")" 431
assert_eq "HEAD: 200" "$(code -I "${AUTH[@]}" "http://$ADDR_s/metrics")" 200
# several clients at once, one of them idle with half a request
python3 - "$ADDR_s" <<'EOF' &
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
s.sendall(b"GET /metrics HTTP/1.1\r\n")
time.sleep(3)
EOF
idle=$!
par=0 pids=()
for i in 1 2 3 4 5 6; do (curl -sf "${AUTH[@]}" "http://$ADDR_s/metrics" | python3 "$PARSE" >"$T_TMP/par$i") & pids+=($!); done
wait "${pids[@]}"
for i in 1 2 3 4 5 6; do grep -q '^ok ' "$T_TMP/par$i" || par=1; done
assert_eq "six scrapes at once beside a slow client" "$par" 0
wait "$idle" 2>/dev/null

# --- a pool killed: up 0, its figures kept and marked stale ---------------------------------
kill "$SIM_PID_b"; wait "$SIM_PID_b" 2>/dev/null
check "killed pool goes to up 0" wait_for 30 up_is backup-lab 0
assert_eq "the other pool stays up" "$(sel chaintop_pool_up pool=coalesce-lab)" 1
assert_eq "the killed pool's SRs stay in the output" "$( [ -n "$(sel chaintop_sr_size_bytes pool=backup-lab)" ] && echo yes)" yes
aged() { fresh && [ "$(sel chaintop_pool_data_age_seconds pool=backup-lab)" -ge 1 ]; }
check "its figures are marked stale (data age grows)" wait_for 20 aged
assert_eq "its state is named" "$(sel chaintop_pool_state pool=backup-lab state=reconnecting)" 1
assert_contains "healthz shows it" "$(curl -sf "${AUTH[@]}" "http://$ADDR_s/healthz")" "(figures stale)"
assert_contains "text still parses" "$(python3 "$PARSE" "$T_TMP/m.txt")" "ok "

# --- read-only: the pools saw only reading calls -------------------------------------------
readonly_calls() {
	sim_ctl co GET /sim/calls | jq -r '.[].method' | sort -u |
		grep -vxE 'session\.login_with_password|session\.logout|pool\.get_all|[A-Za-z_]+\.get_all_records(_where)?|event\.from|event\.inject|[A-Za-z_]+\.get_record' || true
}
assert_eq "the coalescing pool saw only reading calls (serve, check, tree)" "$(readonly_calls)" ""
assert_eq "serve and httpd include nothing that changes a pool" \
	"$(grep -lE '#include "(jobs/backup|jobs/prune|xapi/xapi)\.h"' "$T_ROOT/src/cli/serve.c" "$T_ROOT/src/output/metrics.c" "$T_ROOT/src/lib/httpd.c")" ""

kill -TERM "$PID_s"
wait "$PID_s"; rc=$?
assert_eq "SIGTERM: exit 0" "$rc" 0

# --- HTTPS and basic authentication ---------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-keyout "$T_TMP/k.pem" -out "$T_TMP/c.pem" 2>/dev/null
export SERVE_PW=pw-basic
CONF_EXTRA="serve = { tls_cert = \"$T_TMP/c.pem\"; tls_key = \"$T_TMP/k.pem\";
  auth = { type = \"basic\"; username = \"prom\"; password_env = \"SERVE_PW\"; }; };" \
	write_config "$T_TMP/tls.conf" coalesce-lab "$SIM_URL_co"
serve_start t "$T_TMP/tls.conf" || { fail "serve with TLS starts"; cat "$T_TMP/serve-t.log"; finish; }
assert_contains "TLS: the log says https" "$(cat "$T_TMP/serve-t.log")" "listening on https://"
tls_up() { curl -sf --cacert "$T_TMP/c.pem" -u prom:pw-basic "https://$ADDR_t/metrics" | grep -q '^chaintop_pool_up{pool="coalesce-lab"} 1$'; }
check "HTTPS with basic auth scrapes" wait_for 30 tls_up
assert_eq "HTTPS: wrong password 401" "$(code --cacert "$T_TMP/c.pem" -u prom:nope "https://$ADDR_t/metrics")" 401
assert_eq "plain HTTP to the TLS port gets no answer" "$(code --max-time 5 "http://$ADDR_t/metrics")" 000
kill -TERM "$PID_t"; wait "$PID_t"

# --- configuration errors ---------------------------------------------------------------------
CONF_EXTRA='serve = { listen = "127.0.0.1:notaport"; };' write_config "$T_TMP/bad.conf" coalesce-lab "$SIM_URL_co"
out=$("$CHAINTOP" serve -c "$T_TMP/bad.conf" 2>&1); rc=$?
assert_eq "bad listen address: exit 2" "$rc" 2
assert_contains "bad listen address: says the form" "$out" "is not HOST:PORT"
CONF_EXTRA='serve = { auth = { type = "bearer"; }; };' write_config "$T_TMP/bad2.conf" coalesce-lab "$SIM_URL_co"
out=$("$CHAINTOP" serve -c "$T_TMP/bad2.conf" 2>&1)
assert_contains "bearer without a token source" "$out" "expected exactly one of token_file"
CONF_EXTRA='serve = { tls_cert = "x.pem"; };' write_config "$T_TMP/bad3.conf" coalesce-lab "$SIM_URL_co"
out=$("$CHAINTOP" serve -c "$T_TMP/bad3.conf" 2>&1)
assert_contains "certificate without a key" "$out" "TLS needs both tls_cert"
finish
