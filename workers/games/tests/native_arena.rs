//! The native Coin arena against `games/arena.js`: random seeded rooms (2-8 players,
//! skins or none) fed random inputs (good ones, malformed ones, stale ones, from strangers)
//! and forfeits, folded through both the file in QuickJS and the Rust rules, must give the
//! same state at every tick: the same bytes written out, the same JSON, the same refusals,
//! the same outcome. The run also counts that every rule fired (coins taken, bumps, walls,
//! forfeits, wins by goal, by forfeit, by time, draws), so a rule that diverges is met.

use chorus_games::native::{self, NativeArena};
use chorus_games::{Game, JsGame, Limits, LiveGame, Player, Verdict, outcome};
use serde_json::{Value, json};
use std::path::PathBuf;

fn arena_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../games/arena.js")
}

fn js() -> JsGame {
    JsGame::load(&arena_file(), Limits::default()).expect("arena.js loads")
}

fn rust(js: &JsGame) -> NativeArena {
    NativeArena::new(js.id().to_string(), js.meta().clone())
}

/// A small seeded generator for the test's own choices (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn players(rng: &mut Rng) -> Vec<Player> {
    let skins = [None, Some("skin-red"), Some("skin-\"quoted\""), Some("skin-ünï")];
    (0..2 + rng.below(7))
        .map(|i| Player {
            id: format!("u{i}"),
            name: format!("U{i}"),
            skin: skins[rng.below(4) as usize].map(str::to_string),
        })
        .collect()
}

/// The direction from `from` towards `to`: -1, 0 or 1.
fn towards(from: &Value, to: &Value) -> i64 {
    let d = to.as_f64().unwrap() - from.as_f64().unwrap();
    if d.abs() < 4.0 { 0 } else { d.signum() as i64 }
}

/// An input from someone: mostly good steers (with growing numbers; half of them towards
/// a coin of `state`, so that games are won), sometimes malformed, stale, odd but legal,
/// or from a stranger.
fn input(rng: &mut Rng, n: &mut i64, seats: usize, state: &Value) -> (String, Value) {
    let seat = rng.below(seats as u64) as usize;
    let who = if rng.below(40) == 0 {
        "stranger".to_string()
    } else {
        format!("u{seat}")
    };
    let dir = |r: &mut Rng| r.below(3) as i64 - 1;
    *n += 1 + rng.below(3) as i64;
    let (me, coin) = (&state["players"][seat], &state["coins"][0]);
    let input = match rng.below(30) {
        12..=26 if seat.is_multiple_of(2) => {
            json!({"n": *n, "dx": towards(&me["x"], &coin[0]), "dy": towards(&me["y"], &coin[1])})
        }
        0 => json!({"n": *n, "dx": 2, "dy": 0}),
        1 => json!({"n": 1.5, "dx": 1, "dy": 0}),
        2 => json!({"n": -1, "dx": 1, "dy": 0}),
        3 => json!({"dx": 1, "dy": 0}),
        4 => json!(null),
        5 => json!("steer"),
        6 => json!([1, 0]),
        7 => json!({"n": 0, "dx": 1, "dy": 1}),
        8 => json!({"n": *n as f64, "dx": -1.0, "dy": 1.0}),
        9 => json!({"n": "7", "dx": 1, "dy": 0}),
        10 => json!({"n": *n, "dx": true, "dy": 0}),
        _ => json!({"n": *n, "dx": dir(rng), "dy": dir(rng)}),
    };
    (who, input)
}

/// What the run met, so that a rule nobody exercised cannot hide a divergence.
#[derive(Default, Debug)]
struct Seen {
    coins: u64,
    bumps: u64,
    walls: u64,
    refusals: u64,
    forfeits: u64,
    goal_wins: u64,
    forfeit_wins: u64,
    time_ends: u64,
    draws: u64,
}

fn note(seen: &mut Seen, before: &Value, after: &Value) {
    let (b, a) = (&before["players"], &after["players"]);
    for (p, q) in b.as_array().unwrap().iter().zip(a.as_array().unwrap()) {
        if q["daze"] == 500 && p["daze"] != 500 {
            seen.bumps += 1;
        }
        let x = q["x"].as_f64().unwrap();
        if (x == 12.0 || x == 628.0) && p["x"] != q["x"] {
            seen.walls += 1;
        }
        if q["out"] == true && p["out"] == false {
            seen.forfeits += 1;
        }
    }
    if before["rng"] != after["rng"] {
        seen.coins += 1;
    }
}

fn ended(seen: &mut Seen, state: &Value) {
    let scores: Vec<f64> = state["players"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["score"].as_f64().unwrap())
        .collect();
    if state["time_ms"] == 0 {
        seen.time_ends += 1;
    }
    if state["draw"] == true {
        seen.draws += 1;
    } else if scores.iter().any(|s| *s >= 10.0) {
        seen.goal_wins += 1;
    } else if state["time_ms"] != 0 {
        seen.forfeit_wins += 1;
    }
}

