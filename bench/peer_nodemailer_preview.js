// The peer for `herald preview`: nodemailer builds one multipart/alternative
// message per subscriber of a CSV list (same text and HTML bodies herald
// made, the name substituted) and writes it to DIR/ADDRESS.eml.
// Usage: node peer_nodemailer_preview.js LIST.csv TEXT HTML DIR
"use strict";
const fs = require("fs");
const path = require("path");
const readline = require("readline");
const nodemailer = require("nodemailer");

async function main() {
  const [list, textFile, htmlFile, dir] = process.argv.slice(2);
  const text = fs.readFileSync(textFile, "utf8");
  const html = fs.readFileSync(htmlFile, "utf8");
  fs.mkdirSync(dir, { recursive: true });
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "windows" });
  const rl = readline.createInterface({ input: fs.createReadStream(list) });
  let header = null, n = 0;
  for await (const line of rl) {
    const cols = line.split(",");
    if (!header) { header = cols; continue; }
    const email = cols[0], name = cols[1], fmt = cols[4];
    const msg = {
      from: "Async WG <news@example.org>",
      to: { name, address: email },
      subject: "Async office hours",
      text: text.replace("{{name}}", name),
      headers: { "List-Id": "<weekly.example.org>" },
      list: { unsubscribe: "https://example.org/unsubscribe?token=" + n },
    };
    if (fmt !== "text") msg.html = html.replace("{{name}}", name);
    const info = await t.sendMail(msg);
    fs.writeFileSync(path.join(dir, email + ".eml"), info.message);
    n++;
  }
  console.log(`peer wrote ${n} messages`);
}
main().catch((e) => { console.error(e); process.exit(1); });
