#!/usr/bin/env bash
# `chaintop report`: runs newest first (backup and prune), --last, --failed, --json, one run
# in detail with its steps, XAPI errors (code, params, sentence), reasons and chain.
source "$(dirname "$0")/../lib.sh"

sim_start b --scenario backup --gc-speed 0 || { fail "simulator"; finish; }
CONF="$T_TMP/c.conf"
CONF_EXTRA='jobs = ( { name = "nightly"; pool = "backup-lab"; vms = [ "web01", "stacked-vm" ]; retention = 0; },
                     { name = "big"; pool = "backup-lab"; vms = [ "bigdisk-vm" ]; retention = 0; } );'
write_config "$CONF" backup-lab "$SIM_URL_b"

out=$("$CHAINTOP" report -c "$CONF" 2>&1); rc=$?
assert_eq "empty history: exit 0" "$rc" 0
assert_contains "empty history: says so" "$out" "no runs in the job history yet"

"$CHAINTOP" backup -c "$CONF" --vm web02 >/dev/null 2>&1        # run 1: success
"$CHAINTOP" backup -c "$CONF" --job nightly >/dev/null 2>&1     # run 2: skipped (stacked-vm)
"$CHAINTOP" backup -c "$CONF" --job big --force >/dev/null 2>&1 # run 3: failure (44)
sleep 1
"$CHAINTOP" prune -c "$CONF" --older-than 1s --yes >/dev/null 2>&1  # run 4: prune of the snapshots above (written by prune.c)

out=$("$CHAINTOP" report -c "$CONF" 2>&1); rc=$?
assert_eq "list: exit 0" "$rc" 0
assert_contains "list: header" "$out" "ID     KIND    JOB"
ids=$(sed -n '2,$p' <<<"$out" | cut -c3- | awk '{printf "%s ", $1}')
assert_eq "list: newest first" "$ids" "4 3 2 1 "
assert_contains "list: prune runs shown" "$out" "prune"
assert_contains "list: counts" "$(grep -E '^. 2 ' <<<"$out")" "1/1/0"
assert_contains "list: status of the failed run" "$(grep -E '^. 3 ' <<<"$out")" "failure"
out=$("$CHAINTOP" report -c "$CONF" --last 2)
assert_eq "--last 2" "$(grep -Ec '^. [0-9]+ ' <<<"$out")" 2
out=$("$CHAINTOP" report -c "$CONF" --failed --json)
assert_eq "--failed: skipped and failed runs" "$(jq -r '[.runs[].id] | join(",")' <<<"$out")" "3,2"
assert_eq "--json: kind" "$(jq -r '.runs[1].kind' <<<"$out")" backup
assert_eq "--json: counts" "$(jq -r '.runs[1] | "\(.ok) \(.skipped) \(.failed)"' <<<"$out")" "1 1 0"
assert_eq "--json list: prune kind" "$("$CHAINTOP" report -c "$CONF" --json --last 1 | jq -r '.runs[0].kind')" prune

out=$("$CHAINTOP" report -c "$CONF" 3)
assert_contains "detail: header" "$out" "Run 3: backup of job 'big' on pool 'backup-lab': failure"
assert_contains "detail: XAPI code and params" "$out" 'XAPI error: SR_BACKEND_FAILURE_44 ["", "There is insufficient space", ""]'
assert_contains "detail: a sentence" "$out" "bigdisk-vm"
assert_contains "detail: steps with times" "$out" "snapshot   failure"
assert_contains "detail: forced gate" "$out" "gate       forced"
out=$("$CHAINTOP" report -c "$CONF" 2)
assert_contains "detail: skipped VM" "$out" "stacked-vm"
assert_contains "detail: reasons" "$out" "stacked base copies above disk"
assert_contains "detail: chain as judged" "$out" "chain as judged:"
j=$("$CHAINTOP" report -c "$CONF" --json 2)
assert_eq "detail --json: items" "$(jq -r '[.run.items[].status] | join(",")' <<<"$j")" "skipped,success"
assert_eq "detail --json: chain" "$(jq -r '.run.items[0].chain[0].stacked' <<<"$j")" 2
assert_eq "detail --json: snapshot uuid" "$(jq -r '.run.items[1].snapshot_uuid | length' <<<"$j")" 36
jq -e '.run.items[1].steps[0].start | test("^[0-9]{8}T")' <<<"$j" >/dev/null && ok "detail --json: UTC times" || fail "detail --json: times"

out=$("$CHAINTOP" report -c "$CONF" 99 2>&1); rc=$?
assert_eq "unknown run: exit 2" "$rc" 2
assert_contains "unknown run: says so" "$out" "no run 99"
out=$("$CHAINTOP" report -c "$CONF" --last x 2>&1); rc=$?
assert_eq "bad --last: exit 2" "$rc" 2
finish
