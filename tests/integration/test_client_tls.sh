#!/bin/bash
# TLS: a simulator with a self-signed certificate is refused without a pin (and the message
# gives the fingerprint to pin), accepted with the right fingerprint in any usual spelling,
# refused with a wrong one, accepted with ca_file, and with verify = false.
source "$(dirname "$0")/../lib.sh"

command -v openssl >/dev/null || { fail "openssl is needed for this test"; finish; }
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$T_TMP/key.pem" -out "$T_TMP/cert.pem" 2>/dev/null ||
	{ fail "openssl could not make a certificate"; finish; }
fp=$(openssl x509 -in "$T_TMP/cert.pem" -noout -fingerprint -sha256 | sed 's/^.*=//')
sim_start T --tls "$T_TMP/cert.pem" "$T_TMP/key.pem" --gc-speed 50 || { fail "TLS simulator"; finish; }
case $SIM_URL_T in https://*) ok "the simulator serves https" ;; *) fail "the simulator URL is $SIM_URL_T" ;; esac

# tls_config FILE "tls block"
tls_config() {
	cat >"$1" <<EOF
pools = ( { name = "secure"; url = "$SIM_URL_T"; username = "root";
            password_env = "CHAINTOP_TEST_PASSWORD"; $2 } );
state_dir = "$T_TMP/state/chaintop";
EOF
}
tree() { "$CHAINTOP" tree -c "$1" --json >"$T_TMP/out" 2>"$T_TMP/err"; }

tls_config "$T_TMP/nopin.conf" ""
tree "$T_TMP/nopin.conf"; rc=$?
err=$(cat "$T_TMP/out" "$T_TMP/err")
check "no pin: the self-signed certificate is refused (exit $rc)" [ "$rc" -ne 0 ]
assert_contains "no pin: the message gives the server's SHA-256 fingerprint" "$err" "$fp"
assert_contains "no pin: the message says how to pin it" "$err" "fingerprint = \"sha256:$fp\""

lower=$(tr 'A-F' 'a-f' <<<"$fp")
bare=$(tr -d ':' <<<"$lower")
for spelling in "sha256:$fp" "$fp" "$bare" "SHA256:$lower"; do
	tls_config "$T_TMP/pin.conf" "tls = { fingerprint = \"$spelling\"; };"
	tree "$T_TMP/pin.conf"; rc=$?
	if [ "$rc" -eq 0 ] && grep -q '"connected": true' "$T_TMP/out"; then
		ok "pinned as '${spelling:0:20}...': accepted"
	else
		fail "pinned as '$spelling': exit $rc"; sed 's/^/    | /' "$T_TMP/err" | head -n 5
	fi
done

wrong=$(sed 's/^\(..\)/00/' <<<"$fp")
[ "$wrong" = "$fp" ] && wrong=$(sed 's/^\(..\)/11/' <<<"$fp")
tls_config "$T_TMP/wrong.conf" "tls = { fingerprint = \"sha256:$wrong\"; };"
tree "$T_TMP/wrong.conf"; rc=$?
err=$(cat "$T_TMP/out" "$T_TMP/err")
check "wrong pin: refused (exit $rc)" [ "$rc" -ne 0 ]
assert_contains "wrong pin: the message names the actual fingerprint" "$err" "$fp"
assert_contains "wrong pin: and says it is not the pinned one" "$err" "not the pinned"

tls_config "$T_TMP/ca.conf" "tls = { ca_file = \"$T_TMP/cert.pem\"; };"
tree "$T_TMP/ca.conf"; rc=$?
check "ca_file: the certificate verifies against its own CA file (exit $rc)" [ "$rc" -eq 0 ]

tls_config "$T_TMP/noverify.conf" "tls = { verify = false; };"
tree "$T_TMP/noverify.conf"; rc=$?
check "verify = false: accepted (exit $rc)" [ "$rc" -eq 0 ]
assert_contains "verify = false: warned about" "$(cat "$T_TMP/err")" "verify"

assert_not_contains "no sanitizer report" "$(cat "$T_TMP/err")" "Sanitizer"

# plain http against the TLS port: a clear error, not a hang
cat >"$T_TMP/http.conf" <<EOF
pools = ( { name = "plain"; url = "${SIM_URL_T/https/http}"; username = "root";
            password_env = "CHAINTOP_TEST_PASSWORD"; } );
state_dir = "$T_TMP/state/chaintop";
EOF
timeout 60 "$CHAINTOP" tree -c "$T_TMP/http.conf" >"$T_TMP/out" 2>"$T_TMP/err"; rc=$?
check "http to a TLS port: fails without hanging (exit $rc)" [ "$rc" -ne 0 -a "$rc" -ne 124 ]

finish
