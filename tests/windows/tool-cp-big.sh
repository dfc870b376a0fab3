#!/bin/sh
# tool-cp-big.sh - upager.exe cp under wine: a file of 300 MiB and 4101
# bytes (no multiple of the 64 KiB granularity) copied byte-exact through
# both files' mappings (on the kernel and the trap backend) and with
# read/write, over an existing file with -f only, and never onto itself.
#
# Runs from the repository root, as tests/run.sh does; WINE runs the tool.

UPAGER=${0%/*}/../upager.exe
. tests/toollib.sh
make_tmp
W=${WINE:-wine}

head -c $((300 * 1048576 + 4101)) /dev/urandom >"$T/src"
for m in upager read; do
	rm -f "$T/dst"
	if $W "$U" cp --method $m "$T/src" "$T/dst" 2>"$T/err"; then
		ok
	else
		no "cp --method $m: $(cat "$T/err")"
	fi
	check "cp --method $m: the copy is byte-exact" cmp -s "$T/src" "$T/dst"
done

# The trap backend: 32 MiB and a bit through a budget of 4 MiB.
head -c $((32 * 1048576 + 12345)) "$T/src" >"$T/src32"
check "cp --backend trap" \
	$W "$U" cp --method upager --backend trap --budget 4M "$T/src32" \
	"$T/dst32"
check "cp --backend trap: the copy is byte-exact" \
	cmp -s "$T/src32" "$T/dst32"
rm -f "$T/src32" "$T/dst32"

# Over an existing file: refused, then replaced with -f (and checked by
# the tool itself with --verify).
head -c 70000 /dev/urandom >"$T/small"
check "cp onto an existing file without -f fails" \
	sh -c '! "$1" "$2" cp "$3/small" "$3/dst" 2>/dev/null' - "$W" "$U" "$T"
check "cp -f --verify onto an existing file" \
	$W "$U" cp -f --verify --method upager "$T/small" "$T/dst"
check "cp -f: the copy is byte-exact" cmp -s "$T/small" "$T/dst"
check "cp of a file onto itself fails" \
	sh -c '! "$1" "$2" cp -f "$3/small" "$3/small" 2>/dev/null' - "$W" "$U" "$T"
check "no temporary file is left" \
	test "$(ls -A "$T" | wc -l)" -eq 4
finish
