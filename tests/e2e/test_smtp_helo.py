#!/usr/bin/python3
"""smtp.helo (issue 12): the name herald gives in EHLO, as the relay saw
it (the fault server's wire log of client lines), and a send that works
with it."""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sendkit import Site, out, server  # noqa: E402


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def ehlos(path):
    names = []
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("ev") == "c" and rec.get("line", "").upper().startswith("EHLO "):
                names.append(rec["line"][5:])
    return names


def main():
    tmp = tempfile.mkdtemp(prefix="test_smtp_helo.")
    try:
        with server(tmp, "sink") as srv:
            s = Site(srv.url, n=3, extra="  helo: mail.example.org\n")
            r = s.send()
            if r.returncode != 0:
                fail("send with smtp.helo: " + out(r))
            if len(srv.envelopes()) != 3:
                fail("the relay did not get 3 messages")
        names = ehlos(os.path.join(tmp, "sink", "wire.jsonl"))
        if not names or any(n != "mail.example.org" for n in names):
            fail(f"EHLO names seen by the relay: {names!r}")
        print(f"ok: {len(names)} EHLO mail.example.org")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
