//! A realtime room through a real bridge: two signed-in players on WebSockets in an arena
//! room made by `int.rooms.create` (which grants them `room.{rid}.state` and
//! `room.{rid}.input`); each publishes numbered inputs as `pub` frames on
//! `room.{rid}.input`, and both see themselves and each other move in the `{seq, state}`
//! broadcasts, with `last_n` following their inputs and `seq` only growing. A stranger may
//! neither publish inputs nor read the state.

mod common;

use chorus_testkit::client::{WAIT, Ws};
use common::Harness;
use serde_json::{Value, json};

const PRIVATE: &str = "/core/game/v1/real-time/private";

async fn connect(h: &Harness, login: &Value) -> Ws {
    let token = login["access_token"].as_str().unwrap();
    Ws::connect(h.http, &format!("{PRIVATE}?token={token}"), &[])
        .await
        .unwrap()
        .0
}

/// Sends `frame` with `id` and returns its answer, skipping broadcasts.
async fn ask(ws: &mut Ws, mut frame: Value, id: &str) -> Value {
    frame["id"] = json!(id);
    ws.send(frame).await;
    loop {
        let got = ws.recv().await;
        if got["id"] == id {
            return got;
        }
    }
}

/// Subscribes once the room's grant has reached the bridge (it travels on its own).
async fn subscribe_granted(ws: &mut Ws, subject: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    for i in 0.. {
        let answer = ask(ws, json!({"op": "sub", "subject": subject}), &format!("s{i}")).await;
        if answer["op"] == "ok" {
            return;
        }
        assert_eq!(answer["code"], "forbidden", "{answer}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the room's grant never arrived"
        );
    }
}

fn player<'a>(state: &'a Value, id: &Value) -> &'a Value {
    state["players"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == *id)
        .unwrap()
}

/// Reads broadcasts until `want` holds; `seq` must grow all along.
async fn until(ws: &mut Ws, last: &mut i64, want: impl Fn(&Value) -> bool) -> Value {
    loop {
        let got = ws.recv().await;
        if got["op"] != "msg" {
            continue;
        }
        let seq = got["data"]["seq"].as_i64().unwrap();
        assert!(seq > *last, "seq only grows: {seq} after {last}");
        *last = seq;
        if want(&got["data"]["state"]) {
            return got["data"].clone();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_players_inputs_move_them_in_the_broadcast_state() {
    let (h, db) = Harness::with_accounts(900).await;
    let worker = h.nats_client().await;
    let settings = chorus_rooms::Settings::for_tests();
    let (_rooms, _served) = chorus_rooms::spawn_in_process(worker.clone(), db.url(), settings)
        .await
        .unwrap();
    let ann_login = h.sign_up_and_log_in("ann").await;
    let bob_login = h.sign_up_and_log_in("bob").await;
    let (ann_id, bob_id) = (ann_login["user"]["id"].clone(), bob_login["user"]["id"].clone());
    let mut ann = connect(&h, &ann_login).await;
    let mut bob = connect(&h, &bob_login).await;

    let players = json!([{"id": ann_id, "name": "ann"}, {"id": bob_id, "name": "bob"}]);
    let rid = common::create_room(&worker, "arena", players, false).await;
    let (state_subject, input_subject) = (format!("room.{rid}.state"), format!("room.{rid}.input"));
    subscribe_granted(&mut ann, &state_subject).await;
    subscribe_granted(&mut bob, &state_subject).await;

    let (mut ann_seq, mut bob_seq) = (-1, -1);
    let start = until(&mut ann, &mut ann_seq, |_| true).await["state"].clone();
    let (ann_x, bob_y) = (
        player(&start, &ann_id)["x"].as_i64().unwrap(),
        player(&start, &bob_id)["y"].as_i64().unwrap(),
    );

    let pubbed = ask(
        &mut ann,
        json!({"op": "pub", "subject": input_subject, "data": {"n": 1, "dx": -1, "dy": 0}}),
        "p1",
    )
    .await;
    assert_eq!(pubbed["op"], "ok", "{pubbed}");
    let pubbed = ask(
        &mut bob,
        json!({"op": "pub", "subject": input_subject, "data": {"n": 1, "dx": 0, "dy": 1}}),
        "p1",
    )
    .await;
    assert_eq!(pubbed["op"], "ok", "{pubbed}");

    let both_moved = |s: &Value| {
        player(s, &ann_id)["x"].as_i64().unwrap() < ann_x - 8
            && player(s, &bob_id)["y"].as_i64().unwrap() > bob_y + 8
    };
    for (ws, seq) in [(&mut ann, &mut ann_seq), (&mut bob, &mut bob_seq)] {
        let seen = until(ws, seq, both_moved).await;
        assert_eq!(player(&seen["state"], &ann_id)["last_n"], 1);
        assert_eq!(player(&seen["state"], &bob_id)["last_n"], 1);
        assert_eq!(seen["state"]["tick"], seen["seq"]);
    }

    // Ann turns round: her next numbered input takes over at the next tick.
    ask(
        &mut ann,
        json!({"op": "pub", "subject": input_subject, "data": {"n": 2, "dx": 1, "dy": 0}}),
        "p2",
    )
    .await;
    let turned = until(&mut bob, &mut bob_seq, |s| player(s, &ann_id)["last_n"] == 2).await;
    let x = player(&turned["state"], &ann_id)["x"].as_i64().unwrap();
    until(&mut bob, &mut bob_seq, |s| {
        player(s, &ann_id)["x"].as_i64().unwrap() > x
    })
    .await;

    // A stranger: no input, no state.
    let mut eve = connect(&h, &h.sign_up_and_log_in("eve").await).await;
    let refused = ask(
        &mut eve,
        json!({"op": "pub", "subject": input_subject, "data": {"n": 5, "dx": 1, "dy": 1}}),
        "e1",
    )
    .await;
    assert_eq!(refused["code"], "forbidden", "{refused}");
    let refused = ask(&mut eve, json!({"op": "sub", "subject": state_subject}), "e2").await;
    assert_eq!(refused["code"], "forbidden", "{refused}");
}
