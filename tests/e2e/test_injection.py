#!/usr/bin/python3
"""Injection corpus (issue 11): every payload of
tests/data/injection/payloads.txt (>= 200) in every field bound for a
header, the SMTP envelope, HTML or a URL.

1. List fields: one `send` through the fault-injecting SMTP server with a
   row per payload (name and a custom column the test's templates show in
   both parts).  Rows holding a line break or NUL must make herald refuse
   the list (checked per payload); the others are sent together.
2. Post and config fields: per payload, one `preview` with the payload as
   title, summary, body text, link text and link URL, site.title and the
   From display name.  Either herald refuses with one error line and
   writes nothing, or every message passes the checks below.
3. Envelope: per base payload, a one-row list whose address carries it,
   sent at the fault server.

Checks (oracles: Python's email parser, html.parser and the server's wire
log): zero extra headers (each message has exactly the header names of a
benign baseline message, once each), To/From/envelope addresses are the
row's and the sender's, zero extra SMTP commands (MAIL FROM = RCPT TO =
DATA = messages stored, no other verbs but EHLO/QUIT), zero unescaped
HTML (no tag, attribute or URL scheme in the HTML part that the baseline
lacks; no javascript:/vbscript:/data: URL).
"""
import concurrent.futures
import csv
import io
import json
import os
import re
import shutil
import sys
import tempfile
from email import policy
from email.parser import BytesParser
from html.parser import HTMLParser

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "lib"))
import fixture  # noqa: E402

try:
    from faultsmtp import FaultServer, Log  # noqa: E402
except ImportError as e:
    fixture.skip("faultsmtp unavailable: %s" % e)

PAYLOADS = os.path.join(fixture.SRC, "tests", "data", "injection", "payloads.txt")
PROBLEMS = []
OK_VERBS = {"EHLO", "HELO", "MAIL FROM", "RCPT TO", "DATA", "QUIT", "RSET", "NOOP"}
BAD_SCHEME = re.compile(r"^\s*(javascript|vbscript|data):", re.I)


def problem(msg):
    PROBLEMS.append(msg)


def load_payloads():
    out = []
    with open(PAYLOADS, encoding="ascii") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#") or line == "":
                continue
            out.append(line.encode("ascii").decode("unicode_escape"))
    return out


class Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.bad = set(), set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for k, v in attrs:
            self.attrs.add((tag, k))
            if v and BAD_SCHEME.search(v):
                self.bad.append("%s %s=%r" % (tag, k, v))

    handle_startendtag = handle_starttag


def html_of(msg):
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            return part.get_content()
    return None


def inspect(raw, base, what, rcpt=None):
    """Header names, addresses and HTML of one message against base."""
    try:
        msg = BytesParser(policy=policy.strict).parsebytes(raw)
    except Exception as ex:  # strict parser refused it
        problem("%s: strict parser: %s" % (what, ex))
        return
    names = [k.lower() for k in msg.keys()]
    if sorted(names) != base["names"]:
        problem("%s: header names %s, want %s" % (what, sorted(names), base["names"]))
    for k in ("to", "from"):
        v = msg.get(k)
        addrs = [a.addr_spec for a in v.addresses] if v is not None else []
        want = [rcpt] if k == "to" and rcpt else base[k]
        if k == "to" and rcpt is None:
            want = base["to"]
        if addrs != want:
            problem("%s: %s addresses %r, want %r" % (what, k, addrs, want))
    h = html_of(msg)
    if (h is None) != (base["tags"] is None):
        problem("%s: HTML part present=%s" % (what, h is not None))
    if h is not None and base["tags"] is not None:
        t = Tags()
        t.feed(h)
        extra = (t.tags - base["tags"]) | {"%s[%s]" % a for a in t.attrs - base["attrs"]}
        if extra:
            problem("%s: unescaped HTML: %s" % (what, sorted(extra)))
        if t.bad:
            problem("%s: dangerous URL: %s" % (what, t.bad))


def baseline(raw):
    msg = BytesParser(policy=policy.strict).parsebytes(raw)
    h = html_of(msg)
    b = {"names": sorted(k.lower() for k in msg.keys()),
         "to": [a.addr_spec for a in msg["to"].addresses],
         "from": [a.addr_spec for a in msg["from"].addresses],
         "tags": None, "attrs": None}
    if h is not None:
        t = Tags()
        t.feed(h)
        b["tags"], b["attrs"] = t.tags, t.attrs
    return b