/// One room folded through both engines' live paths for up to `ticks` ticks; every tick's
/// written state compared byte for byte and as JSON.
fn one_room(js: &JsGame, rust: &NativeArena, seed: u64, ticks: u32, seen: &mut Seen) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let players = players(&mut rng);
    let room_seed = rng.next() as u32;
    let start = js.init(&players, room_seed).unwrap();
    assert_eq!(
        rust.init(&players, room_seed).unwrap(),
        start,
        "init, seed {room_seed}"
    );
    let (a, b) = (
        LiveGame::live_insert(js, &start).unwrap(),
        rust.live_insert(&start).unwrap(),
    );
    let (mut n, mut before) = (0i64, start);
    let (mut out_js, mut out_rust) = (Vec::new(), Vec::new());
    for t in 1..=ticks {
        for _ in 0..rng.below(3) {
            let (who, input) = input(&mut rng, &mut n, players.len(), &before);
            let verdict = LiveGame::live_command(js, &a, &who, &input).unwrap();
            assert_eq!(
                rust.live_command(&b, &who, &input).unwrap(),
                verdict,
                "tick {t}: {who} sent {input}"
            );
            seen.refusals += u64::from(verdict.is_some());
        }
        if rng.below(400) == 0 {
            let forfeit =
                [json!({"type": "forfeit", "player": format!("u{}", rng.below(8)), "reason": "left"})];
            LiveGame::live_apply(js, &a, &forfeit).unwrap();
            rust.live_apply(&b, &forfeit).unwrap();
        }
        LiveGame::live_tick(js, &a, 50).unwrap();
        rust.live_tick(&b, 50).unwrap();
        out_js.clear();
        out_rust.clear();
        let over = LiveGame::live_encode(js, &a, &mut out_js).unwrap();
        assert_eq!(rust.live_encode(&b, &mut out_rust).unwrap(), over, "tick {t}");
        assert_eq!(
            String::from_utf8_lossy(&out_rust),
            String::from_utf8_lossy(&out_js),
            "tick {t} of seed {seed}"
        );
        let state: Value = serde_json::from_slice(&out_js).unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&out_rust).unwrap(), state);
        assert_eq!(rust.live_value(&b).unwrap(), state);
        note(seen, &before, &state);
        before = state;
        if over.is_some() {
            ended(seen, &before);
            break;
        }
    }
    LiveGame::live_remove(js, a);
    rust.live_remove(b);
}

#[test]
fn the_native_arena_folds_random_rooms_exactly_as_arena_js() {
    let js = js();
    let rust = rust(&js);
    let mut seen = Seen::default();
    for seed in 0..40 {
        // Some rooms run past the round's 60 s, to end on time.
        let ticks = if seed % 5 == 0 { 1250 } else { 500 };
        one_room(&js, &rust, seed, ticks, &mut seen);
    }
    println!("{seen:?}");
    assert!(seen.coins > 100 && seen.bumps > 10 && seen.walls > 10, "{seen:?}");
    assert!(seen.refusals > 100 && seen.forfeits > 5, "{seen:?}");
    assert!(
        seen.goal_wins > 0 && seen.forfeit_wins > 0 && seen.time_ends > 0,
        "{seen:?}"
    );
    assert!(seen.draws > 0, "{seen:?}");
}

#[test]
fn the_plain_calls_agree_too() {
    let js = js();
    let rust = rust(&js);
    let mut rng = Rng(7);
    for round in 0..8 {
        let players = players(&mut rng);
        let seed = rng.next() as u32;
        let (mut s_js, mut s_rust) = (
            js.init(&players, seed).unwrap(),
            rust.init(&players, seed).unwrap(),
        );
        let mut n = 0;
        for t in 0..150 {
            let (who, input) = input(&mut rng, &mut n, players.len(), &s_js);
            let verdict = js.command(&s_js, &who, &input).unwrap();
            assert_eq!(
                rust.command(&s_rust, &who, &input).unwrap(),
                verdict,
                "{round}/{t}: {input}"
            );
            if let Verdict::Events(events) = verdict {
                s_js = js.apply(s_js, &events).unwrap();
                s_rust = rust.apply(s_rust, &events).unwrap();
            }
            let made = js.tick(&s_js, 50).unwrap();
            assert_eq!(rust.tick(&s_rust, 50).unwrap(), made);
            s_js = js.apply(s_js, &made).unwrap();
            s_rust = rust.apply(s_rust, &made).unwrap();
            assert_eq!(s_rust, s_js, "{round}/{t}");
            assert_eq!(outcome(&s_rust), outcome(&s_js));
        }
    }
}

#[test]
fn the_native_rules_stand_in_only_for_the_file_they_reproduce() {
    let source = std::fs::read(arena_file()).unwrap();
    assert_eq!(native::for_file(&source), Some(native::Kind::Arena));
    let loaded = chorus_games::engine::load(&arena_file(), Limits::default()).unwrap();
    assert_eq!(loaded.implementation(), "native");
    assert_eq!(loaded.meta(), js().meta());

    // One changed byte (a faster player) and the file's own rules run.
    let dir = tempfile::tempdir().unwrap();
    let edited = String::from_utf8(source)
        .unwrap()
        .replace("speed: 160", "speed: 161");
    let file = dir.path().join("arena.js");
    std::fs::write(&file, edited).unwrap();
    let loaded = chorus_games::engine::load(&file, Limits::default()).unwrap();
    assert_eq!(loaded.implementation(), "javascript");
    let library = chorus_games::Library::load_dir(dir.path(), Limits::default());
    let game = library.get("arena").unwrap();
    let state = game
        .init(
            &[
                Player {
                    id: "a".into(),
                    name: "A".into(),
                    skin: None,
                },
                Player {
                    id: "b".into(),
                    name: "B".into(),
                    skin: None,
                },
            ],
            1,
        )
        .unwrap();
    let x0 = state["players"][0]["x"].as_f64().unwrap();
    let steered = match game
        .command(&state, "a", &json!({"n": 1, "dx": -1, "dy": 0}))
        .unwrap()
    {
        Verdict::Events(e) => game.apply(state, &e).unwrap(),
        Verdict::Refused(r) => panic!("{r:?}"),
    };
    let made = game.tick(&steered, 1000).unwrap();
    let moved = game.apply(steered, &made).unwrap();
    assert_eq!(
        moved["players"][0]["x"].as_f64().unwrap(),
        x0 - 161.0,
        "the edited file's speed"
    );
}
