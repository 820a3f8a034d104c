#!/usr/bin/env bash
# "Can this SR keep up?": a backup job's runs record each disk's size right before the
# snapshot; `check` compares the chain work a run adds (the leaf's data, written since the
# run before) with the SR's measured merge rate, and warns when the GC falls behind.
source "$(dirname "$0")/../lib.sh"

sim_start b --scenario backup --gc-speed 0 || { fail "simulator"; finish; }
CONF="$T_TMP/c.conf"
STATE="$T_TMP/state/chaintop"
CONF_EXTRA='jobs = ( { name = "nightly"; pool = "backup-lab"; vms = [ "web01" ]; mode = "snapshot"; retention = 2; } );'
write_config "$CONF" backup-lab "$SIM_URL_b"

state() { sim_ctl b GET /sim/state; }
leaf=$(state | jq -r '.vms[] | select(.name == "web01" and (.is_a_snapshot | not)) | .disks[0].uuid')
sr=$(state | jq -r '.srs[] | select(.name == "nfs-backup") | .uuid')
GIB=$((1024 * 1024 * 1024))

"$CHAINTOP" backup -c "$CONF" --job nightly >/dev/null 2>&1
assert_eq "first run: exit 0" "$?" 0
# runs are told apart by the second they ran in
t0=$(date +%s); next_second() { [ "$(date +%s)" -gt "$t0" ]; }
wait_for 5 next_second
# 50 GiB written to web01 since its snapshot
sim_ctl b POST /sim/set "{\"class\":\"VDI\",\"uuid\":\"$leaf\",\"field\":\"physical_utilisation\",\"value\":$((50 * GIB))}" >/dev/null
"$CHAINTOP" backup -c "$CONF" --job nightly >/dev/null 2>&1
assert_eq "second run: exit 0" "$?" 0
assert_eq "history: each run recorded web01's disk" \
	"$(sqlite3 "$STATE/jobs.db" "SELECT COUNT(*) FROM disks WHERE vdi_uuid = '$leaf' AND sr_uuid = '$sr'")" 2
assert_eq "history: the leaf's data right before the second snapshot" \
	"$(sqlite3 "$STATE/jobs.db" "SELECT physical_utilisation FROM disks ORDER BY id DESC LIMIT 1")" $((50 * GIB))

# no merge rate measured yet: nothing said (no invented figures)
OUT=$("$CHAINTOP" check -c "$CONF" 2>&1)
assert_not_contains "rate unknown: no keep-up sentence" "$OUT" "of chain work"

# the SR's measured merge rate (as check keeps it): 1 GiB/h, far below the job's pace
python3 - "$STATE/stall.json" "$sr" <<'PY'
import json, sys
path, sr = sys.argv[1:]
d = json.load(open(path))
d["srs"] = [e for e in d["srs"] if e["sr_uuid"] != sr] + [{"sr_uuid": sr, "pending": 0,
    "since": 0, "gc_progress": None, "gc_progress_at": 0, "gc_seen_at": 0, "gc_failed_at": 0,
    "work_bytes": 0, "work_at": 0, "rate": 1024 ** 3 / 3600.0}]
json.dump(d, open(path, "w"))
PY
OUT=$("$CHAINTOP" check -c "$CONF" 2>&1); RC=$?
assert_eq "check: WARNING exit" "$RC" 1
assert_contains "text: the sentence" "$OUT" "WARNING"
assert_contains "text: SR and its rate" "$OUT" "SR 'nfs-backup' of pool 'backup-lab' merges 1.0 GiB/h; job 'nightly' adds ~"
assert_contains "text: per run" "$OUT" "50.0 GiB a run, every "
assert_contains "text: growth and the gate's limit" "$OUT" "chains will grow by ~"
assert_contains "text: what to do" "$OUT" "run the job less often or move its busiest disks to another SR"
OUT=$("$CHAINTOP" check -c "$CONF" --format json 2>/dev/null)
assert_eq "json: a WARNING problem on the SR" \
	"$(jq -r --arg u "$sr" '[.problems[] | select(.uuid == $u and .severity == "WARNING" and (.reason | contains("of chain work")))] | length' <<<"$OUT")" 1
OUT=$("$CHAINTOP" check -c "$CONF" --format nagios 2>/dev/null)
assert_contains "nagios: WARNING with the sentence" "$OUT" "job 'nightly' adds ~"
OUT=$("$CHAINTOP" check -c "$CONF" --format prometheus 2>/dev/null)
assert_eq "prometheus: the SR's severity is WARNING" \
	"$(grep "^chaintop_sr_severity{.*sr_uuid=\"$sr\"" <<<"$OUT" | awk '{print $2}')" 1

# a fast SR: it keeps up, nothing said
python3 - "$STATE/stall.json" "$sr" <<'PY'
import json, sys
path, sr = sys.argv[1:]
d = json.load(open(path))
for e in d["srs"]:
    if e["sr_uuid"] == sr:
        e["rate"] = 1024.0 ** 4
json.dump(d, open(path, "w"))
PY
OUT=$("$CHAINTOP" check -c "$CONF" 2>&1)
assert_not_contains "keeps up: no warning" "$OUT" "of chain work"
finish
