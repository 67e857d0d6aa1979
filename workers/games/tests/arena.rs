//! `games/arena.js` through the engine, as the rooms worker runs it: movement and the
//! walls, coins scored, the last input number, refusals, a win, determinism given a seed,
//! the size of an 8-player state; and the live path (state kept in the engine, written out
//! from Rust) giving exactly what the plain calls give.

use chorus_games::{Game, JsGame, Limits, Player, RefusalCode, Verdict, outcome};
use serde_json::{Value, json};
use std::path::PathBuf;

fn arena() -> JsGame {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../games/arena.js");
    JsGame::load(&file, Limits::default()).expect("arena.js loads")
}

fn players(n: usize) -> Vec<Player> {
    (0..n)
        .map(|i| Player {
            id: format!("u{i}"),
            name: format!("U{i}"),
            skin: None,
        })
        .collect()
}

fn steer(game: &JsGame, state: Value, player: &str, n: i64, dx: i64, dy: i64) -> Value {
    match game
        .command(&state, player, &json!({"n": n, "dx": dx, "dy": dy}))
        .unwrap()
    {
        Verdict::Events(events) => game.apply(state, &events).unwrap(),
        Verdict::Refused(r) => panic!("refused: {r:?}"),
    }
}

fn tick(game: &JsGame, state: Value) -> Value {
    let events = game.tick(&state, 50).unwrap();
    game.apply(state, &events).unwrap()
}

fn player<'a>(state: &'a Value, id: &str) -> &'a Value {
    state["players"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap()
}

#[test]
fn meta_says_realtime_at_20_hz_for_2_to_8() {
    let game = arena();
    assert_eq!(game.meta().tick_hz, 20);
    assert_eq!((game.meta().players.min, game.meta().players.max), (2, 8));
    assert!(!game.hides());
}

#[test]
fn a_held_direction_moves_a_player_each_tick_and_the_walls_stop_it() {
    let game = arena();
    let mut state = game.init(&players(2), 7).unwrap();
    let (x0, y0) = (
        player(&state, "u0")["x"].clone(),
        player(&state, "u0")["y"].clone(),
    );
    state = steer(&game, state, "u0", 1, 1, 0);
    assert_eq!(
        player(&state, "u0")["x"],
        x0,
        "an input moves nobody before the tick"
    );
    state = tick(&game, state);
    assert_eq!(
        player(&state, "u0")["x"],
        x0.as_i64().unwrap() + 8,
        "160 units/s for 50 ms"
    );
    assert_eq!(player(&state, "u0")["y"], y0);
    assert_eq!(
        player(&state, "u1")["x"],
        player(&game.init(&players(2), 7).unwrap(), "u1")["x"]
    );
    for _ in 0..200 {
        state = tick(&game, state);
    }
    assert_eq!(player(&state, "u0")["x"], 640 - 12, "stopped by the east wall");
    state = steer(&game, state, "u0", 2, -1, -1);
    for _ in 0..200 {
        state = tick(&game, state);
    }
    assert_eq!(
        (
            player(&state, "u0")["x"].as_i64(),
            player(&state, "u0")["y"].as_i64()
        ),
        (Some(12), Some(12))
    );
    assert_eq!(state["tick"], 401);
}

#[test]
fn the_last_input_number_is_kept_and_older_inputs_are_refused() {
    let game = arena();
    let mut state = game.init(&players(2), 1).unwrap();
    assert_eq!(player(&state, "u1")["last_n"], -1);
    state = steer(&game, state, "u1", 5, 0, 1);
    assert_eq!(player(&state, "u1")["last_n"], 5);
    let refused = |input: Value, who: &str| match game.command(&state, who, &input).unwrap() {
        Verdict::Refused(r) => r.code,
        Verdict::Events(e) => panic!("{input} accepted: {e:?}"),
    };
    assert_eq!(
        refused(json!({"n": 5, "dx": 1, "dy": 0}), "u1"),
        RefusalCode::Conflict
    );
    assert_eq!(
        refused(json!({"n": 6, "dx": 2, "dy": 0}), "u1"),
        RefusalCode::BadRequest
    );
    assert_eq!(refused(json!({"dx": 1, "dy": 0}), "u1"), RefusalCode::BadRequest);
    assert_eq!(
        refused(json!({"n": 9, "dx": 1, "dy": 0}), "eve"),
        RefusalCode::Forbidden
    );
}

#[test]
fn touching_a_coin_scores_it_and_a_new_one_appears_until_someone_wins() {
    let game = arena();
    let mut state = game.init(&players(2), 42).unwrap();
    // Teleport u0 onto each coin by rewriting the state, as a test may: the rules then score.
    for goal in 1..=10 {
        let coin = state["coins"][0].clone();
        let me = state["players"][0].as_object_mut().unwrap();
        me.insert("x".into(), coin[0].clone());
        me.insert("y".into(), coin[1].clone());
        state = tick(&game, state);
        assert_eq!(player(&state, "u0")["score"], goal);
        assert_eq!(state["coins"].as_array().unwrap().len(), 3);
        assert_ne!(state["coins"][0], coin, "a new coin elsewhere");
    }
    assert_eq!(state["winner"], "u0");
    assert_eq!(outcome(&state).unwrap().winner.as_deref(), Some("u0"));
    assert_eq!(
        game.tick(&state, 50).unwrap(),
        Vec::<Value>::new(),
        "a finished game stands still"
    );
}

