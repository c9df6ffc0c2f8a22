#!/usr/bin/python3
"""End to end against a real MTA: a private Postfix on 127.0.0.1
(tests/e2e/lib/postfix.sh) delivering into a Maildir.

Every subscriber of lists/example.csv gets exactly one message, identical
to what `herald preview` writes for them apart from Date and Postfix's
trace headers, and check_eml.py passes on every delivered file (with
Postfix's LF line endings turned back into CRLF).  A rerun sends nothing.
Skipped (77) unless root and Postfix are available.
"""
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "lib"))
from sendkit import Checks, out  # noqa: E402
import fixture  # noqa: E402

_pf = fixture.postfix()   # skips (77) unless root and Postfix are here
Postfix = _pf.Postfix
header = _pf.header
strip_trace = _pf.strip_trace

POST = os.path.join(fixture.SRC, "doc", "examples",
                    "2027-11-22-async-office-hours.md")
LIST = os.path.join(fixture.SRC, "lists", "example.csv")
C = Checks()


def addresses():
    import csv
    with open(LIST, encoding="utf-8-sig") as f:
        return [r["email"].lower() for r in csv.DictReader(f)]


def main():
    for p in (POST, LIST):
        if not os.path.exists(p):
            fixture.skip("missing " + p)
    tmp = tempfile.mkdtemp(prefix="test_send_postfix.")
    site = None
    try:
        with Postfix(os.path.join(tmp, "postfix")) as pf:
            cfg = fixture.CONFIG.replace("smtp://127.0.0.1:2525", pf.url)
            site = fixture.make_site(cfg)
            post = os.path.join(site, os.path.basename(POST))
            lst = os.path.join(site, "lists", "example.csv")
            shutil.copy(POST, post)
            shutil.copy(LIST, lst)
            conf = os.path.join(site, "herald.yml")

            p = fixture.run(["preview", post, "--list", lst, "--out",
                             os.path.join(site, "out"), "--config", conf],
                            cwd=site)
            C.eq(p.returncode, 0, "preview: exit (%s)" % out(p))
            p = fixture.run(["send", post, "--list", lst, "--config", conf,
                             "--allow-past", "--concurrency", "3"], cwd=site,
                            timeout=300)
            C.eq(p.returncode, 0, "send: exit (%s)" % out(p))

            want = addresses()
            n = pf.wait_messages(len(want), timeout=60, settle=2)
            C.eq(n, len(want), "messages delivered")

            # Preview copies by Message-ID.
            previews = {}
            for name in os.listdir(os.path.join(site, "out")):
                if name.endswith(".eml"):
                    with open(os.path.join(site, "out", name), "rb") as f:
                        raw = f.read()
                    previews[header(raw, "message-id")[0]] = raw

            got = {}
            crlf_files = []
            for path, raw in pf.messages():
                to = header(raw, "x-original-to") or header(raw,
                                                            "delivered-to")
                rcpt = to[0].lower() if to else "?"
                got.setdefault(rcpt, []).append(raw)
                mid = header(raw, "message-id")
                pv = previews.get(mid[0]) if mid else None
                if C.ok(pv is not None, "%s: no preview with Message-ID %r"
                        % (rcpt, mid)):
                    C.ok(strip_trace(raw, drop=("date",)) ==
                         strip_trace(pv, drop=("date",)),
                         "%s: delivered message differs from preview" % rcpt)
                f = os.path.join(tmp, "delivered-%d.eml" % len(crlf_files))
                with open(f, "wb") as fh:
                    fh.write(raw.replace(b"\r\n", b"\n")
                             .replace(b"\n", b"\r\n"))
                crlf_files.append(f)
            for a in want:
                C.eq(len(got.get(a, [])), 1, "copies for " + a)
            C.eq(sorted(got), sorted(want), "recipients")
            bad = fixture.check_eml(crlf_files)
            C.eq(bad, [], "check_eml.py on delivered files")

            # Resume: nothing more to send.
            p = fixture.run(["send", post, "--list", lst, "--config", conf,
                             "--allow-past"], cwd=site)
            C.eq(p.returncode, 0, "rerun: exit (%s)" % out(p))
            C.eq(pf.wait_messages(len(want) + 1, timeout=3), len(want),
                 "rerun sent nothing")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if site:
            shutil.rmtree(site, ignore_errors=True)
    C.done()


if __name__ == "__main__":
    main()
