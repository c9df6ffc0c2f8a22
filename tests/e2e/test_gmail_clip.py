"""Gmail clips a message whose HTML is over 102 KB ("[Message clipped]"),
hiding the unsubscribe link at its end (issue 12; sources in src/clip.h).
`preview` and `check` warn, naming the post file, the reader and the size,
when a reader's HTML part would be over 102 KB (104,448 bytes), and stay
quiet for a post under it.

The expected size is measured here, from the .eml files preview wrote: the
text/html part's body as it stands in the message, cut out of the raw bytes
at the boundary Python's strict email parser reports.  Every message passes
check_eml.py."""
import glob
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import fixture  # noqa: E402

LIMIT = 102 * 1024

LIST = """email,name,timezone,locale,format
ann@example.org,Ann,Europe/London,en-GB,html
ramona.de-la-cruz-villanueva@example.org,Ramona de la Cruz Villanueva,America/Mexico_City,es-MX,html
bo@example.org,Bo,America/New_York,en-US,text
"""


def long_post(paragraphs):
    body = []
    for i in range(paragraphs):
        body.append(f"Paragraph {i}: the working group met to review "
                    f"[proposal {i}](https://example.org/proposals/{i}) and agreed "
                    "on the next steps for the release notes, the migration guide "
                    "and the café's schedule.")
    return ("---\ntitle: A very long update\ndate: 2027-11-22\n"
            "timezone: Europe/Berlin\n---\n"
            "We meet on 2027-11-25 18:30 Europe/Berlin.\n\n" + "\n\n".join(body) + "\n")


SHORT = """---
title: A short update
date: 2027-11-22
timezone: Europe/Berlin
---
We meet on 2027-11-25 18:30 Europe/Berlin.
"""


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def html_part_size(path):
    """Bytes of the text/html body as written, between its part header and
    the next boundary delimiter (RFC 2046 5.1.1)."""
    msg = fixture.parse_strict(path)
    boundary = msg.get_boundary()
    if boundary is None:
        return 0
    raw = open(path, "rb").read()
    delim = b"\r\n--" + boundary.encode("ascii")
    for chunk in raw.split(delim)[1:]:
        head, sep, body = chunk.partition(b"\r\n\r\n")
        if sep and re.search(rb"(?im)^content-type:\s*text/html", head):
            return len(body)
    fail(f"{path}: no text/html part found")


def main():
    d = fixture.make_site()
    try:
        with open(os.path.join(d, "long.md"), "w") as f:
            f.write(long_post(700))
        with open(os.path.join(d, "short.md"), "w") as f:
            f.write(SHORT)
        with open(os.path.join(d, "lists", "l.csv"), "w") as f:
            f.write(LIST)

        r = fixture.run(["preview", "long.md", "--list", "l", "--out", "out"], d)
        if r.returncode != 0:
            fail("preview long.md failed: " + r.stderr.decode())
        files = sorted(glob.glob(os.path.join(d, "out", "*.eml")))
        if len(files) != 3:
            fail(f"{len(files)} messages, want 3")
        bad = fixture.check_eml(files)
        if bad:
            fail(f"check_eml: {bad}")
        sizes = {os.path.basename(f)[:-4]: html_part_size(f) for f in files}
        html_sizes = {a: n for a, n in sizes.items() if n}
        if len(html_sizes) != 2:
            fail(f"want 2 HTML parts, got {sizes}")
        who, biggest = max(html_sizes.items(), key=lambda kv: kv[1])
        over = sum(1 for n in html_sizes.values() if n > LIMIT)
        if biggest <= LIMIT or over != 2:
            fail(f"the long post is too short for this test: {html_sizes}")
        err = r.stderr.decode()
        warn = [l for l in err.splitlines() if "Gmail clips" in l]
        if len(warn) != 1:
            fail(f"preview printed {len(warn)} clipping warnings, want 1: {err!r}")
        w = warn[0]
        if not w.startswith("herald: long.md: warning: "):
            fail(f"the warning does not name the post file: {w!r}")
        if who not in w or f"({biggest} bytes)" not in w:
            fail(f"the warning does not name {who} and {biggest} bytes: {w!r}")
        if "2 readers are over" not in w or "unsubscribe" not in w:
            fail(f"the warning does not say how many and what is hidden: {w!r}")

        r = fixture.run(["check", "long.md", "--list", "l"], d)
        if r.returncode != 0:
            fail("check long.md failed: " + r.stderr.decode())
        err = r.stderr.decode()
        if not re.search(rf"^herald: long\.md: warning: the HTML part for {re.escape(who)} "
                         rf"is [\d.]+ KB \({biggest} bytes\)", err, flags=re.M):
            fail(f"check does not warn with {who}'s {biggest} bytes: {err!r}")
        if f"KB largest ({who})" not in r.stdout.decode():
            fail("check does not print the largest HTML part: " + r.stdout.decode())

        # under the limit: no warning from either command
        r = fixture.run(["preview", "short.md", "--list", "l", "--out", "out2"], d)
        if r.returncode != 0:
            fail("preview short.md failed: " + r.stderr.decode())
        small = max(html_part_size(f) for f in glob.glob(os.path.join(d, "out2", "*.eml")))
        if small >= LIMIT:
            fail("the short post is not short")
        if b"Gmail clips" in r.stderr:
            fail("preview warns about clipping for a short post: " + r.stderr.decode())
        r = fixture.run(["check", "short.md"], d)
        if r.returncode != 0 or b"Gmail clips a message" in r.stderr:
            fail("check warns about clipping for a short post: " + r.stderr.decode())
        print(f"ok: {who}'s HTML part {biggest} bytes > {LIMIT}: warned by preview and "
              f"check; {small} bytes: no warning")
        return 0
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
