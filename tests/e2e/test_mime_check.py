#!/usr/bin/env python3
"""Messages from herald_mime_build (via the mimetool test binary) checked by
an independent reader: ../shared/tools/check_eml.py and Python's email parser
with policy=strict.  Decoded headers and parts must round-trip to the input,
and header-injection inputs must be refused with exit 65 and no file.

Exit 77 (skipped) when mimetool or check_eml.py is missing; the parser and
round-trip checks still run first whenever mimetool exists.
"""
import json, os, subprocess, sys, tempfile
from email import policy
from email.parser import BytesParser

BUILD = os.environ.get("HERALD_BUILD", "build")
SHARED = os.environ.get("HERALD_SHARED", "../shared")
TOOL = os.path.join(BUILD, "mimetool")
CHECK = os.path.join(SHARED, "tools", "check_eml.py")

BASE = {
    "from_name": "Herald Notes",
    "from_addr": "news@example.org",
    "to_name": "Ada Lovelace",
    "to_addr": "ada@example.org",
    "subject": "Sessions this week",
    "message_id": "c1.5f3a9b@example.org",
    "list_id": "Herald Notes <notes.example.org>",
    "list_unsubscribe": "<https://example.org/unsubscribe?t=Zm9vYmFy>, "
                        "<mailto:unsubscribe@example.org?subject=unsubscribe>",
    "date": "1619614800",
    "gmtoff": "19800",
    "boundary_seed": "c1:ada@example.org",
}

LONG_HTML = ("<!DOCTYPE html>\n<html><body style=\"margin:0;padding:0\">\n"
             "<table role=\"presentation\" width=\"600\" style=\"max-width:600px;"
             "border-collapse:collapse;font-family:Georgia,serif\"><tr><td>"
             + "Caf\u00e9 na S\u00e3o Paulo \u2014 \u6771\u4eac\u306e\u30bb\u30c3\u30b7\u30e7\u30f3 " * 12
             + "</td></tr></table>   \n"
             "From the editor: trailing tab\t\n.\n.hidden\n"
             "<p>emoji \U0001F389\U0001F389\U0001F389</p>\n</body></html>\n")

CASES = [
    ("ascii", {}, "Hello Ada,\n\nThe sessions are below.\n", "<p>Hello Ada</p>\n"),
    ("nonascii", {
        "from_name": "Zo\u00eb \u00c7elik",
        "to_name": "\u7530\u4e2d \u82b1\u5b50",
        "subject": "Caf\u00e9 \u2615 sessions: \u6771\u4eac, S\u00e3o Paulo and Reykjav\u00edk "
                   "\U0001F389 with a long tail of words that needs folding over lines",
     }, "Ol\u00e1 \u7530\u4e2d,\nFrom here on, times are local.\n.\n", LONG_HTML),
    ("text_only", {"to_name": "\u00d3lafur", "subject": "Plain text please"},
     "Line one   \nFrom the team\n" + "x" * 200 + "\nno final newline", None),
    ("crlf_input", {"to_name": "Doe, John"},
     "CRLF\r\nline ends \r\n\r\nthroughout\r\n", "<p>a</p>\r\n<p>b</p> \r\n"),
    ("specials", {"from_name": "Say \"hi\" \\o/", "to_name": "J. R. \"Bob\" Dobbs",
                  "reply_to": "replies@example.org",
                  "subject": "Plain: (parens) <angles> and =? marks"},
     "= signs = everywhere ==\n", "<a href=\"https://example.org/?a=1&b=2\">x</a>\n"),
    ("list_title", {"list_id": "Caf\u00e9 Notes <cafe.notes.example.org>",
                    "to_name": ""}, "t\n", "<p>t</p>\n"),
]

INJECT_FIELDS = ["from_name", "from_addr", "to_name", "to_addr", "reply_to",
                 "subject", "message_id", "list_id", "list_unsubscribe"]


def run_tool(out, fields, text, html, tmp):
    args = [TOOL, out]
    for k, v in fields.items():
        args.append(f"{k}={v}")
    tf = os.path.join(tmp, "in.txt")
    with open(tf, "wb") as f:
        f.write(text.encode())
    args.append(f"text_file={tf}")
    if html is not None:
        hf = os.path.join(tmp, "in.html")
        with open(hf, "wb") as f:
            f.write(html.encode())
        args.append(f"html_file={hf}")
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def crlf(s):
    return s.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def words(s):
    return " ".join(s.split())


