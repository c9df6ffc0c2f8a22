#!/bin/sh
# faultsmtp.sh: run faultsmtp.py in the background from shell tests.
#
#   port=$(faultsmtp.sh start DIR [faultsmtp.py options...])
#       starts the server with --maildir DIR/Maildir --log DIR/wire.jsonl
#       --portfile DIR/port (and --port 0 unless you pass --port), waits
#       (at most 10 s) until it listens, prints the port; the pid is in
#       DIR/pid, its stderr in DIR/faultsmtp.err
#   faultsmtp.sh stop DIR
#       SIGTERM, wait at most 10 s, then SIGKILL; by pid, never by name
#
# Exit 77 if aiosmtpd cannot be imported (skip).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
prog=faultsmtp.sh

die() {
	echo "$prog: $*" >&2
	exit 1
}

running() {
	[ -s "$1/pid" ] && kill -0 "$(cat "$1/pid")" 2>/dev/null &&
		! grep -q '^[0-9]* (.*) Z' "/proc/$(cat "$1/pid")/stat" 2>/dev/null
}

start() {
	[ $# -ge 1 ] || die "usage: $prog start DIR [options]"
	dir=$1
	shift
	$py -c 'import aiosmtpd' 2>/dev/null || { echo "$prog: no aiosmtpd" >&2; exit 77; }
	mkdir -p "$dir"
	running "$dir" && die "already running in $dir"
	rm -f "$dir/port" "$dir/pid"
	portopt="--port 0"
	for a in "$@"; do
		[ "$a" = --port ] && portopt=""
	done
	# shellcheck disable=SC2086
	$py "$here/faultsmtp.py" $portopt --portfile "$dir/port" \
		--maildir "$dir/Maildir" --log "$dir/wire.jsonl" "$@" \
		</dev/null >"$dir/faultsmtp.out" 2>"$dir/faultsmtp.err" &
	echo $! >"$dir/pid"
	i=0
	while [ ! -s "$dir/port" ]; do
		if ! running "$dir"; then
			cat "$dir/faultsmtp.err" >&2
			die "faultsmtp.py exited"
		fi
		i=$((i + 1))
		[ $i -ge 100 ] && { stop "$dir"; die "faultsmtp.py did not listen within 10 s"; }
		sleep 0.1
	done
	cat "$dir/port"
}

stop() {
	[ $# -eq 1 ] || die "usage: $prog stop DIR"
	dir=$1
	[ -s "$dir/pid" ] || return 0
	pid=$(cat "$dir/pid")
	kill -TERM "$pid" 2>/dev/null || true
	i=0
	while running "$dir"; do
		i=$((i + 1))
		if [ $i -ge 100 ]; then
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.1
	done
	rm -f "$dir/pid"
}

[ $# -ge 1 ] || die "usage: $prog start|stop DIR ..."
verb=$1
shift
case $verb in
start) start "$@" ;;
stop) stop "$@" ;;
*) die "unknown command: $verb" ;;
esac
