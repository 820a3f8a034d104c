#!/bin/bash
# Issue 11 item 2: a server whose login reply is nested 180,000 elements deep (1.2 MB) made
# every command die with SIGSEGV (xmlrpc-c overflowed the stack freeing its parse tree).
# Every reply now goes through chaintop's own decoder, which refuses it by its depth limit:
# `tree` and `check` end with a clear error, not a signal.
source "$(dirname "$0")/../lib.sh"

cat >"$T_TMP/deep.py" <<'PY'
import http.server, sys
deep = ("<array><data><value>" * 60000) + ("</value></data></array>" * 60000)
body = ('<?xml version="1.0"?><methodResponse><params><param><value><struct>'
        '<member><name>Status</name><value>Success</value></member>'
        '<member><name>Value</name><value>' + deep + '</value></member>'
        '</struct></value></param></params></methodResponse>').encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("ready http://127.0.0.1:%d" % s.server_address[1], flush=True)
s.serve_forever()
PY
python3 "$T_TMP/deep.py" >"$T_TMP/deep.out" 2>&1 &
T_PIDS+=("$!")
wait_for 10 grep -q '^ready ' "$T_TMP/deep.out" || { fail "deep server did not start"; finish; }
url=$(sed -n 's/^ready //p' "$T_TMP/deep.out")
write_config "$T_TMP/deep.conf" deep "$url"

out=$("$CHAINTOP" tree -c "$T_TMP/deep.conf" 2>&1); rc=$?
check "tree: exits with an error, not a signal (rc $rc)" [ "$rc" -ne 0 -a "$rc" -lt 128 ]
assert_contains "tree: says the reply is nested too deep" "$out" "nested deeper than"
assert_contains "tree: names the call" "$out" "session.login_with_password"
out=$("$CHAINTOP" check -c "$T_TMP/deep.conf" 2>&1); rc=$?
assert_eq "check: UNKNOWN (3), not a signal" "$rc" "3"
assert_contains "check: says why" "$out" "nested deeper than"
finish
