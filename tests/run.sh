#!/bin/sh
# run.sh - run each test program in DIR in its own process under a timeout.
#
# usage: sh tests/run.sh DIR [PATTERN]
# Runs every executable DIR/NAME (only those whose NAME contains PATTERN),
# prints PASS/FAIL/SKIP with the time taken, shows the output of failing
# tests, and ends with "N passed, N failed, N skipped".  Exit status 77 from
# a test means skipped.  UPAGER_TEST_TIMEOUT sets the limit in seconds
# (default 300; tests named *-big* get three times as long).

dir=${1:?usage: run.sh DIR [PATTERN]}
pat=${2:-}
limit=${UPAGER_TEST_TIMEOUT:-300}
pass=0
fail=0
skip=0

# Sanitizer findings must fail the test, also in forked children that end
# with _exit() (UBSan and TSan otherwise only print).
: "${UBSAN_OPTIONS:=halt_on_error=1:print_stacktrace=1}"
: "${TSAN_OPTIONS:=halt_on_error=1:die_after_fork=0}"
export UBSAN_OPTIONS TSAN_OPTIONS

out=$(mktemp "${TMPDIR:-/tmp}/upager-run.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N 2>/dev/null | sed 's/N$/0/'; }

for t in "$dir"/*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	name=${t##*/}
	case $name in
	*"$pat"*) ;;
	*) continue ;;
	esac
	case $name in
	*-big*) tl=$((limit * 3)) ;;
	*) tl=$limit ;;
	esac
	start=$(now)
	timeout -k 10 "$tl" "$t" >"$out" 2>&1
	rc=$?
	secs=$(echo "$start $(now)" | awk '{ printf "%.1f", $2 - $1 }')
	case $rc in
	0)
		pass=$((pass + 1))
		printf 'PASS %-32s %6ss\n' "$name" "$secs"
		;;
	77)
		skip=$((skip + 1))
		printf 'SKIP %-32s %6ss  %s\n' "$name" "$secs" \
			"$(grep -m1 '^SKIP' "$out" | sed 's/^SKIP: *//')"
		;;
	*)
		fail=$((fail + 1))
		why="exit $rc"
		[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && why="timed out after ${tl}s"
		[ "$rc" -gt 128 ] && [ "$rc" -ne 137 ] && why="killed by signal $((rc - 128))"
		printf 'FAIL %-32s %6ss  (%s)\n' "$name" "$secs" "$why"
		sed 's/^/    | /' "$out"
		;;
	esac
done

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
