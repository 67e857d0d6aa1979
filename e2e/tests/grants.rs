//! Grants, revokes and kicks across two real bridges on one nats-server, with the accounts
//! worker behind them: rights that follow a user to another bridge, a revoke that drops a
//! live subscription, kicks that close a user everywhere.

mod common;

use chorus_kit::ctl;
use chorus_protocol::grant::Grant;
use chorus_runtime::clock::unix_now;
use chorus_testkit::client::{WAIT, Ws};
use common::Harness;
use serde_json::{Value, json};
use std::net::SocketAddr;

const PRIVATE: &str = "/core/game/v1/real-time/private";

async fn connect(http: SocketAddr, login: &Value) -> Ws {
    let token = login["access_token"].as_str().unwrap();
    let (ws, welcome) = Ws::connect(http, &format!("{PRIVATE}?token={token}"), &[])
        .await
        .unwrap();
    assert_eq!(welcome["user"], login["user"]);
    ws
}

/// Subscribes until the bridge says ok: a grant reaches the bridge asynchronously.
async fn subscribe_once_granted(ws: &mut Ws, subject: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let answer = ws.call(json!({"op":"sub","id":"g","subject":subject})).await;
        if answer["op"] == "ok" {
            return;
        }
        assert_eq!(answer["code"], "forbidden", "{answer}");
        assert!(tokio::time::Instant::now() < deadline, "the grant never arrived");
    }
}

fn room_grant() -> Grant {
    Grant::builder()
        .subscribe("room.r1.>")
        .publish("room.r1.input")
        .expires_at(unix_now() + 600)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_given_on_one_bridge_holds_after_reconnecting_to_the_other() {
    let (h, _db) = Harness::with_accounts(900).await;
    let other = h.another_bridge().await;
    let worker = h.nats_client().await;
    let login = h.sign_up_and_log_in("ann").await;
    let uid = login["user"]["id"].as_str().unwrap().to_string();

    let mut on_a = connect(h.http, &login).await;
    let forbidden = on_a
        .call(json!({"op":"sub","id":"1","subject":"room.r1.state"}))
        .await;
    assert_eq!(forbidden["code"], "forbidden");
    ctl::grant(&worker, &uid, &room_grant()).await.unwrap();
    subscribe_once_granted(&mut on_a, "room.r1.state").await;
    let published = on_a
        .call(json!({"op":"pub","id":"2","subject":"room.r1.input","data":{"move":1}}))
        .await;
    assert_eq!(published, json!({"op":"ok","id":"2"}));
    let not_granted = on_a
        .call(json!({"op":"pub","id":"3","subject":"room.r1.state","data":{}}))
        .await;
    assert_eq!(not_granted["code"], "forbidden");

    // Await the grant in KV (that is what the other bridge reads), then move over.
    let kv = async_nats::jetstream::new(worker.clone())
        .get_key_value("grants")
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while kv.get(&uid).await.unwrap().is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the grant was never stored"
        );
        tokio::task::yield_now().await;
    }
    drop(on_a);
    let mut on_b = connect(other.http, &login).await;
    assert_eq!(
        on_b.call(json!({"op":"sub","id":"4","subject":"room.r1.state"}))
            .await,
        json!({"op":"ok","id":"4"})
    );
    // A request through the same bridge: once its reply is back, the bridge's SUB has
    // reached nats-server, and a publish from another connection cannot overtake it.
    let synced = on_b
        .call(json!({"op":"req","id":"sync","subject":"svc.accounts.me"}))
        .await;
    assert_eq!(synced["op"], "reply", "{synced}");
    worker
        .publish("room.r1.state", r#"{"turn":2}"#.into())
        .await
        .unwrap();
    assert_eq!(on_b.recv().await["data"], json!({"turn":2}));

    // Another user has no such right.
    let other_login = h.sign_up_and_log_in("bea").await;
    let mut bea = connect(other.http, &other_login).await;
    assert_eq!(
        bea.call(json!({"op":"sub","id":"5","subject":"room.r1.state"}))
            .await["code"],
        "forbidden"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_drops_the_live_subscription_and_says_so() {
    let (h, _db) = Harness::with_accounts(900).await;
    let worker = h.nats_client().await;
    let login = h.sign_up_and_log_in("cid").await;
    let uid = login["user"]["id"].as_str().unwrap().to_string();
    let mut ws = connect(h.http, &login).await;
    ctl::grant(&worker, &uid, &room_grant()).await.unwrap();
    subscribe_once_granted(&mut ws, "room.r1.state").await;
    h.await_bridge_subscriptions("room.r1.state", 1).await;

    ctl::revoke(&worker, &uid, &["room.r1.>"]).await.unwrap();
    let revoked = ws.recv().await;
    assert_eq!(
        (
            revoked["op"].as_str(),
            revoked["code"].as_str(),
            revoked["subject"].as_str()
        ),
        (Some("err"), Some("revoked"), Some("room.r1.state"))
    );
    h.await_bridge_subscriptions("room.r1.state", 0).await;
    assert_eq!(
        ws.call(json!({"op":"sub","id":"6","subject":"room.r1.state"}))
            .await["code"],
        "forbidden"
    );
    // The connection itself lives on.
    assert_eq!(
        ws.call(json!({"op":"ping","id":"7"})).await,
        json!({"op":"pong","id":"7"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kick_closes_the_users_connections_on_both_bridges() {
    let (h, _db) = Harness::with_accounts(900).await;
    let other = h.another_bridge().await;
    let worker = h.nats_client().await;
    let login = h.sign_up_and_log_in("dan").await;
    let bystander_login = h.sign_up_and_log_in("eve").await;
    let uid = login["user"]["id"].as_str().unwrap().to_string();
    let mut on_a = connect(h.http, &login).await;
    let mut on_b = connect(other.http, &login).await;
    let mut bystander = connect(h.http, &bystander_login).await;

    ctl::kick(&worker, &uid, "banned for cheating", None)
        .await
        .unwrap();
    for ws in [&mut on_a, &mut on_b] {
        let told = ws.recv().await;
        assert_eq!(
            (told["code"].as_str(), told["message"].as_str()),
            (Some("revoked"), Some("banned for cheating"))
        );
        let closed = ws.closed().await;
        assert_eq!((closed.code, closed.reason.as_str()), (4503, "revoked"));
    }
    assert_eq!(
        bystander.call(json!({"op":"ping","id":"b"})).await,
        json!({"op":"pong","id":"b"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reusing_a_rotated_refresh_token_closes_the_users_connections() {
    let (h, _db) = Harness::with_accounts(900).await;
    let login = h.sign_up_and_log_in("fox").await;
    let mut ws = connect(h.http, &login).await;
    let refresh = |token: &Value| json!({"op":"req","id":"r","subject":"svc.accounts.refresh","data":{"refresh_token":token}});
    let first = login["refresh_token"].clone();
    assert_eq!(ws.call(refresh(&first)).await["op"], "reply");
    // A thief replays the spent token from elsewhere.
    let mut thief = h.ws().await;
    assert_eq!(thief.call(refresh(&first)).await["code"], "unauthorized");
    let told = ws.recv().await;
    assert_eq!(told["code"], "revoked");
    assert_eq!(ws.closed().await.code, 4503);
}
