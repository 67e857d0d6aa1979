//! What the matchmaker's tests stand on: a real nats-server, replicas in-process, a
//! stand-in for the rooms worker (a plain NATS responder to `int.rooms.create` and
//! `int.rating.of`), and requests stamped as a bridge stamps them.
#![allow(dead_code)]

use async_nats::HeaderMap;
use chorus_kit::metrics::Metrics;
use chorus_matchmaker::{Catalog, Settings};
use chorus_protocol::headers;
use chorus_testkit::NatsServer;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// Settings for tests: tic-tac-toe, rounds every 20 ms.
pub fn settings() -> Settings {
    let mut s = Settings::with_games("tictactoe=2,arena=2-4").unwrap();
    s.round = Duration::from_millis(20);
    s
}

/// A matchmaker replica on `server` with `settings`, its endpoints on the server when
/// this returns (the kit's flush only means the subscriptions were sent, so the server's
/// own count is awaited).
pub async fn replica(server: &NatsServer, settings: Settings) {
    let catalog = Catalog::new(&settings);
    replica_with(server, settings, catalog).await
}

/// [`replica`], and its metrics, to read what it timed and counted.
pub async fn replica_metered(server: &NatsServer, settings: Settings) -> Arc<Metrics> {
    let metrics = Arc::new(Metrics::new("mm"));
    let catalog = Catalog::new(&settings);
    let nats = async_nats::ConnectOptions::new()
        .name("chorus-mm-metered")
        .connect(server.url())
        .await
        .unwrap();
    chorus_matchmaker::spawn_in_process_metered(nats, settings, catalog, metrics.clone())
        .await
        .unwrap();
    server
        .await_subscriptions_of("chorus-mm-metered", "svc.mm.leave", 1)
        .await;
    metrics
}

/// [`replica`] with the games of `catalog`.
pub async fn replica_with(server: &NatsServer, settings: Settings, catalog: Catalog) {
    static REPLICAS: AtomicUsize = AtomicUsize::new(0);
    let name = format!("chorus-mm-{}", REPLICAS.fetch_add(1, Ordering::Relaxed));
    let nats = async_nats::ConnectOptions::new()
        .name(&name)
        .connect(server.url())
        .await
        .unwrap();
    chorus_matchmaker::spawn_in_process(nats, settings, catalog)
        .await
        .unwrap();
    server.await_subscriptions_of(&name, "svc.mm.leave", 1).await;
}

/// The rooms worker's stand-in: answers ratings from a table (1500 for anyone else) and
/// opens rooms `r1`, `r2`, …, seating players in the order given; every `create` it
/// answered is sent on the returned channel.
pub async fn fake_rooms(
    nats: &async_nats::Client,
    ratings: HashMap<String, f64>,
) -> mpsc::UnboundedReceiver<Value> {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut creates = nats.subscribe("int.rooms.create").await.unwrap();
    let mut asks = nats.subscribe("int.rating.of").await.unwrap();
    chorus_runtime::bus::round_trip(nats, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let client = nats.clone();
    tokio::spawn(async move {
        let mut n = 0;
        while let Some(msg) = creates.next().await {
            n += 1;
            let body: Value = serde_json::from_slice(&msg.payload).unwrap();
            let players: Vec<Value> = body["players"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
                .map(|(seat, p)| json!({"id": p["id"], "name": p["name"], "seat": seat}))
                .collect();
            let reply = json!({"room": format!("r{n}"), "game": body["game"], "players": players});
            client
                .publish(msg.reply.unwrap(), reply.to_string().into())
                .await
                .unwrap();
            let _ = tx.send(body);
        }
    });
    let client = nats.clone();
    tokio::spawn(async move {
        while let Some(msg) = asks.next().await {
            let body: Value = serde_json::from_slice(&msg.payload).unwrap();
            let mut out = serde_json::Map::new();
            for u in body["users"].as_array().unwrap() {
                let u = u.as_str().unwrap();
                if let Some(r) = ratings.get(u) {
                    out.insert(u.to_string(), json!(r));
                }
            }
            let reply = json!({"ratings": out});
            client
                .publish(msg.reply.unwrap(), reply.to_string().into())
                .await
                .unwrap();
        }
    });
    rx
}

/// Who a request comes from, as a bridge would stamp it.
pub fn caller(uid: &str, conn: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(headers::USER, uid);
    h.insert(headers::NAME, format!("name-{uid}").as_str());
    let ns = if uid.starts_with("g-") { "guest" } else { "private" };
    h.insert(headers::NS, ns);
    h.insert(headers::CONN, conn);
    h
}

/// A request to `svc.mm.{method}` from `uid` on `conn`: `Ok(reply)` or `Err(code)`.
pub async fn call(
    nats: &async_nats::Client,
    method: &str,
    uid: &str,
    conn: &str,
    data: Value,
) -> Result<Value, String> {
    let msg = nats
        .request_with_headers(
            format!("svc.mm.{method}"),
            caller(uid, conn),
            data.to_string().into(),
        )
        .await
        .unwrap_or_else(|e| panic!("svc.mm.{method} from {uid}: {e}"));
    if let Some(code) = msg.headers.as_ref().and_then(|h| h.get(headers::ERROR)) {
        return Err(code.as_str().to_string());
    }
    Ok(serde_json::from_slice(&msg.payload).unwrap())
}

/// `uid` joins `game` on connection `conn-{uid}`.
pub async fn join(nats: &async_nats::Client, uid: &str, game: &str) -> Result<Value, String> {
    call(nats, "join", uid, &format!("conn-{uid}"), json!({"game": game})).await
}

/// The `mm` bucket.
pub async fn bucket(nats: &async_nats::Client) -> async_nats::jetstream::kv::Store {
    async_nats::jetstream::new(nats.clone())
        .get_key_value("mm")
        .await
        .unwrap()
}
