"""Hardening gaps (issue 11): each tests/data/hardening/*.case is one case.

Case file: header lines, then `=== PATH` sections written into a fresh site
(fixture.make_site; post.md and lists/l.csv default to a valid post and
list).  `=== PATH (escapes)` decodes \\r \\n \\xNN \\uNNNN first (to UTF-8); `=== PATH (python)`
evaluates its body as a Python expression giving the file's text (for
inputs too big to keep as data).  Header lines:

  args:        the herald command line (default: preview to out/)
  exit:        expected exit code (default 0)
  env:         NAME=VALUE for herald's environment (repeatable)
  chmod:       PATH OCTAL before running (repeatable)
  stderr:      a regex some stderr line must match
  stderr-not:  a regex no stderr/stdout line may match (repeatable)
  mode:        PATH OCTAL: the file's permission bits afterwards (repeatable)
  seconds:     wall-clock limit for herald
  rss-mb:      peak resident memory limit for herald (from wait4)
  strict:      GLOB of .eml files that must parse with Python's strict
               email parser with no defect anywhere, and pass check_eml
  header:      GLOB NAME REGEX: NAME, decoded by Python's email package,
               matches REGEX in every file of GLOB (repeatable)

Expected values come from the oracles named (Python's email package,
check_eml.py, stat, wait4), never from herald's own output.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import fixture  # noqa: E402

DEFAULT_POST = """---
title: Office hours
date: 2030-01-07
---

Hello, world.
"""
DEFAULT_LIST = "email,name\nann@example.org,Ann\n"
MULTI = ("env", "chmod", "stderr-not", "mode", "header")


def load_case(path):
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8")
    head, *sections = re.split(r"^=== ", raw, flags=re.M)
    meta = {k: [] for k in MULTI}
    for line in head.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        k, _, v = line.partition(":")
        k, v = k.strip(), v.strip()
        if k in MULTI:
            meta[k].append(v)
        else:
            meta[k] = v
    files = {}
    for s in sections:
        name, _, body = s.partition("\n")
        name = name.strip()
        if name.endswith("(escapes)"):
            name = name[: -len("(escapes)")].strip()
            body = body.encode("ascii", "backslashreplace").decode("unicode_escape")
        elif name.endswith("(python)"):
            name = name[: -len("(python)")].strip()
            body = eval(body, {})  # test data from this repository
        files[name] = body.encode("utf-8")
    return meta, files


def run_herald(args, cwd, env):
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    e.update(env)
    t0 = time.monotonic()
    p = subprocess.Popen([fixture.HERALD] + args, cwd=cwd, env=e,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=300)
    secs = time.monotonic() - t0
    return p.returncode, out, err, secs


def run_case(path):
    meta, files = load_case(path)
    d = fixture.make_site()
    problems = []
    try:
        files.setdefault("post.md", DEFAULT_POST.encode())
        files.setdefault("lists/l.csv", DEFAULT_LIST.encode())
        for name, body in files.items():
            p = os.path.join(d, name)
            if name.endswith("/"):  # a directory, in place of any file
                if os.path.isfile(p.rstrip("/")):
                    os.unlink(p.rstrip("/"))
                os.makedirs(p, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(p), exist_ok=True)
            if os.path.isdir(p):
                shutil.rmtree(p)
            with open(p, "wb") as f:
                f.write(body)
        for c in meta["chmod"]:
            f, mode = c.rsplit(None, 1)
            os.chmod(os.path.join(d, f), int(mode, 8))
        env = {}
        for kv in meta["env"]:
            k, _, v = kv.partition("=")
            env[k] = v
        args = meta.get("args", "preview post.md --list lists/l.csv --out out").split()
        code, out, err, secs = run_herald(args, d, env)
        if "rss-mb" in meta:
            # again, under a fresh Python whose RUSAGE_CHILDREN is herald's
            rss = measure_rss(args, d, env)
            if rss > float(meta["rss-mb"]) * 1024:
                problems.append(f"peak RSS {rss / 1024:.0f} MB > {meta['rss-mb']} MB")
        text = err.decode("utf-8", "replace")
        both = text + out.decode("utf-8", "replace")
        want = int(meta.get("exit", "0"))
        if code != want:
            problems.append(f"exit {code}, want {want}: {text.strip()[:300]}")
        if "stderr" in meta and not any(re.search(meta["stderr"], l) for l in text.splitlines()):
            problems.append(f"no stderr line matches /{meta['stderr']}/: {text.strip()[:300]!r}")
        for rx in meta["stderr-not"]:
            if re.search(rx, both):
                problems.append(f"output matches forbidden /{rx}/: {both.strip()[:300]!r}")
        if "seconds" in meta and secs > float(meta["seconds"]):
            problems.append(f"took {secs:.1f} s > {meta['seconds']} s")
        for m in meta["mode"]:
            f, mode = m.rsplit(None, 1)
            hits = glob.glob(os.path.join(d, f))
            if not hits:
                problems.append(f"no file {f}")
            for h in hits:
                got = os.stat(h).st_mode & 0o777
                if got != int(mode, 8):
                    problems.append(f"{os.path.relpath(h, d)} mode {got:03o}, want {mode}")
        if "strict" in meta:
            emls = sorted(glob.glob(os.path.join(d, meta["strict"])))
            if not emls:
                problems.append(f"no message matches {meta['strict']}")
            for f in emls:
                try:
                    fixture.parse_strict(f)
                except Exception as ex:  # defects, parse errors
                    problems.append(f"strict parser: {ex}")
            for f, errs in fixture.check_eml(emls):
                problems.append(f"check_eml {os.path.basename(f)}: {errs}")
        for h in meta["header"]:
            g, name, rx = h.split(None, 2)
            emls = sorted(glob.glob(os.path.join(d, g)))
            if not emls:
                problems.append(f"no message matches {g}")
            for f in emls:
                from email import policy
                from email.parser import BytesParser
                with open(f, "rb") as fh:
                    msg = BytesParser(policy=policy.default).parse(fh)
                v = msg.get(name)
                if v is None or not re.search(rx, str(v)):
                    problems.append(f"{os.path.basename(f)} {name}: {str(v)!r} !~ /{rx}/")
        return problems
    finally:
        shutil.rmtree(d, ignore_errors=True)


RSS_HELPER = r"""
import os, resource, subprocess, sys, json
args, cwd, env = json.loads(sys.argv[1])
e = dict(os.environ); e.update(env)
subprocess.run(args, cwd=cwd, env=e, stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL, timeout=300)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measure_rss(args, cwd, env):
    import json
    p = subprocess.run([fixture.PYTHON, "-c", RSS_HELPER,
                        json.dumps([[fixture.HERALD] + args, cwd, env])],
                       capture_output=True, timeout=320)
    return float(p.stdout.decode().strip() or "1e12")


def main():
    if not os.path.exists(fixture.CHECK_EML):
        fixture.skip("../shared/tools/check_eml.py is missing")
    return fixture.run_cases("hardening", run_case)


if __name__ == "__main__":
    sys.exit(main())