def templates(site):
    """Show subscriber.name and subscriber.note in both parts."""
    for name, add in (("default.html", "<p>{{subscriber.name}} {{subscriber.note}}</p>\n"),
                      ("default.txt", "{{subscriber.name}} {{subscriber.note}}\n")):
        p = os.path.join(site, "templates", name)
        with open(p) as f:
            s = f.read()
        if name.endswith(".html"):
            s = s.replace("</body>", add + "</body>", 1)
        else:
            s += add
        with open(p, "w") as f:
            f.write(s)


# The body also holds the Markdown a payload may legitimately form from
# plain text (a code span, emphasis), so the baseline knows those tags.
POST = ("---\ntitle: %s\nsummary: %s\ndate: 2030-01-07\n---\n\nHello %s.\n\n"
        "[%s](%s) and [site](https://example.org/a \"Title\"), `code`, *em*, **strong**.\n")


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["email", "name", "note"])
        w.writerows(rows)


def config(url, title="Weekly", name="Async WG"):
    return ("site:\n  title: %s\n  base_url: https://blog.example.org\n"
            "from: %s\nunsubscribe:\n  url: https://example.org/unsubscribe\n"
            "  mailto: unsubscribe@example.org\nsmtp:\n  url: %s\n"
            % (json.dumps(title), json.dumps("%s <news@example.org>" % name), url))


def has_break(p):
    return any(c in p for c in "\r\n\x00")


