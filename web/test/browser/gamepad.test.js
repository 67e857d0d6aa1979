// Phones as gamepads in real Chromium against the whole platform: a big screen (1280×800, a
// signed-up player matched into an arena room with a second player, a node chorus.js client)
// opens big-screen mode and shows a code and its QR code (read back with zbarimg when it is
// here); a phone (375×812, touch) opens `/#pad=CODE`, and holding or tapping its buttons
// moves that player on the big screen. The phone goes offline and comes back (a new guest),
// and is reloaded: each time it takes its seat back and steers again. Bad input: a wrong
// code and a reused code (another phone) get clear messages, also through "Join as
// controller" on the login screen; a flood of claims from one client is rate_limited. On a
// tic-tac-toe big screen the board takes no move, and the phone plays the seat.
// Console errors, failed requests and HTTP errors are watched on every page. No sleeps:
// every wait is on a selector, a text or a page function, with a deadline.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import WebSocket from "ws";
import { connect } from "../../chorus.js";
import { platform, inbox, signUp } from "../harness.js";
import { launch, player, DESKTOP, MOBILE, SHOTS, SEEN, signUpThroughPage } from "./browser.js";

const T = { timeout: 120000 };
const CODE = /^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}$/;

let p;
let browser;
const players = [];
const clients = [];
let big;
let phone;
let code;
let annId;

before(async () => {
  p = await platform({ env: { CHORUS_MM_FILL_SECS: "1", CHORUS_LOG: "warn" } });
  browser = await launch();
}, { timeout: 60000 });

after(async () => {
  for (const [i, who] of players.entries()) await who.shot(`gamepad-last-${i}`).catch(() => {});
  for (const c of clients) c.close();
  await browser?.close();
  await p?.stop();
});

function client(endpoint = "public", options = {}) {
  const c = connect({ url: p.bridge.url(endpoint), WebSocket, minBackoffMs: 20, maxBackoffMs: 200, ...options });
  clients.push(c);
  return c;
}

async function newPage(label, options) {
  const who = await player(browser, label, options);
  players.push(who);
  return who;
}

function assertClean() {
  for (const who of players) assert.deepEqual(who.problems, [], `the ${who.label} page`);
}

/** ann's disc as the big screen draws it. */
const annAt = () => big.page.evaluate((id) => document.querySelector("chorus-arena").positions()[id], annId);
/** Waits until the big screen draws ann's disc past `limit` on `axis` ("x" or "y"), above it (`more`) or below. */
function bigSees(axis, more, limit) {
  return big.page.waitForFunction(
    ([id, axis, more, limit]) => {
      const q = document.querySelector("chorus-arena").positions()[id];
      return more ? q[axis] > limit : q[axis] < limit;
    },
    [annId, axis, more, limit],
    SEEN,
  );
}

/** Holds a real touch on the phone's button `name` (CDP touch events) until `release()`. */
async function touchHold(who, name) {
  const box = await who.page.getByRole("button", { name, exact: true }).boundingBox();
  const cdp = await who.context.newCDPSession(who.page);
  const point = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [point] });
  return async () => {
    await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
    await cdp.detach();
  };
}

