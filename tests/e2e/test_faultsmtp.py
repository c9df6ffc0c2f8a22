#!/usr/bin/python3
"""Self-test of tests/e2e/lib/faultsmtp.py and mkca.sh: every fault mode,
driven by Python's smtplib, by the curl CLI and by a raw socket client.
Exit 0 = pass, 1 = fail, 77 = skipped (aiosmtpd missing)."""

import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(HERE, "lib")
sys.path.insert(0, LIB)

try:
    import faultsmtp
    from faultsmtp import FaultServer, Log, ScriptError, secret_forms, wait_for
except ImportError as e:
    print("skip: %s" % e)
    sys.exit(77)

CURL = shutil.which("curl")
TMP = tempfile.mkdtemp(prefix="test_faultsmtp.")
MSG = (b"From: a@example.org\r\nTo: c@example.org\r\nSubject: hi\r\n"
       b"Message-ID: <m1@example.org>\r\n\r\n.a line starting with a dot\r\n"
       b"..two dots\r\nend\r\n")


def tmpdir(name):
    d = os.path.join(TMP, name)
    os.makedirs(d, exist_ok=True)
    return d


def server(name, **kw):
    d = tmpdir(name)
    kw.setdefault("maildir", os.path.join(d, "Maildir"))
    kw.setdefault("log", os.path.join(d, "wire.jsonl"))
    kw.setdefault("max_seconds", 120)
    return FaultServer(**kw)


def send(s, frm, to, msg=MSG, timeout=5):
    with smtplib.SMTP("127.0.0.1", s.port, timeout=timeout) as c:
        return c.sendmail(frm, to, msg)


def curl(s, *args, rcpt="c@example.org", body=MSG, url=None, timeout=10):
    """Run curl against the server; return (exit code, stderr)."""
    f = os.path.join(TMP, "curl-body.eml")
    with open(f, "wb") as fh:
        fh.write(body)
    cmd = [CURL, "-sS", "--max-time", str(timeout), url or s.url,
           "--mail-from", "a@example.org", "--mail-rcpt", rcpt, "-T", f]
    cmd += list(args)
    p = subprocess.run(cmd, capture_output=True, timeout=timeout + 10)
    return p.returncode, p.stderr.decode(errors="replace")


class Raw:
    """A minimal SMTP client on a raw socket, to send exact bytes."""

    def __init__(self, port, timeout=5):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.buf = b""

    def reply(self):
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                d = self.sock.recv(4096)
                if not d:
                    raise EOFError("server closed; got %r" % lines)
                self.buf += d
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode())
            if len(line) < 4 or line[3:4] != b"-":
                return lines

    def cmd(self, data):
        self.sock.sendall(data)
        return self.reply()

    def close(self):
        self.sock.close()


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


# --- tests -------------------------------------------------------------------

