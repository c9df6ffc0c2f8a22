"""herald's HTML part within the CSS Gmail keeps (issue 12), for the
reference post (../shared/posts) and every real post (../shared/real-posts),
each previewed for readers in four locales (one right-to-left):

- every inline style declaration names a property Gmail supports, or a
  listed property for another client (tests/data/css/gmail.txt, which
  cites Google's list and caniemail.com); no declaration is malformed, no
  rgb()/rgba() in whitespace syntax, no upper-case !important;
- the <style> elements sit in <head>, weigh at most Gmail's 16 KB together,
  and the rules Gmail would apply (media queries on width) are in a <style>
  of their own that holds nothing Gmail rejects (Gmail drops a whole
  <style> block it dislikes);
- the layout does not depend on <style>: in headless Chromium every
  message lays out identically with and without its <style> elements at
  700 px (light mode, no media query applies), and without them fits a
  375 px frame;
- every message passes check_eml.py.

The expected sets come from tests/data/css/gmail.txt (Google, caniemail),
CSS is parsed with tinycss2 and HTML with Python's html.parser, never by
herald.  Skipped (77) without ../shared, tinycss2 or chromium."""
import glob
import html as htmllib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

sys.path.insert(0, os.path.dirname(__file__))
import fixture  # noqa: E402

DATA = os.path.join(fixture.SRC, "tests", "data", "css", "gmail.txt")
SHORTCODES = os.path.join(fixture.SRC, "tests", "data", "real-posts",
                          "templates", "shortcodes")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

CONFIG = fixture.CONFIG + """\
shortcodes:
  alert: inner
  gallery: drop
"""

LIST = """email,name,timezone,locale,format
ann@example.org,Ann,Europe/London,en-GB,html
jo@example.de,Jo,Europe/Berlin,de-DE,html
omar@example.com,Omar,Asia/Riyadh,ar-SA,html
hana@example.jp,Hana,Asia/Tokyo,ja-JP,html
"""

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL " + msg, flush=True)


