// The web app in real Chromium against the whole platform (every worker, the bridge serving
// web/ and games/): two players — ann on a desktop-sized page, bob on a phone-sized touch
// page — go through everything the app offers, in order:
//   1. sign up, befriend, see each other online, DM, lobby chat with edit and retract,
//      tic-tac-toe to the end (with a takeback), the winner spends the win's coins;
//   2. the realtime arena: both steer by keyboard and each sees the other move;
//   3. the bridge is killed and restarted: banners come and go, the pages recover their
//      subscriptions without a reload, chat and the game go on.
// Every page's console errors, failed requests and HTTP errors are collected and must be
// none (the restart's reconnect attempts aside, only while the bridge is down). Screenshots
// of each main screen at 1280×800 and 375×812 go to web/test/screenshots/.
// No sleeps: every wait is on a selector, a text or a page function, with a deadline.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { platform } from "../harness.js";
import { launch, player, DESKTOP, MOBILE, SEEN, PASSWORD, signUpThroughPage } from "./browser.js";

const T = { timeout: 120000 };
/** How long a step may take to show on screen. */

let p;
let browser;
let ann;
let bob;
/** Every player of the file, for the checks and the last screenshots. */
const players = [];

before(async () => {
  p = await platform({ env: { CHORUS_MM_FILL_SECS: "1", CHORUS_LOG: "warn" } });
  browser = await launch();
  ann = await player(browser, "desktop", DESKTOP);
  bob = await player(browser, "mobile", MOBILE);
  players.push(ann, bob);
});

after(async () => {
  // What the pages showed last: the first thing to look at when a test failed.
  for (const [i, who] of players.entries()) await who.shot(`last-${i}`).catch(() => {});
  await browser?.close();
  await p?.stop();
});

/** No console error, uncaught exception, failed request or HTTP error on any page. */
function assertClean() {
  for (const who of players) assert.deepEqual(who.problems, [], `the ${who.label} page`);
}

const nav = (who, name) => who.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true }).click();
const person = (who, list, name) => who.page.getByRole("region", { name: list }).locator("li.person", { hasText: name });
const cell = (who, i) => who.page.locator(`.board .cell[data-cell="${i}"]`);
const lobbyMessage = (who, text) => who.page.getByRole("list", { name: "Lobby messages" }).locator("li.msg", { hasText: text });

/** The mark this player plays, read from the board's label. */
async function markOf(who) {
  const label = await who.page.locator(".board").getAttribute("aria-label");
  return label.endsWith("X") ? "X" : "O";
}

/** `mover` plays cell `i`; the other page sees the mark there. */
async function move(mover, other, i) {
  await cell(mover, i).click();
  const mark = await markOf(mover);
  await Promise.all([mover, other].map((w) => cell(w, i).filter({ hasText: mark }).waitFor(SEEN)));
}

/** Both queue for `game` on the Play screen (`a` first), and both land in its room. */
async function matchBoth(a, b, gameName, shots = false) {
  for (const who of [a, b]) {
    await nav(who, "Play");
    await who.page.getByRole("radio", { name: new RegExp(gameName) }).check();
    await who.page.getByRole("button", { name: "Find a match" }).click();
    await who.page.getByRole("timer", { name: "Time waited" }).waitFor(SEEN);
    if (shots && who === a) {
      // The timer counts while the first one waits alone.
      await a.page.getByRole("timer").filter({ hasText: "0:01" }).waitFor(SEEN);
      await a.shot("play-waiting");
    }
    if (shots && who === b) await b.shot("play-waiting");
  }
  await Promise.all([a, b].map((w) => w.page.getByRole("heading", { name: gameName, level: 1 }).waitFor(SEEN)));
}

/** A new player on a fresh page (`options`: DESKTOP or MOBILE), signed up as `name`, in the lobby. */
async function newPlayer(name, label, options) {
  const who = await player(browser, label, options);
  players.push(who);
  await signUpThroughPage(who, p.url, name);
  return who;
}

