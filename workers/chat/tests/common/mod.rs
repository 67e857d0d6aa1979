//! Shared set-up of the chat worker's tests. In-process: a real nats-server, the chat
//! service served on it (and the accounts worker, for blocks), and callers with hand-set
//! `Chorus-*` headers, as a bridge would stamp them. As real processes: the whole stack
//! (`chorus-accounts`, `chorus-chat`, `chorus-bridge`) with their logs in files, and
//! wire-contract clients in front of it.
#![allow(dead_code)]

use async_nats::HeaderMap;
use chorus_chat::{Chat, Settings};
use chorus_kit::metrics::Metrics;
use chorus_protocol::headers;
pub use chorus_testkit::client::{WAIT, Ws};
use chorus_testkit::{NatsServer, Process, TestDb};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::time::timeout;

/// Settings for in-process tests: the defaults, with a rate that floods no test by accident.
pub fn settings() -> Settings {
    Settings {
        rate_per_sec: 1000,
        rate_burst: 1000,
        ..Settings::default()
    }
}

/// Serves the chat worker with `settings` on `nats`, in the background; returns once it
/// answers.
pub async fn start_chat(nats: &NatsServer, settings: Settings) -> Arc<Chat> {
    start_chat_metered(nats, settings).await.0
}

/// [`start_chat`], and the worker's metrics, to read what it timed.
pub async fn start_chat_metered(nats: &NatsServer, settings: Settings) -> (Arc<Chat>, Arc<Metrics>) {
    let client = async_nats::connect(nats.url()).await.unwrap();
    let metrics = Arc::new(Metrics::new("chat"));
    let chat = Chat::open(client.clone(), settings, metrics.waits())
        .await
        .unwrap();
    let served = chorus_chat::service(chat.clone()).serve(client, metrics.clone(), std::future::pending());
    tokio::spawn(served);
    nats.await_subscriber("svc.chat.unmute").await;
    (chat, metrics)
}

/// Serves the accounts worker (accounts, friends, blocks) on `nats` over a fresh database.
pub async fn start_accounts(nats: &NatsServer) -> TestDb {
    let db = TestDb::create().await;
    let client = async_nats::connect(nats.url()).await.unwrap();
    let settings = chorus_accounts::Settings::for_tests(900);
    chorus_accounts::spawn_in_process(client, db.url(), settings)
        .await
        .unwrap();
    nats.await_subscriber(chorus_chat::settings::BLOCKS_SUBJECT).await;
    db
}

/// Someone calling through a bridge, as the bridge would stamp them.
#[derive(Debug, Clone)]
pub struct User {
    /// `Chorus-User`.
    pub id: String,
    /// `Chorus-Name`.
    pub name: String,
    /// `Chorus-Ns`.
    pub ns: &'static str,
}

impl User {
    /// A signed-in user.
    pub fn new(id: &str, name: &str) -> User {
        User {
            id: id.into(),
            name: name.into(),
            ns: "private",
        }
    }

    /// A guest.
    pub fn guest() -> User {
        User {
            id: "g-0123456789abcdef".into(),
            name: "guest-0123".into(),
            ns: "guest",
        }
    }

    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(headers::USER, self.id.as_str());
        h.insert(headers::NAME, self.name.as_str());
        h.insert(headers::NS, self.ns);
        h.insert(headers::CONN, "test-1");
        h
    }
}

/// A worker's answer: the reply, or `(code, message)` from `Chorus-Error`.
pub type Answer = Result<Value, (String, String)>;

/// Calls `svc.{method}` as `user` (or without identity) with `body`.
pub async fn call(client: &async_nats::Client, method: &str, user: Option<&User>, body: Value) -> Answer {
    let mut request = async_nats::Request::new()
        .payload(serde_json::to_vec(&body).unwrap().into())
        .timeout(Some(WAIT));
    if let Some(user) = user {
        request = request.headers(user.headers());
    }
    let reply = client
        .send_request(format!("svc.{method}"), request)
        .await
        .unwrap_or_else(|e| panic!("svc.{method}: {e}"));
    if let Some(code) = reply.headers.as_ref().and_then(|h| h.get(headers::ERROR)) {
        let message = String::from_utf8_lossy(&reply.payload).to_string();
        return Err((code.as_str().to_string(), message));
    }
    Ok(serde_json::from_slice(&reply.payload).unwrap())
}

