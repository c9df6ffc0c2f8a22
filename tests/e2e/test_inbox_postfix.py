#!/usr/bin/python3
"""Bounces from a real MTA: a private Postfix on 127.0.0.1
(tests/e2e/lib/postfix.sh) configured here so that
ghost@example.org does not exist (accepted, then bounced by virtual(8):
5.1.1) and every address at full.example.org fails temporarily (error:4.2.2,
tried once).  Postfix writes its own DSNs to the sender, news@example.org,
into the Maildir.

- `herald inbox` suppresses exactly the reader whose report is permanent
  (checked against Python's own reading of the DSNs), with the original
  Message-ID; the 4.x.x reader is counted, not suppressed;
- a request mailed through Postfix to the mailto: address (token in the
  subject) suppresses its reader;
- a forged report (no herald link in its returned headers) suppresses
  nobody;
- a second run changes nothing; the same mail as an mbox reads the same;
- with Postfix rejecting unknown recipients at RCPT (550 5.1.1), `send`
  suppresses that reader during the send.
Skipped (77) unless root and Postfix are available.
"""
import email
import email.policy
import csv
import json
import mailbox
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "lib"))
from sendkit import POST, Checks, config, out  # noqa: E402
import fixture  # noqa: E402

_pf = fixture.postfix()   # skips (77) unless root and Postfix are here
Postfix = _pf.Postfix

C = Checks()
READERS = ["reader0@example.org", "ghost@example.org",
           "slow@full.example.org", "reader1@example.org"]


def postconf(pf, *settings):
    env = dict(os.environ, PATH="/usr/sbin:/usr/bin:/sbin:/bin")
    etc = os.path.join(pf.dir, "etc")
    for s in settings:
        subprocess.run(["postconf", "-c", etc, "-e", s], check=True, env=env,
                       capture_output=True, timeout=30)
    subprocess.run(["postfix", "-c", etc, "reload"], check=True, env=env,
                   capture_output=True, timeout=30)


def herald(site, *args):
    return fixture.run(list(args) + ["--config", os.path.join(site, "herald.yml")],
                       cwd=site, timeout=120)


def suppressed(site):
    p = herald(site, "unsubscribe", "--list", "news", "--list-suppressed", "--json")
    if not C.eq(p.returncode, 0, "list-suppressed: " + out(p)):
        return {}
    return {r["email"]: r for r in json.loads(p.stdout)["suppressed"]}


def dsn_oracle(maildir):
    """{final recipient: status} of every DSN in the Maildir, read with
    Python's email package."""
    got = {}
    for sub in ("new", "cur"):
        for n in sorted(os.listdir(os.path.join(maildir, sub))):
            with open(os.path.join(maildir, sub, n), "rb") as f:
                m = email.message_from_binary_file(f, policy=email.policy.default)
            if m.get_content_type() != "multipart/report":
                continue
            for part in m.walk():
                if part.get_content_type() != "message/delivery-status":
                    continue
                blocks = part.get_payload()
                for b in blocks[1:]:
                    fr = str(b.get("Final-Recipient", "")).split(";")[-1].strip()
                    got[fr.lower()] = str(b.get("Status", "")).strip()
    return got