/** Bytes of the bodies of `responses` (each URL once). */
function weight(responses) {
  const seen = new Map();
  for (const r of responses) seen.set(r.url, r.bytes);
  return { files: seen.size, bytes: [...seen.values()].reduce((a, b) => a + b, 0) };
}

test("two players: sign up, friends and presence, DM, lobby chat, tic-tac-toe to the end, the winner buys a good", T, async (t) => {
  // ── accounts ──
  for (const who of [ann, bob]) {
    await who.page.goto(p.url);
    await who.page.getByRole("tab", { name: "Log in" }).waitFor(SEEN);
    await who.page.waitForLoadState("networkidle");
    await who.shot("login");
  }
  const first = weight(ann.responses);
  t.diagnostic(`page weight, first visit (login screen): ${first.bytes} bytes in ${first.files} files`);
  // Nothing from any other host.
  assert.deepEqual(ann.responses.filter((r) => !r.url.startsWith(p.url)), []);
  for (const [who, name] of [[ann, "ann"], [bob, "bob"]]) {
    await who.page.getByRole("tab", { name: "Sign up" }).click();
    await who.page.getByLabel("Name").fill(name);
    await who.page.getByLabel("Password").fill(PASSWORD);
    await who.page.getByRole("button", { name: "Create account" }).click();
    await who.page.getByRole("heading", { name: "Lobby", level: 1 }).waitFor(SEEN);
  }
  // Only the refresh token is kept in the browser.
  const stored = await ann.page.evaluate(() => Object.keys(localStorage));
  assert.deepEqual(stored, ["chorus.refresh"]);

  // ── friends: ann asks by name, bob sees it live and accepts, both see the other online ──
  await nav(bob, "Friends");
  await nav(ann, "Friends");
  await bob.page.getByRole("heading", { name: "Friends", level: 1 }).waitFor(SEEN);
  await ann.page.getByLabel("Add a friend by name").fill("nobody-at-all");
  await ann.page.getByRole("button", { name: "Send request" }).click();
  await ann.page.getByText("Nobody is called “nobody-at-all”.").waitFor(SEEN);
  await ann.page.getByLabel("Add a friend by name").fill("BOB");
  await ann.page.getByRole("button", { name: "Send request" }).click();
  await ann.page.getByText("Request sent to bob.").waitFor(SEEN);
  await person(ann, "Sent requests", "bob").waitFor(SEEN);
  await person(bob, "Requests for you", "ann").waitFor(SEEN); // live, from friends.onEvent
  await bob.page.getByRole("button", { name: "Accept ann's request" }).click();
  await person(ann, "Friends", "bob").locator(".dot.online").waitFor(SEEN);
  await person(bob, "Friends", "ann").locator(".dot.online").waitFor(SEEN);

  // ── a DM: ann writes, bob sees the unread badge and the message ──
  await ann.page.getByRole("button", { name: "Message bob" }).click();
  await ann.page.getByLabel("Direct message").fill("psst, bob");
  await ann.page.getByLabel("Direct message").press("Enter");
  await ann.page.getByRole("list", { name: "Messages with bob" }).getByText("psst, bob").waitFor(SEEN);
  await person(bob, "Friends", "ann").getByLabel("1 unread").waitFor(SEEN);
  await bob.page.getByRole("button", { name: "Message ann" }).click();
  await bob.page.getByRole("list", { name: "Messages with ann" }).getByText("psst, bob").waitFor(SEEN);
  await bob.page.getByLabel("Direct message").fill("hey ann!");
  await bob.page.getByRole("button", { name: "Send", exact: true }).click();
  await ann.page.getByRole("list", { name: "Messages with bob" }).getByText("hey ann!").waitFor(SEEN);
  await ann.shot("friends");
  await bob.shot("friends");

  // ── the lobby: each sees the other's message; ann edits, then retracts hers ──
  await nav(ann, "Lobby");
  await nav(bob, "Lobby");
  await ann.page.getByLabel("Message to the lobby").fill("hello from ann");
  await ann.page.getByRole("button", { name: "Send", exact: true }).click();
  await lobbyMessage(bob, "hello from ann").waitFor(SEEN);
  await bob.page.getByLabel("Message to the lobby").fill("hi ann, bob here");
  await bob.page.getByLabel("Message to the lobby").press("Enter");
  await lobbyMessage(ann, "hi ann, bob here").waitFor(SEEN);
  // Only one's own messages can be edited.
  assert.equal(await lobbyMessage(ann, "hi ann, bob here").getByRole("button", { name: /Edit/ }).count(), 0);
  await lobbyMessage(ann, "hello from ann").getByRole("button", { name: /Edit your message/ }).click();
  await ann.page.getByLabel("Edit message").fill("hello everyone");
  await ann.page.getByLabel("Edit message").press("Enter");
  await lobbyMessage(bob, "hello everyone").locator(".edited").waitFor(SEEN);
  await ann.shot("lobby");
  await bob.shot("lobby");
  await lobbyMessage(ann, "hello everyone").getByRole("button", { name: /Delete your message/ }).click();
  await lobbyMessage(bob, "hello everyone").waitFor({ state: "detached", ...SEEN });
  await lobbyMessage(ann, "hello everyone").waitFor({ state: "detached", ...SEEN });

  // ── tic-tac-toe: matched, each sees the other's moves, illegal cells are not clickable ──
  await matchBoth(ann, bob, "Tic-tac-toe", true);
  await Promise.all([ann, bob].map((w) => w.page.locator(".board").waitFor(SEEN)));
  const [x, o] = (await markOf(ann)) === "X" ? [ann, bob] : [bob, ann];
  // X to move: all nine cells legal for X, none for O.
  assert.equal(await x.page.locator(".board .cell:enabled").count(), 9);
  assert.equal(await o.page.locator(".board .cell:enabled").count(), 0);
  await move(x, o, 4);
  // Now O: the taken centre is not clickable, the eight others are; X can click nothing.
  assert.equal(await cell(o, 4).isDisabled(), true);
  assert.equal(await o.page.locator(".board .cell:enabled").count(), 8);
  assert.equal(await x.page.locator(".board .cell:enabled").count(), 0);
  await move(o, x, 0);
  await move(x, o, 8);
  // A takeback: X asks for the 8 back, O allows it, X is to move again.
  await x.page.getByRole("button", { name: "Ask to take back" }).click();
  await o.page.getByRole("button", { name: "Allow takeback" }).click();
  await Promise.all([x, o].map((w) => w.page.locator('.board .cell[data-cell="8"].mark-x').waitFor({ state: "detached", ...SEEN })));
  await x.page.locator(".turn[data-state=mine]").waitFor(SEEN);
  await move(x, o, 2);
  await move(o, x, 6); // blocks 2-4-6
  await move(x, o, 1); // threatens 1-4-7
  await o.shot("tictactoe");
  await move(o, x, 5); // and misses it
  await move(x, o, 7); // 1-4-7: X wins
  await x.page.getByRole("status").filter({ hasText: "You won!" }).first().waitFor(SEEN);
  await o.page.getByRole("status").filter({ hasText: "You lost." }).first().waitFor(SEEN);
  assert.equal(await x.page.locator(".board .cell:enabled").count(), 0);
  await x.shot("tictactoe");

  // ── the winner's wallet: the reward arrives, then a purchase spends it ──
  await nav(x, "Store");
  const balance = x.page.getByLabel("Wallet").locator(".balance");
  await x.page.getByRole("list", { name: "Recent wallet activity" }).getByText("Won a match").waitFor(SEEN);
  const before = Number(await balance.getAttribute("data-balance"));
  assert.equal(before, 110, "100 welcome coins and the win's reward");
  await x.page.getByRole("button", { name: /Buy Red skin/ }).click();
  await x.page.getByText("You bought Red skin for 30 coins.").waitFor(SEEN);
  await x.page.locator('.balance[data-balance="80"]').waitFor(SEEN);
  await x.page.getByRole("list", { name: "Your items" }).getByText("Red skin").waitFor(SEEN);
  assert.equal(await x.page.getByRole("button", { name: "Red skin: owned" }).isDisabled(), true);
  await nav(o, "Store");
  await o.page.locator('.balance[data-balance="100"]').waitFor(SEEN);
  await x.shot("store");
  await o.shot("store");

  // ── the leaderboard: both rated, the winner above ──
  for (const who of [x, o]) {
    await nav(who, "Leaderboard");
    await who.page.locator(".board-table tbody tr").nth(1).waitFor(SEEN);
    await who.shot("leaderboard");
  }
  const leader = await x.page.locator(".board-table tbody tr").first().locator("td").nth(1).textContent();
  assert.equal(leader, x === ann ? "ann" : "bob");
  const all = weight(ann.responses);
  t.diagnostic(`page weight, every screen of this test: ${all.bytes} bytes in ${all.files} files`);
  assertClean();
});

