#!/usr/bin/env bash
# Exports against a simulator that behaves like xapi on the points that broke real exports:
# the HTTP handler destroys the task it made (so chaintop passes its own task_id), a VM on a
# member's local SR is redirected (302) to that member, which has its own certificate (learnt
# from the pinned master), snapshots are templates (cleared before the export), the file is
# verified before it is renamed into place, and the snapshot goes once the file is verified.
# Also: `chaintop verify`, bytes and throughput in `report`, HANDLE_INVALID = already gone.
source "$(dirname "$0")/../lib.sh"

command -v openssl >/dev/null || { fail "openssl is needed for this test"; finish; }
command -v zstd >/dev/null || { fail "zstd is needed for this test (apt-get install zstd)"; finish; }
for n in master member; do
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$n" \
		-keyout "$T_TMP/$n.key" -out "$T_TMP/$n.crt" 2>/dev/null ||
		{ fail "openssl could not make a certificate"; finish; }
done
fp=$(openssl x509 -in "$T_TMP/master.crt" -noout -fingerprint -sha256 | sed 's/^.*=//')
sim_start e --scenario backup --gc-speed 0 --tls "$T_TMP/master.crt" "$T_TMP/master.key" \
	--member-tls "$T_TMP/member.crt" "$T_TMP/member.key" || { fail "simulator"; finish; }
URL=$SIM_URL_e
CONF="$T_TMP/c.conf"
EXP="$T_TMP/exports"
cat >"$CONF" <<EOF
pools = ( { name = "backup-lab"; url = "$URL"; username = "root";
            password_env = "CHAINTOP_TEST_PASSWORD"; tls = { fingerprint = "sha256:$fp"; }; } );
state_dir = "$T_TMP/state/chaintop";
jobs = (
  { name = "exp"; pool = "backup-lab"; vms = [ "halted-vm" ]; mode = "export"; retention = 2;
    export_dir = "$EXP"; compression = "zstd"; },
  { name = "member"; pool = "backup-lab"; vms = [ "member-vm" ]; mode = "export"; retention = 0;
    export_dir = "$EXP"; compression = "gzip"; },
  { name = "snap"; pool = "backup-lab"; vms = [ "web01" ]; mode = "snapshot"; retention = 1; }
);
EOF
calls() { sim_ctl e GET /sim/calls | jq -r '.[].method'; }
state() { sim_ctl e GET /sim/state; }
snaps_of() { # VM name -> names of its snapshots, one a line
	state | jq -r --arg n "$1" '
		(.vms[] | select(.name == $n and (.is_a_snapshot | not)) | .ref) as $r |
		.vms[] | select(.is_a_snapshot and .snapshot_of == $r) | .name'
}
tasks() { # records of every task (python's client; the state has none)
	python3 - "$URL" <<'PY'
import sys, ssl, xmlrpc.client, json
s = xmlrpc.client.ServerProxy(sys.argv[1], context=ssl._create_unverified_context())
h = s.session.login_with_password("root", "chaintop-demo")["Value"]
print(json.dumps(list(s.task.get_all_records(h)["Value"].values())))
PY
}

# --- export: own task, no wait for a destroyed task, verified file, template flag cleared
sim_ctl e POST /sim/calls/clear >/dev/null
out=$(timeout 60 "$CHAINTOP" backup -c "$CONF" --job exp 2>&1); rc=$?
assert_eq "export: exit 0 (and well before the old 120 s wait for a destroyed task)" "$rc" 0
c=$(calls)
assert_contains "export: task.create before the transfer" "$(grep -n -e task.create -e 'HTTP GET /export' <<<"$c" | head -n1)" "task.create"
tid=$(sim_ctl e GET /sim/calls | jq -r '.[] | select(.method == "HTTP GET /export") | .params[2]')
[[ $tid == OpaqueRef:* ]] && ok "export: task_id passed on /export" || fail "export: no task_id on /export ($tid)"
assert_not_contains "export: our task destroyed at the end" "$(tasks)" "$tid"
assert_contains "export: is_a_template cleared first" "$c" "VM.set_is_a_template"
xva=$(find "$EXP" -name '*.xva' -path '*halted-vm-*')
[ -n "$xva" ] && ok "export: .xva in place" || fail "export: no .xva ($out)"
[ -z "$(find "$EXP" -name '*.part')" ] && ok "export: no temp file left" || fail "export: .part left"
assert_contains "export: verified before rename" "$out" "verified"
ova=$(zstd -dc "$xva" | tar -xOf - ova.xml)
python3 - "$ova" <<'PY' && ok "export: ova.xml has is_a_template false (imports as a VM)" || fail "export: ova.xml template flag"
import sys, xmlrpc.client
body = sys.argv[1].split("?>", 1)[1]
rec = xmlrpc.client.loads("<methodResponse><params><param>%s</param></params></methodResponse>" % body)[0][0]
vm = rec["objects"][0]["snapshot"]
sys.exit(0 if vm["is_a_template"] is False and vm["is_a_snapshot"] is True else 1)
PY
assert_eq "export: the snapshot was removed after the verified export" "$(snaps_of halted-vm | grep -c '^chaintop exp')" 0
assert_contains "export: the removal is said" "$out" "export verified, removed snapshot VM"