def main():
    tmp = tempfile.mkdtemp(prefix="test_inbox_postfix.")
    try:
        with Postfix(os.path.join(tmp, "postfix")) as pf:
            etc = os.path.join(pf.dir, "etc")
            with open(os.path.join(etc, "vmbox"), "w") as f:
                f.write("!/^(ghost|ghost2)@example\\.org$/ Maildir/\n")
            # retry(8): a temporary failure; a queue lifetime of 0 returns
            # it after one try, with its 4.x.x status
            with open(os.path.join(etc, "transport"), "w") as f:
                f.write("/@full\\.example\\.org$/ retry:4.2.2 mailbox full\n")
            postconf(pf, "virtual_mailbox_maps = regexp:%s/vmbox" % etc,
                     "smtpd_reject_unlisted_recipient = no",
                     "transport_maps = regexp:%s/transport" % etc,
                     "maximal_queue_lifetime = 0", "bounce_queue_lifetime = 0")
            site = fixture.make_site(config(pf.url))
            with open(os.path.join(site, "lists", "news.csv"), "w") as f:
                f.write("email\n" + "\n".join(READERS) + "\n")
            post = os.path.join(site, "2099-03-02-delivery.md")
            with open(post, "w") as f:
                f.write(POST)
            lst = os.path.join(site, "lists", "news.csv")

            p = herald(site, "preview", post, "--list", lst, "--out",
                       os.path.join(site, "out"))
            C.eq(p.returncode, 0, "preview: " + out(p))
            p = herald(site, "send", post, "--list", lst, "--allow-past")
            C.eq(p.returncode, 0, "send (all accepted by Postfix): " + out(p))
            # two readers' copies + two DSNs
            n = pf.wait_messages(4, timeout=90, settle=2)
            C.eq(n, 4, "Maildir: 2 messages and 2 reports")
            oracle = dsn_oracle(pf.maildir)
            C.eq(sorted(oracle), ["ghost@example.org", "slow@full.example.org"],
                 "Postfix reported on ghost and slow: %s" % oracle)
            C.ok(oracle.get("ghost@example.org", "").startswith("5."),
                 "ghost's report is permanent: %s" % oracle)
            C.ok(oracle.get("slow@full.example.org", "").startswith("4."),
                 "slow's report is temporary: %s" % oracle)

            p = herald(site, "inbox", "--list", lst, pf.maildir)
            C.eq(p.returncode, 0, "inbox: " + out(p))
            print(p.stdout.decode(), end="")
            s = suppressed(site)
            perm = sorted(a for a, st in oracle.items() if st.startswith("5."))
            C.eq(sorted(s), perm, "inbox suppresses exactly the 5.x.x reader")
            g = s.get("ghost@example.org", {})
            C.eq(g.get("why"), "bounce", "why")
            C.ok(g.get("message_id", "").startswith("<") or "@" in g.get("message_id", ""),
                 "the original Message-ID is kept: %r" % g)
            C.ok("5.1.1" in g.get("detail", ""), "the status is kept: %r" % g)
            C.ok("counted slow@full.example.org" in p.stdout.decode(),
                 "the 4.x.x reader is counted: " + out(p))

            # a mailed request: the mailto: link of reader1's message
            eml = open(os.path.join(site, "out", "reader1@example.org.eml"), "rb").read()
            m = email.message_from_bytes(eml, policy=email.policy.default)
            mt = re.search(r"<mailto:([^?>]+)\?subject=([^>]+)>",
                           str(m["List-Unsubscribe"]))
            subject = mt.group(2).replace("%20", " ")
            req = email.message.EmailMessage()
            req["From"] = "reader1@example.org"
            req["To"] = mt.group(1)
            req["Subject"] = subject
            req["Message-ID"] = "<request-1@example.org>"
            req.set_content("Please take me off.\n")
            with smtplib.SMTP("127.0.0.1", pf.port, timeout=30) as smtp:
                smtp.send_message(req)
            C.eq(pf.wait_messages(5, timeout=60, settle=1), 5, "request delivered")
            p = herald(site, "inbox", "--list", lst, pf.maildir)
            C.eq(p.returncode, 0, "inbox 2: " + out(p))
            s = suppressed(site)
            C.eq(s.get("reader1@example.org", {}).get("why"), "mail",
                 "the mailed request suppresses reader1: " + out(p))
            C.ok("4 read before" in p.stdout.decode(), "earlier mail skipped: " + out(p))

            # the same mailbox once more: nothing changes
            before = suppressed(site)
            p = herald(site, "inbox", "--list", lst, pf.maildir)
            C.eq(p.returncode, 0, "inbox 3: " + out(p))
            C.ok(" 0 suppressed" in p.stdout.decode() and
                 "5 read before" in p.stdout.decode(), "second run: " + out(p))
            C.eq(suppressed(site), before, "second run changes nothing")

            # the same mail as an mbox, into a fresh state dir
            site2 = fixture.make_site(config(pf.url))
            shutil.copy(lst, os.path.join(site2, "lists", "news.csv"))
            mb = os.path.join(site2, "returned.mbox")
            box = mailbox.mbox(mb)
            for sub in ("new", "cur"):
                for n_ in sorted(os.listdir(os.path.join(pf.maildir, sub))):
                    with open(os.path.join(pf.maildir, sub, n_), "rb") as f:
                        box.add(f.read())
            box.close()
            p = herald(site2, "inbox", "--list", "news", mb)
            C.eq(p.returncode, 0, "inbox mbox: " + out(p))
            C.eq(sorted(suppressed(site2)), sorted(before), "mbox reads the same: " + out(p))

            # a forged report: anyone can mail the bounce address one that
            # names a subscriber; without herald's link in the returned
            # headers it must suppress nobody
            with open(lst) as f:
                listed = [r["email"] for r in csv.DictReader(f)]
            victim = [a for a in listed if a not in before][0]
            forged = (
                "From: MAILER-DAEMON@attacker.example\r\n"
                "To: news@example.org\r\nSubject: Undelivered Mail\r\n"
                "Message-ID: <forged.1@attacker.example>\r\nMIME-Version: 1.0\r\n"
                "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n"
                "\r\n--b\r\nContent-Type: text/plain\r\n\r\nbounced\r\n"
                "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
                "Reporting-MTA: dns; attacker.example\r\n\r\n"
                "Final-Recipient: rfc822; %s\r\nAction: failed\r\n"
                "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\n"
                "\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
                "From: news@example.org\r\nTo: %s\r\nSubject: Herald delivery test\r\n"
                "\r\n--b--\r\n" % (victim, victim))
            mb2 = os.path.join(site2, "forged.mbox")
            box = mailbox.mbox(mb2)
            box.add(forged.encode())
            box.close()
            p = herald(site2, "inbox", "--list", "news", mb2)
            C.eq(p.returncode, 0, "inbox forged: " + out(p))
            C.ok(victim not in suppressed(site2),
                 "a forged report without herald's link suppresses nobody: " + out(p))
            C.ok("forged" in out(p), "inbox says why it ignored the report: " + out(p))

            # 5.1.1 during send: Postfix now refuses unknown users at RCPT
            postconf(pf, "smtpd_reject_unlisted_recipient = yes")
            with open(lst, "a") as f:
                f.write("ghost2@example.org\n")
            post2 = os.path.join(site, "2099-03-09-second.md")
            with open(post2, "w") as f:
                f.write(POST.replace("Herald delivery test", "Second"))
            p = herald(site, "send", post2, "--list", lst, "--allow-past")
            # 1: ghost2 failed; 75 as well when Postfix also defers the
            # full.example.org reader at RCPT
            C.ok(p.returncode in (1, 75), "second send: ghost2 fails (%s)" % out(p))
            C.ok("1 failed" in out(p), "one permanent failure: " + out(p))
            s = suppressed(site)
            C.eq(s.get("ghost2@example.org", {}).get("why"), "send-5.1.1",
                 "a 550 5.1.1 during send suppresses: %r" % s.get("ghost2@example.org"))
            C.ok("5.1.1" in s.get("ghost2@example.org", {}).get("detail", ""),
                 "with the server's reply")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    C.done()


if __name__ == "__main__":
    main()
