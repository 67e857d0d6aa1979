// chorus.d.ts says what chorus.js has: the module's exports, the client's methods and every
// service helper. (The types themselves were checked with tsc --strict; this keeps the
// names from drifting without a TypeScript dependency.)

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import * as chorus from "../chorus.js";

const dts = fs.readFileSync(new URL("../chorus.d.ts", import.meta.url), "utf8");

/** The member names declared in `interface Name { … }` or `class Name … { … }`. */
function members(kind, name) {
  const start = dts.search(new RegExp(`${kind} ${name}\\b[^{]*\\{`));
  assert.ok(start >= 0, `chorus.d.ts declares no ${kind} ${name}`);
  let depth = 0;
  let i = dts.indexOf("{", start);
  const bodyStart = i + 1;
  for (; i < dts.length; i++) {
    if (dts[i] === "{") depth++;
    if (dts[i] === "}" && --depth === 0) break;
  }
  const body = dts.slice(bodyStart, i);
  // Members sit at the first indentation level: "  name(", "  name<", "  readonly name:".
  return new Set([...body.matchAll(/^ {2}(?:readonly )?(\w+)[(<?:]/gm)].map((m) => m[1]));
}

class SilentSocket {
  readyState = 0;
  send() {}
  close() {}
}

test("every export of chorus.js is declared", () => {
  for (const name of Object.keys(chorus)) {
    assert.match(dts, new RegExp(`export (declare )?(function|class|const) ${name}\\b|export \\{[^}]*\\b${name}\\b`), name);
  }
});

test("the client's methods and helpers are declared, and nothing more", () => {
  const c = chorus.connect({ url: "ws://127.0.0.1:9", WebSocket: SilentSocket });
  try {
    const proto = Object.getOwnPropertyNames(chorus.Chorus.prototype).filter((n) => n !== "constructor");
    const fields = Object.keys(c);
    const declared = members("class", "Chorus");
    declared.delete("constructor");
    assert.deepEqual([...declared].sort(), [...proto, ...fields].sort());
    const groups = {
      accounts: "Accounts", friends: "Friends", chat: "Chat", presence: "Presence",
      mm: "Matchmaking", rooms: "Rooms", store: "Store", rating: "Rating",
    };
    for (const [field, iface] of Object.entries(groups)) {
      assert.deepEqual([...members("interface", iface)].sort(), Object.keys(c[field]).sort(), iface);
    }
  } finally {
    c.close();
  }
});
