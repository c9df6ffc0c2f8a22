#!/usr/bin/python3
"""`herald send` against the fault-injecting server: every fault ends with
the right state for every recipient, nothing silently dropped, nothing sent
twice except an `unknown` resent with the same Message-ID.

Covers: connection reuse, 421 at greeting and mid-session, 451/452 on RCPT,
451/452 after DATA, 550 5.1.1 (failed, exit 1, suppressed for the next
campaign of the list), a 4xx that never clears (deferred, exit 75, rerun
completes), a relay that answers 421 to everything (the run stops after 10
in a row, exit 75), a connection dropped after the final dot (unknown, resent with
the same Message-ID), a server that never answers (timeout, deferred),
--to, --shard, --rate, past session times, a changed post, status --json.

Every scenario with a server runs twice: without and with PIPELINING
(RFC 2920) advertised, and the server's wire log must show no command sent
too early for the mode (faultsmtp's Log.discipline).
"""
import contextlib
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sendkit import (Checks, Site, delivered, headers, out,  # noqa
                     PAST_POST, POST)
import sendkit  # noqa: E402

FAST = ["--retry-base", "0.05"]
TMP = tempfile.mkdtemp(prefix="test_send_faults.")
C = Checks()
sites = []
PIPE = False    # advertise PIPELINING (set by pipelining() below)


def pipelining(on):
    global PIPE
    PIPE = on
    print("-- PIPELINING advertised: %s" % on, flush=True)


@contextlib.contextmanager
def server(tmp, name, **kw):
    """sendkit's fault server, advertising PIPELINING when PIPE is set;
    afterwards its wire log must keep the discipline of the mode."""
    name += "-pipe" if PIPE else ""
    with sendkit.server(tmp, name, pipelining=PIPE, **kw) as srv:
        yield srv
    log = srv.log()
    C.eq(log.discipline(PIPE), [], "%s: wire discipline" % name)
    if PIPE:
        C.eq(split_groups(log), [], "%s: MAIL, RCPT, DATA in one read" % name)


def attempted_rcpts(log):
    """{address: RCPTs the server saw}, leaving out a group that came in one
    read behind a final dot that was then refused or never answered: with
    PIPELINING herald may send the next transaction's MAIL/RCPT/DATA behind
    a dot; when that dot fails it closes the connection and runs the
    transaction again on a new one, and only that run is an attempt."""
    out = {}
    for conn in log.conns():
        rs = [r for r in log.records if r["conn"] == conn]
        failed_reads = set()
        for i, r in enumerate(rs):
            if r["ev"] == "data":
                reply = next((x["line"] for x in rs[i + 1:]
                              if x["ev"] == "s"), "")
                if not reply.startswith("2"):
                    failed_reads.add(r["rd"])
        for r in rs:
            if r["ev"] == "c" and r["line"].upper().startswith("RCPT TO") \
                    and r["rd"] not in failed_reads:
                a = r["line"].split("<", 1)[-1].split(">", 1)[0].lower()
                out[a] = out.get(a, 0) + 1
    return out


def split_groups(log):
    """With PIPELINING herald sends each MAIL/RCPT/DATA as one group (RFC
    2920), so the three arrive in one read; the groups that did not."""
    bad = []
    for conn in log.conns():
        cs = log.events("c", conn)
        for i, r in enumerate(cs):
            if not r["line"].upper().startswith("MAIL FROM"):
                continue
            grp = cs[i:i + 3]
            verbs = [g["line"][:4].upper() for g in grp]
            if verbs != ["MAIL", "RCPT", "DATA"] or \
                    len({g["rd"] for g in grp}) != 1:
                bad.append((conn, [(g["line"], g["rd"]) for g in grp]))
    return bad


def site(srv, **kw):
    s = Site(srv.url, **kw)
    sites.append(s)
    return s


def exactly_once(srv, s, what):
    d = delivered(srv)
    for a in s.addrs:
        C.eq(len(d.get(a, [])), 1, "%s: copies of %s" % (what, a))


