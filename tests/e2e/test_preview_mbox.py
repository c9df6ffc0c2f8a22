"""preview's file backends (issue 12).

- --mbox FILE: Python's mailbox module (an mbox reader independent of
  herald) finds one message per reader, each parses with the strict email
  parser, the file has no CR (LF on disk), and no body line starts with
  "From " (mboxrd quoting is in tests/unit/test_mbox.c); --mbox - writes
  the same to standard output.
- DIR/ holds this post's messages only: a second post previewed into the
  same folder replaces the first one's files, and index.html names it.
- Stale temp files of a killed run are removed by the next run.
- "a b"@x and _a_b_@x get different files.
- A text-only reader's .html shows the decoded text, not quoted-printable.
- index.html shows each reader's subject and session time, checked against
  Python's zoneinfo, in the words that reader's message shows.
"""
import datetime
import glob
import mailbox
import os
import re
import select
import shutil
import stat
import subprocess
import sys
import time
import zoneinfo

sys.path.insert(0, os.path.dirname(__file__))
import fixture  # noqa: E402

POST_A = """---
title: First post
subject: "Office hours, part one"
date: 2027-11-22
timezone: Europe/Berlin
---
We meet on 2027-11-25 18:30 Europe/Berlin.

From here on, this line starts with From and must be quoted in an mbox.
"""

POST_B = """---
title: Second post
subject: "Office hours, part two"
date: 2027-11-22
timezone: Europe/Berlin
---
We meet again on 2027-11-26 09:00 Europe/Berlin.
"""

LIST = r'''email,name,timezone,locale,format
zoe@example.org,Zoë Çelik,Europe/Berlin,de-DE,text
hanako@example.jp,Hanako,Asia/Tokyo,ja-JP,html
sam@example.net,Sam,America/New_York,en-US,html
"""a b""@example.org",Quoted,Europe/London,en-GB,html
_a_b_@example.org,Underscores,Europe/London,en-GB,html
'''

