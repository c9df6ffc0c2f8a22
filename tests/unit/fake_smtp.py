"""A tiny scripted SMTP server for tests/unit/test_smtp.c.

usage: fake_smtp.py MODE LOGDIR
Listens on 127.0.0.1 (a free port, printed on stdout), logs every line it
receives to LOGDIR/log (prefixed with the connection number) and each
message's raw DATA bytes (still dot-stuffed) to LOGDIR/msg-N.raw, and the
same un-stuffed (RFC 5321 4.5.2: one leading "." removed from each line that
has one) to LOGDIR/msg-N.eml.

MODE is BASE or BASE+OPTION+...
BASE: normal | greet421 | hang | nostarttls (no STARTTLS offered; the
client must then give up before MAIL and AUTH).
OPTION:
  pipe       advertise PIPELINING (RFC 2920) in the EHLO reply
  batch      as Postfix does, hold replies while more commands are already
             in (the replies to a group then come in one write)
  ml         every reply (but 334) is multi-line: "NNN-..." first
  split      every write cut in two, 2 ms apart, in the middle of a line
  mail451=K  the K-th MAIL command of the server's life gets 451
  mail421=K  the K-th MAIL command gets 421, and the server hangs up
  size=N     advertise SIZE N (RFC 1870): a MAIL declaring more gets 552,
             so does a final dot after more than N octets; each message's
             declared SIZE is logged against the octets received
             un-stuffed ("SIZE-MATCH n" or "SIZE-MISMATCH declared d, got n":
             RFC 1870 5 counts CRLFs, not the dot or the doubled dots)
Per-recipient faults are chosen by the local part: r550, r451, r452, m421
(421 on RCPT, then close), d451 / d554 (after the final dot), d421 (421
after the final dot, then close), drop (close after the final dot),
hangdot (no reply after the final dot), q354 (550 on RCPT, then a broken
server's 354 to DATA anyway: the client must send a lone "." and gets
554).  A message over size=N is refused after its dot too (552).

Like Postfix, DATA with no accepted recipient gets "554 5.5.1 Error: no
valid recipients", RCPT or DATA without an accepted MAIL gets 503.

Wire discipline (RFC 5321 lockstep, RFC 2920 pipelining).  Before each reply
the server waits WAIT seconds and looks at what the client has sent beyond
the command being answered (the StreamReader's buffer).  It logs a line
starting "VIOLATION" when
  (a) PIPELINING was not advertised and anything arrived before the reply
      to the previous command (or to the final dot) was written;
  (b) anything arrived after DATA before its reply (354 or an error) was
      written: DATA ends a group, the body waits for the 354;
  (c) a command came in one group after DATA (or after EHLO, HELO, QUIT,
      NOOP, which also end a group);
  (d) a message body came after a 354 that followed no accepted recipient
      (RFC 2920 3.1: the client sends a single dot).
Bytes that land later than WAIT after the command (a client with Nagle's
delay on, which libcurl turns off) escape the check; bytes sent in one
write with the command never do.
Other log lines: CONNECT, CLOSE, "C: <command line>", "GROUP <verbs>" (with
PIPELINING: the commands already received together with a MAIL command, in
one read), "AFTER-DOT <verbs>" (commands received together with a final
dot), DATA-END (a message's final dot), "STORED <rcpt> <N>" (msg-N kept:
answered 250), DATA-EMPTY (the lone dot after a q354), SIZE-MATCH /
SIZE-MISMATCH (with size=N).
"""
import asyncio
import os
import sys

WAIT = 0.004   # before each reply: time for bytes sent without waiting to land

spec, logdir = sys.argv[1], sys.argv[2]
mode, *opts = spec.split("+")
pipe = "pipe" in opts
batch = "batch" in opts
ml = "ml" in opts
split = "split" in opts
mail451 = {int(o.split("=", 1)[1]) for o in opts if o.startswith("mail451=")}
mail421 = {int(o.split("=", 1)[1]) for o in opts if o.startswith("mail421=")}
size_max = ([int(o.split("=", 1)[1]) for o in opts if o.startswith("size=")]
            or [0])[0]