def t_plain_and_exact_bytes():
    with server("plain") as s:
        send(s, "a@example.org", ["c@example.org"])
        env = s.envelopes()
        expect(len(env) == 1, "one stored message, got %r" % env)
        e = env[0]
        expect(e["rcpt"] == ["c@example.org"] and e["status"] == "stored",
               "envelope %r" % e)
        expect(e["message_id"] == "<m1@example.org>", "message id %r" % e)
        with open(os.path.join(s.maildir, e["file"]), "rb") as f:
            expect(f.read() == MSG, "stored bytes differ")
        expect(os.listdir(os.path.join(s.maildir, "tmp")) == [], "tmp/ empty")
        # Raw client: dot-stuffed lines come back un-stuffed, a bare LF stays.
        r = Raw(s.port)
        expect(r.reply()[0].startswith("220"), "greeting")
        expect(r.cmd(b"EHLO raw\r\n")[-1].startswith("250"), "ehlo")
        expect(r.cmd(b"MAIL FROM:<x@example.org>\r\n")[0].startswith("250"), "mail")
        expect(r.cmd(b"RCPT TO:<y@example.org>\r\n")[0].startswith("250"), "rcpt")
        expect(r.cmd(b"DATA\r\n")[0].startswith("354"), "data")
        body = b"Subject: raw\r\n\r\n..stuffed\r\nbare\nlf\r\n.\n.not end\r\n"
        expect(r.cmd(body + b".\r\n")[0].startswith("250"), "dot")
        r.cmd(b"QUIT\r\n")
        r.close()
        env = s.envelopes()
        with open(os.path.join(s.maildir, env[1]["file"]), "rb") as f:
            got = f.read()
        # ".\n.not end" is one CRLF line starting with a dot: un-stuffed
        # (RFC 5321 4.5.2); a bare LF neither ends a line nor the data.
        expect(got == b"Subject: raw\r\n\r\n.stuffed\r\nbare\nlf\r\n\n.not end\r\n",
               "raw bytes %r" % got)
        log = s.log()
        expect(log.transactions() == 2, "2 transactions")
        expect(log.events("data"), "data events logged")
        expect("bare" not in log.text(), "message bodies are not in the wire log")


def t_reuse_counts_transactions():
    with server("reuse") as s:
        with smtplib.SMTP("127.0.0.1", s.port, timeout=5) as c:
            for i in range(3):
                c.sendmail("a@example.org", ["r%d@example.org" % i], MSG)
        send(s, "a@example.org", ["z@example.org"])
        log = s.log()
        expect(log.conns() == [1, 2], "two connections: %r" % log.conns())
        expect(log.transactions(1) == 3, "conn 1 carried 3")
        expect(log.transactions(2) == 1, "conn 2 carried 1")
        expect([e["conn_txn"] for e in s.envelopes()] == [1, 2, 3, 1], "conn_txn")
        expect(log.commands(1) == ["EHLO"] + ["MAIL FROM", "RCPT TO", "DATA"] * 3
               + ["QUIT"], "commands(): %r" % log.commands(1))
        expect(log.events("close", 1)[0]["by"] == "quit", "closed after QUIT")


def t_421_greeting_nth_connection():
    script = [{"at": "connect", "conn": [1, 3], "reply": "421 4.3.2 busy"}]
    with server("greet421", script=script) as s:
        for n in (1, 2, 3):
            try:
                send(s, "a@example.org", ["c@example.org"])
                expect(n == 2, "conn %d should have failed" % n)
            except smtplib.SMTPConnectError as e:
                expect(n != 2 and e.smtp_code == 421, "conn %d: %r" % (n, e))
        expect(len(s.envelopes()) == 1, "only conn 2 delivered")
        log = s.log()
        expect(log.server_lines(1) == ["421 4.3.2 busy"], "conn 1 said 421 only")
        expect(log.events("close", 1)[0]["by"] == "server", "server closed")
        if CURL:
            rc, err = curl(s)   # connection 4: fine
            expect(rc == 0, "curl after: %d %s" % (rc, err))


def t_421_mid_session():
    script = [{"at": "mail", "conn_txn": "3-", "reply": "421 4.7.0 too many"}]
    with server("mid421", script=script) as s:
        c = smtplib.SMTP("127.0.0.1", s.port, timeout=5)
        c.sendmail("a@example.org", ["r1@example.org"], MSG)
        c.sendmail("a@example.org", ["r2@example.org"], MSG)
        try:
            c.sendmail("a@example.org", ["r3@example.org"], MSG)
            raise AssertionError("third transaction should fail")
        except (smtplib.SMTPSenderRefused, smtplib.SMTPServerDisconnected) as e:
            expect(getattr(e, "smtp_code", 421) == 421, repr(e))
        c.close()
        expect(wait_for(lambda: s.log().events("close", 1)), "closed")
        log = s.log()
        expect(log.transactions(1) == 2, "conn 1 carried 2")
        expect(log.events("close", 1)[0]["by"] == "server", "closed by server")
        send(s, "a@example.org", ["r3@example.org"])  # new connection is fine
        expect(len(s.envelopes()) == 3, "3 stored")


