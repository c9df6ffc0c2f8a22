"""What the bench scripts share (not a benchmark itself): the argument
check and Postfix's smtp-sink on a free port of 127.0.0.1."""
import os
import shutil
import socket
import subprocess
import sys
import time


def usage_or_help(doc, nargs):
    """--help prints doc (the script's docstring); fewer than nargs
    arguments print its "Usage:" line and exit 64."""
    if any(a in ("-h", "--help") for a in sys.argv[1:]):
        print(doc.strip())
        sys.exit(0)
    if len(sys.argv) - 1 < nargs:
        lines = [ln for ln in doc.splitlines() if ln.startswith("Usage:")]
        sys.stderr.write((lines[0] if lines else "see --help") + "\n")
        sys.exit(64)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_sink():
    """smtp-sink on 127.0.0.1 at a free port (as nobody when root):
    (Popen, port), or None when it is not installed or will not start."""
    sink = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    if not os.path.exists(sink):
        return None
    for _ in range(20):
        port = free_port()
        cmd = [sink] + (["-u", "nobody"] if os.geteuid() == 0 else []) + \
            ["127.0.0.1:%d" % port, "256"]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        for _ in range(50):
            if p.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return p, port
            except OSError:
                time.sleep(0.05)
        p.kill()
        p.wait()
    return None
