"""Helpers for the `herald serve` end-to-end tests: start the server on a
run-time port, and a Chromium driven over its DevTools pipe.  Not a test
itself."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import fixture

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class Serve:
    """`herald serve --listen 127.0.0.1:0` in a site dir; stop() ends it."""

    def __init__(self, site_dir, *args):
        self.p = subprocess.Popen(
            [fixture.HERALD, "serve", "--listen", "127.0.0.1:0",
             "--config", os.path.join(site_dir, "herald.yml")] + list(args),
            cwd=site_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.p.stdout.readline().decode()
        m = re.search(r"http://127\.0\.0\.1:(\d+)(/\S*)", line)
        if not m:
            self.p.kill()
            raise RuntimeError("herald serve did not start: %r %r" % (
                line, self.p.stderr.read().decode()))
        self.port = int(m.group(1))
        self.base = "http://127.0.0.1:%d" % self.port

    def local(self, url):
        """The https URL of a message, pointed at this server."""
        return re.sub(r"^https://[^/]+", self.base, url)

    def stop(self):
        """SIGTERM, wait; returns (exit code, stderr)."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        err = self.p.stderr.read().decode()
        self.p.stdout.close()
        self.p.stderr.close()
        return self.p.returncode, err


class Chromium:
    """Headless Chromium driven over --remote-debugging-pipe (DevTools
    protocol, NUL-terminated JSON on fds 3 and 4): no websocket library,
    no fixed port."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="herald-chromium-")
        r_in, self._w = os.pipe()     # we write commands -> chromium fd 3
        self._r, w_out = os.pipe()    # chromium fd 4 -> we read
        def child():
            a, b = os.dup(r_in), os.dup(w_out)   # never clobber 3 or 4
            a, b = os.dup2(a, 100), os.dup2(b, 101)
            os.dup2(100, 3, inheritable=True)
            os.dup2(101, 4, inheritable=True)
        self.p = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--remote-debugging-pipe",
             "--user-data-dir=" + self.profile, "about:blank"],
            preexec_fn=child, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(r_in)
        os.close(w_out)
        self._buf = b""
        self._id = 0
        self.events = []
        targets = self.call("Target.getTargets")["targetInfos"]
        page = [t for t in targets if t["type"] == "page"][0]
        self.session = self.call("Target.attachToTarget",
                                 targetId=page["targetId"],
                                 flatten=True)["sessionId"]
        self.call("Page.enable", session=True)

    def _read(self, deadline):
        while b"\0" not in self._buf:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer")
            import select
            r, _, _ = select.select([self._r], [], [], 1)
            if r:
                chunk = os.read(self._r, 65536)
                if not chunk:
                    raise RuntimeError("chromium closed its pipe")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, session=False, timeout=60, **params):
        self._id += 1
        m = {"id": self._id, "method": method, "params": params}
        if session:
            m["sessionId"] = self.session
        os.write(self._w, json.dumps(m).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            r = self._read(deadline)
            if r.get("id") == self._id:
                if "error" in r:
                    raise RuntimeError("%s: %s" % (method, r["error"]))
                return r.get("result", {})
            self.events.append(r)

    def wait_event(self, name, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == name:
                    del self.events[i]
                    return ev
            self.events.append(self._read(deadline))

    def js(self, expr):
        r = self.call("Runtime.evaluate", session=True, expression=expr,
                      returnByValue=True)
        return r["result"].get("value")

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        os.close(self._w)
        os.close(self._r)
        shutil.rmtree(self.profile, ignore_errors=True)
