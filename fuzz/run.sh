#!/bin/bash
# fuzz/run.sh: run every libFuzzer harness in $BUILD/fuzz for FUZZ_SECONDS (default 60) each,
# one after the other, from the seed corpus fuzz/corpus/<harness>. New inputs go to
# FUZZ_OUT/<harness> (default: a temporary directory, removed at the end); crashes, leaks and
# timeouts are written to FUZZ_OUT/artifacts and fail the run. Prints execs/s per harness.
#   FUZZ_SECONDS=60 BUILD=build-fuzz fuzz/run.sh [harness...]
set -u
cd "$(dirname "$0")/.."
: "${BUILD:=build-fuzz}" "${FUZZ_SECONDS:=60}"
keep=${FUZZ_OUT:-}
out=${FUZZ_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/chaintop-fuzz.XXXXXX")}
mkdir -p "$out/artifacts"
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
	for b in "$BUILD"/fuzz/fuzz_*; do
		[ -x "$b" ] && harnesses+=("$(basename "$b" | sed 's/^fuzz_//')")
	done
fi
[ ${#harnesses[@]} -gt 0 ] || { echo "fuzz/run.sh: no harness in $BUILD/fuzz (make fuzz builds them)" >&2; exit 2; }
export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
failed=0
for h in "${harnesses[@]}"; do
	bin=$BUILD/fuzz/fuzz_$h
	dict=
	case $h in
	decode|events) dict=-dict=fuzz/xmlrpc.dict ;;
	config) dict=-dict=fuzz/config.dict ;;
	esac
	mkdir -p "$out/$h"
	log=$out/$h.log
	# the first corpus directory receives new inputs; the seeds stay as they are
	"$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len=131072 \
		-print_final_stats=1 -artifact_prefix="$out/artifacts/$h-" $dict \
		"$out/$h" "fuzz/corpus/$h" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1)
	if [ $rc -eq 0 ]; then
		printf 'fuzz %-8s ok    %ss, %s execs, %s execs/s, %s\n' "$h" "$FUZZ_SECONDS" "${execs:-?}" "${rate:-?}" "${cov:-?}"
	else
		failed=1
		printf 'fuzz %-8s FAIL  exit %d after %s execs; reproducer in %s, log %s:\n' "$h" "$rc" "${execs:-?}" "$out/artifacts" "$log"
		grep -E '^==[0-9]+==ERROR|SUMMARY|^ *#[0-9] ' "$log" | head -n 15
	fi
done
if [ -z "$keep" ] && [ $failed -eq 0 ]; then
	rm -rf "$out"
elif [ -z "$keep" ]; then
	echo "fuzz: the failing inputs and logs are kept in $out"
fi
exit $failed
