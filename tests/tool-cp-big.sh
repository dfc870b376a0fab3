#!/bin/sh
# tool-cp-big.sh - upager cp: a 256 MiB file, byte-exact, with every method.
#
# Runs from the repository root (see tests/toollib.sh).  A sanitizer
# build copies 128 MiB instead.

. tests/toollib.sh
make_tmp

mib=256
sanitized && mib=128
avail=$(df -Pk "$T" | awk 'NR == 2 { print $4 }')
if [ "$avail" -lt $((mib * 1024 * 3)) ]; then
	echo "SKIP: less than $((mib * 3)) MiB free in $T"
	exit 77
fi

# Random data, so that a page copied to the wrong place shows; the last
# page is partial.
head -c $((mib * 1048576 - 4095)) /dev/urandom >"$T/src" || exit 1
chmod 600 "$T/src"
for m in copy_file_range kernel read upager; do
	start=$(date +%s)
	if ! "$U" cp --method $m "$T/src" "$T/dst"; then
		no "cp --method $m of $mib MiB failed"
	elif ! cmp "$T/src" "$T/dst"; then
		no "cp --method $m of $mib MiB: the copy differs"
	elif [ "$(stat -c %a "$T/dst")" != 600 ]; then
		no "cp --method $m of $mib MiB: mode $(stat -c %a "$T/dst")"
	else
		ok
	fi
	echo "cp --method $m: $mib MiB in $(($(date +%s) - start)) s"
	rm -f "$T/dst"
done

finish
