#!/usr/bin/python3
"""The journal holes of issue 9, one test each, against the fault server.
Each fails on the code before the fix:

1. two Hugo page bundles (both index.md) are two campaigns: each reaches
   everyone, with different Message-IDs; `campaign:` in front matter names
   a campaign outright (a renamed file keeps it);
2. changing --shard never resends: --shard 1/2, then all, then --shard 1/3
   leave everybody with exactly one copy; two machines' `status --json`
   combined with the jq program of doc/shards.md add up;
3. rows removed from the list after a deferred run are reported removed,
   not pending, and do not keep the exit code at 75;
4. a connection dropped after the final dot is `unknown` (not deferred
   with code 354) with --max-tries 1, and with retries it is not resent in
   the same run;
5. a --to copy to an address on the list has its own Message-ID;
6. a quoted local part ("a b"@example.org) that `check` accepts is
   submitted by `send` and arrives with that address in To.

Expected values come from the server's side (what it stored, its
envelopes) and Python's strict email parser, not from herald's output.
"""
import email.parser
import email.policy
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture  # noqa: E402
from sendkit import POST, Checks, Site, delivered, out, server  # noqa: E402
import sendkit  # noqa: E402

TMP = tempfile.mkdtemp(prefix="test_send_trust.")
C = Checks()
sites = []


def site(srv, **kw):
    s = Site(srv.url, **kw)
    sites.append(s)
    return s


def herald(s, *args, post=None):
    return fixture.run([args[0], post or s.post, "--list", s.list,
                        "--config", os.path.join(s.dir, "herald.yml")]
                       + list(args[1:]), cwd=s.dir, timeout=120)


def status_json(s, *args, post=None):
    p = herald(s, "status", "--json", *args, post=post)
    try:
        return json.loads(p.stdout.decode())
    except ValueError:
        C.ok(False, "status --json is not JSON: %s" % out(p))
        return {"counts": {}}


def test_bundles():
    with server(TMP, "bundles") as srv:
        s = site(srv, n=5)
        posts = {}
        for name, title in (("one", "First bundle"), ("two", "Second")):
            d = os.path.join(s.dir, "content", "posts", name)
            os.makedirs(d)
            posts[name] = os.path.join(d, "index.md")
            with open(posts[name], "w") as f:
                f.write(POST.replace("Herald delivery test", title)
                        .replace('subject: "Delivery test"',
                                 'subject: "%s"' % title))
        p = herald(s, "send", post=posts["one"])
        C.eq(p.returncode, 0, "bundle one: exit (%s)" % out(p))
        p = herald(s, "send", post=posts["two"])
        C.eq(p.returncode, 0, "bundle two: exit, no --force (%s)" % out(p))
        env = srv.envelopes()
        C.eq(len(env), 10, "two bundles: everyone got both")
        subj = {}
        for path, data in srv.messages():
            m = email.parser.BytesParser(
                policy=email.policy.strict).parsebytes(data)
            subj.setdefault(str(m["To"]).split("<")[-1].rstrip(">"),
                            []).append((str(m["Subject"]),
                                        str(m["Message-ID"])))
        for a in s.addrs:
            got = subj.get(a, [])
            C.eq(sorted(x[0] for x in got), ["First bundle", "Second"],
                 "bundles: %s got each post once" % a)
            C.eq(len({x[1] for x in got}), 2,
                 "bundles: %s got two different Message-IDs" % a)
        st = status_json(s, post=posts["two"])
        C.eq(st["counts"].get("sent"), 5, "bundles: status of two")
        # Editing a post keeps its campaign; complete, it needs no --force.
        with open(posts["two"], "a") as f:
            f.write("\nA late correction.\n")
        p = herald(s, "send", post=posts["two"])
        C.eq(p.returncode, 0, "edited bundle, complete: exit (%s)" % out(p))
        C.ok("nothing left to send" in out(p), "edited bundle: says so: %s"
             % out(p))
        C.eq(len(srv.envelopes()), 10, "edited bundle: nothing resent")

        # campaign: names the campaign outright: the same post under
        # another file name is the same campaign, nobody gets it twice.
        a = os.path.join(s.dir, "2099-03-02-first-name.md")
        b = os.path.join(s.dir, "2099-03-02-renamed.md")
        text = POST.replace("summary:", "campaign: spring-issue\nsummary:")
        for f in (a, b):
            with open(f, "w") as fh:
                fh.write(text)
        p = herald(s, "send", post=a)
        C.eq(p.returncode, 0, "campaign: first send (%s)" % out(p))
        p = herald(s, "send", post=b)
        C.eq(p.returncode, 0, "campaign: renamed file (%s)" % out(p))
        C.eq(len(srv.envelopes()), 15, "campaign: renamed file sent nothing")