test("big screen shows a code and its QR; a phone claims it and its d-pad moves that player", T, async (t) => {
  // ── the big screen: a signed-up player, matched in the arena with a node client ──
  big = await newPage("bigscreen", DESKTOP);
  await signUpThroughPage(big, p.url, "tvann");
  await big.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Play", exact: true }).click();
  await big.page.getByRole("radio", { name: /Coin arena/ }).check();
  await big.page.getByRole("button", { name: "Find a match" }).click();
  await big.page.getByRole("timer", { name: "Time waited" }).waitFor(SEEN);
  const guest = client();
  await guest.ready();
  const bob = client("private", { getToken: (await signUp(guest, "bob")).getToken });
  await bob.ready();
  const matched = inbox();
  await bob.mm.onMatch(matched.push).ready;
  await bob.mm.join("arena");
  await big.page.getByRole("heading", { name: "Coin arena", level: 1 }).waitFor(SEEN);
  await matched.next();
  annId = await big.page.evaluate(async () => (await import("/app/session.js")).session.user.id);
  await big.page.waitForFunction(() => Object.keys(document.querySelector("chorus-arena")?.positions?.() ?? {}).length === 2, null, SEEN);

  // ── big-screen mode: the code in large letters, its QR code, its countdown ──
  await big.page.getByRole("button", { name: "Big screen" }).click();
  // Count what the big screen publishes on the room's input from now on.
  await big.page.evaluate(async () => {
    const c = (await import("/app/session.js")).session.chorus;
    const pub = c.pub.bind(c);
    window.__inputs = 0;
    c.pub = (subject, ...rest) => {
      if (/^room\.[^.]+\.input$/.test(subject)) window.__inputs++;
      return pub(subject, ...rest);
    };
  });
  const codeEl = big.page.getByLabel("Join code");
  await big.page.waitForFunction(() => /^[2-9A-Z]{6}$/.test(document.querySelector(".pad-code")?.textContent ?? ""), null, SEEN);
  code = await codeEl.textContent();
  assert.match(code, CODE);
  const url = `${p.url}#pad=${code}`;
  await big.page.getByRole("img", { name: `QR code of ${url}` }).waitFor(SEEN);
  await big.page.getByRole("timer").filter({ hasText: /Expires in [12]:\d\d/ }).waitFor(SEEN);
  assert.equal(await big.page.locator("header.top").isVisible(), false, "no app chrome on the big screen");
  assert.equal(await big.page.evaluate(() => document.querySelector("chorus-arena").readOnly), true);
  const qrShot = path.join(SHOTS, "gamepad-qr.png");
  fs.mkdirSync(SHOTS, { recursive: true });
  await big.page.locator(".pad-qr").screenshot({ path: qrShot });
  if (spawnSync("sh", ["-c", "command -v zbarimg"]).status === 0) {
    const read = spawnSync("zbarimg", ["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", qrShot], { encoding: "utf8" });
    assert.equal(read.stdout.trim(), url, `zbarimg read the big screen's QR code (${read.stderr})`);
    t.diagnostic(`zbarimg read the QR code on the page: ${read.stdout.trim()}`);
  }
  // "New code" gives another one.
  await big.page.getByRole("button", { name: "New code" }).click();
  await big.page.waitForFunction((old) => /^[2-9A-Z]{6}$/.test(document.querySelector(".pad-code").textContent) && document.querySelector(".pad-code").textContent !== old, code, SEEN);
  const oldCode = code;
  code = await codeEl.textContent();
  assert.notEqual(code, oldCode);

  // ── the phone opens the link and steers ann's disc ──
  phone = await newPage("phone", MOBILE);
  await phone.page.goto(`${p.url}#pad=${code}`);
  await phone.page.getByText("Connected. You steer tvann.").waitFor(SEEN);
  await phone.page.locator(".pad-score").filter({ hasText: /^\d+$/ }).waitFor(SEEN);
  const phoneUser = await phone.page.evaluate(async () => (await import("/app/session.js")).session.user);
  assert.equal(phoneUser.ns, "guest");
  await big.page.getByText(`Controller connected: ${phoneUser.name}`).waitFor(SEEN);
  await big.page.getByText("Code used.").waitFor(SEEN);

  // Hold → with a real touch: the big screen sees ann go right; let go: she stops.
  const start = await annAt();
  const release = await touchHold(phone, "Move right");
  await phone.page.locator(".pad-btn.right.held").waitFor(SEEN);
  await bigSees("x", true, start.x + 40);
  await big.shot("gamepad-bigscreen");
  await phone.shot("gamepad-pad");
  await release();
  await phone.page.locator(".pad-btn.held").waitFor({ state: "detached", ...SEEN });
  // Stopped: two reads a few broadcasts apart agree (waited for by the state's seq, not a clock).
  const seqNow = await big.page.evaluate(() => document.querySelector("chorus-arena").seq);
  await big.page.waitForFunction((s) => document.querySelector("chorus-arena").seq > s + 6, seqNow, SEEN);
  const stopped = await annAt();
  await big.page.waitForFunction((s) => document.querySelector("chorus-arena").seq > s + 12, seqNow, SEEN);
  assert.ok(Math.abs((await annAt()).x - stopped.x) < 1, "ann stands still after the release");

  // A tap nudges her down a little.
  await phone.page.getByRole("button", { name: "Move down", exact: true }).tap();
  await bigSees("y", true, stopped.y + 10);
  // The mouse works too (a phone with a mouse, a laptop): hold ↑.
  const before = await annAt();
  const upBox = await phone.page.getByRole("button", { name: "Move up", exact: true }).boundingBox();
  await phone.page.mouse.move(upBox.x + upBox.width / 2, upBox.y + upBox.height / 2);
  await phone.page.mouse.down();
  await bigSees("y", false, before.y - 20);
  await phone.page.mouse.up();
  // The big screen sent nothing of its own, not even for its arrow keys: the phone steers.
  await big.page.locator("chorus-arena").click();
  await big.page.keyboard.down("ArrowLeft");
  await big.page.keyboard.up("ArrowLeft");
  assert.equal(await big.page.evaluate(() => window.__inputs), 0);
  assertClean();
});

