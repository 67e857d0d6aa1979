// games/arena.js — Coin arena for Chorus: a realtime 2D game, 2–8 players.
//
// Everyone steers a disc around a walled field; coins appear at random (seeded) places;
// touching one scores it and a new one appears elsewhere. First to 10 coins wins; after
// 60 seconds the most coins wins (a tie for the most is a draw). Bumping into a player who
// holds more coins than you steals one of theirs (then you both are dazed for half a
// second, so it cannot be repeated at once).
//
// A plain ES module: the rooms worker runs it in a sandbox 20 times a second (no clock, no
// Math.random, no I/O), and the web app imports the very same file to predict its own
// moves. Every function is pure: it returns new values and never changes its arguments.
//
// Inputs:  {"n": <int >= 0>, "dx": -1|0|1, "dy": -1|0|1}
//          n numbers the player's inputs (each larger than the last); dx/dy is the direction
//          held from the next tick on (0,0 stands still).
// State:   {tick, time_ms, players:[{id, x, y, dx, dy, score, last_n, daze, skin, out}],
//           coins:[[x, y], …], rng, winner, draw}
//          last_n is the number of the last input applied, for a client to reconcile its
//          prediction; skin is the store good the player shows (from init, null if none).
// Events:  {"type":"steer","player","n","dx","dy"}, {"type":"step","dt_ms"} (what tick
//          makes), and the rooms worker's {"type":"forfeit","player","reason"}.

export const meta = {
  name: "Coin arena",
  players: { min: 2, max: 8 },
  tick_hz: 20,
};

/** The field and the rules' numbers, for the web app to draw and predict with. */
export const ARENA = {
  width: 640,
  height: 360,
  radius: 12, // a player's disc
  reach: 20, // a coin is taken within this distance of a player's centre
  speed: 160, // units per second, straight; diagonals are as fast
  coins: 3, // on the field at once
  goal: 10, // coins to win
  length_ms: 60000, // the round's length
  daze_ms: 500, // after a bump
};

/** A u32 from the generator `rng` (mulberry32): `[value, next rng]`. */
function draw(rng) {
  const next = (rng + 0x6d2b79f5) >>> 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [(t ^ (t >>> 14)) >>> 0, next];
}

/** A coin at a random place inside the walls: `[[x, y], next rng]`. */
function coinAt(rng) {
  const m = ARENA.radius;
  const [a, r1] = draw(rng);
  const [b, r2] = draw(r1);
  return [[m + (a % (ARENA.width - 2 * m)), m + (b % (ARENA.height - 2 * m))], r2];
}

/** The first state: players evenly round the field's centre, three coins. */
export function init(players, seed) {
  let rng = seed >>> 0;
  const coins = [];
  for (let i = 0; i < ARENA.coins; i++) {
    const [coin, next] = coinAt(rng);
    coins.push(coin);
    rng = next;
  }
  const n = players.length;
  return {
    tick: 0,
    time_ms: ARENA.length_ms,
    players: players.map((p, i) => ({
      id: p.id,
      x: Math.round(ARENA.width / 2 + 120 * Math.cos((2 * Math.PI * i) / n)),
      y: Math.round(ARENA.height / 2 + 120 * Math.sin((2 * Math.PI * i) / n)),
      dx: 0,
      dy: 0,
      score: 0,
      last_n: -1,
      daze: 0,
      skin: p.skin === undefined ? null : p.skin,
      out: false,
    })),
    coins,
    rng,
    winner: null,
    draw: false,
  };
}

const refuse = (code, message) => ({ error: { code, message } });
const isDir = (d) => d === -1 || d === 0 || d === 1;

/** Checks one input of `player`: a `steer` event, or why not. */
export function command(state, player, input) {
  const me = state.players.find((p) => p.id === player);
  if (!me) return refuse("forbidden", "you do not play in this room");
  if (over(state) || me.out) return refuse("conflict", "you are out of the game");
  if (!input || !Number.isInteger(input.n) || input.n < 0 || !isDir(input.dx) || !isDir(input.dy)) {
    return refuse("bad_request", 'send {"n": <whole number>, "dx": -1|0|1, "dy": -1|0|1}');
  }
  if (input.n <= me.last_n) return refuse("conflict", "an input older than one applied");
  return { events: [{ type: "steer", player, n: input.n, dx: input.dx, dy: input.dy }] };
}

/** What `dt_ms` of time makes: one step of the world. */
export function tick(state, dt_ms) {
  return over(state) ? [] : [{ type: "step", dt_ms }];
}

