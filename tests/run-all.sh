#!/bin/bash
# Runs the test suites and prints one closing line "N passed, M failed".
# Usage: tests/run-all.sh [unit|sim|integration|ui|tests/SUITE/test_NAME.sh]...   (default: all)
# Env: CHAINTOP (binary), BUILD (build dir with tests/ unit binaries),
#      TEST_JOBS (test programs run at once; default 6: most of their time is spent waiting on
#      simulators, terminals and the product's own timeouts, not on the CPU: make check takes
#      about 100 s of CPU for over 1,000 s of program time), TEST_TIMEOUT (seconds per program),
#      SIM_SHARDS (tests/sim/test_sim.py runs as this many programs, default 4).
# Longest first: the durations of the last run are kept in $BUILD/tests/durations and the
# programs start in that order (programs it does not list yet start first), so the long
# poles do not start last. Each program's line gives its wall time and the CPU time of the
# processes it waited for (not of a console running inside tmux, which tmux owns).
set -u
cd "$(dirname "$0")/.."
: "${BUILD:=$PWD/build}" "${CHAINTOP:=$PWD/chaintop}" "${TEST_JOBS:=6}"
export BUILD CHAINTOP
# Sanitizer builds: report every finding and fail; tests/lsan.supp lists leaks that belong to
# libraries (kept by design until exit), each with the reason.
# Each test program writes its reports to files of its own, so a finding in a process whose
# exit code a test does not check (a console in tmux, a background watcher) still fails the
# program it belongs to, even while other programs run beside it.
logdir=$(mktemp -d "${TMPDIR:-/tmp}/chaintop-tests.XXXXXX")
trap 'rm -rf "$logdir"' EXIT
ASAN_BASE="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0}"
UBSAN_BASE="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
[ -f tests/lsan.supp ] && export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}"
suites=("$@"); [ ${#suites[@]} -eq 0 ] && suites=(unit sim integration ui)

# The programs to run, as "name|kind|file|shard": every program is independent of the others
# (own temporary directory, simulators on free ports, own tmux server).
programs=()
for s in "${suites[@]}"; do
	case $s in
	unit)   # (by source: a binary left in $BUILD by a test that moved is not run)
		for c in tests/unit/test_*.c; do
			t=$BUILD/tests/$(basename "$c" .c)
			[ -x "$t" ] && programs+=("unit/$(basename "$t")|c|$t")
		done ;;
	sim)
		n=${SIM_SHARDS:-4}
		for k in $(seq 1 "$n"); do
			programs+=("sim/test_sim.py[$k/$n]|python|tests/sim/test_sim.py|$k/$n")
		done ;;
	integration|ui)
		# C programs that start a simulator, built into $BUILD/tests/integration/
		for c in tests/"$s"/test_*.c; do
			t=$BUILD/tests/$s/$(basename "$c" .c)
			[ -x "$t" ] && programs+=("$s/$(basename "$t")|c|$t")
		done
		for t in tests/"$s"/test_*.sh; do
			[ -f "$t" ] && programs+=("$s/$(basename "$t")|bash|$t")
		done ;;
	*.sh)   # one test script, by its path
		[ -f "$s" ] || { echo "no test script $s" >&2; exit 2; }
		programs+=("${s#tests/}|bash|$s") ;;
	*) echo "unknown suite $s" >&2; exit 2 ;;
	esac
done

# seconds (one decimal) since $1, a value of EPOCHREALTIME
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