test("resume: the phone goes offline and comes back as a new guest, then reloads; it steers each time", T, async () => {
  const id0 = await phone.page.evaluate(async () => (await import("/app/session.js")).session.user.id);
  phone.reconnecting = true;
  await phone.context.setOffline(true);
  await phone.page.getByText("Connection lost. Reconnecting…").first().waitFor(SEEN);
  await phone.context.setOffline(false);
  await phone.page.getByText("Connected. You steer tvann.").waitFor(SEEN);
  phone.reconnecting = false;
  const id1 = await phone.page.evaluate(async () => (await import("/app/session.js")).session.user.id);
  assert.notEqual(id1, id0, "a new guest");
  await big.page.getByText(/Controller connected: guest-/).waitFor(SEEN);
  let from = await annAt();
  let release = await touchHold(phone, "Move left");
  await bigSees("x", false, from.x - 30);
  await release();

  await phone.page.reload();
  await phone.page.getByText("Connected. You steer tvann.").waitFor(SEEN);
  const id2 = await phone.page.evaluate(async () => (await import("/app/session.js")).session.user.id);
  assert.notEqual(id2, id1);
  const stored = await phone.page.evaluate(() => JSON.parse(localStorage.getItem("chorus.pad")));
  assert.equal(stored.code, code);
  assert.equal(typeof stored.resume, "string");
  from = await annAt();
  release = await touchHold(phone, "Move right");
  await bigSees("x", true, from.x + 30);
  await release();
  assertClean();
});

