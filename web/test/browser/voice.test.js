// Voice in real Chromium against the whole platform (chorus-voice among the workers): two
// players join the lobby's voice channel through <chorus-voice-panel> and hear each other —
// their RTCPeerConnections reach `connected` and inbound audio bytes grow on both sides (the
// fake microphone's tone). When one reloads and joins again, the other replaces the old link
// with one to her new session (by sid) and both hear each other again; through a bridge
// restart the call goes on. A third user outside the channel is refused on both rtc inboxes;
// leaving revokes the leaver's rights both ways; a seventh joiner is refused at the default
// limit of six, with a readable message; a denied microphone gets a clear message and the
// rest of the page goes on. Console errors, uncaught exceptions and failed requests fail the
// test (as in app.test.js; while the bridge is down, Chromium's "WebSocket connection … failed"
// is allowed). Screenshots of the panel at 1280×800 and 375×812 go to
// web/test/screenshots/. No sleeps: every wait is on a condition, with a deadline.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import WebSocket from "ws";
import { connect } from "../../chorus.js";
import { platform, signUp } from "../harness.js";
import { player, DESKTOP, MOBILE, SHOTS, SEEN, PASSWORD, signUpThroughPage } from "./browser.js";

const T = { timeout: 120000 };
/** Reaching `connected` and hearing audio may take ICE a little longer. */
const MEDIA_MS = 30000;
const MEDIA = { timeout: MEDIA_MS };
const CHROMIUM = process.env.CHORUS_CHROMIUM || "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--use-fake-device-for-media-stream"];

let p;
/** Microphone prompts accepted by themselves (a fake device plays a tone). */
let browser;
/** No fake UI: headless Chromium denies the microphone (NotAllowedError). */
let denying;
const players = [];
/** Node chorus.js clients, closed at the end. */
const clients = [];

before(async () => {
  p = await platform({ env: { CHORUS_LOG: "warn" } });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: [...ARGS, "--use-fake-ui-for-media-stream"] });
  denying = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});

after(async () => {
  for (const [i, who] of players.entries()) await who.shot(`voice-last-${i}`).catch(() => {});
  for (const c of clients) c.close();
  await browser?.close();
  await denying?.close();
  await p?.stop();
});

function assertClean() {
  for (const who of players) assert.deepEqual(who.problems, [], `the ${who.label} page`);
}

/** A new player on a fresh page of `on`, signed up as `name`, in the lobby. */
async function newPlayer(on, name, label, options) {
  const who = await player(on, label, options);
  players.push(who);
  await signUpThroughPage(who, p.url, name);
  who.id = await who.page.evaluate(async () => (await import("/app/session.js")).session.user.id);
  return who;
}

/** A signed-in chorus.js client in Node (a user without a browser). */
async function nodeUser(name) {
  const guest = connect({ url: p.bridge.url("public"), WebSocket });
  clients.push(guest);
  await guest.ready();
  const { getToken } = await signUp(guest, name, PASSWORD);
  const c = connect({ url: p.bridge.url("private"), WebSocket, getToken });
  clients.push(c);
  await c.ready();
  return c;
}

const panel = (who) => who.page.locator("chorus-voice-panel");
const member = (who, id) => panel(who).locator(`li.voice-member[data-id="${id}"]`);

/** The peer's connection state and inbound audio bytes, as the panel's stats() reports them. */
const peerStats = (who, id) => who.page.evaluate(async (id) => (await document.querySelector("chorus-voice-panel").stats())[id] ?? null, id);

/** Polls `check` (every 200 ms) until it returns a truthy value, within `ms`; says what it waited for. */
async function until(what, check, ms = MEDIA_MS, diagnose = null) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}${diagnose ? ` (${JSON.stringify(await diagnose())})` : ""}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits until `who`'s connection to `peer` is connected and its inbound audio bytes grow. */
async function hears(who, peer) {
  const what = `${who.label} hears ${peer.label}`;
  const first = await until(`${what}: connected, bytes in`, async () => {
    const s = await peerStats(who, peer.id);
    return s?.state === "connected" && s.bytesReceived > 0 && s;
  }, MEDIA_MS, () => Promise.all([peerStats(who, peer.id), peerStats(peer, who.id)]));
  const later = await until(`${what}: bytes grow`, async () => {
    const s = await peerStats(who, peer.id);
    return s?.bytesReceived > first.bytesReceived + 1000 && s;
  });
  return { first: first.bytesReceived, later: later.bytesReceived };
}

