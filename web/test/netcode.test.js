// Tests of web/app/netcode.js against the real rules (games/arena.js): a simulated server
// runs init/command/apply/tick at 20 Hz with a network delay each way, and a simulated
// client predicts, reconciles and interpolates as the <chorus-arena> view does. They fail
// when a prediction does not settle on the server's position, when acknowledged inputs are
// replayed again or pending ones are not replayed, or when others are not drawn between
// snapshots about 100 ms behind.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as game from "../../games/arena.js";
import {
  advance,
  corrected,
  DEFAULT_LAG_MS,
  direction,
  faded,
  interpolate,
  INTERP_DELAY_MS,
  MAX_SNAPSHOTS,
  predict,
  prediction,
  pressed,
  pushSnapshot,
  reconcile,
  stamp,
  tickMs,
} from "../app/netcode.js";

const DT = tickMs(game);
const PLAYERS = [
  { id: "a", name: "ann" },
  { id: "b", name: "bob" },
];

/** A state with no coins in the way (so scores and dazes do not disturb the positions). */
function freshState() {
  return { ...game.init(PLAYERS, 7), coins: [] };
}

/** `state` after the inputs `[{by, input}]` and one tick, as the rooms worker runs a tick. */
function serverTick(state, inputs) {
  for (const { by, input } of inputs) {
    const r = game.command(state, by, input);
    if (r.events) for (const e of r.events) state = game.apply(state, e);
  }
  for (const e of game.tick(state, DT)) state = game.apply(state, e);
  return state;
}

/**
 * A room and one client, with `latency` ms each way. `script` maps a client time to the
 * input made then (`{dx, dy}`), `lose` lists input numbers the network drops. Each client
 * frame (every `frame` ms) records the prediction; each broadcast is reconciled. Returns
 * what happened.
 */
function simulate({ latency, script, until, frame = 16, lose = [], other = null }) {
  let state = freshState();
  let pred = reconcile(game, prediction(), state, "a", 0);
  let clock = { offset: null };
  let snaps = [];
  let n = 0;
  const inFlight = []; // {arrive, by, input}
  const broadcasts = []; // {arrive, seq, state}
  const frames = [];
  const jumps = [];
  const server = [];
  let nextTick = DT;
  let nextFrame = 0;
  const scriptTimes = Object.keys(script).map(Number).sort((x, y) => x - y);
  for (let now = 0; now <= until; now++) {
    for (const t of scriptTimes) {
      if (t !== now) continue;
      const input = { n: n++, ...script[t] };
      pred = pressed(pred, input, now);
      if (!lose.includes(input.n)) inFlight.push({ arrive: now + latency, by: "a", input });
    }
    if (now >= nextTick) {
      const arrived = inFlight.filter((m) => m.arrive <= now);
      for (const m of arrived) inFlight.splice(inFlight.indexOf(m), 1);
      if (other) arrived.push(...other(state));
      state = serverTick(state, arrived);
      server.push({ t: now, state });
      broadcasts.push({ arrive: now + latency, seq: state.tick, state });
      nextTick += DT;
    }
    for (const b of broadcasts.filter((m) => m.arrive === now)) {
      const before = predict(game, pred, now);
      const s = stamp(clock, b.seq, DT, now);
      clock = s.clock;
      snaps = pushSnapshot(snaps, b.seq, s.at, b.state);
      pred = reconcile(game, pred, b.state, "a", s.at);
      const after = predict(game, pred, now);
      jumps.push({ t: now, d: Math.hypot(after.x - before.x, after.y - before.y) });
    }
    if (now >= nextFrame) {
      const me = predict(game, pred, now);
      frames.push({ t: now, x: me.x, y: me.y, others: interpolate(snaps, now - INTERP_DELAY_MS) });
      nextFrame += frame;
    }
  }
  return { state, pred, frames, jumps, server, snaps };
}

test("advance steps a held direction exactly as the server's ticks do", () => {
  let state = freshState();
  state = serverTick(state, [{ by: "a", input: { n: 0, dx: 1, dy: 1 } }]);
  const start = state.players[0];
  for (let i = 0; i < 12; i++) state = serverTick(state, []);
  const p = advance(game, start, 12 * DT);
  assert.equal(p.x, state.players[0].x);
  assert.equal(p.y, state.players[0].y);
  // Part of a tick lies on the way to the next step.
  const half = advance(game, start, DT / 2);
  const next = game.moved(start, DT);
  assert.equal(half.x, start.x + (next.x - start.x) / 2);
  // A dazed player stands until the daze wears off.
  const dazed = { ...start, daze: 2 * DT };
  assert.equal(advance(game, dazed, 2 * DT).x, start.x);
  assert.ok(advance(game, dazed, 3 * DT).x > start.x);
});

