#!/usr/bin/python3
"""Oracle test: herald's offsets and displayed wall times against Python's
zoneinfo, which reads the same system tzdata.

For every zone file in /usr/share/zoneinfo (links such as US/Eastern
included; posix/, right/ and non-TZif files skipped) and for instants on
both sides of every offset or abbreviation change from 2019 to next year
and in 2040 (past the end of a fat TZif file's table, where the POSIX
footer rule applies), plus mid-January and mid-July of each year, the probe
(tests/tools/tzprobe.c, built as $HERALD_BUILD/tzprobe) prints the
herald_localize HTML; its datetime attribute, weekday, date, hour, minute,
second and zone label must equal zoneinfo's.  Everything goes through one
probe run.
"""
import datetime as dt
import os
import re
import subprocess
import sys
import time
import zoneinfo

ZONEINFO = "/usr/share/zoneinfo"
SKELETON = "EEEyMMddHHmmssz"     # en: "Wed, 04/28/2021, 13:00:00 CEST"
UTC = dt.timezone.utc
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def zone_files():
    """(name, file bytes) for every TZif zone file."""
    out = []
    for root, dirs, files in os.walk(ZONEINFO):
        rel = os.path.relpath(root, ZONEINFO)
        if rel in ("posix", "right") or rel.startswith(("posix/", "right/")):
            dirs[:] = []
            continue
        dirs[:] = [d for d in dirs if d not in ("posix", "right")]
        for f in files:
            name = f if rel == "." else rel + "/" + f
            if name == "localtime":        # the host's /etc/localtime
                continue
            path = os.path.join(root, f)
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            if data[:4] == b"TZif":
                out.append((name, data))
    return sorted(out)


def state(z, t):
    d = dt.datetime.fromtimestamp(t, z)
    return (d.utcoffset(), d.tzname())


def transitions(z, start, end):
    """Instants in [start, end) where the offset or abbreviation changes."""
    out = []
    step = 7 * 86400
    t = start
    prev = state(z, t)
    while t < end:
        nt = min(t + step, end)
        cur = state(z, nt)
        if cur != prev:
            lo, hi = t, nt          # state(lo) == prev != state(hi)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if state(z, mid) == prev:
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
            # a second change within the same week is found from hi on
            t, prev = hi, state(z, hi)
            continue
        t, prev = nt, cur
    return out


def label(d):
    """What herald shows for the zone: tzdata's abbreviation, or
    GMT+5:30 where tzdata has only a number."""
    abbr = d.tzname() or ""
    off = int(d.utcoffset().total_seconds())
    if abbr and not (abbr[0] in "+-" or abbr[0].isdigit()):
        return abbr
    if off == 0:
        return "GMT"
    a = abs(off)
    sign = "-" if off < 0 else "+"
    if a % 3600 // 60:
        return "GMT%s%d:%02d" % (sign, a // 3600, a % 3600 // 60)
    return "GMT%s%d" % (sign, a // 3600)


def ambiguous_abbreviations():
    """Abbreviations tzdata gives to zones at different offsets, now or
    half a year on (issue 12): herald shows such a word only where CLDR
    uses it for that zone in the reader's language, else the offset."""
    now = dt.datetime.now(UTC)
    seen = {}
    for name in zoneinfo.available_timezones():
        if name.startswith(("Etc/", "posix", "right")):
            continue
        zz = zoneinfo.ZoneInfo(name)
        for t in (now, now + dt.timedelta(days=182)):
            lt = t.astimezone(zz)
            ab = lt.tzname()
            if ab and ab[0] not in "+-":
                seen.setdefault(ab, set()).add(lt.utcoffset())
    return {ab for ab, offs in seen.items() if len(offs) > 1}


AMBIGUOUS = ambiguous_abbreviations()


def offset_label(d):
    off = int(d.utcoffset().total_seconds())
    if off == 0:
        return "GMT"
    a = abs(off)
    sign = "-" if off < 0 else "+"
    if a % 3600 // 60:
        return "GMT%s%d:%02d" % (sign, a // 3600, a % 3600 // 60)
    return "GMT%s%d" % (sign, a // 3600)


def expected(z, t):
    """(datetime attribute, [acceptable words]): an ambiguous abbreviation
    may also be shown as the offset."""
    d = dt.datetime.fromtimestamp(t, z)
    attr = d.isoformat()
    labels = [label(d)]
    if labels[0] in AMBIGUOUS:
        labels.append(offset_label(d))
    words = ["%s, %02d/%02d/%04d, %02d:%02d:%02d %s" % (
        WEEKDAYS[d.weekday()], d.month, d.day, d.year, d.hour, d.minute,
        d.second, lab) for lab in labels]
    return attr, words


LINE = re.compile(r'^<time datetime="([^"]+)" title="probe">(.*)</time>$')


def main():
    build = os.environ.get("HERALD_BUILD")
    if not build:
        print("HERALD_BUILD not set; skipping")
        return 77
    probe = os.path.join(build, "tzprobe")
    if not os.access(probe, os.X_OK):
        print("FAIL: %s is not built" % probe)
        return 1
    started = time.monotonic()
    next_year = dt.date.today().year + 1
    years = list(range(2019, max(next_year, 2027) + 1))
    start = int(dt.datetime(years[0], 1, 1, tzinfo=UTC).timestamp())
    end = int(dt.datetime(years[-1] + 1, 1, 1, tzinfo=UTC).timestamp())
    far_start = int(dt.datetime(2040, 1, 1, tzinfo=UTC).timestamp())

    files = zone_files()
    # Links share a file: find the instants once per distinct content.
    instants_of = {}
    for name, data in files:
        if data in instants_of:
            continue
        z = zoneinfo.ZoneInfo(name)
        ts = set()
        for tr in (transitions(z, start, end) +
                   transitions(z, far_start, far_start + 366 * 86400)):
            ts.update((tr - 3600, tr - 1, tr, tr + 3600))
        for y in years + [2040]:
            for m in (1, 7):
                ts.add(int(dt.datetime(y, m, 15, 12, tzinfo=UTC).timestamp()))
        instants_of[data] = sorted(ts)

    cases = []
    for name, data in files:
        for t in instants_of[data]:
            cases.append((name, t))
    stdin = "".join("%s %d\n" % c for c in cases)
    res = subprocess.run([probe, SKELETON, "en"], input=stdin,
                         capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        print("FAIL: tzprobe exited %d: %s" % (res.returncode, res.stderr))
        return 1
    lines = res.stdout.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) != len(cases):
        print("FAIL: %d cases, %d probe lines" % (len(cases), len(lines)))
        return 1

    failures = 0
    zones = {}
    for (name, t), line in zip(cases, lines):
        z = zones.get(name) or zones.setdefault(name, zoneinfo.ZoneInfo(name))
        want_attr, want_words = expected(z, t)
        m = LINE.match(line)
        got = (m.group(1), m.group(2).replace("\u00a0", " ")) if m else None
        if got is None or got[0] != want_attr or got[1] not in want_words:
            failures += 1
            if failures <= 20:
                print("FAIL: %s %d (%s): got %r, want %r" % (
                    name, t, dt.datetime.fromtimestamp(t, UTC).isoformat(),
                    line, (want_attr, want_words)))
    elapsed = time.monotonic() - started
    print("%d zones (%d distinct), %d instants, %d failures, %.1fs" % (
        len(files), len(instants_of), len(cases), failures, elapsed))
    if len(files) < 300:
        print("FAIL: only %d zones found under %s" % (len(files), ZONEINFO))
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
