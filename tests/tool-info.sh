#!/bin/sh
# tool-info.sh - upager info: every section, consistent with the machine.
#
# Runs from the repository root (as tests/run.sh does); the tool is
# $UPAGER, else the upager of the build the test was installed into, else
# build/upager.

U=${UPAGER:-build/upager}
# Installed by make as O/tests/NAME: test the tool of that build, O/upager.
[ -z "$UPAGER" ] && [ -x "${0%/*}/../upager" ] && U=${0%/*}/../upager
[ -x "$U" ] || { echo "SKIP: $U is not built"; exit 77; }
out=$("$U" info 2>&1)
st=$?
pass=0
fail=0

ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }

# has PATTERN: the output has a line matching PATTERN.
has() {
	if printf '%s\n' "$out" | grep -q -- "$1"; then ok; else
		no "info lacks '$1'"
	fi
}

[ "$st" -eq 0 ] && ok || no "info: exit status $st"
has "^page size  *$(getconf PAGESIZE)$"
has '^userfaultfd  *\(permitted\|NOT permitted\)'
has '^uffd features'
has '^THP enabled'
has '^THP shmem_enabled'
has '^memory cgroup v1'
has '^memory cgroup v2'
has '^auto backend  *\(userfaultfd\|kernel\)'
if printf '%s\n' "$out" | grep -q '^userfaultfd  *permitted'; then
	has '^auto backend  *userfaultfd'
	has 'yes .*(MISSING_SHMEM)'
else
	# Not permitted: the reason and what to change are printed.
	has 'unprivileged_userfaultfd\|/dev/userfaultfd\|CAP_SYS_PTRACE'
fi
thp=/sys/kernel/mm/transparent_hugepage/enabled
if [ -f $thp ]; then
	if printf '%s\n' "$out" | grep '^THP enabled' | grep -qF "$(cat $thp)"
	then ok; else no "info does not show $thp"; fi
fi
[ "$fail" -gt 0 ] && printf '%s\n' "$out"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
