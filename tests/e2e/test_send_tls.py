#!/usr/bin/python3
"""`herald send` and TLS (RFC 3207) and credentials.

1. STARTTLS with a test CA (smtp.ca_file) and AUTH: every message arrives
   over TLS, authenticated; the password (from HERALD_SMTP_PASSWORD, and
   in a second run from smtp.password_file) never appears in herald's
   stdout, stderr, --verbose trace, journal, state files or the delivered
   .eml files, neither plain nor in base64.
2. A server that does not offer STARTTLS, one that refuses it (454), and
   one whose certificate is not from the configured CA: herald sends no
   message and no AUTH, and exits 69.
"""
import glob
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sendkit import (Checks, Site, delivered, out, secret_forms,  # noqa
                     server)
import sendkit  # noqa: E402
import fixture  # noqa: E402

TMP = tempfile.mkdtemp(prefix="test_send_tls.")
LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib")
C = Checks()
sites = []
USER = "newsbot"
PW = "Tr0ub4dor&3-hérald-pw"


def mkca(name):
    d = os.path.join(TMP, name)
    p = subprocess.run(["sh", os.path.join(LIB, "mkca.sh"), d],
                       capture_output=True, timeout=60)
    if p.returncode == 77:
        fixture.skip("openssl missing")
    if p.returncode != 0:
        raise RuntimeError("mkca.sh: %s" % p.stderr)
    return d


def site(srv, ca, **kw):
    extra = "  user: %s\n  ca_file: %s\n" % (USER, os.path.join(ca, "ca.pem"))
    s = Site(srv.url, extra=extra, **kw)
    sites.append(s)
    return s


def leaks(blobs):
    """Which secret forms appear in any of blobs (bytes)."""
    forms = [f.encode() for f in secret_forms(PW, USER)]
    forms.append(PW.encode("utf-8"))
    return [f for f in forms if any(f in b for b in blobs)]


def state_files(s):
    out = []
    for p in glob.glob(os.path.join(s.dir, ".herald", "*")):
        with open(p, "rb") as f:
            out.append(f.read())
    return out


def test_starttls_pipelined(ca):
    """The same over STARTTLS with PIPELINING offered: herald's groups go
    through libcurl's TLS (curl_easy_send/recv), every reply is read, and
    the wire discipline of RFC 2920 holds."""
    with server(TMP, "tlspipe", tls_cert=os.path.join(ca, "server.pem"),
                tls_key=os.path.join(ca, "server.key"),
                auth="%s:%s" % (USER, PW), require_tls=True,
                pipelining=True) as srv:
        s = site(srv, ca, n=12)
        p = s.send("--concurrency", "2", env={"HERALD_SMTP_PASSWORD": PW})
        C.eq(p.returncode, 0, "tls+pipelining: exit (%s)" % out(p))
        d = delivered(srv)
        for a in s.addrs:
            C.eq(len(d.get(a, [])), 1, "tls+pipelining: one copy for " + a)
        C.ok(all(e["tls"] for e in srv.envelopes()),
             "tls+pipelining: all over TLS")
        C.eq(srv.log().discipline(True), [], "tls+pipelining: discipline")
        groups = [r for r in srv.log().records
                  if r["ev"] == "c" and r["line"].upper().startswith("RCPT")]
        C.eq(len(groups), 12, "tls+pipelining: one RCPT a message")
        reads = {}
        for r in srv.log().records:
            if r["ev"] == "c" and "rd" in r:
                reads.setdefault((r["conn"], r["rd"]), []).append(
                    r["line"].split(" ", 1)[0].split(":", 1)[0].upper())
        C.ok(any("MAIL" in v and "RCPT" in v and "DATA" in v
                 for v in reads.values()),
             "tls+pipelining: some MAIL/RCPT/DATA group arrived in one "
             "read (were the groups pipelined at all?) %r"
             % sorted(reads.values())[:5])


