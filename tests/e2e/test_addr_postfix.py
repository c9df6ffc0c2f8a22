#!/usr/bin/python3
"""A quoted local part that `check` accepts is one a real MTA takes: a
private Postfix on 127.0.0.1 (tests/e2e/lib/postfix.sh) receives
RCPT TO:<"a b"@example.org> from `herald send` and delivers it, and the
delivered To: parses (Python's strict email parser) to that same address.
Postfix and Python are the oracles: X-Original-To is Postfix's reading of
the envelope.  Skipped (77) unless root and Postfix are available.
"""
import email.parser
import email.policy
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "lib"))
from sendkit import POST, Checks, out  # noqa: E402
import fixture  # noqa: E402

_pf = fixture.postfix()   # skips (77) unless root and Postfix are here
Postfix = _pf.Postfix
header = _pf.header

C = Checks()
WANT = ['"a b"@example.org', "plain@example.org"]


def main():
    tmp = tempfile.mkdtemp(prefix="test_addr_postfix.")
    site = None
    try:
        with Postfix(os.path.join(tmp, "postfix")) as pf:
            site = fixture.make_site(
                fixture.CONFIG.replace("smtp://127.0.0.1:2525", pf.url))
            post = os.path.join(site, "2099-03-02-quoted.md")
            with open(post, "w") as f:
                f.write(POST)
            lst = os.path.join(site, "lists", "q.csv")
            with open(lst, "w") as f:
                f.write('email,name\n"""a b""@example.org",Quoted\n'
                        'plain@example.org,Plain\n')
            conf = os.path.join(site, "herald.yml")
            p = fixture.run(["check", post, "--list", lst, "--config", conf],
                            cwd=site)
            C.eq(p.returncode, 0, "check accepts (%s)" % out(p))
            p = fixture.run(["send", post, "--list", lst, "--config", conf],
                            cwd=site, timeout=120)
            C.eq(p.returncode, 0, "send: exit (%s)" % out(p))
            n = pf.wait_messages(len(WANT), timeout=60, settle=1)
            C.eq(n, len(WANT), "messages delivered")
            envs, tos = [], []
            for path, raw in pf.messages():
                x = header(raw, "x-original-to") or header(raw,
                                                           "delivered-to")
                envs.append(x[0] if x else "?")
                m = email.parser.BytesParser(
                    policy=email.policy.strict).parsebytes(raw)
                tos.extend(a.addr_spec for a in m["To"].addresses)
            C.eq(sorted(tos), sorted(WANT), "To: as Python reads it")
            C.eq(sorted(e.lower() for e in envs), sorted(WANT),
                 "envelope as Postfix read it (X-Original-To)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if site:
            shutil.rmtree(site, ignore_errors=True)
    C.done()


if __name__ == "__main__":
    main()
