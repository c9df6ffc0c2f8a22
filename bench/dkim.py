#!/usr/bin/python3
"""DKIM signing rate: herald send with DKIM on, beside `openssl speed`.

Signing is one private-key operation per key per message, so a send with
DKIM cannot go faster than the machine signs.  This prints
  - `openssl speed -multi N rsa2048` / `ed25519` sign rates (one core, all
    cores; the cost depends only on the key type and size, so openssl's
    built-in 2048-bit key stands for ours),
  - herald send to Postfix's smtp-sink on 127.0.0.1 (a port chosen at run
    time), 8 connections, journal on disk, with no key, an RSA 2048 key and
    an Ed25519 key (keys made with openssl),
  - the DKIM-on rate as a share of the all-cores signing rate (goal: 80%),
  - the ceilings beside it: bench/bare_curl.c (no building, no journal)
    making one RSA 2048 signature per message, which shares the cores
    with the sink as herald does, both as the libcurl loop and with
    --pipelined (herald's own client's technique); herald's share of
    the higher of the two.
Asserts nothing; not part of `make test`.
Environment: HERALD_BENCH_DKIM_N (3000), HERALD_BENCH_REPEAT (3).
Usage: dkim.py HERALD
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (run, start_sink, genlist)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (bench/benchlib.py)

N = int(os.environ.get("HERALD_BENCH_DKIM_N", 3000))
REP = int(os.environ.get("HERALD_BENCH_REPEAT", 3))
CONNS = 8


def openssl_speed(alg, multi):
    """Sign operations a second, summed over `multi` processes.  With
    -multi, OpenSSL 3.0 prints a wrong total (it combines the children's
    times, not their rates), so the children's own "Got:" lines are
    summed instead."""
    cmd = ["openssl", "speed", "-seconds", "2"]
    if multi > 1:
        cmd += ["-multi", str(multi)]
    out = subprocess.run(cmd + [alg], capture_output=True, text=True).stdout
    if multi > 1:
        rx = (r"^Got: \+F2:\d+:2048:([\d.]+):" if alg == "rsa2048" else
              r"^Got: \+F6:\d+:253:Ed25519:([\d.]+):")
        got = [float(x) for x in re.findall(rx, out, re.M)]
        return sum(got) if len(got) == multi else float("nan")
    if alg == "rsa2048":
        m = re.search(r"^rsa\s+2048 bits\s+\S+s\s+\S+s\s+([\d.]+)", out, re.M)
    else:
        m = re.search(r"^\s*253 bits EdDSA \(Ed25519\)\s+\S+s\s+\S+s\s+([\d.]+)", out, re.M)
    return float(m.group(1)) if m else float("nan")




def main():
    benchlib.usage_or_help(__doc__, 1)
    herald = os.path.abspath(sys.argv[1])
    ncpu = os.cpu_count() or 1
    tmp = tempfile.mkdtemp(prefix="herald-bench-dkim.")
    sink = None
    try:
        site = os.path.join(tmp, "site")
        os.makedirs(os.path.join(site, "lists"))
        shutil.copytree(os.path.join(bench.ROOT, "templates"),
                        os.path.join(site, "templates"))
        shutil.copy(os.path.join(bench.ROOT, "doc", "examples", bench.POST), site)
        with open(os.path.join(bench.ROOT, "herald.yml")) as f:
            base = f.read()
        keys = {
            "rsa": ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            "ed25519": ["genpkey", "-algorithm", "ed25519"],
        }
        for name, args in keys.items():
            k = os.path.join(site, name + ".pem")
            subprocess.run(["openssl"] + args + ["-out", k], check=True,
                           capture_output=True)
            os.chmod(k, 0o600)
        bench.genlist(os.path.join(site, "lists", "l.csv"), N)
        # the ceiling: bench/bare_curl.c sending one of herald's messages
        # (as it goes on the wire) with one RSA signature a message
        with open(os.path.join(site, "lists", "l.csv")) as f:
            one = "".join(f.readlines()[:2])
        with open(os.path.join(site, "lists", "one.csv"), "w") as f:
            f.write(one)
        with open(os.path.join(site, "herald.yml"), "w") as f:
            f.write(base)
        subprocess.run([herald, "preview", bench.POST, "--list",
                        "lists/one.csv", "--out", os.path.join(tmp, "one")],
                       cwd=site, check=True, capture_output=True)
        eml = [x for x in os.listdir(os.path.join(tmp, "one"))
               if x.endswith(".eml")][0]
        fixed = os.path.join(tmp, "fixed.eml")
        with open(os.path.join(tmp, "one", eml), "rb") as f:
            raw = re.sub(rb"\r?\n", b"\r\n", f.read())
        with open(fixed, "wb") as f:
            f.write(raw)
        bare = bench.build_bare(tmp)
        sink, port = bench.start_sink()
        env = dict(os.environ, HERALD_SMTP_URL=f"smtp://127.0.0.1:{port}")

        def send(keyname):
            cfg = base
            if keyname:
                cfg += ("\ndkim:\n  - domain: example.org\n    selector: b\n"
                        "    key_file: %s.pem\n" % keyname)
            with open(os.path.join(site, "herald.yml"), "w") as f:
                f.write(cfg)
            hd = os.path.join(site, ".herald")
            if os.path.isdir(hd):
                for f in os.listdir(hd):
                    if f.startswith("journal-"):
                        os.unlink(os.path.join(hd, f))
            dt, cpu, _ = bench.run(
                [herald, "send", bench.POST, "--list", "lists/l.csv",
                 "--allow-past", "--concurrency", str(CONNS)], site, env,
                lambda o: f"this run: {N} sent" in o)
            return N / dt, cpu

        def bare_sign(flags):
            dt, cpu, _ = bench.run(
                [bare] + flags + [f"smtp://127.0.0.1:{port}",
                                  "<news@example.org>", fixed, str(N),
                                  str(CONNS), os.path.join(site, "rsa.pem")],
                tmp, out_check=lambda o: f"sent {N} failed 0" in o and
                (not flags or "mode pipelined" in o))
            return N / dt, cpu

        # The machine may be shared: measure openssl right beside each
        # herald run and compare pairwise.
        res, ratio, bratio, pratio = {}, [], [], []
        rsa1, rsaN, ed1, edN = [], [], [], []
        for _ in range(REP):
            res.setdefault("", []).append(send(""))
            rsaN.append(openssl_speed("rsa2048", ncpu))
            res.setdefault("rsa", []).append(send("rsa"))
            ratio.append(res["rsa"][-1][0] / rsaN[-1])
            res.setdefault("bare", []).append(bare_sign([]))
            bratio.append(res["bare"][-1][0] / rsaN[-1])
            res.setdefault("pipe", []).append(bare_sign(["--pipelined"]))
            pratio.append(res["pipe"][-1][0] / rsaN[-1])
            rsa1.append(openssl_speed("rsa2048", 1))
            res.setdefault("ed25519", []).append(send("ed25519"))
            edN.append(openssl_speed("ed25519", ncpu))
            ed1.append(openssl_speed("ed25519", 1))
        rsa1, rsaN, ed1, edN = (statistics.median(x) for x in
                                (rsa1, rsaN, ed1, edN))
    finally:
        if sink:
            sink.terminate()
            sink.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    def med(k):
        return statistics.median(r for r, _ in res[k])

    def cpu_ms(k):
        return 1000 * statistics.median(c for _, c in res[k]) / N

    print(f"DKIM signing, {N} messages, {CONNS} connections, {ncpu} cores, "
          f"median of {REP}:")
    print(f"  openssl speed rsa2048 sign: {rsa1:8.0f}/s one core, "
          f"{rsaN:8.0f}/s on {ncpu}")
    print(f"  openssl speed ed25519 sign: {ed1:8.0f}/s one core, "
          f"{edN:8.0f}/s on {ncpu}")
    print(f"  herald send, no DKIM:       {med(''):8.0f} msg/s  "
          f"({cpu_ms(''):.2f} ms CPU a message)")
    print(f"  herald send, RSA 2048:      {med('rsa'):8.0f} msg/s = "
          f"{100 * statistics.median(ratio):.0f}% of the {ncpu}-core signing "
          f"rate measured beside it (goal 80%); {cpu_ms('rsa'):.2f} ms CPU "
          f"a message")
    for k, r, what in (("bare", bratio, "bare libcurl loop"),
                       ("pipe", pratio, "bare pipelined loop")):
        print(f"  ceiling: {what} + one RSA 2048 signature a message: "
              f"{med(k):8.0f} msg/s = {100 * statistics.median(r):.0f}% of "
              f"the {ncpu}-core signing rate; {cpu_ms(k):.2f} ms CPU a "
              f"message")
    top = max(("bare", "pipe"), key=med)
    print(f"  herald send, RSA 2048 = {100 * med('rsa') / med(top):.0f}% of "
          f"the higher ceiling (the "
          f"{'libcurl' if top == 'bare' else 'pipelined'} loop)")
    print(f"  herald send, Ed25519:       {med('ed25519'):8.0f} msg/s "
          f"({100 * med('ed25519') / med(''):.0f}% of the unsigned rate); "
          f"{cpu_ms('ed25519'):.2f} ms CPU a message")


if __name__ == "__main__":
    main()
