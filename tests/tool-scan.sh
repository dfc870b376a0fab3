#!/bin/sh
# tool-scan.sh - upager scan: statistics, histogram, --write keeps data.
#
# Runs from the repository root (see tests/toollib.sh).

. tests/toollib.sh
make_tmp

# field NAME: the first number on the line NAME of the last scan.
field() { awk -v k="$1" '$1 == k { print $2; exit }' "$T/out"; }

head -c $((8 * 1048576 + 100)) /dev/urandom >"$T/data"
cp "$T/data" "$T/orig"

"$U" scan "$T/data" --budget 1M --page-size 64K >"$T/out" 2>"$T/err"
check "scan: status 0" test $? -eq 0
for k in file backend pager pattern time faults fills evictions \
	write-backs resident checksum; do
	check "scan prints $k" grep -q "^$k " "$T/out"
done
check "scan prints a histogram" grep -q '|#' "$T/out"
if grep -q '^backend *userfaultfd' "$T/out"; then
	check "seq scan: a fill per page" test "$(field fills)" -eq 129
	check "seq scan: evictions" test "$(field evictions)" -ge 100
	check "seq scan: no write-backs" test "$(field write-backs)" -eq 0
else
	echo "skip: counters (the backend is not userfaultfd)"
fi

# Sizes with suffixes; random pattern reproducible by its seed.
"$U" scan "$T/data" --pattern random --count 3K --seed 5 >"$T/out"
a=$(field checksum)
"$U" scan "$T/data" --pattern random --count 3072 --seed 5 --budget 128K \
	--page-size 4K >"$T/out"
check "random scan: status 0" test $? -eq 0
check "random: the same seed reads the same bytes" test "$a" = "$(field checksum)"
check "random: the seed is printed" grep -q 'seed 5' "$T/out"

# --write stores each byte back: content unchanged.  Pages mapped from the
# page cache (where the kernel can) are the kernel's to write, never the
# pager's; copied pages are written back.
"$U" scan "$T/data" --write --budget 512K >"$T/out" 2>"$T/err"
check "write scan: status 0" test $? -eq 0
if grep -q '^backend *userfaultfd' "$T/out"; then
	cached=$(awk '$1 == "resident" { print $6; exit }' "$T/out")
	if [ "${cached:-0}" -gt 0 ]; then
		check "write scan: no write-backs" test "$(field write-backs)" -eq 0
	else
		check "write scan: write-backs" test "$(field write-backs)" -ge 128
	fi
fi
check "write scan: the file is unchanged" cmp -s "$T/data" "$T/orig"
"$U" scan "$T/data" --write --budget 512K --page-size 4K >"$T/out" 2>"$T/err"
check "4K write scan: status 0" test $? -eq 0
if grep -q '^backend *userfaultfd' "$T/out"; then
	cached=$(awk '$1 == "resident" { print $6; exit }' "$T/out")
	if [ "${cached:-0}" -gt 0 ]; then
		check "4K write scan: no write-backs" test "$(field write-backs)" -eq 0
	else
		check "4K write scan: write-backs" test "$(field write-backs)" -ge 128
	fi
fi
check "4K write scan: the file is unchanged" cmp -s "$T/data" "$T/orig"
"$U" scan "$T/data" --write --pattern random --budget 256K \
	--page-size 4K >"$T/out" 2>"$T/err"
check "random write scan: the file is unchanged" cmp -s "$T/data" "$T/orig"

# The kernel backend: works, says so.
"$U" scan "$T/data" --backend kernel >"$T/out" 2>"$T/err"
check "kernel backend: status 0" test $? -eq 0
check "kernel backend: named" grep -q '^backend *kernel' "$T/out"

finish
