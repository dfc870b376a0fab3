#!/bin/sh
# tool-errors.sh - upager(1): exit statuses and messages for bad input.
#
# Runs from the repository root (see tests/toollib.sh).

. tests/toollib.sh
make_tmp
# A tmpfs mounted on $T/full for ENOSPC, unmounted on exit.
mnt=
cleanup() {
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	rm -rf "$T"
}

# expect STATUS PATTERN CMD...: CMD exits with STATUS and its stderr
# matches the grep pattern PATTERN (if not empty).
expect() {
	want=$1
	pat=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		no "$*: exit status $got, wanted $want"
		sed 's/^/    | /' "$T/err"
	elif [ -n "$pat" ] && ! grep -q -- "$pat" "$T/err"; then
		no "$*: stderr does not match '$pat'"
		sed 's/^/    | /' "$T/err"
	else
		ok
	fi
}

printf 'one' >"$T/one"
printf 'two' >"$T/two"
mkdir "$T/dir"

# ---- usage errors: status 2 ----
expect 2 'unknown command' "$U" frobnicate
expect 2 'usage' "$U"
expect 2 'needs SRC and DST' "$U" cp "$T/one"
expect 2 'unknown option' "$U" cp --bogus "$T/one" "$T/x"
expect 2 'needs a value' "$U" cp "$T/one" "$T/x" --method
expect 2 'not upager, kernel' "$U" cp --method nfs "$T/one" "$T/x"
for cmd in scan cat; do
	expect 2 '--budget 0: must be more than 0' \
		"$U" $cmd --budget 0 "$T/one"
	expect 2 '--page-size 3000: must be a power of two' \
		"$U" $cmd --page-size 3000 "$T/one"
	expect 2 '--page-size 4M: must be a power of two' \
		"$U" $cmd --page-size 4M "$T/one"
	expect 2 '--budget 12Q: not a size' "$U" $cmd --budget 12Q "$T/one"
	expect 2 '--budget -1: not a size' "$U" $cmd --budget -1 "$T/one"
	expect 2 'too large' "$U" $cmd --budget 99999999999999999999 "$T/one"
	expect 2 'smaller than one page' \
		"$U" $cmd --budget 8K --page-size 64K "$T/one"
done
expect 2 '--budget 0: must be more than 0' \
	"$U" cp --method upager --budget 0 "$T/one" "$T/x"
expect 2 '--page-size 3000' "$U" cp --page-size 3000 "$T/one" "$T/x"
expect 2 '--pattern zigzag' "$U" scan --pattern zigzag "$T/one"
expect 2 '--count 0' "$U" scan --count 0 "$T/one"
expect 2 '--backend' "$U" scan --backend magic "$T/one"
expect 2 'needs one FILE' "$U" scan
expect 2 'needs a FILE' "$U" cat
expect 2 'takes no operands' "$U" info extra
expect 2 '--size 3M' "$U" bench --size 3M --out "$T/b"
expect 2 '--reps 0' "$U" bench --reps 0 --out "$T/b"
check "cp made no file after usage errors" test ! -e "$T/x"

# ---- --help: status 0 and the exit statuses, for every command ----
for cmd in cp cat scan info bench; do
	"$U" $cmd --help >"$T/out" 2>&1
	check "$cmd --help exits 0" test $? -eq 0
	check "$cmd --help documents exit statuses" \
		grep -q 'Exit status: 0 success, 1 .*, 2 a usage error' "$T/out"
done
"$U" --help >"$T/out" 2>&1
check "--help exits 0" test $? -eq 0

# ---- runtime errors: status 1, naming the file and the reason ----
expect 1 "$T/missing: No such file or directory" \
	"$U" cp "$T/missing" "$T/x"
expect 1 "$T/dir: Is a directory" "$U" cp "$T/dir" "$T/x"
expect 1 "$T/missing: No such file or directory" "$U" cat "$T/missing"
expect 1 "$T/dir: Is a directory" "$U" cat "$T/dir"
expect 1 "$T/missing: No such file or directory" "$U" scan "$T/missing"
expect 1 "$T/dir: Is a directory" "$U" scan "$T/dir"
: >"$T/empty"
expect 1 "$T/empty: the file is empty" "$U" scan "$T/empty"
expect 1 "No such file or directory" "$U" cp "$T/one" "$T/nodir/x"
check "no file after failed copies" test ! -e "$T/x"
expect 1 "input file is output file" sh -c "'$U' cat '$T/two' >>'$T/two'"