def t_rcpt_451_452_550():
    script = [
        {"at": "rcpt", "rcpt": "busy@*", "reply": "451 4.3.0 try later"},
        {"at": "rcpt", "rcpt": ["full@example.org", "full2@*"],
         "reply": "452 4.2.2 mailbox full"},
        {"at": "rcpt", "rcpt": "gone*@example.org",
         "reply": "550 5.1.1 no such user"},
    ]
    with server("rcpt", script=script) as s:
        for addr, code in (("busy@example.org", 451), ("FULL@example.org", 452),
                           ("gone7@example.org", 550)):
            try:
                send(s, "a@example.org", [addr])
                raise AssertionError("%s accepted" % addr)
            except smtplib.SMTPRecipientsRefused as e:
                got = e.recipients[addr][0]
                expect(got == code, "%s: %d" % (addr, got))
        send(s, "a@example.org", ["ok@example.org"])
        expect([e["rcpt"] for e in s.envelopes()] == [["ok@example.org"]],
               "only ok@ stored")
        if CURL:
            rc, err = curl(s, rcpt="gone1@example.org")
            expect(rc == 55 and "550" in err, "curl 550: %d %s" % (rc, err))
            rc, err = curl(s, rcpt="busy@example.org")
            expect(rc == 55 and "451" in err, "curl 451: %d %s" % (rc, err))
        faults = s.log().events("fault")
        expect(len(faults) == (5 if CURL else 3), "fault events %d" % len(faults))


def t_after_dot_451_452():
    script = [
        {"at": "data", "rcpt": "t1@*", "reply": "451 4.3.0 queue trouble"},
        {"at": "data", "rcpt": "t2@*", "reply": "452 4.3.1 out of space"},
        {"at": "data", "rcpt": "t3@*", "reply": "554 5.7.1 spam"},
    ]
    with server("afterdot", script=script) as s:
        for addr, code in (("t1@example.org", 451), ("t2@example.org", 452),
                           ("t3@example.org", 554)):
            try:
                send(s, "a@example.org", [addr])
                raise AssertionError("%s accepted" % addr)
            except smtplib.SMTPDataError as e:
                expect(e.smtp_code == code, "%s: %r" % (addr, e))
        expect(s.envelopes() == [], "nothing stored")
        expect(len(s.log().events("rejected-after-dot")) == 3, "logged")
        if CURL:
            # curl 7.88 reports any non-250 after the dot as (8) "Weird
            # server reply"; the code itself is only in CURLINFO_RESPONSE_CODE.
            rc, err = curl(s, rcpt="t1@example.org")
            expect(rc == 8, "curl: %d %s" % (rc, err))
            expect(s.log().server_lines()[-2].startswith("451"), "451 sent")


def t_drop_after_dot():
    script = [{"at": "data", "rcpt": "drop@*", "action": "drop"}]
    with server("drop", script=script) as s:
        try:
            send(s, "a@example.org", ["drop@example.org"])
            raise AssertionError("no error")
        except smtplib.SMTPServerDisconnected:
            pass
        env = s.envelopes()
        expect(len(env) == 1 and env[0]["status"] == "dropped-after-dot",
               "stored as dropped: %r" % env)
        expect(os.path.exists(os.path.join(s.maildir, env[0]["file"])), "file")
        log = s.log()
        expect(log.events("dropped-after-dot"), "logged")
        expect(not [l for l in log.server_lines(1) if l.startswith("250 2.0.0")],
               "no reply after the dot")
        if CURL:
            rc, err = curl(s, rcpt="drop@example.org")
            expect(rc not in (0, 28), "curl sees an error: %d %s" % (rc, err))
            expect(len(s.envelopes()) == 2, "curl's copy stored too")


