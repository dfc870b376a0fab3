#!/bin/sh
# tool-scan.sh - upager.exe scan under wine: its checksum of one byte per
# page is the file's, --write leaves the file as it was, and it reports
# the kernel backend and the pages it made resident.
#
# Runs from the repository root, as tests/run.sh does; WINE runs the tool.

UPAGER=${0%/*}/../upager.exe
. tests/toollib.sh
make_tmp
W=${WINE:-wine}

# scan's checksum: sum = sum * 31 + byte, for the first byte of each
# 4 KiB page in order.
head -c $((5 * 4096)) /dev/urandom >"$T/five"
sum=0
for pg in 0 1 2 3 4; do
	b=$(od -An -tu1 -j $((pg * 4096)) -N1 "$T/five" | tr -d ' ')
	sum=$((sum * 31 + b))
done
want=$(printf '%016x' "$sum")
# (Its lines end in CR LF, as text on Windows does.)
$W "$U" scan "$T/five" 2>&1 | tr -d '\r' >"$T/out"
got=$(sed -n 's/^checksum *//p' "$T/out")
check "scan: checksum $got, the file's $want" test "$got" = "$want"
check "scan: the kernel backend" grep -q '^backend *kernel' "$T/out"

head -c $((16 * 1048576)) /dev/urandom >"$T/big"
cp "$T/big" "$T/orig"
for how in "--pattern seq" "--pattern random --seed 7" "--write" \
	"--pattern random --write --count 1000" \
	"--backend trap --budget 1M --write"; do
	if $W "$U" scan $how "$T/big" >"$T/out" 2>&1; then
		ok
	else
		no "scan $how: $(cat "$T/out")"
	fi
	res=$(sed -n 's/^resident *\([0-9]*\) pages.*/\1/p' "$T/out")
	check "scan $how: resident pages ($res)" test "${res:-0}" -gt 0
done
check "scan --write: the file is as it was" cmp -s "$T/big" "$T/orig"
check "scan of a missing file fails" \
	sh -c '! "$1" "$2" scan "$3/none" 2>/dev/null' - "$W" "$U" "$T"
finish
