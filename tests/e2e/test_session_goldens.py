#!/usr/bin/python3
"""Session times in five languages, both parts.

tests/data/golden/sessions/post.md (ranges, a time in several zones, one
across midnight, a recurring one, times inside emphasis, a link and a
table) is previewed for list.csv (de-DE Berlin, ja-JP Tokyo, hi-IN
Kolkata, ar-EG Cairo, en-US New York).  For each reader, READER.times
lists what must be shown, written by tests/tools/session_goldens.py from
zoneinfo and PyICU, never from herald: the HTML part's <time> elements
must be exactly those (datetime attribute and words, in order), and the
text part must carry the same words in the same order.  A missing golden
is a failure.
"""
import glob
import html as htmlmod
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import fixture  # noqa: E402

GOLDEN = os.path.join(fixture.SRC, "tests", "data", "golden", "sessions")
TIME = re.compile(r'<time datetime="([^"]*)" title="[^"]*">(.*?)</time>', re.S)
failures = []


def fail(msg):
    failures.append(msg)


def main():
    d = fixture.make_site()
    try:
        shutil.copy(os.path.join(GOLDEN, "post.md"), os.path.join(d, "post.md"))
        shutil.copy(os.path.join(GOLDEN, "list.csv"), os.path.join(d, "lists", "s.csv"))
        r = fixture.run(["preview", "post.md", "--list", "lists/s.csv", "--out", "out"], d)
        if r.returncode != 0:
            print("FAIL: preview exited %d: %s" % (r.returncode, r.stderr.decode()))
            return 1
        if b"left as written" in r.stderr:
            fail("preview reports phrases left as written: %s" % r.stderr.decode())
        files = sorted(glob.glob(os.path.join(d, "out", "*.eml")))
        if len(files) != 5:
            fail("want 5 messages, got %d" % len(files))
        for f in files:
            name = os.path.basename(f)[:-4]
            g = os.path.join(GOLDEN, name + ".times")
            if not os.path.exists(g):
                fail("%s: no golden %s" % (name, g))
                continue
            want = [tuple(l.rstrip("\n").split("\t"))
                    for l in open(g, encoding="utf-8") if l.strip()]
            msg = fixture.parse_strict(f)
            text, html = fixture.parts(msg)
            if html is None or text is None:
                fail("%s: want both parts" % name)
                continue
            got = [(a, htmlmod.unescape(w)) for a, w in TIME.findall(html)]
            if got != want:
                fail("%s: html <time> elements\n  got:  %r\n  want: %r" % (name, got, want))
            # text: the same words in order; a time is never wrapped, but
            # normalise spaces anyway
            flat = re.sub(r"[ \n]+", " ", text)
            at = 0
            for _, w in want:
                k = flat.find(re.sub(r"[ \n]+", " ", w), at)
                if k < 0:
                    fail("%s: text part lacks %r after offset %d:\n%s" % (name, w, at, text))
                    break
                at = k + len(w)
            for raw in ("PT /", "UTC (", "**", "](http"):
                if raw in text:
                    fail("%s: %r left in the text part" % (name, raw))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    for f in failures:
        print("FAIL: " + f)
    print("%d readers checked, %d failures" % (5, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