test("the arena: both steer by keyboard and each sees the other move", T, async (t) => {
  // New players: see the todo test at the end (a second match of the same player).
  const ann = await newPlayer("carol", "desktop", DESKTOP);
  const bob = await newPlayer("dan", "mobile", MOBILE);
  await matchBoth(ann, bob, "Coin arena");
  for (const who of [ann, bob]) {
    await who.page.locator("chorus-arena").waitFor(SEEN);
    // Drawn: positions for both players.
    await who.page.waitForFunction(() => Object.keys(document.querySelector("chorus-arena")?.positions?.() ?? {}).length === 2, null, SEEN);
  }
  const me = async (who) => who.page.evaluate(async () => (await import("/app/session.js")).session.user.id);
  const annId = await me(ann);
  const bobId = await me(bob);
  const pos = (who, id) => who.page.evaluate((id) => document.querySelector("chorus-arena").positions()[id], id);
  const annStart = await pos(bob, annId);
  const bobStart = await pos(ann, bobId);
  await ann.shot("arena");
  await bob.shot("arena");

  // ann holds →: bob's page sees ann's disc go right.
  await ann.page.locator("chorus-arena").click();
  await ann.page.keyboard.down("ArrowRight");
  await bob.page.waitForFunction(([id, x]) => document.querySelector("chorus-arena").positions()[id].x > x + 40, [annId, annStart.x], SEEN);
  await ann.page.keyboard.up("ArrowRight");
  // bob holds ↑: ann's page sees bob's disc go up.
  await bob.page.locator("chorus-arena").click();
  await bob.page.keyboard.down("ArrowUp");
  await ann.page.waitForFunction(([id, y]) => document.querySelector("chorus-arena").positions()[id].y < y - 40, [bobId, bobStart.y], SEEN);
  await bob.page.keyboard.up("ArrowUp");
  await ann.shot("arena");
  await bob.shot("arena");

  const all = weight(ann.responses);
  t.diagnostic(`page weight, sign-up to the arena: ${all.bytes} bytes in ${all.files} files`);
  // ann leaves: bob, the last one in, wins.
  const leave = ann.page.getByRole("button", { name: "Leave game" });
  await leave.click();
  await ann.page.getByRole("button", { name: "Click again to confirm" }).click();
  await bob.page.getByRole("status").filter({ hasText: "You won!" }).first().waitFor(SEEN);
  await ann.page.getByRole("status").filter({ hasText: "You lost." }).first().waitFor(SEEN);
  assertClean();
});