test("reconcile drops the inputs the state applied and predict replays the others over it", () => {
  let pred = prediction();
  pred = pressed(pred, { n: 0, dx: 1, dy: 0 }, 0);
  pred = pressed(pred, { n: 1, dx: 0, dy: 1 }, 100);
  pred = pressed(pred, { n: 2, dx: 0, dy: 0 }, 200);
  const state = freshState();
  const me = state.players[0];
  const auth = { ...state, players: [{ ...me, dx: 1, dy: 0, last_n: 0 }, state.players[1]] };
  pred = reconcile(game, pred, auth, "a", 100 + DEFAULT_LAG_MS);
  assert.deepEqual(
    pred.pending.map((i) => i.n),
    [1, 2],
  );
  // The base stands for time 100 (received at 200, the lag not learned yet): from there
  // down for 100 ms, then stop.
  const p = predict(game, pred, 300);
  assert.equal(p.x, me.x);
  assert.equal(p.y, advance(game, { ...me, dx: 0, dy: 1 }, 100).y);
  assert.ok(p.y > me.y + 10, "the pending input moved the disc");
  // Once the state has applied them all, nothing is replayed twice.
  const done = { ...auth, players: [{ ...me, x: 400, y: 200, dx: 0, dy: 0, last_n: 2 }, state.players[1]] };
  pred = reconcile(game, pred, done, "a", 400);
  assert.deepEqual(pred.pending, []);
  assert.deepEqual([predict(game, pred, 700).x, predict(game, pred, 700).y], [400, 200]);
});

test("a key press moves the own disc at once, and it settles exactly where the server puts it", () => {
  const run = simulate({ latency: 60, until: 3000, script: { 500: { dx: 1, dy: 0 }, 1400: { dx: 0, dy: 1 }, 1900: { dx: 0, dy: 0 } } });
  const start = run.frames[0];
  // Prediction: a frame after the press the disc has moved, long before any acknowledgement.
  const soon = run.frames.find((f) => f.t >= 520);
  assert.ok(soon.x > start.x + 1, `moved at once (${start.x} -> ${soon.x})`);
  assert.ok(soon.t < 500 + 2 * 60, "before the server could even answer");
  // Reconciliation: at the end the prediction is the server's position, exactly.
  const end = run.frames[run.frames.length - 1];
  const auth = run.state.players[0];
  assert.equal(end.x, auth.x);
  assert.equal(end.y, auth.y);
  assert.ok(auth.x > start.x + 100 && auth.y > start.y + 40, "the server moved it too");
  assert.deepEqual(run.pred.pending, []);
  // Pending inputs are replayed: once the lag is learned no reconciliation moves the disc
  // by more than a few units (without the replay each would snap it back a round trip).
  const late = run.jumps.filter((j) => j.t > 1000);
  assert.ok(late.length > 20);
  const worst = Math.max(...late.map((j) => j.d));
  assert.ok(worst <= 9, `largest correction ${worst}`);
  // And the lag learned is about the round trip (120 ms), less the tick that moved it.
  assert.ok(run.pred.lag > 40 && run.pred.lag < 140, `lag ${run.pred.lag}`);
});

test("a lost input is corrected: the disc goes back to where the server kept it", () => {
  const script = { 100: { dx: 0, dy: 1 }, 300: { dx: 0, dy: 0 }, 600: { dx: 1, dy: 0 }, 900: { dx: 0, dy: 0 } };
  const run = simulate({ latency: 40, until: 2000, lose: [2], script });
  const start = run.frames[0];
  const predicted = run.frames.find((f) => f.t >= 640);
  assert.ok(predicted.x > start.x + 5, `predicted moving right (${start.x} -> ${predicted.x})`);
  // Input 2 never arrived, input 3 (stop) did: the server never moved it right, nor, in the
  // end, does the client (the down move it did apply stays).
  const end = run.frames[run.frames.length - 1];
  assert.equal(run.state.players[0].x, start.x);
  assert.ok(run.state.players[0].y > start.y + 20);
  assert.equal(end.x, start.x);
  assert.equal(end.y, run.state.players[0].y);
  assert.deepEqual(run.pred.pending, []);
});

