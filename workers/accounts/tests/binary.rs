//! The `chorus-accounts` binary as an operator runs it: keys from `CHORUS_SIGNING_KEYS`,
//! migrations on start, the JWKS served, `/healthz` up, a clean exit on SIGTERM.

use base64::Engine;
use chorus_accounts::keys::SigningKeys;
use chorus_protocol::token::Jwks;
use chorus_testkit::{NatsServer, TestDb};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use std::process::Stdio;
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
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_chorus-accounts"))
        .env("CHORUS_NATS_URL", nats.url())
        .env("DATABASE_URL", db.url())
        .env(
            "CHORUS_SIGNING_KEYS",
            format!("{},{}", b64(old.as_ref()), b64(new.as_ref())),
        )
        .env("CHORUS_LOG", "warn")
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let client = async_nats::connect(nats.url()).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let jwks = loop {
        match client.request("svc.accounts.jwks", "".into()).await {
            Ok(reply) => break serde_json::from_slice::<Jwks>(&reply.payload).unwrap(),
            Err(_) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the worker never answered"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let expected = SigningKeys::from_pkcs8(&[old.as_ref(), new.as_ref()])
        .unwrap()
        .jwks();
    assert_eq!(jwks, expected);
    // Migrated on start.
    let tables = db.connect().await.query("SELECT 1 FROM accounts", &[]).await;
    assert!(tables.is_ok(), "{tables:?}");

    let exit = chorus_testkit::terminate(&mut child, Duration::from_secs(15)).await;
    assert!(exit.success(), "{exit:?}");
}
