#!/usr/bin/python3
"""Peak memory follows the number of (zone, locale) pairs, not the number
of readers (issue 13): herald's peak RSS (ru_maxrss of that child alone,
from os.wait4) at the larger list stays within 10% of the smaller one's.

  preview --mbox /dev/null   10,000 and 100,000 readers
  send (Postfix smtp-sink)    2,000 and  20,000 readers

Both lists of a pair cycle through the same 24 (zone, locale) pairs, so
only per-reader state can make the difference.  About 1 row in 250 repeats
an earlier address in another case; the number of messages written or sent
must equal the distinct addresses counted here, so the duplicate set
(rows read again from the file on a hash match) drops nobody.

A ratio, never an absolute size or time.  Before the fix the ratios were
1.148 (preview: every address kept in memory) and 1.154 (send: also
SQLite's 2 MiB page caches filling).  Skipped under the sanitizer build,
whose RSS is ASan's shadow memory and quarantine, not herald's.
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture  # noqa: E402

sys.path.insert(0, os.path.join(fixture.SRC, "bench"))
import state_size  # noqa: E402

POST = "2027-11-22-async-office-hours.md"
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Tokyo",
         "Australia/Adelaide", "America/Sao_Paulo", "", "Pacific/Auckland"]
LOCALES = ["de-DE", "en-US", "ja-JP"]
MAX_RATIO = 1.10


def write_list(path, n):
    """n rows; returns how many distinct addresses (case-insensitive)."""
    seen = set()
    with open(path, "w") as f:
        f.write("email,name,timezone,locale,format\n")
        for i in range(n):
            if i % 250 == 249:
                addr = "Reader%d@Example.ORG" % (i - 200)   # a repeat
            else:
                addr = "reader%d@example.org" % i
            seen.add(addr.lower())
            f.write("%s,Reader %d,%s,%s,%s\n" % (
                addr, i, ZONES[i % len(ZONES)],
                LOCALES[(i // len(ZONES)) % len(LOCALES)],
                "text" if i % 10 == 9 else "html"))
    return len(seen)


def run_measured(cmd, cwd, env, want):
    """Run cmd; its own peak RSS in KiB.  want must be in its output."""
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    # output is one progress line and a summary: read it after wait4,
    # which gives this child's own rusage (RUSAGE_CHILDREN would give
    # the maximum over every child so far)
    _, status, ru = os.wait4(p.pid, 0)
    out = p.stdout.read().decode(errors="replace")
    err = p.stderr.read().decode(errors="replace")
    p.stdout.close()
    p.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    fixture.check(code == 0, "%s exited %d: %s" % (cmd[1], code, err[-500:]))
    fixture.check(want in out, "%s: want %r in the output, got %r"
                  % (cmd[1], want, out[-300:]))
    return ru.ru_maxrss


def main():
    if not os.access(fixture.HERALD, os.X_OK):
        fixture.skip("no herald binary at " + fixture.HERALD)
    if fixture.sanitized():
        fixture.skip("sanitizer build: its RSS is ASan's, not herald's")
    site = fixture.make_site()
    sink = None
    try:
        shutil.copy(os.path.join(fixture.SRC, "doc", "examples", POST), site)
        os.makedirs(os.path.join(site, "lists"), exist_ok=True)
        sizes = {}
        for n in (2000, 20000, 10000, 100000):
            sizes[n] = write_list(os.path.join(site, "lists",
                                               "r%d.csv" % n), n)
        results = []
        for small, big in ((10000, 100000),):
            rss = {}
            for n in (small, big):
                rss[n] = run_measured(
                    [fixture.HERALD, "preview", POST, "--list",
                     "lists/r%d.csv" % n, "--mbox", "/dev/null"], site,
                    None, "wrote %d messages" % sizes[n])
            results.append(("preview --mbox /dev/null", small, big, rss))
        started = state_size.start_sink()
        if started is None:
            print("no Postfix smtp-sink: send not measured")
        else:
            sink, port = started
            env = dict(os.environ, HERALD_SMTP_URL="smtp://127.0.0.1:%d"
                       % port)
            rss = {}
            for n in (2000, 20000):
                rss[n] = run_measured(
                    [fixture.HERALD, "send", POST, "--list",
                     "lists/r%d.csv" % n, "--allow-past", "--concurrency",
                     "8"], site, env, "this run: %d sent" % sizes[n])
            results.append(("send", 2000, 20000, rss))
        bad = []
        for what, small, big, rss in results:
            ratio = rss[big] / rss[small]
            print("%s: peak RSS %.1f MiB at %d readers, %.1f MiB at %d: "
                  "%.3fx" % (what, rss[small] / 1024, small,
                             rss[big] / 1024, big, ratio))
            if not ratio <= MAX_RATIO:
                bad.append("%s grows %.3fx from %d to %d readers (at most "
                           "%.2fx)" % (what, ratio, small, big, MAX_RATIO))
        fixture.check(not bad, "; ".join(bad))
        print("ok")
    finally:
        if sink:
            sink.kill()
            sink.wait()
        shutil.rmtree(site, ignore_errors=True)


if __name__ == "__main__":
    main()
