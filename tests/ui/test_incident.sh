#!/bin/bash
# UI: issue 12's "done when". An SR filled, a pool killed, a master hung and a self-signed
# pool added: the Health view's first screen, at 120x40 and at 80x24, names each of the four
# causes once, and o on its row reads the full reason.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

command -v openssl >/dev/null || { fail "openssl is needed for this test"; finish; }
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=xcp-sec" \
	-addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$T_TMP/key.pem" -out "$T_TMP/cert.pem" 2>/dev/null ||
	{ fail "openssl could not make a certificate"; finish; }
sim_start prod --scenario demo --gc-speed 0 || { fail "simulator prod starts"; finish; }
sim_start lab --scenario coalescing --gc-speed 0 || { fail "simulator lab starts"; finish; }
sim_start sec --scenario backup --gc-speed 0 --tls "$T_TMP/cert.pem" "$T_TMP/key.pem" ||
	{ fail "simulator sec starts"; finish; }
python3 "$T_ROOT/tests/hostile/hostile_server.py" --upstream "$SIM_URL_lab" --mode hang \
	>"$T_TMP/hung.out" 2>"$T_TMP/hung.err" &
T_PIDS+=($!)
for _ in $(seq 1 100); do grep -q '^ready ' "$T_TMP/hung.out" && break; sleep 0.05; done
read -r _ HUNG_URL _ <"$T_TMP/hung.out"
[ -n "$HUNG_URL" ] || { fail "the hung master starts"; finish; }
write_config "$T_TMP/c.conf" prod "$SIM_URL_prod" lab "$SIM_URL_lab" hung "$HUNG_URL" \
	sec "$SIM_URL_sec"

ui_start -- -c "$T_TMP/c.conf"
ui_check "the certificate question comes first" "Trust and save to the configuration? [y/N]"
ui_keys Escape
ui_check_gone "Esc answers no" "Trust and save to the configuration? [y/N]"
ui_check "prod and lab up" "2 ok" 20
sim_ctl prod POST "/sim/sr/free?sr=nfs-vmstore&bytes=0" >/dev/null
kill "$SIM_PID_lab"; wait "$SIM_PID_lab" 2>/dev/null
ui_keys 2

# rows of the problem list (not the detail pane under it)
rows() { ui_screen | grep -E '^[!?*] +(CRITICAL|UNKNOWN|WARNING) '; }
once() {   # once WHAT TEXT: exactly one problem row holds TEXT
	local n
	n=$(rows | grep -cF -- "$2")
	assert_eq "$1 ($(ui_pane_size)): one row" "$n" "1"
}
# read WHAT TEXT FULL: select the row holding TEXT, o shows FULL, q closes the pager
read_full() {
	local i
	ui_keys g
	for i in $(seq 1 15); do
		sleep 0.2
		ui_selected | grep -qF -- "$2" && break
		ui_keys j
	done
	ui_keys o
	ui_check "$1: o reads the full reason" "$3"
	ui_keys q
	ui_check_gone "$1: q closes the pager" "Esc/q closes, Up/Down scrolls"
}
causes() {
	ui_check "the full SR ($1)" "SR 'nfs-vmstore' 0.0% free"
	ui_check "the killed pool ($1)" "pool 'lab' is unreachable"
	ui_check "the hung master ($1)" "pool 'hung' "
	ui_check "the self-signed pool ($1)" "pool 'sec' waiting for you"
	once "the full SR" "SR 'nfs-vmstore' 0.0% free"
	once "the killed pool" "pool 'lab' "
	once "the hung master" "pool 'hung' "
	once "the self-signed pool" "pool 'sec' "
}
causes 120x40
read_full "the full SR" "SR 'nfs-vmstore' 0.0% free" "minimum 10% for a snapshot of"
read_full "the killed pool" "pool 'lab' " "cannot talk to"
read_full "the self-signed pool" "pool 'sec' " "(self-signed certificate)"
# the hung master: not answering while a call is out, unreachable after it timed out; both
# name the call
read_full "the hung master" "pool 'hung' " "session.login_with_password"
ui_resize 80 24
causes 80x24
read_full "the self-signed pool" "pool 'sec' " "SHA-256 fingerprint is"
ui_resize 120 40
ui_keys q q
ui_check "q quits" "chaintop exited rc=0"
assert_eq "nothing on stderr" "$(ui_stderr)" ""
finish
