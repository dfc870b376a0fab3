#!/bin/sh
# SPDX-License-Identifier: MIT
# The compressed store on a compressible data set: a log of N MiB (lines
# of text with counters, default 256), written once with `upager cp
# --compress`.  Printed: the ratio, the time of the compressing copy beside
# a plain `upager cp`, and a sequential scan (`upager scan`, defaults, and
# with 2 MiB pages) and `upager cat` of the compressed file beside the scan
# of the plain file and `zstd -d` of one frame of the same data where zstd
# is installed.  Best of 3 runs, page-cached files.
#
#   sh bench/compress.sh [UPAGER] [--size MiB]

U=build/upager
case "$1" in
-*|"") ;;
*) U=$1; shift ;;
esac
mib=256
[ "$1" = --size ] && mib=$2
T=$(mktemp -d "${TMPDIR:-/var/tmp}/upager-compress.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
awk -v n=$((mib * 1048576)) 'BEGIN {
	srand(7)
	while (got < n) {
		l = sprintf("2026-12-06T%02d:%02d:%02d.%06d host%d svc[%d]: " \
			    "request %d took %d us status %d\n", int(rand() * 24),
			    int(rand() * 60), int(rand() * 60), int(rand() * 1e6),
			    int(rand() * 16), int(rand() * 4096), i++,
			    int(rand() * 100000), rand() < 0.99 ? 200 : 500)
		printf "%s", l
		got += length(l)
	}
}' > "$T/log"

# best SECONDS of three runs of CMD... (output discarded)
best() {
	b=""
	for r in 1 2 3; do
		t0=$(date +%s.%N)
		"$@" > /dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
		t=$(echo "$(date +%s.%N) - $t0" | bc)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}
mibps() { echo "scale=1; $(stat -c %s "$T/log") / 1048576 / $1" | bc; }

len=$(stat -c %s "$T/log")
tz=$(best sh -c "rm -f '$T/z'; '$U' cp --compress --no-progress '$T/log' '$T/z'")
tp=$(best sh -c "rm -f '$T/p'; '$U' cp --no-progress '$T/log' '$T/p'")
zl=$(stat -c %s "$T/z")
cat "$T/log" "$T/z" > /dev/null
sp=$(best "$U" scan "$T/log")
sz=$(best "$U" scan "$T/z")
s2=$(best "$U" scan "$T/z" --page-size 2M)
# (Through a pipe: write(2) to /dev/null would not read the mapping.)
cz=$(best sh -c "'$U' cat '$T/z' | wc -c")
echo "compressed store: $mib MiB of log lines, $(nproc) CPUs, $(date '+%Y-%m-%d %H:%M')"
printf '%-44s %s\n' "ratio" "$(echo "scale=2; $len / $zl" | bc)x ($len -> $zl bytes)"
printf '%-44s %s s, %s MiB/s\n' "upager cp --compress" "$tz" "$(mibps "$tz")"
printf '%-44s %s s, %s MiB/s\n' "upager cp (plain)" "$tp" "$(mibps "$tp")"
printf '%-44s %s s, %s MiB/s\n' "upager scan, plain file" "$sp" "$(mibps "$sp")"
printf '%-44s %s s, %s MiB/s\n' "upager scan, compressed file" "$sz" "$(mibps "$sz")"
printf '%-44s %s s, %s MiB/s\n' "upager scan --page-size 2M, compressed" "$s2" "$(mibps "$s2")"
printf '%-44s %s s, %s MiB/s\n' "upager cat, compressed file" "$cz" "$(mibps "$cz")"
if command -v zstd >/dev/null; then
	zstd -q -3 -f "$T/log" -o "$T/log.zst"
	zd=$(best sh -c "zstd -q -d -c '$T/log.zst' | wc -c")
	printf '%-44s %s s, %s MiB/s\n' "zstd -d of one 'zstd -3' frame" "$zd" "$(mibps "$zd")"
fi
