"""`herald preview` of the example post for lists/example.csv: one .eml and
one .html per unique subscriber plus index.html; every message parses with
Python's email package (policy=strict), carries the contract's headers, and
is byte-for-byte the same on a second run apart from Date."""
import csv
import glob
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import fixture  # noqa: E402

POST = os.path.join(fixture.SRC, "doc", "examples", "2027-11-22-async-office-hours.md")
LIST = os.path.join(fixture.SRC, "lists", "example.csv")


def fname(addr):
    return re.sub(r"[^a-z0-9@.+_-]", "_", addr.lower())


def main():
    d = fixture.make_site()
    try:
        shutil.copy(POST, d)
        shutil.copy(LIST, os.path.join(d, "lists"))
        post = os.path.basename(POST)
        r = fixture.run(["preview", post, "--list", "lists/example.csv", "--out", "out"], d)
        fixture.check(r.returncode == 0, r.stderr.decode())
        fixture.check(b"wrote" in r.stdout, r.stdout)
        with open(LIST, encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
        addrs = []
        for row in rows:
            if row["email"].lower() not in [a.lower() for a in addrs]:
                addrs.append(row["email"])
        out = os.path.join(d, "out")
        emls = sorted(glob.glob(os.path.join(out, "*.eml")))
        fixture.check(len(emls) == len(addrs), (len(emls), len(addrs)))
        index = open(os.path.join(out, "index.html"), encoding="utf-8").read()
        first = {}
        for a in addrs:
            base = os.path.join(out, fname(a))
            fixture.check(os.path.exists(base + ".eml"), a)
            fixture.check(os.path.exists(base + ".html"), a)
            fixture.check(fname(a) + ".eml" in index, a)
            msg = fixture.parse_strict(base + ".eml")
            row = next(x for x in rows if x["email"] == a)
            text, html = fixture.parts(msg)
            fixture.check(text and "{{" not in text, a)
            if row.get("format", "").lower() == "text":
                fixture.check(html is None and msg.get_content_type() == "text/plain", a)
            else:
                fixture.check(msg.get_content_type() == "multipart/alternative", a)
                fixture.check(html and "<html" in html.lower() and "{{" not in html, a)
            for h in ("Date", "From", "To", "Subject", "Message-ID", "List-Id",
                      "List-Unsubscribe", "List-Unsubscribe-Post"):
                fixture.check(len(msg.get_all(h) or []) == 1, (a, h))
            fixture.check(msg["To"].addresses[0].addr_spec == a, (a, str(msg["To"])))
            if row.get("name"):
                fixture.check(msg["To"].addresses[0].display_name == row["name"], (a, str(msg["To"])))
            lu = str(msg["List-Unsubscribe"])
            fixture.check("<https://" in lu and "<mailto:" in lu, lu)
            fixture.check(str(msg["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click", 'str(msg["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"')
            first[a] = open(base + ".eml", "rb").read()
        # A second run: identical bytes apart from the Date header.
        r = fixture.run(["preview", post, "--list", "lists/example.csv", "--out", "out"], d)
        fixture.check(r.returncode == 0, r.stderr.decode())
        for a in addrs:
            again = open(os.path.join(out, fname(a) + ".eml"), "rb").read()
            strip = lambda b: re.sub(rb"^Date: .*\r\n", b"", b, flags=re.M)  # noqa: E731
            fixture.check(strip(again) == strip(first[a]), a)
        # Without --list: one sample message.
        r = fixture.run(["preview", post, "--out", "one"], d)
        fixture.check(r.returncode == 0, r.stderr.decode())
        fixture.check(len(glob.glob(os.path.join(d, "one", "*.eml"))) == 1, 'len(glob.glob(os.path.join(d, "one", "*.eml"))) == 1')
        print(f"ok: {len(addrs)} messages")
        return 0
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
