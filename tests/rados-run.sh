#!/bin/sh
# rados-run.sh - make check-rados: start a one-node RADOS cluster
# (tests/rados-cluster.sh), run the tests of O/rados against it one at a
# time, then those of O/rados-last (which take the cluster down), stop
# it, and end with "N passed, N failed, N skipped" over all of them.
#
# usage: sh tests/rados-run.sh O

O=${1:-build}
dir=$(mktemp -d "${TMPDIR:-/tmp}/upager-rados.XXXXXX") || exit 1
rmdir "$dir"
line=$(sh tests/rados-cluster.sh start "$dir") || {
	echo "FAIL the cluster did not start"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
}
trap 'sh tests/rados-cluster.sh stop "$dir"' EXIT
trap 'exit 130' INT TERM
export CEPH_CONF="${line#CEPH_CONF=}"
# A lost OSD is an error after 2 s (lost-osd), not after the store's 30.
printf 'rados osd op timeout = 2\n' >> "$CEPH_CONF"

pass=0 fail=0 skip=0 status=0
for sub in rados rados-last; do
	[ "$sub" = rados-last ] && export RADOS_OSD_PID="$(cat "$dir/osd.0.pid")"
	out=$(UPAGER_TEST_JOBS=1 sh tests/run.sh "$O/$sub") || status=1
	printf '%s\n' "$out" | sed '$d'
	set -- $(printf '%s\n' "$out" | tail -n 1)
	pass=$((pass + ${1:-0})) fail=$((fail + ${3:-0})) skip=$((skip + ${5:-0}))
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$status" -eq 0 ]
