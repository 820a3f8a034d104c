#!/usr/bin/env bash
# `chaintop report`: runs newest first (backup and prune), --last, --since, --job, --failed
# (exit 1), --json, one run in detail with its steps, XAPI errors (code, params, sentence),
# each reason once and the chain as text; --incident; backup --quiet; allow_plain_http.
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

# --- a run in detail: each reason once, the chain as text, where it ran (issue 16) ---------
out=$("$CHAINTOP" report -c "$CONF" 2)
assert_eq "detail: the gate's reason is said once" "$(grep -c 'stacked base copies above disk' <<<"$out")" 1
assert_contains "detail: the outcome points to the reasons" "$out" "--force bypasses): see the reasons"
assert_contains "detail: so does the gate step" "$(grep ' gate ' <<<"$out")" "see the reasons"
assert_contains "detail: the chain as text, leaf first" "$out" "xvda: 'stacked-vm 0' "
assert_contains "detail: with its base copies" "$out" " <- base copy "
assert_not_contains "detail: no raw JSON" "$out" '"vdi_uuid"'
assert_contains "detail: on host H, pid P" "$out" ", on host $(hostname), pid "
out=$("$CHAINTOP" report -c "$CONF" 3)
assert_contains "detail: a forced gate points to the reasons" "$(grep ' gate ' <<<"$out")" "bypassed with --force: see the reasons"

# --- --failed exits 1 when it lists a run; dry runs are not failures ------------------------
"$CHAINTOP" backup -c "$CONF" --job nightly --dry-run >/dev/null 2>&1   # run 5: dry, skips stacked-vm
out=$("$CHAINTOP" report -c "$CONF" --json --last 1)
assert_eq "the dry run is recorded" "$(jq -r '.runs[0] | "\(.id) \(.dry_run)"' <<<"$out")" "5 true"
out=$("$CHAINTOP" report -c "$CONF" --failed --json); rc=$?
assert_eq "--failed: exit 1 when it lists failures" "$rc" 1
assert_eq "--failed: the dry run is not a failure" "$(jq -r '[.runs[].id] | join(",")' <<<"$out")" "3,2"
out=$("$CHAINTOP" report -c "$CONF" --failed --job nosuch); rc=$?
assert_eq "--failed, none: exit 0" "$rc" 0
assert_contains "--failed, none: says so" "$out" "no failed, interrupted or skipped runs of job 'nosuch' in the job history"
out=$("$CHAINTOP" report -c "$CONF" --job nightly --json)
assert_eq "--job: only that job's runs" "$(jq -r '[.runs[].id] | join(",")' <<<"$out")" "5,2"
out=$("$CHAINTOP" report -c "$CONF" --job nightly --failed); rc=$?
assert_eq "--job --failed: exit 1" "$rc" 1
assert_eq "--job --failed: run 2 alone" "$(grep -Ec '^. [0-9]+ ' <<<"$out")" 1
out=$("$CHAINTOP" report -c "$CONF" --since 1h --json)
assert_eq "--since 1h: every run of the last hour" "$(jq -r '.runs | length' <<<"$out")" 5
out=$("$CHAINTOP" report -c "$CONF" --since 24 2>&1); rc=$?
assert_eq "--since without a unit: exit 2" "$rc" 2
assert_contains "--since without a unit: says how to write it" "$out" "--since '24' has no unit: write '24h' for hours"
out=$("$CHAINTOP" report -c "$CONF" --since soon 2>&1); rc=$?
assert_eq "--since not a duration: exit 2" "$rc" 2
out=$("$CHAINTOP" report -c "$CONF" --failed 2 2>&1); rc=$?
assert_eq "RUN_ID with --failed: exit 2" "$rc" 2
assert_contains "RUN_ID with --failed: says why" "$out" "give one or the other"

