#!/bin/sh
# SPDX-License-Identifier: MIT
# Run every upager benchmark in order, collecting one CSV.
#
#   sh bench/run.sh [BENCH_DIR] [--quick] [--reps N] [--size N]
#
# BENCH_DIR holds the built programs (default build/bench; `make bench`
# passes it).  Other arguments go to every benchmark.  The CSV goes to
# $UPAGER_BENCH_OUT, else bench/results/bench-DATE.csv, copied to
# bench/results/latest.csv; bench/plot.py draws it as an SVG when python3
# is there.  Benchmarks never fail the run: a benchmark that crashes or
# runs over its time limit is reported and the next one runs.

dir=build/bench
case "$1" in
-*|"") ;;
*) dir=$1; shift ;;
esac
# A limit per benchmark that only catches a hang (each benchmark caps
# its own reps to stay near a minute per engine).
limit=420
for a in "$@"; do
	[ "$a" = --quick ] && limit=120
done

mkdir -p bench/results
stamp=$(date +%Y%m%d-%H%M%S)
given=${UPAGER_BENCH_OUT:+yes}
out=${UPAGER_BENCH_OUT:-bench/results/bench-$stamp.csv}
rm -f "$out"
export UPAGER_BENCH_OUT="$out"

rev=$(git describe --always --dirty 2>/dev/null || echo unknown)
echo "upager benchmarks: $(nproc) CPUs, Linux $(uname -r), $(date '+%Y-%m-%d %H:%M'), tree $rev"
echo "results: $out"

# Leftovers of a benchmark that was killed: temp files and cgroups named
# after a process that no longer exists.
cleanup() {
	for f in "${UPAGER_BENCH_DIR:-/var/tmp}"/upager-bench-*-[0-9]*; do
		[ -e "$f" ] || continue
		pid=${f##*-}
		kill -0 "$pid" 2>/dev/null || rm -f "$f"
	done
	for cg in /sys/fs/cgroup/memory/upager-bench-[0-9]*; do
		[ -d "$cg" ] || continue
		pid=${cg##*-}
		kill -0 "$pid" 2>/dev/null || rmdir "$cg" 2>/dev/null
	done
}

start=$(date +%s)
failed=""
for b in default machine seqscan rescan fault randread seqwrite xproc direct; do
	if [ ! -x "$dir/$b" ]; then
		echo "== $b: not built ($dir/$b)"
		failed="$failed $b"
		continue
	fi
	echo
	if command -v timeout >/dev/null; then
		timeout -k 10 $limit "$dir/$b" "$@"
	else
		"$dir/$b" "$@"
	fi
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "== $b: exited with status $rc (124: over ${limit}s)"
		failed="$failed $b"
	fi
	cleanup
done

echo
echo "all benchmarks: $(($(date +%s) - start)) s${failed:+; trouble in:$failed}"
[ -z "$given" ] && cp "$out" bench/results/latest.csv
if command -v python3 >/dev/null && [ -f bench/plot.py ] &&
   python3 bench/plot.py "$out"; then
	echo "plot: ${out%.csv}.svg"
	[ -z "$given" ] && cp "${out%.csv}.svg" bench/results/latest.svg
fi
exit 0
