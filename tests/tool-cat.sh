#!/bin/sh
# tool-cat.sh - upager cat: byte-exact output through a small budget.
#
# Runs from the repository root (as tests/run.sh does); the tool is
# $UPAGER, else the upager of the build the test was installed into, else
# build/upager.  Temp files go under ${TMPDIR:-/var/tmp}.

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

# check DESCRIPTION CMD...: CMD succeeds.
check() {
	what=$1
	shift
	if "$@"; then ok; else no "$what"; fi
}

: >"$T/empty"
printf 'x' >"$T/one"
head -c 4096 /dev/urandom >"$T/page"
head -c 12345 /dev/urandom >"$T/odd"
head -c $((40 * 1048576 + 7)) /dev/urandom >"$T/forty"
truncate -s 20M "$T/sparse"
printf 'middle' | dd of="$T/sparse" bs=1 seek=7000000 conv=notrunc \
	2>/dev/null

for f in empty one page odd forty sparse; do
	"$U" cat "$T/$f" >"$T/out" 2>"$T/err"
	check "cat $f: status" test $? -eq 0
	check "cat $f: content" cmp -s "$T/$f" "$T/out"
done
for opts in "--budget 64K --page-size 4K" "--budget 2M --page-size 2M" \
	"--budget 1M" "--backend kernel"; do
	"$U" cat $opts "$T/forty" "$T/odd" >"$T/out" 2>"$T/err"
	check "cat $opts: status" test $? -eq 0
	cat "$T/forty" "$T/odd" >"$T/want"
	check "cat $opts: content" cmp -s "$T/want" "$T/out"
done

# Several files, stdin as -, a pipe.
"$U" cat "$T/one" - "$T/odd" <"$T/page" >"$T/out"
cat "$T/one" "$T/page" "$T/odd" >"$T/want"
check "cat with - for stdin" cmp -s "$T/want" "$T/out"
"$U" cat "$T/forty" | cmp -s - "$T/forty"
check "cat into a pipe" test $? -eq 0

# A missing file in the middle: the others are still written, status 1.
"$U" cat "$T/one" "$T/missing" "$T/one" >"$T/out" 2>"$T/err"
check "a missing file: status 1" test $? -eq 1
check "a missing file: the others written" test "$(cat "$T/out")" = xx
check "a missing file: named" grep -q "$T/missing: No such file" "$T/err"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
