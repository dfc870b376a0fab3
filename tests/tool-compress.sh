#!/bin/sh
# tool-compress.sh - compressed files: upager cp --compress writes one a
# fraction of the size of compressible data; cat, cp and scan read it back
# byte for byte; cp --compress of one compacts it; an ordinary user (the
# kernel backend) reads it too; a damaged one is an error, never raw bytes.
#
# Runs from the repository root (see tests/toollib.sh).

. tests/toollib.sh
"$U" cp --help 2>&1 | grep -q -- --compress ||
	{ echo "SKIP: this upager has no --compress"; exit 77; }
make_tmp
# About 6 MiB of log lines and 1 MiB of random bytes at the end.
awk 'BEGIN { for (i = 0; i < 160000; i++)
	printf "line %d of a log, level %d, ok\n", i, i % 7 }' > "$T/src"
head -c 1048576 /dev/urandom >> "$T/src"

check "cp --compress" "$U" cp --compress --no-progress "$T/src" "$T/z"
if [ -f "$T/z" ] && ! cmp -s "$T/z" "$T/src"; then ok; else
	no "cp --compress wrote no compressed file"; fi
# Text compresses: the file is well under half its data (the random MiB
# stays as it is).
size=$(stat -c %s "$T/z") src=$(stat -c %s "$T/src")
[ "$size" -lt $((src / 2)) ] && ok || no "compressed $size of $src bytes"
"$U" cat "$T/z" > "$T/cat" 2>"$T/err"
check "cat of it" cmp "$T/cat" "$T/src"
check "cp out of it" "$U" cp --no-progress "$T/z" "$T/out"
check "cp out of it: the data" cmp "$T/out" "$T/src"
check "compacting cp" "$U" cp --compress --no-progress "$T/z" "$T/z2"
"$U" cat "$T/z2" | cmp -s - "$T/src" && ok || no "cat of the compacted copy"
# scan maps the store: with userfaultfd; on the kernel backend it says
# why it cannot.
out=$("$U" scan "$T/z" --budget 1M 2>&1)
if "$U" info | grep -q '^auto backend  *userfaultfd'; then
	printf '%s\n' "$out" | grep -q "^file .*, $src bytes$" && ok ||
		no "scan: the data's length: $out"
	printf '%s\n' "$out" | grep -q '^compressed ' && ok ||
		no "scan: no compressed line: $out"
	# Unless told otherwise, a compressed file is scanned in 2 MiB
	# pages (where the budget holds several), a plain one in the
	# library's.
	"$U" scan "$T/z" --budget 64M | grep -q '^pager  *page 2 MiB' && ok ||
		no "scan of a compressed file: not in 2 MiB pages"
	"$U" scan "$T/src" --budget 64M | grep -q '^pager  *page 64 KiB' &&
		ok || no "scan of a plain file: not in 64 KiB pages"
	"$U" scan "$T/z" --budget 64M --page-size 256K |
		grep -q '^pager  *page 256 KiB' && ok ||
		no "scan of a compressed file: --page-size not followed"
else
	printf '%s\n' "$out" | grep -q 'kernel backend.*show a store' &&
		ok || no "scan on the kernel backend: $out"
fi
# An ordinary user: cat works whatever backend it gets.
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	chmod 755 "$T"
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$U" cat "$T/z" | cmp -s - "$T/src" && ok ||
		no "cat as an ordinary user"
fi
# Damaged: the header's length changed.  An error, no output.
cp "$T/z" "$T/bad"
printf 'X' | dd of="$T/bad" bs=1 seek=9 conv=notrunc 2>/dev/null
"$U" cat "$T/bad" > "$T/badout" 2>"$T/err"
st=$?
[ "$st" -ne 0 ] && [ ! -s "$T/badout" ] && grep -q 'bad message\|Bad message' "$T/err" &&
	ok || no "cat of a damaged file: status $st, $(cat "$T/err")"
finish
