#!/usr/bin/python3
"""The session-time corpus: phrasings from real public posts (source cited
per row) and the forms the grammar promises, each with the instant(s) it
must become, or "none" (a near-miss that must stay as written), "skip"
(left as written and reported), or "error" (refused).

Rows live in tests/data/sessions/corpus/*.tsv, one case a row, tab-separated:

    SOURCE  POST_DATE  POST_ZONE  TEXT  EXPECT

SOURCE is the URL the words were copied from, or "form" (a form the
grammar promises) or "near-miss".  POST_DATE is YYYY-MM-DD or "-", POST_ZONE
an IANA name or "-".  TEXT uses \\n for a newline.  EXPECT is "none",
"skip", "error", or items separated by " ; ", each

    DAY HH:MM[:SS][/HH:MM] ZONE [R]

DAY is YYYY-MM-DD, a weekday (Mon..Sun: the first on or after the post
date), next-Thu (the first after it), last-Wed (the last before it), or
+N (N days after the post date).  /HH:MM is a range's end (the next day
when not after the start).  ZONE is an IANA name or UTC+HH:MM.  R: recurring.
The instants are computed here, with Python's zoneinfo, from the local time
the words state; never from herald's output.

herald's answers come from tzprobe --scan.  The test prints
"N correct, N wrong, N missed, N false positives" and fails on any wrong
answer or false positive, on fewer than 250 cases, on fewer than a third
copied from real posts, or on fewer than 40 near-misses.
"""
import datetime as dt
import glob
import os
import subprocess
import sys
import zoneinfo

WD = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
failures = []


def fail(msg):
    failures.append(msg)


def zone_of(name):
    if name.startswith("UTC") and len(name) > 3:
        sign = -1 if name[3] in "-\u2212" else 1
        hh, _, mm = name[4:].partition(":")
        return dt.timezone(sign * dt.timedelta(hours=int(hh),
                                               minutes=int(mm or 0)))
    return zoneinfo.ZoneInfo(name)


def day_of(spec, post):
    if spec[0].isdigit():
        return dt.date.fromisoformat(spec)
    if spec.startswith("+"):
        return post + dt.timedelta(days=int(spec[1:]))
    rel = 0
    if spec.startswith("next-"):
        rel, spec = 1, spec[5:]
    elif spec.startswith("last-"):
        rel, spec = -1, spec[5:]
    w = WD.index(spec)
    if rel < 0:
        d = post - dt.timedelta(days=1)
        while d.weekday() != w:
            d -= dt.timedelta(days=1)
        return d
    d = post + dt.timedelta(days=rel)
    while d.weekday() != w:
        d += dt.timedelta(days=1)
    return d


def expected(item, post):
    """(utc, utc_end or None, recurring) for one EXPECT item."""
    parts = item.split()
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "R"):
        raise ValueError("bad expect item %r" % item)
    d = day_of(parts[0], post)
    start, _, end = parts[1].partition("/")
    z = zone_of(parts[2])
    hms = list(map(int, start.split(":"))) + [0]
    a = dt.datetime(d.year, d.month, d.day, hms[0], hms[1], hms[2], tzinfo=z)
    ua = int(a.timestamp())
    ub = None
    if end:
        h2, m2 = map(int, end.split(":"))
        b = dt.datetime(d.year, d.month, d.day, h2, m2, tzinfo=z)
        if b <= a:
            b = dt.datetime.combine(d + dt.timedelta(days=1),
                                    dt.time(h2, m2), tzinfo=z)
        ub = int(b.timestamp())
    return (ua, ub, len(parts) == 4)


def parse_probe(line):
    """('error', msg) or ('ok', [(utc, end, recurring)], nskipped)."""
    if line.startswith("ERROR "):
        return ("error", line[6:], [], 0)
    got, nskip = [], 0
    for r in filter(None, line.split(" ; ")):
        if r.startswith("S "):
            nskip += 1
            continue
        f = r.split(" ")
        if f[0] != "T":
            raise ValueError("bad probe output %r" % r)
        a, _, b = f[1].partition("..")
        got.append((int(a), int(b) if b else None, "R" in f[2:4]))
    return ("ok", "", got, nskip)


