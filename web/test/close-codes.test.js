// The close-code table chorus.js follows is a copy of protocol/src/close.rs (the source of
// truth) and of the table in protocol/PROTOCOL.md: these tests fail when they drift.
// Also the small pure pieces of chorus.js: backoff, subject matching, token expiry.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { CLOSE_CODES, closeInfo } from "../close-codes.js";
import { backoff, subjectMatches, tokenExpiry } from "../chorus.js";

const read = (rel) => fs.readFileSync(new URL(`../../${rel}`, import.meta.url), "utf8");

/** The body of `fn name(…) { … }` in close.rs, up to the next `pub` item. */
function fnBody(src, name) {
  const start = src.indexOf(`fn ${name}(`);
  assert.ok(start >= 0, `close.rs has no fn ${name}`);
  const end = src.indexOf("\n    pub ", start + 1);
  return src.slice(start, end < 0 ? undefined : end);
}

/** The table as close.rs says it: ALL's order, code(), reason(), reconnect(). */
function rustTable() {
  const src = read("protocol/src/close.rs");
  const all = src.match(/pub const ALL: \[CloseCode; \d+\] = \[([^\]]*)\]/)[1];
  const variants = [...all.matchAll(/Self::(\w+)/g)].map((m) => m[1]);
  const arms = (name, value) =>
    new Map([...fnBody(src, name).matchAll(new RegExp(`Self::(\\w+) => ${value}`, "g"))].map((m) => [m[1], m[2]]));
  const codes = arms("code", "(\\d+)");
  const reasons = arms("reason", '"([^"]*)"');
  const reconnecting = new Set([...fnBody(src, "reconnect").matchAll(/Self::(\w+)/g)].map((m) => m[1]));
  assert.ok(variants.length >= 10, "parsed too few close codes from close.rs");
  return variants.map((v) => {
    assert.ok(codes.has(v) && reasons.has(v), `close.rs: ${v} lacks a code or a reason arm`);
    return { code: Number(codes.get(v)), reason: reasons.get(v), reconnect: reconnecting.has(v) };
  });
}

test("close-codes.js is close.rs's table", () => {
  assert.deepEqual(CLOSE_CODES.map((c) => ({ ...c })), rustTable());
});

test("close-codes.js is PROTOCOL.md's table", () => {
  const rows = [...read("protocol/PROTOCOL.md").matchAll(/^\| (\d{4}) \| `(\w+)` \| (yes|no)\b/gm)];
  const table = rows.map((m) => ({ code: Number(m[1]), reason: m[2], reconnect: m[3] === "yes" }));
  assert.deepEqual(CLOSE_CODES.map((c) => ({ ...c })), table);
});

test("codes outside the table follow the ranges", () => {
  assert.equal(closeInfo(1006).reconnect, true); // the network dropped
  assert.equal(closeInfo(4099).reconnect, true);
  assert.equal(closeInfo(4599).reconnect, false);
  assert.deepEqual(closeInfo(4500), { code: 4500, reason: "unauthorized", reconnect: false });
});

test("backoff is full jitter within [min, max], growing with the attempt", () => {
  for (let attempt = 0; attempt < 40; attempt++) {
    for (let i = 0; i < 50; i++) {
      const d = backoff(attempt, 100, 5000);
      assert.ok(d >= 100 && d <= 5000, `attempt ${attempt}: ${d}`);
      assert.ok(d <= 100 + 100 * 2 ** attempt);
    }
  }
  const late = Array.from({ length: 200 }, () => backoff(10, 100, 5000));
  assert.ok(Math.max(...late) - Math.min(...late) > 1000, "jitter spreads the delays");
});

test("subject patterns: * is one token, > the rest", () => {
  assert.ok(subjectMatches("a.b", "a.b"));
  assert.ok(subjectMatches("a.*", "a.b"));
  assert.ok(!subjectMatches("a.*", "a.b.c"));
  assert.ok(subjectMatches("a.>", "a.b.c"));
  assert.ok(!subjectMatches("a.>", "a"));
  assert.ok(subjectMatches("*.b.>", "x.b.c"));
  assert.ok(!subjectMatches("a.b", "a.b.c"));
  assert.ok(!subjectMatches("a.b.c", "a.b"));
});

test("a token's expiry is read from its payload, bounded by its lifetime", () => {
  const jwt = (claims) =>
    `h.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.s`;
  const now = Math.floor(Date.now() / 1000);
  const exp = tokenExpiry(jwt({ iat: now, exp: now + 900 }));
  assert.ok(Math.abs(exp - (now + 900) * 1000) < 1000);
  // A client clock an hour behind the server's: the lifetime decides, not exp.
  const skewed = tokenExpiry(jwt({ iat: now + 3600, exp: now + 3600 + 900 }));
  assert.ok(skewed - Date.now() <= 900 * 1000);
  assert.equal(tokenExpiry("garbage"), null);
  assert.equal(tokenExpiry(jwt({ sub: "1" })), null);
});