/** Kills the bridge, waits for both banners, starts it again, waits for both to recover. */
async function restartBridge(ann, bob) {
  // Every open page reconnects (the earlier tests' too): their attempts are expected.
  for (const who of players) who.reconnecting = true;
  await p.killBridge();
  await Promise.all([ann, bob].map((w) => w.page.getByText("Connection lost. Reconnecting…").waitFor({ state: "visible", ...SEEN })));
  await p.startBridge();
  await Promise.all([ann, bob].map((w) => w.page.locator("#banner").waitFor({ state: "hidden", timeout: 30000 })));
  await Promise.all(players.map((w) => w.page.locator("#banner").waitFor({ state: "hidden", timeout: 30000 })));
  for (const who of players) who.reconnecting = false;
}

test("the bridge restarts: banners, then chat and the game go on without a reload", T, async () => {
  const ann = await newPlayer("erin", "desktop", DESKTOP);
  const bob = await newPlayer("finn", "mobile", MOBILE);
  await ann.page.getByLabel("Message to the lobby").fill("hi finn, erin here");
  await ann.page.getByRole("button", { name: "Send", exact: true }).click();
  for (const who of [ann, bob]) {
    await nav(who, "Lobby");
    await who.page.evaluate(() => (window.__sameDocument = true));
  }
  await lobbyMessage(bob, "hi finn, erin here").waitFor(SEEN);
  await restartBridge(ann, bob);
  await ann.shot("reconnected");
  // The lobby subscription came back by itself: bob's message arrives live at ann.
  await bob.page.getByLabel("Message to the lobby").fill("still here after the restart");
  await bob.page.getByLabel("Message to the lobby").press("Enter");
  await lobbyMessage(ann, "still here after the restart").waitFor(SEEN);

  // The match inbox came back too: a match made after the restart opens the room.
  await matchBoth(ann, bob, "Tic-tac-toe");
  await Promise.all([ann, bob].map((w) => w.page.locator(".board").waitFor(SEEN)));
  const [x, o] = (await markOf(ann)) === "X" ? [ann, bob] : [bob, ann];
  await move(x, o, 0);
  await restartBridge(ann, bob);
  // The game goes on: each sees the other's next move through the restored room subscription.
  await move(o, x, 4);
  await move(x, o, 8);
  for (const who of [ann, bob]) assert.equal(await who.page.evaluate(() => window.__sameDocument), true, "no reload");
  assertClean();
});

