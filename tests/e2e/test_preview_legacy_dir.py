"""A DIR previewed by a herald older than .herald-manifest (issue 12): the
first preview into it removes the old post's messages, which are evidently
herald's (a Message-ID of herald's form and List-Unsubscribe-Post in a CRLF
header), and their .html pages, and nothing else: a message saved from a
mailbox, a herald-looking file without the one-click header, a symbolic
link to a herald message, a message in a subdirectory, a page of the user's
and an .html written at another time than its .eml all survive.

The old DIR is made the way an older herald left it: a preview of another
post whose manifest is then deleted (older versions wrote the same files
without one), plus a message under a file name no current run writes."""
import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import fixture  # noqa: E402

OLD_POST = """---
title: Last week
date: 2027-11-15
timezone: Europe/Berlin
---
We met on 2027-11-18 18:30 Europe/Berlin.
"""

NEW_POST = """---
title: This week
date: 2027-11-22
timezone: Europe/Berlin
---
We meet on 2027-11-25 18:30 Europe/Berlin.
"""

OLD_LIST = """email,name,timezone,locale,format
ann@example.org,Ann,Europe/London,en-GB,html
bo@example.org,Bo,America/New_York,en-US,text
cy@example.org,Cy,Asia/Tokyo,ja-JP,html
"""

NEW_LIST = """email,name,timezone,locale
ann@example.org,Ann,Europe/London,en-GB
"""

# A newsletter saved from a mailbox: one-click header, but not herald's
# Message-ID.
SAVED = (b"From: News <news@example.com>\r\nTo: me@example.org\r\n"
         b"Subject: Offers\r\nMessage-ID: <CAF1234abcd@mail.example.com>\r\n"
         b"List-Unsubscribe: <https://example.com/u>\r\n"
         b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\nHello\r\n")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    d = fixture.make_site()
    try:
        for name, text in (("old.md", OLD_POST), ("new.md", NEW_POST),
                           ("lists/old.csv", OLD_LIST), ("lists/new.csv", NEW_LIST)):
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        out = os.path.join(d, "out")
        r = fixture.run(["preview", "old.md", "--list", "old", "--out", "out"], d)
        if r.returncode != 0:
            fail("preview old.md failed: " + r.stderr.decode())
        os.unlink(os.path.join(out, ".herald-manifest"))     # an older herald's DIR
        # an old file name (older versions escaped addresses differently)
        for ext in (".eml", ".html"):
            shutil.copy2(os.path.join(out, "cy@example.org" + ext),
                         os.path.join(out, "_c_y_@example.org" + ext))
        herald_eml = open(os.path.join(out, "cy@example.org.eml"), "rb").read()
        if b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" not in herald_eml:
            fail("herald's message lacks the header this test relies on")

        keep = {}

        def user_file(name, data):
            path = os.path.join(out, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            keep[name] = data

        user_file("saved.eml", SAVED)
        user_file("saved.html", b"<p>my copy</p>")
        # herald's Message-ID but no one-click header: not evidently herald's
        user_file("draft.eml", herald_eml.replace(b"List-Unsubscribe-Post", b"X-Draft"))
        user_file("sub/cy@example.org.eml", herald_eml)
        user_file("notes.txt", b"mine")
        user_file("page.html", b"<!DOCTYPE html><title>mine</title>")
        # a herald message whose .html was written two hours apart from it
        user_file("dee@example.org.eml", herald_eml)
        user_file("dee@example.org.html", b"<p>edited by hand</p>")
        old = os.path.getmtime(os.path.join(out, "dee@example.org.eml")) - 7200
        os.utime(os.path.join(out, "dee@example.org.html"), (old, old))
        elsewhere = os.path.join(d, "elsewhere.eml")
        with open(elsewhere, "wb") as f:
            f.write(herald_eml)
        os.symlink(elsewhere, os.path.join(out, "link.eml"))

        r = fixture.run(["preview", "new.md", "--list", "new", "--out", "out"], d)
        if r.returncode != 0:
            fail("preview new.md failed: " + r.stderr.decode())
        have = sorted(os.path.relpath(p, out) for p in glob.glob(os.path.join(out, "**"),
                                                                    recursive=True)
                      if not os.path.isdir(p) or os.path.islink(p))
        gone = ["bo@example.org.eml", "bo@example.org.html", "cy@example.org.eml",
                "cy@example.org.html", "_c_y_@example.org.eml", "_c_y_@example.org.html",
                "dee@example.org.eml"]
        for name in gone:
            if name in have:
                fail(f"{name}, an older herald's, is still in DIR: {have}")
        for name, data in keep.items():
            if name == "dee@example.org.eml":
                continue
            path = os.path.join(out, name)
            if not os.path.exists(path) or open(path, "rb").read() != data:
                fail(f"{name} (not evidently herald's) was removed or changed: {have}")
        if not os.path.islink(os.path.join(out, "link.eml")) or not os.path.exists(elsewhere):
            fail("the symbolic link or its target was removed")
        for name in ("ann@example.org.eml", "ann@example.org.html", "index.html"):
            if name not in have:
                fail(f"this run's {name} is missing: {have}")
        msg = fixture.parse_strict(os.path.join(out, "ann@example.org.eml"))
        if msg["Subject"] != "This week":
            fail("ann's message is not the new post's")
        bad = fixture.check_eml([os.path.join(out, "ann@example.org.eml")])
        if bad:
            fail(f"check_eml: {bad}")
        if "This week" not in open(os.path.join(out, "index.html"), encoding="utf-8").read():
            fail("index.html is not the new post's")
        if not os.path.exists(os.path.join(out, ".herald-manifest")):
            fail("no manifest after the run")
        print(f"ok: {len(gone)} old herald files removed, {len(keep) - 1} others kept")
        return 0
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
