#!/bin/bash
# UI: operator habits, part 2 (issue 16): n/N go from match to match in Health and Snapshots
# too (wrapping around and saying so, as in the tree), and s sorts Health by severity, by
# pool, then by age (when this console first saw each problem, oldest first).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

# no GC: the problems stay as they are until the test changes them
sim_start prod --scenario demo --gc-speed 0 || { fail "simulator prod starts"; finish; }
sim_start lab --scenario coalescing --gc-speed 0 || { fail "simulator lab starts"; finish; }
write_config "$T_TMP/c.conf" prod "$SIM_URL_prod" lab "$SIM_URL_lab"

ui_start -- -c "$T_TMP/c.conf"
ui_check "both pools up" "lab: connected"
ui_check "prod up" "prod: connected"
ui_keys 2
ui_check "Health view" "SEVERITY"
ui_check "lab's problem is listed" "'stacked-vm xvda'"
ui_check "prod's too" "'legacy-erp xvda'"

# problem rows: "! CRITICAL", "* WARNING", "? ..." (the pool column third)
rows() { ui_screen | grep -E '^[!*?] [A-Z]+ '; }
sel_text() { ui_selected | cut -f2; }
wait_sel() {   # wait until the selected row contains $1
	local i s
	for i in $(seq 1 50); do s=$(sel_text); case "$s" in *"$1"*) break;; esac; sleep 0.1; done
	printf '%s' "$s"
}

# n/N in Health: two problems name gitlab
ui_keys /; ui_keys -l gitlab; ui_keys Enter
ui_check "Health filter" "filter: gitlab"
ui_check_gone "the filter hides the rest" "'legacy-erp xvda'"
assert_eq "two problems match" "$(rows | wc -l)" "2"
ui_keys g
s=$(wait_sel "gitlab xvda"); assert_contains "Home: the first match" "$s" "gitlab xvda"
ui_keys n
s=$(wait_sel "gitlab xvdb"); assert_contains "n selects the next match" "$s" "gitlab xvdb"
if ui_lacks "search wrapped around"; then ok "no wrap yet"; else fail "said wrapped too early"; fi
ui_keys n
s=$(wait_sel "gitlab xvda"); assert_contains "n on the last match wraps to the first" "$s" "gitlab xvda"
ui_check "and says so" "search wrapped around"
ui_keys x
ui_check "x clears Health's filter" "filter cleared"
ui_keys N
ui_check "N without a filter says how to set one" "no filter: / sets one"
ui_keys /; ui_keys -l "no-such-zz"; ui_keys Enter n
ui_check "n with nothing matching says so" "no row matches 'no-such-zz'"
ui_keys x
ui_check "the rows are back" "'legacy-erp xvda'"

# s in Health: severity (all WARNING here: prod's, then lab's), pool (lab before prod), age
ui_check_gone "the default order shows no sort tag" "[sorted by"
assert_contains "severity order: pools in their configured order" "$(rows | head -n1)" " prod "
ui_keys s
ui_check "s sorts by pool" "[sorted by pool]"
ui_check "and says what comes next" "problems sorted by pool (s: age next)"
for i in $(seq 1 50); do case "$(rows | head -n1)" in *" lab "*) break;; esac; sleep 0.1; done
assert_contains "by pool name: lab first" "$(rows | head -n1)" " lab "
assert_contains "prod last" "$(rows | tail -n1)" " prod "
ui_keys s s
ui_check "back to severity" "problems sorted by severity (s: pool next)"
ui_check_gone "no tag for the default" "[sorted by"

