#!/bin/sh
# tool-cat.sh - upager cat: byte-exact output through a small budget.
#
# Runs from the repository root (see tests/toollib.sh).

. tests/toollib.sh
make_tmp

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

finish
