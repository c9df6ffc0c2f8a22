#!/usr/bin/python3
"""faultsmtp: a scriptable, fault-injecting SMTP server for herald's tests.

Built on aiosmtpd (RFC 5321 SMTP, RFC 3207 STARTTLS, RFC 4954 AUTH with the
PLAIN and LOGIN mechanisms).  It listens on a loopback address only, stores
every accepted message in a Maildir (tmp/ then rename into new/, the raw bytes
exactly as received after un-dot-stuffing), writes the envelope of each stored
message to <maildir>/envelopes.jsonl, and logs every client line and server
reply of every connection as JSON lines, so that tests can assert what was (and
was not) said on the wire.

Faults come from a script: a list of rules, each applying at one point of the
session ("at") and selected by connection number, transaction number,
recipient pattern, a firing limit or a probability.  See README.md beside this
file for the rule format and examples.

Use it as a module:

    with FaultServer(script=[...], maildir=d) as s:
        ... s.port ..., s.envelopes(), s.log().transactions(1)

or from the shell:

    faultsmtp.py --port 0 --portfile F --maildir DIR --script JSON --log FILE &
"""

import argparse
import asyncio
import base64
import email.parser
import email.policy
import fnmatch
import ipaddress
import json
import logging
import os
import random
import shutil
import signal
import ssl
import sys
import tempfile
import threading
import time
import warnings

from aiosmtpd.smtp import SMTP, MISSING, AuthResult

PHASES = ("connect", "ehlo", "starttls", "auth", "mail", "rcpt",
          "data_cmd", "data")
ACTIONS = ("reply", "drop", "stall", "delay")
RULE_KEYS = {"at", "rcpt", "from", "conn", "txn", "conn_txn", "prob",
             "times", "times_per_rcpt", "reply", "action", "delay_ms",
             "store", "close", "name"}


class ScriptError(ValueError):
    pass


def _pipelining(v):
    """pipelining: False, True, "before-tls" (only in the EHLO reply before
    STARTTLS) or "after-tls" (only in the one after)."""
    if v in (False, True, None, "before-tls", "after-tls"):
        return bool(v) if v in (None, False, True) else v
    raise ScriptError("pipelining must be true, false, "
                      "\"before-tls\" or \"after-tls\"")


def _numset(spec, what):
    """Compile a number selector: 3, [1, 4], "2-5", "4-", "-3" or "%3"."""
    if spec is None:
        return None
    if isinstance(spec, bool):
        raise ScriptError(f"{what}: not a number selector: {spec!r}")
    if isinstance(spec, int):
        return lambda n: n == spec
    if isinstance(spec, list):
        vals = set()
        for v in spec:
            if not isinstance(v, int) or isinstance(v, bool):
                raise ScriptError(f"{what}: list must hold integers")
            vals.add(v)
        return lambda n: n in vals
    if isinstance(spec, str):
        s = spec.strip()
        try:
            if s.startswith("%"):
                k = int(s[1:])
                if k <= 0:
                    raise ValueError
                return lambda n: n % k == 0
            if "-" in s:
                lo, hi = s.split("-", 1)
                lo = int(lo) if lo.strip() else 1
                hi = int(hi) if hi.strip() else None
                return lambda n: n >= lo and (hi is None or n <= hi)
            v = int(s)
            return lambda n: n == v
        except ValueError:
            pass
    raise ScriptError(f"{what}: bad number selector {spec!r}")


def _patterns(spec, what):
    if spec is None:
        return None
    if isinstance(spec, str):
        spec = [spec]
    if not isinstance(spec, list) or not all(isinstance(p, str) for p in spec):
        raise ScriptError(f"{what}: must be a pattern or a list of patterns")
    return [p.lower() for p in spec]


def _pmatch(pats, addr):
    a = (addr or "").lower()
    return any(fnmatch.fnmatchcase(a, p) for p in pats)