def test_basic():
    with server(TMP, "basic") as srv:
        s = site(srv, n=20)
        p = s.send("--concurrency", "4")
        C.eq(p.returncode, 0, "basic: exit (%s)" % out(p))
        exactly_once(srv, s, "basic")
        conns = srv.log().conns()
        C.ok(1 <= len(conns) <= 4, "basic: %d connections for 20 messages"
             % len(conns))
        C.ok("20 sent" in p.stdout.decode(), "basic: summary: %s" % out(p))
        rows = s.rows()
        C.eq(sorted(r["state_name"] for r in rows.values()), ["sent"] * 20,
             "basic: journal")
        # Message-IDs recorded match what arrived.
        for e in srv.envelopes():
            a = e["rcpt"][0].lower()
            C.eq("<%s>" % rows[a]["message_id"], e["message_id"],
                 "basic: message id of " + a)
        # Dot-stuffing done once: the line arrives intact.
        for path, data in srv.messages()[:1]:
            C.ok(b"\r\n.A line starting with a dot" in data or
                 b".A line starting with a dot" in data,
                 "basic: dotted line intact")
            C.ok(b"\n" not in data.replace(b"\r\n", b""), "basic: CRLF only")
        # Rerun: nobody gets another copy.
        p = s.send()
        C.eq(p.returncode, 0, "basic rerun: exit (%s)" % out(p))
        exactly_once(srv, s, "basic rerun")
        st = s.status("--json")
        C.eq(st.returncode, 0, "status --json exit")
        j = json.loads(st.stdout)
        C.eq(j["counts"]["sent"], 20, "status: sent count")
        C.eq(j["recipients"], [], "status: nobody needs attention")


def test_transient():
    script = [
        {"at": "connect", "conn": 1, "reply": "421 4.3.2 busy, later"},
        {"at": "rcpt", "rcpt": "user0001@*", "times": 1,
         "reply": "451 4.3.0 greylisted"},
        {"at": "rcpt", "rcpt": "user0002@*", "times": 1,
         "reply": "452 4.5.3 too many"},
        {"at": "rcpt", "rcpt": "user0003@*", "times": 1,
         "reply": "421 4.7.0 slow down"},
        {"at": "data", "rcpt": "user0004@*", "times": 1,
         "reply": "451 4.3.0 queue full"},
        {"at": "data", "rcpt": "user0005@*", "times": 1,
         "reply": "452 4.3.1 insufficient system storage"},
    ]
    with server(TMP, "transient", script=script) as srv:
        s = site(srv, n=8)
        p = s.send("--concurrency", "2", *FAST)
        C.eq(p.returncode, 0, "transient: exit (%s)" % out(p))
        exactly_once(srv, s, "transient")
        rows = s.rows()
        # Attempts, from the server's side: the RCPTs it saw for each
        # address, plus, for whichever message drew connection 1, the
        # attempt its 421 greeting ended before any RCPT.
        rcpts = attempted_rcpts(srv.log())
        lost = 0
        for a in s.addrs:
            extra = rows[a]["attempts"] - rcpts.get(a, 0)
            C.ok(extra in (0, 1), "transient: attempts of %s: %d, %d RCPTs"
                 % (a, rows[a]["attempts"], rcpts.get(a, 0)))
            lost += extra
        C.eq(lost, 1, "transient: one attempt lost to the 421 greeting")
        for a in ("user0001@example.org", "user0002@example.org",
                  "user0003@example.org", "user0004@example.org",
                  "user0005@example.org"):
            C.eq(rows[a]["state_name"], "sent", "transient: " + a)
            C.eq(rcpts.get(a), 2, "transient: RCPTs for " + a)
        C.ok(len(srv.log().events("fault")) == 6,
             "transient: every fault fired")


