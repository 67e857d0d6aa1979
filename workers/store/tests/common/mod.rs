//! A store on a real nats-server and a fresh Postgres database, called as a bridge would
//! (the `Chorus-*` identity headers stamped) or as another worker (none).
#![allow(dead_code)]

use chorus_store::{Catalog, Settings};
use chorus_testkit::{NatsServer, TestDb};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The catalog the tests sell from.
pub const CATALOG: &str = r#"{"goods":[
    {"id":"skin-red","name":"Red skin","price":30,"kind":"skin","limit":1},
    {"id":"emote-gg","name":"GG","price":10,"kind":"emote"},
    {"id":"crown","name":"Crown","price":500,"kind":"skin"},
    {"id":"free-hat","name":"Free hat","price":0,"kind":"skin","limit":2}
]}"#;

/// A nats-server, a database and one store worker on them.
pub struct Stack {
    /// The real nats-server.
    pub nats: NatsServer,
    /// The store's database.
    pub db: TestDb,
    /// A client of the bus (as a bridge or a worker).
    pub bus: async_nats::Client,
    /// The store worker's task; abort it to stop the worker.
    pub store: JoinHandle<Result<(), chorus_kit::KitError>>,
}

impl Stack {
    /// Everything fresh, one store serving.
    pub async fn start() -> Stack {
        let nats = NatsServer::start().await;
        let db = TestDb::create().await;
        let bus = async_nats::connect(nats.url()).await.unwrap();
        let store = spawn_store(&nats, &db).await;
        Stack { nats, db, bus, store }
    }

    /// Stops the store and starts a new one on the same database and bus.
    pub async fn restart_store(&mut self) {
        self.store.abort();
        let _ = (&mut self.store).await;
        self.store = spawn_store(&self.nats, &self.db).await;
    }

    /// `svc.store.{method}` as `user` (a signed-in user, or a guest when it starts `g-`).
    pub async fn call(&self, user: &str, method: &str, data: Value) -> Result<Value, (String, String)> {
        self.call_subject(user, &format!("svc.store.{method}"), data)
            .await
    }

    /// A request on `subject` as `user`, as a bridge forwards it.
    pub async fn call_subject(
        &self,
        user: &str,
        subject: &str,
        data: Value,
    ) -> Result<Value, (String, String)> {
        let mut h = async_nats::HeaderMap::new();
        let ns = if user.starts_with("g-") {
            "guest"
        } else {
            "private"
        };
        h.insert("Chorus-User", user);
        h.insert("Chorus-Name", format!("name-{user}").as_str());
        h.insert("Chorus-Ns", ns);
        h.insert("Chorus-Conn", "test-conn");
        let msg = self
            .bus
            .request_with_headers(subject.to_string(), h, data.to_string().into())
            .await
            .unwrap();
        answer(msg)
    }

    /// `int.store.{method}`, as another worker (no caller).
    pub async fn internal(&self, method: &str, data: Value) -> Result<Value, (String, String)> {
        let msg = self
            .bus
            .request(format!("int.store.{method}"), data.to_string().into())
            .await
            .unwrap();
        answer(msg)
    }

    /// `svc.store.buy` of `good` with `key`.
    pub async fn buy(&self, user: &str, good: &str, key: &str) -> Result<Value, (String, String)> {
        self.call(user, "buy", json!({"good": good, "idempotency_key": key}))
            .await
    }

    /// `user`'s balance and the sum of the ledger, read straight from Postgres.
    pub async fn balance_and_ledger_sum(&self, user: &str) -> (i64, i64) {
        let db = self.db.connect().await;
        let balance: i64 = db
            .query_one("SELECT balance FROM store_wallets WHERE user_id = $1", &[&user])
            .await
            .unwrap()
            .get(0);
        let sum: i64 = db
            .query_one(
                "SELECT COALESCE(sum(amount), 0)::bigint FROM store_ledger WHERE user_id = $1",
                &[&user],
            )
            .await
            .unwrap()
            .get(0);
        (balance, sum)
    }

    /// The ledger rows of `user` with `reason`.
    pub async fn entries(&self, user: &str, reason: &str) -> i64 {
        let db = self.db.connect().await;
        db.query_one(
            "SELECT count(*) FROM store_ledger WHERE user_id = $1 AND reason = $2",
            &[&user, &reason],
        )
        .await
        .unwrap()
        .get(0)
    }

    /// A subscription to `user.{uid}.wallet`, on the server before this returns.
    pub async fn wallet_events(&self, user: &str) -> async_nats::Subscriber {
        let sub = self.bus.subscribe(format!("user.{user}.wallet")).await.unwrap();
        chorus_runtime::bus::round_trip(&self.bus, std::time::Duration::from_secs(10))
            .await
            .unwrap();
        sub
    }
}

/// The next `{balance, reason}` told on a wallet subscription.
pub async fn next_event(sub: &mut async_nats::Subscriber) -> Value {
    let msg = tokio::time::timeout(std::time::Duration::from_secs(10), sub.next())
        .await
        .expect("a wallet event in time")
        .unwrap();
    serde_json::from_slice(&msg.payload).unwrap()
}

/// A store worker in-process on `nats` and `db`, subscribed when this returns.
pub async fn spawn_store(nats: &NatsServer, db: &TestDb) -> JoinHandle<Result<(), chorus_kit::KitError>> {
    let client = async_nats::connect(nats.url()).await.unwrap();
    let catalog = Catalog::parse(CATALOG).unwrap();
    chorus_store::spawn_in_process(client, db.url(), catalog, Settings::for_tests())
        .await
        .unwrap()
}

/// A reply's body, or its `Chorus-Error` code and message.
fn answer(msg: async_nats::Message) -> Result<Value, (String, String)> {
    let error = msg.headers.as_ref().and_then(|h| h.get("Chorus-Error"));
    match error {
        Some(code) => Err((
            code.as_str().to_string(),
            String::from_utf8_lossy(&msg.payload).into_owned(),
        )),
        None => Ok(serde_json::from_slice(&msg.payload).unwrap()),
    }
}
