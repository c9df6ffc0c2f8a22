"""`herald serve` under bounded load and abuse, on 127.0.0.1 at a run-time
port: 10,000 requests from 50 clients (GET, one-click POST, forged tokens)
are every one answered with the right status; malformed, oversized and
half-sent requests get an error (or are cut off) without harming the next
request; the per-client rate limit answers 429."""
import http.client
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture  # noqa: E402
import servekit  # noqa: E402

CLIENTS = 50
PER_CLIENT = 200          # 10,000 requests in all
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def site_with_tokens(n):
    d = fixture.make_site()
    with open(os.path.join(d, "lists", "load.csv"), "w") as f:
        f.write("email\n")
        for i in range(n):
            f.write("reader%03d@example.org\n" % i)
    post = os.path.join(d, "2099-01-01-load.md")
    with open(post, "w") as f:
        f.write("---\ntitle: Load\n---\n\nHello.\n")
    p = fixture.run(["preview", post, "--list", "lists/load.csv", "--out",
                     "out"], d)
    if p.returncode != 0:
        fail("preview: " + p.stderr.decode())
        return d, {}
    toks = {}
    for i in range(n):
        a = "reader%03d@example.org" % i
        raw = open(os.path.join(d, "out", a + ".eml"), "rb").read().decode()
        toks[a] = re.search(r"https://example\.org/unsubscribe\?token=([A-Za-z0-9_-]+)",
                            raw).group(1)
    return d, toks


