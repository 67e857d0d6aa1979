//! Friends and presence over the real stack: the accounts worker (friends in Postgres), the
//! presence worker, an in-process bridge and a second bridge run as a real process, so it
//! can be killed with `kill -9`.

mod common;

use chorus_presence::notify::Notifier;
use chorus_presence::{PresenceStore, Settings};
use chorus_testkit::client::Ws;
use common::{BridgeProcess, Harness};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The presence TTL the test runs with: short, so a dead bridge's users go quickly.
const TTL: Duration = Duration::from_secs(2);

/// A signed-in user's connection to the bridge at `http`.
async fn connect(http: SocketAddr, login: &Value) -> Ws {
    let token = login["access_token"].as_str().unwrap();
    let (ws, welcome) = Ws::connect(http, &format!("/v1/ws?token={token}"), &[])
        .await
        .unwrap();
    assert_eq!(welcome["op"], "welcome", "{welcome}");
    ws
}

/// Sends a request frame and returns its `reply` data.
async fn request(ws: &mut Ws, subject: &str, data: Value) -> Value {
    let reply = ws
        .call(json!({"op": "req", "id": "r", "subject": subject, "data": data}))
        .await;
    assert_eq!(reply["op"], "reply", "{reply}");
    reply["data"].clone()
}

/// The next presence notice on a connection subscribed to its inbox.
async fn notice(ws: &mut Ws) -> Value {
    let frame = ws.recv().await;
    assert_eq!(frame["op"], "msg", "{frame}");
    assert!(
        frame["subject"].as_str().unwrap().ends_with(".presence"),
        "{frame}"
    );
    frame["data"].clone()
}

/// The number of live connections in the next change of a user's presence record.
async fn connections(record: &mut async_nats::jetstream::kv::Watch) -> usize {
    let entry = record.next().await.unwrap().unwrap();
    let value: Value = serde_json::from_slice(&entry.value).unwrap_or(Value::Null);
    value["conns"].as_array().map_or(0, Vec::len)
}

/// Starts the presence worker in-process on the harness's nats-server.
async fn start_presence(h: &Harness) {
    let nats = h.nats_client().await;
    let store = PresenceStore::open(nats.clone(), TTL).await.unwrap();
    let settings = Settings {
        ttl: TTL,
        friends_timeout: Duration::from_secs(5),
    };
    let notifier = Notifier::new(nats.clone(), settings.friends_timeout);
    tokio::spawn(chorus_presence::run_background(
        nats.clone(),
        store.clone(),
        settings,
    ));
    let metrics = std::sync::Arc::new(chorus_kit::metrics::Metrics::new("presence"));
    let service = chorus_presence::service(store, notifier);
    tokio::spawn(service.serve(nats, metrics, std::future::pending()));
    h.nats.await_subscriber("presence.heartbeat.*").await;
    h.nats.await_subscriber("svc.presence.friends").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn friends_hear_who_comes_and_goes_even_when_a_bridge_dies() {
    let (h, _db) = Harness::with_accounts(900).await;
    start_presence(&h).await;
    let other = BridgeProcess::spawn(&h.nats.url(), &[("CHORUS_PRESENCE_HEARTBEAT_MS", "300")]).await;
    let ann = h.sign_up_and_log_in("ann").await;
    let bob = h.sign_up_and_log_in("bob").await;
    let (ann_id, bob_id) = (
        ann["user"]["id"].as_str().unwrap(),
        bob["user"]["id"].as_str().unwrap(),
    );

    // Ann listens on her inbox and asks Bob to be friends; Bob accepts from a first tab.
    let mut a = connect(h.http, &ann).await;
    let sub = json!({"op": "sub", "id": "s", "subject": format!("user.{ann_id}.presence")});
    assert_eq!(a.call(sub).await["op"], "ok");
    request(&mut a, "svc.friends.request", json!({"to": bob_id})).await;
    let kv = async_nats::jetstream::new(h.nats_client().await)
        .get_key_value("presence")
        .await
        .unwrap();
    let mut bob_record = kv.watch(format!("user.{bob_id}")).await.unwrap();
    let mut bob_tab = connect(h.http, &bob).await;
    // Bob is online before they are friends, so Ann is not told (yet).
    assert_eq!(connections(&mut bob_record).await, 1);
    request(&mut bob_tab, "svc.friends.accept", json!({"from": ann_id})).await;
    let listed = request(&mut a, "svc.friends.list", json!({})).await;
    assert_eq!(
        listed["friends"],
        json!([{"id": bob_id, "name": "bob", "online": true}])
    );
    // That tab closes: Bob goes offline, and Ann, now his friend, is told.
    drop(bob_tab);
    assert_eq!(
        notice(&mut a).await,
        json!({"user": bob_id, "name": "bob", "online": false})
    );

    // Bob opens two tabs, one on each bridge: Ann hears "online" once.
    let kv = async_nats::jetstream::new(h.nats_client().await)
        .get_key_value("presence")
        .await
        .unwrap();
    let mut bob_record = kv.watch(format!("user.{bob_id}")).await.unwrap();
    let tab1 = connect(h.http, &bob).await;
    assert_eq!(
        notice(&mut a).await,
        json!({"user": bob_id, "name": "bob", "online": true})
    );
    let _tab2 = connect(other.http, &bob).await;
    // Wait until the store holds both tabs, then close the first: Bob stays online.
    loop {
        let entry = bob_record.next().await.unwrap().unwrap();
        let record: Value = serde_json::from_slice(&entry.value).unwrap_or(Value::Null);
        if record["conns"].as_array().is_some_and(|c| c.len() == 2) {
            break;
        }
    }
    drop(tab1);
    loop {
        let entry = bob_record.next().await.unwrap().unwrap();
        assert_eq!(
            entry.operation,
            async_nats::jetstream::kv::Operation::Put,
            "Bob went offline with a tab open"
        );
        let record: Value = serde_json::from_slice(&entry.value).unwrap();
        if record["conns"].as_array().is_some_and(|c| c.len() == 1) {
            break;
        }
    }
    let online = request(&mut a, "svc.presence.friends", json!({})).await;
    assert_eq!(online, json!({"online": [{"id": bob_id, "name": "bob"}]}));

    // The other bridge dies without a word: Bob's last tab is gone, and Ann is told once
    // its heartbeat has expired.
    let mut other = other;
    let killed = Instant::now();
    other.process.kill9().await;
    assert_eq!(
        notice(&mut a).await,
        json!({"user": bob_id, "name": "bob", "online": false})
    );
    eprintln!("offline {:?} after kill -9 (TTL {TTL:?})", killed.elapsed());
    let online = request(&mut a, "svc.presence.friends", json!({})).await;
    assert_eq!(online, json!({"online": []}));
}
