#!/bin/bash
# make bench: run every benchmark and print its figures. Benchmarks measure; they assert nothing.
set -u
cd "$(dirname "$0")/.."
: "${BUILD:=build}"
for b in "$BUILD"/bench/*; do
	[ -x "$b" ] || continue
	echo "== $(basename "$b")"
	"$b"
done
for s in bench/*.sh; do
	[ "$s" = bench/run.sh ] && continue
	[ -f "$s" ] || continue
	echo "== $s"
	bash "$s"
done