def load_rules():
    props, extra, media, limits = set(), set(), set(), {}
    with open(DATA, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            kind, name = line[0], line[1]
            if kind == "property":
                props.add(name)
            elif kind == "extra":
                extra.add(name)
            elif kind == "media":
                media.add(name)
            elif kind == "limit":
                limits[name] = int(line[2])
    if len(props) < 100 or not media or "style-bytes" not in limits:
        fixture.check(False, f"{DATA} looks truncated")
    return props, extra, media, limits


class Doc(HTMLParser):
    """Inline styles (tag, style) and <style> elements (text, in head?)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.inline, self.styles = [], []
        self.in_head = self.in_style = False
        self.buf = []

    def handle_starttag(self, tag, attrs):
        if tag == "head":
            self.in_head = True
        elif tag == "body":
            self.in_head = False
        elif tag == "style":
            self.in_style, self.buf = True, []
        for k, v in attrs:
            if k == "style" and v is not None:
                self.inline.append((tag, v))

    def handle_endtag(self, tag):
        if tag == "head":
            self.in_head = False
        elif tag == "style" and self.in_style:
            self.in_style = False
            self.styles.append(("".join(self.buf), self.in_head))

    def handle_data(self, data):
        if self.in_style:
            self.buf.append(data)


def value_problems(decl):
    """Value-level things that make Gmail drop more than the declaration."""
    out = []
    for tok in decl.value:
        if tok.type == "function" and tok.lower_name in ("rgb", "rgba"):
            if not any(t.type == "literal" and t.value == "," for t in tok.arguments):
                out.append(f"{decl.name}: {tok.lower_name}() without commas "
                           "(Gmail strips the whole style)")
    return out


def check_inline(tinycss2, name, tag, style, props, extra, seen):
    for d in tinycss2.parse_declaration_list(style, skip_comments=True,
                                             skip_whitespace=True):
        if d.type == "error":
            fail(f"{name}: <{tag} style=\"{style[:60]}\">: malformed CSS: {d.message}")
            continue
        if d.type != "declaration":
            fail(f"{name}: <{tag}>: {d.type} in a style attribute")
            continue
        seen.add(d.lower_name)
        if d.lower_name not in props and d.lower_name not in extra:
            fail(f"{name}: <{tag}> uses {d.lower_name}, which Gmail does not support")
        for p in value_problems(d):
            fail(f"{name}: <{tag}>: {p}")
    if re.search(r"!\s*IMPORTANT", style) or re.search(r"![A-Z]", style):
        fail(f"{name}: <{tag}>: !important not in lower case")


def media_features(tinycss2, prelude):
    """The feature names in a media query prelude: (max-width: 620px) -> max-width."""
    out = []
    for tok in prelude:
        if tok.type == "() block":
            inner = [t for t in tok.content if t.type not in ("whitespace", "comment")]
            if inner and inner[0].type == "ident":
                out.append(inner[0].lower_value)
    return out


def selector_ok(prelude):
    """Class, element and ID selectors only ([G]): no pseudo-classes or
    attribute selectors."""
    for tok in prelude:
        if tok.type == "literal" and tok.value == ":":
            return False
        if tok.type == "[] block":
            return False
    return True


def check_styles(tinycss2, name, styles, props, media, limits):
    total = sum(len(s.encode("utf-8")) for s, _ in styles)
    if total > limits["style-bytes"]:
        fail(f"{name}: <style> elements weigh {total} bytes, over Gmail's "
             f"{limits['style-bytes']}")
    for text, in_head in styles:
        if not in_head:
            fail(f"{name}: a <style> element outside <head> (Gmail ignores it)")
        rules = tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True)
        gmail_block = True       # holds nothing Gmail rejects
        gmail_media = False      # holds a width query Gmail would apply

        def decls_ok(content):
            ok = True
            for d in tinycss2.parse_declaration_list(content, skip_comments=True,
                                                     skip_whitespace=True):
                if d.type == "error":
                    fail(f"{name}: malformed CSS in <style>: {d.message}")
                    ok = False
                elif d.type == "declaration" and d.lower_name not in props:
                    ok = False
            return ok

        for r in rules:
            if r.type == "error":
                fail(f"{name}: malformed CSS in <style>: {r.message}")
                gmail_block = False
            elif r.type == "qualified-rule":
                if not selector_ok(r.prelude) or not decls_ok(r.content):
                    gmail_block = False
            elif r.type == "at-rule" and r.lower_at_keyword == "media":
                feats = media_features(tinycss2, r.prelude)
                if feats and all(f in media for f in feats):
                    gmail_media = True
                else:
                    gmail_block = False
                for q in tinycss2.parse_rule_list(r.content or [], skip_comments=True,
                                                  skip_whitespace=True):
                    if q.type != "qualified-rule" or not selector_ok(q.prelude) \
                            or not decls_ok(q.content):
                        gmail_block = False
            else:
                gmail_block = False
        if gmail_media and not gmail_block:
            fail(f"{name}: the narrow-screen rules share a <style> with CSS Gmail "
                 "rejects, so Gmail would drop them too")


PAGE = """<!DOCTYPE html><html><body style="margin:0">{frames}
<script>
window.addEventListener("load", function () {{
  var res = {{}};
  document.querySelectorAll("iframe").forEach(function (f) {{
    var d = f.contentDocument, r = d.documentElement;
    var boxes = Array.from(d.body.querySelectorAll("*")).map(function (e) {{
      var b = e.getBoundingClientRect();
      return [e.tagName, Math.round(b.left), Math.round(b.top),
              Math.round(b.width), Math.round(b.height)];
    }});
    res[f.id] = {{sw: Math.max(r.scrollWidth, d.body.scrollWidth),
                 iw: f.contentWindow.innerWidth, boxes: boxes}};
  }});
  document.body.setAttribute("data-m", JSON.stringify(res));
}});
</script></body></html>"""


def measure(frames, workdir):
    """frames: [(id, width, html)] -> {id: measurement} from Chromium."""
    tags = [f'<iframe id="{i}" style="display:block;width:{w}px;height:900px;border:0" '
            f'srcdoc="{htmllib.escape(h, quote=True)}"></iframe>' for i, w, h in frames]
    page = os.path.join(workdir, "frames.html")
    with open(page, "w", encoding="utf-8") as f:
        f.write(PAGE.format(frames="\n".join(tags)))
    profile = tempfile.mkdtemp(prefix="herald-chromium-")
    try:
        p = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--hide-scrollbars",
             "--blink-settings=imagesEnabled=false",
             f"--user-data-dir={profile}", "--window-size=800,900",
             "--virtual-time-budget=20000", "--dump-dom", "file://" + page],
            capture_output=True, timeout=240)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    m = re.search(r'data-m="([^"]*)"', p.stdout.decode("utf-8", "replace"))
    if not m:
        fixture.check(False, "chromium did not measure: " + p.stderr.decode()[-1500:])
    return json.loads(htmllib.unescape(m.group(1)))


def main():
    try:
        import tinycss2
    except ImportError:
        fixture.skip("python3-tinycss2 not installed")
    posts = sorted(glob.glob(os.path.join(fixture.SHARED, "posts", "*.md")))
    posts += sorted(p for p in glob.glob(os.path.join(fixture.SHARED, "real-posts", "*.md"))
                    if os.path.basename(p) != "README.md")
    if not posts:
        fixture.skip("no ../shared/posts or ../shared/real-posts")
    if not os.path.exists(CHROMIUM):
        fixture.skip("chromium not installed")
    props, extra, media, limits = load_rules()
    d = fixture.make_site(CONFIG)
    seen = set()
    frames = []
    nmsg = 0
    try:
        shutil.copytree(SHORTCODES, os.path.join(d, "templates", "shortcodes"))
        with open(os.path.join(d, "lists", "l.csv"), "w") as f:
            f.write(LIST)
        emls = []
        for k, post in enumerate(posts):
            name = os.path.basename(post)
            out = os.path.join(d, f"out{k}")
            r = fixture.run(["preview", post, "--list", "lists/l.csv", "--out", out,
                             "--date", "2026-12-01"], d)
            if r.returncode != 0:
                fail(f"{name}: preview exit {r.returncode}: {r.stderr.decode().strip()}")
                continue
            files = sorted(glob.glob(os.path.join(out, "*.eml")))
            if len(files) != 4:
                fail(f"{name}: {len(files)} messages, want 4")
            emls += files
            for f in files:
                who = f"{name} to {os.path.basename(f)[:-4]}"
                _, h = fixture.parts(fixture.parse_strict(f))
                if h is None:
                    fail(f"{who}: no HTML part")
                    continue
                nmsg += 1
                doc = Doc()
                doc.feed(h)
                doc.close()
                if not doc.styles:
                    fail(f"{who}: no <style> at all (the test would prove nothing)")
                for tag, style in doc.inline:
                    check_inline(tinycss2, who, tag, style, props, extra, seen)
                check_styles(tinycss2, who, doc.styles, props, media, limits)
                if os.path.basename(f).startswith("ann@"):
                    bare = re.sub(r"<style\b[^>]*>.*?</style>", "", h, flags=re.S | re.I)
                    frames += [(f"a{k}", 700, h), (f"b{k}", 700, bare), (f"c{k}", 375, bare)]
        for f, errs in fixture.check_eml(emls):
            fail(f"check_eml {os.path.basename(f)}: {errs}")
        # The test must be able to see what it checks.
        for p in ("color", "margin", "border-collapse", "white-space"):
            if p not in seen:
                fail(f"no inline {p} in any message: the parse found nothing")
        res = measure(frames, d)
        for k, post in enumerate(posts):
            name = os.path.basename(post)
            a, b, c = res.get(f"a{k}"), res.get(f"b{k}"), res.get(f"c{k}")
            if a is None or b is None or c is None:
                fail(f"{name}: not measured")
                continue
            if a["boxes"] != b["boxes"]:
                diff = next(((x, y) for x, y in zip(a["boxes"], b["boxes"]) if x != y),
                            (len(a["boxes"]), len(b["boxes"])))
                fail(f"{name}: the layout at 700 px changes without <style> "
                     f"(first difference: {diff})")
            if c["iw"] != 375 or c["sw"] > 375:
                fail(f"{name}: without <style> the message is {c['sw']} px wide "
                     f"in a {c['iw']} px frame")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print(f"{len(failures)} failures")
        sys.exit(1)
    print(f"ok: {nmsg} HTML parts of {len(posts)} posts within Gmail's CSS; "
          f"properties used: {', '.join(sorted(seen))}")


if __name__ == "__main__":
    main()
