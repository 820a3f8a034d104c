#!/bin/bash
# chaintop prune on the simulator's "owners" scenario (issue 13 section 2): a pool holding
# every object prune must never destroy, next to what it may. The dry run (text and
# --json) plans no destroying call for any of them and names each one's owner and reason;
# --include-foreign adds Xen Orchestra's, VMSS and unknown-owner objects but never the
# blocked or protected ones; --yes destroys exactly the plan (the simulator's call log);
# --older-than without a unit is refused.
source "$(dirname "$0")/../lib.sh"

sim_start o --scenario owners --gc-speed 50 || { fail "simulator start"; finish; }
CONF="$T_TMP/owners.conf"
CONF_EXTRA='jobs = ( { name = "nightly"; pool = "owners-lab"; vms = [ "app01" ]; } );' \
	write_config "$CONF" owners-lab "$SIM_URL_o"

# name -> uuid of what must never be destroyed by default, from XAPI's own view
protected_json=$(python3 - "$SIM_URL_o" <<'EOF'
import json, sys, xmlrpc.client
s = xmlrpc.client.ServerProxy(sys.argv[1] + "/")
sess = s.session.login_with_password("root", "chaintop-demo", "1.0", "owners-test")["Value"]
vms = s.VM.get_all_records(sess)["Value"]
vdis = s.VDI.get_all_records(sess)["Value"]
ups = s.pool_update.get_all_records(sess)["Value"]
srs = s.SR.get_all_records(sess)["Value"]
out = {}
for ref, v in vms.items():
    oc = v["other_config"]
    if v["is_a_snapshot"] and (any(k.startswith("xo:backup:") for k in oc) or v["is_vmss_snapshot"]
                               or "destroy" in v["blocked_operations"]):
        out[ref] = "snapshot " + v["name_label"]
        for b in v["VBDs"]:
            pass
upd_vdis = {u["vdi"] for u in ups.values()}
for ref, v in vdis.items():
    sm = v["sm_config"]
    if (any(k.startswith("host_") for k in sm) and not v["VBDs"]) or "mirror" in sm \
            or "base_mirror" in sm or ref in upd_vdis \
            or srs[v["SR"]]["type"] in ("iscsi", "hba", "shm") \
            or (v["is_a_snapshot"] and not v["VBDs"]) \
            or any(k.startswith("xo:backup:") for k in v["other_config"]) \
            or (v["type"] == "suspend" and not v["VBDs"]
                and not any(m["suspend_VDI"] == ref for m in vms.values())):
        out[ref] = "disk " + v["name_label"]
print(json.dumps(out))
s.session.logout(sess)
EOF
)
n_protected=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$protected_json")
# XO snapshot (+ its disk), VMSS snapshot, blocked snapshot, VDI snapshot, SM-attached,
# mirror, base_mirror, pool update, raw LUN, lost suspend image
[ "$n_protected" -ge 11 ] && ok "the scenario holds every object ($n_protected)" ||
	fail "the scenario holds every object: only $n_protected"

