#!/bin/sh
# tool-run-sqlite.sh - upager run -- sqlite3, with PRAGMA mmap_size larger
# than a database 4 times the budget: the same output and the same
# database as without upager, integrity_check ok, the statistics on
# stderr; a transaction killed in the middle leaves a database that
# opens intact; and three processes writing at once lose nothing.
#
# Runs from the repository root (see tests/toollib.sh).

. tests/toollib.sh
command -v sqlite3 >/dev/null 2>&1 ||
	{ echo "SKIP: sqlite3 is not installed"; exit 77; }
. tests/runlib.sh
make_tmp

rows=20000
cat > "$T/work.sql" <<SQL
PRAGMA mmap_size=4000000000;
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c INTEGER);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<$rows)
INSERT INTO t SELECT i, printf('%0120d', i * 7919 % 1000003), i * 7 FROM s;
CREATE INDEX tc ON t(c);
UPDATE t SET c = c + 1 WHERE a % 3 = 0;
DELETE FROM t WHERE a % 11 = 0;
CREATE INDEX tb ON t(b);
SELECT count(*), sum(c), max(length(b)) FROM t;
SELECT a, c FROM t WHERE b > '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000999000' ORDER BY c LIMIT 5;
PRAGMA integrity_check;
SQL

sqlite3 "$T/k.db" < "$T/work.sql" > "$T/k.out" 2>&1 || no "sqlite3 alone failed"
run_up --budget 1M --stats -- sqlite3 "$T/u.db" < "$T/work.sql" \
	> "$T/u.out" 2> "$T/u.err" || no "sqlite3 under upager run failed"
check "the same output" cmp "$T/k.out" "$T/u.out"
grep -q '^ok$' "$T/u.out" && ok || no "integrity_check under upager"
db=$(stat -c %s "$T/u.db")
[ "$db" -ge $((4 * 1024 * 1024)) ] && ok ||
	no "the database ($db bytes) is not 4 times the budget"
# The database was mapped through the pager, within its budget of 16 pages.
grep -q 'upager\[[0-9]*\]: backend userfaultfd, page 65536, budget 16 pages' \
	"$T/u.err" && ok || no "no statistics of a 1M pager: $(cat "$T/u.err")"
grep -q 'faults [1-9]' "$T/u.err" && ok || no "no fault went to the pager"
# Where the time went, and the fault service times' histogram, whose
# counts add up to the faults served.
grep -q 'upager\[[0-9]*\]: run [0-9.]* [mu]*s, serving faults .*(.*%), of which evicting' \
	"$T/u.err" && ok || no "no time figures: $(cat "$T/u.err")"
faults=$(sed -n 's/.*: faults \([0-9]*\) read, \([0-9]*\) write.*/\1 \2/p' "$T/u.err" |
	awk '{ print $1 + $2 }')
hist=$(awk '/upager\[[0-9]*\]: +[0-9.]+ [mun]*s - / { n += $NF } END { print n + 0 }' \
	"$T/u.err")
[ "$hist" -gt 0 ] && [ "$hist" -le "$faults" ] && ok ||
	no "the histogram counts $hist faults of $faults"
sqlite3 "$T/k.db" .dump > "$T/k.dump"
sqlite3 "$T/u.db" .dump > "$T/u.dump"
check "the same database" cmp "$T/k.dump" "$T/u.dump"

# A transaction killed in the middle: the journal rolls it back.
before=$(sqlite3 "$T/u.db" 'SELECT count(*) FROM t')
cat > "$T/kill.sql" <<SQL
PRAGMA mmap_size=4000000000;
BEGIN;
UPDATE t SET c = -c WHERE a % 7 = 0;
INSERT INTO t(b, c) SELECT b, c FROM t WHERE a < 2000;
.print in-transaction
.system sleep 30
COMMIT;
SQL
(up_env && exec "$U" run --budget 1M -- sqlite3 "$T/u.db" < "$T/kill.sql" \
	> "$T/kill.out" 2>&1) &
pid=$!
i=0
while ! grep -q in-transaction "$T/kill.out" 2>/dev/null && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -9 $pid
wait $pid 2>/dev/null
pkill -f "^sleep 30$" 2>/dev/null
out=$(sqlite3 "$T/u.db" 'PRAGMA integrity_check; SELECT count(*), min(c) FROM t')
exp=$(printf 'ok\n%s|%s' "$before" "$(sqlite3 "$T/k.db" 'SELECT min(c) FROM t')")
[ "$out" = "$exp" ] && ok || no "after the kill: '$out', not '$exp'"

# Three processes write one database at once, each transaction growing it
# (so it is mapped again under the locks): none is lost.
sqlite3 "$T/c.db" 'CREATE TABLE c(n); INSERT INTO c VALUES(0); CREATE TABLE g(t, i, b);'
txns=200
sanitized && txns=60
writer() {
	i=0
	{
		echo "PRAGMA mmap_size=4000000000; PRAGMA busy_timeout=60000;"
		while [ $i -lt $txns ]; do
			echo "BEGIN IMMEDIATE; UPDATE c SET n = n + 1;"
			echo "INSERT INTO g VALUES('$1', $i, zeroblob(20000)); COMMIT;"
			i=$((i + 1))
		done
	} | run_up --budget 1M -- sqlite3 "$T/c.db" > /dev/null
}
writer a & pa=$!
writer b & pb=$!
writer c & pc=$!
wait $pa && wait $pb && wait $pc && ok || no "a writer failed"
out=$(sqlite3 "$T/c.db" 'SELECT n FROM c; SELECT count(*) FROM g; PRAGMA integrity_check')
exp=$(printf '%s\n%s\nok' $((3 * txns)) $((3 * txns)))
[ "$out" = "$exp" ] && ok || no "three writers: '$out', not '$exp'"
finish
