"""The plain-text part fits 72 terminal columns (issue 12): a table too wide
for the page wraps its cells inside their columns, a table whose words
cannot fit as columns becomes one "label: value" block per row, and a
Japanese paragraph without spaces and a Thai one wrap.  Widths are measured
with Python's unicodedata (East Asian Width W/F = 2 columns, combining marks
and format characters 0), not with herald's own table.  Code lines and a
line that is one URL are allowed to be longer."""
import glob
import os
import shutil
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(__file__))
import fixture  # noqa: E402

JA = ("これは日本語の段落です。スペースがないので、行の折り返しは文字の間で行われる"
      "必要があります。東京で開催されるイベントについての長い説明がここに続きます。"
      "さらに長くするために文章を追加します。")
TH = ("ภาษาไทยเป็นภาษาที่ไม่มีการเว้นวรรคระหว่างคำ ดังนั้นการตัดบรรทัดจึงต้องใช้พจนานุกรม"
      "เพื่อหาขอบเขตของคำในประโยคที่ยาวมากเช่นนี้")
LONGCELL = ("A long description of everything that will be discussed, including "
            "async runtimes, cancellation, structured concurrency and more")
URL = "https://example.org/a/very/long/path/that/is/a/url/and/must/never/be/broken/at/all"

POST = f"""---
title: Wrapping
date: 2027-11-22
timezone: Europe/Berlin
---
The first session is on 2027-11-25 18:30 Europe/Berlin.

| Session | When | Where | What we will talk about |
|---|---|---|---|
| Office hours | 2027-11-25 18:30 Europe/Berlin | Room 1 | {LONGCELL} |
| Q&A | 2027-11-26 09:00 Europe/Berlin | Online | Short |

| a | b | c | d |
|---|---|---|---|
| supercalifragilisticexpialidocious | antidisestablishmentarianism | floccinaucinihilipilification | hippopotomonstrosesquippedaliophobia |

{JA}

{TH}

See
{URL}

    code lines are never wrapped, however long they are: {"x" * 80}
"""

LIST = """email,name,timezone,locale,format
hanako@example.jp,Hanako,Asia/Tokyo,ja-JP,text
jose@example.com,José,Europe/Berlin,de-DE,html
priya@example.in,Priya,Asia/Kolkata,en-IN,html
"""


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def width(s):
    w = 0
    for ch in s:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        w += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return w


def squash(s):
    return "".join(s.split())


def main():
    d = fixture.make_site()
    try:
        with open(os.path.join(d, "post.md"), "w") as f:
            f.write(POST)
        with open(os.path.join(d, "lists", "wrap.csv"), "w") as f:
            f.write(LIST)
        r = fixture.run(["preview", "post.md", "--list", "lists/wrap.csv", "--out", "out"], d)
        if r.returncode != 0:
            fail("preview failed: " + r.stderr.decode())
        emls = sorted(glob.glob(os.path.join(d, "out", "*.eml")))
        if len(emls) != 3:
            fail(f"expected 3 messages, got {len(emls)}")
        for path in emls:
            text, _ = fixture.parts(fixture.parse_strict(path))
            if text is None:
                fail(f"{path}: no text part")
            lines = text.split("\n")
            for i, line in enumerate(lines):
                if width(line) <= 72:
                    continue
                if line.startswith("    code lines"):
                    continue
                if len(line.split()) == 1 and line.strip().startswith(("https://", "http://")):
                    continue  # a lone URL
                fail(f"{os.path.basename(path)}: line {i + 1} is {width(line)} columns: {line!r}")
            flat = squash(text)
            for piece in (JA, TH, LONGCELL.replace(" ", "")):
                if squash(piece) not in flat:
                    fail(f"{os.path.basename(path)}: text lost or reordered: {piece[:30]}...")
            if not any(line.strip() == URL for line in lines):
                fail(f"{os.path.basename(path)}: the URL is not whole on a line of its own")
            ja_lines = [ln for ln in lines if any("\u3040" <= ch <= "\u30ff" for ch in ln)]
            if len(ja_lines) < 2:
                fail(f"{os.path.basename(path)}: the Japanese paragraph was not wrapped")
            th_lines = [ln for ln in lines if any("\u0e00" <= ch <= "\u0e7f" for ch in ln)]
            if len(th_lines) < 2:
                fail(f"{os.path.basename(path)}: the Thai paragraph was not wrapped")
            # The cell wraps inside its column: several lines start with the
            # first three columns' padding and go on with the description.
            desc = [ln for ln in lines if ln.strip().startswith(("everything", "async", "cancellation", "structured", "concurrency", "discussed", "runtimes", "and more"))]
            if not desc or any(not ln.startswith(" " * 20) for ln in desc):
                fail(f"{os.path.basename(path)}: long cell not wrapped inside its column: {desc!r}")
            # The table of long words becomes label: value lines.
            for label, word in (("a", "supercalifragilisticexpialidocious"),
                                ("d", "hippopotomonstrosesquippedaliophobia")):
                if f"{label}: {word}" not in lines:
                    fail(f"{os.path.basename(path)}: no stacked row '{label}: {word}'")
            # A localized time is never split across lines.
            if "Hanako" in text and not any("11月26日" in ln and "JST" in ln for ln in lines):
                fail(f"{os.path.basename(path)}: a time was split across lines")
        print(f"ok: {len(emls)} text parts fit 72 columns")
        return 0
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