LIST_B = """email,name,timezone,locale
sam@example.net,Sam,America/New_York,en-US
"""


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def local_hm(y, mo, d, h, mi, zone):
    t = datetime.datetime(y, mo, d, h, mi, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
    lt = t.astimezone(zoneinfo.ZoneInfo(zone))
    return lt.hour, lt.minute


def main():
    d = fixture.make_site()
    try:
        for name, text in (("a.md", POST_A), ("b.md", POST_B)):
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        with open(os.path.join(d, "lists", "five.csv"), "w") as f:
            f.write(LIST)
        with open(os.path.join(d, "lists", "one.csv"), "w") as f:
            f.write(LIST_B)
        out = os.path.join(d, "out")
        os.makedirs(out)

        # Leftovers of a killed run: a stage directory and a temp file whose
        # process is gone, and one temp file of a run still alive (ours).
        dead = subprocess.Popen(["true"])
        dead.wait()
        stale_dir = os.path.join(out, f".herald-stage.{dead.pid}")
        os.makedirs(stale_dir)
        open(os.path.join(stale_dir, "x.eml"), "w").close()
        stale_tmp = os.path.join(out, f"old@example.org.eml.tmp.{dead.pid}")
        open(stale_tmp, "w").close()
        live_tmp = os.path.join(out, f"keep.eml.tmp.{os.getpid()}")
        open(live_tmp, "w").close()
        users_tmp = os.path.join(out, f"notes.tmp.{dead.pid}")  # not herald's
        open(users_tmp, "w").close()
        stale_mbox = os.path.join(d, f".all.mbox.herald-tmp.{dead.pid}")
        open(stale_mbox, "w").close()

        # --- folder output of post A, and an mbox beside it ---
        r = fixture.run(["preview", "a.md", "--list", "lists/five.csv", "--out", "out",
                         "--mbox", "all.mbox"], d)
        if r.returncode != 0:
            fail("preview a.md failed: " + r.stderr.decode())
        if os.path.exists(stale_dir) or os.path.exists(stale_tmp) or os.path.exists(stale_mbox):
            fail("stale temp files of a dead run were not removed")
        if not os.path.exists(live_tmp):
            fail("a temp file of a live process was removed")
        if not os.path.exists(users_tmp):
            fail("a file herald did not write was removed")
        os.unlink(live_tmp)
        if any(".herald-stage." in n for n in os.listdir(out)):
            fail("this run's stage directory was left behind")
        emls = sorted(glob.glob(os.path.join(out, "*.eml")))
        if len(emls) != 5:
            fail(f"expected 5 .eml files (no two addresses share a file), got {len(emls)}: {emls}")
        tos = set()
        for path in emls:
            msg = fixture.parse_strict(path)
            tos.add(str(msg["To"]))
        if len(tos) != 5:
            fail(f"files do not hold five different readers: {tos}")

        # text-only reader: decoded text, no quoted-printable
        zoe_html = open(os.path.join(out, "zoe@example.org.html"), encoding="utf-8").read()
        if "=C3" in zoe_html or "=\n" in zoe_html:
            fail("the text-only reader's .html shows quoted-printable")
        if "Zoë" not in zoe_html:
            fail("the text-only reader's .html does not show the decoded text")

        # index.html: subject and localized time per reader
        index = open(os.path.join(out, "index.html"), encoding="utf-8").read()
        rows = re.findall(r"<tr><td>(.*?)</tr>", index, flags=re.S)
        if len(rows) != 5:
            fail(f"index.html lists {len(rows)} readers, want 5")
        zones = {"zoe@example.org": "Europe/Berlin", "hanako@example.jp": "Asia/Tokyo",
                 "sam@example.net": "America/New_York"}
        for row in rows:
            addr = row.split("</td>")[0]
            if "Office hours, part one" not in row:
                fail(f"index row for {addr} lacks the subject")
            if addr in zones:
                h, m = local_hm(2027, 11, 25, 18, 30, zones[addr])
                h12 = h % 12 or 12
                if not re.search(rf"(?<!\d)({h}|{h:02d}|{h12}):{m:02d}(?!\d)", row):
                    fail(f"index row for {addr} lacks its local time {h}:{m:02d}: {row}")
            # the same words as the reader's message shows in its <time>
            cells = row.split("</td><td>")
            if cells[4] == "html":
                page = open(os.path.join(out, cells[0].replace("&quot;", '"').replace(
                    '"', "%22").replace(" ", "%20") + ".html"), encoding="utf-8").read()
                shown = re.findall(r"<time[^>]*>(.*?)</time>", page)
                listed = cells[6].split("<br>")
                if not shown or listed != shown:
                    fail(f"index row for {addr} lists {listed}, its message shows {shown}")

        # the mbox beside it
        raw = open(os.path.join(d, "all.mbox"), "rb").read()
        if b"\r" in raw:
            fail("the mbox has CR characters on disk")
        box = mailbox.mbox(os.path.join(d, "all.mbox"))
        if len(box) != 5:
            fail(f"mailbox module finds {len(box)} messages in the mbox, want 5")
        from email import policy
        from email.parser import BytesParser
        for key in box.keys():
            m = BytesParser(policy=policy.strict).parsebytes(box.get_bytes(key))
            if m["Message-ID"] is None or m["Subject"] != "Office hours, part one":
                fail("an mbox message lost its headers")
        if len(re.findall(rb"^From ", raw, flags=re.M)) != 5:
            fail("'From ' separators do not match the message count")

        # --mbox onto something that is not a regular file (a FIFO here;
        # /dev/null in the benchmarks) writes through it and leaves it in
        # place: renaming a temp file over it would replace the device.
        fifo = os.path.join(d, "pipe")
        os.mkfifo(fifo)
        rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        proc = subprocess.Popen([fixture.HERALD, "preview", "a.md", "--list", "lists/five.csv",
                                 "--mbox", fifo], cwd=d, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        got = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = proc.poll() is not None
            select.select([rfd], [], [], 0.2)
            try:
                chunk = os.read(rfd, 65536)
            except BlockingIOError:
                chunk = None
            if chunk:
                got += chunk
            elif done:
                break
        os.close(rfd)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            fail("preview --mbox FIFO did not finish in 60 s")
        r = subprocess.CompletedProcess(proc.args, proc.returncode, *proc.communicate())
        if r.returncode != 0:
            fail("preview --mbox FIFO failed: " + r.stderr.decode())
        if got.count(b"\nFrom ") + got.startswith(b"From ") != 5:
            fail("--mbox FIFO did not stream 5 messages through the FIFO")
        if not stat.S_ISFIFO(os.lstat(fifo).st_mode):
            fail("--mbox replaced the FIFO with a regular file")
        if glob.glob(os.path.join(d, ".pipe*")):
            fail("--mbox FIFO left a temp file beside it")

        # --mbox - writes the same to stdout, nothing else there
        r = fixture.run(["preview", "a.md", "--list", "lists/five.csv", "--mbox", "-"], d)
        if r.returncode != 0:
            fail("preview --mbox - failed: " + r.stderr.decode())
        if b"\r" in r.stdout or len(re.findall(rb"^From ", r.stdout, flags=re.M)) != 5:
            fail("--mbox - did not write 5 LF-only messages to stdout")
        if b"wrote" in r.stdout:
            fail("the summary went to stdout with the mbox")

        # --- post B into the same folder: only its messages remain ---
        open(os.path.join(out, "notes.txt"), "w").close()  # not herald's
        r = fixture.run(["preview", "b.md", "--list", "lists/one.csv", "--out", "out"], d)
        if r.returncode != 0:
            fail("preview b.md failed: " + r.stderr.decode())
        emls = sorted(os.path.basename(p) for p in glob.glob(os.path.join(out, "*.eml")))
        if emls != ["sam@example.net.eml"]:
            fail(f"out/ holds other posts' messages: {emls}")
        htmls = sorted(os.path.basename(p) for p in glob.glob(os.path.join(out, "*.html")))
        if htmls != ["index.html", "sam@example.net.html"]:
            fail(f"out/ holds other posts' pages: {htmls}")
        if not os.path.exists(os.path.join(out, "notes.txt")):
            fail("a file herald did not write was removed")
        index = open(os.path.join(out, "index.html"), encoding="utf-8").read()
        if "part two" not in index or "part one" in index:
            fail("index.html does not describe the second post only")
        print("ok: mbox, folder replacement, stale temp files, names, text-only view, index")
        return 0
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