# ---- refusing to overwrite, and self-copies ----
expect 1 "$T/two: File exists (use -f to overwrite it)" \
	"$U" cp "$T/one" "$T/two"
check "DST untouched without -f" test "$(cat "$T/two")" = two
cp "$T/one" "$T/dir/one"
expect 1 "$T/dir/one: File exists" "$U" cp "$T/one" "$T/dir"
expect 1 "are the same file" "$U" cp "$T/one" "$T/one"
expect 1 "are the same file" "$U" cp -f "$T/one" "$T/one"
ln "$T/one" "$T/hard"
expect 1 "are the same file" "$U" cp -f "$T/one" "$T/hard"
ln -s one "$T/soft"
expect 1 "are the same file" "$U" cp -f "$T/one" "$T/soft"
expect 1 "are the same file" "$U" cp -f "$T/soft" "$T/one"
expect 1 "are the same file" "$U" cp -f "$T/one" "$T/./one"
check "self-copies leave SRC intact" test "$(cat "$T/one")" = one
check "self-copies leave no temp file" \
	test -z "$(ls -A "$T" | grep '\.upager-')"
expect 0 "" "$U" cp -f "$T/one" "$T/two"
check "-f replaces DST" test "$(cat "$T/two")" = one

# ---- permission denied: a mode 000 file, as an unprivileged user ----
mkdir "$T/pub"
chmod 755 "$T" "$T/pub"
printf 'secret' >"$T/pub/secret"
chmod 000 "$T/pub/secret"
as_user=
if [ "$(id -u)" -ne 0 ]; then
	as_user=run_self
elif command -v setpriv >/dev/null &&
	setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
	as_user=run_setpriv
elif su nobody -s /bin/sh -c true 2>/dev/null; then
	as_user=run_su
fi
run_self() { "$@"; }
run_setpriv() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
run_su() { su nobody -s /bin/sh -c "$*"; }
if [ -n "$as_user" ] && $as_user test -x "$U"; then
	expect 1 "$T/pub/secret: Permission denied" \
		$as_user "$U" cp "$T/pub/secret" "$T/pub/x"
	expect 1 "$T/pub/secret: Permission denied" \
		$as_user "$U" cat "$T/pub/secret"
	expect 1 "$T/pub/secret: Permission denied" \
		$as_user "$U" scan "$T/pub/secret"
	chmod 644 "$T/pub/secret"
	chmod 555 "$T/pub"
	expect 1 "$T/pub/x: Permission denied" \
		$as_user "$U" cp "$T/pub/secret" "$T/pub/x"
	chmod 755 "$T/pub"
else
	echo "skip: permission denied (cannot run the tool as another user)"
fi

# ---- a source that changes size during the copy ----
# upager with 4 KiB pages copies 128 MiB in seconds; the source shrinks
# (SIGBUS inside the copy) or grows (fstat after) once the copy started.
for how in shrink grow; do
	dd if=/dev/zero of="$T/big" bs=1M count=128 2>/dev/null
	"$U" cp --method upager --page-size 4K "$T/big" "$T/bigcopy" \
		2>"$T/err.$how" &
	pid=$!
	n=0
	until ls -A "$T" | grep -q '^\.bigcopy\.upager-' || [ $n -ge 500 ]; do
		sleep 0.01
		n=$((n + 1))
	done
	case $how in
	shrink) truncate -s 1M "$T/big" ;;
	grow) printf 'more' >>"$T/big" ;;
	esac
	wait $pid
	st=$?
	check "$how during copy: exit status $st, wanted 1" test $st -eq 1
	check "$how during copy: the message" \
		grep -q "$T/big: the file changed size" "$T/err.$how"
	check "$how during copy: no DST left" test ! -e "$T/bigcopy"
	check "$how during copy: no temp file left" \
		test -z "$(ls -A "$T" | grep '\.upager-')"
done
rm -f "$T/big"

# ---- ENOSPC: a full file system (a small tmpfs, when root) ----
mkdir "$T/full"
head -c $((5 * 1048576 + 7)) /dev/urandom >"$T/five"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=4m tmpfs "$T/full" \
	2>/dev/null; then
	mnt=$T/full
	for m in upager kernel read copy_file_range; do
		expect 1 "$T/full/x: " "$U" cp --method $m "$T/five" "$T/full/x"
		check "ENOSPC with $m: nothing left behind" \
			test -z "$(ls -A "$T/full")"
	done
	umount "$T/full" && mnt=
else
	echo "skip: ENOSPC (cannot mount a small tmpfs)"
fi

finish
