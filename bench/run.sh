#!/bin/sh
# make bench: see bench/bench.py (herald against a bare libcurl loop,
# nodemailer and Python's standard library, in one run, as ratios).
set -eu
exec /usr/bin/python3 "$(dirname "$0")/bench.py" "$@"