test("log out forgets the session; a guest reads the lobby; logging in again works", T, async () => {
  const page = ann.page;
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("tab", { name: "Log in" }).waitFor(SEEN);
  assert.deepEqual(await page.evaluate(() => Object.keys(localStorage)), []);
  await page.getByRole("button", { name: "Play as guest" }).click();
  await page.getByRole("heading", { name: "Lobby", level: 1 }).waitFor(SEEN);
  await lobbyMessage(ann, "hi ann, bob here").waitFor(SEEN); // history, read-only
  await page.getByText("Guests can read the lobby. Sign in to chat.").waitFor(SEEN);
  assert.equal(await page.getByLabel("Message to the lobby").count(), 0);
  await nav(ann, "Store");
  await page.getByText("Sign in to use store").waitFor(SEEN);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByLabel("Name").fill("ann");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await page.getByRole("heading", { name: "Lobby", level: 1 }).waitFor(SEEN);
  // A reload signs in again from the stored refresh token alone.
  await page.reload();
  await page.getByRole("heading", { name: "Lobby", level: 1 }).waitFor(SEEN);
  await page.locator(".me-name", { hasText: "ann" }).waitFor(SEEN);
  assertClean();
});

// A cancel, and a match made, delete the player's ticket: joining again must queue anew
// (the matchmaker once answered `conflict` there, fixed in 6d10963).
test("a player can cancel a wait, and queue again after it and after a match", T, async () => {
  await nav(ann, "Play");
  await ann.page.getByRole("button", { name: "Find a match" }).click();
  await ann.page.getByRole("timer", { name: "Time waited" }).waitFor(SEEN);
  await ann.page.getByRole("button", { name: "Cancel" }).click();
  await ann.page.getByRole("button", { name: "Find a match" }).click();
  await ann.page.getByRole("timer", { name: "Time waited" }).waitFor({ timeout: 3000 });
  await ann.page.getByRole("button", { name: "Cancel" }).click();
  await ann.page.getByRole("button", { name: "Find a match" }).waitFor(SEEN);
  assertClean();
});
