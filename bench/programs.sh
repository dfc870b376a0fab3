#!/bin/sh
# SPDX-License-Identifier: MIT
# Real programs under `upager run --budget B` beside the kernel's mmap
# confined to the same memory by a memory cgroup (v1, as root): sqlite3
# with PRAGMA mmap_size over a database 4 times B (a full scan, then
# PRAGMA integrity_check, which reads the b-trees in their own order), and
# LMDB's mdb_dump and mdb_stat over a database 4 times B.  Each program runs
# with cold caches (drop_caches), then warm; printed: the kernel's seconds,
# upager's ratio to them (above 1: upager faster), the memory each run's
# cgroup peaked at (page cache included), and upager's statistics.
#
#   sh bench/programs.sh [UPAGER] [--budget N (MiB, default 32)]
#
# UPAGER is the tool (default build/upager); the data goes in
# ${TMPDIR:-/var/tmp}.

U=build/upager
case "$1" in
-*|"") ;;
*) U=$1; shift ;;
esac
mib=32
[ "$1" = --budget ] && mib=$2
cg=/sys/fs/cgroup/memory
[ "$(id -u)" -eq 0 ] && [ -w $cg/memory.limit_in_bytes ] ||
	{ echo "needs root and a memory cgroup v1 at $cg"; exit 77; }
command -v sqlite3 >/dev/null && command -v mdb_load >/dev/null ||
	{ echo "needs sqlite3 and lmdb-utils"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/var/tmp}/upager-programs.XXXXXX") || exit 1
trap 'rmdir $cg/upb-k-$$ $cg/upb-u-$$ 2>/dev/null; rm -rf "$T"' EXIT
mkdir $cg/upb-k-$$ $cg/upb-u-$$
# The kernel's group holds the budget and 16 MiB for the program itself.
echo $(((mib + 16) << 20)) > $cg/upb-k-$$/memory.limit_in_bytes

# run_in GROUP CMD...: run CMD in the cgroup; its seconds in $secs, its peak
# in $peak (MiB).
run_in() {
	g=$cg/$1
	shift
	echo 0 > $g/memory.max_usage_in_bytes 2>/dev/null
	sync; echo 3 > /proc/sys/vm/drop_caches
	[ "$warm" ] && cat $files > /dev/null
	t0=$(date +%s.%N)
	sh -c 'echo $$ > '"$g"'/cgroup.procs; exec "$@"' sh "$@" > "$T/out" 2> "$T/err"
	t1=$(date +%s.%N)
	secs=$(echo "$t1 - $t0" | bc)
	peak=$(($(cat $g/memory.max_usage_in_bytes) >> 20))
}

# one NAME CMD...: the kernel's run, then upager's, cold and warm.
one() {
	name=$1
	shift
	for warm in "" yes; do
		run_in upb-k-$$ "$@"; ks=$secs; kp=$peak; cp "$T/out" "$T/k.out"
		run_in upb-u-$$ "$U" run --budget ${mib}M --stats -- "$@"
		cmp -s "$T/out" "$T/k.out" || echo "$name: OUTPUT DIFFERS"
		printf '%-22s %-5s %8.2f s %6d MiB   %6.2fx %6d MiB\n' "$name" \
			"$([ "$warm" ] && echo warm || echo cold)" "$ks" "$kp" \
			"$(echo "$ks / $secs" | bc -l)" "$peak"
		sed -n 's/^upager\[[0-9]*\]: /    /p' "$T/err" | sed -n '2,4p'
	done
}

rows=$((mib * 4 * 4000))
echo "building a $((mib * 4)) MiB-ish sqlite database and LMDB database..."
sqlite3 "$T/s.db" <<SQL
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c INTEGER);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<$rows)
INSERT INTO t SELECT i, printf('%0200d', i * 7919 % 1000003), i * 7 FROM s;
CREATE INDEX tc ON t(c);
SQL
awk -v n=$((mib * 4 * 3200)) -v vlen=300 -v mapsize=17179869184 \
	-f "$(dirname "$0")/../tests/progs/lmdb-dump.awk" | mdb_load -n "$T/l.db"
echo "sqlite $(($(stat -c %s "$T/s.db") >> 20)) MiB, lmdb $(($(stat -c %s "$T/l.db") >> 20)) MiB, budget $mib MiB"
echo "workload               cache   kernel  peak      upager  peak"
files="$T/s.db"
one "sqlite scan" sqlite3 -cmd 'PRAGMA mmap_size=68719476736' "$T/s.db" \
	'SELECT count(*), sum(c), sum(length(b)) FROM t'
one "sqlite integrity_check" sqlite3 -cmd 'PRAGMA mmap_size=68719476736' \
	"$T/s.db" 'PRAGMA integrity_check'
files="$T/l.db"
one "lmdb mdb_dump" sh -c 'mdb_dump -n "$1" | cksum' sh "$T/l.db"
one "lmdb mdb_stat" mdb_stat -n "$T/l.db"
