//! The rules of `games/arena.js` (Coin arena) in Rust, step for step: the same f64
//! arithmetic in the same order (`Math.round`, `Math.SQRT1_2`, the walls), the same
//! seeded generator (mulberry32 on u32), the same loops in the same order (who takes a
//! coin, who bumps whom), the same refusals with the same messages, and the state written
//! out with the keys in the order the JavaScript path broadcasts them (alphabetical, as a
//! state that crossed from JSON has them). It is used only for the file it was written
//! against (see [`super::ARENA_SHA256`]); `tests/native_arena.rs` folds random inputs
//! through both and compares every tick.
//!
//! Numbers are kept as `f64` where the JavaScript keeps a number, so even odd but legal
//! inputs (`"n": 1e300`, `"dx": -0`) end the same way.

use crate::game::{Player, Refusal, RefusalCode};
use serde_json::Value;

/// The field and the rules' numbers (`ARENA` in the file).
pub(crate) mod rules {
    /// Width of the field.
    pub const WIDTH: f64 = 640.0;
    /// Height of the field.
    pub const HEIGHT: f64 = 360.0;
    /// A player's disc.
    pub const RADIUS: f64 = 12.0;
    /// A coin is taken within this distance of a player's centre.
    pub const REACH: f64 = 20.0;
    /// Units per second.
    pub const SPEED: f64 = 160.0;
    /// Coins on the field at once.
    pub const COINS: usize = 3;
    /// Coins to win.
    pub const GOAL: f64 = 10.0;
    /// The round's length.
    pub const LENGTH_MS: f64 = 60000.0;
    /// After a bump.
    pub const DAZE_MS: f64 = 500.0;
}
use rules::*;

/// One player (`{daze, dx, dy, id, last_n, out, score, skin, x, y}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Seat {
    /// Ms left dazed after a bump.
    pub daze: f64,
    /// The direction held.
    pub dx: f64,
    /// The direction held.
    pub dy: f64,
    /// The user id.
    pub id: String,
    /// The number of the last input applied (-1: none).
    pub last_n: f64,
    /// Whether the player left.
    pub out: bool,
    /// Coins held.
    pub score: f64,
    /// The store good shown, if any.
    pub skin: Option<String>,
    /// Where the disc's centre is.
    pub x: f64,
    /// Where the disc's centre is.
    pub y: f64,
}

/// A room's state (`{coins, draw, players, rng, tick, time_ms, winner}`).
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The coins on the field, `[x, y]`.
    pub coins: Vec<[f64; 2]>,
    /// Whether it ended in a draw.
    pub draw: bool,
    /// The players, in seat order.
    pub players: Vec<Seat>,
    /// The generator's state (a u32 in the JavaScript number).
    pub rng: f64,
    /// Steps taken.
    pub tick: f64,
    /// Ms left in the round.
    pub time_ms: f64,
    /// The winner's id, once there is one.
    pub winner: Option<String>,
}

/// What a state could not be read as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an arena state without a usable `{0}`")]
pub struct Unreadable(pub &'static str);

/// An event of the arena: what `command`, `tick` and the rooms worker make.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `{type:"steer", player, n, dx, dy}`.
    Steer {
        /// Who.
        player: String,
        /// The input's number.
        n: f64,
        /// The direction.
        dx: f64,
        /// The direction.
        dy: f64,
    },
    /// `{type:"step", dt_ms}`.
    Step(f64),
    /// `{type:"forfeit", player, reason}`.
    Forfeit(String),
    /// Any other type: changes nothing.
    Other,
}

/// `Math.round`: the nearest integer, halves towards +∞.
fn round(v: f64) -> f64 {
    let down = v.floor();
    if v - down >= 0.5 { down + 1.0 } else { down }
}

/// A u32 from the generator (mulberry32): `(value, next rng)`.
fn draw(rng: f64) -> (u32, f64) {
    let next = (rng as u64 as u32).wrapping_add(0x6d2b_79f5);
    let mut t = next;
    t = (t ^ (t >> 15)).wrapping_mul(t | 1);
    t ^= t.wrapping_add((t ^ (t >> 7)).wrapping_mul(t | 61));
    (t ^ (t >> 14), f64::from(next))
}

/// A coin at a random place inside the walls: `([x, y], next rng)`.
fn coin_at(rng: f64) -> ([f64; 2], f64) {
    let m = RADIUS;
    let (a, r1) = draw(rng);
    let (b, r2) = draw(r1);
    let x = m + f64::from(a % (WIDTH - 2.0 * m) as u32);
    let y = m + f64::from(b % (HEIGHT - 2.0 * m) as u32);
    ([x, y], r2)
}

