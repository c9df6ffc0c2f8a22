"""shared/tools/check_eml.py reports no error for any message `herald
preview` writes: the demo (example post, lists/example.csv) and the
reference post.  Skipped (77) where ../shared is absent."""
import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import fixture  # noqa: E402


def main():
    if not os.path.exists(fixture.CHECK_EML):
        fixture.skip("no shared/tools/check_eml.py")
    posts = [os.path.join(fixture.SRC, "doc", "examples", "2027-11-22-async-office-hours.md")]
    posts += sorted(glob.glob(os.path.join(fixture.SHARED, "posts", "*.md")))
    d = fixture.make_site()
    try:
        shutil.copy(os.path.join(fixture.SRC, "lists", "example.csv"), os.path.join(d, "lists"))
        total = 0
        for i, post in enumerate(posts):
            out = f"out{i}"
            r = fixture.run(["preview", post, "--list", "lists/example.csv", "--out", out], d)
            fixture.check(r.returncode == 0, (post, r.stderr.decode()))
            files = sorted(glob.glob(os.path.join(d, out, "*.eml")))
            fixture.check(files, post)
            bad = fixture.check_eml(files)
            fixture.check(not bad, bad)
            for f in files:
                fixture.parse_strict(f)
            total += len(files)
        print(f"ok: {total} messages pass check_eml.py and policy=strict")
        return 0
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