def test_permanent():
    script = [
        {"at": "rcpt", "rcpt": "user0001@*",
         "reply": "550 5.1.1 <user0001@example.org>: no such user"},
        {"at": "data", "rcpt": "user0002@*",
         "reply": "554 5.7.1 rejected as spam"},
    ]
    with server(TMP, "permanent", script=script) as srv:
        s = site(srv, n=5)
        p = s.send(*FAST)
        C.eq(p.returncode, 1, "permanent: exit (%s)" % out(p))
        rows = s.rows()
        C.eq(rows["user0001@example.org"]["state_name"], "failed", "550")
        C.ok("5.1.1" in rows["user0001@example.org"]["reply"],
             "550: reply recorded")
        C.eq(rows["user0001@example.org"]["attempts"], 1, "550 not retried")
        C.eq(rows["user0002@example.org"]["state_name"], "failed", "554")
        C.ok("spam" in rows["user0002@example.org"]["reply"], "554 reply")
        C.eq(len(delivered(srv).get("user0003@example.org", [])), 1,
             "others sent")
        st = s.status()
        C.ok("user0001@example.org" in st.stdout.decode() and
             "5.1.1" in st.stdout.decode(), "status lists the failure: %s"
             % out(st))
        # Rerun: failures are final.
        n = len(srv.envelopes())
        p = s.send(*FAST)
        C.eq(p.returncode, 1, "permanent rerun: exit")
        C.eq(len(srv.envelopes()), n, "permanent rerun sends nothing")
        C.eq(len([l for l in srv.log().client_lines()
                  if "user0001" in l]), 1, "550 address not tried again")
        # Another post to the same list: the 5.1.1 address is suppressed.
        other = os.path.join(s.dir, "2099-03-09-second.md")
        with open(other, "w") as f:
            f.write(POST.replace("Herald delivery test", "Second"))
        srv.set_script([])
        before = len([l for l in srv.log().client_lines()
                      if "user0001" in l])
        p = fixture_send(s, other)
        C.eq(p.returncode, 0, "second campaign: exit (%s)" % out(p))
        C.eq(len([l for l in srv.log().client_lines()
                  if "user0001" in l]), before, "suppressed address skipped")
        C.ok("1 suppressed" in p.stdout.decode(), "summary mentions it: %s"
             % out(p))


def fixture_send(s, post, *args):
    import fixture
    return fixture.run(["send", post, "--list", s.list, "--config",
                        os.path.join(s.dir, "herald.yml")] + list(args),
                       cwd=s.dir, timeout=120)


def test_deferred():
    script = [{"at": "rcpt", "rcpt": "user0001@*",
               "reply": "451 4.3.0 try later"}]
    with server(TMP, "deferred", script=script) as srv:
        s = site(srv, n=4)
        p = s.send("--max-tries", "3", *FAST)
        C.eq(p.returncode, 75, "deferred: exit (%s)" % out(p))
        rows = s.rows()
        C.eq(rows["user0001@example.org"]["state_name"], "deferred",
             "deferred: state")
        C.eq(rows["user0001@example.org"]["attempts"], 3, "deferred: tries")
        C.eq(len([l for l in srv.log().client_lines()
                  if l.upper().startswith("RCPT") and "user0001" in l]), 3,
             "deferred: three RCPTs")
        st = s.status("--json")
        j = json.loads(st.stdout)
        C.eq(j["counts"]["deferred"], 1, "status: deferred count")
        C.eq([r["address"] for r in j["recipients"]],
             ["user0001@example.org"], "status: the deferred recipient")
        srv.set_script([])
        p = s.send(*FAST)
        C.eq(p.returncode, 0, "deferred rerun: exit (%s)" % out(p))
        exactly_once(srv, s, "deferred rerun")


def test_relay_busy():
    """A relay that answers 421 to every transaction from the 40th on:
    after 10 in a row with nothing delivered between, the run stops
    starting (the paced retries would otherwise take hours), exits 75 with
    the rest left for the next run, and that run completes."""
    script = [{"at": "data", "txn": "40-", "reply": "421 4.3.2 shutting down"}]
    with server(TMP, "busy", script=script) as srv:
        s = site(srv, n=120)
        p = s.send("--concurrency", "2", *FAST, timeout=120)
        C.eq(p.returncode, 75, "busy: exit (%s)" % out(p))
        C.ok("421" in p.stderr.decode() and "again later" in p.stderr.decode(),
             "busy: says why it stopped: %s" % out(p))
        j = json.loads(s.status("--json").stdout)
        C.eq(j["counts"]["sent"], len(srv.messages()),
             "busy: every stored message is journaled sent")
        C.ok(j["counts"]["pending"] > 0,
             "busy: the run stopped early (pending %d)" % j["counts"]["pending"])
        fired = len(srv.log().events("fault"))
        C.ok(10 <= fired <= 20, "busy: %d 421s before it stopped" % fired)
        srv.set_script([])
        p = s.send(*FAST)
        C.eq(p.returncode, 0, "busy rerun: exit (%s)" % out(p))
        exactly_once(srv, s, "busy rerun")


