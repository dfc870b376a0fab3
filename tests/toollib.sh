# toollib.sh - what every tests/tool-*.sh shares; each sources it with
# `. tests/toollib.sh`.  (Not named tool-*.sh: the Makefile installs those
# as tests, and this file is no test.)
#
# The tests run from the repository root (as tests/run.sh does).  The tool
# is U: $UPAGER, else the upager of the build the test was installed into,
# else build/upager; a test whose tool is not built is skipped (exit 77).
# make_tmp gives a test its temp dir T, under ${TMPDIR:-/var/tmp}.  A test
# counts with ok and no (or check), and ends with finish.

U=${UPAGER:-build/upager}
# Installed by make as O/tests/NAME: test the tool of that build, O/upager.
# $0 is still the test's own name while it sources this file.
[ -z "$UPAGER" ] && [ -x "${0%/*}/../upager" ] && U=${0%/*}/../upager
[ -x "$U" ] || { echo "SKIP: $U is not built"; exit 77; }
pass=0
fail=0

ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }

# check DESCRIPTION CMD...: CMD succeeds.
check() {
	what=$1
	shift
	if "$@"; then ok; else no "$what"; fi
}

# cleanup: run on exit.  A test with more to undo redefines it (and
# removes $T itself).
cleanup() { rm -rf "$T"; }

# make_tmp: the temp dir T, removed on exit.
make_tmp() {
	T=$(mktemp -d "${TMPDIR:-/var/tmp}/upager-tool.XXXXXX") || exit 1
	trap cleanup EXIT
	trap 'exit 130' INT TERM
}

# sanitized: U is a sanitizer build ($UPAGER_SANITIZED set, or found in
# the binary), which wants smaller files.
sanitized() {
	[ -n "$UPAGER_SANITIZED" ] ||
		grep -q -a -e __asan_init -e __tsan_init "$U"
}

# finish: the closing line; the status is 0 only if nothing failed.
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
