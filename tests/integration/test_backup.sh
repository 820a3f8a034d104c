#!/usr/bin/env bash
# Gated backups against the simulator's `backup` scenario (GC frozen so chains stay as
# built): a healthy VM snapshotted and tagged, export to a complete file, a stacked VM
# refused with no snapshot call, out of space and chain too long recorded with their codes,
# retention, the job lock, dry run.
source "$(dirname "$0")/../lib.sh"

sim_start b --scenario backup --gc-speed 0 || { fail "simulator"; finish; }
URL=$SIM_URL_b
CONF="$T_TMP/c.conf"
EXP="$T_TMP/exports"
CONF_EXTRA="jobs = (
  { name = \"snap\"; pool = \"backup-lab\"; vms = [ \"web01\" ]; mode = \"snapshot\"; retention = 2; },
  { name = \"exp\"; pool = \"backup-lab\"; vms = [ \"web02\" ]; mode = \"export\"; retention = 1;
    export_dir = \"$EXP\"; compression = \"zstd\"; },
  { name = \"mixed\"; pool = \"backup-lab\"; vms = [ \"web01\", \"stacked-vm\" ]; retention = 0; },
  { name = \"stacked\"; pool = \"backup-lab\"; vms = [ \"stacked-vm\" ]; retention = 0; },
  { name = \"big\"; pool = \"backup-lab\"; vms = [ \"bigdisk-vm\" ]; retention = 0; },
  { name = \"gz\"; pool = \"backup-lab\"; vms = [ \"web01\" ]; mode = \"export\"; retention = 0;
    export_dir = \"$EXP\"; compression = \"gzip\"; }
);"
write_config "$CONF" backup-lab "$URL"

# XAPI calls made since the last clear, as "method" lines
calls() { sim_ctl b GET /sim/calls | jq -r '.[].method'; }
# other_config of an object through XML-RPC (python's client)
other_config() { # CLASS UUID
	python3 - "$URL" "$1" "$2" <<'EOF'
import sys, xmlrpc.client, json
url, cls, uuid = sys.argv[1:]
s = xmlrpc.client.ServerProxy(url)
sess = s.session.login_with_password("root", "chaintop-demo", "1.0", "test")["Value"]
api = getattr(s, cls)
ref = api.get_by_uuid(sess, uuid)["Value"]
print(json.dumps(getattr(s, cls).get_other_config(sess, ref)["Value"]))
EOF
}
snaps_of() { # VM name -> uuids of its snapshots, one a line
	sim_ctl b GET /sim/state | jq -r --arg n "$1" '
		(.vms[] | select(.name == $n) | .ref) as $r | .vms[] | select(.is_a_snapshot and .snapshot_of == $r) | .uuid'
}

# --- a healthy VM: snapshot and tags
sim_ctl b POST /sim/calls/clear >/dev/null
out=$("$CHAINTOP" backup -c "$CONF" --job snap 2>&1); rc=$?
assert_eq "healthy VM: exit 0" "$rc" 0
assert_contains "healthy VM: progress shows the gate" "$out" "[1/1 web01] gate: every disk within its limits"
assert_contains "healthy VM: summary" "$out" "1 of 1 VM succeeded, 0 skipped, 0 failed"
assert_contains "healthy VM: Async.VM.snapshot used" "$(calls)" "Async.VM.snapshot"
assert_contains "healthy VM: task destroyed after" "$(calls)" "task.destroy"
snap=$(snaps_of web01 | head -n1)
[ -n "$snap" ] && ok "healthy VM: a snapshot exists" || fail "healthy VM: no snapshot of web01"
oc=$(other_config VM "$snap")
web01=$(sim_ctl b GET /sim/state | jq -r '.vms[] | select(.name == "web01") | .uuid')
assert_eq "tag chaintop:job" "$(jq -r '."chaintop:job"' <<<"$oc")" snap
assert_eq "tag chaintop:vm" "$(jq -r '."chaintop:vm"' <<<"$oc")" "$web01"
assert_eq "tag chaintop:run" "$(jq -r '."chaintop:run"' <<<"$oc")" 1
[[ $(jq -r '."chaintop:time"' <<<"$oc") =~ ^[0-9]{8}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]] && ok "tag chaintop:time is UTC" || fail "tag chaintop:time: $oc"
vdi=$(sim_ctl b GET /sim/state | jq -r --arg u "$snap" '.vms[] | select(.uuid == $u) | .disks[0].uuid')
assert_eq "snapshot disk tagged too" "$(other_config VDI "$vdi" | jq -r '."chaintop:job"')" snap

# --- export mode: a complete, decompressible file; no .part left
sim_ctl b POST /sim/calls/clear >/dev/null
out=$("$CHAINTOP" backup -c "$CONF" --job exp 2>&1); rc=$?
assert_eq "export: exit 0" "$rc" 0
assert_contains "export: HTTP GET /export with zstd" "$(sim_ctl b GET /sim/calls | jq -c '.[] | select(.method == "HTTP GET /export") | .params')" '"zstd"'
xva=$(find "$EXP" -name '*.xva' -path '*web02-*')
[ -n "$xva" ] && ok "export: .xva file in <vm>-<uuid>/" || fail "export: no .xva ($out)"
[ -z "$(find "$EXP" -name '*.part')" ] && ok "export: no .part left" || fail "export: .part left"
if command -v zstd >/dev/null; then
	zstd -dc "$xva" 2>/dev/null | tar t 2>/dev/null | grep -q '^ova.xml$' && ok "export: zstd stream holds ova.xml" ||
		fail "export: not a complete zstd XVA"
fi
out=$("$CHAINTOP" backup -c "$CONF" --job gz 2>&1)
gzf=$(find "$EXP" -name '*.xva' -path '*web01-*')
gzip -dc "$gzf" 2>/dev/null | tar t 2>/dev/null | grep -q '^ova.xml$' && ok "export: gzip stream holds ova.xml" ||
	fail "export gzip: $out"

# --- a failed export leaves no file that looks complete
sim_ctl b POST /sim/fault '{"kind": "export_fail"}' >/dev/null
before=$(find "$EXP" -name '*.xva' -path '*web02-*' | wc -l)
out=$("$CHAINTOP" backup -c "$CONF" --job exp 2>&1); rc=$?
assert_eq "failed export: exit 2" "$rc" 2
assert_contains "failed export: the task's error" "$out" "VDI_IO_ERROR"
assert_eq "failed export: no new .xva" "$(find "$EXP" -name '*.xva' -path '*web02-*' | wc -l)" "$before"
[ -z "$(find "$EXP" -name '*.part')" ] && ok "failed export: no .part left" || fail "failed export: .part left"

# --- stacked base copies: refused with reasons, no snapshot call reaches the simulator
sim_ctl b POST /sim/calls/clear >/dev/null
out=$("$CHAINTOP" backup -c "$CONF" --job mixed 2>&1); rc=$?
assert_eq "stacked: exit 1 (skipped)" "$rc" 1
assert_contains "stacked: refused with reasons" "$out" "[1/2 stacked-vm] WARNING: gate refused:"
assert_contains "stacked: stacked base copies named" "$out" "stacked"
assert_contains "stacked: web01 still done" "$out" "1 of 2 VMs succeeded, 1 skipped, 0 failed"
n=$(sim_ctl b GET /sim/calls | jq '[.[] | select((.method | test("VM.snapshot$")) and (.params[1] | tostring | test("stacked")))] | length')
sref=$(sim_ctl b GET /sim/state | jq -r '.vms[] | select(.name == "stacked-vm") | .ref')
n=$(sim_ctl b GET /sim/calls | jq --arg r "$sref" '[.[] | select((.method | test("VM.snapshot$")) and (.params | index($r)))] | length')
assert_eq "stacked: no VM.snapshot of stacked-vm in the call log" "$n" 0
rep=$("$CHAINTOP" report -c "$CONF" "$("$CHAINTOP" report -c "$CONF" --last 1 --json | jq -r '.runs[0].id')" 2>&1)
assert_contains "stacked: report has the reasons" "$rep" "reasons:"
assert_contains "stacked: report has the chain as judged" "$rep" "chain as judged:"
sim_ctl b POST /sim/calls/clear >/dev/null
out=$("$CHAINTOP" backup -c "$CONF" --job stacked --dry-run 2>&1); rc=$?
assert_eq "dry run of a refused VM: exit 1" "$rc" 1
out=$("$CHAINTOP" backup -c "$CONF" --vm web01 --dry-run 2>&1); rc=$?
assert_eq "dry run: exit 0" "$rc" 0
assert_contains "dry run: says what it would do" "$out" "would snapshot 'web01'"
assert_not_contains "dry run: no snapshot call" "$(calls)" "VM.snapshot"

# --- out of space: forced past the gate, SM refuses with 44
out=$("$CHAINTOP" backup -c "$CONF" --job big --force 2>&1); rc=$?
assert_eq "out of space: exit 2" "$rc" 2
assert_contains "out of space: code shown" "$out" "SR_BACKEND_FAILURE_44"
run=$("$CHAINTOP" report -c "$CONF" --last 1 --json | jq -r '.runs[0].id')
j=$("$CHAINTOP" report -c "$CONF" --json "$run")
assert_eq "out of space: recorded code" "$(jq -r '.run.items[0].xapi_code' <<<"$j")" SR_BACKEND_FAILURE_44
assert_eq "out of space: recorded params" "$(jq -r '.run.items[0].xapi_params[1]' <<<"$j")" "There is insufficient space"
assert_eq "out of space: gate recorded as forced" "$(jq -r '.run.items[0].steps[0].status' <<<"$j")" forced

# --- chain too long (injected) on web01; the job goes on with the next VM
sim_ctl b POST /sim/fault '{"method": "Async.VM.snapshot", "error": ["SR_BACKEND_FAILURE_109", "", "The snapshot chain is too long", ""], "count": 1}' >/dev/null
out=$("$CHAINTOP" backup -c "$CONF" --vm 'web0*' 2>&1); rc=$?
assert_eq "chain too long: exit 2" "$rc" 2
assert_contains "chain too long: code shown" "$out" "SR_BACKEND_FAILURE_109"
assert_contains "chain too long: next VM still done" "$out" "1 of 2 VMs succeeded, 0 skipped, 1 failed"
run=$("$CHAINTOP" report -c "$CONF" --last 1 --json | jq -r '.runs[0].id')
assert_eq "chain too long: recorded" "$("$CHAINTOP" report -c "$CONF" --json "$run" | jq -r '[.run.items[].xapi_code] | map(select(. != null)) | .[0]')" SR_BACKEND_FAILURE_109

# --- retention: exactly N of the job's snapshots; a foreign snapshot is never touched
sim_ctl b POST '/sim/snapshot?vm=web01' >/dev/null
foreign=$(sim_ctl b GET /sim/state | jq -r --arg r "$(sim_ctl b GET /sim/state | jq -r '.vms[] | select(.name == "web01") | .ref')" \
	'[.vms[] | select(.is_a_snapshot and .snapshot_of == $r and (.name | startswith("chaintop") | not))][0].uuid')
[ -n "$foreign" ] && [ "$foreign" != null ] && ok "retention: a foreign snapshot exists" || fail "retention: no foreign snapshot"
for i in 1 2 3; do "$CHAINTOP" backup -c "$CONF" --job snap >/dev/null 2>&1; next_second; done
job_snaps=0
for u in $(snaps_of web01); do
	[ "$(other_config VM "$u" | jq -r '."chaintop:job"')" = snap ] && job_snaps=$((job_snaps + 1))
done
assert_eq "retention: exactly 2 of job snap's snapshots" "$job_snaps" 2
assert_contains "retention: the foreign snapshot is still there" "$(snaps_of web01)" "$foreign"
assert_contains "retention: adhoc snapshots kept" "$(sim_ctl b GET /sim/state | jq -r '.vms[].name')" "chaintop adhoc"
assert_eq "retention: exactly 1 export of job exp" "$(find "$EXP" -name '*.xva' -path '*web02-*' | wc -l)" 1

# --- the lock: a second concurrent run says who holds it
mkdir -p "$T_TMP/state/chaintop"
exec 9>"$T_TMP/state/chaintop/backup-snap.lock"
flock 9
echo "pid=4242 host=otherhost start=2026-01-01T00:00:00+0000" >&9
out=$("$CHAINTOP" backup -c "$CONF" --job snap 2>&1); rc=$?
assert_eq "lock: second run exits 2" "$rc" 2
assert_contains "lock: says who holds it" "$out" "already running (pid 4242 on host otherhost"
exec 9>&-
out=$("$CHAINTOP" backup -c "$CONF" --job snap 2>&1); rc=$?
assert_not_contains "lock: free again once released" "$out" "already running"

# --- usage errors
out=$("$CHAINTOP" backup -c "$CONF" --job nosuch 2>&1); rc=$?
assert_eq "unknown job: exit 2" "$rc" 2
assert_contains "unknown job: lists the jobs" "$out" "'snap'"
out=$("$CHAINTOP" backup -c "$CONF" --vm no-such-vm 2>&1); rc=$?
assert_contains "no VM matched: says so" "$out" "no VM of pool 'backup-lab' matches 'no-such-vm'"
finish
