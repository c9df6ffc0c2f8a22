#!/bin/sh
# postfix.sh: a private, throwaway Postfix instance for end-to-end tests.
#
#   postfix.sh start DIR PORT [CADIR]   start it on 127.0.0.1:PORT (PORT 0 =
#                                       pick a free one); prints the port and
#                                       writes it to DIR/port
#   postfix.sh stop DIR                 stop it, wait until nothing is left
#   postfix.sh status DIR               exit 0 if running
#   postfix.sh wait DIR N [SECONDS]     wait until DIR/Maildir holds N messages
#   postfix.sh check                    exit 0 if usable here, 77 if not
#
# Everything lives under DIR: etc/ (config_directory), spool/
# (queue_directory), data/ (data_directory), maillog, and Maildir/, into which
# EVERY message for ANY recipient is delivered by virtual(8), as uid/gid
# nobody.  No DNS (smtp_dns_support_level = disabled, no peer name lookup),
# nothing is relayed out (every non-virtual transport is error:), retries
# every second.  With CADIR (a directory made by mkca.sh), smtpd offers
# STARTTLS with CADIR/server.pem and CADIR/server.key.  POSTFIX_EXTRA_CF in
# the environment: main.cf lines appended last (so they win), for a test
# that needs stricter settings.
#
# The system's Postfix (config in /etc/postfix, queue in /var/spool/postfix)
# is never started, stopped or changed.  Needs root (Postfix's master runs as
# root) and the postfix package; otherwise exits 77 so callers can skip.
# Every wait is bounded.
set -eu

PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
prog=postfix.sh

die() {
	echo "$prog: $*" >&2
	exit 1
}

usable() {
	if [ "$(id -u)" != 0 ]; then
		echo "$prog: not root; skipping" >&2
		return 77
	fi
	if ! command -v postfix >/dev/null 2>&1 || ! command -v postconf >/dev/null 2>&1; then
		echo "$prog: postfix not installed; skipping" >&2
		return 77
	fi
	if ! id postfix >/dev/null 2>&1 || ! getent group postdrop >/dev/null 2>&1; then
		echo "$prog: no postfix user or postdrop group; skipping" >&2
		return 77
	fi
	return 0
}

# free_port: ask the kernel for a free loopback port.
free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# answers PORT: true when something on 127.0.0.1:PORT sends an SMTP 220.
answers() {
	/usr/bin/python3 - "$1" <<'EOF'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)
    s.settimeout(2)
    ok = s.recv(512).startswith(b"220")
    s.sendall(b"QUIT\r\n")
    s.close()
except OSError:
    ok = False
sys.exit(0 if ok else 1)
EOF
}

master_pid() {
	f=$1/spool/pid/master.pid
	[ -r "$f" ] || return 1
	pid=$(tr -dc 0-9 <"$f")
	[ -n "$pid" ] && alive "$pid" && echo "$pid"
}

