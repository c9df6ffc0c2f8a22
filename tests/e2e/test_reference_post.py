"""The reference post in ../shared/posts/, unedited, previewed for
lists/example.csv: both parts of every message match the golden files in
tests/data/golden/reference/ (regenerate with HERALD_UPDATE_GOLDEN=1 after
checking the difference by eye; a missing golden fails), every reference link works, and no raw
Markdown or shortcode syntax is left.  Skipped (77) without ../shared."""
import glob
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import fixture  # noqa: E402

GOLDEN = os.path.join(fixture.SRC, "tests", "data", "golden", "reference")


def main():
    posts = sorted(glob.glob(os.path.join(fixture.SHARED, "posts", "*.md")))
    if not posts:
        fixture.skip("no ../shared/posts")
    post = posts[0]
    src = open(post, encoding="utf-8").read()
    # Reference definitions the body actually uses must all become links.
    defs = dict(re.findall(r"^\[([^\]]+)\]:\s*(\S+)", src, flags=re.M))
    used = set(re.findall(r"\]\[([^\]]+)\]", src)) | {
        k for k in defs if re.search(r"\[" + re.escape(k) + r"\](?![\[(:])", src)}
    d = fixture.make_site()
    update = os.environ.get("HERALD_UPDATE_GOLDEN") == "1"
    try:
        shutil.copy(os.path.join(fixture.SRC, "lists", "example.csv"), os.path.join(d, "lists"))
        r = fixture.run(["preview", post, "--list", "lists/example.csv", "--out", "out"], d)
        fixture.check(r.returncode == 0, r.stderr.decode())
        files = sorted(glob.glob(os.path.join(d, "out", "*.eml")))
        fixture.check(files, 'files')
        os.makedirs(GOLDEN, exist_ok=True)
        mismatches = []
        missing = []
        for f in files:
            msg = fixture.parse_strict(f)
            text, html = fixture.parts(msg)
            for part, body in (("text", text), ("html", html)):
                if body is None:
                    continue
                for raw in ("{{<", "{{%", "][", "]: http", "](http", "| --- |", "\n### "):
                    fixture.check(raw not in body, (f, part, raw))
            for key in used:
                url = defs[key]
                if html is not None:
                    fixture.check(f'href="{url}"' in html, (f, key, url))
                fixture.check(url in text, (f, key, url))
            base = os.path.join(GOLDEN, os.path.basename(f)[:-4])
            for ext, body in ((".txt", text), (".html", html)):
                if body is None:
                    continue
                g = base + ext
                if update:
                    with open(g, "w", encoding="utf-8", newline="") as out:
                        out.write(body)
                    continue
                if not os.path.exists(g):
                    # a missing golden is a failure, never written here
                    missing.append(g)
                    continue
                want = open(g, encoding="utf-8", newline="").read()
                if want != body:
                    mismatches.append(g)
        fixture.check(not missing, "golden missing (make it with "
                      "HERALD_UPDATE_GOLDEN=1 and check it by eye): " +
                      ", ".join(missing))
        fixture.check(not mismatches, "differs from golden: " + ", ".join(mismatches))
        print(f"ok: {len(files)} messages match the goldens")
        return 0
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