#[test]
fn the_clock_ends_a_round_in_a_draw_when_nobody_leads_and_a_forfeit_ends_a_duel() {
    let game = arena();
    let mut state = game.init(&players(2), 3).unwrap();
    state["coins"] = json!([[0, 0], [0, 0], [0, 0]]); // out of everyone's reach
    for _ in 0..1200 {
        state = tick(&game, state);
    }
    assert_eq!(state["time_ms"], 0);
    assert_eq!(
        (state["draw"].clone(), state["winner"].clone()),
        (json!(true), Value::Null)
    );
    let state = game.init(&players(3), 3).unwrap();
    let forfeit = |s, p: &str| {
        game.apply(s, &[json!({"type": "forfeit", "player": p, "reason": "left"})])
            .unwrap()
    };
    let state = forfeit(state, "u0");
    assert_eq!(state["winner"], Value::Null, "two are still playing");
    assert_eq!(forfeit(state, "u2")["winner"], "u1");
}

#[test]
fn the_same_seed_and_inputs_give_the_same_game_and_another_seed_another() {
    let game = arena();
    let run = |seed| {
        let mut state = game.init(&players(4), seed).unwrap();
        for t in 0..300i64 {
            if t % 7 == 0 {
                state = steer(
                    &game,
                    state,
                    &format!("u{}", t % 4),
                    t,
                    (t % 3) - 1,
                    ((t / 3) % 3) - 1,
                );
            }
            state = tick(&game, state);
        }
        state
    };
    assert_eq!(run(99), run(99));
    assert_ne!(run(99)["coins"], run(100)["coins"]);
}

#[test]
fn an_eight_player_state_stays_well_under_a_1500_byte_frame() {
    let game = arena();
    let mut many = players(8);
    for p in &mut many {
        p.id = format!("g-{:016x}", 0xfeed_0000_0000_0000u64 + p.id.len() as u64 * 977);
    }
    let mut state = game.init(&many, 5).unwrap();
    for (i, p) in many.iter().enumerate() {
        state = steer(&game, state, &p.id, 1_000_000 + i as i64, 1, -1);
    }
    let frame = json!({"seq": 123456, "state": state}).to_string();
    assert!(frame.len() < 1200, "{} bytes", frame.len());
}

#[test]
fn the_live_path_gives_what_the_plain_calls_give() {
    let game = arena();
    let mut plain = game.init(&players(3), 11).unwrap();
    let live = game.live_insert(&plain).unwrap();
    for t in 0..100i64 {
        if t % 5 == 0 {
            let input = json!({"n": t, "dx": 1, "dy": (t % 3) - 1});
            assert_eq!(game.live_command(&live, "u1", &input).unwrap(), None);
            plain = steer(&game, plain, "u1", t, 1, (t % 3) - 1);
        }
        game.live_tick(&live, 50).unwrap();
        plain = tick(&game, plain);
    }
    let refusal = game
        .live_command(&live, "u1", &json!({"n": 0, "dx": 0, "dy": 0}))
        .unwrap();
    assert_eq!(refusal.map(|r| r.code), Some(RefusalCode::Conflict));
    let mut out = Vec::new();
    assert_eq!(game.live_encode(&live, &mut out).unwrap(), None);
    let encoded: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(encoded, plain);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        plain.to_string(),
        "byte for byte"
    );
    assert_eq!(game.live_value(&live).unwrap(), plain);
    game.live_remove(live);
}

#[test]
fn a_live_tick_that_throws_fails_that_tick_alone() {
    let source = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../games/arena.js"),
    )
    .unwrap()
    .replace(
        "export function tick(state, dt_ms) {",
        "export function tick(state, dt_ms) {\n  if (state.players[0].dx === -1) throw new Error(\"boom\");",
    );
    let game = JsGame::from_source("arena".into(), "arena.js".as_ref(), &source, Limits::default()).unwrap();
    let live = game.live_insert(&game.init(&players(2), 1).unwrap()).unwrap();
    game.live_tick(&live, 50).unwrap();
    assert_eq!(game.live_value(&live).unwrap()["tick"], 1);
    game.live_command(&live, "u0", &json!({"n": 1, "dx": -1, "dy": 0}))
        .unwrap();
    assert!(game.live_tick(&live, 50).is_err());
    let state = game.live_value(&live).unwrap();
    assert_eq!(
        (state["tick"].clone(), player(&state, "u0")["last_n"].clone()),
        (json!(1), json!(1)),
        "the input stays, the tick did nothing"
    );
    game.live_command(&live, "u0", &json!({"n": 2, "dx": 1, "dy": 0}))
        .unwrap();
    game.live_tick(&live, 50).unwrap();
    assert_eq!(game.live_value(&live).unwrap()["tick"], 2, "the room goes on");
}
