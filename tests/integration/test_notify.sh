#!/usr/bin/env bash
# Notifications after backup runs (issue 18): a failed job calls its notify command with the
# run's report as JSON on stdin and the summary in its environment; on = "failure" stays quiet
# on success; a failing or hanging command (killed after its timeout) is logged in the run's
# history and output and never changes the backup's outcome; the webhook form POSTs the same
# document to a local HTTP server.
source "$(dirname "$0")/../lib.sh"

sim_start b --scenario backup --gc-speed 0 || { fail "simulator"; finish; }
URL=$SIM_URL_b
CONF="$T_TMP/c.conf"

# The notify command: its stdin and environment, written where the test looks.
HOOK="$T_TMP/hook.sh"
cat >"$HOOK" <<'EOF'
#!/bin/sh
cat >"$1.json"
env | grep '^CHAINTOP_' | sort >"$1.env"
EOF
chmod +x "$HOOK"

# A webhook receiver: the POSTed body and its content type go to files; /broken answers 500.
# receiver DIR [CERT KEY]: serves https with that certificate when given; prints its port.
receiver() {
	python3 - "$@" >"$1/port" 2>"$1/server.log" <<'EOF' &
import http.server, ssl, sys, os
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        name = self.path.strip("/") or "root"
        with open(os.path.join(d, name + ".json"), "wb") as f:
            f.write(body)
        with open(os.path.join(d, name + ".type"), "w") as f:
            f.write(self.headers.get("Content-Type", ""))
        self.send_response(500 if name == "broken" else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"no" if name == "broken" else b"ok")
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
if len(sys.argv) > 3:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
	T_PIDS+=("$!")
	wait_for 10 test -s "$1/port" || fail "webhook receiver $1 did not start"
}
HOOKDIR="$T_TMP/web"
mkdir -p "$HOOKDIR"
receiver "$HOOKDIR"
PORT=$(cat "$HOOKDIR/port")
# the same over https with a self-signed certificate (as tests/integration/test_client_tls.sh)
TLSDIR="$T_TMP/webtls"
mkdir -p "$TLSDIR"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$T_TMP/key.pem" -out "$T_TMP/cert.pem" 2>/dev/null || fail "openssl could not make a certificate"
fp=$(openssl x509 -in "$T_TMP/cert.pem" -noout -fingerprint -sha256 | sed 's/^.*=//')
receiver "$TLSDIR" "$T_TMP/cert.pem" "$T_TMP/key.pem"
TPORT=$(cat "$TLSDIR/port")
WRONG=$(sed 's/^../00/' <<<"$fp")