def test_unknown():
    script = [{"at": "data", "rcpt": "user0002@*", "times": 1,
               "action": "drop"}]
    with server(TMP, "unknown", script=script) as srv:
        s = site(srv, n=5)
        p = s.send(*FAST)
        C.eq(p.returncode, 75, "unknown: exit (%s)" % out(p))
        rows = s.rows()
        C.eq(rows["user0002@example.org"]["state_name"], "unknown",
             "unknown: state")
        C.eq(rows["user0002@example.org"]["attempts"], 1,
             "unknown: not retried in the same run")
        st = s.status()
        C.ok("unknown" in st.stdout.decode() and
             "user0002@example.org" in st.stdout.decode(),
             "status shows unknown: %s" % out(st))
        p = s.send(*FAST)
        C.eq(p.returncode, 0, "unknown rerun: exit (%s)" % out(p))
        d = delivered(srv)
        ids = d.get("user0002@example.org", [])
        C.eq(len(ids), 2, "unknown: resent once")
        C.ok(len(set(ids)) == 1, "unknown: same Message-ID %r" % ids)
        for a in s.addrs:
            if a != "user0002@example.org":
                C.eq(len(d.get(a, [])), 1, "unknown: others once: " + a)
        C.eq(s.rows()["user0002@example.org"]["unknowns"], 1,
             "journal remembers it was unknown")


def test_silent():
    script = [{"at": "connect", "action": "stall"}]
    with server(TMP, "silent", script=script, stall_seconds=30) as srv:
        s = site(srv, n=2, timeout=1)
        t = time.monotonic()
        p = s.send("--max-tries", "1", *FAST, timeout=60)
        el = time.monotonic() - t
        C.eq(p.returncode, 75, "silent: exit (%s)" % out(p))
        C.ok(el < 20, "silent: gave up in %.1fs" % el)
        C.eq(sorted(r["state_name"] for r in s.rows().values()),
             ["deferred", "deferred"], "silent: deferred")
        C.eq(srv.envelopes(), [], "silent: nothing stored")


def test_concurrency():
    # The sink waits 100 ms before each 250 after DATA.  With four
    # connections several transactions must be between DATA and their 250
    # at once; with one, never more than one.  Shown from the server's log
    # order, not from timings, which a shared machine makes noisy.
    for c in ("1", "4"):
        with server(TMP, "conc" + c, delay_ms=100) as srv:
            s = site(srv, n=16)
            p = s.send("--concurrency", c)
            C.eq(p.returncode, 0, "concurrency %s: exit (%s)" % (c, out(p)))
            exactly_once(srv, s, "concurrency " + c)
            log = srv.log()
            C.eq(len(log.conns()), int(c), "concurrency %s: connections" % c)
            # A transaction is open from its DATA command to the reply
            # after its final dot (the one after the 354), which the sink
            # holds back for 100 ms.
            phase, open_now, most = {}, 0, 0
            for r in log.records:
                conn = r["conn"]
                if r["ev"] == "c" and r.get("line", "").upper() == "DATA":
                    phase[conn] = 1
                    open_now += 1
                    most = max(most, open_now)
                elif r["ev"] == "s" and phase.get(conn) == 1:
                    phase[conn] = 2 if r["line"].startswith("354") else 0
                    open_now -= phase[conn] == 0
                elif r["ev"] == "s" and phase.get(conn) == 2:
                    phase[conn] = 0
                    open_now -= 1
            if c == "1":
                C.eq(most, 1, "one connection: one transaction at a time")
            else:
                C.ok(most >= 2, "four connections overlap: at most %d "
                     "transactions at once" % most)