/// `init(players, seed)`.
pub fn init(players: &[Player], seed: u32) -> State {
    let mut rng = f64::from(seed);
    let mut coins = Vec::with_capacity(COINS);
    for _ in 0..COINS {
        let (coin, next) = coin_at(rng);
        coins.push(coin);
        rng = next;
    }
    let n = players.len() as f64;
    let players = players
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let angle = (2.0 * std::f64::consts::PI * i as f64) / n;
            Seat {
                id: p.id.clone(),
                x: round(WIDTH / 2.0 + 120.0 * angle.cos()),
                y: round(HEIGHT / 2.0 + 120.0 * angle.sin()),
                dx: 0.0,
                dy: 0.0,
                score: 0.0,
                last_n: -1.0,
                daze: 0.0,
                skin: p.skin.clone(),
                out: false,
            }
        })
        .collect();
    State {
        tick: 0.0,
        time_ms: LENGTH_MS,
        players,
        coins,
        rng,
        winner: None,
        draw: false,
    }
}

/// Whether the game has ended.
pub fn over(state: &State) -> bool {
    state.winner.is_some() || state.draw
}

fn refuse(code: RefusalCode, message: &str) -> Result<Event, Refusal> {
    Err(Refusal {
        code,
        message: message.into(),
    })
}

/// `-1`, `0` or `1` (`-0` too, as `===` sees it).
fn direction(v: Option<&Value>) -> Option<f64> {
    let d = v?.as_f64()?;
    (d == -1.0 || d == 0.0 || d == 1.0).then_some(d)
}

/// `command(state, player, input)`: a steer event, or why not.
pub fn command(state: &State, player: &str, input: &Value) -> Result<Event, Refusal> {
    let Some(me) = state.players.iter().find(|p| p.id == player) else {
        return refuse(RefusalCode::Forbidden, "you do not play in this room");
    };
    if over(state) || me.out {
        return refuse(RefusalCode::Conflict, "you are out of the game");
    }
    let input = input.as_object();
    let n = input.and_then(|i| i.get("n")).and_then(Value::as_f64);
    let dx = direction(input.and_then(|i| i.get("dx")));
    let dy = direction(input.and_then(|i| i.get("dy")));
    let (Some(n), Some(dx), Some(dy)) = (n, dx, dy) else {
        return refuse(RefusalCode::BadRequest, BAD_INPUT);
    };
    if n.trunc() != n || n < 0.0 {
        return refuse(RefusalCode::BadRequest, BAD_INPUT);
    }
    if n <= me.last_n {
        return refuse(RefusalCode::Conflict, "an input older than one applied");
    }
    Ok(Event::Steer {
        player: player.to_string(),
        n,
        dx,
        dy,
    })
}

/// The refusal of a malformed input.
const BAD_INPUT: &str = r#"send {"n": <whole number>, "dx": -1|0|1, "dy": -1|0|1}"#;

/// `tick(state, dt_ms)`: one step, unless the game is over.
pub fn tick(state: &State, dt_ms: u32) -> Option<Event> {
    (!over(state)).then_some(Event::Step(f64::from(dt_ms)))
}

/// `apply(state, event)`, in place.
pub fn apply(state: &mut State, event: &Event) {
    match event {
        Event::Steer { player, n, dx, dy } => {
            for p in state.players.iter_mut().filter(|p| p.id == *player) {
                p.dx = *dx;
                p.dy = *dy;
                p.last_n = *n;
            }
        }
        Event::Step(dt_ms) => {
            if !over(state) {
                step(state, *dt_ms);
            }
        }
        Event::Forfeit(player) => {
            if over(state) {
                return;
            }
            for p in state.players.iter_mut().filter(|p| p.id == *player) {
                p.out = true;
                p.dx = 0.0;
                p.dy = 0.0;
            }
            let mut left = state.players.iter().filter(|p| !p.out);
            state.winner = match (left.next(), left.next()) {
                (Some(only), None) => Some(only.id.clone()),
                _ => None,
            };
        }
        Event::Other => {}
    }
}

/// `v` rounded and kept a disc's radius inside `0..hi`.
fn clamp(v: f64, hi: f64) -> f64 {
    (hi - RADIUS).min(RADIUS.max(round(v)))
}

/// Where `p` is after `dt_ms` (the walls stop it).
fn moved(p: &Seat, dt_ms: f64) -> (f64, f64) {
    if p.out || p.daze > 0.0 || (p.dx == 0.0 && p.dy == 0.0) {
        return (p.x, p.y);
    }
    let diagonal = if p.dx != 0.0 && p.dy != 0.0 {
        std::f64::consts::FRAC_1_SQRT_2
    } else {
        1.0
    };
    let d = (SPEED * dt_ms * diagonal) / 1000.0;
    (clamp(p.x + p.dx * d, WIDTH), clamp(p.y + p.dy * d, HEIGHT))
}

