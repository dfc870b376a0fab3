#!/bin/sh
# tool-run-life.sh - a program's life under upager run: a mapping made in
# a constructor, threads mapping at once, fork (the child's stores reach
# the parent), exec (the new program maps through the pager too), and the
# program's own SIGSEGV handler; then the same with --kernel, where the
# pager takes nothing.
#
# Runs from the repository root (see tests/toollib.sh).

. tests/toollib.sh
. tests/runlib.sh
make_tmp
command -v ${CC:-cc} >/dev/null 2>&1 || { echo "SKIP: no C compiler"; exit 77; }
${CC:-cc} -O2 -pthread -Iinclude -o "$T/life" tests/progs/preload-life.c -ldl ||
	{ no "tests/progs/preload-life.c does not build"; finish; exit 1; }
head -c $((4 << 20)) /dev/zero > "$T/f"
LIFE_FILE="$T/f" run_up -- "$T/life" > "$T/u.out" 2>&1 ||
	no "under upager run: $(cat "$T/u.out")"
[ "$(grep -c '^taken constructor$' "$T/u.out")" -eq 2 ] && ok ||
	no "the constructors' mappings (also after exec) were not the pager's: $(cat "$T/u.out")"
grep -q '^taken main$' "$T/u.out" && ok || no "main's mapping was not the pager's"
head -c $((4 << 20)) /dev/zero > "$T/f"
LIFE_FILE="$T/f" run_up --kernel -- "$T/life" > "$T/k.out" 2>&1 ||
	no "under upager run --kernel: $(cat "$T/k.out")"
grep -q '^taken' "$T/k.out" && no "--kernel: the pager took a mapping" || ok
finish
