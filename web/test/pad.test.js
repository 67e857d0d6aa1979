// The phone-as-gamepad helpers of chorus.js against the whole platform (default policy):
// `rooms.pad(room)` gives a member a code, a guest's `rooms.claim(code)` takes the seat and
// its inputs move that seat's player, the member hears `paired` on `rooms.onPad`, a wrong or
// used code is `not_found`, `claim({room, resume})` brings a new connection back to the seat
// (the old phone loses its grant), and a flood of claims is `rate_limited`.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { connect } from "../chorus.js";
import { platform, inbox, signUp } from "./harness.js";

const T = { timeout: 60000 };
const CODE = /^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}$/;
let p;
const clients = [];
let ann;
let bob;
let room;
let seat;

function client(endpoint = "public", options = {}) {
  const c = connect({ url: p.bridge.url(endpoint), WebSocket, minBackoffMs: 20, maxBackoffMs: 200, ...options });
  clients.push(c);
  return c;
}

/** The next state on `states` for which `pred(state)` holds. */
async function until(states, pred) {
  for (;;) {
    const { data } = await states.next();
    if (data?.state && pred(data.state)) return data.state;
  }
}

before(async () => {
  p = await platform({ env: { CHORUS_MM_FILL_SECS: "1" } });
  const guest = client();
  await guest.ready();
  ann = client("private", { getToken: (await signUp(guest, "ann")).getToken });
  bob = client("private", { getToken: (await signUp(guest, "bob")).getToken });
  await Promise.all([ann.ready(), bob.ready()]);
  const matches = await Promise.all([ann, bob].map(async (c) => {
    const box = inbox();
    await c.mm.onMatch(box.push).ready;
    await c.mm.join("arena");
    return box;
  }));
  const [a, b] = await Promise.all(matches.map((m) => m.next()));
  assert.equal(a.data.room, b.data.room);
  room = a.data.room;
  seat = a.data.seat;
}, { timeout: 60000 });

after(async () => {
  for (const c of clients) c.close();
  await p?.stop();
});

let phone;
let claimed;

test("a member's code lets a guest's phone steer the member's seat; the member hears `paired`", T, async () => {
  const paired = inbox();
  await ann.rooms.onPad(paired.push).ready;
  const pad = await ann.rooms.pad(room);
  assert.equal(pad.room, room);
  assert.equal(pad.seat, ann.user.id); // the seat, named by its player's id
  assert.match(pad.code, CODE);
  assert.ok(pad.expires_in_ms > 60000 && pad.expires_in_ms <= 120000, `expires_in_ms ${pad.expires_in_ms}`);

  phone = client();
  await phone.ready();
  assert.equal(phone.user.ns, "guest");
  claimed = await phone.rooms.claim(pad.code);
  assert.equal(claimed.room, room);
  assert.equal(claimed.game, "arena");
  assert.deepEqual(claimed.seat, { id: ann.user.id, name: "ann", seat });
  assert.equal(typeof claimed.resume, "string");
  const { data: event } = await paired.next();
  assert.equal(event.event, "paired");
  assert.equal(event.pad, phone.user.id);

  // The phone is granted the room's state, and its inputs count as ann's.
  const states = inbox();
  await phone.rooms.onState(room, states.push).ready;
  const now = await until(states, () => true);
  const mine = now.players.find((q) => q.id === ann.user.id);
  const n = mine.last_n + 1;
  phone.rooms.send(room, { n, dx: 1, dy: 0 });
  const moved = await until(states, (s) => s.players.find((q) => q.id === ann.user.id).last_n >= n);
  const after = moved.players.find((q) => q.id === ann.user.id);
  assert.equal(after.dx, 1);
  await until(states, (s) => s.players.find((q) => q.id === ann.user.id).x > mine.x + 10);
  phone.rooms.send(room, { n: n + 1, dx: 0, dy: 0 });
  // It may read the state by request too, and may not leave for the player.
  assert.equal((await phone.rooms.state(room)).room, room);
  await assert.rejects(phone.rooms.leave(room));
});

test("a wrong code and a used code are not_found", T, async () => {
  const other = client();
  await other.ready();
  await assert.rejects(other.rooms.claim("ZZZZZZ"), { code: "not_found" });
  const pad = await bob.rooms.pad(room);
  const first = client();
  await first.ready();
  assert.equal((await first.rooms.claim(pad.code)).seat.id, bob.user.id);
  await assert.rejects(other.rooms.claim(pad.code), { code: "not_found" });
});

test("resume: a new connection takes the seat back, the old phone's grant is revoked", T, async () => {
  let revoked;
  const lost = new Promise((resolve) => (revoked = resolve));
  const states = inbox();
  await phone.rooms.onState(room, states.push, { error: revoked }).ready;
  const again = client();
  await again.ready();
  assert.notEqual(again.user.id, phone.user.id);
  const back = await again.rooms.claim({ room, resume: claimed.resume });
  assert.deepEqual(back.seat, claimed.seat);
  assert.equal((await lost).code, "revoked");
  const fresh = inbox();
  await again.rooms.onState(room, fresh.push).ready;
  const now = await until(fresh, () => true);
  const mine = now.players.find((q) => q.id === ann.user.id);
  again.rooms.send(room, { n: mine.last_n + 1, dx: 0, dy: 1 });
  await until(fresh, (s) => s.players.find((q) => q.id === ann.user.id).y > mine.y + 10);
  await assert.rejects(again.rooms.claim({ room, resume: "not-the-secret" }), (e) => ["not_found", "forbidden"].includes(e.code));
});

test("a flood of claims from one connection is rate_limited", T, async () => {
  const flood = client();
  await flood.ready();
  const codes = [];
  for (let i = 0; i < 30; i++) {
    const err = await flood.rooms.claim(`Z${String(i).padStart(5, "2").replace(/[01]/g, "3")}`).catch((e) => e);
    codes.push(err.code);
    if (err.code === "rate_limited") break;
  }
  assert.equal(codes.at(-1), "rate_limited", codes.join(","));
  assert.ok(codes.length <= 11, `limited after ${codes.length} claims`);
  assert.ok(codes.slice(0, -1).every((c) => c === "not_found"), codes.join(","));
});
