#!/usr/bin/python3
"""Wire-level checks of SMTP PIPELINING (RFC 2920) and lockstep (RFC 5321).

First the checkers themselves, driven by a raw socket client that keeps the
rules or breaks one of them on purpose: tests/unit/fake_smtp.py (its
VIOLATION lines, its un-stuffing, its Postfix-like replies to a pipelined
group) and tests/e2e/lib/faultsmtp.py (PIPELINING advertised or not, and
Log.discipline() over what arrived in one read).  Each checker must stay
silent for a client that keeps the rules and must speak for one that does
not.  Then herald itself over STARTTLS, to a server that offers PIPELINING
only before STARTTLS (herald must speak lockstep after it) or only after it
(herald must pipeline): RFC 3207 4.2.

Exit 0 = pass, 1 = fail, 77 = skipped (aiosmtpd missing).
"""
import os
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
FAKE = os.path.join(SRC, "tests", "unit", "fake_smtp.py")
sys.path.insert(0, os.path.join(HERE, "lib"))
TMP = tempfile.mkdtemp(prefix="test_smtp_pipelining.")
failures = []


def fail(what):
    failures.append(what)
    print("FAIL: " + what, file=sys.stderr)


def check(cond, what):
    if not cond:
        fail(what)


class Client:
    """A raw SMTP client: sends exactly the bytes it is told, when told."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        # As libcurl does: no Nagle delay, so an early write lands at once.
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data):
        self.s.sendall(data)

    def reply(self):
        """One (possibly multi-line) reply: its lines, as text."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.s.recv(65536)
                if not chunk:
                    return lines
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode())
            if len(line) < 4 or line[3:4] != b"-":
                return lines

    def replies(self, n):
        return [self.reply()[-1] for _ in range(n)]

    def cmd(self, line):
        self.send(line + b"\r\n")
        return self.reply()

    def close(self):
        self.s.close()