/** From `who`'s page, with the app's own client: publishes on `subject` until `code` answers. */
function pubUntil(who, subject, code) {
  return who.page.evaluate(async ([subject, code]) => {
    const { session } = await import("/app/session.js");
    const deadline = Date.now() + 10000;
    let last;
    while (Date.now() < deadline) {
      try {
        await session.chorus.pub(subject, { probe: true }, { ack: true });
        last = "ok";
      } catch (err) {
        last = err.code;
      }
      if (last === code) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    return last;
  }, [subject, code]);
}

let ann;
let bob;

test("two players join the lobby's voice channel through the panel and hear each other", T, async (t) => {
  ann = await newPlayer(browser, "ann", "desktop", DESKTOP);
  bob = await newPlayer(browser, "bob", "mobile", MOBILE);
  for (const who of [ann, bob]) {
    await panel(who).getByRole("heading", { name: "Voice" }).waitFor(SEEN);
    const mute = panel(who).getByRole("button", { name: "Mute my microphone" });
    assert.equal(await mute.isVisible(), false, "no mute before joining");
  }
  // ann joins by mouse, bob by keyboard.
  await panel(ann).getByRole("button", { name: "Join voice" }).click();
  await panel(ann).getByRole("button", { name: "Leave voice" }).waitFor(SEEN);
  await panel(bob).getByRole("button", { name: "Join voice" }).focus();
  await bob.page.keyboard.press("Enter");
  await panel(bob).getByRole("button", { name: "Leave voice" }).waitFor(SEEN);

  // Each page lists both, and shows the other as connected.
  const [annHears, bobHears] = await Promise.all([hears(ann, bob), hears(bob, ann)]);
  await member(ann, bob.id).filter({ hasText: "Connected" }).waitFor(SEEN);
  await member(bob, ann.id).filter({ hasText: "Connected" }).waitFor(SEEN);
  await member(ann, ann.id).filter({ hasText: "ann (you)" }).waitFor(SEEN);
  t.diagnostic(`inbound audio bytes: ann from bob ${annHears.first} → ${annHears.later}, bob from ann ${bobHears.first} → ${bobHears.later}`);
  t.diagnostic(`negotiation: ann ${(await peerStats(ann, bob.id)).trace} | bob ${(await peerStats(bob, ann.id)).trace}`);
  // The fake microphone's tone shows as talking on the other side.
  await member(ann, bob.id).and(ann.page.locator("[data-talking]")).waitFor(MEDIA);
  await member(bob, ann.id).and(bob.page.locator("[data-talking]")).waitFor(MEDIA);

  // Mute: aria-pressed, and the muted one stops showing as talking at the other's.
  const mute = panel(ann).getByRole("button", { name: "Mute my microphone" });
  await mute.click();
  assert.equal(await mute.getAttribute("aria-pressed"), "true");
  await member(bob, ann.id).and(bob.page.locator(":not([data-talking])")).waitFor(MEDIA);
  await mute.click();
  assert.equal(await mute.getAttribute("aria-pressed"), "false");
  await member(bob, ann.id).and(bob.page.locator("[data-talking]")).waitFor(MEDIA);

  for (const who of [ann, bob]) {
    await who.shot("voice-lobby");
    await panel(who).screenshot({ path: `${SHOTS}/voice-panel-${who.label}.png` });
  }
  assertClean();
});

test("a user outside the channel reaches neither member's rtc inbox", T, async () => {
  const cat = await nodeUser("cat");
  for (const who of [ann, bob]) {
    await assert.rejects(cat.pub(`user.${who.id}.rtc`, { probe: true }, { ack: true }), (e) => e.code === "forbidden");
    await assert.rejects(cat.sub(`user.${who.id}.rtc`, () => {}).ready, (e) => e.code === "forbidden");
  }
  // The members themselves may (the doors are open while both are in).
  assert.equal(await pubUntil(ann, `user.${bob.id}.rtc`, "ok"), "ok");
  assertClean();
});

/** What `who`'s panel lists: the member ids, in order (one <li> each). */
const listed = (who) => panel(who).locator("li.voice-member").evaluateAll((lis) => lis.map((li) => li.dataset.id));

/** Both pages list exactly ann and bob, once each, and show the other as connected. */
async function bothListed() {
  for (const [who, other] of [[ann, bob], [bob, ann]]) {
    await member(who, other.id).filter({ hasText: "Connected" }).waitFor(SEEN);
    assert.deepEqual((await listed(who)).sort(), [ann.id, bob.id].sort(), `${who.label} lists each member once`);
    assert.deepEqual(Object.keys(await who.page.evaluate(() => document.querySelector("chorus-voice-panel").stats())), [other.id], `${who.label} has one link`);
  }
}

test("a peer who reloads renegotiates: the other side replaces the old link, and both hear each other again", T, async (t) => {
  // Connected and hearing each other (as the first test left them).
  await Promise.all([hears(ann, bob), hears(bob, ann)]);
  const before = await peerStats(bob, ann.id);
  assert.ok(before.remoteSid, "bob knows ann's session");

  // A new document: a new chorus connection, and ann is no longer in voice on this page
  // (the channel still counts her until her heartbeat runs out; she joins again in time).
  await ann.page.reload();
  await ann.page.getByRole("heading", { name: "Lobby", level: 1 }).waitFor(SEEN);
  await panel(ann).getByRole("button", { name: "Join voice" }).click();
  await panel(ann).getByRole("button", { name: "Leave voice" }).waitFor(SEEN);

  // bob's link is to ann's new session (her old one is gone), and ann's to bob's link...
  const pair = () => Promise.all([peerStats(ann, bob.id), peerStats(bob, ann.id)]);
  const [annNow, bobNow] = await until("the two links are to each other's current sessions", async () => {
    const [a, b] = await pair();
    return a?.sid && a.remoteSid === b?.sid && b.remoteSid === a.sid && [a, b];
  }, MEDIA_MS, pair);
  assert.notEqual(bobNow.remoteSid, before.remoteSid, "not ann's old session");
  // ...then both connected again and hearing each other on it (bytes from zero on a new link).
  const [annHears, bobHears] = await Promise.all([hears(ann, bob), hears(bob, ann)]);
  const [annLast, bobLast] = await pair();
  assert.deepEqual([annLast.sid, annLast.remoteSid], [annNow.sid, annNow.remoteSid], "ann's link stayed the same");
  assert.deepEqual([bobLast.sid, bobLast.remoteSid], [bobNow.sid, bobNow.remoteSid], "bob's link stayed the same");
  await bothListed();
  t.diagnostic(`after the reload: ann from bob ${annHears.first} → ${annHears.later}, bob from ann ${bobHears.first} → ${bobHears.later}; bob's link ${bobNow.sid === before.sid ? "kept" : "replaced"}`);
  t.diagnostic(`negotiation: ann ${annLast.trace} | bob ${bobLast.trace}`);
  assertClean();
});

test("the bridge restarts mid-call: the call goes on, and both keep hearing each other", T, async (t) => {
  await Promise.all([hears(ann, bob), hears(bob, ann)]);
  // Every open page reconnects: Chromium's "WebSocket connection … failed" is expected meanwhile.
  for (const who of players) who.reconnecting = true;
  await p.killBridge();
  await Promise.all([ann, bob].map((w) => w.page.getByText("Connection lost. Reconnecting…").waitFor({ state: "visible", ...SEEN })));
  await p.startBridge();
  await Promise.all(players.map((w) => w.page.locator("#banner").waitFor({ state: "hidden", timeout: MEDIA_MS })));
  for (const who of players) who.reconnecting = false;

  // Audio flows on after the restart (renegotiated or not), and both are still in voice.
  const [annHears, bobHears] = await Promise.all([hears(ann, bob), hears(bob, ann)]);
  for (const who of [ann, bob]) await panel(who).getByRole("button", { name: "Leave voice" }).waitFor(SEEN);
  await bothListed();
  // The channel still holds both (a join renews): the voice worker kept them through it.
  const [a, b] = [await peerStats(ann, bob.id), await peerStats(bob, ann.id)];
  assert.equal(a.remoteSid, b.sid);
  assert.equal(b.remoteSid, a.sid);
  t.diagnostic(`after the restart: ann from bob ${annHears.first} → ${annHears.later}, bob from ann ${bobHears.first} → ${bobHears.later}; WebSocket failures ${players.map((w) => `${w.label} ${w.allowedWsFailures}`).join(", ")}`);
  assertClean();
});

test("leaving closes the doors both ways; a seventh joiner is refused with a readable message", T, async () => {
  await panel(bob).getByRole("button", { name: "Leave voice" }).click();
  await panel(bob).getByRole("button", { name: "Join voice" }).waitFor(SEEN);
  await member(ann, bob.id).waitFor({ state: "detached", ...SEEN });
  assert.equal(await pubUntil(bob, `user.${ann.id}.rtc`, "forbidden"), "forbidden");
  assert.equal(await pubUntil(ann, `user.${bob.id}.rtc`, "forbidden"), "forbidden");

  // Five more members in Node: with ann, the channel holds its default six.
  const five = [];
  for (let i = 1; i <= 5; i++) five.push(await nodeUser(`voice${i}`));
  for (const c of five) {
    const reply = await c.request("svc.voice.join", { channel: "lobby" });
    assert.equal(reply.max_peers, 6);
  }
  await panel(ann).locator(".voice-count", { hasText: "6 of 6" }).waitFor(SEEN);
  // bob is the seventh: refused, told why, and the panel is ready to try again.
  await panel(bob).getByRole("button", { name: "Join voice" }).click();
  const status = panel(bob).getByRole("status");
  await status.filter({ hasText: "That cannot be done right now. Voice channel full (6 peers)." }).waitFor(SEEN);
  await panel(bob).getByRole("button", { name: "Join voice" }).waitFor(SEEN);
  assert.equal(await member(bob, bob.id).count(), 0);
  await bob.shot("voice-full");
  await panel(bob).screenshot({ path: `${SHOTS}/voice-panel-full-${bob.label}.png` });
  for (const c of five) await c.request("svc.voice.leave", { channel: "lobby" });
  await panel(ann).locator(".voice-count", { hasText: "1 of 6" }).waitFor(SEEN);
  await panel(ann).getByRole("button", { name: "Leave voice" }).click();
  await panel(ann).getByRole("button", { name: "Join voice" }).waitFor(SEEN);
  assertClean();
});

test("a denied microphone: a clear message, and the rest of the page goes on", T, async () => {
  const dora = await newPlayer(denying, "dora", "denied", DESKTOP);
  await panel(dora).getByRole("button", { name: "Join voice" }).click();
  await panel(dora).getByRole("status").filter({ hasText: "Microphone access was denied" }).waitFor(SEEN);
  await panel(dora).getByRole("button", { name: "Join voice" }).waitFor(SEEN);
  await dora.shot("voice-denied");
  // Not in the channel: nothing was joined.
  const c = await nodeUser("eve");
  const reply = await c.request("svc.voice.join", { channel: "lobby" });
  assert.deepEqual(reply.members.map((m) => m.name).sort(), ["eve"]);
  await c.request("svc.voice.leave", { channel: "lobby" });
  // The lobby chat works as before.
  await dora.page.getByLabel("Message to the lobby").fill("no mic, still here");
  await dora.page.getByLabel("Message to the lobby").press("Enter");
  await dora.page.getByRole("list", { name: "Lobby messages" }).locator("li.msg", { hasText: "no mic, still here" }).waitFor(SEEN);
  assertClean();
});
