#!/bin/sh
# tool-run-lmdb.sh - LMDB's own tools under upager run, with a budget a
# quarter of the database: mdb_load of a dump, mdb_dump back byte for
# byte, mdb_stat as without upager; and a program on liblmdb with
# MDB_WRITEMAP (stores through the mapping) checked against a model, then
# read again without upager.
#
# Runs from the repository root (see tests/toollib.sh).

. tests/toollib.sh
command -v mdb_load >/dev/null 2>&1 && command -v mdb_dump >/dev/null 2>&1 ||
	{ echo "SKIP: lmdb-utils is not installed"; exit 77; }
. tests/runlib.sh
make_tmp

# A dump of 24000 records of 200 bytes (about 6 MiB of data), in
# mdb_dump's own format, so that a dump of the loaded database is the same.
awk -v n=24000 -v vlen=200 -v mapsize=1073741824 \
	-f tests/progs/lmdb-dump.awk > "$T/in.dump"

run_up --budget 1M --stats -- mdb_load -n -f "$T/in.dump" "$T/u.db" \
	2> "$T/load.err" || no "mdb_load under upager run failed: $(cat "$T/load.err")"
grep -q 'faults [1-9]' "$T/load.err" && ok || no "mdb_load: no fault went to the pager"
mdb_load -n -f "$T/in.dump" "$T/k.db" || no "mdb_load alone failed"
db=$(stat -c %s "$T/u.db")
[ "$db" -ge $((4 * 1024 * 1024)) ] && ok ||
	no "the database ($db bytes) is not 4 times the budget"
run_up --budget 1M -- mdb_dump -n "$T/u.db" > "$T/u.dump" ||
	no "mdb_dump under upager run failed"
mdb_dump -n "$T/k.db" > "$T/k.dump"
check "mdb_dump: the same dump as without upager" cmp "$T/k.dump" "$T/u.dump"
sed -n '/^HEADER=END$/,$p' "$T/in.dump" > "$T/in.data"
sed -n '/^HEADER=END$/,$p' "$T/u.dump" > "$T/u.data"
check "mdb_dump: the records loaded" cmp "$T/in.data" "$T/u.data"
run_up --budget 1M -- mdb_stat -n "$T/u.db" > "$T/u.stat" ||
	no "mdb_stat under upager run failed"
mdb_stat -n "$T/k.db" > "$T/k.stat"
check "mdb_stat: as without upager" cmp "$T/k.stat" "$T/u.stat"

# MDB_WRITEMAP: LMDB stores through the mapping.
if [ -f /usr/include/lmdb.h ] &&
	${CC:-cc} -O2 -o "$T/writemap" tests/progs/lmdb-writemap.c -llmdb 2>"$T/cc.err"
then
	seed=${UPAGER_SEED:-$(date +%s)}
	txns=15
	sanitized && txns=8
	run_up --budget 1M -- "$T/writemap" run "$T/w.db" "$T/w.model" \
		"$seed" $txns > "$T/w.out" 2>&1 &&
		ok || no "writemap under upager run (seed $seed): $(tail -5 "$T/w.out")"
	"$T/writemap" verify "$T/w.db" "$T/w.model" > "$T/v.out" 2>&1 &&
		ok || no "writemap: the database read again (seed $seed): $(tail -5 "$T/v.out")"
else
	echo "liblmdb-dev is not installed: the MDB_WRITEMAP part is skipped"
fi
finish