/// Whether `p` is within `within` of `x, y`.
fn near(p: &Seat, x: f64, y: f64, within: f64) -> bool {
    let dx = p.x - x;
    let dy = p.y - y;
    dx * dx + dy * dy <= within * within
}

/// One step: moves, coins taken (seat order decides a tie), bumps, the clock, the end.
fn step(state: &mut State, dt_ms: f64) {
    for p in &mut state.players {
        let (x, y) = moved(p, dt_ms);
        p.x = x;
        p.y = y;
        p.daze = 0f64.max(p.daze - dt_ms);
    }
    let mut rng = state.rng;
    for coin in &mut state.coins {
        let taker = state
            .players
            .iter_mut()
            .find(|p| !p.out && near(p, coin[0], coin[1], REACH));
        let Some(taker) = taker else {
            continue;
        };
        taker.score += 1.0;
        let (fresh, next) = coin_at(rng);
        *coin = fresh;
        rng = next;
    }
    state.rng = rng;
    bumps(&mut state.players);
    state.time_ms = 0f64.max(state.time_ms - dt_ms);
    state.tick += 1.0;
    let (winner, draw) = result(&state.players, state.time_ms);
    state.winner = winner;
    state.draw = draw;
}

/// Two players touching: the one with fewer coins steals one; both are dazed.
fn bumps(players: &mut [Seat]) {
    for i in 0..players.len() {
        for j in 0..players.len() {
            let (a, b) = (&players[i], &players[j]);
            if i == j || a.out || b.out || a.daze > 0.0 || b.daze > 0.0 {
                continue;
            }
            if !near(a, b.x, b.y, 2.0 * RADIUS) || a.score >= b.score {
                continue;
            }
            players[i].score += 1.0;
            players[j].score -= 1.0;
            players[i].daze = DAZE_MS;
            players[j].daze = DAZE_MS;
        }
    }
}

/// `(winner, draw)` once a goal is reached or the time is up.
fn result(players: &[Seat], time_ms: f64) -> (Option<String>, bool) {
    let mut best = f64::NEG_INFINITY;
    let mut leader: Option<&str> = None;
    let mut leaders = 0;
    for p in players.iter().filter(|p| !p.out) {
        if p.score > best {
            best = p.score;
            leader = Some(&p.id);
            leaders = 1;
        } else if p.score == best {
            leaders += 1;
        }
    }
    if best >= GOAL || time_ms == 0.0 {
        return if leaders == 1 {
            (leader.map(str::to_string), false)
        } else {
            (None, true)
        };
    }
    (None, false)
}

/// An event read from JSON (`None`: not an object with a `type`, or a known type without
/// its fields).
pub fn event_of(event: &Value) -> Option<Event> {
    let str_of = |k: &str| event.get(k).and_then(Value::as_str).map(str::to_string);
    let num_of = |k: &str| event.get(k).and_then(Value::as_f64);
    Some(match event.get("type").and_then(Value::as_str) {
        Some("steer") => Event::Steer {
            player: str_of("player")?,
            n: num_of("n")?,
            dx: num_of("dx")?,
            dy: num_of("dy")?,
        },
        Some("step") => Event::Step(num_of("dt_ms")?),
        Some("forfeit") => Event::Forfeit(str_of("player")?),
        _ => Event::Other,
    })
}

impl State {
    /// A state read from its JSON (as a snapshot or `init` made it).
    pub fn from_json(v: &Value) -> Result<State, Unreadable> {
        let num = |v: &Value, k: &'static str| v.get(k).and_then(Value::as_f64).ok_or(Unreadable(k));
        let boolean = |v: &Value, k: &'static str| v.get(k).and_then(Value::as_bool).ok_or(Unreadable(k));
        let text = |v: &Value, k: &'static str| match v.get(k) {
            Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            _ => Err(Unreadable(k)),
        };
        let coins = v
            .get("coins")
            .and_then(Value::as_array)
            .ok_or(Unreadable("coins"))?
            .iter()
            .map(|c| match c.as_array().map(Vec::as_slice) {
                Some([x, y]) => Ok([
                    x.as_f64().ok_or(Unreadable("coins"))?,
                    y.as_f64().ok_or(Unreadable("coins"))?,
                ]),
                _ => Err(Unreadable("coins")),
            })
            .collect::<Result<_, _>>()?;
        let players = v
            .get("players")
            .and_then(Value::as_array)
            .ok_or(Unreadable("players"))?
            .iter()
            .map(|p| {
                Ok(Seat {
                    daze: num(p, "daze")?,
                    dx: num(p, "dx")?,
                    dy: num(p, "dy")?,
                    id: text(p, "id")?.ok_or(Unreadable("id"))?,
                    last_n: num(p, "last_n")?,
                    out: boolean(p, "out")?,
                    score: num(p, "score")?,
                    skin: text(p, "skin")?,
                    x: num(p, "x")?,
                    y: num(p, "y")?,
                })
            })
            .collect::<Result<_, Unreadable>>()?;
        Ok(State {
            coins,
            draw: boolean(v, "draw")?,
            players,
            rng: num(v, "rng")?,
            tick: num(v, "tick")?,
            time_ms: num(v, "time_ms")?,
            winner: text(v, "winner")?,
        })
    }
}