def test_unreachable():
    import socket
    sk = socket.socket()
    sk.bind(("127.0.0.1", 0))
    port = sk.getsockname()[1]
    sk.close()  # nothing listens there now
    s = Site("smtp://127.0.0.1:%d" % port, n=50)
    sites.append(s)
    p = s.send(*FAST, timeout=60)
    C.eq(p.returncode, 69, "unreachable: exit (%s)" % out(p))
    C.ok("SMTP relay unusable" in out(p), "unreachable: says so")
    rows = s.rows()
    C.ok(sum(r["attempts"] for r in rows.values()) <= 4,
         "unreachable: gave up at once")
    C.ok(all(r["state_name"] in ("pending", "deferred")
             for r in rows.values()), "unreachable: nobody sent")


def test_to_shard_rate():
    with server(TMP, "misc") as srv:
        s = site(srv, n=12)
        p = s.send("--to", "tester@example.net")
        C.eq(p.returncode, 0, "--to: exit (%s)" % out(p))
        e = srv.envelopes()
        C.eq(len(e), 1, "--to: one message")
        C.eq(e[0]["rcpt"], ["tester@example.net"], "--to: envelope")
        msg = headers(srv.messages()[0][1])
        C.ok(msg["Subject"].startswith("[TEST] "), "--to: subject %r" %
             msg["Subject"])
        C.eq(s.journals(), [], "--to: not journaled")

        p1 = s.send("--shard", "1/2")
        p2 = s.send("--shard", "2/2")
        C.eq((p1.returncode, p2.returncode), (0, 0), "shards: exit (%s %s)"
             % (out(p1), out(p2)))
        C.eq(len(s.journals()), 1, "shards: one journal per campaign")
        d = delivered(srv)
        for a in s.addrs:
            C.eq(len(d.get(a, [])), 1, "shards: once: " + a)
        C.ok("sent" in out(p1) and "sent" in out(p2), "shards: summaries")

    with server(TMP, "rate") as srv:
        s = site(srv, n=6)
        t = time.monotonic()
        p = s.send("--rate", "10/s")
        el = time.monotonic() - t
        C.eq(p.returncode, 0, "rate: exit (%s)" % out(p))
        C.ok(el >= 0.45, "rate: 6 messages at 10/s took %.2fs" % el)


def test_refusals():
    with server(TMP, "refuse") as srv:
        s = site(srv, n=3, post=PAST_POST)
        p = s.send()
        C.eq(p.returncode, 65, "past: exit (%s)" % out(p))
        C.ok("--allow-past" in out(p), "past: says how: %s" % out(p))
        C.eq(srv.log().conns(), [], "past: nothing sent")
        p = s.send("--allow-past")
        C.eq(p.returncode, 0, "--allow-past: exit (%s)" % out(p))

        # Change the post: the campaign is complete, so there is nothing
        # to decide and no --force is needed to hear that.
        with open(s.post, "a") as f:
            f.write("\nOne more line.\n")
        p = s.send("--allow-past")
        C.eq(p.returncode, 0, "changed post, complete: exit (%s)" % out(p))
        C.eq(len(srv.envelopes()), 3, "changed post: nobody got a second copy")
        # With a recipient left, the changed post needs --force.
        with open(s.list, "a") as f:
            f.write("late@example.org,Late,\n")
        p = s.send("--allow-past")
        C.eq(p.returncode, 65, "changed post, one left: exit (%s)" % out(p))
        C.ok("post changed since this campaign started" in out(p) and
             "--force" in out(p), "changed post: message: %s" % out(p))
        p = s.send("--allow-past", "--force")
        C.eq(p.returncode, 0, "--force: exit (%s)" % out(p))
        C.eq(len(srv.envelopes()), 4, "--force: only the new one sent")

        p = s.send("--rate", "fast")
        C.eq(p.returncode, 64, "bad --rate: usage")
        p = s.send("--shard", "3/2")
        C.eq(p.returncode, 64, "bad --shard: usage")


def main():
    with_server = (test_basic, test_concurrency, test_transient,
                   test_permanent, test_deferred, test_relay_busy,
                   test_unknown, test_silent, test_to_shard_rate,
                   test_refusals)
    sendkit.run_tests(with_server + (test_unreachable, (pipelining, (True,)))
                      + with_server, C, TMP, sites)


if __name__ == "__main__":
    main()
