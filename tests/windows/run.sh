#!/bin/sh
# run.sh - run the Windows tests of a cross-built tree under wine.
#
# usage: sh tests/windows/run.sh WO [PATTERN]
# WO is the Windows build ($(O)/windows): WO/tests holds one script per
# test, which runs its program under $WINE (default wine), and tests/run.sh
# runs them as it runs the Linux tests, ending with "N passed, N failed, N
# skipped".  Wine keeps its configuration in $WINEPREFIX (default
# ${TMPDIR:-/tmp}/upager-wine-UID), made on first use in a few seconds;
# the tests' files go to a directory removed at the end.

wo=${1:?usage: run.sh WO [PATTERN]}
: "${WINE:=wine}"
: "${WINEPREFIX:=${TMPDIR:-/tmp}/upager-wine-$(id -u)}"
# No debugging chatter, and no offer to install Mono or Gecko.
: "${WINEDEBUG:=-all}"
: "${WINEDLLOVERRIDES:=mscoree,mshtml=}"
: "${UPAGER_TEST_TIMEOUT:=120}"
export WINE WINEPREFIX WINEDEBUG WINEDLLOVERRIDES UPAGER_TEST_TIMEOUT

if ! command -v "$WINE" >/dev/null 2>&1; then
	echo "$WINE not found (apt-get install wine wine64)"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
# Made once, before tests start wine side by side.
"$WINE" wineboot --init >/dev/null 2>&1

UPAGER_TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/upager-wintest.XXXXXX") || exit 1
export UPAGER_TEST_DIR
trap 'rm -rf "$UPAGER_TEST_DIR"' EXIT
trap 'exit 130' INT TERM
sh tests/run.sh "$wo/tests" "$2"
