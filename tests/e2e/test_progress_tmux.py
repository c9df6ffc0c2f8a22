#!/usr/bin/python3
"""The live progress line of `herald send` in a real terminal (tmux), at 50
and 120 columns (issue 12): it is redrawn in place on one line that never
wraps (a wrapped line would add a line at every redraw), the bar shrinks
or goes on a narrow terminal, and a resumed send counts the whole campaign
(N/total, starting from what earlier runs delivered), as the summary does.

Run 1 is stopped with Ctrl-C typed into the pane; run 2 resumes it.
Skipped (77) without tmux."""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sendkit import Site, server  # noqa: E402

TMUX = shutil.which("tmux")
N = 60
LINE = re.compile(r"^send(?: \[([= ]*)\])? (\d+)/(\d+)\b")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


class Pane:
    def __init__(self, cols, argv, cwd):
        self.sock = "herald-test-%d-%d" % (os.getpid(), cols)
        self.cols = cols
        # the shell survives Ctrl-C (a trap, not an ignore, so herald still gets it)
        cmd = "trap true INT; cd %s && %s; echo EXIT=$?; sleep 60" % (
            shlex.quote(cwd), " ".join(shlex.quote(a) for a in argv))
        subprocess.run([TMUX, "-L", self.sock, "-f", "/dev/null", "new-session",
                        "-d", "-s", "t", "-x", str(cols), "-y", "12",
                        "env", "-u", "NO_COLOR", "sh", "-c", cmd], check=True)

    def capture(self):
        p = subprocess.run([TMUX, "-L", self.sock, "capture-pane", "-p", "-t", "t"],
                           capture_output=True, timeout=20)
        return p.stdout.decode("utf-8", "replace").rstrip("\n").split("\n")

    def keys(self, *k):
        subprocess.run([TMUX, "-L", self.sock, "send-keys", "-t", "t"] + list(k), timeout=20)

    def close(self):
        subprocess.run([TMUX, "-L", self.sock, "kill-server"], capture_output=True, timeout=20)


def watch(pane, until, limit=90):
    """Capture the pane every 0.1 s until until(lines) or EXIT= shows;
    return every capture that held a progress line."""
    shots, t0 = [], time.time()
    while time.time() - t0 < limit:
        lines = pane.capture()
        if any(LINE.match(ln) for ln in lines):
            shots.append(lines)
        if any(ln.startswith("EXIT=") for ln in lines) or until(lines):
            return shots, lines
        time.sleep(0.1)
    fail("%d columns: the run did not finish in %d s" % (pane.cols, limit))


def check_shots(shots, cols, total):
    if not shots:
        fail("%d columns: no progress line was ever seen" % cols)
    bars = 0
    for lines in shots:
        prog = [ln for ln in lines if re.search(r"\d+/%d\b" % total, ln)
                and not ln.startswith(("herald:", "EXIT="))]
        if len(prog) != 1:
            fail("%d columns: %d progress lines (redraw adds lines?): %r" % (cols, len(prog), lines))
        m = LINE.match(prog[0])
        if not m:
            fail("%d columns: the progress line is broken: %r" % (cols, prog[0]))
        if len(prog[0]) > cols - 1:
            fail("%d columns: progress line is %d columns: %r" % (cols, len(prog[0]), prog[0]))
        if int(m.group(3)) != total:
            fail("%d columns: counts against %s, not the campaign's %d" % (cols, m.group(3), total))
        bars += m.group(1) is not None
    return bars


def main():
    if TMUX is None:
        print("skipped: tmux not installed")
        return 77
    tmp = tempfile.mkdtemp(prefix="test_progress_tmux.")
    panes = []
    try:
        with server(tmp, "sink", delay_ms=100) as srv:
            s = Site(srv.url, n=N)
            # run 1, 120 columns: stopped with Ctrl-C part way
            p1 = Pane(120, s.send_argv("--concurrency", "2"), s.dir)
            panes.append(p1)
            sent = []

            def enough(_lines):
                if len(srv.envelopes()) >= 15 and not sent:
                    p1.keys("C-c")
                    sent.append(True)
                return False
            shots, last = watch(p1, enough)
            if not any("EXIT=130" in ln for ln in last):
                fail("run 1 was not interrupted: %r" % last)
            bars = check_shots(shots, 120, N)
            if bars == 0:
                fail("120 columns: no bar drawn")
            done1 = sum(1 for r in s.rows().values() if r["state_name"] == "sent")
            if not 15 <= done1 < N:
                fail("run 1 sent %d of %d" % (done1, N))

            # run 2, 50 columns: resumes and counts the whole campaign
            p2 = Pane(50, s.send_argv("--concurrency", "2"), s.dir)
            panes.append(p2)
            shots, last = watch(p2, lambda _l: False)
            if not any("EXIT=0" in ln for ln in last):
                fail("run 2 did not finish cleanly: %r" % last)
            check_shots(shots, 50, N)
            first = int(LINE.match(next(ln for ln in shots[0] if LINE.match(ln))).group(2))
            if first < done1:
                fail("resumed progress starts at %d, below the %d sent before" % (first, done1))
            print("ok: 120 and 50 columns, %d captures; resume starts at %d/%d" % (
                len(shots), first, N))
            return 0
    finally:
        for p in panes:
            p.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
