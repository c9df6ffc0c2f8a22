#!/usr/bin/python3
"""send --to ADDRESS --as ROW-ADDRESS (issue 12): the test copy reaches
ADDRESS, personalised as that row (its name in the greeting, its time zone
for the session time: checked with Python's zoneinfo), not as row 1; an
--as that is no row is an error naming the list, and --as without --to is
a usage error."""
import datetime
import email
import email.policy
import os
import re
import shutil
import sys
import tempfile
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sendkit import Site, out, server  # noqa: E402


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    tmp = tempfile.mkdtemp(prefix="test_send_as.")
    try:
        with server(tmp, "sink") as srv:
            s = Site(srv.url, n=8)   # row i: "User i", zones cycle
            row = 6                  # Asia/Tokyo in sendkit's cycle
            r = s.send("--to", "me@example.net", "--as", s.addrs[row].upper())
            if r.returncode != 0:
                fail("send --to --as: " + out(r))
            msgs = srv.messages()
            if len(msgs) != 1:
                fail(f"{len(msgs)} messages arrived, want 1")
            m = email.message_from_bytes(msgs[0][1], policy=email.policy.default)
            text = m.get_body(("plain",)).get_content()
            if f"User {row}" not in text or "User 0" in text:
                fail("not personalised as the --as row: " + text[:200])
            when = datetime.datetime(2099, 3, 4, 7, 0, tzinfo=zoneinfo.ZoneInfo(
                "America/New_York")).astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
            h12 = when.hour % 12 or 12
            if not re.search(rf"(?<!\d)({when.hour}|{when.hour:02d}|{h12}):{when.minute:02d}(?!\d)", text):
                fail(f"session time not in the row's zone ({when:%H:%M} Tokyo): {text[:400]}")
            r = s.send("--to", "me@example.net", "--as", "nobody@example.org")
            if r.returncode != 65 or b"--as nobody@example.org" not in r.stderr:
                fail("--as with no such row: " + out(r))
            r = s.send("--as", s.addrs[1])
            if r.returncode != 64 or len(r.stderr.splitlines()) != 1:
                fail("--as without --to: " + out(r))
        print("ok: --to --as")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