# alive PID: the process exists and is not a zombie (our PID 1 may be slow to
# reap a master that was reparented to it).
alive() {
	st=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# instance_pids DIR: processes whose working directory is inside DIR (every
# Postfix daemon chdirs to its queue_directory) or whose command line names
# DIR/etc.  Used to prove that nothing is left after stop.
instance_pids() {
	d=$(cd "$1" && pwd -P)
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[ "$pid" = "$$" ] && continue
		cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
		case $cwd in
		"$d"|"$d"/*) echo "$pid"; continue ;;
		esac
		if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$d/etc"; then
			echo "$pid"
		fi
	done
}

# reachable DIR: the postfix and nobody users must be able to walk down to
# DIR; a mktemp -d parent is 0700, so give "others" search (not read) access
# on those ancestors that lack it, and say so.
reachable() {
	d=$1
	while [ "$d" != / ] && [ -n "$d" ]; do
		case $(stat -c %A "$d") in
		*[xt]) ;;
		*)	echo "$prog: chmod o+x $d (for the postfix user)" >&2
			chmod o+x "$d" ;;
		esac
		d=$(dirname "$d")
	done
}

write_config() {
	dir=$1 port=$2 cadir=$3
	reachable "$dir"
	mkdir -p "$dir/etc" "$dir/spool" "$dir/data" "$dir/Maildir/tmp" \
		"$dir/Maildir/new" "$dir/Maildir/cur"
	# Postfix daemons run as "postfix" and virtual(8) as nobody: they must be
	# able to reach their directories through DIR.
	chmod 755 "$dir" "$dir/etc" "$dir/spool"
	chown root:root "$dir/spool"
	chown -R nobody:nogroup "$dir/Maildir"
	chmod 700 "$dir/Maildir"
	chown postfix:postfix "$dir/data"
	: >"$dir/maillog"
	tls=""
	if [ -n "$cadir" ]; then
		cp "$cadir/server.pem" "$cadir/server.key" "$dir/etc/"
		chmod 600 "$dir/etc/server.key"
		tls="smtpd_tls_security_level = may
smtpd_tls_cert_file = $dir/etc/server.pem
smtpd_tls_key_file = $dir/etc/server.key
smtpd_tls_received_header = yes"
	fi
	cat >"$dir/etc/main.cf" <<EOF
# Private test instance made by tests/e2e/lib/postfix.sh; not the system's.
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-herald-test
maillog_file = $dir/maillog
maillog_file_prefixes = $dir

myhostname = mx.herald-test.localhost
mydomain = herald-test.localhost
myorigin = \$myhostname
mydestination =
inet_interfaces = loopback-only
inet_protocols = all
mynetworks = 127.0.0.0/8 [::1]/128
smtpd_banner = \$myhostname ESMTP herald-test

# No DNS at all, and nothing leaves this instance.
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
relayhost =
default_transport = error:5.7.1 the test instance relays nothing
relay_transport = error:5.7.1 the test instance relays nothing
local_transport = error:5.7.1 no local delivery in the test instance
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
notify_classes =

# Every recipient of every domain goes into the one Maildir under DIR.
virtual_mailbox_domains = static:all
virtual_mailbox_base = $dir
virtual_mailbox_maps = static:Maildir/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
virtual_mailbox_limit = 0
message_size_limit = 52428800

smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions =
smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions =
smtpd_forbid_unauth_pipelining = no
smtputf8_enable = yes
# Treat the test client as remote: no header rewriting, no added headers, so
# a delivered message differs from what was sent only by trace headers.
local_header_rewrite_clients =

# A fast queue: deliver at once, retry every second.
in_flow_delay = 0s
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 4s
maximal_queue_lifetime = 1h
bounce_queue_lifetime = 1h
$tls
${POSTFIX_EXTRA_CF:-}
EOF
	cat >"$dir/etc/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:$port inet n  -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

cmd_start() {
	[ $# -ge 2 ] || die "usage: $prog start DIR PORT [CADIR]"
	dir=$1 port=$2 cadir=${3:-}
	usable || exit 77
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd -P)
	if master_pid "$dir" >/dev/null; then
		die "already running in $dir"
	fi
	if [ -n "$cadir" ]; then
		cadir=$(cd "$cadir" && pwd -P)
		[ -r "$cadir/server.pem" ] && [ -r "$cadir/server.key" ] ||
			die "$cadir: no server.pem/server.key (make them with mkca.sh)"
	fi
	[ "$port" = 0 ] && port=$(free_port)
	case $port in
	''|*[!0-9]*) die "bad port: $port" ;;
	esac
	write_config "$dir" "$port" "$cadir"
	if ! postfix -c "$dir/etc" check >"$dir/start.log" 2>&1 ||
		! postfix -c "$dir/etc" start >>"$dir/start.log" 2>&1; then
		cat "$dir/start.log" >&2
		cat "$dir/maillog" >&2 2>/dev/null || true
		die "postfix did not start"
	fi
	# Bounded: about 15 s for the listener to greet.
	i=0
	while ! answers "$port"; do
		i=$((i + 1))
		if [ $i -ge 75 ]; then
			cat "$dir/start.log" "$dir/maillog" >&2 2>/dev/null || true
			cmd_stop "$dir" || true
			die "no SMTP greeting on 127.0.0.1:$port"
		fi
		sleep 0.2
	done
	echo "$port" >"$dir/port"
	echo "$port"
}

cmd_stop() {
	[ $# -eq 1 ] || die "usage: $prog stop DIR"
	[ -d "$1" ] || return 0
	dir=$(cd "$1" && pwd -P)
	[ -f "$dir/etc/main.cf" ] || die "$dir: not a postfix.sh instance"
	if master_pid "$dir" >/dev/null; then
		postfix -c "$dir/etc" stop >>"$dir/start.log" 2>&1 || true
	fi
	# Bounded: about 10 s for an orderly stop, then kill what is left, by pid.
	i=0
	while [ -n "$(instance_pids "$dir")" ] || master_pid "$dir" >/dev/null; do
		i=$((i + 1))
		if [ $i -eq 50 ]; then
			postfix -c "$dir/etc" abort >>"$dir/start.log" 2>&1 || true
		fi
		if [ $i -ge 60 ]; then
			for pid in $(instance_pids "$dir"); do
				kill -9 "$pid" 2>/dev/null || true
			done
		fi
		if [ $i -ge 75 ]; then
			echo "$prog: still running: $(instance_pids "$dir" | tr '\n' ' ')" >&2
			return 1
		fi
		sleep 0.2
	done
	return 0
}

cmd_status() {
	[ $# -eq 1 ] || die "usage: $prog status DIR"
	master_pid "$1" >/dev/null
}

cmd_wait() {
	[ $# -ge 2 ] || die "usage: $prog wait DIR N [SECONDS]"
	dir=$1 n=$2 secs=${3:-20}
	end=$(($(date +%s) + secs))
	while :; do
		have=$(find "$dir/Maildir/new" "$dir/Maildir/cur" -type f 2>/dev/null | wc -l)
		[ "$have" -ge "$n" ] && return 0
		if [ "$(date +%s)" -ge "$end" ]; then
			echo "$prog: $have of $n messages after ${secs}s" >&2
			return 1
		fi
		sleep 0.1
	done
}

[ $# -ge 1 ] || die "usage: $prog start|stop|status|wait|check ..."
verb=$1
shift
case $verb in
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
status) cmd_status "$@" ;;
wait) cmd_wait "$@" ;;
check) usable || exit 77 ;;
*) die "unknown command: $verb" ;;
esac
