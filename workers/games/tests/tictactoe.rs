//! `games/tictactoe.js` through the sandbox, as the rooms worker runs it: legal and illegal
//! moves, a win, a draw, a takeback by agreement, a forfeit.

use chorus_games::{Game, JsGame, Limits, Player, RefusalCode, Verdict, outcome};
use serde_json::{Value, json};
use std::path::PathBuf;

fn tictactoe() -> JsGame {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../games/tictactoe.js");
    JsGame::load(&file, Limits::default()).expect("tictactoe.js loads")
}

fn players() -> Vec<Player> {
    ["ann", "bob"]
        .map(|id| Player {
            id: id.into(),
            name: id.to_uppercase(),
            skin: None,
        })
        .to_vec()
}

/// Plays `input` as `player`: the events, folded into the state; panics on a refusal.
fn play(game: &JsGame, state: Value, player: &str, input: Value) -> Value {
    match game.command(&state, player, &input).unwrap() {
        Verdict::Events(events) => game.apply(state, &events).unwrap(),
        Verdict::Refused(r) => panic!("{input} by {player} refused: {r:?}"),
    }
}

fn refused(game: &JsGame, state: &Value, player: &str, input: Value) -> RefusalCode {
    match game.command(state, player, &input).unwrap() {
        Verdict::Refused(r) => r.code,
        Verdict::Events(e) => panic!("{input} by {player} accepted: {e:?}"),
    }
}

#[test]
fn meta_and_the_first_state() {
    let game = tictactoe();
    assert_eq!(game.id(), "tictactoe");
    assert_eq!(game.meta().players.min, 2);
    assert_eq!(game.meta().tick_hz, 0);
    let state = game.init(&players(), 7).unwrap();
    assert_eq!(
        state["board"],
        json!([null, null, null, null, null, null, null, null, null])
    );
    assert_eq!(state["turn"], "ann");
    assert_eq!(state["winner"], Value::Null);
    assert_eq!(state["draw"], false);
    assert!(outcome(&state).is_none());
}

#[test]
fn x_wins_a_row() {
    let game = tictactoe();
    let mut s = game.init(&players(), 1).unwrap();
    for (player, cell) in [("ann", 0), ("bob", 3), ("ann", 1), ("bob", 4)] {
        s = play(&game, s, player, json!({"cell": cell}));
    }
    assert!(outcome(&s).is_none());
    s = play(&game, s, "ann", json!({"cell": 2}));
    assert_eq!(
        s["board"],
        json!(["X", "X", "X", "O", "O", null, null, null, null])
    );
    assert_eq!(s["winner"], "ann");
    assert_eq!(s["turn"], Value::Null);
    let end = outcome(&s).unwrap();
    assert_eq!((end.winner.as_deref(), end.draw), (Some("ann"), false));
    assert_eq!(
        refused(&game, &s, "bob", json!({"cell": 8})),
        RefusalCode::Conflict
    );
}

#[test]
fn a_full_board_without_a_line_is_a_draw() {
    let game = tictactoe();
    let mut s = game.init(&players(), 1).unwrap();
    // X O X / X O O / O X X
    for (player, cell) in [
        ("ann", 0),
        ("bob", 1),
        ("ann", 2),
        ("bob", 4),
        ("ann", 3),
        ("bob", 5),
        ("ann", 7),
        ("bob", 6),
        ("ann", 8),
    ] {
        s = play(&game, s, player, json!({"cell": cell}));
    }
    assert_eq!(s["draw"], true);
    assert_eq!(s["winner"], Value::Null);
    assert_eq!(s["turn"], Value::Null);
    assert!(outcome(&s).unwrap().draw);
}

