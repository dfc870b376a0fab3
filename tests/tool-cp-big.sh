#!/bin/sh
# tool-cp-big.sh - upager cp: a 1 GiB file, byte-exact, with every method.
#
# Runs from the repository root (as tests/run.sh does); the tool is
# $UPAGER, else the upager of the build the test was installed into, else
# build/upager.  Temp files go under ${TMPDIR:-/var/tmp}.  A
# sanitizer build ($UPAGER_SANITIZED set, or found in the binary) copies
# 256 MiB instead.

U=${UPAGER:-build/upager}
# Installed by make as O/tests/NAME: test the tool of that build, O/upager.
[ -z "$UPAGER" ] && [ -x "${0%/*}/../upager" ] && U=${0%/*}/../upager
[ -x "$U" ] || { echo "SKIP: $U is not built"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/var/tmp}/upager-tool.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
pass=0
fail=0

ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }

mib=1024
if [ -n "$UPAGER_SANITIZED" ] || grep -q -a -e __asan_init -e __tsan_init "$U"
then
	mib=256
fi
avail=$(df -Pk "$T" | awk 'NR == 2 { print $4 }')
if [ "$avail" -lt $((mib * 1024 * 3)) ]; then
	echo "SKIP: less than $((mib * 3)) MiB free in $T"
	exit 77
fi

# Random data, so that a page copied to the wrong place shows; the last
# page is partial.
head -c $((mib * 1048576 - 4095)) /dev/urandom >"$T/src" || exit 1
chmod 600 "$T/src"
for m in copy_file_range kernel read upager; do
	start=$(date +%s)
	if ! "$U" cp --method $m "$T/src" "$T/dst"; then
		no "cp --method $m of $mib MiB failed"
	elif ! cmp "$T/src" "$T/dst"; then
		no "cp --method $m of $mib MiB: the copy differs"
	elif [ "$(stat -c %a "$T/dst")" != 600 ]; then
		no "cp --method $m of $mib MiB: mode $(stat -c %a "$T/dst")"
	else
		ok
	fi
	echo "cp --method $m: $mib MiB in $(($(date +%s) - start)) s"
	rm -f "$T/dst"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