run_one() { # index kind file shard: runs one program, leaves its log, exit code and times
	local dir="$logdir/$1" kind=$2 file=$3 shard=$4 rc start cmd cpu
	case $kind in
	c)      cmd=(env CK_DEFAULT_TIMEOUT=60 "$file") ;;   # a check program
	python) cmd=(env TEST_SHARD="$shard" python3 "$file") ;;
	bash)   cmd=(bash "$file") ;;
	esac
	mkdir -p "$dir/san"
	start=$EPOCHREALTIME
	ASAN_OPTIONS="$ASAN_BASE:log_path=$dir/san/asan" UBSAN_OPTIONS="$UBSAN_BASE:log_path=$dir/san/ubsan" \
		timeout --kill-after=10 "${TEST_TIMEOUT:-600}" "${cmd[@]}" >"$dir/log" 2>&1 </dev/null; rc=$?
	[ $rc -eq 124 ] && echo "(timed out)" >>"$dir/log"
	if compgen -G "$dir/san/*" >/dev/null; then
		{ echo "sanitizer reports:"; cat "$dir"/san/*; } >>"$dir/log"
		[ $rc -eq 0 ] && rc=99
	fi
	# this subshell's children: user and system time of what the program waited for
	times >"$dir/times"   # (in this shell: a pipe would run it in a fresh process)
	cpu=$(tail -n1 "$dir/times" | awk '{ for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] }
		printf "%.1f", s }')
	echo "$rc $(since "$start") $cpu" >"$dir/rc"
}

# longest first, as the last run measured them
durations=$BUILD/tests/durations
order=()
while IFS= read -r i; do order+=("$i"); done < <(
	for i in "${!programs[@]}"; do
		name=${programs[$i]%%|*}
		secs=$(awk -v n="$name" '$1 == n { print $2 }' "$durations" 2>/dev/null)
		echo "$i ${secs:-100000}"
	done | sort -k2,2nr -k1,1n -s | cut -d' ' -f1)

t0=$EPOCHREALTIME
running=0
for i in "${order[@]}"; do
	entry=${programs[$i]}
	if [ "$running" -ge "$TEST_JOBS" ]; then wait -n; running=$((running - 1)); fi
	IFS='|' read -r _ kind file shard <<<"$entry"
	run_one "$i" "$kind" "$file" "$shard" &
	running=$((running + 1))
done
wait
wall=$(since "$t0")

passed=0; failed=0; failed_names=()
count() { # name, log, rc, seconds, cpu: add the counts a runner printed, or 1 pass/fail by exit code
	local name=$1 log=$2 rc=$3 secs=$4 cpu=$5 p f line
	line=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" | tail -n1)
	if [ -n "$line" ]; then
		local checks fails errs
		checks=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
		fails=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
		errs=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
		p=$((checks - fails - errs)); f=$((fails + errs))
	else
		line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n1)
		if [ -n "$line" ]; then
			p=$(sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed.*/\2/' <<<"$line")
			f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
		else
			p=0; f=0
		fi
	fi
	# A runner that crashed or exited non-zero counts as a failure even if its counts look fine.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		failed_names+=("$name")
		echo "FAIL $name (exit $rc, ${secs}s, cpu ${cpu}s) - log follows:"; tail -n 60 "$log" | sed 's/^/    /'
	else
		echo "ok   $name ($p passed, ${secs}s, cpu ${cpu}s)"
	fi
}
cpu_total=0
: >"$logdir/durations"
for i in "${!programs[@]}"; do
	read -r rc secs cpu <"$logdir/$i/rc"
	count "${programs[$i]%%|*}" "$logdir/$i/log" "$rc" "$secs" "$cpu"
	cpu_total=$(awk -v a="$cpu_total" -v b="$cpu" 'BEGIN { printf "%.1f", a + b }')
	echo "${programs[$i]%%|*} $secs" >>"$logdir/durations"
done
# keep what this run measured, and the other suites' figures from earlier runs
if [ -d "$BUILD/tests" ]; then
	{ cat "$logdir/durations"
	  [ -f "$durations" ] && awk 'NR == FNR { seen[$1] = 1; next } !($1 in seen)' "$logdir/durations" "$durations"
	} >"$durations.tmp.$$"
	mv "$durations.tmp.$$" "$durations"
fi
echo
echo "${#programs[@]} programs in ${wall}s of wall time, ${TEST_JOBS} at once; ${cpu_total}s of CPU"
[ ${#failed_names[@]} -gt 0 ] && echo "failed suites: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
