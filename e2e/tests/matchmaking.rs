//! Matchmaking end to end: players on a real bridge ask for tic-tac-toe, the real
//! matchmaker pairs them, the real rooms worker opens the room and grants its subjects,
//! and each player is told on `user.{uid}.match`; a guest who closes the connection
//! leaves the queue.

mod common;

use chorus_games::{Library, Limits};
use chorus_matchmaker::{Catalog, Settings};
use chorus_testkit::client::Ws;
use common::Harness;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// The repository's game files.
fn games_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../games")
}

/// The matchmaker in-process on the harness's server, over the shipped game files, its
/// endpoints on the server when this returns.
async fn start_matchmaker(h: &Harness) {
    let nats = async_nats::ConnectOptions::new()
        .name("chorus-mm")
        .connect(h.nats.url())
        .await
        .unwrap();
    let mut settings = Settings::with_games("").unwrap();
    settings.round = Duration::from_millis(50);
    let library = Library::load_dir(&games_dir(), Limits::default());
    let catalog = Catalog::from_library(&library, &settings);
    chorus_matchmaker::spawn_in_process(nats, settings, catalog)
        .await
        .unwrap();
    h.nats
        .await_subscriptions_of("chorus-mm", "svc.mm.leave", 1)
        .await;
}

/// Reads frames until one satisfies `want`; returns it and the frames before it.
async fn until(ws: &mut Ws, want: impl Fn(&Value) -> bool) -> (Value, Vec<Value>) {
    let mut before = Vec::new();
    loop {
        let frame = ws.recv().await;
        if want(&frame) {
            return (frame, before);
        }
        before.push(frame);
    }
}

/// A signed-in player's connection, subscribed to its match inbox; its user id.
async fn player(h: &Harness, name: &str) -> (Ws, String) {
    let login = h.sign_up_and_log_in(name).await;
    let token = login["access_token"].as_str().unwrap();
    let (mut ws, welcome) = Ws::connect(h.http, &format!("/v1/ws?token={token}"), &[])
        .await
        .unwrap();
    assert_eq!(welcome["op"], "welcome", "{welcome}");
    let id = welcome["user"]["id"].as_str().unwrap().to_string();
    let sub = ws
        .call(json!({"op": "sub", "id": "m", "subject": format!("user.{id}.match")}))
        .await;
    assert_eq!(sub["op"], "ok", "{sub}");
    (ws, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_players_are_matched_into_a_room_they_may_watch() {
    let (h, db) = Harness::with_accounts(900).await;
    let rooms_nats = h.nats_client().await;
    chorus_rooms::spawn_in_process(
        rooms_nats,
        db.url(),
        chorus_rooms::settings::Settings::for_tests(),
    )
    .await
    .unwrap();
    start_matchmaker(&h).await;
    let (mut ann, ann_id) = player(&h, "ann").await;
    let (mut bob, bob_id) = player(&h, "bob").await;

    let join = json!({"op": "req", "id": "j", "subject": "svc.mm.join", "data": {"game": "tictactoe"}});
    let unknown = ann
        .call(json!({"op": "req", "id": "x", "subject": "svc.mm.join", "data": {"game": "chess"}}))
        .await;
    assert_eq!(unknown["code"], "not_found", "{unknown}");
    let joined = ann.call(join.clone()).await;
    assert_eq!(joined["op"], "reply", "{joined}");
    assert_eq!(joined["data"]["game"], "tictactoe");
    bob.send(join).await;

    let is_match =
        |f: &Value| f["op"] == "msg" && f["subject"].as_str().is_some_and(|s| s.ends_with(".match"));
    let (ann_told, _) = until(&mut ann, is_match).await;
    let (bob_told, before) = until(&mut bob, is_match).await;
    if !before.iter().any(|f| f["id"] == "j") {
        // Bob's join reply may come after the match.
        let (reply, _) = until(&mut bob, |f| f["id"] == "j").await;
        assert_eq!(reply["op"], "reply", "{reply}");
    }
    let (a, b) = (&ann_told["data"], &bob_told["data"]);
    assert_eq!(a["room"], b["room"]);
    assert_eq!(a["game"], "tictactoe");
    let ids: Vec<&str> = a["players"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(
        ids.contains(&ann_id.as_str()) && ids.contains(&bob_id.as_str()),
        "{a}"
    );
    assert_ne!(a["seat"], b["seat"]);
    assert!(ann_told["from"].is_null(), "a worker's notice, not a client's");

    // The rooms worker granted both the room's state: subscribing is allowed now.
    let room = a["room"].as_str().unwrap();
    for ws in [&mut ann, &mut bob] {
        ws.send(json!({"op": "sub", "id": "s", "subject": format!("room.{room}.state")}))
            .await;
        let (ok, _) = until(ws, |f| f["id"] == "s").await;
        assert_eq!(ok["op"], "ok", "{ok}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_who_closes_the_connection_leaves_the_queue() {
    let (h, _db) = Harness::with_accounts(900).await;
    start_matchmaker(&h).await;
    let (mut guest, welcome) = Ws::connect(h.http, "/core/game/v1/real-time/public", &[])
        .await
        .unwrap();
    let id = welcome["user"]["id"].as_str().unwrap().to_string();
    let kv = async_nats::jetstream::new(h.nats_client().await)
        .get_key_value("mm")
        .await
        .unwrap();
    let mut ticket = kv.watch(format!("ticket.{id}")).await.unwrap();
    let joined = guest
        .call(json!({"op": "req", "id": "j", "subject": "svc.mm.join", "data": {"game": "tictactoe"}}))
        .await;
    assert_eq!(joined["op"], "reply", "guests may queue: {joined}");
    let put = ticket.next().await.unwrap().unwrap();
    assert_eq!(put.operation, async_nats::jetstream::kv::Operation::Put);
    let waiting: Value = serde_json::from_slice(&put.value).unwrap();
    assert_eq!(waiting["rated"], false, "guests play unrated");
    drop(guest);
    let gone = ticket.next().await.unwrap().unwrap();
    assert_eq!(
        gone.operation,
        async_nats::jetstream::kv::Operation::Delete,
        "the ticket went with the connection"
    );
}
