#!/bin/sh
# make bench: herald against nodemailer in the same run, as ratios.
#   preview: build + write one .eml per recipient for N recipients
#            (wall time and peak RSS; herald also at N/10 to show memory
#            stays flat as the list grows)
#   send:    herald send (journaled) and nodemailer's SMTP pool, 4
#            connections each, to the same counting sink (bench/sink.py)
# N defaults to 100000 (HERALD_BENCH_N), the send list to 10000
# (HERALD_BENCH_SEND_N).  Needs node + npm for the peer;
# without them only herald's own numbers are printed.
set -eu
HERALD=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "$0")"
BENCH=$(pwd)
N=${HERALD_BENCH_N:-100000}
# nodemailer sends ~90 msg/s to a local sink with its default settings, so
# the send comparison uses a shorter list unless told otherwise.
NS=${HERALD_BENCH_SEND_N:-10000}
TMP=$(mktemp -d /tmp/herald-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM

mkdir -p "$TMP/site/lists" "$TMP/site/.herald"
cp -r ../templates "$TMP/site/"
cp ../herald.yml "$TMP/site/herald.yml"
cp ../doc/examples/2027-11-22-async-office-hours.md "$TMP/site/"
POST=2027-11-22-async-office-hours.md
/usr/bin/python3 genlist.py "$N" > "$TMP/site/lists/big.csv"
/usr/bin/python3 genlist.py "$((N / 10))" > "$TMP/site/lists/small.csv"
/usr/bin/python3 genlist.py "$NS" > "$TMP/site/lists/send.csv"

measure() { # label cmd... -> prints "label seconds maxrss_kb"
	label=$1; shift
	/usr/bin/python3 - "$label" "$@" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
p = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL)
dt = time.monotonic() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
if p.returncode != 0:
    sys.exit(f"{sys.argv[1]} failed: {p.returncode}")
print(f"{sys.argv[1]} {dt:.2f} {rss}")
PY
}

cd "$TMP/site"
H=$(measure herald "$HERALD" preview "$POST" --list lists/big.csv --out "$TMP/h")
HS=$(measure herald-small "$HERALD" preview "$POST" --list lists/small.csv --out "$TMP/hs")
echo "$H" | awk -v n="$N" '{printf "herald preview  %7d msgs  %6.2f s  %8.0f msg/s  peak RSS %6d KiB\n", n, $2, n/$2, $3}'
echo "$HS" | awk -v n="$((N / 10))" '{printf "herald preview  %7d msgs  %6.2f s  %8.0f msg/s  peak RSS %6d KiB\n", n, $2, n/$2, $3}'
echo "$H $HS" | awk '{printf "memory growth for 10x the list: %.2fx peak RSS\n", $3/$6}'

if command -v node >/dev/null && command -v npm >/dev/null; then
	if [ ! -d "$BENCH/node_modules/nodemailer" ]; then
		(cd "$BENCH" && npm install --no-audit --no-fund --silent >/dev/null 2>&1) || true
	fi
	if [ -d "$BENCH/node_modules/nodemailer" ]; then
		# the peer gets herald's finished bodies: it only personalizes and encodes
		f=$(ls "$TMP/hs"/*.eml | head -1)
		/usr/bin/python3 - "$f" "$TMP/body.txt" "$TMP/body.html" <<'PY'
import sys
from email import policy
from email.parser import BytesParser
m = BytesParser(policy=policy.default).parse(open(sys.argv[1], "rb"))
t = m.get_body(("plain",)).get_content(); h = m.get_body(("html",)).get_content()
open(sys.argv[2], "w").write(t); open(sys.argv[3], "w").write(h)
PY
		P=$(NODE_PATH="$BENCH/node_modules" measure nodemailer node "$BENCH/peer_nodemailer_preview.js" \
			lists/big.csv "$TMP/body.txt" "$TMP/body.html" "$TMP/p")
		echo "$P" | awk -v n="$N" '{printf "nodemailer      %7d msgs  %6.2f s  %8.0f msg/s  peak RSS %6d KiB\n", n, $2, n/$2, $3}'
		echo "$H $P" | awk '{printf "ratio: herald is %.1fx the speed of nodemailer, with %.2fx its memory\n", $5/$2, $3/$6}'

		# send: both to the same counting sink, 4 connections each
		/usr/bin/python3 "$BENCH/sink.py" "$TMP/port" 2>"$TMP/sink.count" &
		SINK=$!
		for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
		PORT=$(cat "$TMP/port")
		S=$(HERALD_SMTP_URL="smtp://127.0.0.1:$PORT" measure herald-send "$HERALD" send "$POST" \
			--list lists/send.csv --allow-past --concurrency 4)
		PS=$(NODE_PATH="$BENCH/node_modules" measure nodemailer-send node "$BENCH/peer_nodemailer_send.js" \
			lists/send.csv "$TMP/body.txt" "$TMP/body.html" "$PORT")
		kill "$SINK"; wait "$SINK" 2>/dev/null || true
		echo "$S" | awk -v n="$NS" '{printf "herald send     %7d msgs  %6.2f s  %8.0f msg/s  peak RSS %6d KiB (journaled, fsync)\n", n, $2, n/$2, $3}'
		echo "$PS" | awk -v n="$NS" '{printf "nodemailer send %7d msgs  %6.2f s  %8.0f msg/s  peak RSS %6d KiB (no journal)\n", n, $2, n/$2, $3}'
		echo "$S $PS" | awk '{printf "ratio: herald send is %.1fx the speed of nodemailer, with %.2fx its memory\n", $5/$2, $3/$6}'
		echo "sink received $(cat "$TMP/sink.count") messages (want $((2 * NS)))"
	else
		echo "nodemailer: npm install failed; no peer ratio"
	fi
else
	echo "node/npm not found; no peer ratio"
fi
