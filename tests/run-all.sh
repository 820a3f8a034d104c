#!/bin/bash
# Runs the test suites and prints one closing line "N passed, M failed".
# Usage: tests/run-all.sh [unit|sim|integration|ui]...   (default: all)
# Env: CHAINTOP (binary), BUILD (build dir with tests/ unit binaries).
set -u
cd "$(dirname "$0")/.."
: "${BUILD:=$PWD/build}" "${CHAINTOP:=$PWD/chaintop}"
export BUILD CHAINTOP
# Sanitizer builds: report every finding and fail; tests/lsan.supp lists leaks that belong to
# libraries (kept by design until exit), each with the reason.
# Reports go to files too, so a finding in a process whose exit code a test does not check
# (a console in tmux, a background watcher) still fails its suite.
logdir=$(mktemp -d "${TMPDIR:-/tmp}/chaintop-tests.XXXXXX")
sandir="$logdir/sanitizers"; mkdir -p "$sandir"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0}:log_path=$sandir/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}:log_path=$sandir/ubsan"
[ -f tests/lsan.supp ] && export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}"
suites=("$@"); [ ${#suites[@]} -eq 0 ] && suites=(unit sim integration ui)
passed=0; failed=0; failed_names=()

count() { # name, log, rc: add the counts a runner printed, or 1 pass/fail by exit code
	local name=$1 log=$2 rc=$3 p f line
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
		echo "FAIL $name (exit $rc) - log follows:"; tail -n 60 "$log" | sed 's/^/    /'
	else
		echo "ok   $name ($p passed)"
	fi
}

run() { # name, command...
	local name=$1; shift
	local log="$logdir/$(tr '/ ' '__' <<<"$name").log" rc
	timeout --kill-after=10 "${TEST_TIMEOUT:-600}" "$@" >"$log" 2>&1; rc=$?
	[ $rc -eq 124 ] && echo "(timed out)" >>"$log"
	if compgen -G "$sandir/*" >/dev/null; then
		echo "sanitizer reports:" >>"$log"
		cat "$sandir"/* >>"$log"
		rm -f "$sandir"/*
		[ $rc -eq 0 ] && rc=99
	fi
	count "$name" "$log" "$rc"
}

for s in "${suites[@]}"; do
	case $s in
	unit)
		for t in "$BUILD"/tests/test_*; do
			[ -x "$t" ] && run "unit/$(basename "$t")" env CK_DEFAULT_TIMEOUT=60 "$t"
		done ;;
	sim)
		run "sim/test_sim.py" python3 tests/sim/test_sim.py ;;
	integration|ui)
		for t in tests/"$s"/test_*.sh; do
			[ -f "$t" ] && run "$s/$(basename "$t")" bash "$t"
		done ;;
	*) echo "unknown suite $s" >&2; exit 2 ;;
	esac
done
rm -rf "$logdir"
echo
[ ${#failed_names[@]} -gt 0 ] && echo "failed suites: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
