//! The presence worker against a real nats-server, fed the events a bridge publishes:
//! events published while it is down are applied when it comes back, a disconnect that
//! overtakes its connect wins, and a bridge whose heartbeat expires takes its users offline.

use async_nats::jetstream::kv;
use chorus_presence::{PresenceStore, Settings};
use chorus_protocol::presence::{self, ConnEvent, Heartbeat, UserPresence};
use chorus_testkit::NatsServer;
use futures_util::StreamExt;
use std::time::Duration;
use tokio::task::JoinHandle;

const TTL: Duration = Duration::from_secs(1);

/// Starts the worker's background part; abort the handle to stop it.
async fn start(nats: &NatsServer) -> (JoinHandle<()>, PresenceStore) {
    let client = async_nats::connect(nats.url()).await.unwrap();
    let store = PresenceStore::open(client.clone(), TTL).await.unwrap();
    let settings = Settings {
        ttl: TTL,
        friends_timeout: Duration::from_millis(100),
    };
    let task = tokio::spawn({
        let store = store.clone();
        async move {
            chorus_presence::run_background(client, store, settings)
                .await
                .unwrap();
        }
    });
    nats.await_subscriber("presence.heartbeat.*").await;
    (task, store)
}

/// Publishes what a bridge would on a connection's start (`connect`) or end.
async fn announce(bus: &async_nats::Client, connect: bool, bridge: &str, conn: &str, user: &str) {
    let e = ConnEvent {
        bridge: bridge.into(),
        conn: conn.into(),
        user: user.into(),
        name: format!("name-{user}"),
    };
    let subject = match connect {
        true => presence::connect_subject(user),
        false => presence::disconnect_subject(user),
    };
    bus.publish(subject, serde_json::to_vec(&e).unwrap().into())
        .await
        .unwrap();
}

/// Watches the presence record of `uid`.
async fn watch_user(bus: &async_nats::Client, uid: &str) -> kv::Watch {
    let kv = async_nats::jetstream::new(bus.clone())
        .get_key_value(presence::BUCKET)
        .await
        .unwrap();
    kv.watch(presence::user_key(uid)).await.unwrap()
}

/// Watches `user.{uid}` and returns its value after `changes` more changes.
async fn after_changes(watch: &mut kv::Watch, changes: usize) -> Option<UserPresence> {
    let mut last = None;
    for _ in 0..changes {
        let entry = tokio::time::timeout(Duration::from_secs(15), watch.next())
            .await
            .expect("a change in time")
            .unwrap()
            .unwrap();
        last = match entry.operation {
            kv::Operation::Put => Some(serde_json::from_slice(&entry.value).unwrap()),
            _ => None,
        };
    }
    last
}

#[tokio::test]
async fn events_published_while_the_worker_is_down_are_applied_when_it_returns() {
    let nats = NatsServer::start().await;
    let bus = async_nats::connect(nats.url()).await.unwrap();
    let (worker, store) = start(&nats).await;
    worker.abort();
    let _ = worker.await;
    let mut watch = watch_user(&bus, "7").await;

    // While no worker runs, user 7 connects twice and one connection ends.
    announce(&bus, true, "b1", "b1-1", "7").await;
    announce(&bus, true, "b1", "b1-2", "7").await;
    announce(&bus, false, "b1", "b1-1", "7").await;
    chorus_runtime::bus::round_trip(&bus, std::time::Duration::from_secs(10))
        .await
        .unwrap();

    let (_worker, _) = start(&nats).await;
    let record = after_changes(&mut watch, 3).await.expect("online");
    assert_eq!(record.conns.len(), 1);
    assert_eq!(record.conns[0].conn, "b1-2");
    assert_eq!(store.user("7").await.unwrap(), record);
}

#[tokio::test]
async fn a_disconnect_that_overtakes_its_connect_wins() {
    let nats = NatsServer::start().await;
    let bus = async_nats::connect(nats.url()).await.unwrap();
    let (_worker, store) = start(&nats).await;
    let mut watch = watch_user(&bus, "8").await;

    announce(&bus, false, "b1", "b1-9", "8").await;
    announce(&bus, true, "b1", "b1-9", "8").await;
    // A later, real connection shows the overtaken one never counted.
    announce(&bus, true, "b1", "b1-10", "8").await;
    let record = after_changes(&mut watch, 1).await.expect("online");
    let conns: Vec<_> = record.conns.iter().map(|c| c.conn.as_str()).collect();
    assert_eq!(conns, ["b1-10"]);
    assert_eq!(store.user("8").await.unwrap().conns.len(), 1);
}

#[tokio::test]
async fn a_bridge_whose_heartbeat_stops_takes_its_users_offline() {
    let nats = NatsServer::start().await;
    let bus = async_nats::connect(nats.url()).await.unwrap();
    let (_worker, store) = start(&nats).await;
    let mut watch = watch_user(&bus, "9").await;

    let beat = serde_json::to_vec(&Heartbeat {
        bridge: "live".into(),
        conns: 1,
    })
    .unwrap();
    bus.publish(presence::heartbeat_subject("live"), beat.clone().into())
        .await
        .unwrap();
    announce(&bus, true, "dead", "dead-1", "9").await;
    announce(&bus, true, "live", "live-1", "9").await;
    assert_eq!(after_changes(&mut watch, 2).await.unwrap().conns.len(), 2);

    // Only "live" keeps beating; "dead" said nothing since its connect.
    let beating = tokio::spawn(async move {
        loop {
            bus.publish(presence::heartbeat_subject("live"), beat.clone().into())
                .await
                .unwrap();
            tokio::time::sleep(TTL / 4).await;
        }
    });
    let record = after_changes(&mut watch, 1).await.expect("still online");
    let conns: Vec<_> = record.conns.iter().map(|c| c.conn.as_str()).collect();
    assert_eq!(conns, ["live-1"]);
    beating.abort();
    // Then "live" stops too: the user goes offline (the key is deleted).
    assert_eq!(after_changes(&mut watch, 1).await, None);
    assert!(store.user("9").await.unwrap().conns.is_empty());
}
