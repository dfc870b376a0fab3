#!/bin/sh
# tool-cp.sh - upager cp: byte-exact copies with every method, holes, mode.
#
# Runs from the repository root (see tests/toollib.sh).

. tests/toollib.sh
make_tmp
METHODS="upager kernel read copy_file_range"

blocks() { stat -c %b "$1"; }
mode() { stat -c %a "$1"; }

# copy_ok SRC [cp options]: copy to $T/dst, then compare content, size
# and mode.
copy_ok() {
	src=$1
	shift
	rm -f "$T/dst"
	if ! "$U" cp "$@" "$src" "$T/dst" 2>"$T/err"; then
		no "cp $* ${src##*/}: failed: $(cat "$T/err")"
		return 1
	fi
	if ! cmp -s "$src" "$T/dst"; then
		no "cp $* ${src##*/}: the copy differs"
		return 1
	fi
	if [ "$(mode "$src")" != "$(mode "$T/dst")" ]; then
		no "cp $* ${src##*/}: mode $(mode "$T/dst"), not $(mode "$src")"
		return 1
	fi
	ok
}

: >"$T/empty"
printf 'x' >"$T/one"
head -c 4096 /dev/urandom >"$T/page"
head -c 12345 /dev/urandom >"$T/odd"
head -c $((5 * 1048576 + 7)) /dev/urandom >"$T/five"
chmod 640 "$T/odd"
chmod 755 "$T/five"

# A sparse file: 64 MiB, data at 10 MiB (1 MiB) and at 5000 pages (12 KiB,
# not aligned to 64 KiB), and 4 bytes at the very end.
truncate -s 64M "$T/sparse"
dd if=/dev/urandom of="$T/sparse" bs=1M count=1 seek=10 conv=notrunc \
	2>/dev/null
dd if=/dev/urandom of="$T/sparse" bs=4k count=3 seek=5000 conv=notrunc \
	2>/dev/null
printf 'tail' >>"$T/sparse"
sb=$(blocks "$T/sparse")

for m in $METHODS; do
	for f in empty one page odd five sparse; do
		copy_ok "$T/$f" --method $m --verify
	done
	copy_ok "$T/sparse" --method $m
	db=$(blocks "$T/dst")
	check "sparse with $m: $db blocks, source $sb: holes kept" \
		test "$db" -le $((sb + 256))
	check "sparse with $m: size" \
		test "$(stat -c %s "$T/dst")" = "$(stat -c %s "$T/sparse")"
done

# The default method, and upager with other page sizes and budgets.
for f in one odd five sparse; do
	copy_ok "$T/$f"
	copy_ok "$T/$f" --method upager --page-size 4K --budget 64K
	copy_ok "$T/$f" --method upager --page-size 2M --budget 4M
	copy_ok "$T/$f" --method upager --backend kernel
done
copy_ok "$T/sparse" --method upager --page-size 2M
check "sparse with 2 MiB pages: holes kept" \
	test "$(blocks "$T/dst")" -le $((sb + 256))

# Into a directory, and -f over an existing file.
mkdir "$T/dir"
"$U" cp "$T/odd" "$T/dir" 2>"$T/err"
check "cp into a directory" cmp -s "$T/odd" "$T/dir/odd"
printf 'old' >"$T/old"
for m in $METHODS; do
	"$U" cp -f --method $m "$T/five" "$T/old" 2>"$T/err"
	check "-f with $m replaces DST" cmp -s "$T/five" "$T/old"
	printf 'old' >"$T/old"
done
check "no temp files left" test -z "$(ls -A "$T" "$T/dir" | grep '^\.')"

# No progress bar when stderr is not a terminal; one when it is.
head -c 65M /dev/zero >"$T/zeros"
rm -f "$T/dst"
"$U" cp "$T/zeros" "$T/dst" 2>"$T/err"
check "no progress bar off a terminal" test ! -s "$T/err"
if command -v script >/dev/null; then
	rm -f "$T/dst"
	script -qec "'$U' cp '$T/zeros' '$T/dst'" /dev/null >"$T/tty" 2>&1
	check "a progress bar on a terminal" grep -q '100%' "$T/tty"
	rm -f "$T/dst"
	script -qec "'$U' cp --no-progress '$T/zeros' '$T/dst'" /dev/null \
		>"$T/tty" 2>&1
	check "--no-progress" test ! -s "$T/tty"
else
	echo "skip: progress bar on a terminal (no script(1))"
fi

finish
