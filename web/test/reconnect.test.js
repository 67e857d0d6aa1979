// chorus.js when the bridge goes away: reconnect with backoff, subscriptions restored,
// requests in flight failed (never resent), the bounded send buffer, the browser's
// online/offline events.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { world, next, inState, inbox, countingWebSocket } from "./harness.js";

const T = { timeout: 30000 };
let w;
before(async () => {
  w = await world();
});
after(() => w?.stop());

/** A promise and the function that resolves it. */
function signal() {
  let fire;
  const fired = new Promise((r) => (fire = r));
  return { fired, fire };
}

for (const [how, code, reason] of [
  ["SIGTERM", 1001, "going_away"],
  ["SIGKILL", 1006, ""],
]) {
  test(`after the bridge is killed (${how}) and restarted, subscriptions are restored and get messages`, T, async () => {
    const a = w.client();
    const b = w.client();
    await Promise.all([a.ready(), b.ready()]);
    const firstId = a.user.id;
    const box = inbox();
    const roomRestored = signal();
    const inboxRestored = signal();
    const errors = [];
    await a.sub("test.room", box.push, { restored: roomRestored.fire }).ready;
    // A guest's id changes with each connection: {self} must follow it, or this is forbidden.
    await a.sub("user.{self}.dm", () => {}, { restored: inboxRestored.fire, error: (e) => errors.push(e) }).ready;

    const closed = next(a, "close");
    await w.bridge.kill(how);
    assert.deepEqual(await closed, { code, reason, reconnect: true });
    assert.equal(a.state, "connecting");
    await assert.rejects(a.request("test.anything", {}, { timeout: 50 }), { code: "timeout", local: true });

    await w.bridge.restart();
    await Promise.all([roomRestored.fired, inboxRestored.fired, inState(b, "connected")]);
    assert.equal(a.state, "connected");
    assert.notEqual(a.user.id, firstId);
    assert.deepEqual(errors, []);
    b.pub("test.room", { after: "restart" });
    const { data, msg } = await box.next();
    assert.deepEqual(data, { after: "restart" });
    assert.equal(msg.from.id, b.user.id);
    a.close();
    b.close();
  });
}

test("requests in flight fail unavailable on a disconnect and are not resent", T, async () => {
  // The listener is on another bridge, subscribed all along: a request c sent again at its
  // welcome would reach it.
  const listener = w.client({}, "public", await w.otherBridge());
  const c = w.client();
  await Promise.all([listener.ready(), c.ready()]);
  const seen = inbox();
  await listener.sub("test.hang", seen.push).ready;
  const asked = c.request("test.hang", { call: 1 }, { timeout: 10000 });
  assert.deepEqual((await seen.next()).data, { call: 1 }); // it is in flight at the bridge

  const t0 = Date.now();
  const failed = assert.rejects(asked, { code: "unavailable", local: true });
  await w.bridge.kill("SIGKILL");
  await failed;
  assert.ok(Date.now() - t0 < 2000, "failed at the disconnect, not at the timeout");

  await w.bridge.restart();
  await inState(c, "connected");
  c.pub("test.hang", { sentinel: true });
  assert.deepEqual((await seen.next()).data, { sentinel: true });
  assert.equal(seen.items.length, 0, "the request was sent again");
  listener.close();
  c.close();
});

test("the send buffer is bounded while reconnecting; what it holds is sent after", T, async () => {
  // The listener is on another bridge, subscribed all along: what c flushes at its welcome
  // has somewhere to go however fast c reconnects.
  const listener = w.client({}, "public", await w.otherBridge());
  const c = w.client({ sendBufferLimit: 3 });
  await Promise.all([listener.ready(), c.ready()]);
  const box = inbox();
  await listener.sub("test.buf", box.push).ready;

  const down = next(c, "close");
  await w.bridge.kill("SIGKILL");
  await down;
  // A buffered request that outlives its timeout fails locally and leaves the buffer.
  await assert.rejects(c.request("test.nobody", {}, { timeout: 100 }), { code: "timeout", local: true });
  c.pub("test.buf", 1);
  c.pub("test.buf", 2);
  c.pub("test.buf", 3);
  assert.throws(() => c.pub("test.buf", 4), { code: "rate_limited", local: true });
  await assert.rejects(c.request("test.buf", 5), { code: "rate_limited", local: true });

  await w.bridge.restart();
  const got = [(await box.next()).data, (await box.next()).data, (await box.next()).data];
  assert.deepEqual(got, [1, 2, 3]);
  // Once connected, the buffer is empty again: sends go straight out.
  c.pub("test.buf", 6);
  assert.equal((await box.next()).data, 6);
  listener.close();
  c.close();
});

test("close() fails buffered sends and waiting ready() calls", T, async () => {
  const c = w.client();
  await c.ready();
  const down = next(c, "close");
  await w.bridge.kill("SIGKILL");
  await down;
  const waiting = c.ready();
  const buffered = c.request("test.x", {}, { timeout: 10000 });
  c.close();
  await assert.rejects(buffered, { code: "unavailable", local: true });
  await assert.rejects(waiting, { code: "unavailable" });
  assert.throws(() => c.pub("test.x", 1), { code: "unavailable" });
  await w.bridge.restart();
});

test("offline drops the socket and waits; online reconnects at once", T, async () => {
  // A browser's window, as far as chorus.js looks at it.
  const win = new EventTarget();
  globalThis.addEventListener = win.addEventListener.bind(win);
  globalThis.removeEventListener = win.removeEventListener.bind(win);
  try {
    const counter = countingWebSocket();
    const c = w.client({ WebSocket: counter.WebSocket, minBackoffMs: 10, maxBackoffMs: 20 });
    await c.ready();
    const closed = next(c, "close");
    win.dispatchEvent(new Event("offline"));
    assert.deepEqual(await closed, { code: 1006, reason: "offline", reconnect: true });
    assert.equal(c.state, "connecting");
    // Many backoffs (20 ms at most) pass: no attempt while offline.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(counter.opened, 1);
    const welcomed = next(c, "welcome");
    win.dispatchEvent(new Event("online"));
    await welcomed;
    assert.equal(counter.opened, 2);
    c.close();
    // close() stops listening: a later online event opens nothing.
    win.dispatchEvent(new Event("online"));
    assert.equal(counter.opened, 2);
  } finally {
    delete globalThis.addEventListener;
    delete globalThis.removeEventListener;
  }
});

test("a bridge that stops answering is noticed by ping (no_pong), and left for a new connection", T, async () => {
  const c = w.client({ pingIntervalMs: 200, pongTimeoutMs: 300, connectTimeoutMs: 500 });
  await c.ready();
  const first = c.conn;
  const closed = next(c, "close");
  w.bridge.freeze(true);
  try {
    assert.deepEqual(await closed, { code: 4001, reason: "no_pong", reconnect: true });
    assert.equal(c.state, "connecting");
    // Attempts meanwhile reach a socket nobody serves: they give up at the connect timeout.
    const timedOut = await next(c, "close");
    assert.deepEqual(timedOut, { code: 1006, reason: "no welcome in time", reconnect: true });
  } finally {
    w.bridge.freeze(false);
  }
  await inState(c, "connected");
  assert.notEqual(c.conn, first);
  c.close();
});