def t_never_answer():
    script = [{"at": "connect", "conn": 1, "action": "stall"}]
    with server("silent", script=script, stall_seconds=2) as s:
        t0 = time.monotonic()
        try:
            smtplib.SMTP("127.0.0.1", s.port, timeout=0.7)
            raise AssertionError("greeting arrived")
        except (socket.timeout, TimeoutError, smtplib.SMTPServerDisconnected):
            pass
        expect(time.monotonic() - t0 < 3, "timeout bounded")
        expect(s.log().server_lines(1) == [], "nothing said on conn 1")
        expect(wait_for(lambda: s.log().events("close", 1), 5), "conn 1 closed")
        # A client that waits: the server hangs up after stall_seconds.
        s.set_script([{"at": "connect", "action": "stall"}])
        k = socket.create_connection(("127.0.0.1", s.port), 5)
        t0 = time.monotonic()
        expect(k.recv(100) == b"", "silence, then EOF")
        k.close()
        expect(1.5 < time.monotonic() - t0 < 4, "stall bounded by stall_seconds")
        expect(s.log().events("stall-ended"), "stall-ended logged")
        if CURL:
            rc, err = curl(s, timeout=1)
            expect(rc == 28, "curl timed out: %d %s" % (rc, err))


def t_stall_after_dot():
    script = [{"at": "data", "action": "stall"}]
    with server("stalldot", script=script, stall_seconds=3) as s:
        try:
            send(s, "a@example.org", ["c@example.org"], timeout=1)
            raise AssertionError("reply came")
        except (socket.timeout, TimeoutError, smtplib.SMTPServerDisconnected):
            pass
        env = s.envelopes()
        expect(len(env) == 1 and env[0]["status"] == "stalled-after-dot",
               "stored as stalled: %r" % env)
    # the server stopped with the stalled connection still open: bounded


def t_stall_other_points():
    script = [{"at": "data_cmd", "action": "stall"}]
    with server("stallcmd", script=script, stall_seconds=5) as s:
        try:
            send(s, "a@example.org", ["c@example.org"], timeout=0.7)
            raise AssertionError("reply came")
        except (socket.timeout, TimeoutError, smtplib.SMTPServerDisconnected):
            pass
        expect(s.envelopes() == [], "nothing stored")
        expect(s.log().server_lines(1)[-1].startswith("250"),
               "last reply was to RCPT")


def t_slow_sink():
    with server("slow", delay_ms=300) as s:
        t0 = time.monotonic()
        with smtplib.SMTP("127.0.0.1", s.port, timeout=5) as c:
            c.sendmail("a@example.org", ["r1@example.org"], MSG)
            c.sendmail("a@example.org", ["r2@example.org"], MSG)
        dt = time.monotonic() - t0
        expect(0.6 <= dt < 3, "two messages took %.2fs" % dt)
    script = {"rules": [{"at": "data", "rcpt": "slow@*", "action": "delay",
                         "delay_ms": 400}]}
    with server("slow2", script=script) as s:
        t0 = time.monotonic()
        send(s, "a@example.org", ["fast@example.org"])
        fast = time.monotonic() - t0
        t0 = time.monotonic()
        send(s, "a@example.org", ["slow@example.org"])
        slow = time.monotonic() - t0
        expect(fast < 0.3 and slow >= 0.4, "fast %.2f slow %.2f" % (fast, slow))
        expect(len(s.envelopes()) == 2, "both stored")