class Fake:
    """tests/unit/fake_smtp.py MODE in its own directory."""

    def __init__(self, name, mode):
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir)
        self.p = subprocess.Popen(["/usr/bin/python3", FAKE, mode, self.dir],
                                  stdout=subprocess.PIPE)
        self.port = int(self.p.stdout.readline())

    def log(self):
        time.sleep(0.05)   # let the server write its last lines
        with open(os.path.join(self.dir, "log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def file(self, name):
        with open(os.path.join(self.dir, name), "rb") as f:
            return f.read()

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.p.stdout.close()


GROUP = (b"MAIL FROM:<a@example.org>\r\nRCPT TO:<%s@example.org>\r\n"
         b"DATA\r\n")
BODY = b"Subject: t\r\n\r\n..leading dot\r\n..\r\nend\r\n"
UNSTUFFED = b"Subject: t\r\n\r\n.leading dot\r\n.\r\nend\r\n"


def lockstep_to_data(c, rcpt=b"ok"):
    c.cmd(b"EHLO client.example.org")
    c.cmd(b"MAIL FROM:<a@example.org>")
    c.cmd(b"RCPT TO:<%s@example.org>" % rcpt)
    return c.cmd(b"DATA")[-1]


def fake_case(name, mode, client, want):
    """Run client(Client) against fake_smtp MODE; want: None (no
    VIOLATION may be logged) or the "(x)" tag the VIOLATION must carry."""
    f = Fake(name, mode)
    try:
        c = Client(f.port)
        try:
            client(c, f)
        finally:
            c.close()
        log = f.log()
    finally:
        f.stop()
    v = [ln for ln in log.splitlines() if " VIOLATION" in ln]
    if want is None:
        check(v == [], "%s: no VIOLATION for a client keeping the rules: %s"
              % (name, v))
    else:
        check(any(("VIOLATION " + want) in ln for ln in v),
              "%s: a VIOLATION %s must be logged; log:\n%s"
              % (name, want, log))
    return log


def test_fake_smtp():
    def lockstep(c, f):
        ehlo = c.cmd(b"EHLO client.example.org")
        check(not any("PIPELINING" in ln for ln in ehlo),
              "lockstep: no PIPELINING advertised: %r" % ehlo)
        check(lockstep_to_data(c).startswith("354"), "lockstep: 354")
        check(c.cmd(BODY + b".").pop().startswith("250"), "lockstep: 250")
        c.cmd(b"QUIT")
        check(f.file("msg-1.raw") == BODY, "lockstep: raw bytes kept")
        check(f.file("msg-1.eml") == UNSTUFFED,
              "lockstep: un-stuffed by RFC 5321 4.5.2: %r"
              % f.file("msg-1.eml"))
    fake_case("lockstep", "normal", lockstep, None)

    def pipelined(c, f):
        ehlo = c.cmd(b"EHLO client.example.org")
        check(any("PIPELINING" in ln for ln in ehlo),
              "pipe: PIPELINING advertised: %r" % ehlo)
        c.send(GROUP % b"p1")
        r = c.replies(3)
        check([x[:3] for x in r] == ["250", "250", "354"], "pipe: %r" % r)
        c.send(BODY + b".\r\n" + GROUP % b"p2")
        r = c.replies(4)
        check([x[:3] for x in r] == ["250", "250", "250", "354"],
              "pipe: dot and next group: %r" % r)
        c.send(BODY + b".\r\nQUIT\r\n")
        r = c.replies(2)
        check([x[:3] for x in r] == ["250", "221"], "pipe: dot, QUIT: %r" % r)
    log = fake_case("pipelined", "normal+pipe", pipelined, None)
    check(log.count("GROUP MAIL RCPT DATA") == 2,
          "pipelined: each group seen as one read:\n" + log)
    check(log.count("AFTER-DOT MAIL RCPT DATA") == 1,
          "pipelined: the group behind the dot seen:\n" + log)
    check(log.count("STORED p1 1") == 1 and log.count("STORED p2 2") == 1,
          "pipelined: both stored:\n" + log)

    def group_no_pipe(c, f):
        c.cmd(b"EHLO client.example.org")
        c.send(GROUP % b"ok")
        c.replies(3)
    fake_case("group-no-pipe", "normal", group_no_pipe, "(a)")

    def early_two_writes(c, f):
        c.cmd(b"EHLO client.example.org")
        c.send(b"MAIL FROM:<a@example.org>\r\n")
        c.send(b"RCPT TO:<ok@example.org>\r\n")
        c.replies(2)
    fake_case("early-two-writes", "normal", early_two_writes, "(a)")

    def dot_then_mail_no_pipe(c, f):
        lockstep_to_data(c)
        c.send(BODY + b".\r\nMAIL FROM:<a@example.org>\r\n")
        c.replies(2)
    fake_case("dot-then-mail-no-pipe", "normal", dot_then_mail_no_pipe,
              "(a)")

    def body_with_data(c, f):
        c.cmd(b"EHLO client.example.org")
        c.send(GROUP % b"ok" + BODY + b".\r\n")
        c.replies(4)
    fake_case("body-with-data", "normal+pipe", body_with_data, "(b)")

    def body_with_data_lockstep(c, f):
        c.cmd(b"EHLO client.example.org")
        c.cmd(b"MAIL FROM:<a@example.org>")
        c.cmd(b"RCPT TO:<ok@example.org>")
        c.send(b"DATA\r\n" + BODY + b".\r\n")
        c.replies(2)
    fake_case("body-with-data-lockstep", "normal", body_with_data_lockstep,
              "(b)")

    def command_after_data(c, f):
        c.cmd(b"EHLO client.example.org")
        c.send(GROUP % b"ok" + b"RSET\r\n")
        c.replies(3)
        c.send(b".\r\n")
        c.reply()
    fake_case("command-after-data", "normal+pipe", command_after_data, "(c)")

    def command_after_ehlo(c, f):
        c.send(b"EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\n")
        c.reply()
        c.reply()
    fake_case("command-after-ehlo", "normal+pipe", command_after_ehlo, "(c)")

    def quirk_body(c, f):
        c.cmd(b"EHLO client.example.org")
        c.send(GROUP % b"q354")
        r = c.replies(3)
        check([x[:3] for x in r] == ["250", "550", "354"],
              "q354: a broken server's 354: %r" % r)
        c.send(BODY + b".\r\n")
        r = c.reply()[-1]
        check(r.startswith("554"), "q354 body: 554: %r" % r)
    fake_case("quirk-body", "normal+pipe", quirk_body, "(d)")

    def quirk_dot(c, f):
        c.cmd(b"EHLO client.example.org")
        c.send(GROUP % b"q354")
        c.replies(3)
        c.send(b".\r\n")
        r = c.reply()[-1]
        check(r.startswith("554 5.5.1"), "q354 lone dot: 554: %r" % r)
        c.send(GROUP % b"ok")
        r = c.replies(3)
        check([x[:3] for x in r] == ["250", "250", "354"],
              "q354, then the next transaction: %r" % r)
        c.send(BODY + b".\r\n")
        check(c.reply()[-1].startswith("250"), "next one stored")
    log = fake_case("quirk-dot", "normal+pipe", quirk_dot, None)
    check(log.count("DATA-EMPTY") == 1 and log.count("STORED ok 1") == 1,
          "quirk-dot: one empty DATA, one stored:\n" + log)

    def postfix_replies(c, f):
        c.cmd(b"EHLO client.example.org")
        c.send(GROUP % b"g1")
        r = c.replies(3)
        check([x[:3] for x in r] == ["451", "503", "503"],
              "MAIL 451 -> 503 503: %r" % r)
        c.send(GROUP % b"r550")
        r = c.replies(3)
        check([x[:3] for x in r] == ["250", "550", "554"],
              "RCPT 550 -> DATA 554: %r" % r)
        check("no valid recipients" in r[2], "DATA 554 as Postfix: %r" % r)
        c.send(b"RSET\r\n" + GROUP % b"r451")
        r = c.replies(4)
        check([x[:3] for x in r] == ["250", "250", "451", "554"],
              "RCPT 451 -> DATA 554: %r" % r)
    fake_case("postfix-replies", "normal+pipe+mail451=1", postfix_replies,
              None)

    # batch: the replies to a group come in one write (as from Postfix).
    # (Without it each comes on its own, 4 ms apart: not asserted, a busy
    # machine may let them pile up before the client reads.)
    for mode, together in (("normal+pipe+batch", True),):
        def first_read(c, f, together=together, mode=mode):
            c.cmd(b"EHLO client.example.org")
            c.send(GROUP % b"b1")
            first = c.s.recv(65536)
            c.buf += first
            r = c.replies(3)
            check([x[:3] for x in r] == ["250", "250", "354"],
                  "%s: %r" % (mode, r))
            check(first.count(b"\r\n") == 3 or not together,
                  "%s: the group's replies in one read: %s (%r)"
                  % (mode, together, first))
            c.send(BODY + b".\r\n")
            check(c.reply()[-1].startswith("250"), mode + ": stored")
        fake_case("first-read-" + mode, mode, first_read, None)

    # split: a reply comes in two writes, cut mid-line (seen in at least
    # one of three tries: a descheduled client may read both at once).
    f = Fake("split", "normal+split")
    try:
        cut = []
        for _ in range(3):
            sk = socket.create_connection(("127.0.0.1", f.port), timeout=5)
            try:
                first = sk.recv(65536)
                cut.append(not first.endswith(b"\r\n"))
            finally:
                sk.close()
            if cut[-1]:
                break
        check(any(cut), "split: the greeting came in one piece %d times"
              % len(cut))
    finally:
        f.stop()

    def multiline(c, f):
        ehlo = c.cmd(b"EHLO client.example.org")
        check(len(ehlo) >= 4 and ehlo[0].startswith("250-fake: a first"),
              "ml: EHLO reply: %r" % ehlo)
        c.send(GROUP % b"r550")
        r = [c.reply() for _ in range(3)]
        check([[x[:4] for x in rr] for rr in r] ==
              [["250-", "250 "], ["550-", "550 "], ["554-", "554 "]],
              "ml: each reply two lines: %r" % r)
    fake_case("multiline", "normal+pipe+ml", multiline, None)


def test_faultsmtp():
    try:
        from faultsmtp import FaultServer
    except ImportError as e:
        print("skip: faultsmtp: %s" % e)
        sys.exit(77)

    def run(name, pipelining, client):
        d = os.path.join(TMP, name)
        with FaultServer(maildir=os.path.join(d, "Maildir"),
                         log=os.path.join(d, "wire.jsonl"),
                         pipelining=pipelining, max_seconds=60) as s:
            c = Client(s.port)
            try:
                ehlo = c.cmd(b"EHLO client.example.org")
                check(any("PIPELINING" in ln for ln in ehlo) == pipelining,
                      "%s: PIPELINING advertised %s: %r"
                      % (name, pipelining, ehlo))
                client(c)
                c.cmd(b"QUIT")
            finally:
                c.close()
            s.wait_messages(1, timeout=5)
            time.sleep(0.1)
            return s.log(), s.messages()

    def pipelined(c):
        c.send(GROUP % b"f1")
        r = c.replies(3)
        check([x[:3] for x in r] == ["250", "250", "354"],
              "faultsmtp pipe: %r" % r)
        c.send(BODY + b".\r\n" + GROUP % b"f2")
        r = c.replies(4)
        check([x[:3] for x in r] == ["250", "250", "250", "354"],
              "faultsmtp pipe: dot and next group: %r" % r)
        c.send(BODY + b".\r\n")
        check(c.reply()[-1].startswith("250"), "faultsmtp pipe: stored")
    log, msgs = run("fs-pipe", True, pipelined)
    check(log.discipline(True) == [],
          "faultsmtp: a pipelining client is clean: %r"
          % log.discipline(True))
    check(log.discipline(False) != [],
          "faultsmtp: the same wire is a violation without PIPELINING")
    check(len(msgs) == 2 and all(m[1] == UNSTUFFED for m in msgs),
          "faultsmtp: two messages, un-stuffed: %r" % msgs)
    rds = [r["rd"] for r in log.events("c")
           if r["line"].split(" ")[0].upper() in ("MAIL", "RCPT", "DATA")]
    check(len(rds) == 6 and rds[0] == rds[1] == rds[2] and
          rds[3] == rds[4] == rds[5], "faultsmtp: one read per group: %r"
          % rds)

    def lockstep(c):
        c.cmd(b"MAIL FROM:<a@example.org>")
        c.cmd(b"RCPT TO:<f3@example.org>")
        check(c.cmd(b"DATA")[-1].startswith("354"), "faultsmtp: 354")
        check(c.cmd(BODY + b".")[-1].startswith("250"), "faultsmtp: 250")
    log, msgs = run("fs-lockstep", False, lockstep)
    check(log.discipline(False) == [], "faultsmtp: lockstep is clean: %r"
          % log.discipline(False))

    def body_with_data(c):
        c.send(GROUP % b"f4" + BODY + b".\r\n")
        c.replies(4)
    log, msgs = run("fs-body-with-data", True, body_with_data)
    check(any("after DATA" in v for v in log.discipline(True)),
          "faultsmtp: body in one read with DATA flagged: %r"
          % log.discipline(True))
    # discipline(None) takes the mode from the EHLO reply on the wire.
    check(log.discipline(None) == log.discipline(True),
          "faultsmtp: discipline from the wire: %r" % log.discipline(None))
    log, msgs = run("fs-group-unadvertised", False, pipelined)
    check(log.discipline(None) != [], "faultsmtp: a group without "
          "PIPELINING advertised is flagged from the wire")


def groups_in_one_read(log):
    """(groups whose MAIL, RCPT and DATA shared one read, all groups)"""
    one = n = 0
    for conn in log.conns():
        cs = log.events("c", conn)
        for i, r in enumerate(cs):
            if r["line"].upper().startswith("MAIL FROM"):
                n += 1
                one += len({x["rd"] for x in cs[i:i + 3]}) == 1 and \
                    [x["line"][:4].upper() for x in cs[i:i + 3]] == \
                    ["MAIL", "RCPT", "DATA"]
    return one, n


def test_herald_starttls():
    """herald send over STARTTLS to a server whose PIPELINING comes only
    before STARTTLS, or only after it.  RFC 3207 4.2: the client must
    forget what it learnt before TLS and go by the EHLO reply after it, so
    the first must be spoken in lockstep and the second pipelined."""
    import fixture
    if not os.access(fixture.HERALD, os.X_OK):
        print("note: no herald binary at %s: STARTTLS part not run"
              % fixture.HERALD)
        return
    from sendkit import Site, delivered
    ca = os.path.join(TMP, "ca")
    p = subprocess.run(["sh", os.path.join(HERE, "lib", "mkca.sh"), ca],
                       capture_output=True, timeout=60)
    if p.returncode == 77:
        print("note: no openssl: STARTTLS part not run")
        return
    check(p.returncode == 0, "mkca.sh: %r" % p.stderr)
    from faultsmtp import FaultServer
    for when, pipelined in (("before-tls", False), ("after-tls", True)):
        d = os.path.join(TMP, "herald-" + when)
        with FaultServer(maildir=os.path.join(d, "Maildir"),
                         log=os.path.join(d, "wire.jsonl"),
                         tls_cert=os.path.join(ca, "server.pem"),
                         tls_key=os.path.join(ca, "server.key"),
                         require_tls=True, pipelining=when,
                         max_seconds=120) as srv:
            site = Site(srv.url, n=8, extra="  ca_file: %s\n"
                        % os.path.join(ca, "ca.pem"))
            try:
                p = site.send("--concurrency", "1")
                check(p.returncode == 0, "%s: exit %d: %s" % (
                    when, p.returncode, p.stderr.decode(errors="replace")))
                got = delivered(srv)
                check(all(len(got.get(a, [])) == 1 for a in site.addrs),
                      "%s: one copy each: %r" % (when, got))
                check(all(e["tls"] for e in srv.envelopes()),
                      "%s: all over TLS" % when)
            finally:
                import shutil
                shutil.rmtree(site.dir, ignore_errors=True)
        log = srv.log()
        ehlos = [r for r in log.events("s") if "PIPELINING" in r["line"]]
        check(ehlos and all(r["tls"] == (when == "after-tls")
                            for r in ehlos),
              "%s: PIPELINING offered only %s: %r" % (when, when, ehlos))
        check(log.discipline(None) == [], "%s: discipline: %r"
              % (when, log.discipline(None)))
        one, n = groups_in_one_read(log)
        check(n == 8, "%s: 8 transactions, saw %d" % (when, n))
        if pipelined:
            check(one == n, "%s: every group in one read (%d of %d)"
                  % (when, one, n))
        else:
            check(one == 0, "%s: lockstep after TLS, yet %d groups in one "
                  "read" % (when, one))


def main():
    t0 = time.monotonic()
    for t in (test_fake_smtp, test_faultsmtp, test_herald_starttls):
        try:
            t()
        except Exception:
            fail("%s raised:\n%s" % (t.__name__, traceback.format_exc()))
    print("%d failures, %.1fs" % (len(failures), time.monotonic() - t0))
    if not failures:
        import shutil
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
