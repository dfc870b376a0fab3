#!/bin/sh
# rados-cluster.sh - a throwaway one-node Ceph RADOS cluster for the tests.
#
# usage: sh tests/rados-cluster.sh start DIR
#        sh tests/rados-cluster.sh stop DIR
#
# start makes DIR (which must not exist or be empty) and everything in it:
# the configuration DIR/ceph.conf, the monitor's and the OSD's data, their
# logs DIR/*.log and pid files DIR/*.pid.  It starts one monitor (mon.a)
# and one OSD (osd.0, memstore: the objects are kept in memory, no disk)
# on 127.0.0.1, with cephx off, makes the replicated pool "upager" of
# size 1, and ends once an object can be written, read and removed in it.
# It then prints one line, CEPH_CONF=DIR/ceph.conf: a client needs only
# that file (rados -c, rados_conf_read_file()).  No ceph-mgr runs: the
# monitor does the pool commands itself (what needs a mgr, such as
# `ceph pg stat` or the usage figures of `rados df`, has no answer or
# zeros).  It takes about 2 s.  On failure (or SIGINT/TERM/HUP) start
# says why on stderr, stops what it started, removes DIR (unless
# RADOS_CLUSTER_KEEP is set, to read its logs) and exits 1.
#
# stop kills the daemons of DIR (every process started as
# "ceph-* -c DIR/ceph.conf", also after a start that was killed halfway),
# waits for them to end and removes DIR (only one that start made: it has
# DIR/.rados-cluster).  It takes well under a second.
#
# Ports: the monitor listens on 127.0.0.1 at a port taken from DIR's name
# (13300..19299), the next one if that is taken; the OSD takes free ports
# in 6800..7300 as Ceph does.  Only msgr2 (no msgr1 ports).  Ceph 16
# (pacific); POSIX sh.

usage() {
	echo "usage: rados-cluster.sh start|stop DIR" >&2
	exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
case $2 in
/*) dir=$2 ;;
*) dir=$(pwd)/$2 ;;
esac
while [ "${dir%/}" != "$dir" ]; do dir=${dir%/}; done
[ -n "$dir" ] || usage
conf=$dir/ceph.conf
# start marks DIR as its own: stop removes no other directory.
mark=$dir/.rados-cluster

say() { echo "rados-cluster: $*" >&2; }

# daemons: the pids of the ceph daemons of DIR, found by their command
# line "ceph-* -c DIR/ceph.conf ...": so also one whose pid file
# DIR/NAME.pid is not written yet, and never another process that took
# over the pid of a daemon that ended.
daemons() {
	grep -lF -e "$conf" /proc/[0-9]*/cmdline 2>/dev/null |
		while read -r f; do
			cl=$( (tr '\0' ' ' <"$f") 2>/dev/null)
			case $cl in
			*ceph-*" -c $conf "*)
				f=${f#/proc/}
				echo "${f%/cmdline}"
				;;
			esac
		done
}

# alive PID: PID is a process that has not ended (a zombie has: no init
# may be there to reap it).
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}

# stop_daemons: kill the daemons of DIR and wait (up to 10 s) for them to
# end.  SIGKILL at once: the cluster is thrown away, and a SIGTERM'd OSD
# or mon takes 2 s to say goodbye.
stop_daemons() {
	pids=$(daemons)
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086 # one word a pid
	kill -9 $pids 2>/dev/null
	n=0
	while [ $n -lt 100 ]; do
		left=
		for p in $pids; do
			alive "$p" && left="$left $p"
		done
		[ -n "$left" ] || return 0
		sleep 0.1
		n=$((n + 1))
	done
	say "could not stop$left"
	return 1
}

if [ "$cmd" = stop ]; then
	stop_daemons || exit 1
	[ -e "$dir" ] || exit 0
	if [ ! -e "$mark" ]; then
		say "$dir was not made by rados-cluster.sh start: not removed"
		exit 1
	fi
	rm -rf "$dir"
	exit 0
fi
[ "$cmd" = start ] || usage

for t in ceph-mon ceph-osd monmaptool ceph rados timeout; do
	command -v $t >/dev/null 2>&1 || { say "$t is not installed"; exit 1; }
done
# The path goes into ceph.conf as it is: nothing there for the parser.
case $dir in
*[!A-Za-z0-9/._+,@:=-]*)
	say "$dir: only letters, digits and /._+,@:=- in DIR, please"
	exit 1
	;;
esac
if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
	say "$dir exists and is not empty"
	exit 1
fi
mkdir -p "$dir" && : >"$mark" || exit 1

# fail MESSAGE [LOG...]: say why (with the end of each LOG), stop what
# was started, remove DIR (unless $RADOS_CLUSTER_KEEP is set), exit 1.
fail() {
	say "$1"
	shift
	for log; do
		[ -s "$log" ] || continue
		say "last lines of $log:"
		tail -n 12 "$log" >&2
	done
	trap - EXIT INT TERM HUP
	stop_daemons
	if [ -n "$RADOS_CLUSTER_KEEP" ]; then
		say "left $dir as it is"
	else
		rm -rf "$dir"
	fi
	exit 1
}
trap 'fail "interrupted"' INT TERM HUP
trap 'fail "start ended early"' EXIT

