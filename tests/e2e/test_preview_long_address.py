"""preview --out with the longest addresses RFC 5321 allows (254 octets,
local part 64): each reader still gets its own files.

An address of 254 characters plus ".html" is longer than a file name may
be (NAME_MAX 255); preview used to fail with "File name too long" (exit
73) on a list `check` accepts.  Two such addresses that differ only at the
end must not share a file.  Oracles: Python's strict email parser reads
each message's To:, os.path.exists resolves index.html's links.
"""
import glob
import os
import re
import shutil
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import fixture  # noqa: E402

POST = """---
title: Long addresses
date: 2027-11-22
timezone: Europe/Berlin
---
We meet on 2027-11-25 18:30 Europe/Berlin.
"""


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    local = "a" * 64
    domain = ".".join(["b" * 60, "c" * 60, "d" * 60]) + "."
    one = local + "@" + domain + "ex.org"
    two = local + "@" + domain + "ey.org"
    for a in (one, two):
        if len(a) != 254:
            fail(f"test setup: {len(a)} octets, want 254")
    d = fixture.make_site()
    try:
        with open(os.path.join(d, "post.md"), "w") as f:
            f.write(POST)
        with open(os.path.join(d, "lists", "long.csv"), "w") as f:
            f.write("email\n" + one + "\n" + two + "\nshort@example.org\n")
        p = fixture.run(["preview", "post.md", "--list", "lists/long.csv",
                         "--out", "out"], cwd=d)
        if p.returncode != 0:
            fail(f"preview exit {p.returncode}: {p.stderr.decode()!r}")
        out = os.path.join(d, "out")
        emls = sorted(glob.glob(os.path.join(out, "*.eml")))
        if len(emls) != 3:
            fail(f"want 3 .eml files, got {len(emls)}: {emls}")
        seen = set()
        for path in emls:
            if len(os.path.basename(path).encode()) > 255:
                fail(f"file name too long: {path}")
            msg = fixture.parse_strict(path)
            seen.add(str(msg["To"].addresses[0].addr_spec).lower())
        if seen != {one, two, "short@example.org"}:
            fail(f"To: addresses {sorted(seen)} are not the list's")
        bad = fixture.check_eml(emls)
        if bad:
            fail(f"check_eml: {bad}")
        with open(os.path.join(out, "index.html"), encoding="utf-8") as f:
            index = f.read()
        hrefs = re.findall(r'href="([^"]+)"', index)
        if len(hrefs) < 6:
            fail(f"index.html links {len(hrefs)} files, want 6")
        for h in hrefs:
            target = os.path.join(out, urllib.parse.unquote(h))
            if not os.path.exists(target):
                fail(f"index.html links {h!r}, which does not exist")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
