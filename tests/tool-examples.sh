#!/bin/sh
# tool-examples.sh - the example programs run and do what they say: hello
# (the drop-in API) and memstore (a store of the program's own, through a
# budget a sixteenth of its size).
#
# Runs from the repository root (see tests/toollib.sh).

. tests/toollib.sh
E=${U%/*}/examples
[ -x "$E/memstore" ] || { echo "SKIP: $E/memstore is not built"; exit 77; }

out=$("$E/hello" 2>&1)
check "hello: exit status" [ $? -eq 0 ]
printf '%s\n' "$out" | grep -q '^file  "hello, upager!"$' && ok ||
	no "hello: $out"

out=$("$E/memstore" 2>&1)
check "memstore: exit status" [ $? -eq 0 ]
case $out in
*"memstore: skipped: the kernel backend"*)
	# AUTO chose the kernel: userfaultfd is not permitted to this user.
	"$U" info | grep -q '^auto backend  *kernel' && ok ||
		no "memstore skipped on a machine with userfaultfd: $out" ;;
*)
	printf '%s\n' "$out" | grep -q '^ok: 16 MiB store through a 1 MiB budget, 0 bad bytes$' &&
		ok || no "memstore: $out"
	# Evicted pages were written back and read again: more reads than
	# the store's 256 pages of 64 KiB, and writes.
	printf '%s\n' "$out" | awk '/^close:/ { exit !($2 > 256 && $4 > 0) }' &&
		ok || no "memstore counts: $out" ;;
esac
finish