destroys() { # the refs of every destroying call since the last clear
	sim_ctl o GET /sim/calls | python3 -c '
import json, sys
for c in json.load(sys.stdin):
    if c["method"].endswith(".destroy") and c["method"] not in ("task.destroy", "message.destroy"):
        print(c["params"][1] if len(c["params"]) > 1 else c["params"][0])'; }

# --- the dry run, text ---
sim_ctl o POST /sim/calls/clear >/dev/null
out=$("$CHAINTOP" prune -c "$CONF" --dry-run 2>&1); rc=$?
assert_eq "dry run exits 0" "$rc" 0
assert_contains "two candidates" "$out" "2 candidates:"
assert_contains "chaintop's stale snapshot is a candidate" "$out" "owner: chaintop job 'nightly'"
assert_contains "the manual checkpoint is a candidate" "$out" "snapshot 'app02 before upgrade'"
assert_contains "the plain orphan is listed" "$out" "orphan disk 'orphan-data'"
assert_contains "the plain orphan is kept by default: owner unknown" "$out" \
	"kept: owner unknown: not used by any VM; --include-foreign to propose it"
assert_contains "the checkpoint's suspend image goes with it" "$out" "suspend image 'Suspend image'"
assert_contains "kept list" "$out" "Kept, not planned (11)"
assert_contains "XO snapshot: owner and job" "$out" \
	"owner: Xen Orchestra backup job 5f0a2c1e-8d5b-4c47-9d8e-0f4b6e1a2b3c"
assert_contains "XO snapshot: why" "$out" "these snapshots are the backups"
assert_contains "VMSS snapshot" "$out" "owner: a VM snapshot schedule (VMSS)"
assert_contains "blocked snapshot" "$out" "blocked_operations block destroy ('Kept for audit (ticket 4411)')"
assert_contains "VDI-level snapshot: owner unknown" "$out" "that no snapshot VM holds (owner unknown"
assert_contains "SM-attached disk" "$out" "SM has it attached on host 'owners-host-01' without a VBD"
assert_contains "mirror source" "$out" "a storage migration is copying it (sm_config mirror)"
assert_contains "mirror destination" "$out" "a storage migration is copying it (sm_config base_mirror)"
assert_contains "pool update VDI" "$out" "it holds the ISO of pool update 'XS82ECU1040'"
assert_contains "raw LUN" "$out" "VDI.destroy there only forgets the LUN"
assert_contains "lost suspend image reported" "$out" "a suspend image that no VM refers to"
assert_contains "plan" "$out" "Plan: 5 XAPI calls, in this order:"
assert_not_contains "no call planned for the plain orphan" "$(grep -E '^ +[0-9]+\. VDI\.destroy ' <<<"$out")" "orphan-data"
plan=$(grep -E '^ +[0-9]+\. (VM|VDI)\.destroy ' <<<"$out")
bad=$(python3 -c '
import json, sys
prot = json.loads(sys.argv[1])
hit = [prot[r] for r in prot if r in sys.argv[2]]
print("; ".join(hit))' "$protected_json" "$plan")
assert_eq "no destroying call planned for any protected or foreign object" "$bad" ""
assert_eq "the dry run made no destroying call" "$(destroys | grep -c .)" 0

# --- the dry run, JSON ---
json=$("$CHAINTOP" prune -c "$CONF" --dry-run --json 2>/dev/null); rc=$?
assert_eq "--json exits 0" "$rc" 0
res=$(python3 - "$protected_json" <<EOF
import json, sys
prot = json.loads(sys.argv[1])
d = json.loads('''$json''')
p = d["pools"][0]
planned = {c["ref"] for c in p["plan"]}
owners = {k["name"]: (k["owner"], k["never"]) for k in p["kept"]}
plain = [k for k in p["kept"] if k["name"] == "orphan-data"][0]
print("plain=%s/%s/%s" % (plain["owner"], plain["never"], plain["reason"].split(";")[0]))
print("planned-protected=%d" % len(planned & set(prot)))
print("calls=%d" % len(p["plan"]))
print("cands=%s" % ",".join(sorted("%s:%s" % (c["name"], c["owner"]) for c in p["candidates"])))
print("xo=%s/%s" % owners["[XO Backup nightly-delta] app01"])
print("vmss=%s/%s" % owners["db01-20261101-0200"])
print("blocked=%s/%s" % owners["db01 audit hold"])
print("lun=%s/%s" % owners["LUN 3"])
print("update=%s/%s" % owners["XS82ECU1040"])
xo = [k for k in p["kept"] if k["owner"] == "xo"][0]
print("xojob=%s" % xo["owner_job"])
print("reasons=%d effects=%d" % (min(len(c["reasons"]) for c in p["candidates"]),
                                 min(len(c["effects"]) for c in p["candidates"])))
EOF
)
assert_contains "JSON: no planned call on a protected object" "$res" "planned-protected=0"
assert_contains "JSON: five calls" "$res" "calls=5"
assert_contains "JSON: candidates and owners" "$res" \
	"cands=app01 nightly"
assert_contains "JSON: manual and none owners" "$res" "app02 before upgrade:manual"
assert_contains "JSON: plain orphan kept, owner none, not never" "$res" "plain=none/False/owner unknown: not used by any VM"
assert_contains "JSON: XO kept, not never" "$res" "xo=xo/False"
assert_contains "JSON: VMSS kept" "$res" "vmss=vmss/False"
assert_contains "JSON: blocked never" "$res" "blocked=manual/True"
assert_contains "JSON: raw LUN never" "$res" "lun=none/True"
assert_contains "JSON: pool update never" "$res" "update=none/True"
assert_contains "JSON: XO job id" "$res" "xojob=5f0a2c1e-8d5b-4c47-9d8e-0f4b6e1a2b3c"
assert_contains "JSON: reasons and effects" "$res" "reasons=1 effects="
out=$("$CHAINTOP" prune -c "$CONF" --json 2>&1); rc=$?
assert_eq "--json without --dry-run is refused" "$rc" 2
assert_contains "--json needs --dry-run: says so" "$out" "add --dry-run"

# --- --include-foreign: the XO, VMSS and unknown-owner objects, never the blocked/protected
out=$("$CHAINTOP" prune -c "$CONF" --dry-run --include-foreign 2>&1); rc=$?
assert_eq "--include-foreign dry run exits 0" "$rc" 0
assert_contains "--include-foreign: XO snapshot planned" "$out" "VM.destroy OpaqueRef"
assert_contains "--include-foreign: XO snapshot listed" "$out" "snapshot '[XO Backup nightly-delta] app01'"
assert_contains "--include-foreign: VMSS snapshot listed" "$out" "snapshot 'db01-20261101-0200'"
assert_contains "--include-foreign: the VDI snapshot listed" "$out" "orphan disk 'db01 0'"
assert_contains "--include-foreign: still kept" "$out" "Kept, not planned (6)"
plan=$(grep -E '^ +[0-9]+\. (VM|VDI)\.destroy ' <<<"$out")
for n in "db01 audit hold" "export-staging" "web09 0 (migrating)" "web09 0 (mirror destination)" \
	 "XS82ECU1040" "LUN 3"; do
	assert_not_contains "--include-foreign never plans '$n'" "$plan" "'$n'"
done
assert_contains "--include-foreign: twelve calls" "$out" "Plan: 12 XAPI calls"

# --- --older-than needs a unit ---
out=$("$CHAINTOP" prune -c "$CONF" --dry-run --older-than 3 2>&1); rc=$?
assert_eq "--older-than 3 is refused" "$rc" 2
assert_contains "--older-than 3: says why and what to write" "$out" "has no unit: write '3s' if you mean seconds, or '3d' for days"
out=$("$CHAINTOP" prune -c "$CONF" --dry-run --older-than 3d 2>&1); rc=$?
assert_eq "--older-than 3d is fine" "$rc" 0

# --- --yes destroys exactly the plan ---
plan_refs=$("$CHAINTOP" prune -c "$CONF" --dry-run 2>/dev/null | grep -E '^ +[0-9]+\. (VM|VDI)\.destroy ' |
	awk '{print $3}' | sort)
sim_ctl o POST /sim/calls/clear >/dev/null
out=$("$CHAINTOP" prune -c "$CONF" --yes 2>&1); rc=$?
assert_eq "prune --yes exits 0" "$rc" 0
assert_contains "prune --yes: all done" "$out" "2 done, 0 refused, 0 failed"
assert_eq "destroying calls are exactly the plan" "$(destroys | sort)" "$plan_refs"
left=$(python3 - "$SIM_URL_o" "$protected_json" <<'EOF'
import json, sys, xmlrpc.client
s = xmlrpc.client.ServerProxy(sys.argv[1] + "/")
sess = s.session.login_with_password("root", "chaintop-demo", "1.0", "owners-test")["Value"]
prot = json.loads(sys.argv[2])
have = set(s.VM.get_all(sess)["Value"]) | set(s.VDI.get_all(sess)["Value"])
print(len([r for r in prot if r in have]))
s.session.logout(sess)
EOF
)
assert_eq "every protected or foreign object is still there" "$left" "$n_protected"
plain_left=$(python3 - "$SIM_URL_o" <<'PY'
import sys, xmlrpc.client
s = xmlrpc.client.ServerProxy(sys.argv[1] + "/")
sess = s.session.login_with_password("root", "chaintop-demo", "1.0", "owners-test")["Value"]
print(len(s.VDI.get_by_name_label(sess, "orphan-data")["Value"]))
s.session.logout(sess)
PY
)
assert_eq "the plain orphan (owner unknown) is still there" "$plain_left" 1

# the simulator refuses VM.destroy on the blocked snapshot as xapi does
blocked=$(python3 - "$SIM_URL_o" <<'EOF'
import sys, xmlrpc.client
s = xmlrpc.client.ServerProxy(sys.argv[1] + "/")
sess = s.session.login_with_password("root", "chaintop-demo", "1.0", "owners-test")["Value"]
ref = s.VM.get_by_name_label(sess, "db01 audit hold")["Value"][0]
r = s.VM.destroy(sess, ref)
print(r["Status"], r.get("ErrorDescription", [])[0], r.get("ErrorDescription", [""])[1] == ref)
s.session.logout(sess)
EOF
)
assert_eq "sim: VM.destroy of a blocked VM is OPERATION_BLOCKED [ref, reason]" "$blocked" "Failure OPERATION_BLOCKED True"
finish
