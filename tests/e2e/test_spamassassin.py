#!/usr/bin/python3
"""SpamAssassin (Debian's, offline: `spamassassin -L -t`) over every demo
message, signed with DKIM as a real send would be: no MIME or HTML
structure rule may fire (the informational HTML_MESSAGE aside).  Prints
each message's score.  Skipped (77) when spamassassin is not installed.

Structure rules are SpamAssassin's MIME_*, MPART_*, HTML_*, CTYPE_*,
MISSING_*, FONT_INVIS*, STY_INVIS*, BAD_ENC*, CHARSET_*, TVD_*, *_QP_*,
*BASE64*, UNPARSEABLE*, MULTIPART_* and HEXHASH* names: the ones a
message builder (not the sender's reputation or content) decides.
"""
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fixture  # noqa: E402

POST = os.path.join(fixture.SRC, "doc", "examples",
                    "2027-11-22-async-office-hours.md")
LIST = os.path.join(fixture.SRC, "lists", "example.csv")
STRUCTURE = re.compile(r"^(MIME_|MPART_|HTML_|CTYPE_|MISSING_|FONT_INVIS|"
                       r"STY_INVIS|BAD_ENC|CHARSET_|TVD_|UNPARSEABLE|"
                       r"MULTIPART_|HEXHASH)|_QP_|BASE64")
ALLOWED = {"HTML_MESSAGE"}  # "HTML included in message": informational


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def sa(path):
    with open(path, "rb") as f:
        p = subprocess.run(["spamassassin", "-L", "-t"], stdin=f,
                           capture_output=True, timeout=300)
    out = p.stdout.decode("utf-8", "replace")
    m = re.search(r"Content analysis details:\s+\((-?[\d.]+) points", out)
    rules = re.findall(r"^\s*-?[\d.]+\s+([A-Z0-9_]+)\s", out.split(
        "Content analysis details:")[-1], re.M)
    return (float(m.group(1)) if m else None), rules, out


def main():
    if shutil.which("spamassassin") is None:
        fixture.skip("spamassassin not installed (scripts/deps.sh)")
    tmp = tempfile.mkdtemp(prefix="test_sa.")
    site = None
    try:
        key = os.path.join(tmp, "rsa.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", key], check=True,
                       capture_output=True)
        os.chmod(key, 0o600)
        site = fixture.make_site(fixture.CONFIG + "dkim:\n  - selector: s1\n"
                                 "    key_file: %s\n" % key)
        post = os.path.join(site, os.path.basename(POST))
        shutil.copy(POST, post)
        shutil.copy(LIST, os.path.join(site, "lists", "example.csv"))
        out = os.path.join(site, "out")
        r = fixture.run(["preview", post, "--list", "lists/example.csv",
                         "--out", out], cwd=site)
        if r.returncode != 0:
            fail("preview: " + r.stderr.decode())
        emls = sorted(os.path.join(out, f) for f in os.listdir(out)
                      if f.endswith(".eml"))
        if len(emls) < 5:
            fail("too few demo messages: %d" % len(emls))
        bad = []
        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            for f, (score, rules, raw) in zip(emls, ex.map(sa, emls)):
                name = os.path.basename(f)
                if score is None:
                    bad.append("%s: no SpamAssassin report: %s" % (name, raw[-500:]))
                    continue
                hit = [x for x in rules if STRUCTURE.search(x) and x not in ALLOWED]
                print("%-36s score %5.1f  %s" % (name, score, " ".join(rules)))
                if hit:
                    bad.append("%s: structure rules fired: %s" % (name, hit))
        if bad:
            fail("; ".join(bad))
        print("ok: %d messages, no MIME/HTML structure rule" % len(emls))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if site:
            shutil.rmtree(site, ignore_errors=True)


if __name__ == "__main__":
    main()
