#!/bin/sh
# tool-rados.sh - the CLI on a RADOS store: upager cp of a file into
# rados://upager/NAME, cat and cp back byte for byte, scan with a budget
# of 64M reporting throughput and fault latency, and cp --compress out of
# it; a missing store is an error.  Needs $CEPH_CONF (make check-rados).
#
# Runs from the repository root (see tests/toollib.sh).

. tests/toollib.sh
[ -n "$CEPH_CONF" ] || { echo "SKIP: no cluster: \$CEPH_CONF is not set"; exit 77; }
"$U" cat rados://upager/probe-$$ 2>&1 | grep -q 'without librados\|not supported' &&
	{ echo "SKIP: upager built without librados"; exit 77; }
make_tmp
head -c 20971520 /dev/urandom > "$T/src"	# 20 MiB, several objects
printf 'the end' >> "$T/src"
url=rados://upager/tool-$$

check "cp into $url" "$U" cp --no-progress "$T/src" "$url"
"$U" cat "$url" > "$T/cat"
check "cat of it" cmp "$T/cat" "$T/src"
check "cp out of it" "$U" cp --no-progress "$url" "$T/out"
check "cp out: the data" cmp "$T/out" "$T/src"
out=$("$U" scan "$url" --budget 64M 2>&1)
printf '%s\n' "$out" | grep -q "^file .*, $(stat -c %s "$T/src") bytes$" &&
	ok || no "scan: $out"
printf '%s\n' "$out" | grep -q '^time .*MiB/s' && ok || no "scan: no throughput"
printf '%s\n' "$out" | grep -q '^fault time *p50' && ok || no "scan: no latency"
check "cp --compress out of it" "$U" cp --compress --no-progress "$url" "$T/z"
"$U" cat "$T/z" | cmp -s - "$T/src" && ok || no "the compressed copy"
if "$U" cat rados://upager/no-such-store-$$ > "$T/none" 2>"$T/err"; then
	no "cat of a missing store succeeded"
else
	[ ! -s "$T/none" ] && grep -qi 'no such' "$T/err" && ok ||
		no "cat of a missing store: $(cat "$T/err")"
fi
finish