def test_shards():
    with server(TMP, "shards") as srv:
        s = site(srv, n=200)
        for args in (("--shard", "1/2"), (), ("--shard", "1/3")):
            p = s.send(*args)
            C.eq(p.returncode, 0, "shards %s: exit (%s)" % (args, out(p)))
        d = delivered(srv)
        twice = [a for a in s.addrs if len(d.get(a, [])) != 1]
        C.eq(twice, [], "shards: everyone exactly one copy")
        C.eq(len(s.journals()), 1, "shards: one journal")


def merged_status(reports):
    """Run the jq program doc/shards.md gives for combining reports."""
    with open(os.path.join(fixture.SRC, "doc", "shards.md")) as f:
        doc = f.read()
    prog = doc.split("jq -s '", 1)[1].split("'", 1)[0]
    files = []
    for i, r in enumerate(reports):
        fn = os.path.join(TMP, "shard%d.json" % i)
        with open(fn, "w") as f:
            json.dump(r, f)
        files.append(fn)
    p = subprocess.run(["jq", "-s", prog] + files, capture_output=True,
                       timeout=60)
    C.eq(p.returncode, 0, "jq from doc/shards.md: %s" % p.stderr)
    return json.loads(p.stdout or b"{}")


def test_two_machines():
    if shutil.which("jq") is None:
        print("jq missing: two-machine merge not checked")
        return
    with server(TMP, "machines") as srv:
        a = site(srv, n=40)
        b = site(srv, n=40)
        # Machine B: the same post, list and secret as A.
        shutil.copy(a.post, b.post)
        shutil.copy(a.list, b.list)
        shutil.copy(os.path.join(a.dir, ".herald", "secret"),
                    os.path.join(b.dir, ".herald", "secret"))
        p = a.send("--shard", "1/2")
        C.eq(p.returncode, 0, "machine A: exit (%s)" % out(p))
        ra = status_json(a, "--shard", "1/2")
        rb = status_json(b, "--shard", "2/2")
        m = merged_status([ra, rb])
        C.eq(m.get("counts", {}).get("sent", 0) +
             m.get("counts", {}).get("pending", 0), 40,
             "merged before B: sent + pending is the list")
        C.eq(m.get("counts", {}).get("sent"), len(srv.envelopes()),
             "merged before B: sent is what the server has")
        p = b.send("--shard", "2/2")
        C.eq(p.returncode, 0, "machine B: exit (%s)" % out(p))
        m = merged_status([status_json(a, "--shard", "1/2"),
                           status_json(b, "--shard", "2/2")])
        C.eq(m.get("counts", {}).get("sent"), 40, "merged: all sent")
        C.eq(m.get("counts", {}).get("pending"), 0, "merged: none pending")
        C.eq(m.get("shards"), ["1/2", "2/2"], "merged: shards")
        d = delivered(srv)
        C.eq(sorted(d), sorted(a.addrs), "machines: everyone reached")
        C.ok(all(len(v) == 1 for v in d.values()), "machines: one copy each")


# The schema an earlier herald wrote its per-shard journals with.
OLD_SCHEMA = """
CREATE TABLE campaign (id TEXT PRIMARY KEY, list TEXT, post_path TEXT,
  post_hash TEXT, created INTEGER, updated INTEGER);
CREATE TABLE rcpt (addr TEXT PRIMARY KEY, state INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0, tries INTEGER NOT NULL DEFAULT 0,
  next_try REAL NOT NULL DEFAULT 0, unknowns INTEGER NOT NULL DEFAULT 0,
  code INTEGER NOT NULL DEFAULT 0, reply TEXT NOT NULL DEFAULT '',
  message_id TEXT NOT NULL DEFAULT '', updated INTEGER NOT NULL DEFAULT 0)
  WITHOUT ROWID;
"""


def test_legacy_shard_journal():
    """An upgrade finds the per-shard journal of an earlier herald and
    sends nobody it recorded as sent (or possibly sent) a new copy."""
    with server(TMP, "legacy") as srv:
        s = site(srv, n=10)
        cid = status_json(s).get("campaign")
        old = os.path.join(s.dir, ".herald",
                           "journal-%s-shard1of2.sqlite" % cid)
        db = sqlite3.connect(old)
        db.executescript(OLD_SCHEMA)
        for a in s.addrs[:5]:
            db.execute("INSERT INTO rcpt(addr, state, attempts) "
                       "VALUES (?, 2, 1)", (a,))
        # killed while in flight: a possible copy
        db.execute("INSERT INTO rcpt(addr, state, attempts) VALUES (?, 1, 1)",
                   (s.addrs[5],))
        db.commit()
        db.close()
        p = s.send()
        C.eq(p.returncode, 0, "legacy: exit (%s)" % out(p))
        got = sorted(delivered(srv))
        C.eq(got, sorted(s.addrs[5:]), "legacy: only the unrecorded (and "
             "the one in flight, as unknown) were sent")
        C.ok(os.path.exists(old + ".absorbed") and not os.path.exists(old),
             "legacy: the old journal is kept as .absorbed")
        C.eq(s.rows()[s.addrs[5]]["unknowns"] > 0, True,
             "legacy: the in-flight row was treated as unknown")