def t_fail_first_k():
    script = [{"at": "rcpt", "rcpt": "retry*@example.org",
               "reply": "451 4.7.1 greylisted", "times_per_rcpt": 2},
              {"at": "data", "rcpt": "d@example.org",
               "reply": "421 4.3.0 bye", "times": 1}]
    with server("firstk", script=script) as s:
        for addr in ("retry1@example.org", "retry2@example.org"):
            codes = []
            for _ in range(3):
                try:
                    send(s, "a@example.org", [addr])
                    codes.append(250)
                except smtplib.SMTPRecipientsRefused as e:
                    codes.append(e.recipients[addr][0])
            expect(codes == [451, 451, 250], "%s: %r" % (addr, codes))
        try:
            send(s, "a@example.org", ["d@example.org"])
            raise AssertionError("first DATA should get 421")
        except (smtplib.SMTPDataError, smtplib.SMTPServerDisconnected):
            pass
        send(s, "a@example.org", ["d@example.org"])
        expect(len(s.envelopes()) == 3, "retry1, retry2, d stored once each")


def t_global_txn_and_prob():
    script = {"seed": 7, "rules": [
        {"at": "rcpt", "txn": "%3", "reply": "452 4.5.3 every third"},
        {"at": "rcpt", "prob": 0.5, "reply": "451 4.3.0 coin"}]}

    def run(name):
        codes = []
        with server(name, script=script) as s:
            with smtplib.SMTP("127.0.0.1", s.port, timeout=5) as c:
                for i in range(12):
                    try:
                        c.sendmail("a@example.org", ["x%d@example.org" % i], MSG)
                        codes.append(250)
                    except smtplib.SMTPRecipientsRefused as e:
                        codes.append(list(e.recipients.values())[0][0])
        return codes
    a, b = run("prob1"), run("prob2")
    expect(a == b, "same seed, same faults: %r %r" % (a, b))
    expect([a[i] for i in (2, 5, 8, 11)] == [452] * 4, "every third: %r" % a)
    rest = [a[i] for i in range(12) if i % 3 != 2]
    expect(451 in rest and 250 in rest, "coin flips both ways: %r" % a)


def t_tls_ca():
    if not CURL or not shutil.which("openssl"):
        print("  (skipped: curl or openssl missing)")
        return
    ca, wrong = tmpdir("ca"), tmpdir("wrongca")
    for d in (ca, wrong):
        subprocess.run(["sh", os.path.join(LIB, "mkca.sh"), d], check=True,
                       timeout=60)
    cert, key = os.path.join(ca, "server.pem"), os.path.join(ca, "server.key")
    with server("tls", tls_cert=cert, tls_key=key) as s:
        rc, err = curl(s, "--ssl-reqd", "--cacert", os.path.join(ca, "ca.pem"))
        expect(rc == 0, "STARTTLS with the right CA: %d %s" % (rc, err))
        rc, err = curl(s, "--ssl-reqd", "--cacert", os.path.join(ca, "ca.pem"),
                       url="smtp://localhost:%d" % s.port)
        expect(rc == 0, "by name localhost: %d %s" % (rc, err))
        rc, err = curl(s, "--ssl-reqd", "--cacert", os.path.join(wrong, "ca.pem"))
        expect(rc == 60, "wrong CA must fail: %d %s" % (rc, err))
        env = s.envelopes()
        expect(len(env) == 2 and all(e["tls"] for e in env), "2 over TLS")
        log = s.log()
        expect(len(log.events("tls")) == 2, "2 handshakes completed")
        expect(log.commands(3) == ["EHLO", "STARTTLS"], "3rd: %r" % log.commands(3))
        # smtplib too
        import ssl
        ctx = ssl.create_default_context(cafile=os.path.join(ca, "ca.pem"))
        with smtplib.SMTP("127.0.0.1", s.port, timeout=5) as c:
            c.starttls(context=ctx)
            c.sendmail("a@example.org", ["c@example.org"], MSG)
        expect(len(s.envelopes()) == 3, "smtplib over TLS")


