#!/usr/bin/python3
"""herald's SMTP client against two ways a real relay ends a connection.

1. Idle connections.  A relay closes a connection that has been idle too
   long, saying 421 first (RFC 5321 3.8; Postfix's smtpd_timeout).  A paced
   send (--rate) leaves its connection idle between messages: herald must
   notice the close and open a new connection, so that every message is
   sent on the first try, none deferred, each stored once.  Run with and
   without PIPELINING advertised.
2. A reply that never ends.  After the final dot the server sends one
   octet of "250 ..." every 0.3 s and never the end of the line: the reply
   timeout (smtp.timeout, 2 s here) is for the whole reply, so herald gives
   up within a few seconds and records the message as unknown (the dot
   went out, no reply came), never as sent.

The server is a small asyncio one here, on 127.0.0.1 at a free port, run in
a thread and stopped at the end; it stores what it receives un-stuffed
(RFC 5321 4.5.2).  The oracle is the RFC: what a server that closed a
connection can have received.
"""
import asyncio
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sendkit import Checks, Site, out  # noqa: E402
import sendkit  # noqa: E402  (skips without herald; LoopServer)

C = Checks()
IDLE = 1.5          # seconds of silence before the server hangs up


class Server(sendkit.LoopServer):
    def __init__(self, pipelining, trickle=False):
        super().__init__()
        self.pipelining = pipelining
        self.trickle = trickle
        self.conns = 0
        self.idle_closes = 0
        self.stored = []        # (rcpt, data)

    async def _conn(self, r, w):
        self.conns += 1

        def say(s):
            w.write(s.encode() + b"\r\n")

        try:
            say("220 idle.test ESMTP")
            await w.drain()
            rcpt = None
            while True:
                try:
                    line = await asyncio.wait_for(r.readline(), IDLE)
                except asyncio.TimeoutError:
                    self.idle_closes += 1
                    say("421 4.4.2 idle.test Error: timeout exceeded")
                    await w.drain()
                    return
                if not line:
                    return
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    say("250-idle.test")
                    if self.pipelining:
                        say("250-PIPELINING")
                    say("250 8BITMIME")
                elif verb == b"MAIL":
                    rcpt = None
                    say("250 2.1.0 ok")
                elif verb == b"RCPT":
                    rcpt = line.split(b":", 1)[1].strip().strip(b"<>")
                    say("250 2.1.5 ok")
                elif verb == b"DATA":
                    if rcpt is None:
                        say("554 5.5.1 no valid recipients")
                        await w.drain()
                        continue
                    say("354 go ahead")
                    await w.drain()
                    data = b""
                    while True:
                        dl = await r.readline()
                        if not dl:
                            return
                        if dl == b".\r\n":
                            break
                        data += dl[1:] if dl.startswith(b".") else dl
                    self.stored.append((rcpt.decode(), data))
                    if self.trickle:
                        # 100 octets, 30 s: far past the 2 s timeout
                        for ch in b"250 2.0.0 queued " + b"." * 83:
                            w.write(bytes([ch]))
                            await w.drain()
                            await asyncio.sleep(0.3)
                        return
                    say("250 2.0.0 queued")
                elif verb == b"RSET" or verb == b"NOOP":
                    say("250 ok")
                elif verb == b"QUIT":
                    say("221 bye")
                    await w.drain()
                    return
                else:
                    say("502 5.5.2 what")
                await w.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            w.close()


def test_idle(pipelining):
    mode = "PIPELINING" if pipelining else "lockstep"
    with Server(pipelining) as srv:
        site = Site("smtp://127.0.0.1:%d" % srv.port, n=3, timeout=5)
        sites.append(site)
        # one message every 2.5 s on one connection: idle > IDLE between
        p = site.send("--allow-past", "--concurrency", "1", "--rate",
                      "0.4/s", "--retry-base", "3", timeout=60)
        o = out(p)
        C.eq(p.returncode, 0, "%s: exit status (output: %s)" % (mode, o))
        rows = site.rows()
        C.eq(sorted(r["state_name"] for r in rows.values()),
             ["sent"] * 3, "%s: journal states" % mode)
        C.eq(sorted(r["tries"] for r in rows.values()), [1, 1, 1],
             "%s: every message sent on its first try" % mode)
        got = sorted(rc for rc, _ in srv.stored)
        C.eq(got, sorted(site.addrs), "%s: stored once each" % mode)
        C.ok(srv.idle_closes >= 2 and srv.conns >= 3,
             "%s: the server closed idle connections (%d closes, %d "
             "connections): the test did not test the idle case"
             % (mode, srv.idle_closes, srv.conns))


def test_trickle():
    with Server(True, trickle=True) as srv:
        site = Site("smtp://127.0.0.1:%d" % srv.port, n=1, timeout=2)
        sites.append(site)
        t = time.monotonic()
        p = site.send("--allow-past", "--concurrency", "1", timeout=60)
        dt = time.monotonic() - t
        o = out(p)
        C.eq(p.returncode, 75, "trickle: exit status 75 (output: %s)" % o)
        C.ok(dt < 8, "trickle: gave up in %.1f s, want under 8 "
             "(the 2 s timeout is for the whole reply)" % dt)
        rows = site.rows()
        C.eq([r["state_name"] for r in rows.values()], ["unknown"],
             "trickle: the message is unknown, not sent nor deferred")
        C.eq(len(srv.stored), 1, "trickle: the server got the message")


sites = []
tmp = os.path.join("/tmp", "test_smtp_idle.%d" % os.getpid())
os.makedirs(tmp, exist_ok=True)
sendkit.run_tests([(test_idle, (True,)), (test_idle, (False,)),
                   test_trickle], C, tmp, sites)
