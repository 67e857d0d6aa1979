//! The `chorus-accounts` binary as an operator runs it: keys from `CHORUS_SIGNING_KEYS`,
//! migrations on start, `/readyz` 200 once it serves (the first request answered), the
//! JWKS served, a sign-up's query timed on `/metrics`, a clean exit on SIGTERM.

use base64::Engine;
use chorus_accounts::keys::SigningKeys;
use chorus_protocol::token::Jwks;
use chorus_testkit::{NatsServer, Process, TestDb};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_the_configured_keys_and_stops_on_sigterm() {
    let nats = NatsServer::start().await;
    let db = TestDb::create().await;
    let (old, new) = (
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap(),
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap(),
    );
    let b64 = |k: &[u8]| base64::engine::general_purpose::STANDARD.encode(k);
    let keys = format!("{},{}", b64(old.as_ref()), b64(new.as_ref()));
    let http = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut worker = Process::spawn(
        "chorus-accounts",
        &[
            ("CHORUS_NATS_URL", &nats.url()),
            ("DATABASE_URL", db.url()),
            ("CHORUS_SIGNING_KEYS", &keys),
            ("CHORUS_WORKER_HTTP_ADDR", &http.to_string()),
            ("CHORUS_LOG", "warn"),
        ],
    );
    worker.wait_ready(http, "/readyz").await;
    // Ready means serving: the first request is answered, no retry.
    let client = async_nats::connect(nats.url()).await.unwrap();
    let reply = client.request("svc.accounts.jwks", "".into()).await.unwrap();
    let jwks: Jwks = serde_json::from_slice(&reply.payload).unwrap();
    let expected = SigningKeys::from_pkcs8(&[old.as_ref(), new.as_ref()])
        .unwrap()
        .jwks();
    assert_eq!(jwks, expected);
    // Migrated on start.
    let tables = db.connect().await.query("SELECT 1 FROM accounts", &[]).await;
    assert!(tables.is_ok(), "{tables:?}");
    // A sign-up's query is timed on /metrics.
    let mut signup = async_nats::HeaderMap::new();
    for (name, value) in [
        ("Chorus-User", "g-1"),
        ("Chorus-Name", "guest-1"),
        ("Chorus-Ns", "guest"),
        ("Chorus-Conn", "c1"),
    ] {
        signup.insert(name, value);
    }
    let body = r#"{"name":"ann","password":"correct horse battery"}"#;
    let reply = client
        .request_with_headers("svc.accounts.signup", signup, body.into())
        .await
        .unwrap();
    assert!(reply.headers.is_none(), "{:?}", reply.headers);
    let (_, metrics) = chorus_testkit::client::http_get(http, "/metrics").await;
    let timed = r#"chorus_worker_db_seconds_count{worker="accounts",op="signup"} 1"#;
    assert!(metrics.contains(timed), "{metrics}");

    let exit = worker.terminate(Duration::from_secs(15)).await;
    assert!(exit.success(), "{exit:?}\n{}", worker.log());
}
