//! The bridge never refuses a valid token for want of the signing keys: not when it started
//! before the accounts worker, not after the worker restarted with a new key. Tokens with a
//! `kid` it does not hold wait for one fetch (single-flight, paced), forged `kid`s are
//! refused after it, and without any accounts worker the wait ends `unavailable` (4004).
//!
//! The accounts worker is the real binary (keys from `CHORUS_SIGNING_KEYS`, as an operator
//! rotates them); every JWKS request the bridge makes is seen by a plain NATS subscriber
//! beside the worker's queue group, so the tests count fetches exactly.

mod common;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chorus_bridge::{Config, InProcess};
use chorus_protocol::policy::Policy;
use chorus_testkit::client::Ws;
use chorus_testkit::{NatsServer, Process, TestDb};
use futures_util::{FutureExt, StreamExt};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::{Value, json};
use std::net::SocketAddr;

/// A fresh P-256 key as base64 PKCS#8, the form `CHORUS_SIGNING_KEYS` takes.
fn new_key() -> String {
    let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
    STANDARD.encode(der.as_ref())
}

/// A free address on 127.0.0.1.
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The `chorus-accounts` binary signing with the last of `keys`, ready (its endpoints
/// subscribed) when this returns.
async fn accounts(nats: &NatsServer, db: &TestDb, keys: &[&str]) -> Process {
    let http = free_addr();
    let mut worker = Process::spawn(
        "chorus-accounts",
        &[
            ("CHORUS_NATS_URL", &nats.url()),
            ("DATABASE_URL", db.url()),
            ("CHORUS_SIGNING_KEYS", &keys.join(",")),
            ("CHORUS_WORKER_HTTP_ADDR", &http.to_string()),
            ("CHORUS_PBKDF2_ITERATIONS", "1000"),
            ("CHORUS_LOG", "warn"),
        ],
    );
    worker.wait_ready(http, "/readyz").await;
    worker
}

/// A bridge in-process with the default policy and settings `tune` adjusts.
async fn bridge(nats: &NatsServer, tune: impl FnOnce(&mut Config)) -> InProcess {
    let mut config = Config::defaults();
    tune(&mut config);
    let client = async_nats::connect(nats.url()).await.unwrap();
    chorus_bridge::spawn_in_process(client, config, Policy::default())
        .await
        .unwrap()
}

/// Every JWKS request on the bus, as a plain (non-queue) subscriber sees them.
struct FetchCounter {
    client: async_nats::Client,
    requests: async_nats::Subscriber,
    seen: usize,
}

impl FetchCounter {
    async fn start(nats: &NatsServer) -> FetchCounter {
        let client = async_nats::connect(nats.url()).await.unwrap();
        let requests = client.subscribe("svc.accounts.jwks").await.unwrap();
        chorus_runtime::bus::round_trip(&client, std::time::Duration::from_secs(10))
            .await
            .unwrap();
        FetchCounter {
            client,
            requests,
            seen: 0,
        }
    }

    /// Requests seen so far. After a round trip through the server (our own message back),
    /// every request it routed to us before it has arrived; those are in the subscriber.
    async fn count(&mut self) -> usize {
        chorus_runtime::bus::round_trip(&self.client, std::time::Duration::from_secs(10))
            .await
            .unwrap();
        while let Some(Some(_)) = self.requests.next().now_or_never() {
            self.seen += 1;
        }
        self.seen
    }
}

/// Signs `name` up and logs in on a guest connection; the access token.
async fn token_for(http: SocketAddr, name: &str) -> String {
    let login = common::sign_up_and_log_in(http, name).await;
    login["access_token"].as_str().unwrap().to_string()
}

/// The first frame on the private endpoint with `token`.
async fn private_welcome(http: SocketAddr, token: &str) -> Value {
    let path = format!("/core/game/v1/real-time/private?token={token}");
    Ws::connect(http, &path, &[]).await.unwrap().1
}

/// How a connection on the private endpoint with `token` is closed.
async fn private_close(http: SocketAddr, token: &str) -> (u16, String) {
    let path = format!("/core/game/v1/real-time/private?token={token}");
    let closed = Ws::connect_raw(http, &path).await.closed().await;
    (closed.code, closed.reason)
}

/// An ES256-shaped token naming `kid`, with a signature that matches nothing.
fn forged(kid: &str) -> String {
    let header = json!({"alg":"ES256","typ":"JWT","kid":kid});
    let claims = json!({"sub":"1","name":"eve","ns":"private","iss":"chorus","aud":"chorus",
        "iat":1,"nbf":1,"exp":4_000_000_000u64});
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode([7u8; 64])
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_started_before_the_accounts_worker_takes_the_first_fresh_token() {
    let nats = NatsServer::start().await;
    let db = TestDb::create().await;
    let mut fetches = FetchCounter::start(&nats).await;
    // Fetches 3 s apart: the bridge's own retry cannot have picked up the keys before the
    // token arrives, so the token itself must wait for a fetch.
    let bridge = bridge(&nats, |c| c.jwks_min_interval_ms = 3_000).await;
    let _worker = accounts(&nats, &db, &[&new_key()]).await;
    assert_eq!(
        fetches.count().await,
        1,
        "the bridge's start-up fetch, which found nobody"
    );

    let token = token_for(bridge.http, "ann").await;
    let welcome = private_welcome(bridge.http, &token).await;
    assert_eq!(welcome["op"], "welcome", "{welcome}");
    assert_eq!(welcome["user"]["ns"], "private", "{welcome}");
    assert_eq!(fetches.count().await, 2, "one fetch for the token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_with_a_new_key_tokens_wait_for_one_shared_fetch() {
    let nats = NatsServer::start().await;
    let db = TestDb::create().await;
    let old_key = new_key();
    let mut worker = accounts(&nats, &db, &[&old_key]).await;
    let bridge = bridge(&nats, |_| {}).await;
    let mut fetches = FetchCounter::start(&nats).await;
    let old_token = token_for(bridge.http, "ann").await;
    assert_eq!(private_welcome(bridge.http, &old_token).await["op"], "welcome");
    let before = fetches.count().await;

    // The operator rotates: the old key stays to verify, the new one signs.
    worker.kill9().await;
    let _worker = accounts(&nats, &db, &[&old_key, &new_key()]).await;
    let token = token_for(bridge.http, "bob").await;
    let welcomes =
        futures_util::future::join_all((0..20).map(|_| private_welcome(bridge.http, &token))).await;
    for welcome in &welcomes {
        assert_eq!(welcome["op"], "welcome", "{welcome}");
        assert_eq!(welcome["user"]["name"], "bob", "{welcome}");
    }
    assert_eq!(
        fetches.count().await - before,
        1,
        "twenty waiting tokens, one fetch"
    );
    // A token of the old key still verifies, with no fetch.
    assert_eq!(private_welcome(bridge.http, &old_token).await["op"], "welcome");
    assert_eq!(fetches.count().await - before, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_kids_are_refused_after_one_fetch_between_them() {
    let nats = NatsServer::start().await;
    let db = TestDb::create().await;
    let _worker = accounts(&nats, &db, &[&new_key()]).await;
    // Fetches 2 s apart: the forged tokens all arrive while the next fetch is held back.
    let bridge = bridge(&nats, |c| c.jwks_min_interval_ms = 2_000).await;
    // The bridge holds the keys once its JWKS is served.
    chorus_testkit::http::wait_ready(bridge.http, "/.well-known/jwks.json").await;
    let mut fetches = FetchCounter::start(&nats).await;

    let tokens: Vec<String> = (0..10).map(|i| forged(&format!("kid-{i}"))).collect();
    let refusals = futures_util::future::join_all(tokens.iter().map(|t| private_close(bridge.http, t))).await;
    for refusal in refusals {
        assert_eq!(refusal, (4500, "unauthorized".to_string()));
    }
    assert_eq!(fetches.count().await, 1, "ten unknown kids, one fetch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_accounts_worker_a_token_is_closed_unavailable() {
    let nats = NatsServer::start().await;
    let bridge = bridge(&nats, |c| {
        c.jwks_wait_ms = 500;
        c.jwks_min_interval_ms = 100;
    })
    .await;
    let closed = private_close(bridge.http, &forged("some-kid")).await;
    assert_eq!(closed, (4004, "unavailable".to_string()));
    // A malformed token is refused as such, without waiting for keys.
    let closed = private_close(bridge.http, "not-a-token").await;
    assert_eq!(closed, (4500, "unauthorized".to_string()));
}
