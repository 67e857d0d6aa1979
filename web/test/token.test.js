// chorus.js with real tokens from the accounts worker: a token refreshed by an `auth` frame
// keeps the connection past the first token's expiry; a refused token is replaced once
// from getToken. The access TTL is 3 s and the bridge allows no clock leeway.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { world, next, signUp, countingWebSocket } from "./harness.js";
import { tokenExpiry } from "../chorus.js";

const T = { timeout: 30000 };
const PASSWORD = "correct-horse-battery";
let w;
let guest;
before(async () => {
  w = await world({ bridgeEnv: { CHORUS_TOKEN_LEEWAY_SECS: "0" } });
  await w.accounts({ CHORUS_ACCESS_TTL_SECS: "3" });
  guest = w.client();
  await guest.ready();
});
after(() => w?.stop());

const session = (name) => signUp(guest, name, PASSWORD);

test("getToken is called before expiry and the token goes in an auth frame, no reconnect", T, async () => {
  const s = await session("ann_refresh");
  const firstExpiry = tokenExpiry(s.login.access_token);
  let pastExpiry;
  const passed = new Promise((resolve) => (pastExpiry = resolve));
  const getToken = async () => {
    const token = await s.getToken();
    if (Date.now() > firstExpiry + 1000) pastExpiry();
    return token;
  };
  const c = w.client({ getToken }, "private");
  const welcomes = [];
  const closes = [];
  c.on("welcome", (d) => welcomes.push(d.conn));
  c.on("close", (d) => closes.push(d));
  await c.ready();
  assert.equal(c.user.name, "ann_refresh");
  const conn = c.conn;

  await passed;
  // In order after the last auth frame: if the bridge had refused it, this would fail.
  const me = await c.accounts.me();
  assert.equal(me.user.name, "ann_refresh");
  assert.ok(s.calls.length >= 3, `getToken called ${s.calls.length} times`);
  assert.deepEqual(closes, []);
  assert.deepEqual(welcomes, [conn]);
  assert.equal(c.state, "connected");
  c.close();
});

test("a refused token is replaced once from getToken, and that connection is welcomed", T, async () => {
  const s = await session("bob_retry");
  let asked = 0;
  const getToken = async () => (++asked === 1 ? "expired-or-forged" : s.getToken());
  const c = w.client({ getToken }, "private");
  const closed = next(c, "close");
  await c.ready();
  assert.deepEqual(await closed, { code: 4500, reason: "unauthorized", reconnect: true });
  assert.equal(asked, 2);
  assert.equal(c.user.name, "bob_retry");
  c.close();
});

test("a getToken that throws is retried with backoff; one that gives nothing ends the session", T, async () => {
  const s = await session("dan_flaky");
  let asked = 0;
  const flaky = w.client({
    getToken: async () => {
      if (++asked === 1) throw new Error("network down");
      return s.getToken();
    },
  }, "private");
  const reported = next(flaky, "error");
  await flaky.ready();
  assert.match((await reported).message, /network down/);
  assert.equal(flaky.user.name, "dan_flaky");
  flaky.close();

  const counter = countingWebSocket();
  const loggedOut = w.client({ getToken: async () => null, WebSocket: counter.WebSocket }, "private");
  await assert.rejects(loggedOut.ready(), { code: "unauthorized" });
  assert.equal(loggedOut.state, "disconnected");
  assert.equal(counter.opened, 0);
});

test("the helpers reach the accounts worker's methods; errors keep their codes", T, async () => {
  const s = await session("cat_helpers");
  const c = w.client({ getToken: s.getToken }, "private");
  await c.ready();
  assert.equal((await c.accounts.me()).user.id, c.user.id);
  assert.deepEqual(await c.friends.list(), { friends: [], incoming: [], outgoing: [], blocked: [] });
  await assert.rejects(guest.accounts.login("cat_helpers", "wrong-password"), { code: "unauthorized" });
  await assert.rejects(guest.accounts.signup("cat_helpers", PASSWORD), { code: "conflict" });
  await assert.rejects(c.friends.accept("no-such-user"), (e) => ["not_found", "bad_request"].includes(e.code));
  c.close();
});
