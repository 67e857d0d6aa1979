//! What the rooms tests share: a nats-server, a fresh database, the worker in-process, and
//! players who call it as the bridge would (with the `Chorus-*` identity headers).
#![allow(dead_code)]

use chorus_kit::metrics::Metrics;
use chorus_rooms::{Rooms, Settings};
use chorus_testkit::{NatsServer, TestDb};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// One rooms worker (or more) on a private nats-server and database.
pub struct Stack {
    pub nats: NatsServer,
    pub db: TestDb,
    pub client: async_nats::Client,
    pub rooms: Arc<Rooms>,
    /// The first replica's metrics (what its `/metrics` would show).
    pub metrics: Arc<Metrics>,
    pub served: Vec<tokio::task::JoinHandle<()>>,
}

impl Stack {
    /// The worker over `settings`.
    pub async fn start(settings: Settings) -> Stack {
        let nats = NatsServer::start().await;
        let db = TestDb::create().await;
        let client = async_nats::connect(nats.url()).await.unwrap();
        let metrics = Arc::new(Metrics::new("rooms"));
        let (rooms, served) =
            chorus_rooms::spawn_in_process_metered(client.clone(), db.url(), settings, metrics.clone())
                .await
                .unwrap();
        Stack {
            nats,
            db,
            client,
            rooms,
            metrics,
            served: vec![served],
        }
    }

    /// Another replica on the same server and database.
    pub async fn replica(&mut self, settings: Settings) -> Arc<Rooms> {
        let client = async_nats::connect(self.nats.url()).await.unwrap();
        let (rooms, served) = chorus_rooms::spawn_in_process(client, self.db.url(), settings)
            .await
            .unwrap();
        self.served.push(served);
        rooms
    }

    /// `int.rooms.create` of `game` for `players` (ids; names are the ids in capitals).
    pub async fn create(&self, game: &str, players: &[&str], rated: bool) -> Value {
        create(&self.client, game, players, rated).await
    }

    /// `subject` called by `user`, as a bridge forwards it: `Ok(reply)` or `Err(code)`.
    pub async fn call(&self, user: &str, subject: &str, body: Value) -> Result<Value, String> {
        call(&self.client, user, subject, body).await
    }
}

/// The count of the histogram `name` (without `chorus_worker_`) with `labels` (after
/// `worker="rooms",`) on `metrics`, 0 when it has no such series.
pub fn count(metrics: &Metrics, name: &str, labels: &str) -> u64 {
    metrics.histogram_count(
        &format!("chorus_worker_{name}"),
        &format!(r#"worker="rooms",{labels}"#),
    )
}

/// `int.rooms.create` of `game` for `players` (ids; names are the ids in capitals) on
/// `client`, as the matchmaker asks it: the reply.
pub async fn create(client: &async_nats::Client, game: &str, players: &[&str], rated: bool) -> Value {
    let players: Vec<Value> = players
        .iter()
        .map(|p| json!({"id": p, "name": p.to_uppercase()}))
        .collect();
    let body = json!({"game": game, "players": players, "rated": rated});
    let reply = client
        .request("int.rooms.create", body.to_string().into())
        .await
        .unwrap();
    assert!(
        reply.headers.is_none(),
        "create failed: {}",
        String::from_utf8_lossy(&reply.payload)
    );
    serde_json::from_slice(&reply.payload).unwrap()
}

/// `subject` called by `user` on `client`, as a bridge forwards it.
pub async fn call(
    client: &async_nats::Client,
    user: &str,
    subject: &str,
    body: Value,
) -> Result<Value, String> {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Chorus-User", user);
    headers.insert("Chorus-Name", user.to_uppercase().as_str());
    headers.insert(
        "Chorus-Ns",
        if user.starts_with("g-") {
            "guest"
        } else {
            "private"
        },
    );
    headers.insert("Chorus-Conn", "test-1");
    let asked = client.request_with_headers(subject.to_string(), headers, body.to_string().into());
    let reply = tokio::time::timeout(Duration::from_secs(10), asked)
        .await
        .expect("answered")
        .unwrap();
    match reply.headers.as_ref().and_then(|h| h.get("Chorus-Error")) {
        Some(code) => Err(code.as_str().to_string()),
        None => Ok(serde_json::from_slice(&reply.payload).unwrap()),
    }
}

/// A games directory holding tictactoe.js and `extra` files (name, source).
pub fn games_dir(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../games/tictactoe.js");
    std::fs::copy(shipped, dir.path().join("tictactoe.js")).unwrap();
    for (name, source) in extra {
        std::fs::write(dir.path().join(name), source).unwrap();
    }
    dir
}

/// tictactoe.js with another turn time limit.
pub fn tictactoe_with_turn_limit(ms: u64) -> String {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../games/tictactoe.js");
    std::fs::read_to_string(shipped)
        .unwrap()
        .replace("turn_timeout_ms: 60000", &format!("turn_timeout_ms: {ms}"))
}
