#!/bin/sh
# Self-test of tests/e2e/lib/postfix.sh: start a private Postfix on
# 127.0.0.1, send 3 messages with curl (one of them over STARTTLS with the
# test CA from mkca.sh), wait for 3 files in its Maildir, stop it, and check
# that nothing of it keeps running and that /etc/postfix was not touched.
# Exit 77 (skip) when not root or postfix/curl is missing.
set -eu

src=${HERALD_SRC:-$(pwd)}
lib=$src/tests/e2e/lib
sh "$lib/postfix.sh" check || exit 77
command -v curl >/dev/null 2>&1 || { echo "skip: no curl"; exit 77; }

tmp=$(mktemp -d /tmp/test_postfix_lib.XXXXXX)
pf=$tmp/pf
cleanup() {
	sh "$lib/postfix.sh" stop "$pf" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
	echo "FAIL: $*" >&2
	[ -f "$pf/maillog" ] && tail -20 "$pf/maillog" >&2
	exit 1
}

etc_sum() {
	find /etc/postfix -exec stat -c '%n %s %Y %a %U' {} + 2>/dev/null | sort | md5sum
}
before=$(etc_sum)

sh "$lib/mkca.sh" "$tmp/ca" || fail "mkca.sh"

port=$(sh "$lib/postfix.sh" start "$pf" 0 "$tmp/ca") || fail "start"
[ "$port" = "$(cat "$pf/port")" ] || fail "port file"
sh "$lib/postfix.sh" status "$pf" || fail "status after start"
echo "postfix listening on 127.0.0.1:$port"

# Only on loopback.
if command -v ss >/dev/null 2>&1; then
	ss -ltnH "sport = :$port" | grep -v '127.0.0.1:' && fail "listens beyond loopback"
fi

mkmsg() {
	printf 'From: a@example.org\r\nTo: x@example.org\r\nSubject: t%s\r\nMessage-ID: <%s@herald.test>\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n\r\n.dot\r\nbody\r\n' \
		"$1" "$1" >"$tmp/m$1"
}
for i in 1 2; do
	mkmsg $i
	curl -sS --max-time 20 "smtp://127.0.0.1:$port" --mail-from sender@example.org \
		--mail-rcpt "rcpt$i@any$i.example" -T "$tmp/m$i" || fail "curl $i"
done
mkmsg 3
curl -sS --max-time 20 "smtp://localhost:$port" --ssl-reqd --cacert "$tmp/ca/ca.pem" \
	--mail-from sender@example.org --mail-rcpt "someone@else.example" -T "$tmp/m3" ||
	fail "curl over STARTTLS"

sh "$lib/postfix.sh" wait "$pf" 3 20 || fail "3 messages not delivered"
n=$(find "$pf/Maildir/new" "$pf/Maildir/cur" -type f | wc -l)
[ "$n" -eq 3 ] || fail "$n messages instead of 3"
for i in 1 2 3; do
	f=$(grep -l "^Message-ID: <$i@herald.test>" "$pf"/Maildir/new/*) || fail "message $i missing"
	grep -q "^\.dot$" "$f" || fail "message $i: body changed"
	grep -q "^Delivered-To: " "$f" || fail "message $i: no Delivered-To"
done
grep -q "^Delivered-To: rcpt1@any1.example" "$pf"/Maildir/new/* || fail "any recipient accepted"
grep -q "with ESMTPS" "$pf"/Maildir/new/* || fail "STARTTLS message not marked ESMTPS"

# postfix.py: strip_trace() gives back exactly the bytes that were sent.
/usr/bin/python3 - "$lib" "$pf" "$tmp" <<'EOF' || fail "postfix.py strip_trace"
import sys
sys.path.insert(0, sys.argv[1])
from postfix import Postfix, strip_trace, header
pf = Postfix(sys.argv[2])
msgs = pf.messages()
assert len(msgs) == 3, len(msgs)
for path, raw in msgs:
    n = header(raw, "Message-ID")[0][1]
    with open("%s/m%s" % (sys.argv[3], n), "rb") as f:
        sent = f.read()
    assert strip_trace(raw) == sent, (path, strip_trace(raw), sent)
    assert header(raw, "Delivered-To"), path
EOF

sh "$lib/postfix.sh" stop "$pf" || fail "stop"
if sh "$lib/postfix.sh" status "$pf"; then fail "still running after stop"; fi
d=$(cd "$pf" && pwd -P)
for p in /proc/[0-9]*; do
	case $(readlink "$p/cwd" 2>/dev/null) in
	"$d"|"$d"/*) fail "process ${p#/proc/} left in $d" ;;
	esac
done
if curl -sS --max-time 3 "smtp://127.0.0.1:$port" --mail-from a@b --mail-rcpt c@d \
	-T "$tmp/m1" 2>/dev/null; then
	fail "port $port still answers"
fi
# Stopping twice is harmless.
sh "$lib/postfix.sh" stop "$pf" || fail "second stop"

# The same from Python, with smtplib, on another instance.
/usr/bin/python3 - "$lib" "$tmp/pf2" <<'EOF' || fail "postfix.py start/stop"
import smtplib, sys
sys.path.insert(0, sys.argv[1])
from postfix import Postfix, usable
assert usable()
with Postfix(sys.argv[2]) as pf:
    with smtplib.SMTP("127.0.0.1", pf.port, timeout=10) as c:
        for i in range(5):
            c.sendmail("s@example.org", ["r%d@example.net" % i],
                       b"Subject: x\r\nMessage-ID: <%d@x>\r\n\r\nhi\r\n" % i)
    assert pf.wait_messages(5, timeout=20, settle=0.5) == 5
print("ok: postfix.py")
EOF
sh "$lib/postfix.sh" status "$tmp/pf2" && fail "pf2 still running"

[ "$before" = "$(etc_sum)" ] || fail "/etc/postfix changed"
echo "ok: 3 messages delivered, postfix stopped cleanly"