def t_no_starttls_and_refused():
    ca = tmpdir("ca")
    if not CURL or not os.path.exists(os.path.join(ca, "server.pem")):
        print("  (skipped: needs curl and the CA from t_tls_ca)")
        return
    cert, key = os.path.join(ca, "server.pem"), os.path.join(ca, "server.key")
    cafile = os.path.join(ca, "ca.pem")
    # Not advertised at all (even though a certificate is there).
    with server("notls", tls_cert=cert, tls_key=key, starttls="off",
                auth="joe:Sekr1t-pw", auth_insecure=False) as s:
        rc, err = curl(s, "--ssl-reqd", "--cacert", cafile, "-u", "joe:Sekr1t-pw")
        expect(rc == 64, "curl --ssl-reqd refuses: %d %s" % (rc, err))
        log = s.log()
        expect(not any("STARTTLS" in l for l in log.server_lines()),
               "STARTTLS not advertised")
        expect("AUTH" not in log.commands() and "MAIL FROM" not in log.commands(),
               "no AUTH, no MAIL: %r" % log.commands())
        expect(not log.contains_any(secret_forms("Sekr1t-pw", "joe")),
               "no password bytes")
        expect(s.envelopes() == [], "nothing stored")
    # Advertised, then refused with 454.
    with server("refusetls", starttls="refuse") as s:
        rc, err = curl(s, "--ssl-reqd", "--cacert", cafile)
        expect(rc != 0, "curl fails when STARTTLS is refused: %d" % rc)
        log = s.log()
        expect(any(l == "250-STARTTLS" for l in log.server_lines()), "advertised")
        expect("454" in log.server_lines()[-1] or
               any(l.startswith("454") for l in log.server_lines()), "454 sent")
        cmds = log.commands()
        expect("MAIL FROM" not in cmds[cmds.index("STARTTLS"):],
               "no MAIL FROM after refused STARTTLS: %r" % cmds)
        with smtplib.SMTP("127.0.0.1", s.port, timeout=5) as c:
            c.ehlo()
            expect(c.has_extn("starttls"), "smtplib sees STARTTLS")
            code, _ = c.docmd("STARTTLS")
            expect(code == 454, "454, got %d" % code)


def t_auth_and_password_grep():
    ca = tmpdir("ca")
    if not CURL or not os.path.exists(os.path.join(ca, "server.pem")):
        print("  (skipped: needs curl and the CA from t_tls_ca)")
        return
    cert, key = os.path.join(ca, "server.pem"), os.path.join(ca, "server.key")
    cafile = os.path.join(ca, "ca.pem")
    pw = "Pa55-w0rd-xyzzy"
    with server("auth", tls_cert=cert, tls_key=key, auth="joe:" + pw) as s:
        rc, err = curl(s, "--ssl-reqd", "--cacert", cafile, "-u", "joe:" + pw)
        expect(rc == 0, "AUTH PLAIN over TLS: %d %s" % (rc, err))
        rc, err = curl(s, "--ssl-reqd", "--cacert", cafile, "-u", "joe:" + pw,
                       "--login-options", "AUTH=LOGIN")
        expect(rc == 0, "AUTH LOGIN over TLS: %d %s" % (rc, err))
        rc, err = curl(s, "--ssl-reqd", "--cacert", cafile, "-u", "joe:wrong")
        expect(rc == 67, "bad password: %d %s" % (rc, err))
        # Without TLS, AUTH is not offered; curl sends no credentials.
        rc, err = curl(s, "-u", "joe:" + pw)
        expect(rc == 55 and "530" in err, "530 without AUTH: %d %s" % (rc, err))
        log = s.log()
        auths = log.events("auth")
        expect([(a["mech"], a["ok"]) for a in auths] ==
               [("PLAIN", True), ("LOGIN", True), ("PLAIN", False)],
               "auth events %r" % auths)
        found = log.contains_any(secret_forms(pw, "joe"))
        expect(found, "the wire log shows the password's base64")
        c4 = log.conns()[-1]
        expect("AUTH" not in log.commands(c4), "no AUTH on the plain conn")
        expect(not any(r["tls"] is False and r["line"].upper().startswith("AUTH")
                       for r in log.events("c")), "no AUTH before TLS anywhere")
    with server("authplain", auth="joe:" + pw, auth_insecure=True) as s:
        rc, err = curl(s, "-u", "joe:" + pw)
        expect(rc == 0, "auth-insecure: %d %s" % (rc, err))
        expect(pw in Log(s.log_path).text() or
               s.log().contains_any(secret_forms(pw, "joe")), "grep works")


