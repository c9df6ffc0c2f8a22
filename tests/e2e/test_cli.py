"""The command line: --help on every command (exit 0, stdout), --version,
usage errors exit 64 with one line on stderr."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import fixture  # noqa: E402


def main():
    d = tempfile.mkdtemp()
    r = fixture.run(["--help"], d)
    fixture.check(r.returncode == 0 and b"usage: herald" in r.stdout, r)
    r = fixture.run(["--version"], d)
    fixture.check(r.returncode == 0 and r.stdout.startswith(b"herald "), r)
    for cmd in ("check", "preview", "send", "status"):
        r = fixture.run([cmd, "--help"], d)
        fixture.check(r.returncode == 0, (cmd, r))
        fixture.check(b"usage: herald " + cmd.encode() in r.stdout, (cmd, r.stdout))
        r = fixture.run([cmd, "--no-such-option"], d)
        fixture.check(r.returncode == 64, (cmd, r.returncode))
    r = fixture.run(["frobnicate"], d)
    fixture.check(r.returncode == 64 and len(r.stderr.splitlines()) == 1, r)
    r = fixture.run([], d)
    fixture.check(r.returncode == 64, r)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