def main():
    payloads = load_payloads()
    if len(payloads) < 200:
        print("FAIL: only %d payloads" % len(payloads))
        return 1
    tmp = tempfile.mkdtemp(prefix="test_injection.")
    sites = []
    try:
        with FaultServer(maildir=os.path.join(tmp, "Maildir"),
                         log=os.path.join(tmp, "wire.jsonl"),
                         max_seconds=600) as srv:
            site = fixture.make_site(config(srv.url))
            sites.append(site)
            templates(site)
            with open(os.path.join(site, "post.md"), "w") as f:
                f.write(POST % ("Benign", "Benign", "world", "link", "https://example.org/x"))
            # baseline: a benign row
            write_csv(os.path.join(site, "lists", "base.csv"),
                      [["base@example.org", "Ann Lee", "a note"]])
            r = fixture.run(["preview", "post.md", "--list", "lists/base.csv", "--out", "bout"], site)
            if r.returncode != 0:
                print("FAIL: baseline preview: " + r.stderr.decode())
                return 1
            with open(os.path.join(site, "bout", "base@example.org.eml"), "rb") as f:
                base = baseline(f.read())

            # 1. list fields, in one send
            good = [p for p in payloads if not has_break(p)]
            rows = [["r%03d@example.org" % i, p, p] for i, p in enumerate(good)]
            write_csv(os.path.join(site, "lists", "inj.csv"), rows)
            r = fixture.run(["send", "post.md", "--list", "lists/inj.csv",
                             "--concurrency", "2"], site, timeout=600)
            if r.returncode != 0:
                problem("send of %d payload rows: exit %d: %s" % (len(rows), r.returncode, r.stderr.decode()[-500:]))
            srv.wait_messages(len(rows), timeout=60)
            stored = srv.messages()
            if len(stored) != len(rows):
                problem("stored %d messages, want %d" % (len(stored), len(rows)))
            byaddr = {row[0]: row[1] for row in rows}
            for path, raw in stored:
                try:
                    msg = BytesParser(policy=policy.default).parsebytes(raw)
                    addr = msg["to"].addresses[0].addr_spec
                except Exception as ex:
                    problem("%s: To unreadable: %s" % (path, ex))
                    continue
                if addr not in byaddr:
                    problem("%s: To %r is no row's address" % (path, addr))
                    continue
                inspect(raw, base, "list row %r" % byaddr[addr], rcpt=addr)
            envs = srv.envelopes()
            for e in envs:
                if len(e["rcpt"]) != 1 or e["rcpt"][0] not in byaddr:
                    problem("envelope recipients %r" % e["rcpt"])
                if e.get("mail_from") not in (None, "news@example.org"):
                    problem("envelope sender %r" % e.get("mail_from"))
            # line-breaking payloads in a row: the list is refused, nothing sent
            before = len(srv.envelopes())
            for p in [p for p in payloads if has_break(p)]:
                write_csv(os.path.join(site, "lists", "one.csv"), [["one@example.org", p, "x"]])
                r = fixture.run(["send", "post.md", "--list", "lists/one.csv"], site)
                if r.returncode == 0:
                    problem("a name holding %r was accepted" % p)
            if len(srv.envelopes()) != before:
                problem("rows with line breaks reached the server")

            # 3. envelope: the address itself carries the payload
            bases = payloads[::3]
            for p in bases:
                for addr in ("u%s@example.org" % p, "\"u%s\"@example.org" % p):
                    write_csv(os.path.join(site, "lists", "env.csv"), [[addr, "Ann", "x"]])
                    fixture.run(["send", "post.md", "--list", "lists/env.csv"], site)
            log = Log(os.path.join(tmp, "wire.jsonl"))
            verbs = log.commands()
            nstored = len(srv.envelopes())
            other = sorted(set(verbs) - OK_VERBS)
            if other:
                problem("unexpected SMTP commands at the server: %s" % other)
            for v in ("MAIL FROM", "RCPT TO", "DATA"):
                if verbs.count(v) != nstored:
                    problem("%d %s commands for %d stored messages" % (verbs.count(v), v, nstored))
            # (a quoted local part may hold "<" and ">", RFC 5321 4.1.2
            # qtextSMTP: one RCPT line still, which the counts above show)
            for e in srv.envelopes()[len(rows):]:
                if any(c in "".join(e["rcpt"]) for c in "\r\n\x00"):
                    problem("envelope recipient %r" % e["rcpt"])
            print("list+envelope: %d messages stored, commands %s" % (
                nstored, {v: verbs.count(v) for v in sorted(set(verbs))}))

        # 2. post and config fields, one preview per payload
        def one(job):
            leg, i, p = job
            if leg == "post":
                d = fixture.make_site(config("smtp://127.0.0.1:1"))
                post = POST % (json.dumps(p), json.dumps(p), p, p, p)
            else:
                d = fixture.make_site(config("smtp://127.0.0.1:1", title=p, name=p))
                post = POST % ("T", "S", "world", "link", "https://example.org/x")
            try:
                templates(d)
                with open(os.path.join(d, "post.md"), "w", encoding="utf-8") as f:
                    f.write(post)
                write_csv(os.path.join(d, "lists", "l.csv"), [["ann@example.org", "Ann", "x"]])
                r = fixture.run(["preview", "post.md", "--list", "lists/l.csv", "--out", "out"], d)
                out = os.path.join(d, "out")
                emls = [os.path.join(out, f) for f in os.listdir(out) if f.endswith(".eml")] if os.path.isdir(out) else []
                if r.returncode != 0:
                    lines = [l for l in r.stderr.decode("utf-8", "replace").splitlines() if "warning:" not in l]
                    if len(lines) != 1 or not lines[0].startswith("herald: ") or emls:
                        problem("%s payload %d %r refused badly: %r, files %s" % (leg, i, p, lines, emls))
                    return leg + " refused"
                for f in emls:
                    with open(f, "rb") as fh:
                        inspect(fh.read(), base, "%s payload %d %r" % (leg, i, p), rcpt="ann@example.org")
                return leg + " accepted"
            finally:
                shutil.rmtree(d, ignore_errors=True)

        # post fields: every payload; config fields: every base payload
        jobs = [("post", i, p) for i, p in enumerate(payloads)]
        jobs += [("config", i, p) for i, p in enumerate(payloads) if i % 3 == 0]
        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            res = list(ex.map(one, jobs))
        for leg in ("post", "config"):
            print("%s fields: %d accepted, %d refused" % (
                leg, res.count(leg + " accepted"), res.count(leg + " refused")))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        for s in sites:
            shutil.rmtree(s, ignore_errors=True)
    for p in PROBLEMS[:40]:
        print("FAIL: " + p)
    print("%d payloads, %d problems" % (len(payloads), len(PROBLEMS)))
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main())