#[test]
fn illegal_inputs_are_refused_with_their_codes() {
    let game = tictactoe();
    let s = game.init(&players(), 1).unwrap();
    assert_eq!(
        refused(&game, &s, "bob", json!({"cell": 0})),
        RefusalCode::Conflict,
        "out of turn"
    );
    assert_eq!(
        refused(&game, &s, "eve", json!({"cell": 0})),
        RefusalCode::Forbidden,
        "not a player"
    );
    for bad in [
        json!({"cell": 9}),
        json!({"cell": -1}),
        json!({"cell": 1.5}),
        json!({"cell": "4"}),
        json!({}),
        json!(null),
    ] {
        assert_eq!(
            refused(&game, &s, "ann", bad.clone()),
            RefusalCode::BadRequest,
            "{bad}"
        );
    }
    let s = play(&game, s, "ann", json!({"cell": 4}));
    assert_eq!(
        refused(&game, &s, "bob", json!({"cell": 4})),
        RefusalCode::BadRequest,
        "taken"
    );
}

#[test]
fn a_move_is_taken_back_when_the_other_player_agrees() {
    let game = tictactoe();
    let mut s = game.init(&players(), 1).unwrap();
    assert_eq!(
        refused(&game, &s, "ann", json!({"takeback": "ask"})),
        RefusalCode::BadRequest
    );
    s = play(&game, s, "ann", json!({"cell": 4}));
    s = play(&game, s, "bob", json!({"cell": 0}));
    assert_eq!(
        refused(&game, &s, "bob", json!({"takeback": "accept"})),
        RefusalCode::Conflict,
        "nobody asked"
    );
    s = play(&game, s, "bob", json!({"takeback": "ask"}));
    assert_eq!(s["takeback"], "bob");
    assert_eq!(
        refused(&game, &s, "bob", json!({"takeback": "accept"})),
        RefusalCode::Conflict,
        "not one's own"
    );
    s = play(&game, s, "ann", json!({"takeback": "accept"}));
    assert_eq!(
        s["board"],
        json!([null, null, null, null, "X", null, null, null, null])
    );
    assert_eq!(s["turn"], "bob");
    assert_eq!(s["takeback"], Value::Null);
    // Taking back a move two plies ago takes the reply with it.
    s = play(&game, s, "bob", json!({"cell": 8}));
    s = play(&game, s, "ann", json!({"cell": 0}));
    s = play(&game, s, "bob", json!({"takeback": "ask"}));
    s = play(&game, s, "ann", json!({"takeback": "accept"}));
    assert_eq!(
        s["board"],
        json!([null, null, null, null, "X", null, null, null, null])
    );
    assert_eq!(s["turn"], "bob");
}

#[test]
fn a_forfeit_gives_the_other_player_the_win() {
    let game = tictactoe();
    let s = game.init(&players(), 1).unwrap();
    let s = play(&game, s, "ann", json!({"cell": 4}));
    let s = game
        .apply(
            s,
            &[json!({"type": "forfeit", "player": "ann", "reason": "timeout"})],
        )
        .unwrap();
    assert_eq!(s["winner"], "bob");
    assert_eq!(s["turn"], Value::Null);
    assert_eq!(s["forfeit"], json!({"player": "ann", "reason": "timeout"}));
    // A second forfeit (the other player leaving afterwards) changes nothing.
    let again = game
        .apply(
            s.clone(),
            &[json!({"type": "forfeit", "player": "bob", "reason": "left"})],
        )
        .unwrap();
    assert_eq!(again, s);
}

#[test]
fn the_state_is_a_fold_of_the_events() {
    let game = tictactoe();
    let start = game.init(&players(), 1).unwrap();
    let mut s = start.clone();
    let mut log = Vec::new();
    for (player, input) in [
        ("ann", json!({"cell": 0})),
        ("bob", json!({"cell": 4})),
        ("ann", json!({"takeback": "ask"})),
        ("bob", json!({"takeback": "accept"})),
        ("ann", json!({"cell": 8})),
    ] {
        let Verdict::Events(events) = game.command(&s, player, &input).unwrap() else {
            panic!()
        };
        s = game.apply(s, &events).unwrap();
        log.extend(events);
    }
    assert_eq!(game.apply(start, &log).unwrap(), s);
}