def test_removed():
    rules = [{"at": "rcpt", "rcpt": "gone*@*",
              "reply": "451 4.3.0 try later"}]
    with server(TMP, "removed", script=rules) as srv:
        addrs = ["keep%d@example.org" % i for i in range(6)] + \
                ["gone%d@example.org" % i for i in range(3)]
        s = site(srv, addrs=addrs)
        p = s.send("--max-tries", "1")
        C.eq(p.returncode, 75, "removed: first run deferred (%s)" % out(p))
        with open(s.list) as f:
            lines = [ln for ln in f if not ln.startswith("gone")]
        with open(s.list, "w") as f:
            f.writelines(lines)
        p = s.send("--max-tries", "1")
        C.eq(p.returncode, 0, "removed rows do not count (%s)" % out(p))
        st = status_json(s)
        C.eq(st["counts"].get("removed"), 3, "removed: status counts them")
        C.eq(st["counts"].get("pending"), 0, "removed: not pending")
        C.eq(st["counts"].get("deferred"), 0, "removed: not deferred")
        C.eq(st["counts"].get("sent"), 6, "removed: the rest sent")
        p = s.status()
        C.ok("removed" in out(p), "removed: plain status says so: %s"
             % out(p))
        C.eq(len(srv.envelopes()), 6, "removed: nobody removed got mail")


def test_drop_after_dot():
    rules = [{"at": "data", "rcpt": "drop*@*", "action": "drop"}]
    with server(TMP, "dropdot", script=rules) as srv:
        s = site(srv, addrs=["ok%d@example.org" % i for i in range(3)] +
                 ["drop1@example.org"])
        p = s.send("--max-tries", "1")
        C.eq(p.returncode, 75, "drop after dot: exit (%s)" % out(p))
        r = s.rows()["drop1@example.org"]
        C.eq(r["state_name"], "unknown", "drop after dot, --max-tries 1")
        C.ok(r["code"] != 354, "drop after dot: not recorded with DATA's "
             "354 (%r)" % r["code"])
        C.eq(len(delivered(srv).get("drop1@example.org", [])), 1,
             "drop after dot: the server holds one copy")
    with server(TMP, "dropdot3", script=rules) as srv:
        s = site(srv, addrs=["drop2@example.org", "ok@example.org"])
        p = s.send("--max-tries", "3", "--retry-base", "0")
        C.eq(p.returncode, 75, "drop, retries: exit (%s)" % out(p))
        C.eq(len(delivered(srv).get("drop2@example.org", [])), 1,
             "drop after dot: never resent in the same run")
        C.eq(s.rows()["drop2@example.org"]["state_name"], "unknown",
             "drop, retries: unknown")


def test_to_message_id():
    with server(TMP, "tomid") as srv:
        s = site(srv, n=3)
        me = s.addrs[0]
        p = s.send("--to", me)
        C.eq(p.returncode, 0, "--to: exit (%s)" % out(p))
        p = s.send()
        C.eq(p.returncode, 0, "send: exit (%s)" % out(p))
        ids = delivered(srv).get(me, [])
        C.eq(len(ids), 2, "--to then send: two messages to %s" % me)
        C.eq(len(set(ids)), 2, "--to copy has its own Message-ID: %r" % ids)
        p = s.send("--to", me)
        ids2 = delivered(srv).get(me, [])
        C.eq(len(set(ids2)), 3, "each --to copy its own Message-ID")


def test_quoted_local_part():
    with server(TMP, "quoted") as srv:
        addrs = ['"a b"@example.org', "plain@example.org"]
        s = site(srv, n=0, addrs=["x@example.org"])
        with open(s.list, "w") as f:
            f.write('email,name\n"""a b""@example.org",Quoted\n'
                    'plain@example.org,Plain\n')
        p = herald(s, "check")
        C.eq(p.returncode, 0, "quoted: check accepts (%s)" % out(p))
        p = s.send()
        C.eq(p.returncode, 0, "quoted: send submits (%s)" % out(p))
        env = srv.envelopes()
        rc = sorted(r for e in env for r in e["rcpt"])
        C.eq(rc, sorted(addrs), "quoted: envelopes")
        for path, data in srv.messages():
            m = email.parser.BytesParser(
                policy=email.policy.strict).parsebytes(data)
            to = m["To"].addresses
            C.ok(len(to) == 1 and to[0].addr_spec in addrs,
                 "quoted: To parses to the address: %r" % str(m["To"]))


def main():
    sendkit.run_tests((test_bundles, test_shards, test_two_machines,
              test_legacy_shard_journal, test_removed,
              test_drop_after_dot, test_to_message_id,
              test_quoted_local_part), C, TMP, sites)


if __name__ == "__main__":
    main()