CONF_EXTRA="notify = { command = \"$HOOK $T_TMP/global\"; on = \"always\"; };
jobs = (
  { name = \"nightly\"; pool = \"backup-lab\"; vms = [ \"web01\" ]; retention = 0;
    notify = { command = \"$HOOK $T_TMP/nightly\"; on = \"failure\"; }; },
  { name = \"slow\"; pool = \"backup-lab\"; vms = [ \"web01\" ]; retention = 0;
    notify = { command = \"exec sleep 31337\"; on = \"always\"; timeout = \"1s\"; }; },
  { name = \"loud\"; pool = \"backup-lab\"; vms = [ \"web01\" ]; retention = 0;
    notify = { command = \"echo no mail server >&2; exit 3\"; on = \"always\"; }; },
  { name = \"hooked\"; pool = \"backup-lab\"; vms = [ \"web01\" ]; retention = 0;
    notify = { webhook = \"http://127.0.0.1:$PORT/hooked\"; on = \"always\"; }; },
  { name = \"broken\"; pool = \"backup-lab\"; vms = [ \"web01\" ]; retention = 0;
    notify = { webhook = \"http://127.0.0.1:$PORT/broken\"; on = \"always\"; }; },
  { name = \"pinned\"; pool = \"backup-lab\"; vms = [ \"web01\" ]; retention = 0;
    notify = { webhook = \"https://127.0.0.1:$TPORT/pinned\"; on = \"always\";
               tls = { fingerprint = \"sha256:$fp\"; }; }; },
  { name = \"cafile\"; pool = \"backup-lab\"; vms = [ \"web01\" ]; retention = 0;
    notify = { webhook = \"https://127.0.0.1:$TPORT/cafile\"; on = \"always\";
               tls = { ca_file = \"$T_TMP/cert.pem\"; }; }; },
  { name = \"unpinned\"; pool = \"backup-lab\"; vms = [ \"web01\" ]; retention = 0;
    notify = { webhook = \"https://127.0.0.1:$TPORT/unpinned\"; on = \"always\"; }; },
  { name = \"wrongpin\"; pool = \"backup-lab\"; vms = [ \"web01\" ]; retention = 0;
    notify = { webhook = \"https://127.0.0.1:$TPORT/wrongpin\"; on = \"always\";
               tls = { fingerprint = \"sha256:$WRONG\"; }; }; },
  { name = \"quiet\"; pool = \"backup-lab\"; vms = [ \"web01\" ]; retention = 0;
    notify = { on = \"never\"; }; }
);"
write_config "$CONF" backup-lab "$URL"

# --- a failed backup calls its notify command with the report
sim_ctl b POST /sim/fault '{"method": "Async.VM.snapshot", "error": ["SR_BACKEND_FAILURE_109", "", "The snapshot chain is too long", ""], "count": 1}' >/dev/null
out=$("$CHAINTOP" backup -c "$CONF" --job nightly 2>&1); rc=$?
assert_eq "failed run: exit 2 as without notify" "$rc" 2
check "failed run: the command got valid JSON on stdin" sh -c "jq -e . '$T_TMP/nightly.json' >/dev/null"
j=$(cat "$T_TMP/nightly.json" 2>/dev/null)
assert_eq "failed run: status failure" "$(jq -r '.run.status' <<<"$j")" failure
assert_eq "failed run: the job" "$(jq -r '.run.job' <<<"$j")" nightly
assert_eq "failed run: the VM named" "$(jq -r '.run.items[0].name' <<<"$j")" web01
assert_eq "failed run: the XAPI error" "$(jq -r '.run.items[0].xapi_code' <<<"$j")" SR_BACKEND_FAILURE_109
run=$(jq -r '.run.id' <<<"$j")
assert_eq "failed run: the same document as report --json" \
	"$("$CHAINTOP" report -c "$CONF" --json "$run" | jq -S 'del(.run.summary)')" "$(jq -S 'del(.run.summary)' <<<"$j")"
env_out=$(cat "$T_TMP/nightly.env" 2>/dev/null)
assert_contains "failed run: CHAINTOP_STATUS" "$env_out" "CHAINTOP_STATUS=failure"
assert_contains "failed run: CHAINTOP_JOB" "$env_out" "CHAINTOP_JOB=nightly"
assert_contains "failed run: CHAINTOP_RUN_ID" "$env_out" "CHAINTOP_RUN_ID=$run"
assert_contains "failed run: CHAINTOP_SUMMARY" "$env_out" "CHAINTOP_SUMMARY=job 'nightly' on pool 'backup-lab' finished: 0 of 1 VM succeeded, 0 skipped, 1 failed"
assert_eq "failed run: the global default is replaced by the job's" "$(ls "$T_TMP"/global.* 2>/dev/null)" ""

# --- on = "failure": not called on success
rm -f "$T_TMP"/nightly.*
out=$("$CHAINTOP" backup -c "$CONF" --job nightly 2>&1); rc=$?
assert_eq "success: exit 0" "$rc" 0
assert_eq "success: on failure, not called" "$(ls "$T_TMP"/nightly.* 2>/dev/null)" ""

# --- the global default for an ad hoc run (on = "always")
out=$("$CHAINTOP" backup -c "$CONF" --vm web01 2>&1); rc=$?
assert_eq "ad hoc: exit 0" "$rc" 0
assert_eq "ad hoc: the global notify got the run" "$(jq -r '.run.job + " " + .run.status' "$T_TMP/global.json" 2>/dev/null)" "adhoc success"
assert_contains "ad hoc: CHAINTOP_STATUS" "$(cat "$T_TMP/global.env" 2>/dev/null)" "CHAINTOP_STATUS=success"

# --- a dry run notifies no one
rm -f "$T_TMP"/global.*
"$CHAINTOP" backup -c "$CONF" --vm web01 --dry-run >/dev/null 2>&1
assert_eq "dry run: not notified" "$(ls "$T_TMP"/global.* 2>/dev/null)" ""

# --- a hanging command is killed after its timeout; the backup still succeeds
out=$("$CHAINTOP" backup -c "$CONF" --job slow 2>&1); rc=$?
assert_eq "hanging command: exit 0" "$rc" 0
assert_contains "hanging command: said it was killed" "$out" "did not finish within 1s and was killed"
pgrep -f "sleep 31337" >/dev/null && fail "hanging command: still running" || ok "hanging command: its process is gone"
run=$("$CHAINTOP" report -c "$CONF" --last 1 --json | jq -r '.runs[0].id')
j=$("$CHAINTOP" report -c "$CONF" --json "$run")
assert_eq "hanging command: run recorded as success" "$(jq -r '.run.status' <<<"$j")" success
assert_contains "hanging command: noted in the run's summary" "$(jq -r '.run.summary' <<<"$j")" "the notification failed"

# --- a failing command: its exit status and output are logged, the outcome stands
out=$("$CHAINTOP" backup -c "$CONF" --job loud 2>&1); rc=$?
assert_eq "failing command: exit 0" "$rc" 0
assert_contains "failing command: exit status shown" "$out" "exited with status 3; its output: no mail server"
assert_contains "failing command: in the report" "$("$CHAINTOP" report -c "$CONF" "$("$CHAINTOP" report -c "$CONF" --last 1 --json | jq -r '.runs[0].id')")" "exited with status 3"

# --- webhook: the same document POSTed as JSON
out=$("$CHAINTOP" backup -c "$CONF" --job hooked 2>&1); rc=$?
assert_eq "webhook: exit 0" "$rc" 0
assert_eq "webhook: document received" "$(jq -r '.run.job + " " + .run.items[0].name' "$HOOKDIR/hooked.json" 2>/dev/null)" "hooked web01"
assert_eq "webhook: content type" "$(cat "$HOOKDIR/hooked.type" 2>/dev/null)" "application/json"
out=$("$CHAINTOP" backup -c "$CONF" --job broken 2>&1); rc=$?
assert_eq "webhook answering 500: exit 0" "$rc" 0
assert_contains "webhook answering 500: logged" "$out" "answered HTTP status 500"

# --- webhook over https: the pools' TLS rules
out=$("$CHAINTOP" backup -c "$CONF" --job pinned 2>&1); rc=$?
assert_eq "https webhook, pinned: exit 0" "$rc" 0
assert_eq "https webhook, pinned: delivered" "$(jq -r '.run.job' "$TLSDIR/pinned.json" 2>/dev/null)" pinned
out=$("$CHAINTOP" backup -c "$CONF" --job cafile 2>&1); rc=$?
assert_eq "https webhook, ca_file: delivered" "$(jq -r '.run.job' "$TLSDIR/cafile.json" 2>/dev/null)" cafile
out=$("$CHAINTOP" backup -c "$CONF" --job unpinned 2>&1); rc=$?
assert_eq "https webhook, self-signed and not pinned: exit 0" "$rc" 0
assert_contains "https webhook, not pinned: refused, with the fingerprint to pin" "$out" "fingerprint = \"sha256:$fp\""
check "https webhook, not pinned: nothing delivered" test ! -e "$TLSDIR/unpinned.json"
out=$("$CHAINTOP" backup -c "$CONF" --job wrongpin 2>&1); rc=$?
assert_contains "https webhook, wrong pin: refused" "$out" "not the pinned"
check "https webhook, wrong pin: nothing delivered" test ! -e "$TLSDIR/wrongpin.json"

# --- on = "never" silences the global default for one job
rm -f "$T_TMP"/global.*
out=$("$CHAINTOP" backup -c "$CONF" --job quiet 2>&1); rc=$?
assert_eq "never: exit 0" "$rc" 0
assert_eq "never: nobody notified" "$(ls "$T_TMP"/global.* 2>/dev/null)" ""

# --- prune runs notify through the global block: with the jobs gone from the configuration,
# their snapshots are stale
rm -f "$T_TMP"/global.*
CONF_EXTRA="notify = { command = \"$HOOK $T_TMP/global\"; on = \"always\"; };" write_config "$T_TMP/prune.conf" backup-lab "$URL"
out=$("$CHAINTOP" prune -c "$T_TMP/prune.conf" --yes 2>&1); rc=$?
assert_eq "prune: exit 0" "$rc" 0
assert_eq "prune: notified with its report" "$(jq -r '.run.kind + " " + .run.status' "$T_TMP/global.json" 2>/dev/null)" "prune success"
check "prune: its items are in the report" sh -c "jq -e '.run.items | length > 0' '$T_TMP/global.json' >/dev/null"
assert_contains "prune: CHAINTOP_KIND" "$(cat "$T_TMP/global.env" 2>/dev/null)" "CHAINTOP_KIND=prune"

# --- bad notify blocks are configuration errors that say what to write
printf 'jobs = ( { name = "x"; pool = "backup-lab"; vms = [ "a" ]; notify = { on = "always"; }; } );\n' >"$T_TMP/bad.extra"
CONF_EXTRA=$(cat "$T_TMP/bad.extra") write_config "$T_TMP/bad.conf" backup-lab "$URL"
out=$("$CHAINTOP" backup -c "$T_TMP/bad.conf" --job x 2>&1); rc=$?
assert_eq "notify without command: exit 2" "$rc" 2
assert_contains "notify without command: says what to write" "$out" "has neither command nor webhook"
finish