class Rule:
    """One fault: where it applies, what selects it, and what it does."""

    def __init__(self, index, d):
        if not isinstance(d, dict):
            raise ScriptError(f"rule {index}: must be an object")
        unknown = set(d) - RULE_KEYS
        if unknown:
            raise ScriptError(f"rule {index}: unknown keys {sorted(unknown)}")
        self.index = index
        self.name = d.get("name", f"rule{index}")
        self.at = d.get("at")
        if self.at not in PHASES:
            raise ScriptError(f"rule {index}: 'at' must be one of {PHASES}")
        self.rcpt = _patterns(d.get("rcpt"), f"rule {index}: rcpt")
        self.mfrom = _patterns(d.get("from"), f"rule {index}: from")
        if self.rcpt and self.at not in ("rcpt", "data_cmd", "data"):
            raise ScriptError(f"rule {index}: 'rcpt' needs at rcpt/data_cmd/data")
        self.conn = _numset(d.get("conn"), f"rule {index}: conn")
        self.txn = _numset(d.get("txn"), f"rule {index}: txn")
        self.conn_txn = _numset(d.get("conn_txn"), f"rule {index}: conn_txn")
        self.prob = d.get("prob")
        self.times = d.get("times")
        self.times_per_rcpt = d.get("times_per_rcpt")
        reply = d.get("reply")
        if isinstance(reply, str):
            reply = [reply]
        if reply is not None:
            if (not isinstance(reply, list) or not reply or
                    not all(isinstance(r, str) and len(r) >= 3 and
                            r[:3].isdigit() for r in reply)):
                raise ScriptError(f"rule {index}: reply must be 'NNN text'")
        self.reply = reply
        self.action = d.get("action", "reply" if reply else None)
        if self.action not in ACTIONS:
            raise ScriptError(f"rule {index}: action must be one of {ACTIONS}")
        if self.action == "reply" and not reply:
            raise ScriptError(f"rule {index}: action reply needs 'reply'")
        self.delay_ms = int(d.get("delay_ms", 0))
        code = int(reply[-1][:3]) if reply else 0
        default_store = self.action in ("drop", "stall", "delay") or (
            self.action == "reply" and 200 <= code < 300)
        self.store = bool(d.get("store", default_store))
        self.close = bool(d.get("close", code == 421 or self.at == "connect"))
        self.fired = 0
        self.fired_per = {}

    def matches(self, at, ctx, rng):
        if at != self.at:
            return False
        if self.conn and not self.conn(ctx["conn"]):
            return False
        if self.txn and not (ctx.get("txn") and self.txn(ctx["txn"])):
            return False
        if self.conn_txn and not (ctx.get("conn_txn") and
                                  self.conn_txn(ctx["conn_txn"])):
            return False
        if self.mfrom and not _pmatch(self.mfrom, ctx.get("from")):
            return False
        key = None
        if self.rcpt:
            hits = [r for r in ctx.get("rcpts", ()) if _pmatch(self.rcpt, r)]
            if not hits:
                return False
            key = hits[0].lower()
        elif ctx.get("rcpts"):
            key = ctx["rcpts"][0].lower()
        if self.times is not None and self.fired >= self.times:
            return False
        if self.times_per_rcpt is not None:
            if key is None or self.fired_per.get(key, 0) >= self.times_per_rcpt:
                return False
        if self.prob is not None and rng.random() >= self.prob:
            return False
        self.fired += 1
        if key is not None:
            self.fired_per[key] = self.fired_per.get(key, 0) + 1
        return True


def parse_script(script):
    """Turn a script (list of rules, or object, or JSON text, or a file name)
    into (rules, options)."""
    if script is None:
        return [], {}
    if isinstance(script, str):
        text = script.strip()
        if not text.startswith(("{", "[")):
            with open(script, encoding="utf-8") as f:
                text = f.read()
        try:
            script = json.loads(text)
        except json.JSONDecodeError as e:
            raise ScriptError(f"script: {e}") from None
    if isinstance(script, list):
        script = {"rules": script}
    if not isinstance(script, dict):
        raise ScriptError("script must be a list of rules or an object")
    opts = dict(script)
    rules = [Rule(i, r) for i, r in enumerate(opts.pop("rules", []))]
    allowed = {"seed", "delay_ms", "stall_seconds", "starttls", "pipelining"}
    unknown = set(opts) - allowed
    if unknown:
        raise ScriptError(f"script: unknown keys {sorted(unknown)}")
    return rules, opts


def message_id_of(content):
    try:
        hdrs = email.parser.BytesHeaderParser(
            policy=email.policy.compat32).parsebytes(content)
        mid = hdrs.get("Message-ID")
        return " ".join(str(mid).split()) if mid is not None else None
    except Exception:
        return None


