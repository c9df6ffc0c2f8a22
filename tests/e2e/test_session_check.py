#!/usr/bin/python3
"""What herald says about session times: `check` lists the times found and,
separately, the clock-like phrases it left as written with the reason;
`preview` warns about the same phrases; `check --strict` and
`send --strict` refuse (65) while any remain, before anything is sent; a
time before the post's date is history, not "past"; an unknown word after
a clock never blocks the post."""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import fixture  # noqa: E402

POST = """---
title: Sessions
date: 2030-06-03
timezone: America/New_York
---

Join us Thursday at 10am PT / 1pm ET for the call.

JOIN US FRIDAY 7PM AT THE HACKERSPACE.

Friday 10am IT all-hands, and see you at 07:00 EST on Friday.

Updated on 2023-01-10 at 21:30 UTC.
"""

CLEAN = """---
title: Sessions
date: 2030-06-03
---

Join us Thursday at 10am PT / 1pm ET for the call.
"""

failures = []


def fail(msg):
    failures.append(msg)


def main():
    d = fixture.make_site()
    try:
        with open(os.path.join(d, "post.md"), "w") as f:
            f.write(POST)
        with open(os.path.join(d, "clean.md"), "w") as f:
            f.write(CLEAN)
        with open(os.path.join(d, "lists", "l.csv"), "w") as f:
            f.write("email,name\nann@example.org,Ann\n")

        r = fixture.run(["check", "post.md"], d)
        out, err = r.stdout.decode(), r.stderr.decode()
        if r.returncode != 0:
            fail("check exited %d: %s" % (r.returncode, err))
        # 2030-06-06 10:00 PDT = 17:00 UTC; FRIDAY 7PM New York = 23:00 UTC
        for want in ('session times: 3',
                     'post.md:7: "Thursday at 10am PT / 1pm ET" -> 2030-06-06T17:00:00+00:00',
                     'post.md:9: "FRIDAY 7PM" -> 2030-06-07T23:00:00+00:00',
                     'post.md:13: "2023-01-10 at 21:30 UTC" -> 2023-01-10T21:30:00+00:00',
                     '(history)',
                     'left as written: 2',
                     'post.md:11: "Friday 10am": "IT" after the clock is not a time zone',
                     'post.md:11: "07:00 EST on Friday": EST is not in effect'):
            if want not in out:
                fail("check output lacks %r:\n%s" % (want, out))
        if "(past)" in out:
            fail("a time before the post date is history, not past:\n" + out)

        r = fixture.run(["check", "--strict", "post.md"], d)
        if r.returncode != 65:
            fail("check --strict exited %d, want 65" % r.returncode)
        if "post.md: 2 clock-like phrases left as written (--strict)" not in r.stderr.decode():
            fail("check --strict stderr: %s" % r.stderr.decode())

        r = fixture.run(["check", "--strict", "clean.md"], d)
        if r.returncode != 0:
            fail("check --strict on a clean post exited %d: %s"
                 % (r.returncode, r.stderr.decode()))

        r = fixture.run(["preview", "post.md", "--list", "lists/l.csv", "--out", "out"], d)
        err = r.stderr.decode()
        if r.returncode != 0:
            fail("preview exited %d: %s" % (r.returncode, err))
        if 'herald: post.md:11: warning: "Friday 10am" left as written' not in err:
            fail("preview does not warn about the phrase left alone:\n" + err)
        if "in the past" in err:
            fail("preview calls a history time past:\n" + err)

        r = fixture.run(["send", "--strict", "post.md", "--list", "lists/l.csv"], d)
        if r.returncode != 65:
            fail("send --strict exited %d, want 65: %s" % (r.returncode, r.stderr.decode()))
        if os.path.exists(os.path.join(d, ".herald", "journal")) or \
                any(n.endswith(".db") for n in os.listdir(os.path.join(d, ".herald"))):
            fail("send --strict wrote a journal before refusing")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
