#!/bin/bash
# chaintop prune against the simulator's "prune" scenario: the candidates, --dry-run makes no
# destroying call, no terminal and no --yes refuses, a refused (fresh re-check) and a failed
# call stop only their item, a real prune removes exactly the planned objects, then the GC
# coalesces the freed chains; the run is in the job history.
source "$(dirname "$0")/../lib.sh"

sim_start p --scenario prune --gc-speed 50 || { fail "simulator start"; finish; }
CONF="$T_TMP/prune.conf"
write_config "$CONF" prune-lab "$SIM_URL_p"

# xapi_uuids CLASS: sorted "ref uuid name" lines of managed, real objects (XAPI's own view).
xapi_objs() {
	python3 - "$SIM_URL_p" "$1" <<'EOF'
import sys, xmlrpc.client
url, cls = sys.argv[1], sys.argv[2]
s = xmlrpc.client.ServerProxy(url + "/")
r = s.session.login_with_password("root", "chaintop-demo", "1.0", "prune-test")
sess = r["Value"]
recs = getattr(s, cls).get_all_records(sess)["Value"]
for ref, o in sorted(recs.items()):
    if cls == "VDI" and str(o.get("managed")) not in ("True", "1", "true"):
        continue
    if cls == "VM" and (o.get("is_control_domain") in (True, "1")):
        continue
    print(ref, o["uuid"], o["name_label"].replace(" ", "_"))
s.session.logout(sess)
EOF
}
destroy_calls() { sim_ctl p GET /sim/calls | python3 -c '
import json, sys
print(sum(1 for c in json.load(sys.stdin) if c["method"].split(".")[-1] == "destroy" or ".destroy" in c["method"]))'; }

# The scenario starts with one pending coalesce (legacy-snap's disk under a single-child
# base copy): let the fast GC finish it so the objects stay put while the test plans.
gc_idle() { sim_ctl p GET /sim/state | python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if all(sr["gc"]["task"] is None and sr["gc"]["current"] is None for sr in s["srs"]) else 1)'; }
wait_for 30 gc_idle || fail "the simulator GC did not settle"

# --- listing, dry run ---
sim_ctl p POST /sim/calls/clear >/dev/null
out=$("$CHAINTOP" prune -c "$CONF" --dry-run 2>&1); rc=$?
assert_eq "dry run exits 0" "$rc" 0
# a plain unused disk no tool marked is not chaintop's: kept unless --include-foreign
assert_contains "five candidates by default" "$out" "5 candidates:"
assert_contains "plain orphan kept by default" "$out" "owner unknown: not used by any VM; --include-foreign to propose it"
assert_eq "plain orphan not planned by default" "$(grep -c 'VDI.destroy .*orphan disk' <<<"$out")" 0
out=$("$CHAINTOP" prune -c "$CONF" --dry-run --include-foreign 2>&1); rc=$?
assert_eq "dry run --include-foreign exits 0" "$rc" 0
assert_contains "six candidates with --include-foreign" "$out" "6 candidates:"
for n in "snapshot 'app01 weekly'" "snapshot 'app01 before-migration'" "snapshot 'app01 nightly" \
	 "snapshot 'pre-upgrade'" "snapshot 'legacy-snap'" "orphan disk 'orphan-data'"; do
	assert_contains "listed: $n" "$out" "$n"
done
assert_contains "age reason" "$out" "why: it is 40d old, older than 14d"
assert_contains "source gone reason" "$out" "why: its source VM is gone"
assert_contains "job gone reason" "$out" "chaintop job 'nightly', which is no longer in the configuration"
assert_contains "orphan reason" "$out" "no VM uses"
assert_not_contains "suspend image is not an orphan" "$out" "Suspend image"
assert_not_contains "app03 suspend VDI not listed" "$out" "'app03"
assert_contains "attached snapshot disk kept" "$out" "kept because it is attached to VM 'backup-proxy'"
assert_contains "plan note for the kept disk" "$out" "note: keep snapshot disk 'app01 data'"
assert_contains "effect: GC work" "$out" "the GC will coalesce them"
assert_contains "effect: space" "$out" "space expected back"
assert_contains "plan in full" "$out" "Plan: 13 XAPI calls, in this order:"
assert_contains "combined effect of the plan" "$out" "Effect of the whole plan"
assert_contains "plan has VM.destroy" "$out" "1. VM.destroy OpaqueRef:"
assert_contains "dry run says so" "$out" "Dry run: nothing was deleted"
assert_eq "dry run made no destroying call" "$(destroy_calls)" 0

out=$("$CHAINTOP" prune -c "$CONF" --dry-run --include-foreign --older-than 30d 2>&1)
assert_contains "--older-than 30d: five candidates" "$out" "5 candidates:"
assert_not_contains "--older-than 30d: 20-day snapshot not listed" "$out" "app01 before-migration"

out=$("$CHAINTOP" prune -c "$CONF" --older-than soon 2>&1); rc=$?
assert_eq "bad --older-than is a usage error" "$rc" 2
out=$("$CHAINTOP" prune --help 2>&1); rc=$?
assert_eq "--help exits 0" "$rc" 0
assert_contains "--help mentions --yes" "$out" "--yes"

# --- no terminal, no --yes ---
sim_ctl p POST /sim/calls/clear >/dev/null
out=$("$CHAINTOP" prune -c "$CONF" </dev/null 2>&1); rc=$?
assert_eq "no tty and no --yes exits 2" "$rc" 2
assert_contains "refusal says how" "$out" "Re-run with --yes"
assert_eq "refusal made no destroying call" "$(destroy_calls)" 0

# --- a terminal: typed confirmation, a fresh re-check refusal, an injected XAPI failure ---
# While the prompt waits, the orphan becomes a suspend image (the fresh record must refuse
# it) and the next VDI.destroy fails with VDI_IN_USE; everything else goes ahead.
sim_ctl p POST /sim/gc/pause >/dev/null
before_vm=$(xapi_objs VM); before_vdi=$(xapi_objs VDI)
plan=$("$CHAINTOP" prune -c "$CONF" --dry-run --include-foreign 2>/dev/null)
planned_refs=$(grep -oE '^ +[0-9]+\. (VM|VDI)\.destroy OpaqueRef:[^ ]+' <<<"$plan" | awk '{print $3}' | sort)
orphan_ref=$(grep -E 'orphan disk' <<<"$plan" | grep -oE 'VDI\.destroy OpaqueRef:[^ ]+' | awk '{print $2}')
legacy_disk=$(grep -E "^ +2\. VDI\.destroy" <<<"$plan" | awk '{print $3}')
weekly_data=$(grep -E "^ +[0-9]+\. VDI\.destroy .* disk 'app01 data'" <<<"$plan" | head -n1 | awk '{print $3}')
assert_eq "13 planned calls parsed" "$(wc -l <<<"$planned_refs")" 13
sim_ctl p POST /sim/calls/clear >/dev/null
out=$(python3 - "$CHAINTOP" "$CONF" "$SIM_URL_p" "$orphan_ref" "$weekly_data" <<'EOF'
import os, pty, sys, time, json, urllib.request, xmlrpc.client
exe, conf, url, orphan, weekly_data = sys.argv[1:6]
x = xmlrpc.client.ServerProxy(url + "/")
sess = x.session.login_with_password("root", "chaintop-demo", "1.0", "prune-test")["Value"]
proxy = x.VM.get_by_name_label(sess, "backup-proxy")["Value"][0]
proxy_vbd = x.VM.get_VBDs(sess, proxy)["Value"][0]
x.session.logout(sess)
def ctl(path, body=None):
    req = urllib.request.Request(url + path, method="POST",
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
pid, fd = pty.fork()
if pid == 0:
    os.execv(exe, [exe, "prune", "-c", conf, "--include-foreign"])
buf = b""
deadline = time.time() + 60
asked = False
while time.time() < deadline:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    buf += chunk
    if not asked and b"Type 'yes'" in buf:
        asked = True
        ctl("/sim/set", {"class": "VDI", "ref": orphan, "field": "type", "value": "suspend"})
        # a planned snapshot disk now also used by another VM: kept, the item goes on
        ctl("/sim/set", {"class": "VDI", "ref": weekly_data, "field": "VBDs", "value": [proxy_vbd]})
        ctl("/sim/fault", {"method": "VDI.destroy", "error": ["VDI_IN_USE", "OpaqueRef:x", "destroy"], "count": 1})
        os.write(fd, b"yes\n")
_, status = os.waitpid(pid, 0)
sys.stdout.write(buf.decode("utf-8", "replace"))
print("\nEXIT=%d" % os.waitstatus_to_exitcode(status))
EOF
)
assert_contains "terminal: asked once" "$out" "Type 'yes' to go ahead"
assert_contains "terminal: exit 1 (some refused/failed)" "$out" "EXIT=1"
assert_contains "fresh re-check refused the orphan" "$out" "Refused VDI.destroy of disk 'orphan-data'"
assert_contains "refusal names the rule" "$out" "it is a suspend VDI"
assert_contains "XAPI failure reported with its code" "$out" "[VDI_IN_USE]"
assert_contains "summary counts both" "$out" "4 done, 1 refused, 1 failed"
assert_contains "kept disk named in the result" "$out" "Kept disk 'app01 data'"
wd8=$(grep -E "^ +[0-9]+\. VDI\.destroy $weekly_data " <<<"$plan" | grep -oE "disk 'app01 data' \([0-9a-f]{8}\)")
assert_contains "disk newly used by another VM kept on fresh data" "$out" "Kept ${wd8}: it is attached to VM 'backup-proxy'"
assert_contains "run recorded" "$out" "Recorded as run"
after_vm=$(xapi_objs VM); after_vdi=$(xapi_objs VDI)
gone=$(comm -23 <(printf '%s\n%s\n' "$before_vm" "$before_vdi" | awk '{print $1}' | sort) \
		<(printf '%s\n%s\n' "$after_vm" "$after_vdi" | awk '{print $1}' | sort))
# Expected: every planned object except the refused orphan, the disk whose destroy failed
# (the first VDI.destroy after the prompt: legacy-snap's disk) and the disk kept because
# another VM uses it now.
expected=$(grep -vxF -e "$orphan_ref" -e "$legacy_disk" -e "$weekly_data" <<<"$planned_refs" | sort)
assert_eq "10 objects removed" "$(grep -c . <<<"$gone")" 10
assert_eq "removed exactly the planned objects (minus refused/failed)" "$gone" "$expected"
calls=$(sim_ctl p GET /sim/calls)
order=$(python3 -c '
import json, sys
m = [c["method"] for c in json.load(sys.stdin)]
# every destroy is right after a get_record of the same object
bad = [i for i, x in enumerate(m) if x.endswith(".destroy") and not m[i-1].endswith("get_record")]
print("ok" if not bad else "bad %s" % bad)' <<<"$calls")
assert_eq "every destroying call right after a fresh get_record" "$order" "ok"

# --- the GC coalesces the freed chains ---
depth_of() { sim_ctl p GET /sim/state | python3 -c "
import json, sys
s = json.load(sys.stdin)
for vm in s['vms']:
    if vm['name'] == '$1':
        print(max(d['depth'] for d in vm['disks']))"; }
d0=$(depth_of app01)
sim_ctl p POST /sim/gc/resume >/dev/null
app01_coalesced() { [ "$(depth_of app01)" -lt "$d0" ] && [ "$(sim_ctl p GET /sim/state | python3 -c "
import json, sys
s = json.load(sys.stdin)
print(next(d['depth'] for vm in s['vms'] if vm['name'] == 'app01' for d in vm['disks'] if d['name'] == 'app01 0'))")" -eq 1 ]; }
if wait_for 60 app01_coalesced; then ok "GC coalesced app01's chain (depth $d0 -> 1)"; else fail "GC did not coalesce app01 (depth $(depth_of app01), was $d0)"; fi

# --- what is left: the failed disk is a snapshot disk no snapshot VM holds now (owner
# unknown), the refused one a suspend image no VM refers to: both listed as kept, deleted
# only with --include-foreign ---
out=$("$CHAINTOP" prune -c "$CONF" --yes 2>&1); rc=$?
assert_eq "second prune exits 0" "$rc" 0
assert_contains "second prune: the disk whose destroy failed is kept (owner unknown)" "$out" "orphan disk 'legacy 0'"
assert_contains "second prune: it says why" "$out" "that no snapshot VM holds (owner unknown"
assert_contains "second prune: the suspend image is reported" "$out" "a suspend image that no VM refers to"
assert_contains "second prune: nothing to do by default" "$out" "Nothing to prune"
out=$("$CHAINTOP" prune -c "$CONF" --include-foreign --yes 2>&1); rc=$?
assert_eq "prune --include-foreign exits 0" "$rc" 0
assert_contains "--include-foreign: both deleted" "$out" "2 done, 0 refused, 0 failed"
out=$("$CHAINTOP" prune -c "$CONF" --yes 2>&1); rc=$?
assert_eq "nothing left exits 0" "$rc" 0
assert_contains "nothing left" "$out" "Nothing to prune"

# --- job history ---
db=$(ls "$T_TMP"/state/chaintop/*.db "$T_TMP"/state/chaintop/*.sqlite* 2>/dev/null | head -n1)
if [ -n "$db" ]; then
	runs=$(python3 -c "
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
t = [r[0] for r in c.execute(\"select name from sqlite_master where type='table'\")]
run = next(x for x in t if x.startswith('run'))
print(c.execute('select count(*) from %s where kind=\"prune\"' % run).fetchone()[0])" "$db" 2>&1)
	assert_eq "two prune runs in the job history" "$runs" 2
	# each deleted item records the bytes on disk its disks held (what the SR gets back)
	freed=$(sqlite3 "$db" "SELECT COUNT(*) FROM items i JOIN runs r ON r.id = i.run_id WHERE r.kind = 'prune' AND i.status = 'success' AND i.bytes > 0")
	deleted=$(sqlite3 "$db" "SELECT COUNT(*) FROM items i JOIN runs r ON r.id = i.run_id WHERE r.kind = 'prune' AND i.status = 'success'")
	assert_eq "prune runs deleted items" "$([ "$deleted" -gt 0 ] && echo yes)" yes
	assert_eq "every deleted item records the bytes it freed" "$freed" "$deleted"
	first=$(sqlite3 "$db" "SELECT id FROM runs WHERE kind = 'prune' ORDER BY id LIMIT 1")
	assert_contains "report RUN says what was destroyed on disk" "$("$CHAINTOP" report -c "$CONF" "$first" 2>&1)" "destroyed: "
else
	fail "no job history database under $T_TMP/state/chaintop"
fi
finish
