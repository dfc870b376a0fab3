#!/bin/sh
# tool-info.sh - upager info: every section, consistent with the machine.
#
# Runs from the repository root (see tests/toollib.sh).

. tests/toollib.sh
out=$("$U" info 2>&1)
st=$?

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

finish
