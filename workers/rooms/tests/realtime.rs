//! A realtime room on the bus (a real nats-server and Postgres, the worker in-process,
//! players publishing as a bridge forwards): the arena ticks at 20 Hz with `seq` = the
//! tick; members' publishes on `room.{rid}.input` move them at the next tick and their
//! `last_n` follows; a non-member's publish changes nothing; `svc.rooms.input` answers the
//! tick that applied it or the game's refusal; `svc.rooms.state` answers at once; a leave
//! ends a duel, which goes to Postgres with the inputs logged per tick; its replay (the
//! inputs per tick and the tick count) folds through the game to the final state.

mod common;

use chorus_games::{Game, JsGame, Limits, Player, Verdict};
use chorus_rooms::Settings;
use common::Stack;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;

/// Publishes `input` on `room.{rid}.input` as `user`, as the bridge forwards a `pub` frame.
async fn publish(stack: &Stack, user: &str, rid: &str, input: Value) {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Chorus-User", user);
    headers.insert("Chorus-Ns", "private");
    stack
        .client
        .publish_with_headers(format!("room.{rid}.input"), headers, input.to_string().into())
        .await
        .unwrap();
}

/// Reads broadcasts until one satisfies `want`; every `seq` must grow.
async fn until(
    states: &mut async_nats::Subscriber,
    last_seq: &mut i64,
    want: impl Fn(&Value) -> bool,
) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), states.next())
            .await
            .expect("a broadcast")
            .unwrap();
        let broadcast: Value = serde_json::from_slice(&msg.payload).unwrap();
        let seq = broadcast["seq"].as_i64().unwrap();
        assert!(seq > *last_seq, "seq only grows: {seq} after {last_seq}");
        *last_seq = seq;
        if want(&broadcast) {
            return broadcast;
        }
    }
}

fn me<'a>(broadcast: &'a Value, id: &str) -> &'a Value {
    broadcast["state"]["players"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_move_players_at_the_next_tick_and_a_leave_finishes_the_room() {
    let stack = Stack::start(Settings::for_tests()).await;
    let room = stack.create("arena", &["ann", "bob"], true).await;
    let rid = room["room"].as_str().unwrap().to_string();
    let mut states = stack.client.subscribe(format!("room.{rid}.state")).await.unwrap();
    let mut finished = stack.client.subscribe("evt.rooms.finished").await.unwrap();
    chorus_runtime::bus::round_trip(&stack.client, std::time::Duration::from_secs(10))
        .await
        .unwrap();

    let mut seq = -1;
    let first = until(&mut states, &mut seq, |_| true).await;
    assert_eq!(first["state"]["tick"], first["seq"], "seq is the tick");
    let (ann_x, bob_y) = (
        me(&first, "ann")["x"].as_i64().unwrap(),
        me(&first, "bob")["y"].as_i64().unwrap(),
    );

    publish(&stack, "ann", &rid, json!({"n": 1, "dx": -1, "dy": 0})).await;
    publish(&stack, "bob", &rid, json!({"n": 7, "dx": 0, "dy": 1})).await;
    publish(&stack, "eve", &rid, json!({"n": 9, "dx": 1, "dy": 0})).await;
    let moved = until(&mut states, &mut seq, |b| {
        me(b, "ann")["last_n"] == 1 && me(b, "bob")["last_n"] == 7
    })
    .await;
    assert!(me(&moved, "ann")["x"].as_i64().unwrap() < ann_x, "ann went west");
    assert!(me(&moved, "bob")["y"].as_i64().unwrap() > bob_y, "bob went south");

    // A request works too: the tick that applied it, or the game's refusal.
    let applied = stack
        .call(
            "ann",
            "svc.rooms.input",
            json!({"room": rid, "input": {"n": 2, "dx": 0, "dy": 0}}),
        )
        .await
        .unwrap();
    assert!(applied["seq"].as_u64().unwrap() > moved["seq"].as_u64().unwrap());
    let stale = stack
        .call(
            "ann",
            "svc.rooms.input",
            json!({"room": rid, "input": {"n": 2, "dx": 1, "dy": 0}}),
        )
        .await;
    assert_eq!(stale, Err("conflict".into()));
    let stranger = stack
        .call(
            "eve",
            "svc.rooms.input",
            json!({"room": rid, "input": {"n": 3, "dx": 1, "dy": 0}}),
        )
        .await;
    assert_eq!(stranger, Err("forbidden".into()));
    let now = stack
        .call("bob", "svc.rooms.state", json!({"room": rid}))
        .await
        .unwrap();
    assert!(now["seq"].as_u64().unwrap() >= applied["seq"].as_u64().unwrap());
    assert_eq!(me(&now, "ann")["last_n"], 2);
    assert_eq!(now["over"], false);

    let left = stack
        .call("bob", "svc.rooms.leave", json!({"room": rid}))
        .await
        .unwrap();
    let last = until(&mut states, &mut seq, |b| b["state"]["winner"] == "ann").await;
    assert_eq!(last["seq"], left["seq"]);
    tokio::time::timeout(Duration::from_secs(10), finished.next())
        .await
        .expect("told finished")
        .unwrap();

    let db = stack.db.connect().await;
    let row = db
        .query_one(
            "SELECT winner, seq, log, final_state FROM room_results WHERE room = $1",
            &[&rid],
        )
        .await
        .unwrap();
    let (winner, final_seq, log): (Option<String>, i64, Value) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(
        (winner.as_deref(), final_seq as u64),
        (Some("ann"), left["seq"].as_u64().unwrap())
    );
    let inputs: Vec<Value> = log
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["inputs"].as_array().unwrap().clone())
        .collect();
    assert_eq!(
        inputs,
        vec![
            json!({"by": "ann", "input": {"n": 1, "dx": -1, "dy": 0}}),
            json!({"by": "bob", "input": {"n": 7, "dx": 0, "dy": 1}}),
            json!({"by": "ann", "input": {"n": 2, "dx": 0, "dy": 0}}),
            json!({"by": "bob", "forfeit": "left"}),
        ],
        "the log holds the applied inputs, each once, and nothing of the stranger's or the refused"
    );

    let replay = stack
        .call("bob", "svc.rooms.replay", json!({"room": rid}))
        .await
        .unwrap();
    assert_eq!(
        (replay["ticks"].as_i64(), replay["dt_ms"].as_u64()),
        (Some(final_seq), Some(50))
    );
    assert_eq!(replay["events"], json!([]));
    let final_state: Value = row.get(3);
    assert_eq!(
        fold_realtime(&replay),
        final_state,
        "the replay folds to the final state"
    );
}

