"""Readers leave through `herald serve`, end to end with real parts: the
server started here on a run-time port, curl as the client, headless
Chromium pressing the confirm button, a real SMTP sink for `send`.

- every message's List-Unsubscribe https link is the link in both parts'
  footers, and its token is AES-128-SIV of "LIST\\0ADDRESS" (decrypted here
  with the `cryptography` package, not with herald);
- GET changes nothing; a one-click POST (urlencoded and multipart, RFC
  8058) and the form POST suppress; a second POST is harmless; a forged
  token and a POST without the one-click field get 400 and record nothing;
- the next preview and send skip exactly the suppressed readers, and
  status counts them.
"""
import base64
import email.parser
import email.policy
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sendkit import Checks, Site, delivered, fixture, out, server  # noqa: E402
import servekit  # noqa: E402

C = Checks()
TMP = tempfile.mkdtemp(prefix="herald-unsub-")
CURL = shutil.which("curl")


def curl(*args):
    """(status, body) of one curl request."""
    p = subprocess.run([CURL, "-s", "-S", "--max-time", "20", "-o", "-",
                        "-w", "\n%{http_code}"] + list(args),
                       capture_output=True, timeout=60)
    body, _, code = p.stdout.decode("utf-8", "replace").rpartition("\n")
    return int(code or 0), body


def suppressed(site):
    p = fixture.run(["unsubscribe", "--list", site.list,
                     "--list-suppressed", "--json", "--config",
                     os.path.join(site.dir, "herald.yml")], site.dir)
    if p.returncode != 0:
        C.ok(False, "list-suppressed: " + out(p))
        return {}
    return {r["email"]: r for r in json.loads(p.stdout)["suppressed"]}


def parse(path):
    with open(path, "rb") as f:
        return email.parser.BytesParser(policy=email.policy.strict).parse(f)


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def check_links(site, path, addr):
    """Header link == both footers; token decrypts to (list, addr)."""
    msg = parse(path)
    lu = str(msg["List-Unsubscribe"])
    https = re.findall(r"<(https://[^>]+)>", lu)
    mailto = re.findall(r"<(mailto:[^>]+)>", lu)
    C.eq(len(https), 1, "one https link in List-Unsubscribe of " + addr)
    if not https:
        return None
    url = https[0]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    C.ok(url in text.split(), "text footer carries the header's link: " + addr)
    hrefs = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', html)]
    C.ok(url in hrefs, "HTML footer carries the header's link: " + addr)
    tok = re.search(r"[?&]token=([A-Za-z0-9_-]+)$", url).group(1)
    C.ok(mailto and mailto[0].endswith("unsubscribe%20" + tok),
         "mailto carries the same token")
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESSIV
    except ImportError:
        return url
    raw = b64url(tok)
    key = open(os.path.join(site.dir, ".herald", "secret"), "rb").read()
    pt = AESSIV(key).decrypt(raw[5:], [raw[:5]])
    C.eq(pt, b"test\0" + addr.encode(), "token decrypts to list and address")
    C.ok(addr.encode() not in raw and addr.split("@")[0].encode() not in tok.encode(),
         "address not readable in the token")
    return url


def preview(site, name):
    d = os.path.join(site.dir, name)
    p = fixture.run(["preview", site.post, "--list", site.list, "--out", d,
                     "--config", os.path.join(site.dir, "herald.yml")],
                    site.dir)
    C.eq(p.returncode, 0, "preview: " + out(p))
    return d, p


