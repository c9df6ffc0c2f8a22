"""Zone words a reader cannot misread (issue 12).

An abbreviation that tzdata gives to zones at different offsets (computed
here from Python's zoneinfo over every zone, independently of herald) is
shown only where CLDR uses it in the reader's language for that zone
(en-US in Chicago: CST); a zh-CN reader in Shanghai, an es-CU reader in
Havana and a he-IL reader in Jerusalem see the offset instead ("GMT+8"),
checked against zoneinfo's offset at that instant.  An Icelandic reader's
zone comes after the time, never before it with a dash ("GMT+14 – 02:00"
reads as a range)."""
import datetime
import os
import re
import shutil
import sys
import zoneinfo

sys.path.insert(0, os.path.dirname(__file__))
import fixture  # noqa: E402

POST = """---
title: Zones
date: 2027-11-22
timezone: Europe/Berlin
---
We meet on 2027-11-25 18:30 Europe/Berlin.
"""
INSTANT = datetime.datetime(2027, 11, 25, 18, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))

READERS = [  # address, zone, locale
    ("zh@example.org", "Asia/Shanghai", "zh-CN"),
    ("cu@example.org", "America/Havana", "es-CU"),
    ("il@example.org", "Asia/Jerusalem", "he-IL"),
    ("us@example.org", "America/Chicago", "en-US"),
    ("is@example.org", "Pacific/Kiritimati", "is-IS"),
]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def ambiguous_abbreviations():
    now = datetime.datetime.now(datetime.timezone.utc)
    seen = {}
    for name in zoneinfo.available_timezones():
        if name.startswith(("Etc/", "posix", "right")):
            continue
        z = zoneinfo.ZoneInfo(name)
        for t in (now, now + datetime.timedelta(days=182)):
            lt = t.astimezone(z)
            ab = lt.tzname()
            if ab and ab[0] not in "+-":
                seen.setdefault(ab, set()).add(lt.utcoffset())
    return {ab for ab, offs in seen.items() if len(offs) > 1}


def gmt(off):
    mins = int(off.total_seconds() // 60)
    sign = "+" if mins >= 0 else "-"
    h, m = divmod(abs(mins), 60)
    return f"GMT{sign}{h}" + (f":{m:02d}" if m else "")


def main():
    amb = ambiguous_abbreviations()
    for must in ("CST", "IST"):
        if must not in amb:
            fail(f"zoneinfo does not find {must} ambiguous: the oracle is broken")
    d = fixture.make_site()
    try:
        with open(os.path.join(d, "post.md"), "w") as f:
            f.write(POST)
        with open(os.path.join(d, "lists", "z.csv"), "w") as f:
            f.write("email,name,timezone,locale,format\n")
            for a, z, loc in READERS:
                f.write(f"{a},,{z},{loc},text\n")
        r = fixture.run(["preview", "post.md", "--list", "lists/z.csv", "--out", "out"], d)
        if r.returncode != 0:
            fail("preview: " + r.stderr.decode())
        for a, z, loc in READERS:
            text, _ = fixture.parts(fixture.parse_strict(os.path.join(d, "out", a + ".eml")))
            line = next((ln for ln in text.splitlines() if ln.startswith("We meet on")), None)
            if line is None:
                fail(f"{a}: no session line")
            lt = INSTANT.astimezone(zoneinfo.ZoneInfo(z))
            words = set(re.findall(r"[A-Z]{2,5}", line))
            if loc == "en-US":
                if "CST" not in words:
                    fail(f"{a}: CLDR's en-US CST for Chicago is gone: {line!r}")
                continue
            shown = words & amb
            if shown:
                fail(f"{a} ({loc}, {z}): ambiguous {shown} in {line!r}")
            want = gmt(lt.utcoffset())
            if want not in line:
                fail(f"{a} ({loc}, {z}): want {want} (zoneinfo) in {line!r}")
            if loc == "is-IS":
                if re.search(r"GMT[+-]\d+(:\d\d)?\s*[–-]", line):
                    fail(f"{a}: the zone reads as the start of a range: {line!r}")
                if not re.search(rf"{lt.hour:02d}:{lt.minute:02d}\s+{re.escape(want)}", line):
                    fail(f"{a}: want the zone after the time {lt:%H:%M}: {line!r}")
        print("ok: zone words unambiguous for", ", ".join(loc for _, _, loc in READERS))
        return 0
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
