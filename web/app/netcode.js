// web/app/netcode.js — the realtime game's netcode, as pure functions (no DOM, no clock).
//
// Why it exists: the server runs the game at 20 ticks a second and broadcasts whole states,
// so a client that drew only what it received would answer a key press a round trip late
// and show other players hopping 20 times a second. This module gives the view:
//
// * prediction and reconciliation of one's own disc: the inputs sent but not yet applied
//   (their `n` above the state's `last_n`) are replayed over each authoritative state with
//   the game's own rules (`game.moved`), so the disc moves at once and settles where the
//   server puts it;
// * interpolation of the others about 100 ms behind, between timestamped snapshots kept in
//   a small bounded buffer;
// * a fading visual correction, so a misprediction glides instead of jumping.
//
// It imports nothing: the game module (the very `games/arena.js` the server runs) is an
// argument. Every function returns new values and never changes its arguments; times are
// milliseconds on whatever clock the caller uses (the view passes `performance.now()`).

/** Milliseconds per tick of `game`. */
export function tickMs(game) {
  return 1000 / game.meta.tick_hz;
}

/** Whether `state` has ended (the game's own `over` when it has one). */
export function isOver(game, state) {
  if (typeof game.over === "function") return game.over(state);
  return state.winner !== null && state.winner !== undefined ? true : state.draw === true;
}

/**
 * Player `p` after holding its direction for `ms`, stepped a tick at a time with the game's
 * `moved` as the server steps it (daze wears off as in the game's step). A part of a tick is
 * the straight line towards the next whole step, so a drawn disc glides between ticks.
 */
export function advance(game, p, ms) {
  const dt = tickMs(game);
  let cur = p;
  let left = Math.min(ms, 5000);
  while (left > 1e-6) {
    const next = game.moved(cur, dt);
    const daze = Math.max(0, (cur.daze || 0) - Math.min(dt, left));
    if (left >= dt) {
      cur = { ...cur, x: next.x, y: next.y, daze };
    } else {
      const f = left / dt;
      cur = { ...cur, x: cur.x + (next.x - cur.x) * f, y: cur.y + (next.y - cur.y) * f, daze };
    }
    left -= dt;
  }
  return cur;
}

// ── prediction and reconciliation ────────────────────────────────────────────────────

/** How far past its last authoritative state a prediction may run (a stalled room stops the disc). */
export const MAX_AHEAD_MS = 300;
/** The lag assumed before the first acknowledgement teaches it (two ticks, a near server). */
export const DEFAULT_LAG_MS = 100;
/** Most pending inputs kept (older ones are dropped: the server has long applied or lost them). */
export const MAX_PENDING = 64;

/**
 * A fresh prediction: `pending` inputs `{n, dx, dy, at}` not yet applied, `base` the own
 * player of the last authoritative state (or null), `baseAt` when that state stands for,
 * `baseTick` its tick, `lag` the estimated delay between pressing and the server applying
 * (learned from acknowledgements; null before the first), `over` once the state has ended.
 */
export function prediction() {
  return { pending: [], base: null, baseAt: 0, baseTick: null, lag: null, over: false };
}

/** `pred` with own input `input` (`{n, dx, dy}`) made at time `at`. */
export function pressed(pred, input, at) {
  const pending = [...pred.pending, { n: input.n, dx: input.dx, dy: input.dy, at }];
  return { ...pred, pending: pending.slice(-MAX_PENDING) };
}

/**
 * `pred` reconciled with the authoritative `state` (standing for time `at`): own player `me`
 * becomes the base, the inputs it has applied (`n <= last_n`) are dropped, and when this
 * state is the one that first applied an input (the tick right after the previous base) the
 * lag estimate learns from it: the state holds one tick of that input's movement.
 */
export function reconcile(game, pred, state, me, at) {
  const p = state.players.find((q) => q.id === me) || null;
  if (!p) return { ...pred, base: null, baseAt: at, baseTick: state.tick, over: isOver(game, state) };
  const acked = pred.pending.filter((i) => i.n <= p.last_n);
  const pending = pred.pending.filter((i) => i.n > p.last_n);
  let { lag } = pred;
  const newest = acked[acked.length - 1];
  if (newest && pred.baseTick !== null && state.tick === pred.baseTick + 1) {
    const sample = at - newest.at - tickMs(game);
    lag = Math.max(0, Math.min(1000, lag === null ? sample : lag + (sample - lag) * 0.3));
  }
  return { pending, base: p, baseAt: at, baseTick: state.tick, lag, over: isOver(game, state) };
}

/**
 * Where own player stands at time `now`: the base, moved from the moment it stands for in
 * the client's time (`baseAt - lag`) with its direction, each pending input turning it at
 * the time it was pressed (or at that moment, when it was pressed before yet is still not
 * applied: late or lost, so the guess stays within a lag of the server). Returns the
 * predicted player (x, y may be fractional), or null without a base.
 */
