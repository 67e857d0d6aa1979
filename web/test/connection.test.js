// chorus.js against a real bridge: connecting, pub/sub, requests and their error codes, and
// the closes it must not retry.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { world, next, inState, inbox, countingWebSocket } from "./harness.js";

const T = { timeout: 20000 };
let w;
before(async () => {
  w = await world();
});
after(() => w?.stop());

test("a guest is welcomed, ready() resolves and the state events say so", T, async () => {
  const states = [];
  const c = w.client();
  c.on("state", (d) => states.push(d.state));
  const welcome = next(c, "welcome");
  await c.ready();
  assert.equal(c.state, "connected");
  const d = await welcome;
  assert.equal(d.user.ns, "guest");
  assert.equal(c.user.id, d.user.id);
  assert.ok(d.limits.max_frame_bytes > 0);
  assert.deepEqual(states, ["connected"]); // "connecting" was set before anyone listened
  c.close();
  assert.equal(c.state, "disconnected");
  assert.deepEqual(states, ["connected", "disconnected"]);
  await assert.rejects(c.ready(), { code: "unavailable" });
});

test("/v1/ws welcomes a guest at once (the first frame is not waited for)", T, async () => {
  const c = w.client({}, "ws");
  const t0 = Date.now();
  await c.ready();
  // The bridge's first-frame wait is 2 s; chorus.js must not sit through it.
  assert.ok(Date.now() - t0 < 1500, `welcomed after ${Date.now() - t0} ms`);
  assert.equal(c.user.ns, "guest");
  c.close();
});

test("pub reaches a subscriber, with the sender's identity; unsubscribe stops it", T, async () => {
  const a = w.client();
  const b = w.client();
  await Promise.all([a.ready(), b.ready()]);
  const box = inbox();
  const off = a.sub("test.pubsub", box.push);
  await off.ready;
  b.pub("test.pubsub", { n: 1 });
  const { data, msg } = await box.next();
  assert.deepEqual(data, { n: 1 });
  assert.equal(msg.subject, "test.pubsub");
  assert.equal(msg.from.id, b.user.id);
  off();
  // An acked pub after the unsubscribe, then a sentinel on another subscription: by the
  // time the sentinel arrives, a message still routed to the old handler would have too.
  const sentinel = inbox();
  await a.sub("test.sentinel", sentinel.push).ready;
  await b.pub("test.pubsub", { n: 2 }, { ack: true });
  b.pub("test.sentinel", "s");
  await sentinel.next();
  assert.equal(box.items.length, 0);
  a.close();
  b.close();
});

test("wildcards match and overlapping subscriptions each get a message once", T, async () => {
  const a = w.client();
  const b = w.client();
  await Promise.all([a.ready(), b.ready()]);
  const wide = inbox();
  const narrow = inbox();
  await a.sub("test.wild.>", wide.push).ready;
  await a.sub("test.wild.x", narrow.push).ready;
  b.pub("test.wild.x", 1);
  b.pub("test.wild.y", 2);
  b.pub("test.wild.x", 3);
  assert.deepEqual([(await wide.next()).data, (await wide.next()).data, (await wide.next()).data].sort(), [1, 2, 3]);
  assert.deepEqual([(await narrow.next()).data, (await narrow.next()).data].sort(), [1, 3]);
  // A sentinel on the narrow subject only: no stray copy came before it.
  b.pub("test.wild.z", "end");
  assert.equal((await wide.next()).data, "end");
  assert.equal(wide.items.length, 0);
  assert.equal(narrow.items.length, 0);
  a.close();
  b.close();
});

test("{self} in a subject is the welcomed user's id", T, async () => {
  const a = w.client();
  await a.ready();
  const off = a.sub("user.{self}.>", () => {});
  await off.ready; // the policy allows user.<own id>.> only: the bridge said ok
  const refused = a.sub("user.someone-else.>", () => {});
  await assert.rejects(refused.ready, { code: "forbidden", subject: "user.someone-else.>" });
  a.close();
});

