#!/usr/bin/python3
"""The journal's size follows the list, not the number of writes (issue 9):
the state directory (.herald/: journal, WAL, shm, suppressions) stays under
16 MiB at its peak while `herald send` delivers to 10,000 readers through
Postfix's smtp-sink.  Before the fix it peaked at ~250 MiB (a lookup
statement left open held a read transaction, so the WAL was never
checkpointed).  The sizes are the file system's (os.lstat), sampled every
5 ms by bench/state_size.py (`bench/state_size.py HERALD 10000 100000`
prints the same for 100,000).  Under the sanitizer build: 3,000 readers.
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture  # noqa: E402

sys.path.insert(0, os.path.join(fixture.SRC, "bench"))
import state_size  # noqa: E402

LIMIT = 16 * 2**20


def main():
    if not os.access(fixture.HERALD, os.X_OK):
        fixture.skip("no herald binary at " + fixture.HERALD)
    n = 3000 if fixture.sanitized() else 10000
    started = state_size.start_sink()
    if started is None:
        fixture.skip("Postfix's smtp-sink not installed")
    sink, port = started
    tmp = tempfile.mkdtemp(prefix="test_state_size.")
    try:
        peak, final, secs = state_size.measure(
            fixture.HERALD, n, "smtp://127.0.0.1:%d" % port, tmp)
    finally:
        sink.kill()
        sink.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d recipients: state dir peak %.2f MiB, after %.2f MiB, %.1f s"
          % (n, peak / 2**20, final / 2**20, secs))
    if not peak < LIMIT:
        print("FAIL: state dir peaked at %d bytes, over %d" % (peak, LIMIT))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
