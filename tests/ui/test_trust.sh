#!/bin/bash
# UI: first contact with a pool whose certificate is self-signed (issue 12). No retry loop:
# the pool waits for the operator, and a dialog shows the certificate's subject, validity
# and SHA-256 fingerprint, how to check it on the host, and "trust and save? [y/N]" with
# the focus on Cancel. N leaves the file alone; y writes tls.fingerprint into that pool's
# entry (comments, layout and mode kept) and connects with the pin.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

command -v openssl >/dev/null || { fail "openssl is needed for this test"; finish; }
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=xcp-master-01" \
	-addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$T_TMP/key.pem" -out "$T_TMP/cert.pem" 2>/dev/null ||
	{ fail "openssl could not make a certificate"; finish; }
FP=$(openssl x509 -in "$T_TMP/cert.pem" -noout -fingerprint -sha256 | sed 's/^.*=//')
sim_start sec --scenario demo --gc-speed 0 --tls "$T_TMP/cert.pem" "$T_TMP/key.pem" ||
	{ fail "simulator with TLS starts"; finish; }
sim_start lab --scenario coalescing --gc-speed 0 || { fail "simulator lab starts"; finish; }
cat >"$T_TMP/c.conf" <<EOF
# two pools; keep this comment
pools = (
	{
		name = "lab";
		url = "$SIM_URL_lab";
		username = "root";
		password_env = "CHAINTOP_TEST_PASSWORD";
	},
	{
		name = "sec";   # the self-signed one
		url = "$SIM_URL_sec";
		username = "root";
		password_env = "CHAINTOP_TEST_PASSWORD";
	}
);
state_dir = "$T_TMP/state/chaintop";
EOF
chmod 640 "$T_TMP/c.conf"
cp "$T_TMP/c.conf" "$T_TMP/orig.conf"

ui_start -- -c "$T_TMP/c.conf"
ui_check "the dialog opens" "Certificate of pool 'sec' is not trusted"
ui_check "it shows the subject" "subject:  /CN=xcp-master-01"
ui_check "it shows the validity" "valid:    from 20"
ui_check "it shows the SHA-256 fingerprint" "SHA-256:  $FP"
ui_check "it says how to check it on the host" "openssl x509 -in /etc/xensource/xapi-ssl.pem -noout -fingerprint -sha256"
ui_check "it asks" "Trust and save to the configuration? [y/N]"
ui_check "the focus is on Cancel" "[> Cancel <]"
ui_keys Enter
ui_check_gone "Enter (N) closes it" "Trust and save to the configuration? [y/N]"
cmp -s "$T_TMP/c.conf" "$T_TMP/orig.conf" && ok "N leaves the configuration alone" ||
	fail "N leaves the configuration alone"
ui_keys 2
ui_check "the pool waits for the operator" "pool 'sec' waiting for you"
logins() { sim_ctl sec GET /sim/calls | grep -o '"session.login_with_password"' | wc -l; }
assert_eq "no login reached the pool" "$(logins)" "0"
# R tries again: the same certificate, the same question
ui_keys R
ui_check "R asks again" "Trust and save to the configuration? [y/N]"
ui_keys y
ui_check "y connects with the pin" "sec: connected" 20
ui_check_gone "the pool's problem row goes" "pool 'sec' waiting for you"
grep -qF "tls = { fingerprint = \"sha256:$FP\"; };" "$T_TMP/c.conf" &&
	ok "the pin is in the file" || { fail "the pin is in the file"; cat "$T_TMP/c.conf"; }
diff <(grep -v 'tls = { fingerprint' "$T_TMP/c.conf") "$T_TMP/orig.conf" >/dev/null &&
	ok "nothing else of the file changed" || fail "nothing else of the file changed"
sed -n '/name = "sec"/,/}/p' "$T_TMP/c.conf" | grep -qF "fingerprint" &&
	ok "in the entry of pool 'sec'" || fail "in the entry of pool 'sec'"
assert_eq "the file mode is kept" "$(stat -c %a "$T_TMP/c.conf")" "640"
ui_keys q q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""
"$CHAINTOP" tree -c "$T_TMP/c.conf" --pool sec >/dev/null 2>&1
assert_eq "the saved pin works for the next run" "$?" "0"
finish