def main():
    src = os.environ.get("HERALD_SRC", ".")
    build = os.environ.get("HERALD_BUILD")
    if not build:
        print("HERALD_BUILD not set; skipping")
        return 77
    probe = os.path.join(build, "tzprobe")
    if not os.access(probe, os.X_OK):
        print("FAIL: %s is not built" % probe)
        return 1
    cases = []
    for path in sorted(glob.glob(os.path.join(src, "tests/data/sessions/corpus/*.tsv"))):
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if not line or line.startswith("#"):
                    continue
                cols = line.split("\t")
                if len(cols) != 5:
                    fail("%s:%d: want 5 tab-separated columns, got %d"
                         % (path, n, len(cols)))
                    continue
                cases.append(("%s:%d" % (os.path.basename(path), n), cols))
    if not cases:
        print("FAIL: no corpus cases")
        return 1
    stdin = "".join("%s\t%s\t%s\n" % (c[1], c[2], c[3]) for _, c in cases)
    res = subprocess.run([probe, "--scan"], input=stdin, capture_output=True,
                         text=True, timeout=120)
    if res.returncode != 0:
        print("FAIL: tzprobe --scan exited %d: %s" % (res.returncode, res.stderr))
        return 1
    out = res.stdout.split("\n")
    if out and out[-1] == "":
        out.pop()
    if len(out) != len(cases):
        print("FAIL: %d cases, %d probe lines" % (len(cases), len(out)))
        return 1

    counts = {"correct": 0, "wrong": 0, "missed": 0, "fp": 0}
    real = nearmiss = with_instants = inst_ok = real_ok = real_inst = 0
    verbose = os.environ.get("CORPUS_VERBOSE")
    for (where, (source, date, zone, text, exp)), line in zip(cases, out):
        real += source.startswith("http")
        post = dt.date.fromisoformat(date) if date != "-" else None
        kind, msg, got, nskip = parse_probe(line)
        try:
            want = None if exp in ("none", "skip", "error") else \
                [expected(i.strip(), post) for i in exp.split(" ; ")]
        except (ValueError, KeyError) as e:
            fail("%s: %s" % (where, e))
            continue
        if exp == "none":
            nearmiss += 1
            verdict = "correct" if kind == "ok" and not got else "fp"
        elif exp == "skip":
            verdict = "correct" if kind == "ok" and not got and nskip else \
                ("wrong" if got else "missed")
        elif exp == "error":
            verdict = "wrong" if got else "correct"
        else:
            with_instants += 1
            if kind == "error":
                verdict = "missed"      # refused: never silently wrong
            elif any(g not in want for g in got):
                verdict = "wrong"
            elif sorted(got) == sorted(want):
                verdict = "correct"
            else:
                verdict = "missed"
        counts[verdict] += 1
        if want is not None:
            inst_ok += verdict == "correct"
            if source.startswith("http"):
                real_inst += 1
                real_ok += verdict == "correct"
        if verdict != "correct" or verbose:
            print("%-8s %s: %r -> %s (want %s)" % (verdict, where, text,
                                                   line or "nothing", exp))
    print("%d correct, %d wrong, %d missed, %d false positives"
          % (counts["correct"], counts["wrong"], counts["missed"], counts["fp"]))
    print("%d cases (%d from real posts, %d near-misses); recall on the "
          "%d with instants: %d converted (%.1f%%), real posts only: %d of %d"
          % (len(cases), real, nearmiss, with_instants, inst_ok,
             100.0 * inst_ok / max(with_instants, 1), real_ok, real_inst))
    if counts["wrong"]:
        fail("%d wrong" % counts["wrong"])
    if counts["fp"]:
        fail("%d false positives" % counts["fp"])
    if len(cases) < 250:
        fail("only %d cases (want >= 250)" % len(cases))
    if real * 3 < len(cases):
        fail("only %d of %d cases from real posts (want >= 1/3)" % (real, len(cases)))
    if nearmiss < 40:
        fail("only %d near-misses (want >= 40)" % nearmiss)
    for f in failures:
        print("FAIL: %s" % f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