test("a refused subscription tells its error handler and is not restored", T, async () => {
  const a = w.client();
  await a.ready();
  const errors = [];
  const off = a.sub("chat.secret", () => {}, { error: (e) => errors.push(e.code) });
  await assert.rejects(off.ready, { code: "forbidden" });
  assert.deepEqual(errors, ["forbidden"]);
  a.close();
});

test("request errors carry the wire code: forbidden, unavailable, bad_request", T, async () => {
  const c = w.client();
  await c.ready();
  await assert.rejects(c.request("svc.nope.method", {}), (e) => {
    assert.equal(e.name, "ChorusError");
    assert.equal(e.code, "forbidden");
    assert.equal(e.local, false);
    return true;
  });
  // Allowed by the policy, but nobody serves it.
  await assert.rejects(c.request("test.nobody", {}), { code: "unavailable", local: false });
  await assert.rejects(c.request("test.bad.>", {}), { code: "bad_request" });
  // A fire-and-forget pub the bridge refuses: nobody waits for it, so it is an `error` event.
  const refused = next(c, "error");
  c.pub("chat.lobby", { text: "hi" });
  assert.equal((await refused).code, "forbidden");
  c.close();
});

test("a request nobody answers times out at the bridge (code timeout)", T, async () => {
  const listener = w.client();
  const c = w.client();
  await Promise.all([listener.ready(), c.ready()]);
  // A subscriber makes the subject served (no "no responders"), but it never replies.
  const box = inbox();
  await listener.sub("test.silent", box.push).ready;
  const t0 = Date.now();
  await assert.rejects(c.request("test.silent", { q: 1 }, { timeout: 300 }), { code: "timeout", local: false });
  assert.ok(Date.now() - t0 < 2000);
  assert.deepEqual((await box.next()).data, { q: 1 });
  listener.close();
  c.close();
});

test("a bad token on the private endpoint: one attempt, no retry, close says reconnect false", T, async () => {
  const counter = countingWebSocket();
  const c = w.client({ token: "not-a-jwt", WebSocket: counter.WebSocket }, "private");
  const closed = next(c, "close");
  await assert.rejects(c.ready(), { code: "unauthorized" });
  assert.deepEqual(await closed, { code: 4500, reason: "unauthorized", reconnect: false });
  assert.equal(c.state, "disconnected");
  await assert.rejects(c.request("test.x", {}), { code: "unavailable", local: true });
  // Several maximal backoffs (200 ms here) later, still one attempt: nothing is scheduled.
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(counter.opened, 1);
  assert.equal(c.state, "disconnected");
});

test("after unauthorized, getToken is asked once more and tried once, then it stops", T, async () => {
  const counter = countingWebSocket();
  let asked = 0;
  const getToken = async () => {
    asked++;
    return `bad-token-${asked}`;
  };
  const c = w.client({ getToken, WebSocket: counter.WebSocket }, "private");
  const closes = [];
  c.on("close", (d) => closes.push(d));
  await assert.rejects(c.ready(), { code: "unauthorized" });
  assert.deepEqual(closes, [
    { code: 4500, reason: "unauthorized", reconnect: true },
    { code: 4500, reason: "unauthorized", reconnect: false },
  ]);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(asked, 2);
  assert.equal(counter.opened, 2);
  assert.equal(c.state, "disconnected");
});

test("an oversize frame is refused locally (too_large), the connection stays", T, async () => {
  const c = w.client();
  await c.ready();
  const big = "x".repeat(c.limits.max_frame_bytes);
  assert.throws(() => c.pub("test.big", big), { code: "too_large", local: true });
  await assert.rejects(c.request("test.big", big), { code: "too_large", local: true });
  await inState(c, "connected");
  await assert.rejects(c.request("test.nobody", {}), { code: "unavailable", local: false });
  c.close();
});
