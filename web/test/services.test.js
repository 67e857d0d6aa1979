// The service helpers against real workers (accounts, chat): what an app writes,
// `await chorus.chat.send("lobby", "hi")`, reaches the method the contract names, events
// arrive on the subjects the helpers subscribe to, and a revoked grant ends a subscription.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { world, inbox, signUp } from "./harness.js";

const T = { timeout: 30000 };
let w;
let ann;
let bob;
before(async () => {
  w = await world();
  await w.accounts();
  await w.worker("chat", { CHORUS_CHAT_RATE_BURST: "50" });
  const guest = w.client();
  await guest.ready();
  ann = w.client({ getToken: (await signUp(guest, "ann")).getToken }, "private");
  bob = w.client({ getToken: (await signUp(guest, "bob")).getToken }, "private");
  await Promise.all([ann.ready(), bob.ready()]);
});
after(() => w?.stop());

test("chat in the lobby: send, live events, history, edit, retract", T, async () => {
  const live = inbox();
  await ann.chat.on("lobby", live.push).ready;
  const sent = await bob.chat.send("lobby", "hi all");
  assert.equal(sent.text, "hi all");
  assert.equal(sent.author.name, "bob");
  const { data } = await live.next();
  assert.equal(data.event, "send");
  assert.deepEqual(data.message, sent);

  const { messages } = await ann.chat.history("lobby", { limit: 10 });
  assert.equal(messages[0].id, sent.id);

  const edited = await bob.chat.edit("lobby", sent.id, "hi everyone");
  assert.equal(edited.text, "hi everyone");
  assert.equal((await live.next()).data.event, "edit");
  await bob.chat.retract({ channel: "lobby" }, sent.id);
  assert.equal((await live.next()).data.event, "retract");
  await assert.rejects(ann.chat.edit("lobby", sent.id, "mine now"), (e) => ["not_found", "forbidden"].includes(e.code));
});

test("accounts.lookup finds a user by name in any case, and says not_found for nobody", T, async () => {
  const { user } = await ann.accounts.lookup("BOB");
  assert.deepEqual(user, { id: bob.user.id, name: "bob" });
  await assert.rejects(ann.accounts.lookup("nobody-here"), (e) => e.code === "not_found");
});

test("a DM arrives on the recipient's inbox ({self}), and in DM history", T, async () => {
  const dms = inbox();
  await ann.chat.onDm(dms.push).ready;
  const sent = await bob.chat.dm(ann.user.id, "psst");
  const { data, msg } = await dms.next();
  assert.equal(msg.subject, `user.${ann.user.id}.dm`);
  assert.equal(data.message.id, sent.id);
  const { messages } = await ann.chat.history({ dm: bob.user.id });
  assert.equal(messages[0].text, "psst");
});

test("a channel's grant lets its member subscribe; leaving revokes it and tells the handler", T, async () => {
  const live = inbox();
  let revoked;
  const ended = new Promise((resolve) => (revoked = resolve));
  // Asked before the join: refused until the join's grant reaches the bridge, then taken.
  const sub = ann.chat.on("den", live.push, { error: revoked, grantWaitMs: 5000 });
  await ann.chat.join("den");
  await sub.ready;
  await ann.chat.send("den", "anyone?");
  assert.equal((await live.next()).data.message.text, "anyone?");
  await ann.chat.leave("den");
  const err = await ended;
  assert.equal(err.code, "revoked");
  assert.equal(err.subject, "chat.den");
  // A non-member is refused the channel outright.
  await assert.rejects(bob.chat.on("den", () => {}).ready, { code: "forbidden" });
});

test("friends: a request and its acceptance arrive on the inbox; presence and list agree", T, async () => {
  const annEvents = inbox();
  const bobEvents = inbox();
  await ann.friends.onEvent(annEvents.push).ready;
  await bob.friends.onEvent(bobEvents.push).ready;
  assert.deepEqual(await ann.friends.request(bob.user.id), { status: "requested" });
  const asked = (await bobEvents.next()).data;
  assert.deepEqual(asked, { event: "request", user: { id: ann.user.id, name: "ann" } });
  assert.deepEqual(await bob.friends.accept(ann.user.id), { status: "friends" });
  assert.equal((await annEvents.next()).data.event, "accepted");
  const list = await ann.friends.list();
  assert.deepEqual(list.friends.map((p) => p.name), ["bob"]);
});