def t_secret_forms():
    import base64
    pw = "hunter2-long"
    for prefix in (b"", b"\0", b"\0u\0", b"\0joe\0", b"abc"):
        blob = base64.b64encode(prefix + pw.encode() + b"tail").decode()
        expect(any(f in blob for f in secret_forms(pw)),
               "fragment found with prefix %r" % prefix)
    expect(not any(f in base64.b64encode(b"\0joe\0other-password").decode()
                   for f in secret_forms(pw)), "no false positive")


def t_ehlo_and_auth_rules():
    script = [{"at": "ehlo", "conn": 1, "reply": "421 4.3.2 not now"},
              {"at": "mail", "from": "*@blocked.example", "reply": "550 5.7.1 no"}]
    with server("ehlo", script=script) as s:
        try:
            send(s, "a@example.org", ["c@example.org"])
            raise AssertionError("EHLO 421 should fail")
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPHeloError,
                smtplib.SMTPResponseException):
            pass
        try:
            send(s, "x@blocked.example", ["c@example.org"])
            raise AssertionError("MAIL 550 should fail")
        except smtplib.SMTPSenderRefused as e:
            expect(e.smtp_code == 550, repr(e))
        send(s, "a@example.org", ["c@example.org"])
        expect(len(s.envelopes()) == 1, "one stored")


def t_script_errors():
    for bad in ([{"at": "nowhere", "reply": "451 x"}],
                [{"at": "rcpt", "reply": "oops"}],
                [{"at": "rcpt", "reply": "451 x", "bogus": 1}],
                [{"at": "connect", "rcpt": "a@b", "action": "drop"}],
                [{"at": "rcpt", "conn": "x-y", "reply": "451 x"}],
                "{not json"):
        try:
            FaultServer(script=bad, maildir=tmpdir("bad"))
            raise AssertionError("accepted %r" % (bad,))
        except ScriptError:
            pass
    try:
        FaultServer(host="0.0.0.0", maildir=tmpdir("bad"))
        raise AssertionError("non-loopback accepted")
    except ValueError:
        pass


def t_cli():
    d = tmpdir("cli")
    portfile = os.path.join(d, "port")
    script = os.path.join(d, "script.json")
    with open(script, "w") as f:
        f.write('[{"at": "rcpt", "rcpt": "no@*", "reply": "550 5.1.1 unknown"}]')
    cmd = [sys.executable, os.path.join(LIB, "faultsmtp.py"), "--port", "0",
           "--portfile", portfile, "--maildir", os.path.join(d, "Maildir"),
           "--script", script, "--log", os.path.join(d, "wire.jsonl"),
           "--max-seconds", "60"]
    p = subprocess.Popen(cmd)
    try:
        expect(wait_for(lambda: os.path.exists(portfile), 10), "portfile")
        with open(portfile) as f:
            port = int(f.read())

        class S:
            pass
        s = S()
        s.port, s.url = port, "smtp://127.0.0.1:%d" % port
        send(s, "a@example.org", ["yes@example.org"])
        try:
            send(s, "a@example.org", ["no@example.org"])
            raise AssertionError("no@ accepted")
        except smtplib.SMTPRecipientsRefused:
            pass
        p.send_signal(signal.SIGTERM)
        expect(p.wait(10) == 0, "clean exit on SIGTERM")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    env = faultsmtp.read_envelopes(os.path.join(d, "Maildir"))
    expect([e["rcpt"] for e in env] == [["yes@example.org"]], "cli stored")
    expect(Log(os.path.join(d, "wire.jsonl")).events("stopped"), "stopped")
    # bounded lifetime
    t0 = time.monotonic()
    rc = subprocess.run(cmd[:-1] + ["1"], timeout=20).returncode
    expect(rc == 124 and time.monotonic() - t0 < 10, "max-seconds: rc %d" % rc)
    # bad script: usage error
    rc = subprocess.run(cmd[:8] + ["--script", "[{}]"], timeout=20,
                        capture_output=True).returncode
    expect(rc == 64, "bad script exit 64, got %d" % rc)


