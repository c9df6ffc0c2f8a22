"""Every post in ../shared/real-posts/ (Flux, OpenTelemetry and Rust blog
posts as their sites publish them: Hugo shortcodes, a site shortcode with
a template, others with a policy, TOML front matter, YAML anchors) passes
`check` and `preview`; every message passes check_eml.py and Python's
strict parser; no shortcode, Liquid or kramdown syntax is left in either
part outside code; and the parts hold what tests/data/real-posts/NAME.expect
says they should (written by hand from the post's source and what
Hugo/Zola would show, not from herald's output; a post without one is a
failure).  Skipped (77) without ../shared/real-posts."""
import glob
import html as htmllib
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import fixture  # noqa: E402

DATA = os.path.join(fixture.SRC, "tests", "data", "real-posts")

CONFIG = fixture.CONFIG + """\
shortcodes:
  alert: inner      # Docsy's callout: keep what it says
  gallery: drop     # an image gallery of the page bundle
"""

LIST = """email,name,timezone,locale,format
ann@example.org,Ann,Europe/London,en-GB,html
bo@example.org,Bo,America/New_York,en-US,text
"""

# Syntax that must never reach a reader (outside code).
LEFTOVERS = [
    (re.compile(r"\{\{[<%]"), "Hugo shortcode opening"),
    (re.compile(r"[>%]\}\}"), "Hugo shortcode closing"),
    (re.compile(r"\{%-?\s*\w"), "Liquid/Zola tag"),
    (re.compile(r"\{\{-?\s*[\w.$]"), "Liquid/Go template output"),
    (re.compile(r"\{:\s*[.#\w]"), "kramdown attribute list"),
    (re.compile(r"\{::"), "kramdown extension"),
]

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL " + msg)


def strip_code_html(h):
    h = re.sub(r"<pre\b.*?</pre>", " ", h, flags=re.S)
    return re.sub(r"<code\b.*?</code>", " ", h, flags=re.S)


def strip_code_text(t):
    out = []
    for line in t.split("\n"):
        if line.startswith("    "):
            continue            # code blocks are indented four spaces
        out.append(re.sub(r"`[^`\n]*`", " ", line))
    return "\n".join(out)


def check_leftovers(name, part, body):
    for rx, what in LEFTOVERS:
        m = rx.search(body)
        if m:
            s = max(0, m.start() - 40)
            fail(f"{name} {part}: {what} left: {body[s:m.end() + 40]!r}")


def check_expect(name, text, html):
    path = os.path.join(DATA, name[:-3] + ".expect")
    if not os.path.exists(path):
        return False
    plain_html = htmllib.unescape(html) if html else ""
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        kind, _, want = line.partition(": ")
        neg = kind.startswith("!")
        kind = kind.lstrip("!")
        targets = {"html": [("html", html)], "text": [("text", text)],
                   "htmltext": [("html text", plain_html)],
                   "both": [("html", plain_html), ("text", text)]}.get(kind)
        if targets is None:
            fail(f"{path}:{n}: unknown kind {kind!r}")
            continue
        for part, body in targets:
            # the text part is wrapped at 72 columns: compare words
            flat = " ".join((body or "").split())
            found = want in (body or "") or " ".join(want.split()) in flat
            if found == neg:
                fail(f"{path}:{n}: {part} part {'has' if neg else 'lacks'} "
                     f"{want!r}")
    return True


def main():
    posts = sorted(glob.glob(os.path.join(fixture.SHARED, "real-posts",
                                          "*.md")))
    posts = [p for p in posts if os.path.basename(p) != "README.md"]
    if not posts:
        fixture.skip("no ../shared/real-posts")
    d = fixture.make_site(CONFIG)
    try:
        shutil.copytree(os.path.join(DATA, "templates", "shortcodes"),
                        os.path.join(d, "templates", "shortcodes"))
        with open(os.path.join(d, "lists", "l.csv"), "w") as f:
            f.write(LIST)
        expected = 0
        for post in posts:
            name = os.path.basename(post)
            # a fixed date for posts whose date is neither in the front
            # matter nor in the file name
            args = ["--list", "lists/l.csv", "--date", "2026-12-01"]
            r = fixture.run(["check", post] + args, d)
            if r.returncode != 0:
                fail(f"{name}: check exit {r.returncode}: "
                     f"{r.stderr.decode().strip()}")
                continue
            out = os.path.join(d, "out-" + name[:-3])
            r = fixture.run(["preview", post, "--out", out] + args, d)
            if r.returncode != 0:
                fail(f"{name}: preview exit {r.returncode}: "
                     f"{r.stderr.decode().strip()}")
                continue
            files = sorted(glob.glob(os.path.join(out, "*.eml")))
            if len(files) != 2:
                fail(f"{name}: {len(files)} messages, want 2")
                continue
            for f, errs in fixture.check_eml(files):
                fail(f"{name}: check_eml {os.path.basename(f)}: {errs}")
            text = html = None
            for f in files:
                try:
                    msg = fixture.parse_strict(f)
                except Exception as e:  # noqa: BLE001 - report and go on
                    fail(f"{name}: strict parse: {e}")
                    continue
                t, h = fixture.parts(msg)
                if t is not None:
                    check_leftovers(name, "text", strip_code_text(t))
                    text = text or t
                if h is not None:
                    check_leftovers(name, "html",
                                    htmllib.unescape(strip_code_html(h)))
                    html = html or h
            if text is None or html is None:
                fail(f"{name}: want a text and an HTML part")
                continue
            if check_expect(name, text, html):
                expected += 1
        if expected < len(posts):
            fail(f"only {expected} of {len(posts)} posts have expectations")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print(f"{len(failures)} failures")
        sys.exit(1)
    print(f"ok: {len(posts)} real posts")


if __name__ == "__main__":
    main()