# a new problem, a second or more after the others were first seen: the full SR is first
# by severity (CRITICAL) and last by age (the newest)
sleep 1.5
sim_ctl prod POST "/sim/sr/free?sr=nfs-vmstore&bytes=0" >/dev/null
ui_check "the full SR is a new row" "SR 'nfs-vmstore' 0.0% free: "
for i in $(seq 1 50); do case "$(rows | head -n1)" in *CRITICAL*) break;; esac; sleep 0.1; done
assert_contains "by severity it comes first" "$(rows | head -n1)" "SR 'nfs-vmstore' 0.0% free"
ui_keys s s
ui_check "s s sorts by age" "[sorted by age]"
ui_check "with an AGE column" " AGE "
for i in $(seq 1 50); do case "$(rows | tail -n1)" in *"nfs-vmstore' 0.0% free"*) break;; esac; sleep 0.1; done
assert_contains "by age the newest problem is last" "$(rows | tail -n1)" "SR 'nfs-vmstore' 0.0% free"
first=$(rows | head -n1)
assert_not_contains "and an older one first" "$first" "0.0% free"
# the first row's age is larger than the last's (seconds, or a coarser unit)
a1=$(awk '{print $5}' <<<"$first"); a2=$(rows | tail -n1 | awk '{print $5}')
case "$a1" in *s) [ "${a1%s}" -gt "${a2%s}" ] && ok "AGE: older first ($a1 > $a2)" || fail "AGE order: $a1 then $a2";;
	*) ok "AGE: older first ($a1)";; esac
# the first-seen time survives a rebuild: a filter and its clearing keep the order
ui_keys /; ui_keys -l "free"; ui_keys Enter x
ui_check "filter cleared again" "filter cleared"
assert_contains "still last after a rebuild" "$(rows | tail -n1)" "SR 'nfs-vmstore' 0.0% free"
ui_keys s
ui_check "s again: severity" "problems sorted by severity"
ui_check_gone "the tag goes" "[sorted by"
ui_check_gone "and the AGE column" " AGE "

# n/N in Snapshots: the group headers are not matches
ui_keys 3
ui_check "Snapshots view" "SPACE BACK"
ui_keys /; ui_keys -l "old"; ui_keys Enter
ui_check "Snapshots filter" "filter: old"
ui_check "old-crm's snapshot matches" "old-crm final"
ui_check "intranet-old's too" "intranet-old final"
ncand=$(ui_screen | grep -cE '^  \[.\] ')
[ "$ncand" -ge 2 ] && ok "$ncand candidates match" || fail "candidates matching: $ncand"
ui_keys g
for i in $(seq 1 50); do case "$(sel_text)" in "pool '"*) break;; esac; sleep 0.1; done
assert_contains "Home selects the first group header" "$(sel_text)" "pool '"
ui_keys n
for i in $(seq 1 50); do case "$(sel_text)" in "  ["*) break;; esac; sleep 0.1; done
first=$(sel_text)
assert_contains "n selects the first candidate, not a header" "$first" "  [ ] "
assert_contains "one the filter matches" "$first" "old"
for k in $(seq 2 "$ncand"); do
	prev=$(sel_text); ui_keys n
	for i in $(seq 1 50); do [ "$(sel_text)" != "$prev" ] && break; sleep 0.1; done
	assert_contains "n: candidate $k, skipping headers" "$(sel_text)" "  [ ] "
done
if ui_lacks "search wrapped around"; then ok "no wrap before the last match"; else fail "wrapped early"; fi
ui_keys n
for i in $(seq 1 50); do [ "$(sel_text)" = "$first" ] && break; sleep 0.1; done
assert_eq "n after the last match wraps to the first" "$(sel_text)" "$first"
ui_check "and says so" "search wrapped around"
ui_keys x
ui_check "Snapshots filter cleared" "filter cleared"
ui_keys N
ui_check "N without a filter says how to set one" "no filter: / sets one"

# help: the keys apply to the three views
ui_keys '?'
ui_check "help: n in the three views" "next-match tree,health,snap"
ui_check "help: N too" "prev-match tree,health,snap"
ui_check "help: s too" "sort       tree,health,snap"
ui_keys q
ui_keys 1 q
ui_check "quits" "chaintop exited rc=0"
[ -z "$(ui_stderr)" ] && ok "nothing on stderr" || { fail "stderr:"; ui_stderr | head -20; }
finish
