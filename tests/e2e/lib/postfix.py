"""postfix.py: drive tests/e2e/lib/postfix.sh from Python tests.

    from postfix import Postfix, usable, strip_trace
    if not usable(): sys.exit(77)
    with Postfix(tmpdir, cadir=None) as pf:     # port 0 = a free port
        ... smtp://127.0.0.1:%d % pf.port ...
        pf.wait_messages(n, timeout=30)
        for path, raw in pf.messages(): ...

Postfix stores messages with LF line endings and puts its trace headers
(Return-Path, X-Original-To, Delivered-To, Received) on top; strip_trace()
takes those off and restores CRLF, so a delivered message can be compared
with what was sent.
"""

import os
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "postfix.sh")
TRACE = (b"return-path", b"x-original-to", b"delivered-to", b"received")


def usable():
    """True if postfix.sh can run here (root, postfix installed)."""
    r = subprocess.run(["sh", SCRIPT, "check"], capture_output=True, timeout=30)
    return r.returncode == 0


class Postfix:
    def __init__(self, dir, port=0, cadir=None, extra_cf=None):
        self.dir = os.path.abspath(dir)
        self.extra_cf = extra_cf
        self.port = int(port)
        self.cadir = cadir
        self.maildir = os.path.join(self.dir, "Maildir")
        self.maillog = os.path.join(self.dir, "maillog")

    def start(self):
        cmd = ["sh", SCRIPT, "start", self.dir, str(self.port)]
        if self.cadir:
            cmd.append(self.cadir)
        env = dict(os.environ)
        if self.extra_cf:
            env["POSTFIX_EXTRA_CF"] = self.extra_cf
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                           env=env)
        if r.returncode == 77:
            raise RuntimeError("postfix.sh: not usable here (exit 77)")
        if r.returncode != 0:
            raise RuntimeError("postfix.sh start failed:\n" + r.stderr)
        self.port = int(r.stdout.split()[-1])
        return self

    def stop(self):
        r = subprocess.run(["sh", SCRIPT, "stop", self.dir],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("postfix.sh stop failed:\n" + r.stderr)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def messages(self):
        """[(path, bytes)] of delivered messages (new/ and cur/), by name."""
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir, sub)
            for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                p = os.path.join(d, n)
                with open(p, "rb") as f:
                    out.append((p, f.read()))
        return out

    def count(self):
        return sum(len(os.listdir(os.path.join(self.maildir, s)))
                   for s in ("new", "cur")
                   if os.path.isdir(os.path.join(self.maildir, s)))

    def wait_messages(self, n, timeout=30, settle=0.0):
        """Wait (bounded) until at least n messages are there; then, if
        settle > 0, until the count has not changed for `settle` seconds
        (to catch extra copies).  Returns the count."""
        end = time.monotonic() + timeout
        while self.count() < n and time.monotonic() < end:
            time.sleep(0.1)
        if settle > 0:
            last, since = self.count(), time.monotonic()
            while time.monotonic() < end and time.monotonic() - since < settle:
                time.sleep(0.1)
                c = self.count()
                if c != last:
                    last, since = c, time.monotonic()
        return self.count()

    def log_text(self):
        try:
            with open(self.maillog, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


def split_headers(raw):
    """(list of header field byte strings, each with its folded lines and
    without line ending, body bytes).  Accepts LF or CRLF."""
    text = raw.replace(b"\r\n", b"\n")
    head, sep, body = text.partition(b"\n\n")
    fields = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\n" + line
        else:
            fields.append(line)
    return fields, body


def header(raw, name):
    """Values of every header field `name` (case-insensitive), unfolded."""
    fields, _ = split_headers(raw)
    key = name.lower().encode()
    out = []
    for f in fields:
        k, _, v = f.partition(b":")
        if k.strip().lower() == key:
            out.append(b" ".join(v.split()).decode("utf-8", "replace"))
    return out


def strip_trace(raw, drop=()):
    """The message as the client sent it: Postfix's leading trace headers
    removed, and any other fields named in `drop` (e.g. ("date",)), with CRLF
    line endings."""
    fields, body = split_headers(raw)
    i = 0
    while i < len(fields) and fields[i].split(b":", 1)[0].strip().lower() in TRACE:
        i += 1
    dropset = {d.lower().encode() for d in drop}
    keep = [f for f in fields[i:]
            if f.split(b":", 1)[0].strip().lower() not in dropset]
    head = b"\n".join(keep)
    return (head + b"\n\n" + body).replace(b"\n", b"\r\n")
