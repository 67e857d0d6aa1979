//! A turn-based room end to end on the bus (a real nats-server and Postgres, the worker
//! in-process, players calling as a bridge would): a full game of tic-tac-toe, every state
//! broadcast, the result, log and ratings in Postgres, `evt.rooms.finished` once, the
//! replay folding to the final board; refused inputs that change nothing; rules that throw
//! or loop; leaving and running out of time.

mod common;

use chorus_games::{Game, JsGame, Limits, Player};
use chorus_rooms::Settings;
use common::{Stack, count, games_dir, tictactoe_with_turn_limit};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;

async fn state_of(stack: &Stack, user: &str, rid: &str) -> Value {
    stack
        .call(user, "svc.rooms.state", json!({"room": rid}))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_game_to_a_win_is_broadcast_recorded_rated_told_and_replayable() {
    let stack = Stack::start(Settings::for_tests()).await;
    let room = stack.create("tictactoe", &["ann", "bob"], true).await;
    let rid = room["room"].as_str().unwrap().to_string();
    assert_eq!(
        room["players"],
        json!([{"id":"ann","name":"ANN","seat":0},{"id":"bob","name":"BOB","seat":1}])
    );
    assert!(rid.starts_with('r') && rid.len() == 25, "{rid}");
    let mut states = stack.client.subscribe(format!("room.{rid}.state")).await.unwrap();
    let mut finished = stack.client.subscribe("evt.rooms.finished").await.unwrap();
    chorus_runtime::bus::round_trip(&stack.client, std::time::Duration::from_secs(10))
        .await
        .unwrap();

    let moves = [("ann", 0), ("bob", 3), ("ann", 1), ("bob", 4), ("ann", 2)];
    for (i, (player, cell)) in moves.iter().enumerate() {
        let reply = stack
            .call(
                player,
                "svc.rooms.input",
                json!({"room": rid, "input": {"cell": cell}}),
            )
            .await;
        assert_eq!(reply, Ok(json!({"seq": i + 1})));
        let msg = tokio::time::timeout(Duration::from_secs(5), states.next())
            .await
            .unwrap()
            .unwrap();
        let broadcast: Value = serde_json::from_slice(&msg.payload).unwrap();
        assert_eq!(broadcast["seq"], i + 1);
        assert_eq!(
            broadcast["state"]["board"][*cell as usize],
            if i % 2 == 0 { "X" } else { "O" }
        );
    }
    // The last broadcast is the final board; the room is over for inputs.
    let refused = stack
        .call(
            "bob",
            "svc.rooms.input",
            json!({"room": rid, "input": {"cell": 8}}),
        )
        .await;
    assert!(
        refused == Err("not_found".into()) || refused == Err("conflict".into()),
        "{refused:?}"
    );

    // Postgres: the result and the whole log, committed before the room is told finished.
    tokio::time::timeout(Duration::from_secs(10), finished.next())
        .await
        .expect("told finished")
        .unwrap();
    let db = stack.db.connect().await;
    let row = db
        .query_one(
            "SELECT winner, draw, rated, seq, events, final_state FROM room_results WHERE room = $1",
            &[&rid],
        )
        .await
        .unwrap();
    let (winner, draw, rated, seq): (Option<String>, bool, bool, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(
        (winner.as_deref(), draw, rated, seq),
        (Some("ann"), false, true, 5)
    );
    let events: Value = row.get(4);
    let expected: Vec<Value> = moves
        .iter()
        .map(|(p, c)| json!({"type":"move","player":p,"cell":c}))
        .collect();
    assert_eq!(events, json!(expected));
    let final_state: Value = row.get(5);
    assert_eq!(
        final_state["board"],
        json!(["X", "X", "X", "O", "O", null, null, null, null])
    );

    // Ratings moved in the same transaction.
    let rows = db
        .query(
            "SELECT user_id, rating, games FROM ratings WHERE game = 'tictactoe' ORDER BY rating DESC",
            &[],
        )
        .await
        .unwrap();
    let ratings: Vec<(String, f64, i32)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(ratings.len(), 2);
    assert_eq!((ratings[0].0.as_str(), ratings[0].2), ("ann", 1));
    assert!(ratings[0].1 > 1500.0 && ratings[1].1 < 1500.0, "{ratings:?}");
    let top = stack
        .call("bob", "svc.rating.top", json!({"game": "tictactoe"}))
        .await
        .unwrap();
    assert_eq!(top["top"][0]["id"], "ann");
    assert_eq!(top["top"][0]["games"], 1);
    let me = stack
        .call("bob", "svc.rating.me", json!({"game": "tictactoe"}))
        .await
        .unwrap();
    assert!(me["rating"].as_f64().unwrap() < 1500.0);
    let of = stack
        .client
        .request(
            "int.rating.of",
            json!({"game":"tictactoe","users":["ann","g-x"]})
                .to_string()
                .into(),
        )
        .await
        .unwrap();
    let of: Value = serde_json::from_slice(&of.payload).unwrap();
    assert!(of["ratings"]["ann"].as_f64().unwrap() > 1500.0);
    assert_eq!(of["ratings"]["g-x"], 1500.0);

    // evt.rooms.finished, once, in EVENTS.
    let js = async_nats::jetstream::new(stack.client.clone());
    let mut events_stream = js.get_stream("EVENTS").await.unwrap();
    let told = events_stream
        .get_last_raw_message_by_subject("evt.rooms.finished")
        .await
        .unwrap();
    let told: Value = serde_json::from_slice(&told.payload).unwrap();
    assert_eq!(told["room"], rid);
    assert_eq!(
        (
            told["winner"].clone(),
            told["draw"].clone(),
            told["rated"].clone()
        ),
        (json!("ann"), json!(false), json!(true))
    );
    assert_eq!(told["players"][1], json!({"id":"bob","name":"BOB","seat":1}));
    assert_eq!(events_stream.info().await.unwrap().state.messages, 1);

    // The replay folds to the final board; the state of the finished room says over.
    let replay = stack
        .call("bob", "svc.rooms.replay", json!({"room": rid}))
        .await
        .unwrap();
    let tictactoe = JsGame::load(
        &Settings::for_tests().games_dir.join("tictactoe.js"),
        Limits::default(),
    )
    .unwrap();
    let players: Vec<Player> = serde_json::from_value(replay["players"].clone()).unwrap();
    let start = tictactoe
        .init(&players, replay["seed"].as_u64().unwrap() as u32)
        .unwrap();
    let folded = tictactoe
        .apply(start, replay["events"].as_array().unwrap())
        .unwrap();
    assert_eq!(folded, final_state);
    let after = state_of(&stack, "ann", &rid).await;
    assert_eq!(
        (after["over"].clone(), after["seq"].clone()),
        (json!(true), json!(5))
    );
    assert_eq!(after["state"]["winner"], "ann");

    // What the room waited on is on the worker's /metrics: the bucket, the log, Postgres.
    let m = &stack.metrics;
    let kv = |labels: &str| count(m, "kv_seconds", labels);
    assert_eq!(kv(r#"bucket="rooms",op="create""#), 2, "the meta and the lease");
    assert_eq!(kv(r#"bucket="ROOMS",op="append""#), 5, "five moves");
    assert!(
        kv(r#"bucket="ROOMS",op="read""#) >= 1,
        "the log read at the finish"
    );
    assert_eq!(kv(r#"bucket="EVENTS",op="publish""#), 1);
    assert_eq!(kv(r#"bucket="rooms",op="put""#), 1, "marked finished");
    assert_eq!(count(m, "db_seconds", r#"op="finish""#), 1);
    assert_eq!(count(m, "db_seconds", r#"op="replay""#), 1);
    assert_eq!(count(m, "db_seconds", r#"op="finished_state""#), 1);
    assert_eq!(
        count(
            m,
            "nats_request_seconds",
            r#"subject="int.store.owned",result="no_responders""#
        ),
        1,
        "the skins asked of a store that is not there"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_inputs_change_nothing_and_broken_rules_fail_only_their_input() {
    const FRAGILE: &str = r#"
export const meta = { name: "Fragile", players: { min: 1, max: 2 }, tick_hz: 0 };
export function init(players) { return { n: 0, winner: null, draw: false }; }
export function command(state, player, input) {
  if (input.throw) throw new Error("rule bug");
  if (input.loop) for (;;) {}
  return { events: [{ add: 1 }] };
}
export function apply(state, event) { return { ...state, n: state.n + event.add }; }
"#;
    let dir = games_dir(&[("fragile.js", FRAGILE)]);
    let stack = Stack::start(Settings::new(dir.path().to_path_buf())).await;
    let rid = stack.create("tictactoe", &["ann", "bob"], false).await["room"]
        .as_str()
        .unwrap()
        .to_string();
    let input = |cell: Value| json!({"room": rid, "input": {"cell": cell}});
    assert_eq!(
        stack.call("bob", "svc.rooms.input", input(json!(0))).await,
        Err("conflict".into()),
        "out of turn"
    );
    assert_eq!(
        stack.call("eve", "svc.rooms.input", input(json!(0))).await,
        Err("forbidden".into()),
        "not a member"
    );
    assert_eq!(
        stack.call("eve", "svc.rooms.state", json!({"room": rid})).await,
        Err("forbidden".into())
    );
    assert_eq!(
        stack.call("ann", "svc.rooms.input", input(json!(9))).await,
        Err("bad_request".into()),
        "illegal"
    );
    assert_eq!(
        stack
            .call(
                "ann",
                "svc.rooms.input",
                json!({"room": "nope", "input": {"cell": 0}})
            )
            .await,
        Err("not_found".into())
    );
    assert_eq!(
        stack
            .call(
                "ann",
                "svc.rooms.input",
                json!({"room": "a.b", "input": {"cell": 0}})
            )
            .await,
        Err("bad_request".into())
    );
    assert_eq!(
        stack.call("ann", "svc.rooms.input", input(json!(4))).await,
        Ok(json!({"seq": 1}))
    );
    assert_eq!(
        stack.call("bob", "svc.rooms.input", input(json!(4))).await,
        Err("bad_request".into()),
        "taken"
    );
    let s = state_of(&stack, "bob", &rid).await;
    assert_eq!(s["seq"], 1);
    assert_eq!(
        s["state"]["board"],
        json!([null, null, null, null, "X", null, null, null, null])
    );
    assert_eq!(s["over"], false);

    let frid = stack.create("fragile", &["ann"], false).await["room"]
        .as_str()
        .unwrap()
        .to_string();
    let ask = |input: Value| json!({"room": frid, "input": input});
    assert_eq!(
        stack
            .call("ann", "svc.rooms.input", ask(json!({"throw": true})))
            .await,
        Err("internal".into())
    );
    assert_eq!(
        stack
            .call("ann", "svc.rooms.input", ask(json!({"loop": true})))
            .await,
        Err("internal".into())
    );
    assert_eq!(
        stack.call("ann", "svc.rooms.input", ask(json!({}))).await,
        Ok(json!({"seq": 1})),
        "the room lives on"
    );
    assert_eq!(state_of(&stack, "ann", &frid).await["state"]["n"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_forfeits_and_so_does_running_out_of_time() {
    let dir = games_dir(&[("quick.js", &tictactoe_with_turn_limit(300))]);
    let stack = Stack::start(Settings::new(dir.path().to_path_buf())).await;
    let rid = stack.create("tictactoe", &["ann", "bob"], false).await["room"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        stack
            .call(
                "ann",
                "svc.rooms.input",
                json!({"room": rid, "input": {"cell": 4}})
            )
            .await,
        Ok(json!({"seq": 1}))
    );
    assert_eq!(
        stack.call("ann", "svc.rooms.leave", json!({"room": rid})).await,
        Ok(json!({"seq": 2}))
    );
    let s = state_of(&stack, "bob", &rid).await;
    assert_eq!(
        (s["state"]["winner"].clone(), s["over"].clone()),
        (json!("bob"), json!(true))
    );
    assert_eq!(s["state"]["forfeit"], json!({"player": "ann", "reason": "left"}));
    let again = stack
        .call(
            "bob",
            "svc.rooms.input",
            json!({"room": rid, "input": {"cell": 0}}),
        )
        .await;
    assert!(
        again == Err("not_found".into()) || again == Err("conflict".into()),
        "{again:?}"
    );

    let qid = stack.create("quick", &["ann", "bob"], false).await["room"]
        .as_str()
        .unwrap()
        .to_string();
    let mut states = stack.client.subscribe(format!("room.{qid}.state")).await.unwrap();
    chorus_runtime::bus::round_trip(&stack.client, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let timed_out = tokio::time::timeout(Duration::from_secs(5), states.next())
        .await
        .expect("a forfeit in time")
        .unwrap();
    let timed_out: Value = serde_json::from_slice(&timed_out.payload).unwrap();
    assert_eq!(timed_out["seq"], 1);
    assert_eq!(timed_out["state"]["winner"], "bob");
    assert_eq!(
        timed_out["state"]["forfeit"],
        json!({"player": "ann", "reason": "timeout"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_reaching_another_replica_is_forwarded_to_the_owner() {
    let mut stack = Stack::start(Settings::for_tests()).await;
    let other = stack.replica(Settings::for_tests()).await;
    let rid = stack.create("tictactoe", &["ann", "bob"], false).await["room"]
        .as_str()
        .unwrap()
        .to_string();
    let (owner, not_owner) = if stack.rooms.owns(&rid) {
        (stack.rooms.clone(), other)
    } else {
        (other, stack.rooms.clone())
    };
    assert!(owner.owns(&rid) && !not_owner.owns(&rid));
    let seq = chorus_rooms::routing::route(
        &not_owner,
        &rid,
        "ann",
        chorus_rooms::call::Ask::Input(json!({"cell": 0})),
    )
    .await
    .unwrap();
    assert_eq!(seq, json!({"seq": 1}));
    let refused = chorus_rooms::routing::route(
        &not_owner,
        &rid,
        "ann",
        chorus_rooms::call::Ask::Input(json!({"cell": 1})),
    )
    .await;
    assert_eq!(refused.unwrap_err().code(), chorus_protocol::ErrorCode::Conflict);
    assert!(!not_owner.owns(&rid), "a live owner keeps its room");
}
