"""Helpers for the `herald send` end-to-end tests (tests/e2e/test_send_*.py):
a site directory with a post whose session time is in the future, a
generated list, a fault server, and reading the journal.  Not a test itself.
"""
import asyncio
import email.parser
import email.policy
import glob
import os
import sqlite3
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "lib"))

import fixture  # noqa: E402

try:
    import faultsmtp  # noqa: F401
    from faultsmtp import FaultServer, Log, secret_forms, wait_for  # noqa
except ImportError as e:  # aiosmtpd missing
    fixture.skip("faultsmtp unavailable: %s" % e)

if not os.access(fixture.HERALD, os.X_OK):
    fixture.skip("no herald binary at " + fixture.HERALD)

STATES = ("pending", "inflight", "sent", "deferred", "failed", "unknown",
          "suppressed")

POST = """\
---
title: Herald delivery test
subject: "Delivery test"
date: 2099-03-02
timezone: America/New_York
summary: A test of delivery.
---

Hello! The next session is on
{{< time "2099-03-04T07:00" "America/New_York" >}}.

- one
- two

.A line starting with a dot, to check dot-stuffing.
"""

PAST_POST = POST.replace("2099-03-04T07:00", "2001-03-04T07:00").replace(
    "2099-03-02", "2001-03-02")


def config(url, timeout=5, extra=""):
    return fixture.CONFIG.replace("  url: smtp://127.0.0.1:2525\n",
                                  "  url: %s\n  timeout: %d\n%s" %
                                  (url, timeout, extra))


class Site:
    """A temp dir with herald.yml, templates, a post and a list."""

    def __init__(self, url, n=10, timeout=5, extra="", post=POST,
                 addrs=None, name="test"):
        self.dir = fixture.make_site(config(url, timeout, extra))
        self.post = os.path.join(self.dir, "2099-03-02-delivery.md")
        with open(self.post, "w") as f:
            f.write(post)
        self.addrs = addrs or ["user%04d@example.org" % i for i in range(n)]
        self.list = os.path.join(self.dir, "lists", name + ".csv")
        zones = ["Europe/Paris", "America/Los_Angeles", "Asia/Tokyo", ""]
        with open(self.list, "w") as f:
            f.write("email,name,timezone\n")
            for i, a in enumerate(self.addrs):
                f.write("%s,User %d,%s\n" % (a, i, zones[i % len(zones)]))

    def set_url(self, url, timeout=5, extra=""):
        with open(os.path.join(self.dir, "herald.yml"), "w") as f:
            f.write(config(url, timeout, extra))

    def send(self, *args, timeout=120, env=None):
        return fixture.run(["send", self.post, "--list", self.list,
                            "--config", os.path.join(self.dir, "herald.yml")]
                           + list(args), cwd=self.dir, timeout=timeout,
                           env=env)

    def send_argv(self, *args):
        return [fixture.HERALD, "send", self.post, "--list", self.list,
                "--config", os.path.join(self.dir, "herald.yml")] + list(args)

    def status(self, *args):
        return fixture.run(["status", self.post, "--list", self.list,
                            "--config", os.path.join(self.dir, "herald.yml")]
                           + list(args), cwd=self.dir, timeout=60)

    def journals(self):
        return sorted(glob.glob(os.path.join(self.dir, ".herald",
                                             "journal-*.sqlite")))

    def rows(self, journal=None):
        """{addr: dict(row)} from the (only) journal."""
        js = [journal] if journal else self.journals()
        out = {}
        for j in js:
            db = sqlite3.connect("file:%s?mode=ro" % j, uri=True)
            db.row_factory = sqlite3.Row
            for r in db.execute("SELECT * FROM rcpt"):
                d = dict(r)
                d["state_name"] = STATES[d["state"]]
                out[d["addr"]] = d
            db.close()
        return out


def server(tmp, name, **kw):
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    kw.setdefault("maildir", os.path.join(d, "Maildir"))
    kw.setdefault("log", os.path.join(d, "wire.jsonl"))
    kw.setdefault("max_seconds", 600)
    return FaultServer(**kw)


def delivered(srv):
    """{rcpt: [message_id, ...]} of the messages the server stored."""
    out = {}
    for e in srv.envelopes():
        for r in e["rcpt"]:
            out.setdefault(r.lower(), []).append(e["message_id"])
    return out


def headers(data):
    return email.parser.BytesHeaderParser(
        policy=email.policy.compat32).parsebytes(data)


class Checks:
    """Collects failures; a test prints them all and exits 1."""

    def __init__(self):
        self.failed = []

    def ok(self, cond, what):
        if not cond:
            self.failed.append(what)
            print("FAIL: " + what, flush=True)
        return cond

    def eq(self, got, want, what):
        return self.ok(got == want, "%s: got %r, want %r" % (what, got, want))

    def done(self):
        if self.failed:
            print("%d failure(s)" % len(self.failed))
            sys.exit(1)
        print("ok")
        sys.exit(0)


def out(p):
    return (p.stdout.decode("utf-8", "replace") +
            p.stderr.decode("utf-8", "replace"))


def timed(fn):
    t = time.monotonic()
    r = fn()
    return r, time.monotonic() - t


def run_tests(tests, checks, tmp, sites):
    """Run each test (a function, or a (function, args) pair) in turn,
    remove tmp and every site afterwards whatever happens, then report
    the checks (exits)."""
    import shutil
    try:
        for t in tests:
            fn, args = t if isinstance(t, tuple) else (t, ())
            print("--", fn.__name__, flush=True)
            fn(*args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        for s in sites:
            shutil.rmtree(s.dir, ignore_errors=True)
    checks.done()


class LoopServer:
    """An asyncio TCP server on 127.0.0.1 (a port the kernel picks) in a
    thread of its own, for a test that scripts its own SMTP dialogue:
    a subclass writes `async def _conn(self, reader, writer)`.  `with
    Sub(...) as srv:` starts it (srv.port) and stops it; it also stops by
    itself after MAX_SECONDS.  LIMIT is the readers' line limit."""
    MAX_SECONDS = 120
    LIMIT = 1 << 16

    def __init__(self):
        self.port = None
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("server did not start")
        return self

    def __exit__(self, *a):
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self):
        self.stop = asyncio.Event()
        srv = await asyncio.start_server(self._conn, "127.0.0.1", 0,
                                         limit=self.LIMIT)
        self.port = srv.sockets[0].getsockname()[1]
        self.ready.set()
        try:
            await asyncio.wait_for(self.stop.wait(), self.MAX_SECONDS)
        except asyncio.TimeoutError:
            pass
        srv.close()
        await srv.wait_closed()

    async def _conn(self, reader, writer):
        raise NotImplementedError