export function predict(game, pred, now) {
  if (!pred.base) return null;
  if (pred.over) return pred.base;
  const end = Math.min(now, pred.baseAt + MAX_AHEAD_MS);
  let p = pred.base;
  let t = pred.baseAt - (pred.lag === null ? DEFAULT_LAG_MS : pred.lag);
  for (const i of pred.pending) {
    if (i.at > t && t < end) {
      p = advance(game, p, Math.min(i.at, end) - t);
      t = i.at;
    }
    p = { ...p, dx: i.dx, dy: i.dy };
  }
  if (end > t) p = advance(game, p, end - t);
  return p;
}

// ── a visual correction that fades ───────────────────────────────────────────────────

/** Beyond this distance a correction snaps instead of gliding (a bump, a takeover). */
export const SNAP_DISTANCE = 48;

/**
 * The drawn offset after a reconciliation moved the prediction from `before` to `after`
 * (both `{x, y}`, at the same moment): the old offset plus the jump, so the drawn disc does
 * not move this frame; zero when the jump is too big to glide.
 */
export function corrected(offset, before, after) {
  if (!before || !after) return { x: 0, y: 0 };
  const x = offset.x + before.x - after.x;
  const y = offset.y + before.y - after.y;
  return Math.hypot(x, y) > SNAP_DISTANCE ? { x: 0, y: 0 } : { x, y };
}

/** What is left of `offset` after `ms` (time constant `tau` ms; zero once under 0.05 units). */
export function faded(offset, ms, tau = 80) {
  const k = Math.exp(-Math.max(0, ms) / tau);
  const x = offset.x * k;
  const y = offset.y * k;
  return Math.hypot(x, y) < 0.05 ? { x: 0, y: 0 } : { x, y };
}

// ── interpolation of the others ──────────────────────────────────────────────────────

/** How far behind the others are drawn. */
export const INTERP_DELAY_MS = 100;
/** Most snapshots kept. */
export const MAX_SNAPSHOTS = 30;

/**
 * A clock turning a broadcast's tick number into the local time it stands for:
 * `seq × tick + offset`, the offset being the earliest arrival seen (a late packet does not
 * drag the timeline) that drifts slowly up when every arrival is later. Returns
 * `{clock, at}`; start with `{offset: null}`.
 */
export function stamp(clock, seq, dt, recvAt) {
  const sample = recvAt - seq * dt;
  let offset;
  if (clock.offset === null || sample < clock.offset || sample - clock.offset > 1000) offset = sample;
  else offset = clock.offset + (sample - clock.offset) * 0.1;
  return { clock: { offset }, at: seq * dt + offset };
}

/**
 * `buffer` (an array of snapshots, oldest first) with `state` of tick `seq` standing for time
 * `at`: each player's `{x, y, daze, out, score}`. An older or repeated tick is ignored; times
 * only grow; at most `max` snapshots are kept.
 */
export function pushSnapshot(buffer, seq, at, state, max = MAX_SNAPSHOTS) {
  const last = buffer[buffer.length - 1];
  if (last && seq <= last.seq) return buffer;
  const players = {};
  for (const p of state.players) players[p.id] = { x: p.x, y: p.y, daze: p.daze, out: p.out, score: p.score };
  const snap = { seq, at: last ? Math.max(at, last.at + 1) : at, players };
  return [...buffer, snap].slice(-max);
}

/**
 * Every player's `{x, y, daze, out}` at time `renderAt` (now minus the delay): the straight
 * line between the two snapshots around it; before the first, the first; after the last,
 * the last (held, not guessed). Across a gap longer than `maxGapMs` (a paused room) it holds
 * the older snapshot, then jumps.
 */
export function interpolate(buffer, renderAt, maxGapMs = 300) {
  if (buffer.length === 0) return {};
  let a = buffer[0];
  let b = null;
  for (let i = buffer.length - 1; i >= 0; i--) {
    if (buffer[i].at <= renderAt) {
      a = buffer[i];
      b = buffer[i + 1] || null;
      break;
    }
  }
  const out = {};
  const f = b && b.at - a.at <= maxGapMs ? (renderAt - a.at) / (b.at - a.at) : 0;
  for (const [id, pa] of Object.entries(a.players)) {
    const pb = b && b.players[id];
    out[id] = pb
      ? { x: pa.x + (pb.x - pa.x) * f, y: pa.y + (pb.y - pa.y) * f, daze: f < 0.5 ? pa.daze : pb.daze, out: pa.out }
      : { x: pa.x, y: pa.y, daze: pa.daze, out: pa.out };
  }
  if (b) for (const [id, pb] of Object.entries(b.players)) if (!out[id]) out[id] = { x: pb.x, y: pb.y, daze: pb.daze, out: pb.out };
  return out;
}

// ── input ────────────────────────────────────────────────────────────────────────────

/** The direction `{dx, dy}` (each -1, 0 or 1) of a set of held directions ("left", "up", …). */
export function direction(held) {
  const has = (d) => (held.has ? held.has(d) : held.includes(d));
  return {
    dx: (has("right") ? 1 : 0) - (has("left") ? 1 : 0),
    dy: (has("down") ? 1 : 0) - (has("up") ? 1 : 0),
  };
}