/// Writing a state out as the JavaScript path does ([`crate::encode`]): keys in
/// alphabetical order, whole numbers without a fraction.
impl State {
    /// Appends the state as JSON to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"coins\":[");
        for (i, [x, y]) in self.coins.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            number(*x, out);
            out.push(b',');
            number(*y, out);
            out.push(b']');
        }
        out.extend_from_slice(b"],\"draw\":");
        boolean(self.draw, out);
        out.extend_from_slice(b",\"players\":[");
        for (i, p) in self.players.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"daze\":");
            number(p.daze, out);
            out.extend_from_slice(b",\"dx\":");
            number(p.dx, out);
            out.extend_from_slice(b",\"dy\":");
            number(p.dy, out);
            out.extend_from_slice(b",\"id\":");
            string(&p.id, out);
            out.extend_from_slice(b",\"last_n\":");
            number(p.last_n, out);
            out.extend_from_slice(b",\"out\":");
            boolean(p.out, out);
            out.extend_from_slice(b",\"score\":");
            number(p.score, out);
            out.extend_from_slice(b",\"skin\":");
            optional(p.skin.as_deref(), out);
            out.extend_from_slice(b",\"x\":");
            number(p.x, out);
            out.extend_from_slice(b",\"y\":");
            number(p.y, out);
            out.push(b'}');
        }
        out.extend_from_slice(b"],\"rng\":");
        number(self.rng, out);
        out.extend_from_slice(b",\"tick\":");
        number(self.tick, out);
        out.extend_from_slice(b",\"time_ms\":");
        number(self.time_ms, out);
        out.extend_from_slice(b",\"winner\":");
        optional(self.winner.as_deref(), out);
        out.push(b'}');
    }

    /// The state as JSON.
    pub fn to_value(&self) -> Value {
        let mut out = Vec::with_capacity(512);
        self.write_json(&mut out);
        serde_json::from_slice(&out).expect("a written state parses")
    }
}

impl Event {
    /// The event as JSON, as the file's `command` and `tick` return it.
    pub fn to_value(&self) -> Value {
        let mut out = Vec::with_capacity(96);
        match self {
            Event::Steer { player, n, dx, dy } => {
                out.extend_from_slice(b"{\"type\":\"steer\",\"player\":");
                string(player, &mut out);
                out.extend_from_slice(b",\"n\":");
                number(*n, &mut out);
                out.extend_from_slice(b",\"dx\":");
                number(*dx, &mut out);
                out.extend_from_slice(b",\"dy\":");
                number(*dy, &mut out);
                out.push(b'}');
            }
            Event::Step(dt_ms) => {
                out.extend_from_slice(b"{\"type\":\"step\",\"dt_ms\":");
                number(*dt_ms, &mut out);
                out.push(b'}');
            }
            Event::Forfeit(player) => {
                out.extend_from_slice(b"{\"type\":\"forfeit\",\"player\":");
                string(player, &mut out);
                out.extend_from_slice(b",\"reason\":\"left\"}");
            }
            Event::Other => out.extend_from_slice(b"{}"),
        }
        serde_json::from_slice(&out).expect("a written event parses")
    }
}

/// A number as [`crate::encode`] writes one.
fn number(f: f64, out: &mut Vec<u8>) {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        out.extend_from_slice(itoa::Buffer::new().format(f as i64).as_bytes());
    } else {
        crate::encode::number(f, out);
    }
}

fn boolean(b: bool, out: &mut Vec<u8>) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

fn string(s: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

fn optional(s: Option<&str>, out: &mut Vec<u8>) {
    match s {
        Some(s) => string(s, out),
        None => out.extend_from_slice(b"null"),
    }
}