def t_shell_wrapper():
    d = tmpdir("shwrap")
    sh = os.path.join(LIB, "faultsmtp.sh")
    r = subprocess.run(["sh", sh, "start", d, "--script",
                        '[{"at":"rcpt","rcpt":"no@*","reply":"550 5.1.1 x"}]'],
                       capture_output=True, text=True, timeout=30)
    expect(r.returncode == 0, "start: %s" % r.stderr)
    port = int(r.stdout)
    with open(os.path.join(d, "pid")) as f:
        pid = int(f.read())
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as c:
            c.sendmail("a@example.org", ["yes@example.org"], MSG)
        expect(len(faultsmtp.read_envelopes(os.path.join(d, "Maildir"))) == 1,
               "stored via wrapper")
    finally:
        r = subprocess.run(["sh", sh, "stop", d], capture_output=True,
                           text=True, timeout=30)
    expect(r.returncode == 0, "stop: %s" % r.stderr)
    alive = os.path.exists("/proc/%d" % pid)
    if alive:
        with open("/proc/%d/stat" % pid) as f:
            alive = f.read().split(") ", 1)[1][0] != "Z"
    expect(not alive, "server process gone")
    expect(Log(os.path.join(d, "wire.jsonl")).events("stopped"), "clean stop")
    r = subprocess.run(["sh", sh, "start", d, "--script", "[{}]"],
                       capture_output=True, text=True, timeout=30)
    expect(r.returncode != 0 and "rule 0" in r.stderr, "bad script reported")


def t_ipv6():
    try:
        with socket.socket(socket.AF_INET6) as k:
            k.bind(("::1", 0))
    except OSError:
        print("  (skipped: no ::1)")
        return
    with server("v6", host="::1") as s:
        with smtplib.SMTP("::1", s.port, timeout=5) as c:
            c.sendmail("a@example.org", ["c@example.org"], MSG)
        if CURL:
            rc, err = curl(s)
            expect(rc == 0, "curl [::1]: %d %s" % (rc, err))
        expect(len(s.envelopes()) == (2 if CURL else 1), "stored over ::1")


def t_stop_is_clean():
    # Stop with connections open in every state; the thread must end.
    script = [{"at": "connect", "conn": 1, "action": "stall"},
              {"at": "data", "action": "stall"}]
    s = server("stop", script=script, stall_seconds=100).start()
    socks = [socket.create_connection(("127.0.0.1", s.port), 5) for _ in range(3)]
    t0 = time.monotonic()
    s.stop()
    expect(time.monotonic() - t0 < 5, "stop is quick")
    for k in socks:
        k.close()
    import threading
    expect(not [t for t in threading.enumerate() if t.name == "faultsmtp"],
           "no server thread left")


TESTS = [v for k, v in list(globals().items()) if k.startswith("t_")]


def main():
    signal.alarm(300)  # the whole self-test is bounded
    failed = 0
    for t in TESTS:
        t0 = time.monotonic()
        try:
            t()
            print("ok   %s (%.1fs)" % (t.__name__, time.monotonic() - t0))
        except Exception:
            failed += 1
            print("FAIL %s" % t.__name__)
            traceback.print_exc()
    if not failed:
        shutil.rmtree(TMP, ignore_errors=True)
    else:
        print("kept %s" % TMP)
    print("%d/%d passed" % (len(TESTS) - failed, len(TESTS)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