# --- chaintop verify: the same check for any file
v=$("$CHAINTOP" verify "$xva"); rc=$?
assert_eq "verify: exit 0 on a good export" "$rc" 0
assert_contains "verify: says OK and what it checked" "$v" "OK: "
assert_contains "verify: zstd recognised" "$v" "compression zstd"
zstd -dc "$xva" >"$T_TMP/plain.xva"
cp "$T_TMP/plain.xva" "$T_TMP/bad.xva"
printf 'XXXX' | dd of="$T_TMP/bad.xva" bs=1 seek=700000 conv=notrunc 2>/dev/null
v=$("$CHAINTOP" verify "$T_TMP/plain.xva" "$T_TMP/bad.xva"); rc=$?
assert_eq "verify: exit 1 when a file is damaged" "$rc" 1
assert_contains "verify: the good one passes" "$v" "plain.xva: OK"
assert_contains "verify: names the damaged chunk" "$v" "is damaged: its SHA-1 is"
head -c 2000000 "$T_TMP/plain.xva" >"$T_TMP/cut.xva"
v=$("$CHAINTOP" verify "$T_TMP/cut.xva"); rc=$?
assert_eq "verify: exit 1 on a cut export" "$rc" 1
assert_contains "verify: says incomplete" "$v" "incomplete"
"$CHAINTOP" verify "$T_TMP/nonexistent.xva" >/dev/null; assert_eq "verify: exit 2 when unreadable" "$?" 2

# --- report: bytes and throughput
run=$("$CHAINTOP" report -c "$CONF" --json --last 1 | jq -r '.runs[0].id')
rep=$("$CHAINTOP" report -c "$CONF" "$run")
assert_contains "report: bytes exported" "$rep" "exported:"
assert_contains "report: throughput" "$rep" "/s"
[ "$("$CHAINTOP" report -c "$CONF" --json "$run" | jq '.run.items[0].export_ms > 0 and .run.items[0].throughput_bytes_per_s > 0')" = true ] &&
	ok "report --json: export_ms and throughput" || fail "report --json: no export_ms/throughput"

# --- retention counts files, not snapshots; newer xapi's .xxhash checksums verify too
sim_ctl e POST /sim/export '{"checksum": "xxhash"}' >/dev/null
for i in 1 2; do next_second; out=$("$CHAINTOP" backup -c "$CONF" --job exp 2>&1) || fail "export run $i: $out"; done
assert_eq "retention: the newest 2 files kept" "$(find "$EXP" -name '*.xva' -path '*halted-vm-*' | wc -l)" 2
assert_eq "retention: no snapshot kept in export mode" "$(snaps_of halted-vm | grep -c '^chaintop exp')" 0
newest=$(find "$EXP" -name '*.xva' -path '*halted-vm-*' | sort | tail -n1)
assert_contains "verify: .xxhash chunks checked" "$("$CHAINTOP" verify "$newest")" "XXH64"
sim_ctl e POST /sim/export '{"checksum": "sha1"}' >/dev/null

# --- a VM on a member's local SR: 302 to the member, its own certificate, learnt from the master
sim_ctl e POST /sim/calls/clear >/dev/null
out=$(timeout 60 "$CHAINTOP" backup -c "$CONF" --job member 2>&1); rc=$?
assert_eq "member: exit 0" "$rc" 0
assert_contains "member: the master redirected" "$(calls)" "HTTP 302 /export"
assert_contains "member: says where it went" "$out" "redirected the export to 127.0.0."
assert_contains "member: certificate learnt from the master" "$(calls)" "Certificate.get_fingerprint_sha256"
mx=$(find "$EXP" -name '*.xva' -path '*member-vm-*')
assert_contains "member: a verified gzip export" "$("$CHAINTOP" verify "$mx")" "compression gzip"
# the member's certificate no longer matches what the master lists: refused, and said why
cert=$(python3 - "$URL" <<'PY'
import sys, ssl, xmlrpc.client
s = xmlrpc.client.ServerProxy(sys.argv[1], context=ssl._create_unverified_context())
h = s.session.login_with_password("root", "chaintop-demo")["Value"]
for r, c in s.Certificate.get_all_records(h)["Value"].items():
    if s.host.get_name_label(h, c["host"])["Value"].endswith("-member"):
        print(c["uuid"])
PY
)
sim_ctl e POST /sim/set "{\"class\": \"Certificate\", \"uuid\": \"$cert\", \"field\": \"fingerprint_sha256\", \"value\": \"AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99\"}" >/dev/null
out=$("$CHAINTOP" backup -c "$CONF" --job member 2>&1); rc=$?
assert_eq "member mismatch: exit 2" "$rc" 2
assert_contains "member mismatch: names the member and the check" "$out" "redirected the export to pool member 127.0.0."
assert_contains "member mismatch: fingerprint differs from the master's record" "$out" "the fingerprint the pool master lists in the Certificate record"
assert_eq "member mismatch: no file written" "$(find "$EXP" -path '*member-vm-*' -name '*.xva*' | wc -l)" 1

