#!/bin/bash
# The command line (issue 15 step 6): one option parser for every command. --help from each
# command's table; an unknown option, an abbreviation, a flag given a value or a missing value
# names the command and the option and shows that command's usage (exit 2, check: 3); the
# common options are taken before or after the command, as --opt VALUE or --opt=VALUE.
source "$(dirname "$0")/../lib.sh"

run() { # args...: sets OUT, ERR, RC
	OUT=$("$CHAINTOP" "$@" 2>"$T_TMP/err"); RC=$?
	ERR=$(cat "$T_TMP/err")
}

# --- every command: --help and -h, an unknown option --------------------------------------
for cmd in tree events check backup prune report scan verify; do
	usage_rc=2; [ "$cmd" = check ] && usage_rc=3
	run "$cmd" --help
	assert_eq "$cmd --help: exit 0" "$RC" 0
	assert_eq "$cmd --help: the usage on stdout" "$(head -n1 <<<"$OUT" | cut -d' ' -f1-3)" "usage: chaintop $cmd"
	run "$cmd" -h
	assert_eq "$cmd -h: exit 0" "$RC" 0
	run "$cmd" --bogus
	assert_eq "$cmd --bogus: exit $usage_rc" "$RC" "$usage_rc"
	assert_eq "$cmd --bogus: names the command and the option" "$(head -n1 <<<"$ERR")" \
		"chaintop $cmd: unknown option '--bogus'"
	assert_contains "$cmd --bogus: then that command's usage" "$ERR" "usage: chaintop $cmd "
	assert_eq "$cmd --bogus: nothing on stdout" "$OUT" ""
done

# --- the help is generated from the table: each option with its argument and help -----------
run backup --help
assert_contains "backup --help: short and long forms" "$OUT" "  -q, --quiet "
assert_contains "backup --help: the argument's name" "$OUT" "  --vm NAME|UUID "
assert_contains "backup --help: help continued under its column" "$OUT" \
	"                   may be a glob, tag:NAME selects by tag; repeatable"
run report --help
assert_contains "report --help: --since" "$OUT" "--since DURATION"
assert_contains "report --help: --incident" "$OUT" "--incident"
run --help
assert_eq "chaintop --help: exit 0" "$RC" 0
assert_contains "chaintop --help: the commands" "$OUT" "  report   show the job history and failure reports"
assert_contains "chaintop --help: the common options" "$OUT" "  -c, --config FILE "
assert_contains "chaintop --help: --pool" "$OUT" "  --pool NAME "
run --version
assert_eq "--version" "$OUT" "chaintop $(sed -n 's/^VERSION *:= *//p' "$T_ROOT/Makefile")"

# --- what is wrong, said once, with the command's usage ------------------------------------
run backup --job
assert_eq "missing value: exit 2" "$RC" 2
assert_eq "missing value: which command, which option, what it takes" "$(head -n1 <<<"$ERR")" \
	"chaintop backup: option '--job' needs a value (NAME)"
run check --timeout
assert_eq "check, missing value: exit 3 (UNKNOWN)" "$RC" 3
assert_eq "check, missing value: said" "$(head -n1 <<<"$ERR")" \
	"chaintop check: option '--timeout' needs a value (DURATION)"
run -c
assert_eq "common option before the command, missing value: exit 2" "$RC" 2
assert_eq "common option, missing value: said" "$(head -n1 <<<"$ERR")" "chaintop: option '-c' needs a value (FILE)"
run prune --ye
assert_eq "an abbreviation is refused: exit 2" "$RC" 2
assert_eq "an abbreviation is refused: with the option meant" "$(head -n1 <<<"$ERR")" \
	"chaintop prune: unknown option '--ye' (did you mean '--yes'?)"
run check --form=json
assert_eq "an abbreviation with =: exit 3" "$RC" 3
assert_eq "an abbreviation with =: named without its value" "$(head -n1 <<<"$ERR")" \
	"chaintop check: unknown option '--form' (did you mean '--format'?)"
run tree --json=yes
assert_eq "a flag given a value: exit 2" "$RC" 2
assert_eq "a flag given a value: said" "$(head -n1 <<<"$ERR")" "chaintop tree: option '--json' takes no value"
run tree extra
assert_eq "an argument a command does not take: exit 2" "$RC" 2
assert_eq "an argument a command does not take: said" "$(head -n1 <<<"$ERR")" \
	"chaintop tree: unexpected argument 'extra'"
run report 1 2
assert_eq "report takes one RUN_ID" "$(head -n1 <<<"$ERR")" "chaintop report: unexpected argument '2'"
run prune -x
assert_eq "an unknown short option" "$(head -n1 <<<"$ERR")" "chaintop prune: unknown option '-x'"
run --json
assert_eq "an unknown option before any command: exit 2" "$RC" 2
assert_eq "an unknown option before any command: said" "$(head -n1 <<<"$ERR")" "chaintop: unknown option '--json'"
run frobnicate
assert_eq "an unknown command: exit 2" "$RC" 2
assert_contains "an unknown command: said" "$ERR" "chaintop: unknown command 'frobnicate'"
# "--" ends the options: what follows is a file name even when it starts with a dash
run verify -- -no-such.xva
assert_eq "verify -- -FILE: a file, not an option" "$RC" 2
assert_contains "verify -- -FILE: read as a file" "$OUT" "-no-such.xva: UNREADABLE"

# --- the common options before or after the command, in every form -------------------------
sim_start co --scenario coalescing --gc-speed 0 || { fail "simulator starts"; finish; }
write_config "$T_TMP/co.conf" coalesce-lab "$SIM_URL_co" other "http://127.0.0.1:9"
run tree -c "$T_TMP/co.conf" --pool coalesce-lab
assert_eq "tree -c FILE --pool NAME: exit 0 (only the pool that answers)" "$RC" 0
ref=$OUT
run -c "$T_TMP/co.conf" --pool coalesce-lab tree
assert_eq "before the command: the same output" "$OUT" "$ref"
run tree --config="$T_TMP/co.conf" --pool=coalesce-lab
assert_eq "--opt=VALUE: the same output" "$OUT" "$ref"
run --pool coalesce-lab tree -c "$T_TMP/co.conf"
assert_eq "mixed: the same output" "$OUT" "$ref"
run check -c "$T_TMP/co.conf" --pool coalesce-lab -f json
assert_eq "a short option with its value (check -f json)" "$(jq -r .status <<<"$OUT")" WARNING
run check -c "$T_TMP/co.conf" --pool coalesce-lab --format=nagios
assert_contains "--format=VALUE" "$(head -n1 <<<"$OUT")" "CHAINTOP WARNING - "
run tree -c "$T_TMP/co.conf" --json --pool coalesce-lab --pool other
assert_eq "--pool repeated: both pools" "$(jq -r '[.pools[].name] | join(",")' <<<"$OUT")" "coalesce-lab,other"
finish
