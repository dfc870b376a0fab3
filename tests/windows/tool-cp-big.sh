#!/bin/sh
# tool-cp-big.sh - upager.exe cp under wine: a file of 300 MiB and 4101
# bytes (no multiple of the 64 KiB granularity) copied byte-exact through
# both files' mappings, one of 32 MiB with read/write and through the trap
# backend's budget; over an existing file with -f only, never onto itself.
#
# Runs from the repository root, as tests/run.sh does; WINE runs the tool.

UPAGER=${0%/*}/../upager.exe
. tests/toollib.sh
make_tmp
W=${WINE:-wine}

head -c $((300 * 1048576 + 4101)) /dev/urandom >"$T/src"
head -c $((32 * 1048576 + 12345)) "$T/src" >"$T/src32"
# copy_ok SRC [cp options]: copy SRC to $T/dst, which must equal it.
copy_ok() {
	src=$1
	shift
	rm -f "$T/dst"
	if $W "$U" cp "$@" "$src" "$T/dst" 2>"$T/err"; then
		ok
	else
		no "cp $* ${src##*/}: $(cat "$T/err")"
	fi
	check "cp $* ${src##*/}: the copy is byte-exact" cmp -s "$src" "$T/dst"
}
copy_ok "$T/src" --method upager
copy_ok "$T/src32" --method read
# The trap backend, through a budget of an eighth of the file.
copy_ok "$T/src32" --method upager --backend trap --budget 4M
rm -f "$T/src32"

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
