#!/bin/sh
# tool-bench.sh - upager bench --quick: results.csv, valid SVG, clean up.
#
# Runs from the repository root (see tests/toollib.sh).  A sanitizer
# build uses a smaller file.

. tests/toollib.sh
make_tmp

# xml_ok FILE: FILE parses as XML.
if command -v xmllint >/dev/null; then
	xml_ok() { xmllint --noout "$1"; }
elif command -v python3 >/dev/null; then
	xml_ok() {
		python3 -c 'import xml.dom.minidom,sys
xml.dom.minidom.parse(sys.argv[1])' "$1"
	}
else
	echo "SKIP: neither xmllint nor python3 to check the SVG"
	exit 77
fi

# (A small file: what is checked is the run and its output.)
size="--size 8M"
HEADER=workload,engine,backend,page_len,file_len,budget,reads,reps,unit,median,min,max,ratio,checksum,ok,confined

start=$(date +%s)
TMPDIR=$T "$U" bench --quick $size --out "$T/out" >"$T/stdout" 2>"$T/stderr"
st=$?
secs=$(($(date +%s) - start))
check "bench --quick: status $st" test $st -eq 0
check "bench --quick: ${secs}s, under 60" test $secs -lt 60
[ $st -eq 0 ] || sed 's/^/    | /' "$T/stdout" "$T/stderr"
check "progress on stderr" grep -q '^bench: \[25/25\]' "$T/stderr"
check "a table of ratios" grep -q '^seq-first .*x' "$T/stdout"
check "checksums verified" grep -q '^checksums: every run matches' \
	"$T/stdout"

csv=$T/out/results.csv
check "results.csv header" test "$(head -n 1 "$csv")" = "$HEADER"
check "results.csv: 25 rows" test "$(wc -l <"$csv")" -eq 26
check "results.csv: 16 columns everywhere" test -z \
	"$(awk -F, 'NF != 16' "$csv")"
check "results.csv: every row ok" test -z \
	"$(awk -F, 'NR > 1 && $15 != 1' "$csv")"
check "results.csv: kernel ratio 1" test -z \
	"$(awk -F, 'NR > 1 && $2 == "kernel" && $13 != "1.0000"' "$csv")"
for w in seq-first rescan rand rand-4x seq-write; do
	check "$w.svg parses as XML" xml_ok "$T/out/$w.svg"
	check "$w.svg has 5 bars" \
		test "$(grep -c '^<rect x=' "$T/out/$w.svg")" -eq 5
done
check "data files removed" test -z "$(ls -A "$T" | grep upager-bench)"
cg=$(sed -n 's|.*memory cgroup \(/sys/fs/cgroup/[^ ]*\).*|\1|p' "$T/stdout")
check "the memory cgroup ${cg:-(none)} removed" test -z "$cg" -o ! -e "$cg"

finish
