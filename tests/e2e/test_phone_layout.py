"""The HTML part on a 375 px phone (issue 12), measured by headless
Chromium: each message is loaded into a 375 px wide frame, and the page
must be no wider than the frame (a wide table scrolls inside its own box),
no localized <time> may take more than one line, and <html lang dir> follow the
reader's locale.  Tables of three or more columns stack on the narrow
screen (one block per row, each value under its column's label, no cell
taller than the scrolling table's rows) and stay tables at 700 px and
without <style>.  Each message is measured twice: as sent, and with its
<style> block removed (as clients in the Gmail family may do), so the
inline styles alone must fit.  A screenshot of the first frame is kept in the build
directory as phone-375.png.  Skipped (77) without chromium."""
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import fixture  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FRAME = 375
WIDE = 700

POST = """---
title: Office hours on a phone
date: 2027-11-22
timezone: Europe/Berlin
---
The first session is on 2027-11-25 18:30 Europe/Berlin.

| Session | When | Where | What we will talk about |
|---|---|---|---|
| Office hours | 2027-11-25 18:30 Europe/Berlin | Room 1 | Everything about async runtimes, cancellation and structured concurrency |
| Q&A | 2027-11-26 09:00 Europe/Berlin | Online | Short |
| Review | 2027-11-29 17:00 Europe/Berlin | Room 2 | Reviewing the RFC drafts |

| a | b | c | d |
|---|---|---|---|
| supercalifragilisticexpialidocious | antidisestablishmentarianism | floccinaucinihilipilification | hippopotomonstrosesquippedaliophobia |

See https://example.org/a/very/long/path/that/is/a/url/and/must/never/widen/the/page/at/all for details.
"""

# (address, locale, expected lang, expected dir)
READERS = [
    ("jose@example.com", "Europe/Berlin", "de-DE", "de-DE", "ltr"),
    ("hanako@example.jp", "Asia/Tokyo", "ja-JP", "ja-JP", "ltr"),
    ("omar@example.com", "Asia/Riyadh", "ar-SA", "ar-SA", "rtl"),
    ("noone@example.org", "", "", "en", "ltr"),
]