/// The error code of an answer that must be an error.
pub fn code(answer: Answer) -> String {
    match answer {
        Ok(v) => panic!("expected an error, got {v}"),
        Err((code, _)) => code,
    }
}

/// The next message on `sub` as JSON, within [`WAIT`].
pub async fn next_json(sub: &mut async_nats::Subscriber) -> Value {
    let msg = timeout(WAIT, sub.next())
        .await
        .expect("a message in time")
        .expect("subscription open");
    serde_json::from_slice(&msg.payload).unwrap()
}

/// The ids of a `history` reply, in order.
pub fn ids(history: &Value) -> Vec<String> {
    history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

/// A random hex string, so a test can search for exactly what it wrote.
pub fn marker() -> String {
    use std::hash::{BuildHasher, RandomState};
    let state = RandomState::new();
    format!(
        "{:016x}{:016x}",
        state.hash_one(std::time::SystemTime::now()),
        state.hash_one(std::process::id())
    )
}

/// The whole stack as real processes, as an operator runs it: a nats-server, Postgres,
/// `chorus-accounts`, `chorus-chat` and `chorus-bridge`, all logging at debug level.
pub struct Stack {
    /// The nats-server.
    pub nats: NatsServer,
    /// The accounts database.
    pub db: TestDb,
    /// `chorus-accounts`.
    pub accounts: Process,
    /// `chorus-chat`.
    pub chat: Process,
    /// `chorus-bridge`.
    pub bridge: Process,
    /// The bridge's HTTP (WebSocket) address.
    pub http: SocketAddr,
    /// Where the accounts worker keeps the signing key it generated.
    _keys: tempfile::TempDir,
}

impl Stack {
    /// Starts everything; `chat_env` adds settings of the chat worker. Returns once every
    /// process answers `/readyz` (for a worker: every endpoint subscribed).
    pub async fn start(chat_env: &[(&str, &str)]) -> Stack {
        let nats = NatsServer::start().await;
        let db = TestDb::create().await;
        let keys = tempfile::tempdir().unwrap();
        let url = nats.url();
        let common = [("CHORUS_NATS_URL", url.as_str()), ("CHORUS_LOG", "debug")];
        let free = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .to_string()
        };
        let (accounts_http, chat_http, http, tcp) = (free(), free(), free(), free());
        let mut accounts = Process::spawn(
            "chorus-accounts",
            &[
                &common[..],
                &[
                    ("CHORUS_WORKER_HTTP_ADDR", accounts_http.as_str()),
                    ("DATABASE_URL", db.url()),
                    ("CHORUS_GENERATE_KEY", "true"),
                    ("CHORUS_SIGNING_KEY_DIR", keys.path().to_str().unwrap()),
                    ("CHORUS_PBKDF2_ITERATIONS", "1000"),
                ],
            ]
            .concat(),
        );
        let chat_addr = [("CHORUS_WORKER_HTTP_ADDR", chat_http.as_str())];
        let mut chat = Process::spawn("chorus-chat", &[&common[..], &chat_addr, chat_env].concat());
        // The bridge fetches the signing keys when it starts.
        accounts
            .wait_ready(accounts_http.parse().unwrap(), "/readyz")
            .await;
        let mut bridge = Process::spawn(
            "chorus-bridge",
            &[
                &common[..],
                &[
                    ("CHORUS_HTTP_ADDR", http.as_str()),
                    ("CHORUS_TCP_ADDR", tcp.as_str()),
                ],
            ]
            .concat(),
        );
        let http: SocketAddr = http.parse().unwrap();
        chat.wait_ready(chat_http.parse().unwrap(), "/readyz").await;
        bridge.wait_ready(http, "/readyz").await;
        Stack {
            nats,
            db,
            accounts,
            chat,
            bridge,
            http,
            _keys: keys,
        }
    }

    /// A guest on the public endpoint, past its `welcome`.
    pub async fn guest(&self) -> Client {
        let (ws, welcome) = Ws::connect(self.http, "/core/game/v1/real-time/public", &[])
            .await
            .unwrap();
        assert_eq!(welcome["op"], "welcome", "{welcome}");
        Client::new(ws, welcome)
    }

    /// Signs `name` up and logs in through a guest connection, then connects as that user.
    pub async fn user(&self, name: &str) -> Client {
        let mut guest = self.guest().await;
        let data = json!({"name": name, "password": "password-123"});
        guest.request("svc.accounts.signup", data.clone()).await.unwrap();
        let login = guest.request("svc.accounts.login", data).await.unwrap();
        let token = login["access_token"].as_str().unwrap();
        let (ws, welcome) = Ws::connect(self.http, &format!("/v1/ws?token={token}"), &[])
            .await
            .unwrap();
        assert_eq!(welcome["user"]["ns"], "private", "{welcome}");
        Client::new(ws, welcome)
    }

    /// Every log there is: each process's and the nats-server's, by name.
    pub fn logs(&self) -> Vec<(String, String)> {
        let mut logs: Vec<(String, String)> = [&self.accounts, &self.chat, &self.bridge]
            .iter()
            .map(|p| (p.name.clone(), p.log()))
            .collect();
        let nats_log = std::fs::read_to_string(self.nats.log_path()).unwrap_or_default();
        logs.push(("nats-server".into(), nats_log));
        logs
    }
}

