//! No log line of a whole sign-up, login, refresh and session carries the password or any
//! token: every line the bridge, the accounts worker and the kit log (debug level) is
//! captured and searched.

mod common;

use chorus_testkit::client::Ws;
use common::Harness;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Every log line, kept for the assertions.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flow_logs_no_password_and_no_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let (h, _db) = Harness::with_accounts(900).await;
    let password = "pw-marker-5b1e0c";
    let mut guest = h.ws().await;
    let data = json!({"name":"gil","password":password});
    assert_eq!(
        guest
            .call(json!({"op":"req","id":"s","subject":"svc.accounts.signup","data":data}))
            .await["op"],
        "reply"
    );
    let wrong = json!({"name":"gil","password":format!("{password}-wrong")});
    assert_eq!(
        guest
            .call(json!({"op":"req","id":"w","subject":"svc.accounts.login","data":wrong}))
            .await["code"],
        "unauthorized"
    );
    let login = guest
        .call(json!({"op":"req","id":"l","subject":"svc.accounts.login","data":data}))
        .await["data"]
        .clone();
    let (access, refresh) = (
        login["access_token"].as_str().unwrap(),
        login["refresh_token"].as_str().unwrap(),
    );
    let (mut ws, _) = Ws::connect(
        h.http,
        &format!("/core/game/v1/real-time/private?token={access}"),
        &[],
    )
    .await
    .unwrap();
    let refreshed = ws
        .call(json!({"op":"req","id":"r","subject":"svc.accounts.refresh","data":{"refresh_token":refresh}}))
        .await;
    let new_access = refreshed["data"]["access_token"].as_str().unwrap();
    assert_eq!(
        ws.call(json!({"op":"auth","id":"a","token":new_access})).await["op"],
        "ok"
    );
    let change = json!({"old_password":password,"new_password":format!("{password}-new")});
    assert_eq!(
        ws.call(json!({"op":"req","id":"p","subject":"svc.accounts.password","data":change}))
            .await["op"],
        "reply"
    );
    // A forged token on a fresh connection, refused.
    let mut forged = Ws::connect_raw(
        h.http,
        &format!("/core/game/v1/real-time/private?token={access}x"),
    )
    .await;
    assert_eq!(forged.closed().await.code, 4500);

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // The capture works: the bridge's refusal and the worker's start-up are in it.
    assert!(
        log.contains("token refused"),
        "the bridge's lines were not captured:\n{log}"
    );
    assert!(
        log.contains("migration applied"),
        "the worker's lines were not captured"
    );
    assert!(!log.contains("pw-marker-5b1e0c"), "a password reached the log");
    for token in [access, refresh, new_access] {
        // Any recognisable piece of a token (its signature part) counts.
        let tail = &token[token.len() - 20..];
        assert!(!log.contains(tail), "a token reached the log");
    }
}
