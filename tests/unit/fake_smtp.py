"""A tiny scripted SMTP server for tests/unit/test_smtp.c.

usage: fake_smtp.py MODE LOGDIR
Listens on 127.0.0.1 (a free port, printed on stdout), logs every line it
receives to LOGDIR/log (prefixed with the connection number) and each
message's raw DATA bytes (still dot-stuffed) to LOGDIR/msg-N.raw.

MODE: normal | greet421 | hang | nostarttls (no STARTTLS offered; the
client must then give up before MAIL and AUTH).  Per-recipient faults are
chosen by the local part: r550, r451, r452, m421 (421 on RCPT, then close),
d451 / d554 (after the final dot), drop (close after the final dot), hangdot
(no reply after the final dot).
"""
import asyncio
import os
import sys

mode, logdir = sys.argv[1], sys.argv[2]
log = open(os.path.join(logdir, "log"), "ab", buffering=0)
state = {"conns": 0, "msgs": 0}


async def handle(r, w):
    state["conns"] += 1
    cid = state["conns"]

    def rec(s):
        log.write(b"%d %s\n" % (cid, s))

    def say(s):
        w.write(s + b"\r\n")

    rec(b"CONNECT")
    try:
        if mode == "greet421":
            say(b"421 4.3.2 too busy, come back later")
            await w.drain()
            return
        if mode == "hang":
            await asyncio.sleep(30)
            return
        say(b"220 fake ESMTP")
        rcpt = b""
        while True:
            line = await r.readline()
            if not line:
                return
            rec(b"C: " + line.rstrip(b"\r\n"))
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                say(b"250-fake")
                say(b"250-AUTH PLAIN LOGIN")
                say(b"250 8BITMIME")
            elif verb == b"AUTH":
                if len(line.split()) == 2:
                    say(b"334 ")
                    await w.drain()
                    cred = await r.readline()
                    rec(b"C: " + cred.rstrip(b"\r\n"))
                say(b"235 2.7.0 ok")
            elif verb == b"MAIL":
                say(b"250 2.1.0 ok")
            elif verb == b"RCPT":
                rcpt = line.split(b":", 1)[1].strip().strip(b"<>").split(b"@")[0]
                if rcpt == b"r550":
                    say(b"550 5.1.1 <r550>: no such user")
                elif rcpt == b"r451":
                    say(b"451 4.3.0 try again later")
                elif rcpt == b"r452":
                    say(b"452 4.5.3 too many recipients")
                elif rcpt == b"m421":
                    say(b"421 4.7.0 slow down")
                    await w.drain()
                    return
                else:
                    say(b"250 2.1.5 ok")
            elif verb == b"DATA":
                say(b"354 go ahead")
                await w.drain()
                data = b""
                while True:
                    dl = await r.readline()
                    if not dl:
                        return
                    if dl == b".\r\n":
                        break
                    data += dl
                state["msgs"] += 1
                with open(os.path.join(logdir, "msg-%d.raw" % state["msgs"]),
                          "wb") as f:
                    f.write(data)
                rec(b"DATA-END")
                if rcpt == b"d451":
                    say(b"451 4.3.0 queue full")
                elif rcpt == b"d554":
                    say(b"554 5.7.1 rejected as spam")
                elif rcpt == b"drop":
                    return
                elif rcpt == b"hangdot":
                    await asyncio.sleep(30)
                    return
                else:
                    say(b"250 2.0.0 queued as %d" % state["msgs"])
            elif verb == b"RSET" or verb == b"NOOP":
                say(b"250 ok")
            elif verb == b"QUIT":
                say(b"221 bye")
                await w.drain()
                return
            else:
                say(b"502 5.5.2 what?")
            await w.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        rec(b"CLOSE")
        w.close()


async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(srv.sockets[0].getsockname()[1], flush=True)
    # Bounded: a test never needs more than a minute.
    await asyncio.sleep(120)


asyncio.run(main())