# port_busy PORT: something listens on 127.0.0.1:PORT (or any address).
port_busy() {
	if command -v ss >/dev/null 2>&1; then
		ss -Hltn 2>/dev/null | awk '{ print $4 }' | grep -Eq "[:.]$1\$"
	else
		# /proc/net/tcp: local address (hex) in column 2, state 0A = listen.
		h=$(printf '%04X' "$1")
		cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
			awk -v h=":$h" '$4 == "0A" && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }'
	fi
}

# The first port to try comes from DIR's name, so that two clusters at
# once start apart.
sum=$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
base=$((13300 + sum % 6000))

uuid() { cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen; }
fsid=$(uuid)
osduuid=$(uuid)

# write_conf PORT
write_conf() {
	cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$1
public addr = 127.0.0.1
cluster addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
run dir = $dir
crash dir = $dir/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
ms bind ipv6 = false
ms bind msgr1 = false
mon warn on insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false

[mon]
mon data = $dir/mon.a
log file = $dir/\$name.log
pid file = $dir/\$name.pid
admin socket = $dir/\$name.asok
mon cluster log file = $dir/cluster.log
# Commit map changes 0.1 s after a command, not 1 s: start takes 2 s, not 5.
paxos propose interval = 0.1
paxos min wait = 0.01
# One try at binding, not three 5 s apart: a taken port means the next one.
ms bind retry count = 1

[osd]
osd data = $dir/osd.0
osd objectstore = memstore
# The OSD's memory is what is stored in it (and ~30 MB): the store says
# it is full at 1 GiB (at 95% of it, the OSD full ratio).
memstore device bytes = 1073741824
log file = $dir/\$name.log
pid file = $dir/\$name.pid
admin socket = $dir/\$name.asok
osd op num shards = 2
osd op num threads per shard = 1

[client]
log file = $dir/\$name.log
EOF
}

# Make the monitor and start it, at the next port if one is taken.
mkdir -p "$dir/crash" "$dir/osd.0" || fail "cannot make the dirs in $dir"
port=$base
tries=0
while :; do
	tries=$((tries + 1))
	[ $tries -le 20 ] || fail "no free port for the monitor from $base to $port"
	if port_busy $port; then
		port=$((port + 1))
		continue
	fi
	write_conf $port
	rm -rf "$dir/mon.a" "$dir/mon.a.log" "$dir/monmap"
	monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$port]" \
		"$dir/monmap" >>"$dir/mkfs.log" 2>&1 ||
		fail "monmaptool failed" "$dir/mkfs.log"
	ceph-mon -c "$conf" -i a --mkfs --monmap "$dir/monmap" \
		>>"$dir/mkfs.log" 2>&1 || fail "ceph-mon --mkfs failed" "$dir/mkfs.log"
	# It binds before it forks: a taken port ends it here.
	ceph-mon -c "$conf" -i a >>"$dir/mkfs.log" 2>&1 && break
	grep -q 'unable to bind' "$dir/mon.a.log" 2>/dev/null ||
		fail "ceph-mon did not start" "$dir/mkfs.log" "$dir/mon.a.log"
	port=$((port + 1))
done

# The OSD: its store (in memory; mkfs leaves a few files in DIR/osd.0),
# its id in the osd map, then the daemon.  The pool can be made before the
# OSD is up.
ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osduuid" >>"$dir/mkfs.log" 2>&1 ||
	fail "ceph-osd --mkfs failed" "$dir/mkfs.log" "$dir/osd.0.log"

# ceph_cmd ARGS...: the ceph command ARGS, its output to DIR/mkfs.log.
ceph_cmd() {
	timeout 30 ceph -c "$conf" --connect-timeout 20 "$@" >>"$dir/mkfs.log" 2>&1
}
ceph_cmd osd new "$osduuid" 0 ||
	fail "the monitor does not answer (ceph osd new)" \
		"$dir/mkfs.log" "$dir/mon.a.log"
ceph-osd -c "$conf" -i 0 >>"$dir/mkfs.log" 2>&1 ||
	fail "ceph-osd did not start" "$dir/mkfs.log" "$dir/osd.0.log"
ceph_cmd osd pool create upager 8 8 replicated ||
	fail "ceph osd pool create failed" "$dir/mkfs.log"
ceph_cmd osd pool application enable upager rados ||
	fail "ceph osd pool application enable failed" "$dir/mkfs.log"

# The pool is usable once its placement groups are active: the put waits
# for that.
# rados_cmd SECONDS ARGS...: rados -p upager ARGS, output to DIR/mkfs.log.
rados_cmd() {
	t=$1
	shift
	timeout "$t" rados -c "$conf" -p upager "$@" >>"$dir/mkfs.log" 2>&1
}
obj=rados-cluster-check
printf 'rados-cluster check\n' >"$dir/check.in"
rados_cmd 60 put $obj "$dir/check.in" ||
	fail "the pool does not take a write (rados put)" \
		"$dir/mkfs.log" "$dir/osd.0.log"
rados_cmd 20 get $obj "$dir/check.out" ||
	fail "rados get failed" "$dir/mkfs.log"
cmp -s "$dir/check.in" "$dir/check.out" ||
	fail "rados get does not give back what was put"
rados_cmd 20 rm $obj || fail "rados rm failed" "$dir/mkfs.log"
rm -f "$dir/check.in" "$dir/check.out"

trap - EXIT INT TERM HUP
echo "CEPH_CONF=$conf"