/** `state` after `event`. */
export function apply(state, event) {
  switch (event.type) {
    case "steer":
      return {
        ...state,
        players: state.players.map((p) =>
          p.id === event.player ? { ...p, dx: event.dx, dy: event.dy, last_n: event.n } : p,
        ),
      };
    case "step":
      return over(state) ? state : step(state, event.dt_ms);
    case "forfeit": {
      if (over(state)) return state;
      const players = state.players.map((p) =>
        p.id === event.player ? { ...p, out: true, dx: 0, dy: 0 } : p,
      );
      const left = players.filter((p) => !p.out);
      return { ...state, players, winner: left.length === 1 ? left[0].id : null };
    }
    default:
      return state;
  }
}

/** Whether the game has ended. */
export function over(state) {
  return state.winner !== null || state.draw;
}

/** Where a player holding `dx, dy` is after `dt_ms` (the walls stop it). */
export function moved(p, dt_ms) {
  if (p.out || p.daze > 0 || (p.dx === 0 && p.dy === 0)) return { x: p.x, y: p.y };
  const diagonal = p.dx !== 0 && p.dy !== 0 ? Math.SQRT1_2 : 1;
  const d = (ARENA.speed * dt_ms * diagonal) / 1000;
  return { x: clamp(p.x + p.dx * d, ARENA.width), y: clamp(p.y + p.dy * d, ARENA.height) };
}

/** `v` rounded and kept a disc's radius inside `0..hi`. */
function clamp(v, hi) {
  return Math.min(hi - ARENA.radius, Math.max(ARENA.radius, Math.round(v)));
}

/** One step: moves, coins taken (seat order decides a tie), bumps, the clock, the end.
 * Written with plain loops and object literals: it runs twenty times a second for every
 * room, and QuickJS makes `map`/`find` callbacks and `...` spreads cost several times more. */
function step(state, dt_ms) {
  const players = [];
  for (let i = 0; i < state.players.length; i++) {
    const p = state.players[i];
    const at = moved(p, dt_ms);
    players.push(placed(p, at.x, at.y, Math.max(0, p.daze - dt_ms)));
  }
  let { rng } = state;
  const coins = [];
  for (let c = 0; c < state.coins.length; c++) {
    const coin = state.coins[c];
    let taker = null;
    for (let i = 0; i < players.length && taker === null; i++) {
      if (!players[i].out && near(players[i], coin[0], coin[1], ARENA.reach)) taker = players[i];
    }
    if (taker === null) {
      coins.push(coin);
      continue;
    }
    taker.score += 1;
    const [fresh, next] = coinAt(rng);
    coins.push(fresh);
    rng = next;
  }
  bumps(players);
  const time_ms = Math.max(0, state.time_ms - dt_ms);
  const end = result(players, time_ms);
  // Keys in alphabetical order, as a state that crossed from JSON has them (the rooms
  // worker keeps it so), so a broadcast reads the same whichever way the state came.
  return { coins, draw: end.draw, players, rng, tick: state.tick + 1, time_ms, winner: end.winner };
}

/** A copy of player `p` (every field, keys in alphabetical order) at `x, y` with `daze`. */
function placed(p, x, y, daze) {
  return { daze, dx: p.dx, dy: p.dy, id: p.id, last_n: p.last_n, out: p.out, score: p.score, skin: p.skin, x, y };
}

/** Two players touching: the one with fewer coins steals one; both are dazed. */
function bumps(players) {
  for (let i = 0; i < players.length; i++) {
    const a = players[i];
    for (let j = 0; j < players.length; j++) {
      const b = players[j];
      if (a === b || a.out || b.out || a.daze > 0 || b.daze > 0) continue;
      if (!near(a, b.x, b.y, 2 * ARENA.radius) || a.score >= b.score) continue;
      a.score += 1;
      b.score -= 1;
      a.daze = b.daze = ARENA.daze_ms;
    }
  }
}

/** Whether `p` is within `within` of `x, y` (no array destructuring: QuickJS walks an
 * iterator for it, which costs more than the arithmetic). */
function near(p, x, y, within) {
  const dx = p.x - x;
  const dy = p.y - y;
  return dx * dx + dy * dy <= within * within;
}

/** `{winner, draw}` once a goal is reached or the time is up (`time_ms` left). */
function result(players, time_ms) {
  let best = -Infinity;
  let leader = null;
  let leaders = 0;
  for (let i = 0; i < players.length; i++) {
    const p = players[i];
    if (p.out) continue;
    if (p.score > best) {
      best = p.score;
      leader = p.id;
      leaders = 1;
    } else if (p.score === best) {
      leaders += 1;
    }
  }
  if (best >= ARENA.goal || time_ms === 0) {
    return leaders === 1 ? { winner: leader, draw: false } : { winner: null, draw: true };
  }
  return { winner: null, draw: false };
}