/// A realtime room's replay folded through the game: `init`, then for each tick its
/// logged inputs (`command` then `apply`, a forfeit as its event) and `tick`.
fn fold_realtime(replay: &Value) -> Value {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../games/arena.js");
    let game = JsGame::load(&file, Limits::default()).unwrap();
    let players: Vec<Player> = serde_json::from_value(replay["players"].clone()).unwrap();
    let mut state = game
        .init(&players, replay["seed"].as_u64().unwrap() as u32)
        .unwrap();
    let dt_ms = replay["dt_ms"].as_u64().unwrap() as u32;
    let mut logged = replay["inputs"].as_array().unwrap().iter().peekable();
    for tick in 1..=replay["ticks"].as_u64().unwrap() {
        if let Some(at) = logged.next_if(|e| e["tick"] == tick) {
            for one in at["inputs"].as_array().unwrap() {
                let by = one["by"].as_str().unwrap();
                let events = match &one["forfeit"] {
                    Value::String(reason) => vec![json!({"type": "forfeit", "player": by, "reason": reason})],
                    _ => match game.command(&state, by, &one["input"]).unwrap() {
                        Verdict::Events(events) => events,
                        Verdict::Refused(r) => panic!("a logged input refused: {r:?}"),
                    },
                };
                state = game.apply(state, &events).unwrap();
            }
        }
        let made = game.tick(&state, dt_ms).unwrap();
        state = game.apply(state, &made).unwrap();
    }
    assert!(logged.next().is_none(), "every logged tick folded");
    state
}

/// A realtime game that hides each player's secret from the others (`view`).
const HIDDEN: &str = r#"
export const meta = { name: "Hidden", players: { min: 2, max: 2 }, tick_hz: 20 };
export function init(players, seed) {
  return { tick: 0, players: players.map((p) => ({ id: p.id, secret: p.id + "-secret" })), winner: null, draw: false };
}
export function command(state, player, input) { return { events: [] }; }
export function apply(state, event) {
  if (event.type === "step") return { ...state, tick: state.tick + 1 };
  if (event.type === "forfeit") return { ...state, winner: state.players.find((p) => p.id !== event.player).id };
  return state;
}
export function tick(state, dt_ms) { return [{ type: "step" }]; }
export function view(state, player) {
  return { ...state, players: state.players.map((p) => (p.id === player ? p : { id: p.id })) };
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_realtime_game_with_a_view_broadcasts_the_seq_alone_and_answers_each_their_view() {
    let dir = common::games_dir(&[("hidden.js", HIDDEN)]);
    let settings = Settings {
        games_dir: dir.path().to_path_buf(),
        ..Settings::for_tests()
    };
    let stack = Stack::start(settings).await;
    let room = stack.create("hidden", &["ann", "bob"], false).await;
    let rid = room["room"].as_str().unwrap().to_string();
    let mut states = stack.client.subscribe(format!("room.{rid}.state")).await.unwrap();
    chorus_runtime::bus::round_trip(&stack.client, Duration::from_secs(10))
        .await
        .unwrap();

    let mut seq = -1;
    let broadcast = until(&mut states, &mut seq, |b| b["seq"].as_i64() > Some(2)).await;
    assert_eq!(
        broadcast,
        json!({"seq": broadcast["seq"]}),
        "nothing but the seq is broadcast"
    );

    let seen = stack
        .call("ann", "svc.rooms.state", json!({"room": rid}))
        .await
        .unwrap();
    let players = seen["state"]["players"].as_array().unwrap();
    assert_eq!(players[0], json!({"id": "ann", "secret": "ann-secret"}));
    assert_eq!(players[1], json!({"id": "bob"}), "bob's secret stays his");
    assert!(seen["state"]["tick"].as_u64().unwrap() >= 3);
    let bobs = stack
        .call("bob", "svc.rooms.state", json!({"room": rid}))
        .await
        .unwrap();
    assert_eq!(bobs["state"]["players"][1]["secret"], "bob-secret");
    assert_eq!(bobs["state"]["players"][0], json!({"id": "ann"}));
}
