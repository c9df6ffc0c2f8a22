#!/usr/bin/python3
"""The state directory's peak size during `herald send` (issue 9: the
journal's size follows the list, not the number of writes).

For each N: a site with N synthetic readers (genlist.py), the example post,
Postfix's smtp-sink on 127.0.0.1 (a port chosen at run time), and
`herald send --concurrency 8` while a thread samples the total size of
.herald/ (journal, its WAL and shm, suppressions, lock, secret) every 5 ms.
Prints one line per N: peak bytes, final bytes, seconds.

Usage: state_size.py HERALD [N ...]      (default N: 10000 100000)
Exit 0; asserts nothing (tests/e2e/test_state_size.py holds the bound).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (bench/benchlib.py)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
POST = "2027-11-22-async-office-hours.md"
PY = "/usr/bin/python3"


start_sink = benchlib.start_sink   # (Popen, port) or None


def genlist(path, n):
    with open(path, "w") as f:
        subprocess.run([PY, os.path.join(HERE, "genlist.py"), str(n)],
                       stdout=f, check=True)


def dir_size(d):
    total = 0
    for dp, _, files in os.walk(d):
        for f in files:
            try:
                total += os.lstat(os.path.join(dp, f)).st_size
            except OSError:
                pass   # a WAL or shm file going away meanwhile
    return total


def measure(herald, n, url, tmp):
    """Send to n readers; return (peak bytes, final bytes, seconds)."""
    site = os.path.join(tmp, "site%d" % n)
    os.makedirs(os.path.join(site, "lists"))
    shutil.copytree(os.path.join(ROOT, "templates"),
                    os.path.join(site, "templates"))
    shutil.copy(os.path.join(ROOT, "herald.yml"), site)
    shutil.copy(os.path.join(ROOT, "doc", "examples", POST), site)
    genlist(os.path.join(site, "lists", "l.csv"), n)
    state = os.path.join(site, ".herald")
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], dir_size(state))
            time.sleep(0.005)

    th = threading.Thread(target=sample)
    th.start()
    env = dict(os.environ, HERALD_SMTP_URL=url)
    t = time.monotonic()
    try:
        p = subprocess.run([herald, "send", POST, "--list", "lists/l.csv",
                            "--concurrency", "8"], cwd=site, env=env,
                           capture_output=True, timeout=3600)
    finally:
        stop.set()
        th.join()
    dt = time.monotonic() - t
    if p.returncode != 0:
        raise RuntimeError("herald send exited %d: %s" %
                           (p.returncode, p.stderr.decode()[-600:]))
    final = dir_size(state)
    shutil.rmtree(site, ignore_errors=True)
    return max(peak[0], final), final, dt




def main():
    benchlib.usage_or_help(__doc__, 1)
    herald = os.path.abspath(sys.argv[1])
    ns = [int(a) for a in sys.argv[2:]] or [10000, 100000]
    tmp = tempfile.mkdtemp(prefix="herald-state.",
                           dir=os.environ.get("TMPDIR", "/var/tmp"))
    started = start_sink()
    if started is None:
        sys.exit("state_size: Postfix's smtp-sink not found "
                 "(scripts/deps.sh installs postfix)")
    sink, port = started
    try:
        for n in ns:
            peak, final, dt = measure(herald, n, "smtp://127.0.0.1:%d" % port,
                                      tmp)
            print("%7d recipients: state dir peak %.2f MiB (%d bytes), "
                  "after %.2f MiB, %.1f s" % (n, peak / 2**20, peak,
                                              final / 2**20, dt), flush=True)
    finally:
        sink.kill()
        sink.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
