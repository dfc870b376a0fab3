#!/bin/sh
# SPDX-License-Identifier: MIT
# The RADOS store beside the local file: a one-node cluster
# (tests/rados-cluster.sh: one monitor, one OSD on memstore, all on this
# machine), `upager cp FILE rados://upager/big`, then `upager scan` of the
# object set and of the local file with the same budget, sequential and
# random, each printing throughput and the pager's fault latency; then
# the write-back of scattered pages, batched and not (bench/storewb.c).
#
#   sh bench/rados.sh [UPAGER] [--size MiB] [--budget SIZE]

U=build/upager
case "$1" in
-*|"") ;;
*) U=$1; shift ;;
esac
mib=256 budget=64M
while [ $# -gt 1 ]; do
	case $1 in
	--size) mib=$2 ;;
	--budget) budget=$2 ;;
	esac
	shift 2
done
command -v ceph-mon >/dev/null || { echo "needs ceph (apt-get install ceph)"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/var/tmp}/upager-rados-bench.XXXXXX") || exit 1
line=$(sh tests/rados-cluster.sh start "$T/cluster") || exit 1
trap 'sh tests/rados-cluster.sh stop "$T/cluster" 2>/dev/null; rm -rf "$T"' EXIT
export CEPH_CONF="${line#CEPH_CONF=}"
head -c $((mib * 1048576)) /dev/urandom > "$T/big.bin"
echo "RADOS store: $mib MiB, budget $budget, $(nproc) CPUs, $(date '+%Y-%m-%d %H:%M')"
t0=$(date +%s.%N)
"$U" cp --no-progress "$T/big.bin" rados://upager/big || exit 1
t1=$(date +%s.%N)
echo "upager cp FILE rados://upager/big: $(echo "scale=2; $mib / ($t1 - $t0)" | bc) MiB/s"
for pat in seq random; do
	for src in "$T/big.bin" rados://upager/big; do
		echo "-- scan $pat ${src##*/}"
		"$U" scan "$src" --budget "$budget" --pattern $pat |
			grep -E '^(time|fills|fault time)'
	done
done
# msync of scattered dirty pages: the store's write_batch (all in flight)
# against one write per range, to the object set and to a local file
# through the direct store.
W=$(dirname "$U")/bench/storewb
if [ -x "$W" ]; then
	"$W" --reps 3 rados://upager/wb | tail -n 3
	UPAGER_BENCH_DIR="$T" "$W" --reps 3 | tail -n 3
fi
