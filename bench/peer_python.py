#!/usr/bin/python3
"""The Python standard-library peer of `make bench` (not part of herald).
Per reader the same work as herald: the body of the reader's (zone, locale)
variant, name and address put in (HTML-escaped in the HTML part), the
HMAC-SHA-256 unsubscribe token, a Message-ID, and an EmailMessage
(multipart/alternative or text only) as bytes.
  build: build every message and drop it
  send:  smtplib, CONNS threads with one connection each, Nagle off
Usage: peer_python.py build|send LIST.csv VARIANTS.json [PORT CONNS]"""
import base64
import csv
import hashlib
import hmac
import html
import json
import queue
import smtplib
import socket
import sys
import threading
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (bench/benchlib.py)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()




def main():
    benchlib.usage_or_help(__doc__, 3)
    mode, lst, vfile = sys.argv[1:4]
    V = json.load(open(vfile, encoding="utf-8"))
    secret = bytes.fromhex(V["secret"])

    def build(row):
        email, name, zone, locale, fmt = row
        v = V["variants"][zone + "|" + locale]
        addr = email.lower()
        tok = b64u(addr.encode()) + "." + b64u(hmac.new(
            secret, (V["list"] + "\n" + addr).encode(), hashlib.sha256).digest())
        unsub = V["unsub_url"] + "?token=" + tok
        mid = hashlib.sha256((V["campaign"] + "\n" + addr).encode()).hexdigest()[:32]
        m = EmailMessage(policy=SMTP)
        m["Date"] = formatdate(localtime=True)
        m["From"] = V["from"]
        m["To"] = f"{name} <{email}>"
        m["Reply-To"] = V["reply_to"]
        m["Subject"] = V["subject"]
        m["Message-ID"] = f"<{mid}@{V['domain']}>"
        m["List-Id"] = V["list_id"]
        m["List-Unsubscribe"] = f"<{unsub}>, <mailto:{V['unsub_mailto']}>"
        m["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        m.set_content(v["text"].replace("{{name}}", name).replace(
            "{{email}}", email).replace("{{unsub}}", unsub), cte="quoted-printable")
        if fmt != "text":
            m.add_alternative(v["html"].replace("{{name}}", html.escape(name)).replace(
                "{{email}}", html.escape(email)).replace("{{unsub}}", html.escape(unsub)),
                subtype="html", cte="quoted-printable")
        return email, m.as_bytes()

    rows = csv.reader(open(lst, encoding="utf-8", newline=""))
    next(rows)
    n = 0
    if mode == "build":
        for row in rows:
            build(row)
            n += 1
    else:
        port, conns = int(sys.argv[4]), int(sys.argv[5])
        q = queue.Queue(maxsize=8 * conns)
        errors = []

        def worker():
            s = smtplib.SMTP("127.0.0.1", port)
            s.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.ehlo("bench")
            while True:
                item = q.get()
                if item is None:
                    break
                try:
                    s.sendmail("news@example.org", [item[0]], item[1])
                except smtplib.SMTPException as e:
                    errors.append(e)
            s.quit()

        ts = [threading.Thread(target=worker) for _ in range(conns)]
        for t in ts:
            t.start()
        for row in rows:
            q.put(build(row))
            n += 1
        for _ in ts:
            q.put(None)
        for t in ts:
            t.join()
        if errors:
            sys.exit(f"python: {len(errors)} failed: {errors[0]}")
    print(f"python {mode} {n} messages")


if __name__ == "__main__":
    main()