class State:
    """Everything shared by the connections of one server: counters, rules,
    the log and the Maildir.  Only touched from the event loop's thread."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.rules, opts = parse_script(cfg["script"])
        self.rng = random.Random(opts.get("seed", 4))
        self.delay_ms = int(opts.get("delay_ms", cfg["delay_ms"]))
        self.stall_seconds = float(opts.get("stall_seconds",
                                            cfg["stall_seconds"]))
        self.starttls = opts.get("starttls", cfg["starttls"])
        self.pipelining = _pipelining(opts.get("pipelining",
                                               cfg["pipelining"]))
        if self.starttls not in ("auto", "off", "refuse"):
            raise ScriptError("starttls must be auto, off or refuse")
        self.conns = 0
        self.txns = 0
        self.seq = 0
        self.protocols = set()
        self.maildir = cfg["maildir"]
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(self.maildir, sub), exist_ok=True)
        self.logf = open(cfg["log"], "a", encoding="utf-8")
        self.envf = open(os.path.join(self.maildir, "envelopes.jsonl"), "a",
                         encoding="utf-8")

    def set_script(self, script):
        rules, opts = parse_script(script)
        self.rules = rules
        if "seed" in opts:
            self.rng = random.Random(opts["seed"])
        if "delay_ms" in opts:
            self.delay_ms = int(opts["delay_ms"])
        if "stall_seconds" in opts:
            self.stall_seconds = float(opts["stall_seconds"])
        if "starttls" in opts:
            self.starttls = opts["starttls"]
        if "pipelining" in opts:
            self.pipelining = _pipelining(opts["pipelining"])
        self.log(0, "script", rules=len(rules))

    def close(self):
        self.logf.close()
        self.envf.close()

    def log(self, conn, ev, **kw):
        rec = {"t": round(time.time(), 3), "conn": conn, "ev": ev}
        rec.update(kw)
        self.logf.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self.logf.flush()

    def match(self, at, ctx):
        for r in self.rules:
            if r.matches(at, ctx, self.rng):
                return r
        return None

    def store(self, content, meta):
        """Write one message into the Maildir atomically; return its path
        relative to the Maildir."""
        self.seq += 1
        now = time.time()
        name = "%d.M%06dP%dQ%d.faultsmtp" % (
            int(now), int((now % 1) * 1e6), os.getpid(), self.seq)
        tmp = os.path.join(self.maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(content)
        os.rename(tmp, os.path.join(self.maildir, "new", name))
        rel = "new/" + name
        rec = {"file": rel, "t": round(now, 3)}
        rec.update(meta)
        rec["message_id"] = message_id_of(content)
        rec["bytes"] = len(content)
        self.envf.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self.envf.flush()
        return rel


class FaultSMTP(SMTP):
    """One connection.  Adds wire logging and fault points to aiosmtpd."""

    def __init__(self, state, **kw):
        self.st = state
        state.conns += 1
        self.conn_no = state.conns
        self.conn_txns = 0
        self.txn_no = 0
        self._rxbuf = bytearray()
        self._reads = 0     # data_received calls: "rd" in the log
        self._in_data = False
        self._data_bytes = 0
        self._closed_by_server = False
        self._quit = False
        self._logged_close = False
        super().__init__(Handler(state), **kw)

    # --- wire logging ---------------------------------------------------
    def _tls_on(self):
        return self._tls_protocol is not None

    def data_received(self, data):
        self._reads += 1
        self._log_rx(data)
        super().data_received(data)

    def _log_rx(self, data):
        buf = self._rxbuf
        buf += data
        while buf:
            if self._in_data:
                # DATA lines end with CRLF only, as aiosmtpd reads them.
                i = buf.find(b"\r\n")
                if i < 0:
                    break
                line = bytes(buf[:i + 2])
                del buf[:i + 2]
                if line == b".\r\n":
                    self._in_data = False
                    self.st.log(self.conn_no, "data", bytes=self._data_bytes,
                                tls=self._tls_on(), rd=self._reads)
                else:
                    self._data_bytes += len(line)
            else:
                i = buf.find(b"\n")
                if i < 0:
                    if len(buf) > 65536:
                        self._log_line(bytes(buf), partial=True)
                        del buf[:]
                    break
                line = bytes(buf[:i + 1])
                del buf[:i + 1]
                self._log_line(line)

    def _log_line(self, line, partial=False):
        if line.endswith(b"\r\n"):
            eol, line = "crlf", line[:-2]
        elif line.endswith(b"\n"):
            eol, line = "lf", line[:-1]
        else:
            eol = ""
        rec = {"line": line.decode("utf-8", "backslashreplace"),
               "tls": self._tls_on(), "rd": self._reads}
        if eol != "crlf":
            rec["eol"] = eol
        if partial:
            rec["partial"] = True
        self.st.log(self.conn_no, "c", **rec)

    async def push(self, status):
        text = status if isinstance(status, str) else status.decode(
            "utf-8", "backslashreplace")
        self.st.log(self.conn_no, "s", line=text, tls=self._tls_on())
        if text.startswith("221"):
            self._quit = True
        if text.startswith("354"):
            self._in_data = True
            self._data_bytes = 0
        await super().push(status)
        if text.startswith("421"):
            self.close_conn()

    # --- connection life ------------------------------------------------
    def connection_made(self, transport):
        upgrading = self.transport is not None and \
            self._original_transport is not None
        if not upgrading:
            self.st.protocols.add(self)
            peer = transport.get_extra_info("peername")
            self.st.log(self.conn_no, "connect",
                        peer="%s:%s" % (peer[0], peer[1]) if peer else None)
        else:
            del self._rxbuf[:]
            obj = transport.get_extra_info("ssl_object")
            self.st.log(self.conn_no, "tls",
                        version=obj.version() if obj else None)
        super().connection_made(transport)

    def connection_lost(self, error):
        if self._rxbuf:
            self._log_line(bytes(self._rxbuf), partial=True)
            del self._rxbuf[:]
        if not self._logged_close:
            self._logged_close = True
            self.st.log(self.conn_no, "close",
                        by="quit" if self._quit else
                        "server" if self._closed_by_server else "client",
                        txns=self.conn_txns)
        self.st.protocols.discard(self)
        super().connection_lost(error)

    def eof_received(self):
        # aiosmtpd keeps a half-closed socket open until its idle timer fires;
        # close it at once so the log shows when the client went away.
        super().eof_received()
        return False

    def close_conn(self):
        if self.transport is not None:
            self._closed_by_server = True
            self.transport.close()

    def drop_conn(self):
        """Vanish: close the TCP connection without a word (no TLS alert)."""
        t = self._original_transport or self.transport
        if t is not None:
            self._closed_by_server = True
            t.abort()

    # --- faults ---------------------------------------------------------
    def ctx(self, **kw):
        c = {"conn": self.conn_no, "txn": self.txn_no,
             "conn_txn": self.conn_txns}
        c.update(kw)
        return c

    async def fault(self, at, **kw):
        """Return the rule that fires here, after its delay, or None."""
        rule = self.st.match(at, self.ctx(**kw))
        if rule is None:
            return None
        self.st.log(self.conn_no, "fault", rule=rule.name, at=at,
                    action=rule.action,
                    reply=rule.reply[-1] if rule.reply else None)
        if rule.delay_ms:
            await asyncio.sleep(rule.delay_ms / 1000)
        return rule

    async def hang(self):
        """Say nothing, for at most stall_seconds, then hang up."""
        self._reset_timeout(self.st.stall_seconds + 60)
        await asyncio.sleep(self.st.stall_seconds)
        self.st.log(self.conn_no, "stall-ended")
        self.close_conn()
        await asyncio.sleep(3600)  # cancelled by connection_lost

    async def vanish(self):
        self.drop_conn()
        await asyncio.sleep(3600)  # cancelled by connection_lost

    async def act(self, rule):
        """Carry out a rule that does not need a status returned: drop, stall
        or reply (pushed here).  Returns True when the command is handled."""
        if rule.action == "drop":
            await self.vanish()
        if rule.action == "stall":
            await self.hang()
        if rule.action == "reply":
            for r in rule.reply[:-1]:
                await self.push(r)
            await self.push(rule.reply[-1])
            if rule.close:
                self.close_conn()
            return True
        return False

    async def _handle_client(self):
        rule = await self.fault("connect")
        if rule is not None and await self.act(rule):
            return
        await super()._handle_client()

    async def smtp_STARTTLS(self, arg):
        rule = await self.fault("starttls")
        if rule is not None and await self.act(rule):
            return
        if self.st.starttls == "refuse":
            await self.push("454 4.7.0 TLS not available due to temporary reason")
            return
        await super().smtp_STARTTLS(arg)

    async def smtp_DATA(self, arg):
        if self.envelope.rcpt_tos and not arg and self.session.host_name:
            rule = await self.fault("data_cmd", rcpts=self.envelope.rcpt_tos,
                                    **{"from": self.envelope.mail_from})
            if rule is not None and await self.act(rule):
                return
        await super().smtp_DATA(arg)


class Handler:
    """aiosmtpd hooks; each gets the FaultSMTP connection as `server`."""

    def __init__(self, state):
        self.st = state

    async def _status(self, server, rule):
        """Turn a fired rule into the status an aiosmtpd hook returns."""
        if rule.action in ("drop", "stall"):
            await server.act(rule)
        if rule.action == "reply":
            for r in rule.reply[:-1]:
                await server.push(r)
            if rule.close and not rule.reply[-1].startswith("421"):
                asyncio.get_running_loop().call_soon(server.close_conn)
            return rule.reply[-1]
        return MISSING

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        rule = await server.fault("ehlo")
        if rule is not None and rule.action != "delay":
            return [await self._status(server, rule)]
        session.host_name = hostname
        if self.st.starttls == "off":
            responses = [r for r in responses if r[4:] != "STARTTLS"]
        elif self.st.starttls == "refuse" and not server._tls_on() and \
                not any(r[4:] == "STARTTLS" for r in responses):
            responses.insert(len(responses) - 1, "250-STARTTLS")
        p = self.st.pipelining
        if p is True or p == ("after-tls" if server._tls_on() else
                              "before-tls"):
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_AUTH(self, server, session, envelope, args):
        rule = await server.fault("auth")
        if rule is not None:
            return await self._status(server, rule)
        return MISSING

    async def handle_MAIL(self, server, session, envelope, address, options):
        self.st.txns += 1
        server.txn_no = self.st.txns
        server.conn_txns += 1
        rule = await server.fault("mail", **{"from": address})
        if rule is not None:
            st = await self._status(server, rule)
            if st is not MISSING:
                return st
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        rule = await server.fault("rcpt", rcpts=[address],
                                  **{"from": envelope.mail_from})
        if rule is not None:
            st = await self._status(server, rule)
            if st is not MISSING:
                return st
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or b""
        rule = await server.fault("data", rcpts=envelope.rcpt_tos,
                                  **{"from": envelope.mail_from})
        meta = {"mail_from": envelope.mail_from,
                "rcpt": list(envelope.rcpt_tos),
                "conn": server.conn_no, "txn": server.txn_no,
                "conn_txn": server.conn_txns, "tls": server._tls_on()}
        if rule is None or rule.action == "delay":
            status = "stored"
        elif rule.action == "drop":
            status = "dropped-after-dot"
        elif rule.action == "stall":
            status = "stalled-after-dot"
        elif rule.reply[-1][0] == "2":
            status = "stored"
        else:
            status = "rejected-after-dot"
        store = rule.store if rule is not None else True
        rel = None
        if store:
            rel = self.st.store(content, dict(meta, status=status))
        self.st.log(server.conn_no, status, file=rel, rcpt=meta["rcpt"],
                    txn=server.txn_no, conn_txn=server.conn_txns,
                    message_id=message_id_of(content), bytes=len(content))
        if rule is not None and rule.action != "delay":
            return await self._status(server, rule)
        if self.st.delay_ms:
            await asyncio.sleep(self.st.delay_ms / 1000)
        return "250 2.0.0 OK queued as %s" % (
            rel.rsplit("/", 1)[1].split(".")[1] if rel else "-")


def _loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FaultServer:
    """The server, run on its own event loop: in a thread (start/stop, or a
    `with` block) or in the foreground (run(), for the command line)."""

    def __init__(self, script=None, maildir=None, log=None, host="127.0.0.1",
                 port=0, tls_cert=None, tls_key=None, starttls="auto",
                 auth=None, auth_insecure=False, require_tls=False,
                 delay_ms=0, stall_seconds=120, idle_timeout=60,
                 max_seconds=900, hostname="localhost", smtputf8=True,
                 portfile=None, pipelining=False):
        if not _loopback(host):
            raise ValueError(f"faultsmtp listens on loopback only, not {host}")
        self.host = host
        self.port = int(port)
        self.portfile = portfile
        self._own_dir = None
        if maildir is None:
            self._own_dir = tempfile.mkdtemp(prefix="faultsmtp.")
            maildir = os.path.join(self._own_dir, "Maildir")
        self.maildir = os.path.abspath(maildir)
        os.makedirs(self.maildir, exist_ok=True)
        self.log_path = os.path.abspath(
            log or os.path.join(self.maildir, "faultsmtp.jsonl"))
        if isinstance(auth, str):
            if ":" not in auth:
                raise ValueError("auth must be user:password")
            auth = tuple(auth.split(":", 1))
        self.auth = auth
        self.tls_ctx = None
        if tls_cert and starttls != "off":
            self.tls_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.tls_ctx.load_cert_chain(tls_cert, tls_key)
        self.cfg = {"script": script, "maildir": self.maildir,
                    "log": self.log_path, "delay_ms": delay_ms,
                    "stall_seconds": stall_seconds, "starttls": starttls,
                    "pipelining": pipelining}
        parse_script(script)  # report script errors in the caller's thread
        _pipelining(pipelining)
        self.auth_insecure = auth_insecure
        self.require_tls = require_tls
        self.idle_timeout = idle_timeout
        self.max_seconds = max_seconds
        self.hostname = hostname
        self.smtputf8 = smtputf8
        self.state = None
        self.expired = False
        self._loop = None
        self._thread = None
        self._stop_ev = None
        self._ready = threading.Event()
        self._error = None

    # --- serving --------------------------------------------------------
    def _authenticator(self, server, session, envelope, mechanism, data):
        user, password = self.auth
        ok = (data.login == user.encode("utf-8") and
              data.password == password.encode("utf-8"))
        self.state.log(server.conn_no, "auth", mech=mechanism, ok=ok,
                       user=data.login.decode("utf-8", "backslashreplace"))
        return AuthResult(success=ok, handled=False)

    def _protocol(self):
        kw = {"hostname": self.hostname, "ident": "faultsmtp",
              "timeout": self.idle_timeout, "enable_SMTPUTF8": self.smtputf8,
              "loop": asyncio.get_running_loop()}
        if self.tls_ctx is not None:
            kw["tls_context"] = self.tls_ctx
            kw["require_starttls"] = self.require_tls
        if self.auth:
            kw["authenticator"] = self._authenticator
            kw["auth_required"] = True
            kw["auth_require_tls"] = not self.auth_insecure
        else:
            kw["auth_exclude_mechanism"] = ["LOGIN", "PLAIN"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return FaultSMTP(self.state, **kw)

    async def _main(self, signals=False):
        loop = asyncio.get_running_loop()
        self._stop_ev = asyncio.Event()
        self.state = State(self.cfg)
        try:
            server = await loop.create_server(self._protocol, self.host,
                                              self.port)
        except BaseException:
            self.state.close()
            raise
        self.port = server.sockets[0].getsockname()[1]
        self.state.log(0, "listen", host=self.host, port=self.port,
                       pid=os.getpid())
        if self.portfile:
            tmp = self.portfile + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % self.port)
            os.rename(tmp, self.portfile)
        if signals:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.add_signal_handler(sig, self._stop_ev.set)
        self._ready.set()
        try:
            await asyncio.wait_for(self._stop_ev.wait(), self.max_seconds)
        except asyncio.TimeoutError:
            self.expired = True
            self.state.log(0, "lifetime-expired", seconds=self.max_seconds)
        server.close()
        for p in list(self.state.protocols):
            p.drop_conn()
        await asyncio.sleep(0.05)
        me = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not me]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()
        self.state.log(0, "stopped")
        self.state.close()

    def _thread_main(self):
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as e:  # reported by start()
            self._error = e
        finally:
            self._ready.set()
            loop.close()

    def start(self, timeout=10):
        logging.getLogger("mail.log").setLevel(logging.CRITICAL)
        self._thread = threading.Thread(target=self._thread_main,
                                        name="faultsmtp", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("faultsmtp did not start in time")
        if self._error is not None:
            raise self._error
        return self

    def stop(self, timeout=10):
        if self._thread is None:
            return
        if self._thread.is_alive() and self._loop is not None:
            try:
                self._loop.call_soon_threadsafe(self._stop_ev.set)
            except RuntimeError:
                pass  # loop already closed (lifetime expired)
        self._thread.join(timeout)
        alive = self._thread.is_alive()
        self._thread = None
        if self._own_dir:
            shutil.rmtree(self._own_dir, ignore_errors=True)
        if alive:
            raise RuntimeError("faultsmtp did not stop in time")

    def run(self):
        """Serve in the foreground until SIGTERM/SIGINT or max_seconds."""
        logging.getLogger("mail.log").setLevel(logging.CRITICAL)
        asyncio.run(self._main(signals=True))
        return 124 if self.expired else 0

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def set_script(self, script, timeout=5):
        """Replace the rules (and rule counters) while running."""
        parse_script(script)
        done = threading.Event()

        def apply():
            self.state.set_script(script)
            done.set()
        self._loop.call_soon_threadsafe(apply)
        if not done.wait(timeout):
            raise RuntimeError("faultsmtp: set_script timed out")

    # --- reading results --------------------------------------------------
    def log(self):
        return Log(self.log_path)

    def envelopes(self):
        return read_envelopes(self.maildir)

    def messages(self):
        return maildir_messages(self.maildir)

    def wait_messages(self, n, timeout=10):
        return wait_for(lambda: len(self.envelopes()) >= n, timeout)

    @property
    def url(self):
        h = "[%s]" % self.host if ":" in self.host else self.host
        return "smtp://%s:%d" % (h, self.port)


# --- helpers for tests -------------------------------------------------------

def wait_for(pred, timeout=10, interval=0.05):
    """Poll pred() until true or timeout; return its last value."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(interval)


