// The nodemailer peer of `make bench` (not part of herald).  Per reader it
// does what herald does per reader: pick the body of the reader's (zone,
// locale) variant, put in the name and address (HTML-escaped in the HTML
// part), compute the HMAC-SHA-256 unsubscribe token and a Message-ID, and
// build a multipart/alternative (or text-only) message.
//   build: build every message and drop it (streamTransport, buffered)
//   send:  nodemailer's SMTP pool, CONNS connections, up to 8 messages per
//          connection queued, Nagle off on every socket
// Usage: node peer_nodemailer.js build|send LIST.csv VARIANTS.json [PORT CONNS]
"use strict";
const fs = require("fs");
const net = require("net");
const crypto = require("crypto");
const readline = require("readline");
const nodemailer = require("nodemailer");

// No Nagle penalty: every socket nodemailer opens sends small writes at once.
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...a) {
  this.setNoDelay(true);
  return connect.apply(this, a);
};

const esc = (s) => s.replace(/[&<>"']/g, (c) =>
  ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const b64u = (b) => Buffer.from(b).toString("base64url");

async function main() {
  const [mode, list, varFile, port, conns] = process.argv.slice(2);
  const V = JSON.parse(fs.readFileSync(varFile, "utf8"));
  const secret = Buffer.from(V.secret, "hex");
  const nconn = Number(conns || 8);
  const t = mode === "send" ?
    nodemailer.createTransport({
      host: "127.0.0.1", port: Number(port), secure: false, ignoreTLS: true,
      pool: true, maxConnections: nconn, maxMessages: Infinity,
    }) :
    nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "windows" });
  const rl = readline.createInterface({ input: fs.createReadStream(list) });
  let header = null, n = 0, bytes = 0;
  const inflight = new Set();
  for await (const line of rl) {
    const cols = line.split(",");
    if (!header) { header = cols; continue; }
    const [email, name, zone, locale, fmt] = cols;
    const v = V.variants[zone + "|" + locale];
    const addr = email.toLowerCase();
    const tok = b64u(addr) + "." + b64u(crypto.createHmac("sha256", secret)
      .update(V.list + "\n" + addr).digest());
    const unsub = V.unsub_url + "?token=" + tok;
    const mid = crypto.createHash("sha256").update(V.campaign + "\n" + addr)
      .digest("hex").slice(0, 32) + "@" + V.domain;
    const msg = {
      from: V.from, to: { name, address: email }, subject: V.subject,
      replyTo: V.reply_to, messageId: "<" + mid + ">", date: new Date(),
      text: v.text.split("{{name}}").join(name).split("{{email}}").join(email)
        .split("{{unsub}}").join(unsub),
      headers: { "List-Id": V.list_id },
      list: { unsubscribe: [unsub, "mailto:" + V.unsub_mailto] },
    };
    if (fmt !== "text")
      msg.html = v.html.split("{{name}}").join(esc(name)).split("{{email}}")
        .join(esc(email)).split("{{unsub}}").join(esc(unsub));
    if (mode === "send") {
      const p = t.sendMail(msg).then(() => inflight.delete(p));
      inflight.add(p);
      if (inflight.size >= 8 * nconn) await Promise.race(inflight);
    } else {
      const info = await t.sendMail(msg);
      bytes += info.message.length;
    }
    n++;
  }
  await Promise.all(inflight);
  t.close();
  console.log(`nodemailer ${mode} ${n} messages`);
}
main().catch((e) => { console.error(e); process.exit(1); });
