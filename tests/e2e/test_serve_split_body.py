"""`herald serve`: the RFC 8058 field is judged on its whole value, however
the body arrives over TCP.

libmicrohttpd hands a form value over in pieces when the body comes in
pieces.  "List-Unsubscribe=One-ClickX" must be refused even when "X"
arrives later (RFC 8058 3.1: the body is exactly
"List-Unsubscribe=One-Click"), and "One-" then "Click" must be accepted.
Oracle: the status line read from the socket, and `unsubscribe
--list-suppressed --json` parsed by Python's json.
"""
import json
import os
import re
import shutil
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture  # noqa: E402
import servekit  # noqa: E402

READERS = ["split-bad@example.org", "split-good@example.org",
           "whole@example.org"]


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def post_in_pieces(port, tok, pieces):
    body = b"".join(pieces)
    head = ("POST /unsubscribe?token=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n"
            % (tok, len(body))).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(head)
        for p in pieces:
            time.sleep(0.3)
            s.sendall(p)
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        return buf.split(b"\r\n", 1)[0].decode("latin-1")
    finally:
        s.close()


def main():
    d = fixture.make_site()
    sv = None
    try:
        with open(os.path.join(d, "lists", "split.csv"), "w") as f:
            f.write("email\n" + "\n".join(READERS) + "\n")
        with open(os.path.join(d, "2099-01-01-split.md"), "w") as f:
            f.write("---\ntitle: Split\n---\n\nHello.\n")
        p = fixture.run(["preview", "2099-01-01-split.md", "--list",
                         "lists/split.csv", "--out", "out"], d)
        if p.returncode != 0:
            fail("preview: " + p.stderr.decode())
        toks = {}
        for a in READERS:
            raw = open(os.path.join(d, "out", a + ".eml"), "rb").read()
            m = re.search(rb"unsubscribe\?token=([A-Za-z0-9_-]+)", raw)
            if not m:
                fail("no token in " + a)
            toks[a] = m.group(1).decode()
        sv = servekit.Serve(d, "--rate", "0")
        got = post_in_pieces(sv.port, toks["split-bad@example.org"],
                             [b"List-Unsubscribe=One-Click", b"X"])
        if " 400 " not in got + " ":
            fail("One-Click then X: want 400, got %r" % got)
        got = post_in_pieces(sv.port, toks["split-good@example.org"],
                             [b"List-Unsubscribe=One-", b"Click"])
        if " 200 " not in got + " ":
            fail("One- then Click: want 200, got %r" % got)
        got = post_in_pieces(sv.port, toks["whole@example.org"],
                             [b"List-Unsubscribe=One-Click"])
        if " 200 " not in got + " ":
            fail("One-Click in one piece: want 200, got %r" % got)
        sv.stop()
        sv = None
        p = fixture.run(["unsubscribe", "--list", "split",
                         "--list-suppressed", "--json"], d)
        if p.returncode != 0:
            fail("list-suppressed: " + p.stderr.decode())
        who = sorted(r["email"] for r in
                     json.loads(p.stdout.decode())["suppressed"])
        if who != ["split-good@example.org", "whole@example.org"]:
            fail("suppressed %r, want the two good POSTs only" % who)
    finally:
        if sv is not None:
            sv.stop()
        shutil.rmtree(d, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
