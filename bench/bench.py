#!/usr/bin/python3
"""`make bench`: herald against its peers, in one run, as ratios.

Senders, all to one Postfix smtp-sink on 127.0.0.1 (a port chosen at run
time), 8 connections each:
  herald      herald send: journal on disk (synchronous=FULL), the whole
              per-reader pipeline
  nodemailer  bench/peer_nodemailer.js: pooled, several messages queued per
              connection, Nagle off, the same per-reader work
  python      bench/peer_python.py: smtplib + email, one thread per
              connection, the same per-reader work
  bare        bench/bare_curl.c: libcurl's multi interface resending one
              fixed message (the ceiling: no building, no journal)
  bare-pipelined
              bench/bare_curl.c --pipelined: the same message, libcurl only
              connecting, MAIL/RCPT/DATA spoken over curl_easy_send/recv
              with PIPELINING (herald's own client's technique, its ceiling)
Building only: herald preview into a sink (--mbox /dev/null when preview has
it, else files on tmpfs), and the peers' build modes.

Runs alternate between senders and repeat (median, min-max).  Prints the
table and writes doc/benchmarks.md (the measured section; the profile notes
below it are kept).  Asserts nothing; not part of `make test`.

Environment: HERALD_BENCH_N (10000), HERALD_BENCH_BIG (100000; herald only,
for memory), HERALD_BENCH_REPEAT (3), HERALD_BENCH_CONNS (8),
HERALD_BENCH_PEERS (nodemailer,python: which peers to run).
Usage: bench.py HERALD [OUT.md]
"""
import datetime
import email.parser
import email.policy
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (bench/benchlib.py)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = "/usr/bin/python3"
POST = "2027-11-22-async-office-hours.md"
MARK = "Mark Reader"


def env_int(name, d):
    return int(os.environ.get(name, d))


N = env_int("HERALD_BENCH_N", 10000)
BIG = env_int("HERALD_BENCH_BIG", 100000)
REP = env_int("HERALD_BENCH_REPEAT", 3)
CONNS = env_int("HERALD_BENCH_CONNS", 8)
PEERS = [p for p in os.environ.get("HERALD_BENCH_PEERS",
                                   "nodemailer,python").split(",") if p]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(cmd, cwd, env=None, out_check=None):
    """Run cmd; return (wall s, cpu s, peak RSS KiB) of that child alone."""
    t = time.monotonic()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    # wait4 gives this child's own rusage (RUSAGE_CHILDREN would give the
    # maximum over every child so far).  Output is small: read it after.
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.monotonic() - t
    out = p.stdout.read().decode(errors="replace")
    err = p.stderr.read().decode(errors="replace")
    p.stdout.close()
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{os.path.basename(cmd[0])} exited "
                           f"{p.returncode}: {err[-600:]}")
    if out_check and not out_check(out):
        raise RuntimeError(f"{cmd}: unexpected output {out[-300:]!r}")
    return dt, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def start_sink():
    started = benchlib.start_sink()
    if started is None:
        sys.exit("bench: Postfix's smtp-sink not found or did not start "
                 "(scripts/deps.sh installs postfix)")
    return started


def genlist(path, n):
    with open(path, "w") as f:
        subprocess.run([PY, os.path.join(HERE, "genlist.py"), str(n)],
                       stdout=f, check=True)