def raw_request(port, data, read=True, timeout=10):
    """Send bytes, return the status line (or '' if the server closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if not read:
            return s
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        return buf.split(b"\r\n", 1)[0].decode("latin-1")
    except (ConnectionResetError, BrokenPipeError):
        return ""
    finally:
        if read:
            s.close()


def good_get(port, tok):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/unsubscribe?token=" + tok)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


def main():
    d, toks = site_with_tokens(60)
    if not toks:
        sys.exit(1)
    addrs = sorted(toks)
    sv = servekit.Serve(d, "--rate", "0")
    counts = {}
    lock = threading.Lock()
    t0 = time.monotonic()
    try:
        def client(k):
            c = http.client.HTTPConnection("127.0.0.1", sv.port, timeout=30)
            mine = {}
            for i in range(PER_CLIENT):
                a = addrs[(k * PER_CLIENT + i) % len(addrs)]
                kind = i % 4
                try:
                    if kind == 0 or kind == 1:
                        c.request("GET", "/unsubscribe?token=" + toks[a])
                        want = 200
                    elif kind == 2:
                        # readers 0..29 leave, the rest only look
                        a = addrs[(k + i // 4) % len(addrs)]
                        if int(a[6:9]) < 30:
                            c.request("POST", "/unsubscribe?token=" + toks[a],
                                      body="List-Unsubscribe=One-Click",
                                      headers={"Content-Type":
                                               "application/x-www-form-urlencoded"})
                        else:
                            c.request("GET", "/unsubscribe?token=" + toks[a])
                        want = 200
                    else:
                        t = toks[a]
                        bad = t[:i % len(t)] + t[i % len(t) + 1:]   # one char dropped
                        c.request("POST", "/unsubscribe?token=" + bad,
                                  body="List-Unsubscribe=One-Click",
                                  headers={"Content-Type":
                                           "application/x-www-form-urlencoded"})
                        want = 400
                    r = c.getresponse()
                    r.read()
                    key = "ok" if r.status == want else "wrong %d (want %d)" % (r.status, want)
                except (OSError, http.client.HTTPException) as e:
                    key = "no answer: %s" % type(e).__name__
                    c.close()
                    c = http.client.HTTPConnection("127.0.0.1", sv.port, timeout=30)
                mine[key] = mine.get(key, 0) + 1
            c.close()
            with lock:
                for k2, v in mine.items():
                    counts[k2] = counts.get(k2, 0) + v

        ths = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
        for t in ths:
            t.start()
        for t in ths:
            t.join(timeout=300)
        secs = time.monotonic() - t0
        total = sum(counts.values())
        print("load: %d requests from %d clients in %.1fs (%.0f/s): %s" % (
            total, CLIENTS, secs, total / secs, counts), flush=True)
        if total != CLIENTS * PER_CLIENT:
            fail("requests accounted for: %d of %d" % (total, CLIENTS * PER_CLIENT))
        if counts.get("ok") != CLIENTS * PER_CLIENT:
            fail("every request answered with the right status: %s" % counts)

        p = fixture.run(["unsubscribe", "--list", "load", "--list-suppressed"], d)
        got = sorted(l.split()[0] for l in p.stdout.decode().splitlines())
        want = ["reader%03d@example.org" % i for i in range(30)]
        if got != want:
            fail("exactly readers 0-29 suppressed, got %d: %s" % (len(got), got[:5]))

        # abuse, each followed by a good request
        tok = toks[addrs[40]]
        cases = [
            ("no HTTP version", b"GET /unsubscribe\r\n\r\n", ("400", "")),
            ("header too large", b"GET /unsubscribe?token=" + tok.encode() +
             b" HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n",
             ("431", "413", "400", "")),
            ("url too long", b"GET /unsubscribe?token=" + b"A" * 50000 +
             b" HTTP/1.1\r\nHost: x\r\n\r\n", ("414", "431", "400", "")),
            ("body too large", b"POST /unsubscribe?token=" + tok.encode() +
             b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
             b"\r\nContent-Length: 100000\r\n\r\n" + b"a" * 100000, ("413",)),
            ("chunked body too large", b"POST /unsubscribe?token=" + tok.encode() +
             b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
             b"\r\nTransfer-Encoding: chunked\r\n\r\n" +
             (b"1000\r\n" + b"a" * 4096 + b"\r\n") * 3 + b"0\r\n\r\n", ("413",)),
            ("bad content length", b"POST /unsubscribe HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: -5\r\n\r\n", ("400", "413", "")),
        ]
        # NUL in the request line: libmicrohttpd answers nothing and drops
        # the connection at its 10 s idle timeout; meanwhile (checked below)
        # the others are answered
        garbage = raw_request(sv.port, b"\x00\x01BLAH BLAH\r\n\r\n", read=False)
        for name, data, ok_lines in cases:
            line = raw_request(sv.port, data, timeout=20)
            code = line.split(" ")[1] if line.count(" ") >= 1 else ""
            if code not in ok_lines:
                fail("%s: got %r, want one of %s" % (name, line, ok_lines))
            st = good_get(sv.port, tok)
            if st != 200:
                fail("after %s the next request got %d" % (name, st))
        garbage.settimeout(0.5)
        try:
            got = garbage.recv(4096)
        except socket.timeout:
            got = b""          # still held: it costs nobody anything
        garbage.close()
        if not (got == b"" or got.startswith(b"HTTP/1.1 400")):
            fail("garbage: got %r, want 400 or a close" % got[:40])
        if good_get(sv.port, tok) != 200:
            fail("after garbage the next request failed")
        # a client that sends half a request and stalls holds nobody up
        stalled = [raw_request(sv.port, b"GET /unsubscribe?tok", read=False)
                   for _ in range(20)]
        t = time.monotonic()
        st = good_get(sv.port, tok)
        if st != 200 or time.monotonic() - t > 2:
            fail("with 20 stalled clients: %d in %.1fs" % (st, time.monotonic() - t))
        for s in stalled:
            s.close()
        p = fixture.run(["unsubscribe", "--list", "load", "--list-suppressed"], d)
        if addrs[40] in p.stdout.decode():
            fail("the abuse recorded something")
    finally:
        rc, err = sv.stop()
    if rc != 0:
        fail("serve exit %d: %s" % (rc, err[-500:]))

    # the rate limit: 12 a minute per client, burst 12
    sv = servekit.Serve(d, "--rate", "12")
    try:
        codes = [good_get(sv.port, toks[addrs[1]]) for _ in range(20)]
        if codes[:12] != [200] * 12 or 429 not in codes[12:]:
            fail("rate limit: %s" % codes)
    finally:
        sv.stop()
    import shutil
    shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