PAGE = """<!DOCTYPE html><html><body style="margin:0">{frames}
<script>
window.addEventListener("load", function () {{
  var results = {{}};
  document.querySelectorAll("iframe").forEach(function (f) {{
    var d = f.contentDocument, r = d.documentElement;
    results[f.id] = {{
      sw: Math.max(r.scrollWidth, d.body.scrollWidth),
      iw: f.contentWindow.innerWidth,
      times: Array.from(d.querySelectorAll("time")).map(function (t) {{
        /* lines a time takes: distinct tops of its boxes (bidi text has
           several boxes on one line) */
        return new Set(Array.from(t.getClientRects()).map(function (b) {{ return Math.round(b.top); }})).size;
      }}),
      lang: r.getAttribute("lang"), dir: r.getAttribute("dir"),
      /* tables of 3+ columns: one block per row when <style> applies */
      stacks: Array.from(d.querySelectorAll("table.herald-stack")).map(function (t) {{
        var tw = t.getBoundingClientRect().width;
        return {{
          head: Array.from(t.querySelectorAll(".herald-head")).map(function (h) {{
            return h.getClientRects().length > 0 && h.getBoundingClientRect().height > 0; }}),
          cells: Array.from(t.querySelectorAll("td")).map(function (c) {{
            var b = c.getBoundingClientRect(), l = c.querySelector(".herald-label");
            return [b.width / tw, Math.round(b.height),
                    l ? l.getClientRects().length > 0 : null]; }})
        }};
      }}),
      rowmax: Math.max.apply(null, [0].concat(Array.from(d.querySelectorAll("table.herald-stack td")).map(
        function (c) {{ return Math.round(c.getBoundingClientRect().height); }})))
    }};
  }});
  document.body.setAttribute("data-m", JSON.stringify(results));
}});
</script></body></html>"""


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    if not os.path.exists(CHROMIUM):
        fixture.skip("chromium not installed")
    d = fixture.make_site()
    profile = tempfile.mkdtemp(prefix="herald-chromium-")
    try:
        with open(os.path.join(d, "post.md"), "w") as f:
            f.write(POST)
        with open(os.path.join(d, "lists", "phone.csv"), "w") as f:
            f.write("email,name,timezone,locale\n")
            for addr, tz, loc, _, _ in READERS:
                f.write(f"{addr},,{tz},{loc}\n")
        r = fixture.run(["preview", "post.md", "--list", "lists/phone.csv", "--out", "out"], d)
        if r.returncode != 0:
            fail("preview failed: " + r.stderr.decode())
        frames = []
        for i, (addr, *_rest) in enumerate(READERS):
            msg = open(os.path.join(d, "out", addr + ".html"), encoding="utf-8").read()
            if "<time" not in msg:
                fail(f"{addr}: no <time> in the HTML part")
            frames.append(f'<iframe id="f{i}" style="display:block;width:{FRAME}px;height:1400px;border:0" '
                          f'srcdoc="{html.escape(msg, quote=True)}"></iframe>')
            # Gmail-like: a client that drops <style> keeps only the inline
            # styles, which must fit on their own.
            bare = re.sub(r"<style[^>]*>.*?</style>", "", msg, flags=re.S)
            frames.append(f'<iframe id="g{i}" style="display:block;width:{FRAME}px;height:1400px;border:0" '
                          f'srcdoc="{html.escape(bare, quote=True)}"></iframe>')
            # a desktop-wide frame: the tables stay tables
            frames.append(f'<iframe id="d{i}" style="display:block;width:{WIDE}px;height:1400px;border:0" '
                          f'srcdoc="{html.escape(msg, quote=True)}"></iframe>')
        page = os.path.join(d, "frame.html")
        with open(page, "w", encoding="utf-8") as f:
            f.write(PAGE.format(frames="\n".join(frames)))
        shot = os.path.join(d, "phone.png")
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--hide-scrollbars",
               f"--user-data-dir={profile}", f"--window-size={FRAME},1400",
               "--virtual-time-budget=10000", f"--screenshot={shot}", "--dump-dom",
               "file://" + page]
        p = subprocess.run(cmd, capture_output=True, timeout=180)
        m = re.search(r'data-m="([^"]*)"', p.stdout.decode("utf-8", "replace"))
        if not m:
            fail("chromium did not measure the frames: " + p.stderr.decode()[-1500:])
        res = json.loads(html.unescape(m.group(1)))
        for key, (i, (addr, _tz, _loc, lang, dirn)) in [
                (k, x) for x in enumerate(READERS) for k in ("f", "g")]:
            got = res.get(f"{key}{i}")
            if key == "g":
                addr += " (without <style>)"
            if got is None:
                fail(f"{addr}: no measurement")
            if got["iw"] != FRAME:
                fail(f"{addr}: the frame is {got['iw']} px, not {FRAME}")
            if got["sw"] > FRAME:
                fail(f"{addr}: the message is {got['sw']} px wide in a {FRAME} px frame (pans sideways)")
            broken = [n for n in got["times"] if n != 1]
            if not got["times"] or broken:
                fail(f"{addr}: a <time> breaks across lines: {got['times']}")
            if got["lang"] != lang or got["dir"] != dirn:
                fail(f"{addr}: <html lang={got['lang']!r} dir={got['dir']!r}>, want {lang!r} {dirn!r}")
        # Narrow screens that honour <style> stack the 4-column tables: no
        # header row, every cell as wide as the table with its column's
        # label above it, and no cell taller than the tallest row of the
        # scrolling table; without <style> or on a wide screen the labels
        # stay hidden and the header shows.
        for i, (addr, *_r) in enumerate(READERS):
            f, g, dk = res[f"f{i}"], res[f"g{i}"], res[f"d{i}"]
            if len(f["stacks"]) != 2:
                fail(f"{addr}: {len(f['stacks'])} stackable tables, want 2")
            for t in f["stacks"]:
                if any(t["head"]):
                    fail(f"{addr}: a stacked table still shows its header row")
                for w, _h, lab in t["cells"]:
                    if w < 0.9:
                        fail(f"{addr}: a stacked cell is {w:.0%} of the table's width")
                    if lab is not True:
                        fail(f"{addr}: a stacked cell does not show its column label")
            tallest = max(h for t in f["stacks"] for _w, h, _l in t["cells"])
            if tallest > g["rowmax"]:
                fail(f"{addr}: a stacked cell is {tallest} px tall, taller than the "
                     f"scrolling table's tallest row ({g['rowmax']} px)")
            for kind, m in (("without <style>", g), (f"at {WIDE} px", dk)):
                for t in m["stacks"]:
                    if any(lab for _w, _h, lab in t["cells"]) or not all(t["head"]):
                        fail(f"{addr} {kind}: labels shown or header hidden")
            if dk["sw"] > WIDE:
                fail(f"{addr} at {WIDE} px: {dk['sw']} px wide")
        keep = os.environ.get("HERALD_BUILD")
        if keep and os.path.exists(shot):
            shutil.copy(shot, os.path.join(keep, "phone-375.png"))
        print(f"ok: {len(READERS)} messages fit {FRAME} px: " +
              ", ".join(f"{READERS[i][0]} {res[f'f{i}']['sw']}px" for i in range(len(READERS))) +
              "; tallest cell stacked / scrolling: " +
              ", ".join(f"{max(h for t in res[f'f{i}']['stacks'] for _w, h, _l in t['cells'])}"
                        f"/{res[f'g{i}']['rowmax']}px" for i in range(len(READERS))))
        return 0
    finally:
        shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
