#!/usr/bin/python3
"""A minimal SMTP sink for `make bench`: accepts everything on 127.0.0.1,
counts messages, stores nothing.  Plain asyncio, no aiosmtpd, so that the
sink is not what is measured.  Usage: sink.py PORTFILE; stops on SIGTERM or
after an hour."""
import asyncio
import signal
import socket
import sys

count = 0


async def session(reader, writer):
    global count
    # no Nagle: small replies go out at once, whoever the client is
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    w = writer.write
    w(b"220 sink ESMTP\r\n")
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            cmd = line[:4].upper()
            if cmd in (b"EHLO",):
                w(b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 100000000\r\n")
            elif cmd == b"DATA":
                w(b"354 go\r\n")
                while True:
                    l = await reader.readline()
                    if not l or l == b".\r\n":
                        break
                count += 1
                w(b"250 ok\r\n")
            elif cmd == b"QUIT":
                w(b"221 bye\r\n")
                break
            else:
                w(b"250 ok\r\n")
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


async def main():
    srv = await asyncio.start_server(session, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    with open(sys.argv[1], "w") as f:
        f.write(str(port))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), 3600)
    except asyncio.TimeoutError:
        pass
    print(count, file=sys.stderr)


asyncio.run(main())