# --- --incident: a Markdown summary to paste in a ticket --------------------------------------
out=$("$CHAINTOP" report -c "$CONF" --incident 2>"$T_TMP/inc.err"); rc=$?
assert_eq "incident: exit 0" "$rc" 0
assert_contains "incident: title with the status" "$out" "# chaintop incident summary: WARNING"
assert_contains "incident: the pools and their state" "$out" "| backup-lab | connected | WARNING | 2 |"
assert_contains "incident: a problem with its kind, object and full reason" "$out" \
	"- \`stacked\` pool 'backup-lab', VM 'stacked-vm' ("
assert_contains "incident: the whole reason" "$out" "(an SR scan starts one): let it coalesce them before snapshotting"
assert_contains "incident: grouped by severity" "$out" "### WARNING (2)"
assert_contains "incident: the chains involved, as text" "$out" "    'stacked-vm 0' "
assert_contains "incident: the chain's SR" "$out" "Pool 'backup-lab', SR 'nfs-backup' (leaf first"
assert_contains "incident: GC state per SR" "$out" "| backup-lab | nfs-backup | nfs |"
assert_contains "incident: recent job failures" "$out" "## Job failures (last 24 h)"
assert_contains "incident: the failed run" "$out" "| 3 | backup | big | backup-lab |"
assert_not_contains "incident: dry runs are not failures" "$out" "| 5 | backup |"
assert_not_contains "incident: nothing unescaped from a table cell" "$(grep '^| [0-9]' <<<"$out" | grep -v '\\`')" '`'
write_config "$T_TMP/two.conf" backup-lab "$SIM_URL_b" gone "http://127.0.0.1:9"
out=$("$CHAINTOP" report -c "$T_TMP/two.conf" --incident 2>"$T_TMP/inc.err"); rc=$?
assert_eq "incident, a pool down: exit 1" "$rc" 1
assert_contains "incident, a pool down: UNKNOWN with the reason" "$out" "| gone | not loaded: "
assert_contains "incident, a pool down: pool_down problem" "$out" "- \`pool_down\` pool 'gone' could not be loaded: "
assert_contains "incident, a pool down: the other pool still judged" "$out" "VM 'stacked-vm'"
out=$("$CHAINTOP" report -c "$CONF" --incident --json 2>&1); rc=$?
assert_eq "incident with list options: exit 2" "$rc" 2

# --- backup --quiet: only problems (cron mails stay short) ------------------------------------
out=$("$CHAINTOP" backup -c "$CONF" --vm web02 --quiet 2>/dev/null); rc=$?
assert_eq "quiet, all well: exit 0" "$rc" 0
assert_eq "quiet, all well: prints nothing" "$out" ""
out=$("$CHAINTOP" backup -c "$CONF" --job nightly --quiet 2>/dev/null); rc=$?
assert_eq "quiet, a VM skipped: exit 1" "$rc" 1
assert_contains "quiet, a VM skipped: the skip with its reason" "$out" "stacked-vm] WARNING: skipped: "
assert_eq "quiet, a VM skipped: its reason said once" "$(grep -c 'stacked base copies above disk' <<<"$out")" 1
assert_contains "quiet, a VM skipped: the run's summary" "$out" "WARNING: job 'nightly' on pool 'backup-lab' finished"
assert_not_contains "quiet: no progress of what went well" "$out" "web01"
assert_not_contains "quiet: no loading line" "$out" "loading pool"

# --- the http:// warning, silenced for a lab pool that says so -------------------------------
out=$("$CHAINTOP" backup -c "$CONF" --vm web02 --quiet 2>&1)
assert_contains "http:// warned by default, even with --quiet" "$out" "pool 'backup-lab' uses http://"
assert_contains "the warning names the setting that silences it" "$out" "tls = { allow_plain_http = true; }"
sed 's|password_env = "CHAINTOP_TEST_PASSWORD"; }|password_env = "CHAINTOP_TEST_PASSWORD"; tls = { allow_plain_http = true; }; }|' \
	"$CONF" >"$T_TMP/lab.conf"
out=$("$CHAINTOP" backup -c "$T_TMP/lab.conf" --vm web02 --quiet 2>&1); rc=$?
assert_eq "allow_plain_http: the backup runs" "$rc" 0
assert_eq "allow_plain_http: not a word (quiet and no warning)" "$out" ""
finish
