// validate.js - check SNS messages with the npm package sns-validator, as an
// unmodified receiver would: node validate.js HOST_REGEX < messages.json
// (a JSON array of message bodies, each a string). Prints a JSON array with
// one {"ok": true} or {"ok": false, "error": "..."} per message, in order.
// The SigningCertURL is fetched over https: NODE_EXTRA_CA_CERTS names the CA
// of the admin listener's certificate.
"use strict";
const MessageValidator = require("sns-validator");

const pattern = new RegExp(process.argv[2] || "^127\\.0\\.0\\.1:\\d+$");
const validator = new MessageValidator(pattern);
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => { input += d; });
process.stdin.on("end", () => {
  const bodies = JSON.parse(input);
  const results = new Array(bodies.length);
  let left = bodies.length;
  if (!left) {
    process.stdout.write("[]\n");
    return;
  }
  bodies.forEach((body, i) => {
    validator.validate(body, (err) => {
      results[i] = err ? { ok: false, error: String(err.message || err) } : { ok: true };
      if (--left === 0)
        process.stdout.write(JSON.stringify(results) + "\n");
    });
  });
});