def test_starttls(ca):
    with server(TMP, "tls", tls_cert=os.path.join(ca, "server.pem"),
                tls_key=os.path.join(ca, "server.key"),
                auth="%s:%s" % (USER, PW), require_tls=True) as srv:
        s = site(srv, ca, n=6)
        env = {"HERALD_SMTP_PASSWORD": PW}
        p = s.send("--verbose", env=env)
        C.eq(p.returncode, 0, "starttls: exit (%s)" % out(p))
        d = delivered(srv)
        for a in s.addrs:
            C.eq(len(d.get(a, [])), 1, "starttls: one copy for " + a)
        C.ok(all(e["tls"] for e in srv.envelopes()), "starttls: all over TLS")
        auths = srv.log().events("auth")
        C.ok(auths and all(a["ok"] for a in auths), "starttls: AUTH ok %r"
             % auths)
        C.ok(b"STARTTLS" in p.stderr, "--verbose shows the dialogue")
        C.ok(b"[redacted]" in p.stderr, "--verbose redacts AUTH")
        C.ok(b"> MAIL FROM:" in p.stderr and b"> RCPT TO:" in p.stderr and
             b"< 354" in p.stderr, "--verbose shows herald's own "
             "transactions (MAIL, RCPT, the 354)")
        C.ok(b"reached easy.c" not in p.stderr, "--verbose is free of "
             "libcurl's notes on every empty read")
        blobs = [p.stdout, p.stderr] + state_files(s) + \
            [m for _, m in srv.messages()]
        C.eq(leaks(blobs), [], "starttls: password leaked")

        st = s.status("--json")
        C.eq(leaks([st.stdout, st.stderr]), [], "status: password leaked")

        # The same from smtp.password_file, and a --to test copy.
        pwf = os.path.join(s.dir, "smtp-password")
        with open(pwf, "w") as f:
            f.write(PW + "\n")
        os.chmod(pwf, 0o600)  # herald refuses a secret others can read
        s.set_url(srv.url, extra="  user: %s\n  ca_file: %s\n"
                  "  password_file: smtp-password\n" %
                  (USER, os.path.join(ca, "ca.pem")))
        p = s.send("--verbose", "--to", "tester@example.net")
        C.eq(p.returncode, 0, "password_file --to: exit (%s)" % out(p))
        C.eq(leaks([p.stdout, p.stderr] + [m for _, m in srv.messages()]),
             [], "password_file: password leaked")


def test_no_tls(ca, other_ca):
    cases = [
        ("notls", dict(starttls="off")),
        ("refused", dict(starttls="refuse")),
        ("badca", dict()),
    ]
    for name, kw in cases:
        with server(TMP, name, tls_cert=os.path.join(ca, "server.pem"),
                    tls_key=os.path.join(ca, "server.key"),
                    auth="%s:%s" % (USER, PW), auth_insecure=True,
                    **kw) as srv:
            s = site(srv, other_ca if name == "badca" else ca, n=3)
            p = s.send("--verbose", env={"HERALD_SMTP_PASSWORD": PW})
            C.eq(p.returncode, 69, "%s: exit (%s)" % (name, out(p)))
            C.eq(srv.envelopes(), [], "%s: no message stored" % name)
            cmds = srv.log().commands()
            C.ok(not any(c.startswith(("AUTH", "MAIL", "RCPT", "DATA"))
                         for c in cmds), "%s: commands sent %r" % (name, cmds))
            C.eq(srv.log().events("auth"), [], "%s: no AUTH" % name)
            C.eq(srv.log().contains_any(list(secret_forms(PW, USER))), [],
                 "%s: no credential bytes on the wire" % name)
            C.eq(leaks([p.stdout, p.stderr]), [], "%s: password leaked" % name)
            rows = s.rows()
            C.ok(all(r["state_name"] in ("pending", "deferred")
                     for r in rows.values()), "%s: nobody marked sent: %r" %
                 (name, [r["state_name"] for r in rows.values()]))


def test_tls_required(ca):
    """smtp.tls: required makes TLS mandatory even to a loopback relay."""
    with server(TMP, "required", tls_cert=os.path.join(ca, "server.pem"),
                tls_key=os.path.join(ca, "server.key"), starttls="off",
                auth="%s:%s" % (USER, PW), auth_insecure=True) as srv:
        s = Site(srv.url, n=3, extra="  user: %s\n  tls: required\n" % USER)
        sites.append(s)
        p = s.send(env={"HERALD_SMTP_PASSWORD": PW})
        C.eq(p.returncode, 69, "required: exit (%s)" % out(p))
        C.eq(srv.envelopes(), [], "required: no message stored")
        C.eq(srv.log().events("auth"), [], "required: no AUTH")


def main():
    ca = mkca("ca")
    other = mkca("other-ca")
    sendkit.run_tests(((test_starttls, (ca,)), (test_starttls_pipelined, (ca,)),
                       (test_no_tls, (ca, other)),
                    (test_tls_required, (ca,))), C, TMP, sites)


if __name__ == "__main__":
    main()