def main():
    if CURL is None:
        fixture.skip("curl not installed")
    with server(TMP, "sink") as srv:
        site = Site("smtp://127.0.0.1:%d" % srv.port, n=8)
        d, _ = preview(site, "out1")
        urls = {}
        for a in site.addrs:
            urls[a] = check_links(site, os.path.join(d, a + ".eml"), a)
        C.ok(len(set(urls.values())) == len(urls), "one link per reader")

        sv = servekit.Serve(site.dir, "--rate", "0")
        try:
            u = {a: sv.local(v) for a, v in urls.items()}
            # GET: a confirm page, nothing changes
            code, body = curl(u["user0001@example.org"])
            C.eq(code, 200, "GET")
            C.ok('method="post"' in body and "user0001@example.org" in body,
                 "GET shows a POST form")
            code, _ = curl("-I", u["user0001@example.org"])
            C.eq(code, 200, "HEAD")
            C.eq(suppressed(site), {}, "GET and HEAD change nothing")

            # one-click, urlencoded (RFC 8058 as Gmail sends it)
            code, body = curl("-X", "POST", "-d", "List-Unsubscribe=One-Click",
                              u["user0001@example.org"])
            C.eq(code, 200, "one-click POST")
            C.ok("unsubscribed" in body, "one-click page says so")
            C.ok("added back" in body, "and how to come back")
            code, _ = curl("-X", "POST", "-d", "List-Unsubscribe=One-Click",
                           u["user0001@example.org"])
            C.eq(code, 200, "second one-click POST")
            # one-click, multipart/form-data
            code, _ = curl("-F", "List-Unsubscribe=One-Click",
                           u["user0002@example.org"])
            C.eq(code, 200, "one-click multipart POST")
            # the page's form
            tok3 = u["user0003@example.org"].rsplit("token=", 1)[1]
            code, _ = curl("-d", "token=" + tok3, "-d", "confirm=yes",
                           u["user0003@example.org"])
            C.eq(code, 200, "form POST")
            # forged: one character changed; and no one-click field
            t = u["user0005@example.org"]
            forged = t[:-3] + ("A" if t[-3] != "A" else "B") + t[-2:]
            code, body = curl("-X", "POST", "-d", "List-Unsubscribe=One-Click",
                              forged)
            C.eq(code, 400, "forged token")
            C.ok("Nothing was changed" in body, "forged: says nothing changed")
            code, _ = curl("-X", "POST", "-d", "foo=bar", u["user0005@example.org"])
            C.eq(code, 400, "POST without List-Unsubscribe=One-Click")
            code, _ = curl(sv.base + "/unsubscribe")
            C.eq(code, 400, "no token")
            code, _ = curl(sv.base + "/../../etc/passwd")
            C.eq(code, 404, "no file served")
            code, _ = curl("-X", "DELETE", u["user0005@example.org"])
            C.eq(code, 405, "other methods")

            s = suppressed(site)
            C.eq(sorted(s), ["user0001@example.org", "user0002@example.org",
                             "user0003@example.org"], "suppressed set")
            C.eq(s.get("user0001@example.org", {}).get("why"), "one-click", "why 1")
            C.eq(s.get("user0002@example.org", {}).get("why"), "one-click", "why 2")
            C.eq(s.get("user0003@example.org", {}).get("why"), "form", "why 3")

            # Chromium opens the link and presses the button
            if os.path.exists(servekit.CHROMIUM):
                ch = servekit.Chromium()
                try:
                    ch.call("Page.navigate", session=True,
                            url=u["user0004@example.org"])
                    ch.wait_event("Page.loadEventFired")
                    C.ok("Unsubscribe?" in (ch.js("document.body.innerText") or ""),
                         "Chromium shows the confirm page")
                    C.ok("user0004@example.org" not in suppressed(site),
                         "opening the page in a browser changes nothing")
                    box = ch.js("(()=>{const r=document.getElementById('confirm')"
                                ".getBoundingClientRect();return [r.x+r.width/2,"
                                "r.y+r.height/2]})()")
                    for kind in ("mousePressed", "mouseReleased"):
                        ch.call("Input.dispatchMouseEvent", session=True,
                                type=kind, x=box[0], y=box[1], button="left",
                                clickCount=1)
                    ch.wait_event("Page.loadEventFired")
                    txt = ch.js("document.body.innerText") or ""
                    C.ok("You are unsubscribed" in txt,
                         "Chromium: the button leads to the done page: %r" % txt[:200])
                finally:
                    ch.close()
                print("chromium: confirm page opened, button pressed")
                C.eq(suppressed(site).get("user0004@example.org", {}).get("why"),
                     "form", "Chromium's click suppressed user0004")
            else:
                print("note: chromium not installed; click not tested")
        finally:
            rc, err = sv.stop()
        C.eq(rc, 0, "serve stops cleanly on SIGTERM: " + err[-500:])
        # by hand: --token (a forged one refused), export, import
        conf = ["--config", os.path.join(site.dir, "herald.yml")]
        tok5 = urls["user0005@example.org"].rsplit("token=", 1)[1]
        p = fixture.run(["unsubscribe", "--token", tok5[:-1] + ("A" if tok5[-1] != "A" else "B")] + conf, site.dir)
        C.eq(p.returncode, 65, "--token with a forged token: " + out(p))
        p = fixture.run(["unsubscribe", "--token", tok5] + conf, site.dir)
        C.eq(p.returncode, 0, "--token: " + out(p))
        C.eq(suppressed(site).get("user0005@example.org", {}).get("why"), "manual",
             "--token suppresses user0005")
        p = fixture.run(["unsubscribe", "--list", site.list, "--export", "-"] + conf, site.dir)
        import csv
        import io
        rows = list(csv.DictReader(io.StringIO(p.stdout.decode())))
        C.eq(sorted(r["email"] for r in rows), sorted(suppressed(site)),
             "export lists every suppression (read with Python's csv)")
        exp = os.path.join(site.dir, "exported.csv")
        with open(exp, "wb") as f:
            f.write(p.stdout)
        p = fixture.run(["unsubscribe", "--list", "other", "--import", exp] + conf, site.dir)
        C.ok(p.returncode == 0 and ("%d suppressed" % len(rows)) in out(p),
             "import into another list: " + out(p))
        gone = set(suppressed(site))

        # the next preview and send skip exactly them
        d2, p = preview(site, "out2")
        got = {os.path.basename(f)[:-4] for f in glob.glob(os.path.join(d2, "*.eml"))}
        C.eq(got, set(site.addrs) - gone, "preview skips the suppressed")
        C.ok(("skipped %d suppressed" % len(gone)) in out(p),
             "preview says how many it skipped: " + out(p))
        p = site.send("--allow-past")
        C.eq(p.returncode, 0, "send: " + out(p))
        C.eq(set(delivered(srv)), set(site.addrs) - gone, "send skips the suppressed")
        st = site.status("--json")
        counts = json.loads(st.stdout)["counts"] if st.returncode == 0 else {}
        C.eq(counts.get("suppressed"), len(gone), "status counts them")
        C.eq(counts.get("sent"), len(site.addrs) - len(gone), "status: sent")
    shutil.rmtree(TMP, ignore_errors=True)
    C.done()


if __name__ == "__main__":
    main()