def read_jsonl(path):
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.endswith("\n"):
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def read_envelopes(maildir):
    """The envelopes.jsonl records: file, mail_from, rcpt, conn, txn, status
    ("stored", "dropped-after-dot", "stalled-after-dot"), message_id, bytes."""
    return read_jsonl(os.path.join(maildir, "envelopes.jsonl"))


def maildir_messages(maildir):
    """[(path, bytes)] of every message in new/ and cur/, sorted by name;
    works for Postfix's Maildirs too."""
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        try:
            names = sorted(os.listdir(d))
        except FileNotFoundError:
            continue
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                out.append((p, f.read()))
    return out


def b64_fragments(secret):
    """Base64 strings that appear in ANY base64 encoding of a byte stream
    containing `secret`, whatever its offset (three alignments)."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    out = set()
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + secret).decode().rstrip("=")
        start = (k * 8 + 5) // 6
        end = ((k + len(secret)) * 8) // 6
        if end - start >= 4:
            out.add(enc[start:end])
    return out


def secret_forms(password, user=None):
    """Every form in which a password could leak over SMTP AUTH or into a
    log: itself, its base64 (alone and inside any base64 stream), and the
    AUTH PLAIN blob."""
    forms = {password, base64.b64encode(password.encode()).decode()}
    forms |= b64_fragments(password)
    if user is not None:
        forms.add(base64.b64encode(
            b"\0" + user.encode() + b"\0" + password.encode()).decode())
    return forms


class Log:
    """The JSONL wire log: one record per event, with conn (0 = server),
    ev ("connect", "c" client line, "s" server line, "tls", "data", "fault",
    "auth", "stored", "dropped-after-dot", "stalled-after-dot",
    "rejected-after-dot", "close", ...) and fields."""

    def __init__(self, path):
        self.path = path
        self.records = read_jsonl(path)

    def conns(self):
        return sorted({r["conn"] for r in self.records if r["conn"] > 0})

    def events(self, ev, conn=None):
        return [r for r in self.records if r["ev"] == ev and
                (conn is None or r["conn"] == conn)]

    def client_lines(self, conn=None):
        return [r["line"] for r in self.events("c", conn)]

    def server_lines(self, conn=None):
        return [r["line"] for r in self.events("s", conn)]

    def commands(self, conn=None):
        """Upper-cased command verbs sent by the client (AUTH continuation
        lines excluded)."""
        out = []
        prev_s = None
        for r in self.records:
            if conn is not None and r["conn"] != conn:
                continue
            if r["ev"] == "s":
                prev_s = r["line"]
            elif r["ev"] == "c":
                if prev_s is not None and prev_s.startswith("334"):
                    continue
                up = r["line"].upper()
                if up.startswith("MAIL FROM"):
                    verb = "MAIL FROM"
                elif up.startswith("RCPT TO"):
                    verb = "RCPT TO"
                else:
                    verb = up.split(" ", 1)[0]
                out.append(verb)
        return out

    def dialogue(self, conn):
        """[("c"|"s", line)] for one connection, in order."""
        return [(r["ev"], r["line"]) for r in self.records
                if r["conn"] == conn and r["ev"] in ("c", "s")]

    def transactions(self, conn=None):
        """Number of MAIL FROM commands that got a 250 (per connection)."""
        n = 0
        pending = {}
        for r in self.records:
            if conn is not None and r["conn"] != conn:
                continue
            if r["ev"] == "c":
                pending[r["conn"]] = r["line"].upper().startswith("MAIL FROM")
            elif r["ev"] == "s" and pending.get(r["conn"]):
                pending[r["conn"]] = False
                if r["line"].startswith("250"):
                    n += 1
        return n

    def text(self):
        """The whole log as text, for grepping (JSON-decoded lines)."""
        return "\n".join(r.get("line", "") for r in self.records)

    def contains_any(self, needles):
        t = self.text()
        return [n for n in needles if n in t]

    def advertised(self):
        """{(conn, rd): was PIPELINING in the EHLO reply in force when that
        read came?}  An EHLO starts a new reply; STARTTLS's handshake
        voids what was said before it (RFC 3207 4.2)."""
        out = {}
        on, in_ehlo = {}, {}
        for r in self.records:
            c = r["conn"]
            if r["ev"] == "c" and r["line"][:4].upper() in ("EHLO", "HELO"):
                on[c], in_ehlo[c] = False, True
            elif r["ev"] == "s" and in_ehlo.get(c):
                if r["line"][4:].upper().startswith("PIPELINING"):
                    on[c] = True
                if r["line"][3:4] != "-":
                    in_ehlo[c] = False
            elif r["ev"] == "tls":
                on[c] = False
            if r["ev"] in ("c", "data") and "rd" in r:
                out.setdefault((c, r["rd"]), on.get(c, False))
        return out

    def discipline(self, pipelining=None):
        """Wire-discipline violations, from what arrived in one read ("rd"):
        without PIPELINING (RFC 5321 lockstep) no two commands, nor a final
        dot and a command, may come in one read; with it (RFC 2920), nothing
        may follow EHLO, HELO, DATA, QUIT, NOOP or STARTTLS in one read
        (DATA ends a group: the body waits for the 354).  pipelining: True
        or False for the whole log, None to take it from the wire (the
        EHLO reply in force on that connection, see advertised()).  Returns
        a list of "VIOLATION ..." strings, empty when the client kept the
        rules.  It sees only what shares a read: a client that writes too
        early in separate writes can escape it (tests/unit/fake_smtp.py
        also waits)."""
        out = []
        groups = {}
        for r in self.records:
            if r["ev"] in ("c", "data") and "rd" in r:
                item = r["line"] if r["ev"] == "c" else "<final dot>"
                groups.setdefault((r["conn"], r["rd"]), []).append(item)
        adv = self.advertised() if pipelining is None else {}
        for (conn, rd), items in sorted(groups.items()):
            if len(items) < 2:
                continue
            if not (adv.get((conn, rd)) if pipelining is None
                    else pipelining):
                out.append("VIOLATION conn %d: without PIPELINING, in one "
                           "read: %r" % (conn, items))
                continue
            for i, item in enumerate(items[:-1]):
                verb = item.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO", "DATA", "QUIT", "NOOP",
                            "STARTTLS"):
                    out.append("VIOLATION conn %d: %r after %s in one read"
                               % (conn, items[i + 1:], verb))
                    break
        return out


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Fault-injecting SMTP server for tests (loopback only).")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--portfile", help="write the port here when ready")
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--log", help="JSONL wire log (default MAILDIR/faultsmtp.jsonl)")
    ap.add_argument("--script", help="rules: inline JSON or a file name")
    ap.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--no-starttls", action="store_true",
                   help="never advertise or accept STARTTLS")
    g.add_argument("--refuse-starttls", action="store_true",
                   help="advertise STARTTLS but answer it with 454")
    ap.add_argument("--require-tls", action="store_true",
                    help="530 to everything but EHLO/STARTTLS before TLS")
    ap.add_argument("--auth", metavar="USER:PASS")
    ap.add_argument("--auth-insecure", action="store_true",
                    help="offer AUTH without TLS too")
    ap.add_argument("--delay-ms", type=int, default=0,
                    help="slow sink: wait this long before each 250 after DATA")
    ap.add_argument("--stall-seconds", type=float, default=120)
    ap.add_argument("--idle-timeout", type=float, default=60)
    ap.add_argument("--max-seconds", type=float, default=900)
    ap.add_argument("--hostname", default="localhost")
    ap.add_argument("--pipelining", nargs="?", const="always",
                    choices=("always", "before-tls", "after-tls"),
                    help="advertise PIPELINING (RFC 2920) after EHLO "
                    "(always, or only before or after STARTTLS)")
    a = ap.parse_args(argv)
    mode = "off" if a.no_starttls else "refuse" if a.refuse_starttls else "auto"
    try:
        srv = FaultServer(
            script=a.script, maildir=a.maildir, log=a.log, host=a.host,
            port=a.port, tls_cert=a.starttls[0] if a.starttls else None,
            tls_key=a.starttls[1] if a.starttls else None, starttls=mode,
            auth=a.auth, auth_insecure=a.auth_insecure,
            require_tls=a.require_tls, delay_ms=a.delay_ms,
            stall_seconds=a.stall_seconds, idle_timeout=a.idle_timeout,
            max_seconds=a.max_seconds, hostname=a.hostname,
            portfile=a.portfile,
            pipelining=True if a.pipelining == "always" else
            a.pipelining or False)
    except (ScriptError, ValueError, OSError) as e:
        print("faultsmtp: %s" % e, file=sys.stderr)
        return 64
    try:
        return srv.run()
    except OSError as e:
        print("faultsmtp: %s" % e, file=sys.stderr)
        return 69


if __name__ == "__main__":
    sys.exit(main())
