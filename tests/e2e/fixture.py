"""Shared helpers for herald's end-to-end tests: a throwaway site directory
(herald.yml, templates, a fixed unsubscribe secret) and running the binary.
Not a test itself (no test_ prefix)."""
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("HERALD_SRC") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
HERALD = os.environ.get("HERALD_BIN") or os.path.join(SRC, "build", "herald")
SHARED = os.environ.get("HERALD_SHARED") or os.path.join(SRC, "..", "shared")
PYTHON = "/usr/bin/python3"
CHECK_EML = os.path.join(SHARED, "tools", "check_eml.py")

CONFIG = """\
site:
  title: Async Foundations Weekly
  base_url: https://blog.example.org
  list_id: weekly.example.org
from: "Async WG <news@example.org>"
unsubscribe:
  url: https://example.org/unsubscribe
  mailto: unsubscribe@example.org
smtp:
  url: smtp://127.0.0.1:2525
"""

SKIP = 77


def check(cond, what=""):
    """An explicit check (a bare assert is gone under python3 -O)."""
    if not cond:
        print("FAIL: %s" % (what,), flush=True)
        sys.exit(1)


def skip(why):
    print("skipped: " + why)
    sys.exit(SKIP)


def postfix():
    """tests/e2e/lib/postfix.py, for a test that needs a real Postfix; skips
    (77) when it cannot be imported or cannot run here (root, postfix)."""
    sys.path.insert(0, os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "lib"))
    try:
        import postfix as pf
    except ImportError as e:
        skip("postfix.py unavailable: %s" % e)
    if not pf.usable():
        skip("postfix.sh cannot run here (needs root and postfix)")
    return pf


def sanitized():
    """Is HERALD_BIN the sanitizer build (CMAKE_BUILD_TYPE=Sanitize)?"""
    cache = os.path.join(os.environ.get("HERALD_BUILD", ""),
                         "CMakeCache.txt")
    try:
        with open(cache) as f:
            return "CMAKE_BUILD_TYPE:STRING=Sanitize" in f.read()
    except OSError:
        return False


def make_site(config=CONFIG, secret=b"\x42" * 32):
    """A temp dir with herald.yml, templates/ and .herald/secret.
    The fixed secret makes unsubscribe tokens (and so goldens) stable."""
    d = tempfile.mkdtemp(prefix="herald-test-")
    shutil.copytree(os.path.join(SRC, "templates"), os.path.join(d, "templates"))
    with open(os.path.join(d, "herald.yml"), "w") as f:
        f.write(config)
    os.makedirs(os.path.join(d, ".herald"))
    with open(os.path.join(d, ".herald", "secret"), "wb") as f:
        f.write(secret)
    os.chmod(os.path.join(d, ".herald", "secret"), 0o600)
    os.makedirs(os.path.join(d, "lists"))
    return d


def run(args, cwd, timeout=120, env=None):
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    if env:
        e.update(env)
    return subprocess.run([HERALD] + list(args), cwd=cwd, capture_output=True,
                          timeout=timeout, env=e)


def check_eml(files):
    """Run shared/tools/check_eml.py; return list of (file, errors)."""
    import json
    bad = []
    files = list(files)
    for i in range(0, len(files), 200):
        p = subprocess.run([PYTHON, CHECK_EML] + files[i:i + 200],
                           capture_output=True, timeout=300)
        for line in p.stdout.decode().splitlines():
            r = json.loads(line)
            if r["errors"]:
                bad.append((r["file"], r["errors"]))
    return bad


def parse_strict(path):
    """Parse with Python's email package, policy=strict; raises on defects."""
    from email import policy
    from email.parser import BytesParser
    with open(path, "rb") as f:
        msg = BytesParser(policy=policy.strict).parse(f)
    for part in msg.walk():
        if part.defects:
            raise ValueError(f"{path}: {part.defects}")
        for k, v in part.items():
            if getattr(v, "defects", None):
                raise ValueError(f"{path}: header {k}: {v.defects}")
    return msg


def parts(msg):
    """(text, html) decoded bodies of a message (html None if text-only)."""
    text = html = None
    for part in msg.walk():
        ct = part.get_content_type()
        if ct == "text/plain" and text is None:
            text = part.get_content()
        elif ct == "text/html" and html is None:
            html = part.get_content()
    return text, html


def run_cases(subdir, run_case):
    """Run run_case(path) -> [problems] on every tests/data/SUBDIR/*.case;
    print one line per case; 1 when any failed or there are none."""
    import glob
    cases = sorted(glob.glob(os.path.join(SRC, "tests", "data", subdir,
                                          "*.case")))
    if not cases:
        print("FAIL: no cases in tests/data/" + subdir)
        return 1
    failed = 0
    for c in cases:
        problems = run_case(c)
        name = os.path.basename(c)
        if problems:
            failed += 1
            print(f"FAIL {name}: " + "; ".join(problems))
        else:
            print(f"ok   {name}")
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0
