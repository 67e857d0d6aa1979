// A component test of <chorus-arena> (web/app/arena-view.js) in real Chromium.
//
// A tiny HTTP server serves web/ at / and games/ at /games/; the page loads the element and
// a fake Chorus client whose "room" runs the real games/arena.js (init, command, apply,
// tick at 20 Hz) with a network delay each way, and whose input channel the test can hold
// back. It checks that the own disc moves at once on a key press (prediction), settles on
// the server's position (reconciliation), that the other disc is drawn between broadcasts
// about 100 ms behind (interpolation), that the touch pad sends inputs, that a restored
// subscription resends the held direction and refetches, that a seq gap refetches, and
// that the end shows the result and fires `arena-over`. Screenshots (1280×800, 375×812)
// go to web/test/screenshots/.
//
// Run: node --test test/browser/arena-view.test.js (from web/; needs playwright-core and
// /usr/bin/chromium, or CHORUS_CHROMIUM).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const GAMES = path.resolve(WEB, "../games");
const SHOTS = path.join(WEB, "test/screenshots");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".svg": "image/svg+xml", ".wav": "audio/wav", ".css": "text/css", ".json": "application/json", ".png": "image/png" };

/** The test page: the element, the real game, and a fake Chorus client with a fake room. */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>arena view test</title><link rel="icon" href="data:,">
<style>
  body { margin: 0; background: #0a0f22; color: #e8ecf8; font-family: system-ui, sans-serif; }
  main { max-width: 960px; margin: 0 auto; padding: 16px; }
  h1 { font-size: 1.2rem; margin: 0 0 12px; }
</style></head>
<body><main><h1>Coin arena</h1><chorus-arena id="arena"></chorus-arena></main>
<script type="module">
  import * as game from "/games/arena.js";
  import "/app/arena-view.js";
  const q = new URLSearchParams(location.search);
  const DT = 1000 / game.meta.tick_hz;
  const players = [{ id: "u1", name: "ann", seat: 0 }, { id: "u2", name: "bob", seat: 1 }, { id: "u3", name: "cy", seat: 2 }];
  let state = game.init(players, 42);
  if (q.has("time")) state = { ...state, time_ms: Number(q.get("time")) };
  if (q.has("score")) state = { ...state, players: state.players.map((p) => ({ ...p, score: Number(q.get("score")) })) };
  let seq = 0;
  const net = {
    latency: Number(q.get("latency") || 40),
    hold: false, held: [], sent: [], stateCalls: 0, dropNext: 0, botDir: 0, botN: 0,
    handlers: new Set(), opts: [], inbox: [], broadcasts: [], ticking: true,
  };
  const copy = (v) => JSON.parse(JSON.stringify(v));
  const chorus = {
    rooms: {
      send(room, input) {
        net.sent.push({ ...input, t: performance.now() });
        const deliver = () => net.inbox.push({ by: "u1", input: copy(input) });
        if (net.hold) net.held.push(deliver);
        else setTimeout(deliver, net.latency);
      },
      onState(room, handler, opts) {
        net.handlers.add(handler);
        net.opts.push(opts);
        const unsub = () => net.handlers.delete(handler);
        unsub.ready = Promise.resolve();
        return unsub;
      },
      async state(room) {
        net.stateCalls++;
        return copy({ room, game: "arena", seq, state, players, over: game.over(state) });
      },
    },
  };
  function step() {
    if (!net.ticking) return;
    const inputs = net.inbox.splice(0);
    if (net.botDir) {
      const bob = state.players[1];
      const dx = bob.x > 560 ? -1 : bob.x < 80 ? 1 : bob.dx || net.botDir;
      if (dx !== bob.dx) inputs.push({ by: "u2", input: { n: net.botN++, dx, dy: 0 } });
    }
    for (const { by, input } of inputs) {
      const r = game.command(state, by, input);
      if (r.events) for (const e of r.events) state = game.apply(state, e);
    }
    for (const e of game.tick(state, DT)) state = game.apply(state, e);
    seq = state.tick;
    const msg = copy({ seq, state });
    net.broadcasts.push({ seq, t: performance.now() + net.latency, bob: state.players[1].x });
    if (net.broadcasts.length > 400) net.broadcasts.shift();
    if (net.dropNext > 0) { net.dropNext--; return; }
    setTimeout(() => { for (const h of net.handlers) h(msg, { subject: "room.r1.state", from: null }); }, net.latency);
  }
  // Ticks on a fixed clock, as the rooms worker does (tick t is due at start + t × DT).
  const t0 = performance.now();
  let due = 0;
  (function schedule() {
    due++;
    setTimeout(() => { step(); schedule(); }, Math.max(0, t0 + due * DT - performance.now()));
  })();
  const el = document.getElementById("arena");
  el.addEventListener("arena-over", (e) => { window.overDetail = e.detail; });
  el.start({ chorus, room: "r1", me: "u1", game, initial: copy({ room: "r1", game: "arena", seq, state, players, over: false }) });
  window.fake = { net, game, el, state: () => state, release() { for (const f of net.held.splice(0)) f(); net.hold = false; } };
  window.ready = true;
</script></body></html>`;

let server;
let base;
let browser;

before(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname === "/test.html") {
      res.writeHead(200, { "content-type": "text/html" });
      return res.end(PAGE);
    }
    const [root, rel] = url.pathname.startsWith("/games/") ? [GAMES, url.pathname.slice(7)] : [WEB, url.pathname.slice(1)];
    const file = path.resolve(root, decodeURIComponent(rel));
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404);
      return res.end("not found");
    }
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] || "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({
    executablePath: process.env.CHORUS_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** A page with the arena running; console errors, page errors and failed requests fail the test. */
async function open(t, { query = "", viewport = { width: 1280, height: 800 }, touch = false } = {}) {
  const context = await browser.newContext({ viewport, hasTouch: touch, isMobile: touch, deviceScaleFactor: touch ? 2 : 1 });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
  page.on("response", (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
  t.after(async () => {
    await context.close();
    assert.deepEqual(problems, []);
  });
  await page.goto(`${base}/test.html${query}`);
  await page.waitForFunction(() => window.ready && Object.keys(window.fake.el.positions()).length === 3);
  return page;
}

const me = (page) => page.evaluate(() => window.fake.el.positions().u1);
const serverMe = (page) => page.evaluate(() => window.fake.state().players[0]);

test("own disc moves at once on a key press, and settles on the server's position", async (t) => {
  const page = await open(t);
  await page.focus("#arena");
  const start = await serverMe(page);
  // Hold the inputs back: the server cannot have seen the press, yet the disc moves.
  await page.evaluate(() => (window.fake.net.hold = true));
  await page.keyboard.down("ArrowRight");
  await page.waitForFunction((x) => window.fake.el.positions().u1.x > x + 4, start.x, { timeout: 3000 });
  assert.equal((await serverMe(page)).x, start.x, "the server has not moved it");
  assert.equal(await page.evaluate(() => window.fake.net.held.length), 1, "the press was sent once");
  await page.keyboard.up("ArrowRight");
  // Both inputs arrive in the same tick: the server never moves it. The prediction must go back.
  await page.evaluate(() => window.fake.release());
  await page.waitForFunction(
    (x) => {
      const p = window.fake.el.positions().u1;
      const s = window.fake.state().players[0];
      return s.last_n === 1 && Math.abs(p.x - x) < 0.01 && Math.abs(s.x - x) < 0.01;
    },
    start.x,
    { timeout: 3000 },
  );
  assert.deepEqual(
    await page.evaluate(() => window.fake.net.sent.map(({ n, dx, dy }) => ({ n, dx, dy }))),
    [
      { n: 0, dx: 1, dy: 0 },
      { n: 1, dx: 0, dy: 0 },
    ],
  );

  // Now with the network flowing (40 ms each way): down with S for a while.
  await page.keyboard.down("KeyS");
  await page.waitForFunction((y) => window.fake.el.positions().u1.y > y + 60, start.y, { timeout: 3000 });
  await page.keyboard.up("KeyS");
  const settled = await page.waitForFunction(
    () => {
      const p = window.fake.el.positions().u1;
      const s = window.fake.state().players[0];
      return s.last_n === 3 && s.dy === 0 && Math.abs(p.x - s.x) < 0.01 && Math.abs(p.y - s.y) < 0.01 && { p, s };
    },
    null,
    { timeout: 3000 },
  );
  const { p, s } = await settled.jsonValue();
  assert.ok(s.y > start.y + 60, `the server moved it down too (${start.y} -> ${s.y})`);
  assert.equal(p.y, s.y);
});

test("the other disc is drawn interpolated between broadcasts, about 100 ms behind", async (t) => {
  const page = await open(t);
  await page.evaluate(() => (window.fake.net.botDir = 1));
  await page.waitForFunction(() => window.fake.state().players[1].dx === 1);
  // Record every frame for 800 ms: the drawn x of bob, and the newest x the page had received.
  const frames = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const out = [];
        const t0 = performance.now();
        const tickFrame = (now) => {
          const got = window.fake.net.broadcasts.filter((b) => b.t <= now);
          out.push({ x: window.fake.el.positions().u2.x, newest: got.length ? got[got.length - 1].bob : null });
          if (now - t0 < 800) requestAnimationFrame(tickFrame);
          else resolve({ out, sent: window.fake.net.broadcasts.map((b) => b.bob) });
        };
        requestAnimationFrame(tickFrame);
      }),
  );
  const xs = frames.out.map((f) => f.x);
  const broadcastXs = new Set(frames.sent);
  assert.ok(xs.length >= 20, `${xs.length} frames`);
  const between = xs.filter((x) => !broadcastXs.has(x)).length;
  assert.ok(between > xs.length / 2, `${between} of ${xs.length} frames between broadcasts`);
  for (let i = 1; i < xs.length; i++) assert.ok(xs[i] >= xs[i - 1] - 1e-9, `frame ${i} went back: ${xs[i - 1]} -> ${xs[i]}`);
  const behind = frames.out.filter((f) => f.newest !== null).map((f) => f.newest - f.x);
  const mean = behind.reduce((a, b) => a + b, 0) / behind.length;
  // 100 ms at 160 units/s is 16 units, less the age of the newest broadcast (0–50 ms). This
  // runs on the page's real clock on a shared machine, so the bounds are wide: drawing at
  // the newest broadcast (no delay) gives ~0, and the exact delay is netcode.test.js's, on
  // a simulated clock.
  assert.ok(mean > 3 && mean < 48, `drawn ${mean.toFixed(1)} units behind the newest broadcast`);
  await page.screenshot({ path: path.join(SHOTS, "arena-1280x800.png") });
});

test("touch: the on-screen pad sends inputs; screenshot at 375×812", async (t) => {
  const page = await open(t, { viewport: { width: 375, height: 812 }, touch: true });
  const right = page.getByRole("button", { name: "Move right" });
  assert.ok(await right.isVisible(), "the pad is shown on a touch screen");
  await right.tap();
  await page.waitForFunction(() => window.fake.net.sent.length >= 2);
  assert.deepEqual(
    await page.evaluate(() => window.fake.net.sent.map(({ dx, dy }) => ({ dx, dy }))),
    [
      { dx: 1, dy: 0 },
      { dx: 0, dy: 0 },
    ],
  );
  // Held: a touch that stays down keeps the direction until it lifts.
  const box = await page.getByRole("button", { name: "Move down" }).boundingBox();
  const cdp = await page.context().newCDPSession(page);
  const point = [{ x: box.x + box.width / 2, y: box.y + box.height / 2 }];
  await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: point });
  await page.waitForFunction(() => window.fake.state().players[0].dy === 1);
  const y0 = (await serverMe(page)).y;
  await page.waitForFunction((y) => window.fake.state().players[0].y > y + 24, y0);
  await page.evaluate(() => window.fake.el.shadowRoot.querySelector(".pad .down.held") !== null).then((held) => assert.ok(held));
  await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
  await page.waitForFunction(() => window.fake.state().players[0].dy === 0);
  await page.evaluate(() => (window.fake.net.botDir = 1));
  await page.waitForFunction(() => window.fake.state().players[1].x > 260);
  await page.screenshot({ path: path.join(SHOTS, "arena-375x812.png"), fullPage: true });
});

test("keyboard: the pad is hidden on a wide screen; the element is focusable and labelled", async (t) => {
  const page = await open(t);
  assert.equal(await page.getByRole("button", { name: "Move right" }).isVisible(), false);
  assert.ok(await page.getByRole("button", { name: "Mute" }).isVisible());
  const label = await page.getAttribute("#arena", "aria-label");
  assert.match(label, /arrow keys/);
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "arena");
  // The first key press allows sound: the three WAV assets are fetched and decode.
  await page.keyboard.press("ArrowLeft");
  await page.waitForFunction(() => {
    const a = window.fake.el.audio;
    return a && ["coin", "bump", "win"].every((n) => a.buffers[n] && a.buffers[n].duration > 0.1);
  });
  const mute = page.getByRole("button", { name: "Mute" });
  await mute.click();
  assert.equal(await mute.getAttribute("aria-pressed"), "true");
});

test("a restored subscription resends the held direction and refetches; a seq gap refetches", async (t) => {
  const page = await open(t);
  await page.focus("#arena");
  await page.keyboard.down("ArrowUp");
  await page.waitForFunction(() => window.fake.state().players[0].dy === -1);
  await page.evaluate(() => window.fake.net.opts[0].restored());
  await page.waitForFunction(() => window.fake.net.sent.length === 2 && window.fake.net.stateCalls >= 1);
  const sent = await page.evaluate(() => window.fake.net.sent.map(({ n, dx, dy }) => ({ n, dx, dy })));
  assert.deepEqual(sent, [
    { n: 0, dx: 0, dy: -1 },
    { n: 1, dx: 0, dy: -1 },
  ]);
  await page.keyboard.up("ArrowUp");
  const calls = await page.evaluate(() => window.fake.net.stateCalls);
  await page.evaluate(() => (window.fake.net.dropNext = 2));
  await page.waitForFunction((c) => window.fake.net.stateCalls > c, calls);
  // An old or repeated broadcast changes nothing.
  const seq = await page.evaluate(() => window.fake.el.seq);
  await page.evaluate(() => {
    const h = [...window.fake.net.handlers][0];
    h({ seq: 1, state: window.fake.game.init([{ id: "u1", name: "x" }, { id: "u2", name: "y" }], 1) }, { subject: "", from: null });
  });
  assert.ok((await page.evaluate(() => window.fake.el.seq)) >= seq);
});

test("the end: the result over the field and an arena-over event", async (t) => {
  const page = await open(t, { query: "?time=1200&score=4" });
  await page.evaluate(() => (window.fake.net.botDir = 1));
  await page.waitForFunction(() => window.overDetail !== undefined, null, { timeout: 5000 });
  const detail = await page.evaluate(() => window.overDetail);
  assert.equal(detail.time_ms, 0);
  const card = page.getByRole("status");
  await card.waitFor();
  const text = await card.innerText();
  assert.match(text, /Draw!|wins|You win!/);
  assert.match(text, /Time's up/);
  await page.screenshot({ path: path.join(SHOTS, "arena-over-1280x800.png") });
  // No more inputs once it is over.
  await page.focus("#arena");
  await page.keyboard.press("ArrowLeft");
  assert.equal(await page.evaluate(() => window.fake.net.sent.length), 0);
});
