#!/bin/sh
# run.sh - run each test program in DIR in its own process under a timeout.
#
# usage: sh tests/run.sh DIR [PATTERN]
# Runs every executable DIR/NAME (only those whose NAME contains PATTERN),
# prints PASS/FAIL/SKIP with the time taken as each ends, then the output
# of the failing tests, and ends with "N passed, N failed, N skipped".  Exit
# status 77 from a test means skipped.  UPAGER_TEST_TIMEOUT sets the limit
# in seconds (default 300; tests named *-big* get three times as long).
# UPAGER_TEST_JOBS tests run at a time (default: the number of CPUs), the
# big ones first.  With UPAGER_TEST_USER (make check-user) the test
# programs run as that user (tests/harness.h), but for the longest, and the
# scripts not at all.

dir=${1:?usage: run.sh DIR [PATTERN]}
pat=${2:-}
limit=${UPAGER_TEST_TIMEOUT:-300}
jobs=${UPAGER_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}

# Sanitizer findings must fail the test, also in forked children that end
# with _exit() (UBSan and TSan otherwise only print).  TSan's second of
# sleep at every exit (for races with threads still running then) would
# add a second to each of the hundreds of processes the tests start.
: "${UBSAN_OPTIONS:=halt_on_error=1:print_stacktrace=1}"
: "${TSAN_OPTIONS:=halt_on_error=1:die_after_fork=0:atexit_sleep_ms=0}"
export UBSAN_OPTIONS TSAN_OPTIONS limit

# run.sh --one RES TEST: run one test; leave its output in RES/NAME.out and
# its verdict in RES/NAME.res ("PASS", "SKIP why" or "FAIL why").
if [ "$1" = --one ]; then
	t=$3
	name=${t##*/}
	out=$2/$name.out
	case $name in
	*-big*) tl=$((limit * 3)) ;;
	*) tl=$limit ;;
	esac
	now() { date +%s.%N 2>/dev/null | sed 's/N$/0/'; }
	start=$(now)
	timeout -k 10 "$tl" "$t" >"$out" 2>&1
	rc=$?
	secs=$(echo "$start $(now)" | awk '{ printf "%.1f", $2 - $1 }')
	case $rc in
	0) v=PASS why= ;;
	77) v=SKIP why=$(grep -m1 '^SKIP' "$out" | sed 's/^SKIP: *//') ;;
	*)
		v=FAIL why="exit $rc"
		[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] &&
			why="timed out after ${tl}s"
		[ "$rc" -gt 128 ] && [ "$rc" -ne 137 ] &&
			why="killed by signal $((rc - 128))"
		why="($why)"
		;;
	esac
	printf '%s %-32s %6ss  %s\n' "$v" "$name" "$secs" "$why" |
		sed 's/ *$//' | tee "$2/$name.res"
	exit 0
fi

res=$(mktemp -d "${TMPDIR:-/tmp}/upager-run.XXXXXX") || exit 1
trap 'rm -rf "$res"' EXIT
trap 'exit 130' INT TERM

list() {
	for t in "$dir"/*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		name=${t##*/}
		case $name in
		*"$pat"*) ;;
		*) continue ;;
		esac
		[ -n "${UPAGER_TEST_USER:-}" ] &&
			[ "$(head -c 2 "$t")" = "#!" ] && continue
		# (The longest, whose signals rounds root's pass runs as they
		# are: a user changes nothing in them but the time CI takes.)
		[ -n "${UPAGER_TEST_USER:-}" ] && case $name in
			budget-big | solo-*) true ;; *) false ;; esac && continue
		case $name in
		*-big*) [ "$1" = big ] && echo "$t" ;;
		*) [ "$1" = small ] && echo "$t" ;;
		esac
	done
}

# The big ones first, so that the longest runs beside the rest.
{ list big; list small; } | xargs -r -P "$jobs" -n 1 sh "$0" --one "$res"

pass=0 fail=0 skip=0
# A test that left no verdict failed too.
for t in $(list small; list big); do
	[ -f "$res/${t##*/}.res" ] ||
		echo "FAIL ${t##*/} (no verdict)" >"$res/${t##*/}.res"
done
for r in "$res"/*.res; do
	[ -f "$r" ] || continue
	case $(cut -c1-4 "$r") in
	PASS) pass=$((pass + 1)) ;;
	SKIP) skip=$((skip + 1)) ;;
	*)
		fail=$((fail + 1))
		cat "$r"
		sed 's/^/    | /' "${r%.res}.out"
		;;
	esac
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
