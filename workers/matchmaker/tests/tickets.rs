//! Tickets over a real nats-server: join, rejoin, leave, and cancellation when the
//! connection that joined closes (and only that one).

mod support;

use async_nats::jetstream::kv;
use chorus_testkit::NatsServer;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use support::{bucket, call, fake_rooms, join, replica, settings};

/// A replica with one-player-short games (arena needs 2–4, and waits 5 s to fill), so
/// nobody is matched while these tests look at tickets.
async fn start() -> (NatsServer, async_nats::Client) {
    let server = NatsServer::start().await;
    let nats = async_nats::connect(server.url()).await.unwrap();
    let _ = fake_rooms(&nats, HashMap::from([("ann".to_string(), 1720.0)])).await;
    replica(&server, settings()).await;
    (server, nats)
}

async fn ticket(nats: &async_nats::Client, uid: &str) -> Option<Value> {
    let value = bucket(nats).await.get(format!("ticket.{uid}")).await.unwrap()?;
    Some(serde_json::from_slice(&value).unwrap())
}

/// Announces that `conn` of `uid` closed, as a bridge does.
async fn disconnect(nats: &async_nats::Client, uid: &str, conn: &str) {
    let event = json!({"bridge": "b1", "conn": conn, "user": uid, "name": uid});
    nats.publish(format!("presence.disconnect.{uid}"), event.to_string().into())
        .await
        .unwrap();
}

/// Awaits the next change of `uid`'s ticket.
async fn next_change(watch: &mut kv::Watch) -> kv::Operation {
    watch.next().await.unwrap().unwrap().operation
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_rejoin_and_leave() {
    let (_server, nats) = start().await;
    assert_eq!(join(&nats, "ann", "chess").await, Err("not_found".into()));
    let joined = join(&nats, "ann", "arena").await.unwrap();
    assert_eq!(joined["game"], "arena");
    assert!(joined["ticket"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(joined["queued_at"].as_u64().unwrap() > 0);
    let t = ticket(&nats, "ann").await.unwrap();
    assert_eq!(t["rating"], 1720.0, "the rooms worker's rating");
    assert_eq!(t["rated"], true);

    // Joining again replaces the waiting ticket: one per user.
    let again = join(&nats, "ann", "tictactoe").await.unwrap();
    assert_ne!(again["ticket"], joined["ticket"]);
    assert_eq!(ticket(&nats, "ann").await.unwrap()["game"], "tictactoe");

    let left = call(&nats, "leave", "ann", "conn-ann", json!({})).await.unwrap();
    assert_eq!(left, json!({"left": true}));
    assert!(ticket(&nats, "ann").await.is_none());
    let left = call(&nats, "leave", "ann", "conn-ann", json!({})).await.unwrap();
    assert_eq!(left, json!({"left": false}));
    // After a cancel (a deleted ticket), joining queues again.
    let back = join(&nats, "ann", "arena").await.unwrap();
    assert_ne!(back["ticket"], again["ticket"]);
    assert_eq!(ticket(&nats, "ann").await.unwrap()["game"], "arena");

    // A guest waits unrated, at the default rating, whatever the rooms worker would say.
    join(&nats, "g-1", "arena").await.unwrap();
    let t = ticket(&nats, "g-1").await.unwrap();
    assert_eq!(
        (t["rating"].as_f64(), t["rated"].as_bool()),
        (Some(1500.0), Some(false))
    );
    // Nobody outside a bridge (no caller) may join.
    let msg = nats
        .request("svc.mm.join", json!({"game": "arena"}).to_string().into())
        .await
        .unwrap();
    assert_eq!(
        msg.headers.unwrap().get("Chorus-Error").unwrap().as_str(),
        "unauthorized"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_joining_connection_closing_cancels_the_ticket() {
    let (_server, nats) = start().await;
    call(&nats, "join", "bob", "tab-1", json!({"game": "arena"}))
        .await
        .unwrap();
    let kv = bucket(&nats).await;
    let mut changes = kv.watch("ticket.bob").await.unwrap();
    let mut gone = kv.watch("gone.>").await.unwrap();
    // Another tab of Bob's closes: the ticket stays.
    disconnect(&nats, "bob", "tab-2").await;
    assert_eq!(gone.next().await.unwrap().unwrap().key, "gone.tab-2");
    assert!(ticket(&nats, "bob").await.is_some());
    // The tab that joined closes: the ticket goes.
    disconnect(&nats, "bob", "tab-1").await;
    assert_eq!(next_change(&mut changes).await, kv::Operation::Delete);
    assert!(ticket(&nats, "bob").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_landing_after_its_connection_closed_is_cancelled() {
    let (_server, nats) = start().await;
    let mut gone = bucket(&nats).await.watch("gone.>").await.unwrap();
    disconnect(&nats, "cy", "tab-9").await;
    assert_eq!(gone.next().await.unwrap().unwrap().key, "gone.tab-9");
    let late = call(&nats, "join", "cy", "tab-9", json!({"game": "arena"})).await;
    assert_eq!(late, Err("conflict".into()));
    assert!(ticket(&nats, "cy").await.is_none());
}
