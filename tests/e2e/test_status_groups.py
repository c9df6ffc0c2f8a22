#!/usr/bin/python3
"""status for people and scripts (issue 12): 20 identical greylisting
replies are one line (with a few of the addresses), not 20; --all lists
each; --sent lists who got the post, and --json --sent agrees with what
the relay (the fault server's Maildir) actually received."""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sendkit import Site, delivered, out, server  # noqa: E402

N = 30
GREY = "451 4.7.1 Greylisted, try again later"


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    tmp = tempfile.mkdtemp(prefix="test_status_groups.")
    try:
        script = [{"at": "rcpt", "rcpt": "user00[01]*", "reply": GREY},
                  {"at": "rcpt", "rcpt": "user0025@*",
                   "reply": "550 5.1.1 <user0025@example.org>: no such user"}]
        with server(tmp, "grey", script=script) as srv:
            s = Site(srv.url, n=N)
            r = s.send("--max-tries", "1")
            if r.returncode != 75:
                fail("send: want 75 (deferred remain): " + out(r))
            got = set(delivered(srv))
            if len(got) != 9:
                fail(f"the relay got {len(got)} messages, want 9")

            st = s.status()
            text = st.stdout.decode()
            grey = [ln for ln in text.splitlines() if GREY in ln]
            if len(grey) != 1 or "20 recipients" not in grey[0]:
                fail("identical replies not grouped into one line: " + text)
            if len(text.splitlines()) > 15:
                fail(f"status printed {len(text.splitlines())} lines: " + text)
            if "user0025@example.org" not in text or "5.1.1" not in text:
                fail("the permanent failure is not shown: " + text)

            st = s.status("--all")
            rows = [ln for ln in st.stdout.decode().splitlines() if GREY in ln]
            if len(rows) != 20:
                fail(f"--all shows {len(rows)} greylisted lines, want 20")

            st = s.status("--sent")
            text = st.stdout.decode()
            after = text.split("sent to:\n", 1)
            if len(after) != 2:
                fail("--sent has no 'sent to:' section: " + text)
            listed = {ln.split()[1] for ln in after[1].splitlines() if ln.strip()}
            if listed != got:
                fail(f"--sent lists {sorted(listed)}, the relay got {sorted(got)}")

            st = s.status("--json", "--sent")
            j = json.loads(st.stdout)
            sent = {x["address"] for x in j["recipients"] if x["state"] == "sent"}
            if sent != got:
                fail(f"--json --sent: {sorted(sent)} != relay {sorted(got)}")
            if sum(1 for x in j["recipients"] if x["state"] == "deferred") != 20:
                fail("--json lists every deferred recipient")
        print("ok: grouped, --all, --sent, --json --sent")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
