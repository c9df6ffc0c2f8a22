#!/bin/sh
# Run every libFuzzer harness of BUILD (a -DHERALD_FUZZ=ON build) for
# SECONDS each: first the saved regression inputs (tests/fuzz/regress/NAME/,
# crashes found earlier, each must now pass), then fuzzing from
# tests/fuzz/seeds/NAME/ in a scratch corpus.  A crash is saved as
# tests/fuzz/crashes/NAME-crash-* (copy it to regress/NAME/ once fixed) and
# makes this script fail.
# FUZZ_SEED=N fixes libFuzzer's seed (make test uses 1, so the short CI
# run explores the same inputs each time; make fuzz explores afresh).
#   usage: tests/fuzz/run.sh BUILD [SECONDS]
set -eu
BUILD=$1
SECS=${2:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
SCRATCH=$(mktemp -d /tmp/herald-fuzz-corpus.XXXXXX)
trap 'rm -rf "$SCRATCH" /tmp/herald-fuzz-[0-9]* /tmp/herald-fuzz-site-[0-9]*' EXIT
mkdir -p "$HERE/crashes"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for bin in "$BUILD"/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin" | sed 's/^fuzz_//')
	if [ -d "$HERE/regress/$name" ] && [ -n "$(ls -A "$HERE/regress/$name")" ]; then
		if ! "$bin" "$HERE/regress/$name"/* >"$SCRATCH/$name.regress.log" 2>&1; then
			echo "fuzz $name: a regression input fails again:"
			tail -30 "$SCRATCH/$name.regress.log"
			status=1
			continue
		fi
	fi
	mkdir -p "$SCRATCH/$name"
	if "$bin" ${FUZZ_SEED:+-seed="$FUZZ_SEED"} -max_total_time="$SECS" -max_len=65536 -timeout=60 \
	    -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$HERE/crashes/$name-" \
	    "$SCRATCH/$name" "$HERE/seeds/$name" >"$SCRATCH/$name.log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$SCRATCH/$name.log")
		echo "fuzz $name: ${runs:-?} runs in ${SECS}s, no crash"
	else
		echo "fuzz $name: CRASH (input saved in tests/fuzz/crashes/):"
		grep -E "ERROR|fuzz:|SUMMARY|#[0-9]+ 0x" "$SCRATCH/$name.log" | head -30
		status=1
	fi
done
exit $status