# --- xapi before Stockholm has no Certificate class: the member's certificate comes from
# host.get_server_certificate (the mismatching record above is then not seen at all)
sim_ctl e POST /sim/fault '{"kind": "no_certificates"}' >/dev/null
sim_ctl e POST /sim/calls/clear >/dev/null
n_before=$(find "$EXP" -path '*member-vm-*' -name '*.xva' | wc -l)
out=$(timeout 60 "$CHAINTOP" backup -c "$CONF" --job member 2>&1); rc=$?
assert_eq "no Certificate class: exit 0" "$rc" 0
assert_contains "no Certificate class: the sim refused the class" "$(sim_ctl e GET /sim/calls | jq -r '.[] | select(.method == "Certificate.get_all") | .method')" "Certificate.get_all"
assert_contains "no Certificate class: fell back to host.get_server_certificate" "$(calls)" "host.get_server_certificate"
assert_not_contains "no Certificate class: no record getter called" "$(calls)" "Certificate.get_fingerprint"
assert_eq "no Certificate class: one more verified export" "$(find "$EXP" -path '*member-vm-*' -name '*.xva' | wc -l)" $((n_before + 1))
sim_ctl e POST /sim/fault '{"kind": "clear"}' >/dev/null

# --- a master that redirects the member's export to http:// (hostile; xapi never does):
# refused before anything is sent there
sim_ctl e POST /sim/fault '{"kind": "redirect_http"}' >/dev/null
sim_ctl e POST /sim/calls/clear >/dev/null
n_before=$(find "$EXP" -path '*member-vm-*' -name '*.xva*' | wc -l)
# --force: the GC is frozen, so the earlier exports' base copies stay stacked
out=$(timeout 60 "$CHAINTOP" backup -c "$CONF" --job member --force 2>&1); rc=$?
assert_eq "member redirect to http: exit 2" "$rc" 2
assert_contains "member redirect to http: refused, and why" "$out" "which is not https: chaintop never leaves https for plain http"
assert_contains "member redirect to http: names the member's address" "$out" "to 127.0.0."
assert_eq "member redirect to http: nothing asked of the member" \
	"$(sim_ctl e GET /sim/calls | jq '[.[] | select(.method == "HTTP GET /export")] | length')" 1
assert_eq "member redirect to http: no file left" "$(find "$EXP" -path '*member-vm-*' -name '*.xva*' | wc -l)" "$n_before"
sim_ctl e POST /sim/fault '{"kind": "clear"}' >/dev/null

# --- an edition that refuses VM.set_is_a_template (XSO-766): the export goes on, with a warning
sim_ctl e POST /sim/fault '{"method": "VM.set_is_a_template", "error": ["LICENSE_RESTRICTION", "VM.set_is_a_template"]}' >/dev/null
next_second
# --force: the GC is frozen, so the base copies of the earlier exports' snapshots stay stacked
out=$("$CHAINTOP" backup -c "$CONF" --job exp --force 2>&1); rc=$?
assert_eq "LICENSE_RESTRICTION on is_a_template: exit 0" "$rc" 0
assert_contains "LICENSE_RESTRICTION on is_a_template: says it imports as a template" "$out" "will import as a template"

# --- HANDLE_INVALID during retention: already gone, not a failure
"$CHAINTOP" backup -c "$CONF" --job snap >/dev/null 2>&1
next_second
sim_ctl e POST /sim/fault '{"method": "VM.destroy", "error": ["HANDLE_INVALID", "VM", "OpaqueRef:gone"]}' >/dev/null
out=$("$CHAINTOP" backup -c "$CONF" --job snap 2>&1); rc=$?
assert_eq "HANDLE_INVALID in retention: exit 0" "$rc" 0
assert_not_contains "HANDLE_INVALID in retention: no failure reported" "$out" "retention failed"
sim_ctl e POST /sim/fault '{"kind": "clear"}' >/dev/null

finish
