#!/usr/bin/python3
"""Oracle for tests/e2e/test_session_goldens.py: writes the post
(tests/data/golden/sessions/post.md), its list, and for each reader the
times herald must show, one "DATETIME<TAB>WORDS" line per time in
document order (READER.times).

Nothing here comes from herald: the instants come from the local times
and IANA zones below through Python's zoneinfo; the words from ICU through
PyICU (python3-icu): the skeleton's best pattern for the locale with every
zone field replaced by tzdata's abbreviation (or GMT+5:30 where tzdata has
only a number), formatting the reader's wall time; a range through ICU's
DateIntervalFormat with the zone words replaced; a recurring time with the
skeleton's date fields removed.  U+202F is written as U+00A0, as herald
documents.  Run it after changing the post, and review the difference.

label() states the rule for the zone words readers see (tzdata's
abbreviation, or GMT+5:30 where tzdata has only a number), as does
tests/e2e/test_tz_oracle.py; if that rule changes on purpose, change it in
both, rerun this, and check the new .times files by hand.
"""
import datetime as dt
import os
import sys
import zoneinfo

import icu

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                    "golden", "sessions")
SKELETON = "EEEdMMMjmmz"
POST_DATE = dt.date(2027, 3, 1)          # a Monday

# (words in the post, local start, local end or None, zone, recurring)
SESSIONS = [
    ("Thursday 15:00-16:00 UTC", (2027, 3, 4, 15, 0), (2027, 3, 4, 16, 0), "UTC", False),
    ("Thursday 10am PT / 1pm ET / 19:00 CET", (2027, 3, 4, 10, 0), None, "America/Los_Angeles", False),
    ("Friday 11pm-1am UTC", (2027, 3, 5, 23, 0), (2027, 3, 6, 1, 0), "UTC", False),
    ("March 10 at 9:30 a.m. PT", (2027, 3, 10, 9, 30), None, "America/Los_Angeles", False),
    ("Friday 17:00 UTC (12:00 EST)", (2027, 3, 5, 17, 0), None, "UTC", False),
    ("Thursdays at 17:00 UTC", (2027, 3, 4, 17, 0), None, "UTC", True),
    ("March 12 from 11 AM \u2013 5 PM PST", (2027, 3, 12, 11, 0), (2027, 3, 12, 17, 0), "America/Los_Angeles", False),
]

POST = """---
title: Sessions in every zone
date: 2027-03-01
---

Our sessions this month:

- Thursday 15:00-16:00 UTC: *office hours*
- Thursday 10am PT / 1pm ET / 19:00 CET: the community call
- Friday 11pm-1am UTC: the late call
- March 10 at 9:30 a.m. PT: release planning

The review is **Friday 17:00 UTC (12:00 EST)**, and the triage is
[Thursdays at 17:00 UTC](https://example.org/triage).

| What | When |
| --- | --- |
| Workshop | March 12 from 11 AM \u2013 5 PM PST |
"""

READERS = [
    ("anna@example.org", "Anna", "Europe/Berlin", "de-DE"),
    ("hanako@example.net", "Hanako", "Asia/Tokyo", "ja-JP"),
    ("priya@example.com", "Priya", "Asia/Kolkata", "hi-IN"),
    ("omar@example.org", "Omar", "Africa/Cairo", "ar-EG"),
    ("sam@example.net", "Sam", "America/New_York", "en-US"),
]

UTC = dt.timezone.utc


def label(d):
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


def zone_to_literal(pattern, lab):
    """pattern with every zone field (z Z O v V X x) as a quoted literal."""
    out, i, quoted = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "'":
            out.append(c)
            if i + 1 < len(pattern) and pattern[i + 1] == "'":
                out.append(c)
                i += 2
                continue
            quoted = not quoted
            i += 1
            continue
        if not quoted and c in "zZOvVXx":
            while i + 1 < len(pattern) and pattern[i + 1] == c:
                i += 1
            out.append("'" + lab.replace("'", "''") + "'")
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def wall_s(d):
    """The wall time as if it were UTC, in seconds (PyICU takes seconds)."""
    naive = d.replace(tzinfo=None)
    return (naive - dt.datetime(1970, 1, 1)).total_seconds()


def words(locale, start, end, recurring):
    loc = icu.Locale.forLanguageTag(locale)
    skel = SKELETON
    if recurring:
        skel = "".join(c for c in skel if c not in "yYuUrQqMLwWdDFgG")
    if end is None:
        gen = icu.DateTimePatternGenerator.createInstance(loc)
        pat = zone_to_literal(gen.getBestPattern(skel), label(start))
        f = icu.SimpleDateFormat(pat, loc)
        f.setTimeZone(icu.TimeZone.createTimeZone("UTC"))
        s = f.format(wall_s(start))
    else:
        # DateIntervalFormat takes the default zone (UTC, set in main)
        f = icu.DateIntervalFormat.createInstance(skel, loc)
        s = f.format(icu.DateInterval(wall_s(start), wall_s(end)))
        z = icu.SimpleDateFormat("z", loc)
        z.setTimeZone(icu.TimeZone.createTimeZone("UTC"))
        zw = z.format(0.0)
        n = s.count(zw)
        if n == 1:
            s = s.replace(zw, label(start) if label(start) == label(end) else label(end))
        elif n == 2:
            a = s.index(zw)
            b = s.index(zw, a + len(zw))
            s = s[:a] + label(start) + s[a + len(zw):b] + label(end) + s[b + len(zw):]
        elif n != 0:
            raise SystemExit("cannot place the zone in %r" % s)
    return s.replace("\u202f", "\u00a0")


def main():
    icu.TimeZone.setDefault(icu.TimeZone.createTimeZone("UTC"))
    os.makedirs(HERE, exist_ok=True)
    with open(os.path.join(HERE, "post.md"), "w", encoding="utf-8") as f:
        f.write(POST)
    with open(os.path.join(HERE, "list.csv"), "w", encoding="utf-8") as f:
        f.write("email,name,timezone,locale\n")
        for r in READERS:
            f.write(",".join(r) + "\n")
    for email, _, zone, locale in READERS:
        z = zoneinfo.ZoneInfo(zone)
        lines = []
        for _, a, b, src, rec in SESSIONS:
            sz = zoneinfo.ZoneInfo(src) if src != "UTC" else UTC
            start = dt.datetime(*a, tzinfo=sz).astimezone(z)
            end = dt.datetime(*b, tzinfo=sz).astimezone(z) if b else None
            lines.append("%s\t%s\n" % (start.isoformat(), words(locale, start, end, rec)))
        with open(os.path.join(HERE, email + ".times"), "w", encoding="utf-8") as f:
            f.writelines(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