def variants(herald, site, tmp):
    """One reader per (zone, locale) of genlist.py, named MARK: herald's
    own bodies become the peers' per-variant templates."""
    sys.path.insert(0, HERE)
    import genlist as g
    combos = []
    for z in g.ZONES:
        for loc in g.LOCALES:
            combos.append((z, loc))
    lst = os.path.join(site, "lists", "variants.csv")
    with open(lst, "w") as f:
        f.write("email,name,timezone,locale,format\n")
        for i, (z, loc) in enumerate(combos):
            f.write(f"mark{i}@example.org,{MARK},{z},{loc},html\n")
    out = os.path.join(tmp, "variants")
    subprocess.run([herald, "preview", POST, "--list", lst, "--out", out],
                   cwd=site, check=True, stdout=subprocess.DEVNULL)
    parser = email.parser.BytesParser(policy=email.policy.default)
    V = {"variants": {}}
    fixed = None
    for i, (z, loc) in enumerate(combos):
        addr = f"mark{i}@example.org"
        raw = open(os.path.join(out, addr + ".eml"), "rb").read()
        if fixed is None:
            fixed = raw
        m = parser.parsebytes(raw)
        unsub = re.search(r"<(https://[^>]*)>", m["List-Unsubscribe"]).group(1)
        url = unsub.split("?")[0]

        def tpl(s):
            s = s.replace(unsub.replace("&", "&amp;"), "{{unsub}}")
            return s.replace(unsub, "{{unsub}}").replace(MARK, "{{name}}") \
                .replace(addr, "{{email}}")
        V["variants"][f"{z}|{loc}"] = {
            "text": tpl(m.get_body(("plain",)).get_content()),
            "html": tpl(m.get_body(("html",)).get_content()),
        }
        V.update(subject=str(m["Subject"]), **{"from": str(m["From"])},
                 reply_to=str(m["Reply-To"]), list_id=str(m["List-Id"]),
                 unsub_url=url, unsub_mailto=re.search(
                     r"<mailto:([^>?]*)", m["List-Unsubscribe"]).group(1),
                 domain=m["Message-ID"].strip("<>").split("@")[1])
    V["secret"] = open(os.path.join(site, ".herald", "secret"), "rb").read().hex()
    V["list"] = "big"
    V["campaign"] = "bench"
    vf = os.path.join(tmp, "variants.json")
    json.dump(V, open(vf, "w"))
    # the bare loop's message: one of herald's, CRLF, as it goes on the wire
    fixed = re.sub(rb"\r?\n", b"\r\n", fixed)
    ff = os.path.join(tmp, "fixed.eml")
    open(ff, "wb").write(fixed)
    return vf, ff, len(combos)


def build_bare(tmp):
    exe = os.path.join(tmp, "bare_curl")
    cflags = subprocess.run(["pkg-config", "--cflags", "--libs", "libcurl",
                             "libcrypto"],
                            capture_output=True, text=True, check=True).stdout
    subprocess.run(["cc", "-O2", "-o", exe, os.path.join(HERE, "bare_curl.c")]
                   + cflags.split() + ["-lpthread"], check=True)
    return exe


def machine():
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = 0
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal"):
            mem = int(line.split()[1]) // 1024
    return (f"{cpu}, {os.cpu_count()} cores, {mem} MiB RAM, "
            f"{platform.system()} {platform.release()}")


def fs_of(path):
    out = subprocess.run(["df", "-T", path], capture_output=True,
                         text=True).stdout.splitlines()
    return out[-1].split()[1] if len(out) > 1 else "?"