test("bad input: a wrong code and a reused code get clear messages; a claim flood is rate_limited", T, async () => {
  // A second phone with the code the first one used.
  const other = await newPage("phone2", MOBILE);
  await other.page.goto(`${p.url}#pad=${code}`);
  const used = other.page.getByText("That code is wrong, already used or expired. Ask the big screen for a new code.");
  await used.waitFor(SEEN);
  await other.shot("gamepad-used-code");
  // Another try in the form it shows, with a code nobody made.
  await other.page.getByLabel("Controller code").fill("zzzzzz");
  await other.page.getByRole("button", { name: "Join as controller" }).click();
  await other.page.waitForFunction(() => location.hash === "#pad=ZZZZZZ", null, SEEN);
  await used.waitFor(SEEN);
  // From the login screen's "Join as controller".
  const third = await newPage("phone3", MOBILE);
  await third.page.goto(p.url);
  await third.page.getByLabel("Join as controller").fill("YYYYYY");
  await third.page.getByRole("button", { name: "Join", exact: true }).click();
  await third.page.getByText("That code is wrong, already used or expired.").waitFor(SEEN);
  await third.shot("gamepad-wrong-code");
  // The first phone still steers: nobody took its seat.
  await phone.page.getByText("Connected. You steer tvann.").waitFor(SEEN);

  // A flood from one client: refused rate_limited within the per-caller limit (10 a minute).
  const flood = client();
  await flood.ready();
  const codes = [];
  for (let i = 0; i < 30 && codes.at(-1) !== "rate_limited"; i++) {
    codes.push((await flood.rooms.claim(`QQQQ${"23456789ABCDEFGHJKMNPQRSTUVWXYZ"[i]}Q`).catch((e) => e)).code);
  }
  assert.equal(codes.at(-1), "rate_limited", codes.join(","));
  assert.ok(codes.length <= 11, `rate_limited after ${codes.length} claims`);
  assertClean();
});

test("tic-tac-toe on a big screen: its board takes no move; the phone plays the seat", T, async () => {
  const tv = await newPage("tv-ttt", DESKTOP);
  await signUpThroughPage(tv, p.url, "tvtom");
  await tv.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Play", exact: true }).click();
  await tv.page.getByRole("radio", { name: /Tic-tac-toe/ }).check();
  await tv.page.getByRole("button", { name: "Find a match" }).click();
  await tv.page.getByRole("timer", { name: "Time waited" }).waitFor(SEEN);
  const guest = client();
  await guest.ready();
  const bob = client("private", { getToken: (await signUp(guest, "bobt")).getToken });
  await bob.ready();
  const matched = inbox();
  await bob.mm.onMatch(matched.push).ready;
  await bob.mm.join("tictactoe");
  await tv.page.getByRole("heading", { name: "Tic-tac-toe", level: 1 }).waitFor(SEEN);
  const room = (await matched.next()).data.room;
  const cells = (who) => who.page.locator("chorus-tictactoe button.cell");

  await tv.page.getByRole("button", { name: "Big screen" }).click();
  await tv.page.waitForFunction(() => /^[2-9A-Z]{6}$/.test(document.querySelector(".pad-code")?.textContent ?? ""), null, SEEN);
  const tvCode = await tv.page.getByLabel("Join code").textContent();
  // The big screen's board takes no move, whoever's turn it is.
  await tv.page.waitForFunction(() => {
    const all = [...document.querySelectorAll("chorus-tictactoe button.cell")];
    return all.length === 9 && all.every((c) => c.disabled);
  }, null, SEEN);

  const ph = await newPage("phone-ttt", MOBILE);
  await ph.page.goto(`${p.url}#pad=${tvCode}`);
  await ph.page.getByText("Connected. You steer tvtom.").waitFor(SEEN);
  await tv.page.getByText(/Controller connected: guest-/).waitFor(SEEN);
  // X moves first: when that is bob, he plays a corner; then the phone has a legal move.
  const first = await bob.rooms.state(room);
  if (first.state.turn === bob.user.id) await bob.rooms.input(room, { cell: 0 });
  await cells(ph).nth(4).and(ph.page.locator(":enabled")).waitFor(SEEN);
  await cells(ph).nth(4).click();
  // The big screen shows the phone's move, and its own board still takes none.
  await cells(tv).nth(4).filter({ hasText: /^[XO]$/ }).waitFor(SEEN);
  const after = await bob.rooms.state(room);
  assert.equal(after.state.board[4], after.state.marks[after.state.players.find((id) => id !== bob.user.id)]);
  assert.equal(await tv.page.evaluate(() => [...document.querySelectorAll("chorus-tictactoe button.cell")].every((c) => c.disabled)), true);
  assertClean();
});
