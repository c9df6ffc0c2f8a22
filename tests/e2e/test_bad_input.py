"""Bad input: each tests/data/cli/*.case is one case.  herald must print one
line naming the file (and line), exit with the expected code, and leave no
output behind.

Case file format: header lines `args:`, `exit:`, `stderr:` (a regex the one
stderr line must match; with `lines: N`, N lines are expected and the last
must match, `each:` a regex every line must match), `warning:` (a regex
one warning line must match), then sections `=== PATH` whose body is written to
PATH inside a fresh site directory (`=== PATH (escapes)` decodes \\r \\n
\\xNN first; `=== -PATH` deletes PATH).  Unnamed files default to a valid
post.md and lists/l.csv.
"""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import fixture  # noqa: E402

DEFAULT_POST = """---
title: Office hours
---

Hello, world.
"""
DEFAULT_LIST = "email,name\nann@example.org,Ann\n"


def load_case(path):
    with open(path, "rb") as f:
        raw = f.read().decode("latin1")
    head, *sections = re.split(r"^=== ", raw, flags=re.M)
    meta = {}
    for line in head.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        k, _, v = line.partition(":")
        meta[k.strip()] = v.strip()
    files = {}
    for s in sections:
        name, _, body = s.partition("\n")
        name = name.strip()
        if name.endswith("(escapes)"):
            name = name[: -len("(escapes)")].strip()
            body = body.encode("latin1").decode("unicode_escape")
        files[name] = body.encode("latin1")
    return meta, files


def run_case(path):
    meta, files = load_case(path)
    d = fixture.make_site()
    try:
        files.setdefault("post.md", DEFAULT_POST.encode())
        files.setdefault("lists/l.csv", DEFAULT_LIST.encode())
        for name, body in files.items():
            p = os.path.join(d, name.lstrip("-"))
            if name.startswith("-"):
                if os.path.isdir(p):
                    shutil.rmtree(p)
                elif os.path.exists(p):
                    os.unlink(p)
                continue
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(body)
        args = meta.get("args", "preview post.md --list lists/l.csv --out out").split()
        r = fixture.run(args, d)
        err = r.stderr.decode("utf-8", "replace")
        problems = []
        if r.returncode != int(meta.get("exit", "65")):
            problems.append(f"exit {r.returncode}, want {meta.get('exit', '65')}")
        lines = [l for l in err.splitlines() if "warning:" not in l]
        want = int(meta.get("lines", "1"))
        if len(lines) != want:
            problems.append(f"want {want} line(s) on stderr, got {lines!r}")
        elif want and not re.search(meta["stderr"], lines[-1]):
            problems.append(f"stderr {lines[-1]!r} !~ /{meta['stderr']}/")
        for l in lines:
            if "each" in meta and not re.search(meta["each"], l):
                problems.append(f"stderr line {l!r} !~ /{meta['each']}/")
        if "warning" in meta:
            warns = [l for l in err.splitlines() if "warning:" in l]
            if not any(re.search(meta["warning"], w) for w in warns):
                problems.append(f"no warning matching /{meta['warning']}/ in {warns!r}")
        out = os.path.join(d, "out")
        if os.path.exists(out) and os.listdir(out):
            problems.append(f"output left behind: {os.listdir(out)}")
        if "\r" in err or "Bcc:" in r.stdout.decode("utf-8", "replace"):
            problems.append("control characters or injected header echoed")
        return problems
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    return fixture.run_cases("cli", run_case)


if __name__ == "__main__":
    sys.exit(main())