def main():
    benchlib.usage_or_help(__doc__, 1)
    herald = os.path.abspath(sys.argv[1])
    md = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "doc",
                                                            "benchmarks.md")
    node_ok = shutil.which("node") and os.path.isdir(
        os.path.join(HERE, "node_modules", "nodemailer"))
    if "nodemailer" in PEERS and not node_ok and shutil.which("npm"):
        subprocess.run(["npm", "install", "--no-audit", "--no-fund",
                        "--silent"], cwd=HERE, stdout=subprocess.DEVNULL)
        node_ok = os.path.isdir(os.path.join(HERE, "node_modules", "nodemailer"))
    peers = [p for p in PEERS if p != "nodemailer" or node_ok]
    if "nodemailer" in PEERS and not node_ok:
        log("bench: nodemailer not available (node/npm); no nodemailer ratios")

    # the journal must be on a real disk: keep the work tree under
    # /var/tmp (not tmpfs) unless TMPDIR says otherwise
    tmp = tempfile.mkdtemp(prefix="herald-bench.",
                           dir=os.environ.get("TMPDIR", "/var/tmp"))
    shm = tempfile.mkdtemp(prefix="herald-bench.", dir="/dev/shm") \
        if os.path.isdir("/dev/shm") else tmp
    sink = None
    try:
        site = os.path.join(tmp, "site")
        os.makedirs(os.path.join(site, "lists"))
        shutil.copytree(os.path.join(ROOT, "templates"),
                        os.path.join(site, "templates"))
        shutil.copy(os.path.join(ROOT, "herald.yml"), site)
        shutil.copy(os.path.join(ROOT, "doc", "examples", POST), site)
        genlist(os.path.join(site, "lists", "big.csv"), N)
        genlist(os.path.join(site, "lists", "huge.csv"), BIG)
        vfile, fixed, nvar = variants(herald, site, tmp)
        bare = build_bare(tmp)
        help_ = subprocess.run([herald, "preview", "--help"],
                               capture_output=True, text=True).stdout
        mbox = "--mbox" in help_
        sink, port = start_sink()
        url = f"smtp://127.0.0.1:{port}"
        henv = dict(os.environ, HERALD_SMTP_URL=url)
        nenv = dict(os.environ, NODE_PATH=os.path.join(HERE, "node_modules"))

        def reset_journal():
            for f in os.listdir(os.path.join(site, ".herald")):
                if f.startswith("journal-"):
                    os.unlink(os.path.join(site, ".herald", f))

        def herald_send(lst, n):
            reset_journal()
            return run([herald, "send", POST, "--list", f"lists/{lst}.csv",
                        "--allow-past", "--concurrency", str(CONNS)], site,
                       henv, lambda o: f"this run: {n} sent" in o)

        def herald_build(lst, n):
            if mbox:
                return run([herald, "preview", POST, "--list",
                            f"lists/{lst}.csv", "--mbox", "/dev/null"], site)
            d = os.path.join(shm, "out")
            r = run([herald, "preview", POST, "--list", f"lists/{lst}.csv",
                     "--out", d], site)
            shutil.rmtree(d)
            return r

        lst = os.path.join(site, "lists", "big.csv")
        senders = {
            "herald": lambda: herald_send("big", N),
            "bare": lambda: run([bare, url, "<news@example.org>", fixed,
                                 str(N), str(CONNS)], tmp,
                                out_check=lambda o: f"sent {N} failed 0" in o),
            # counted only if every connection really pipelined
            "bare-pipelined": lambda: run(
                [bare, "--pipelined", url, "<news@example.org>", fixed,
                 str(N), str(CONNS)], tmp,
                out_check=lambda o: f"sent {N} failed 0" in o and
                "mode pipelined" in o),
            "nodemailer": lambda: run(["node", os.path.join(
                HERE, "peer_nodemailer.js"), "send", lst, vfile, str(port),
                str(CONNS)], tmp, nenv),
            "python": lambda: run([PY, os.path.join(HERE, "peer_python.py"),
                                   "send", lst, vfile, str(port), str(CONNS)],
                                  tmp),
        }
        builders = {
            "herald": lambda: herald_build("big", N),
            "nodemailer": lambda: run(["node", os.path.join(
                HERE, "peer_nodemailer.js"), "build", lst, vfile], tmp, nenv),
            "python": lambda: run([PY, os.path.join(HERE, "peer_python.py"),
                                   "build", lst, vfile], tmp),
        }
        order = ["herald", "bare", "bare-pipelined"] + peers
        border = ["herald"] + peers
        res = {}
        for rep in range(REP):
            for k in order:
                log(f"bench: round {rep + 1}/{REP}: send {k} ({N})")
                res.setdefault(("send", k, N), []).append(senders[k]())
            for k in border:
                log(f"bench: round {rep + 1}/{REP}: build {k} ({N})")
                res.setdefault(("build", k, N), []).append(builders[k]())
            if BIG:
                log(f"bench: round {rep + 1}/{REP}: herald send+build ({BIG})")
                res.setdefault(("send", "herald", BIG), []).append(
                    herald_send("huge", BIG))
                res.setdefault(("build", "herald", BIG), []).append(
                    herald_build("huge", BIG))
    finally:
        if sink:
            sink.terminate()
            sink.wait()
        shutil.rmtree(tmp, ignore_errors=True)
        if shm != tmp:
            shutil.rmtree(shm, ignore_errors=True)

    def stat(key):
        n = key[2]
        rates = [n / r[0] for r in res[key]]
        cpu = statistics.median(r[1] for r in res[key]) / n * 1e6
        rss = max(r[2] for r in res[key]) / 1024
        return statistics.median(rates), min(rates), max(rates), cpu, rss

    rows = []
    for key in res:
        med, lo, hi, cpu, rss = stat(key)
        rows.append((key, med, lo, hi, cpu, rss))
    note = {
        "herald": "journal on disk (%s)" % fs_of(os.environ.get("TMPDIR", "/var/tmp")),
        "bare": "one fixed message, no journal",
        "bare-pipelined": "same, own MAIL/RCPT/DATA, PIPELINING",
        "nodemailer": "pooled, Nagle off, no journal",
        "python": "smtplib threads, no journal",
    }
    bnote = {
        "herald": "preview --mbox /dev/null" if mbox else
        "preview to files on tmpfs (no --mbox yet)",
        "nodemailer": "streamTransport, buffered, dropped",
        "python": "EmailMessage.as_bytes, dropped",
    }
    lines = []
    lines.append("| what | sender | readers | msgs/s median | min-max | "
                 "CPU µs/msg | peak RSS MiB | note |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---|")
    for (what, k, n), med, lo, hi, cpu, rss in rows:
        lines.append(f"| {what} | {k} | {n:,} | {med:,.0f} | {lo:,.0f}-"
                     f"{hi:,.0f} | {cpu:,.0f} | {rss:.1f} | "
                     f"{(note if what == 'send' else bnote).get(k, '')} |")

    def med(what, k, n=N):
        return stat((what, k, n))[0] if (what, k, n) in res else None

    ratios = []

    def ratio(label, a, b, goal):
        if a and b:
            ratios.append(f"- {label}: **{a / b:.2f}** (goal {goal})")
    ratio("send, herald / bare libcurl loop", med("send", "herald"),
          med("send", "bare"), ">= 0.85")
    ratio("send, herald / bare pipelined loop (herald's client technique)",
          med("send", "herald"), med("send", "bare-pipelined"), "-")
    ratio("send, herald / nodemailer", med("send", "herald"),
          med("send", "nodemailer"), ">= 5")
    ratio("send, herald / python", med("send", "herald"),
          med("send", "python"), "-")
    ratio("build only, herald / nodemailer", med("build", "herald"),
          med("build", "nodemailer"), ">= 25")
    ratio("build only, herald / python", med("build", "herald"),
          med("build", "python"), "-")
    if ("send", "herald", BIG) in res:
        r_big = stat(("send", "herald", BIG))[4]
        r_small = stat(("send", "herald", N))[4]
        ratios.append(f"- herald send peak RSS: {r_small:.1f} MiB at {N:,}, "
                      f"**{r_big:.1f} MiB** at {BIG:,} ({r_big / r_small:.2f}x; "
                      f"goal < 32 MiB and within 10%)")
    now = datetime.datetime.now(datetime.timezone.utc)
    head = [
        "<!-- measured: written by `make bench` (bench/bench.py) -->",
        f"Measured {now:%Y-%m-%d %H:%M} UTC on {machine()}; herald "
        f"{subprocess.run([herald, '--version'], capture_output=True, text=True).stdout.strip() or ''}",
        f"{CONNS} connections per sender, Postfix smtp-sink on 127.0.0.1, "
        f"{nvar} (zone, locale) variants; median of {REP} alternating runs.",
        "",
    ]
    text = "\n".join(head + lines + [""] + ratios) + "\n"
    print(text)
    start = "<!-- measured: begin -->"
    end = "<!-- measured: end -->"
    old = open(md).read() if os.path.exists(md) else (
        "# Benchmarks\n\n`make bench` writes the measured section; the "
        "notes below it are kept.\n\n" + start + "\n" + end + "\n")
    if start not in old:
        old = old + "\n" + start + "\n" + end + "\n"
    pre, rest = old.split(start, 1)
    post = rest.split(end, 1)[1] if end in rest else ""
    with open(md, "w") as f:
        f.write(pre + start + "\n" + text + end + post)
    log(f"bench: wrote {md}")


if __name__ == "__main__":
    main()
