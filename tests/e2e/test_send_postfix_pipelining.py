#!/usr/bin/python3
"""herald's pipelined SMTP against a real Postfix that is strict about it.

A private Postfix on 127.0.0.1 (tests/e2e/lib/postfix.sh) with
  smtpd_forbid_unauth_pipelining = yes       (disconnects a client that
                                              sends ahead where RFC 2920
                                              does not allow it)
  smtpd_data_restrictions = reject_unauth_pipelining
and an access table that refuses some recipients at RCPT: 550 for three,
450 for two.  Postfix announces PIPELINING, so herald sends MAIL/RCPT/DATA
as groups, with the next group behind each final dot, and the refusals
arrive in the middle of groups.

Postfix is the oracle: every accepted recipient gets exactly one message
(X-Original-To), the 550 ones none and `failed` in the journal, the 450
ones none and `deferred`, the maillog has no "improper command
pipelining", and the refusals cost no new connections (RSET, RFC 5321
4.1.1.5).  First the test shows the oracle has teeth: a raw client
that sends its message body before the 354 is refused and logged.
Skipped (77) unless root and Postfix are available.
"""
import os
import shutil
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "lib"))
from sendkit import Checks, Site, out  # noqa: E402
import fixture  # noqa: E402

_pf = fixture.postfix()   # skips (77) unless root and Postfix are here
Postfix = _pf.Postfix
header = _pf.header

C = Checks()
REFUSED = ["nobody%d@example.org" % i for i in (3, 17, 30)]
LATER = ["later%d@example.org" % i for i in (9, 25)]
EXTRA_CF = """
smtpd_forbid_unauth_pipelining = yes
smtpd_data_restrictions = reject_unauth_pipelining
smtpd_recipient_restrictions = check_recipient_access inline:{ %s },
    permit_mynetworks, reject
""" % ", ".join(["{ %s = 550 5.1.1 no such user }" % a for a in REFUSED] +
                ["{ %s = 450 4.2.0 mailbox busy, try later }" % a
                 for a in LATER])


def addrs():
    out_ = []
    for i in range(40):
        if i in (3, 17, 30):
            out_.append("nobody%d@example.org" % i)
        elif i in (9, 25):
            out_.append("later%d@example.org" % i)
        else:
            out_.append("reader%02d@example.org" % i)
    return out_


def read_reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            return lines
        lines.append(line.decode("ascii", "replace").rstrip("\r\n"))
        if len(line) < 4 or line[3:4] != b"-":
            return lines


def oracle_has_teeth(pf):
    """A client that sends the body right behind DATA, before the 354,
    must be refused (RFC 2920 3.1); else this Postfix checks nothing."""
    s = socket.create_connection(("127.0.0.1", pf.port), timeout=10)
    f = s.makefile("rb")
    try:
        read_reply(f)
        s.sendall(b"EHLO raw.test\r\n")
        read_reply(f)
        s.sendall(b"MAIL FROM:<raw@example.org>\r\n"
                  b"RCPT TO:<raw@example.org>\r\nDATA\r\n"
                  b"Subject: too early\r\n\r\nbody before 354\r\n.\r\n")
        replies = []
        for _ in range(5):
            r = read_reply(f)
            if not r:
                break
            replies.append(r[-1])
    finally:
        s.close()
    end = time.monotonic() + 5
    while "improper command pipelining" not in pf.log_text() and \
            time.monotonic() < end:
        time.sleep(0.1)
    C.ok("improper command pipelining" in pf.log_text(),
         "oracle: Postfix did not log the raw client's early body "
         "(replies %r): it would not catch herald either" % replies)
    C.ok(not any(r.startswith("250 2.0.0") for r in replies),
         "oracle: Postfix accepted a body sent before the 354: %r"
         % replies)


def main():
    tmp = tempfile.mkdtemp(prefix="test_send_postfix_pipelining.")
    site = None
    try:
        with Postfix(os.path.join(tmp, "postfix"), extra_cf=EXTRA_CF) as pf:
            oracle_has_teeth(pf)
            before = pf.count()
            improper_before = pf.log_text().count(
                "improper command pipelining")
            conns_before = pf.log_text().count(" connect from ")
            site = Site(pf.url, addrs=addrs(), timeout=10)
            p = site.send("--allow-past", "--concurrency", "4",
                          "--max-tries", "2", "--retry-base", "1",
                          timeout=120)
            C.ok(p.returncode in (1, 75), "send: exit 1 or 75 (some "
                 "refused, some deferred), got %d (%s)"
                 % (p.returncode, out(p)))
            rows = site.rows()
            for a in addrs():
                want = "failed" if a in REFUSED else \
                    "deferred" if a in LATER else "sent"
                C.eq(rows.get(a, {}).get("state_name"), want,
                     "journal state of " + a)
            good = [a for a in addrs() if a not in REFUSED + LATER]
            n = pf.wait_messages(before + len(good), timeout=60, settle=2)
            C.eq(n - before, len(good), "messages delivered")
            got = {}
            for _, raw in pf.messages():
                to = header(raw, "x-original-to")
                got.setdefault(to[0].lower() if to else "?", []).append(1)
            for a in good:
                C.eq(len(got.get(a, [])), 1, "copies for " + a)
            for a in REFUSED + LATER:
                C.eq(len(got.get(a, [])), 0, "copies for refused " + a)
            log = pf.log_text()
            improper = [ln for ln in log.splitlines()
                        if "improper command pipelining" in ln]
            C.eq(improper[improper_before:], [],
                 "Postfix saw improper pipelining from herald")
            C.ok(" 550 5.1.1 " in log and " 450 4.2.0 " in log,
                 "the maillog shows the refusals (were they tested?)")
            # A refused recipient costs an RSET, not a new connection:
            # 4 connections for 40 messages and 7 refusals (2 tries for
            # the 450 ones), however the work was shared out.
            conns = log.count(" connect from ") - conns_before
            C.ok(1 <= conns <= 4, "connections for the send: %d (a new "
                 "one for each refusal would be about 11)" % conns)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if site:
            shutil.rmtree(site.dir, ignore_errors=True)
    C.done()


if __name__ == "__main__":
    main()
