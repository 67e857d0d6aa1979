//! Takeover with real processes: two `chorus-rooms` replicas on one nats-server and
//! database; the one owning a live tic-tac-toe room is killed with `kill -9` mid-game; the
//! other takes the room over (its lease runs out, it rebuilds from the log), the game goes
//! on to the end, and the log in Postgres holds exactly the moves the players sent:
//! nothing lost, nothing doubled.

mod common;

use chorus_testkit::{NatsServer, Process, TestDb};
use common::call;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

async fn replica(name: &str, nats: &NatsServer, db: &TestDb) -> Process {
    let http = free_addr();
    let games = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../games");
    let (http_s, nats_url, games_s) = (http.to_string(), nats.url(), games.display().to_string());
    let env = [
        ("CHORUS_NATS_URL", nats_url.as_str()),
        ("DATABASE_URL", db.url()),
        ("CHORUS_WORKER_HTTP_ADDR", http_s.as_str()),
        ("CHORUS_GAMES_DIR", games_s.as_str()),
        ("CHORUS_ROOMS_REPLICA", name),
        ("CHORUS_ROOMS_LEASE_MS", "1000"),
        ("CHORUS_ROOMS_SCAN_MS", "200"),
        ("CHORUS_LOG", "info"),
    ];
    let mut process = Process::spawn("chorus-rooms", &env);
    process.wait_ready(http, "/readyz").await;
    process
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_owner_loses_no_move_and_doubles_none() {
    let nats = NatsServer::start().await;
    let db = TestDb::create().await;
    let mut a = replica("a", &nats, &db).await;
    let mut b = replica("b", &nats, &db).await;
    let client = async_nats::connect(nats.url()).await.unwrap();

    let players = json!([{"id": "ann", "name": "Ann"}, {"id": "bob", "name": "Bob"}]);
    let created = client
        .request(
            "int.rooms.create",
            json!({"game": "tictactoe", "players": players, "rated": true})
                .to_string()
                .into(),
        )
        .await
        .unwrap();
    let created: Value = serde_json::from_slice(&created.payload).unwrap();
    let rid = created["room"].as_str().unwrap().to_string();
    let mut states = client.subscribe(format!("room.{rid}.state")).await.unwrap();
    let mut finished = client.subscribe("evt.rooms.finished").await.unwrap();
    client.flush().await.unwrap();

    let moves = [
        ("ann", 4),
        ("bob", 0),
        ("ann", 2),
        ("bob", 6),
        ("ann", 3),
        ("bob", 5),
        ("ann", 1),
        ("bob", 8),
        ("ann", 7),
    ];
    let mut seen_seq = 0;
    let mut killed = None;
    for (i, (player, cell)) in moves.iter().enumerate() {
        if i == 3 {
            // Kill whoever owns the room now, mid-game, with no goodbye.
            let kv = async_nats::jetstream::new(client.clone())
                .get_key_value("rooms")
                .await
                .unwrap();
            let lease: Value =
                serde_json::from_slice(&kv.get(format!("lease.{rid}")).await.unwrap().unwrap()).unwrap();
            match lease["owner"].as_str().unwrap() {
                "a" => a.kill9().await,
                "b" => b.kill9().await,
                other => panic!("owner {other}"),
            }
            killed = lease["owner"].as_str().map(str::to_string);
        }
        let reply = call(
            &client,
            player,
            "svc.rooms.input",
            json!({"room": rid, "input": {"cell": cell}}),
        )
        .await;
        assert_eq!(reply, Ok(json!({"seq": i + 1})), "move {i}");
        let msg = tokio::time::timeout(Duration::from_secs(5), states.next())
            .await
            .unwrap()
            .unwrap();
        let broadcast: Value = serde_json::from_slice(&msg.payload).unwrap();
        let seq = broadcast["seq"].as_u64().unwrap();
        assert!(seq > seen_seq, "sequence numbers only grow");
        seen_seq = seq;
    }
    tokio::time::timeout(Duration::from_secs(10), finished.next())
        .await
        .expect("told finished")
        .unwrap();

    let survivor = if killed.as_deref() == Some("a") { &b } else { &a };
    assert!(
        survivor.log().contains("took the room over"),
        "{}",
        survivor.log()
    );

    let conn = db.connect().await;
    let row = conn
        .query_one(
            "SELECT events, log, draw, winner, seq FROM room_results WHERE room = $1",
            &[&rid],
        )
        .await
        .unwrap();
    let events: Value = row.get(0);
    let sent: Vec<Value> = moves
        .iter()
        .map(|(p, c)| json!({"type": "move", "player": p, "cell": c}))
        .collect();
    assert_eq!(events, json!(sent), "the log is exactly what the players sent");
    let log: Value = row.get(1);
    let seqs: Vec<u64> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=9).collect::<Vec<_>>());
    let (draw, winner, seq): (bool, Option<String>, i64) = (row.get(2), row.get(3), row.get(4));
    assert_eq!(
        (draw, winner.as_deref(), seq),
        (false, Some("ann"), 9),
        "X takes the middle column"
    );
}
