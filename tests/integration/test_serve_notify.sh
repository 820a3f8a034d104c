#!/bin/bash
# chaintop serve notifies transitions through the global notify block: a pool that goes down,
# a new CRITICAL problem (a chain whose parent is gone), each once it has lasted
# serve.notify_after, once per occurrence; a transition shorter than that is not sent; the
# command gets the JSON document on stdin and the summary in CHAINTOP_SUMMARY.
source "$(dirname "$0")/../lib.sh"

sim_start co --scenario coalescing --gc-speed 0 || { fail "simulator (coalescing) starts"; finish; }
sim_start b --scenario backup --gc-speed 0 || { fail "simulator (backup) starts"; finish; }
OUT="$T_TMP/notified"
mkdir -p "$OUT"
# each call: its stdin and environment in a file of its own
CONF_EXTRA="serve = { notify_after = \"3s\"; };
notify = { command = \"n=\$(date +%s%N); cat > $OUT/\$n.json; env | grep ^CHAINTOP_ > $OUT/\$n.env\"; on = \"failure\"; timeout = \"10s\"; };" \
	write_config "$T_TMP/c.conf" coalesce-lab "$SIM_URL_co" backup-lab "$SIM_URL_b"

"$CHAINTOP" serve -c "$T_TMP/c.conf" --listen 127.0.0.1:0 2>"$T_TMP/serve.log" &
PID=$!
T_PIDS+=("$PID")
up() { grep -q "pool 'backup-lab' connected" "$T_TMP/serve.log" && grep -q "pool 'coalesce-lab' connected" "$T_TMP/serve.log"; }
check "serve starts, both pools connect" wait_for 30 up
assert_contains "the log says where transitions go" "$(cat "$T_TMP/serve.log")" "go to the notify block's command"
sent() { cat "$OUT"/*.json 2>/dev/null; }
count() { ls "$OUT"/*.json 2>/dev/null | wc -l; }

# --- a CRITICAL that lasts: a disk's parent is gone --------------------------------------------
vdi=$(sim_ctl co GET /sim/state | jq -r '[.vms[] | select(.is_a_snapshot | not) | .disks[0].uuid][0]')
sim_ctl co POST /sim/set "{\"class\":\"VDI\",\"uuid\":\"$vdi\",\"field\":\"sm_config\",\"key\":\"vhd-parent\",\"value\":\"deadbeef-0000-4000-8000-000000000000\"}" >/dev/null
has_critical() { [ -n "$(sent | jq -c --arg v "$vdi" 'select(.events[] | .type == "critical" and (.key | endswith($v)))' 2>/dev/null)" ]; }
check "a broken chain is notified" wait_for 30 has_critical
doc=$(sent | jq -c --arg v "$vdi" 'select(.events[] | .key | endswith($v))' | head -n1)
assert_eq "the document names the pool" "$(jq -r .pool <<<"$doc")" coalesce-lab
assert_eq "kind transition" "$(jq -r .kind <<<"$doc")" transition
assert_contains "the reason as check words it" "$(jq -r '.events[0].text' <<<"$doc")" "deadbeef"
env=$(cat "$OUT"/*.env)
assert_contains "CHAINTOP_SUMMARY names the pool" "$env" "CHAINTOP_SUMMARY=chaintop serve: pool 'coalesce-lab':"
assert_contains "CHAINTOP_KIND" "$env" "CHAINTOP_KIND=transition"
n=$(count)
sleep 4   # judged again several times: still broken, not sent again
assert_eq "a lasting problem is sent once" "$(count)" "$n"

# --- a blink shorter than notify_after is not sent; a lasting pool down is --------------------
sim_ctl co POST /sim/set "{\"class\":\"VDI\",\"uuid\":\"$vdi\",\"field\":\"sm_config\",\"key\":\"vhd-parent\",\"value\":null}" >/dev/null
vdi2=$(sim_ctl co GET /sim/state | jq -r '[.vms[] | select(.is_a_snapshot | not) | .disks[0].uuid][1]')
sim_ctl co POST /sim/set "{\"class\":\"VDI\",\"uuid\":\"$vdi2\",\"field\":\"sm_config\",\"key\":\"vhd-parent\",\"value\":\"deadbeef-0000-4000-8000-000000000001\"}" >/dev/null
sleep 1.5   # judged within a second of the change: seen, but for less than notify_after
sim_ctl co POST /sim/set "{\"class\":\"VDI\",\"uuid\":\"$vdi2\",\"field\":\"sm_config\",\"key\":\"vhd-parent\",\"value\":null}" >/dev/null
kill "$SIM_PID_b"; wait "$SIM_PID_b" 2>/dev/null
has_down() { [ -n "$(sent | jq -c 'select(.pool == "backup-lab" and (.events[] | .type == "pool_down"))' 2>/dev/null)" ]; }
check "a pool down for longer than notify_after is notified" wait_for 30 has_down
assert_contains "the log says it was sent" "$(cat "$T_TMP/serve.log")" "notified: chaintop serve: pool 'backup-lab'"
assert_eq "a problem that lasted less than notify_after was not sent" \
	"$(sent | jq -c --arg v "$vdi2" 'select(.events[] | .key | endswith($v))' | wc -l)" 0

kill -TERM "$PID"; wait "$PID"; rc=$?
assert_eq "SIGTERM: exit 0" "$rc" 0

# --- on = "never": nothing is started -----------------------------------------------------------
CONF_EXTRA="serve = { notify_after = \"0s\"; };
notify = { command = \"touch $T_TMP/never\"; on = \"never\"; };" \
	write_config "$T_TMP/never.conf" coalesce-lab "$SIM_URL_co"
"$CHAINTOP" serve -c "$T_TMP/never.conf" --listen 127.0.0.1:0 2>"$T_TMP/never.log" &
PID=$!
T_PIDS+=("$PID")
conn() { grep -q "pool 'coalesce-lab' connected" "$T_TMP/never.log"; }
check "serve with on = never starts" wait_for 30 conn
assert_not_contains "no notify thread announced" "$(cat "$T_TMP/never.log")" "go to the notify block"
kill -TERM "$PID"; wait "$PID"
assert_eq "nothing was run" "$([ -e "$T_TMP/never" ] && echo ran || echo no)" no
finish