log = open(os.path.join(logdir, "log"), "ab", buffering=0)
state = {"conns": 0, "msgs": 0, "mails": 0}
VERBS = (b"EHLO", b"HELO", b"MAIL", b"RCPT", b"DATA", b"RSET", b"NOOP",
         b"QUIT", b"AUTH", b"VRFY", b"EXPN", b"STARTTLS")
GROUP_END = (b"EHLO", b"HELO", b"DATA", b"QUIT", b"NOOP", b"STARTTLS")


def verbs(buf):
    """The verbs of the complete lines in buf (b"?" for anything else)."""
    lines = bytes(buf).split(b"\r\n")[:-1]
    return [ln[:4].upper() if ln[:4].upper() in VERBS else b"?"
            for ln in lines]


async def handle(r, w):
    state["conns"] += 1
    cid = state["conns"]

    def rec(s):
        log.write(b"%d %s\n" % (cid, s))

    out = []

    def say(s):
        if ml and not s.startswith(b"334"):
            out.append(s[:3] + b"-fake: a first line of the reply\r\n")
        out.append(s + b"\r\n")

    async def flush():
        if out:
            data = b"".join(out)
            out.clear()
            if split and len(data) > 2:
                w.write(data[:len(data) // 2 - 1])
                await w.drain()
                await asyncio.sleep(0.002)
                data = data[len(data) // 2 - 1:]
            w.write(data)
        await w.drain()

    async def replied():
        """The end of a command: write the replies, unless (batch) more
        commands are in already."""
        if not (batch and r._buffer):
            await flush()

    async def check(after):
        """Before replying to `after`: may anything else be here yet?"""
        early = len(r._buffer)   # came with the command, in one read
        await asyncio.sleep(WAIT)
        extra = bytes(r._buffer)
        if not extra:
            return
        shown = extra[:60].replace(b"\r\n", b"\\r\\n")
        if after == b"DATA":
            if early and extra[:4].upper() in VERBS:
                rec(b"VIOLATION (c) command in one group after DATA: " + shown)
            else:
                rec(b"VIOLATION (b) sent after DATA before its reply was "
                    b"written: " + shown)
        elif not pipe:
            rec(b"VIOLATION (a) no PIPELINING, but sent before the reply to "
                + after + b": " + shown)
        elif after in GROUP_END:
            rec(b"VIOLATION (c) command in one group after " + after + b": "
                + shown)

    rec(b"CONNECT")
    try:
        if mode == "greet421":
            say(b"421 4.3.2 too busy, come back later")
            await flush()
            return
        if mode == "hang":
            await asyncio.sleep(30)
            return
        say(b"220 fake ESMTP")
        await flush()
        rcpt = b""
        mail_ok, rcpts_ok, quirk = False, 0, False
        declared = None
        while True:
            line = await r.readline()
            if not line:
                return
            rec(b"C: " + line.rstrip(b"\r\n"))
            verb = line[:4].upper()
            if verb == b"MAIL" and pipe and r._buffer:
                rec(b"GROUP " + b" ".join([b"MAIL"] + verbs(r._buffer)))
            if verb == b"AUTH" and len(line.split()) == 2:
                await check(b"AUTH")   # the answer waits for the 334
            else:
                await check(verb)
            if verb in (b"EHLO", b"HELO"):
                say(b"250-fake")
                if pipe:
                    say(b"250-PIPELINING")
                if size_max:
                    say(b"250-SIZE %d" % size_max)
                say(b"250-AUTH PLAIN LOGIN")
                say(b"250 8BITMIME")
                mail_ok, rcpts_ok, quirk = False, 0, False
            elif verb == b"AUTH":
                if len(line.split()) == 2:
                    say(b"334 ")
                    await flush()
                    cred = await r.readline()
                    rec(b"C: " + cred.rstrip(b"\r\n"))
                    await check(b"AUTH")
                say(b"235 2.7.0 ok")
            elif verb == b"MAIL":
                state["mails"] += 1
                declared = None
                for p in line.split()[2:] if line[:10].upper() == \
                        b"MAIL FROM:" else line.split()[1:]:
                    if p.upper().startswith(b"SIZE="):
                        declared = int(p[5:])
                if mail_ok:
                    say(b"503 5.5.1 Error: nested MAIL command")
                elif size_max and declared is not None and \
                        declared > size_max:
                    say(b"552 5.3.4 Message size exceeds fixed limit")
                elif state["mails"] in mail451:
                    say(b"451 4.3.0 sender check failed, try later")
                elif state["mails"] in mail421:
                    say(b"421 4.7.0 too many messages, closing")
                    await flush()
                    return
                else:
                    say(b"250 2.1.0 ok")
                    mail_ok, rcpts_ok, quirk = True, 0, False
            elif verb == b"RCPT":
                rcpt = line.split(b":", 1)[1].strip().strip(b"<>").split(b"@")[0]
                if not mail_ok:
                    say(b"503 5.5.1 Error: need MAIL command")
                elif rcpt == b"r550":
                    say(b"550 5.1.1 <r550>: no such user")
                elif rcpt == b"q354":
                    say(b"550 5.1.1 <q354>: no such user")
                    quirk = True
                elif rcpt == b"r451":
                    say(b"451 4.3.0 try again later")
                elif rcpt == b"r452":
                    say(b"452 4.5.3 too many recipients")
                elif rcpt == b"m421":
                    say(b"421 4.7.0 slow down")
                    await flush()
                    return
                else:
                    say(b"250 2.1.5 ok")
                    rcpts_ok += 1
            elif verb == b"DATA":
                if not mail_ok:
                    say(b"503 5.5.1 Error: need RCPT command")
                elif rcpts_ok == 0 and not quirk:
                    say(b"554 5.5.1 Error: no valid recipients")
                    mail_ok = False
                else:
                    say(b"354 go ahead")
                    await flush()
                    data = b""
                    while True:
                        dl = await r.readline()
                        if not dl:
                            return
                        if dl == b".\r\n":
                            break
                        data += dl
                    if r._buffer:
                        rec(b"AFTER-DOT " + b" ".join(verbs(r._buffer)))
                    await check(b"the final dot")
                    mail_ok = False
                    if rcpts_ok == 0:
                        rec(b"DATA-EMPTY")
                        if data:
                            rec(b"VIOLATION (d) a body after the 354 to a "
                                b"DATA with no accepted recipient: %d bytes"
                                % len(data))
                        say(b"554 5.5.1 Error: no valid recipients")
                        await replied()
                        continue
                    state["msgs"] += 1
                    n = state["msgs"]
                    with open(os.path.join(logdir, "msg-%d.raw" % n),
                              "wb") as f:
                        f.write(data)
                    eml = b"".join(ln[1:] if ln.startswith(b".") else ln
                                   for ln in data.splitlines(True))
                    with open(os.path.join(logdir, "msg-%d.eml" % n),
                              "wb") as f:
                        f.write(eml)
                    rec(b"DATA-END")
                    if declared is not None:
                        rec(b"SIZE-MATCH %d" % len(eml)
                            if declared == len(eml) else
                            b"SIZE-MISMATCH declared %d, got %d"
                            % (declared, len(eml)))
                    if size_max and len(eml) > size_max:
                        rcpt = b"big"
                        say(b"552 5.3.4 Message size exceeds fixed limit")
                    if rcpt not in (b"d451", b"d554", b"d421", b"drop",
                                    b"hangdot", b"big"):
                        rec(b"STORED %s %d" % (rcpt, n))
                    if rcpt == b"big":
                        pass
                    elif rcpt == b"d451":
                        say(b"451 4.3.0 queue full")
                    elif rcpt == b"d554":
                        say(b"554 5.7.1 rejected as spam")
                    elif rcpt == b"d421":
                        say(b"421 4.3.2 shutting down")
                        await flush()
                        return
                    elif rcpt == b"drop":
                        return
                    elif rcpt == b"hangdot":
                        await asyncio.sleep(30)
                        return
                    else:
                        say(b"250 2.0.0 queued as %d" % n)
            elif verb == b"RSET" or verb == b"NOOP":
                if verb == b"RSET":
                    mail_ok, rcpts_ok, quirk = False, 0, False
                say(b"250 ok")
            elif verb == b"QUIT":
                say(b"221 bye")
                await flush()
                return
            else:
                say(b"502 5.5.2 what?")
            await replied()
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