/// A WebSocket client of the bridge that keeps frames it was not waiting for, so a test
/// can await a reply and a delivery in either order.
pub struct Client {
    /// The socket.
    ws: Ws,
    /// The `welcome` frame.
    pub welcome: Value,
    /// Frames read but not yet taken.
    pending: Vec<Value>,
    /// The next request id.
    next_id: u64,
}

impl Client {
    fn new(ws: Ws, welcome: Value) -> Client {
        Client {
            ws,
            welcome,
            pending: Vec::new(),
            next_id: 0,
        }
    }

    /// The user id the bridge gave this connection.
    pub fn id(&self) -> String {
        self.welcome["user"]["id"].as_str().unwrap().to_string()
    }

    /// The first frame matching `want`, read or waited for.
    pub async fn take(&mut self, want: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.pending.iter().position(&want) {
            return self.pending.remove(i);
        }
        loop {
            let frame = self.ws.recv().await;
            if want(&frame) {
                return frame;
            }
            self.pending.push(frame);
        }
    }

    /// Sends a frame with a fresh id and returns that id.
    pub async fn send(&mut self, mut frame: Value) -> String {
        self.next_id += 1;
        let id = self.next_id.to_string();
        frame["id"] = json!(id);
        self.ws.send(frame).await;
        id
    }

    /// Subscribes to `subject`.
    pub async fn sub(&mut self, subject: &str) {
        let id = self.send(json!({"op":"sub","subject":subject})).await;
        let answer = self.take(|f| f["id"] == id).await;
        assert_eq!(answer["op"], "ok", "sub {subject}: {answer}");
    }

    /// A request: its reply's data, or `(code, message)`.
    pub async fn request(&mut self, subject: &str, data: Value) -> Answer {
        let id = self.send(json!({"op":"req","subject":subject,"data":data})).await;
        let answer = self.take(|f| f["id"] == id).await;
        match answer["op"].as_str() {
            Some("reply") => Ok(answer["data"].clone()),
            Some("err") => Err((
                answer["code"].as_str().unwrap().to_string(),
                answer["message"].as_str().unwrap_or_default().to_string(),
            )),
            _ => panic!("unexpected answer {answer}"),
        }
    }

    /// The next `msg` frame on `subject`.
    pub async fn delivery(&mut self, subject: &str) -> Value {
        self.take(|f| f["op"] == "msg" && f["subject"] == subject).await
    }
}