test("others are drawn interpolated about 100 ms behind, between snapshots", () => {
  // Player b is steered right from the first tick; a is still.
  let sent = false;
  const other = () => (sent ? [] : ((sent = true), [{ by: "b", input: { n: 0, dx: 1, dy: 0 } }]));
  const run = simulate({ latency: 50, until: 1500, frame: 7, script: {}, other });
  const frames = run.frames.filter((f) => f.t > 400);
  const xs = frames.map((f) => f.others.b.x);
  const authXs = new Set(run.server.map((s) => s.state.players[1].x));
  // Between snapshots: most frames show a position no broadcast held.
  const between = xs.filter((x) => !authXs.has(x)).length;
  assert.ok(between > xs.length / 2, `${between} of ${xs.length} frames between snapshots`);
  // Smooth: it never goes back, and no frame jumps more than a tick's move.
  for (let i = 1; i < xs.length; i++) {
    assert.ok(xs[i] >= xs[i - 1], "never backwards");
    assert.ok(xs[i] - xs[i - 1] <= 8, "no jump");
  }
  // About 100 ms behind the server: the drawn x is where the server had b ~(100 + latency) ms before.
  for (const f of frames) {
    const shown = f.others.b.x;
    const serverThen = run.server.filter((s) => s.t <= f.t - INTERP_DELAY_MS - 50).pop().state.players[1].x;
    assert.ok(Math.abs(shown - serverThen) <= 8 + 1e-9, `at ${f.t}: drawn ${shown}, server ${serverThen}`);
  }
});

test("the snapshot buffer is bounded, ordered, and a pause is held, not slid through", () => {
  let buf = [];
  const state = freshState();
  for (let seq = 1; seq <= 100; seq++) {
    const s = { ...state, tick: seq, players: state.players.map((p) => ({ ...p, x: 100 + seq })) };
    buf = pushSnapshot(buf, seq, seq * DT, s);
  }
  assert.equal(buf.length, MAX_SNAPSHOTS);
  assert.equal(buf[buf.length - 1].seq, 100);
  assert.equal(pushSnapshot(buf, 99, 99 * DT, state), buf, "an older tick is ignored");
  assert.equal(interpolate(buf, 95.5 * DT).a.x, 195.5);
  assert.equal(interpolate(buf, 1000 * DT).a.x, 200, "after the last: held");
  // A 3 s pause (a takeover): the old position is held until the new one is due.
  const later = { ...state, players: state.players.map((p) => ({ ...p, x: 400 })) };
  buf = pushSnapshot(buf, 160, 160 * DT, later);
  assert.equal(interpolate(buf, 130 * DT).a.x, 200);
  assert.equal(interpolate(buf, 160 * DT).a.x, 400);
});

test("stamp keeps the earliest arrival: a late packet does not drag the timeline", () => {
  let clock = { offset: null };
  let s = stamp(clock, 10, DT, 10 * DT + 30);
  clock = s.clock;
  assert.equal(s.at, 10 * DT + 30);
  s = stamp(clock, 11, DT, 11 * DT + 90); // 60 ms late
  assert.ok(s.at <= 11 * DT + 36, `late packet stamped ${s.at} (a tenth of its lateness at most)`);
  clock = s.clock;
  s = stamp(clock, 12, DT, 12 * DT + 20); // earlier than ever: taken at once
  assert.equal(s.at, 12 * DT + 20);
});

test("a correction glides: no jump on the frame it happens, gone after a few hundred ms", () => {
  const off = corrected({ x: 0, y: 0 }, { x: 110, y: 50 }, { x: 100, y: 50 });
  assert.deepEqual(off, { x: 10, y: 0 });
  assert.ok(faded(off, 80).x < 4);
  assert.deepEqual(faded(off, 1000), { x: 0, y: 0 });
  assert.deepEqual(corrected({ x: 0, y: 0 }, { x: 200, y: 50 }, { x: 100, y: 50 }), { x: 0, y: 0 }, "too far: snap");
});

test("direction of the held keys", () => {
  assert.deepEqual(direction(new Set(["left", "up"])), { dx: -1, dy: -1 });
  assert.deepEqual(direction(["left", "right", "down"]), { dx: 0, dy: 1 });
  assert.deepEqual(direction(new Set()), { dx: 0, dy: 0 });
});