def main():
    if not os.path.exists(TOOL):
        print(f"SKIP: {TOOL} not built")
        return 77
    fails = []
    tmp = tempfile.mkdtemp(prefix="herald-mimecheck-")
    files = []
    for name, over, text, html in CASES:
        fields = dict(BASE, **over)
        out = os.path.join(tmp, name + ".eml")
        r = run_tool(out, fields, text, html, tmp)
        if r.returncode != 0:
            fails.append(f"{name}: mimetool exit {r.returncode}: {r.stderr.strip()}")
            continue
        files.append(out)
        raw = open(out, "rb").read()
        try:
            msg = BytesParser(policy=policy.strict).parsebytes(raw)
            hdr = {k: str(msg[k]) for k in ("From", "To", "Subject", "Message-ID", "List-Id")}
            frm, to = msg["From"].addresses[0], msg["To"].addresses[0]
        except Exception as e:  # policy.strict raises on any defect
            fails.append(f"{name}: strict parse: {type(e).__name__}: {e}")
            continue
        if frm.display_name != fields["from_name"] or frm.addr_spec != fields["from_addr"]:
            fails.append(f"{name}: From {frm!r}")
        if to.display_name != fields["to_name"] or to.addr_spec != fields["to_addr"]:
            fails.append(f"{name}: To {to!r}")
        if words(hdr["Subject"]) != words(fields["subject"]):
            fails.append(f"{name}: Subject {hdr['Subject']!r}")
        if hdr["Message-ID"] != f"<{fields['message_id']}>":
            fails.append(f"{name}: Message-ID {hdr['Message-ID']!r}")
        if words(hdr["List-Id"]) != words(fields["list_id"]):
            fails.append(f"{name}: List-Id {hdr['List-Id']!r}")
        leaves = [p for p in msg.walk() if not p.is_multipart()]
        want = [("text/plain", text)] + ([("text/html", html)] if html is not None else [])
        if [p.get_content_type() for p in leaves] != [w[0] for w in want]:
            fails.append(f"{name}: parts {[p.get_content_type() for p in leaves]}")
            continue
        if html is None and msg.is_multipart():
            fails.append(f"{name}: text-only message is multipart")
        for p, (ct, body) in zip(leaves, want):
            got = p.get_payload(decode=True)
            if got != crlf(body):
                fails.append(f"{name}: {ct} does not round-trip:\n{got!r}\n{crlf(body)!r}")
            if p.get_content_charset() != "utf-8":
                fails.append(f"{name}: {ct} charset {p.get_content_charset()}")

    # header injection: refused, nothing written
    for field in INJECT_FIELDS:
        for evil in ("Eve\r\nBcc: x@example.net", "Eve\nBcc: x@example.net", "Eve\rX: y"):
            out = os.path.join(tmp, "inject.eml")
            r = run_tool(out, dict(BASE, **{field: evil}), "t\n", "<p>t</p>\n", tmp)
            if r.returncode != 65 or "line break" not in r.stderr:
                fails.append(f"inject {field} {evil!r}: exit {r.returncode} {r.stderr.strip()}")
            if os.path.exists(out):
                fails.append(f"inject {field}: wrote a file")
                os.unlink(out)

    have_check = os.path.exists(CHECK)
    if have_check and files:
        r = subprocess.run([sys.executable, CHECK] + files, capture_output=True,
                           text=True, timeout=120)
        for line in r.stdout.splitlines():
            res = json.loads(line)
            if res["errors"]:
                fails.append(f"check_eml {os.path.basename(res['file'])}: {res['errors']}")
        if r.returncode != 0 and not fails:
            fails.append(f"check_eml exit {r.returncode}: {r.stderr.strip()}")

    if os.environ.get("HERALD_KEEP_MIME"):
        print("kept", tmp)
    for f in ([] if os.environ.get("HERALD_KEEP_MIME") else os.listdir(tmp)):
        os.unlink(os.path.join(tmp, f))
    if not os.environ.get("HERALD_KEEP_MIME"):
        os.rmdir(tmp)
    for f in fails:
        print("FAIL:", f)
    if fails:
        return 1
    if not have_check:
        print(f"SKIP: {CHECK} not found (parser and round-trip checks passed)")
        return 77
    print(f"ok: {len(files)} messages, {len(INJECT_FIELDS) * 3} injection cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
