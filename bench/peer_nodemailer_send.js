// The peer for `herald send`: nodemailer's SMTP pool (4 connections, like
// herald's default) sends one message per subscriber of a CSV list to the
// sink, with the bodies herald made, the name substituted.  Like most
// nodemailer scripts it keeps no journal.
// Usage: node peer_nodemailer_send.js LIST.csv TEXT HTML PORT
"use strict";
const fs = require("fs");
const readline = require("readline");
const nodemailer = require("nodemailer");

async function main() {
  const [list, textFile, htmlFile, port] = process.argv.slice(2);
  const text = fs.readFileSync(textFile, "utf8");
  const html = fs.readFileSync(htmlFile, "utf8");
  const t = nodemailer.createTransport({
    host: "127.0.0.1", port: Number(port), secure: false, ignoreTLS: true,
    pool: true, maxConnections: 4, maxMessages: Infinity,
  });
  const rl = readline.createInterface({ input: fs.createReadStream(list) });
  let header = null, n = 0;
  const inflight = new Set();
  for await (const line of rl) {
    const cols = line.split(",");
    if (!header) { header = cols; continue; }
    const email = cols[0], name = cols[1], fmt = cols[4];
    const msg = {
      from: "Async WG <news@example.org>",
      to: { name, address: email },
      subject: "Async office hours",
      text: text.replace("{{name}}", name),
      list: { unsubscribe: "https://example.org/unsubscribe?token=" + n },
    };
    if (fmt !== "text") msg.html = html.replace("{{name}}", name);
    const p = t.sendMail(msg).then(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= 64) await Promise.race(inflight);
    n++;
  }
  await Promise.all(inflight);
  t.close();
  console.log(`peer sent ${n} messages`);
}
main().catch((e) => { console.error(e); process.exit(1); });
