//! The bridges' side: `presence.connect.{uid}` and `presence.disconnect.{uid}` change a
//! user's connections; `presence.heartbeat.{bridge}` keeps a bridge alive.
//!
//! Connects and disconnects are kept in the memory stream `PRESENCE` (a work queue) until
//! a replica has applied them, so none is lost while the worker restarts; replicas share
//! its durable consumer `presence` and each applies its share in order. Should a
//! disconnect still overtake its connect (two replicas), the connection is buried and its
//! late connect ignored. Heartbeats need no such care: a missed one is replaced by the next.
//!
//! Every replica also watches the heartbeats: when one expires, the users of that bridge
//! lose its connections (compare-and-set makes each user's passage offline happen once).

use crate::notify::Notifier;
use crate::store::{PresenceStore, StoreError, Transition};
use async_nats::jetstream::consumer::{self, pull};
use async_nats::jetstream::{self, kv, stream};
use chorus_protocol::identity::GUEST_ID_PREFIX;
use chorus_protocol::presence::{self, ConnEvent, ConnRef, Heartbeat};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::Duration;

/// The stream that keeps connects and disconnects until they are applied.
pub const STREAM: &str = "PRESENCE";

/// How long an unapplied event is kept (a worker down longer loses the oldest).
const EVENT_MAX_AGE: Duration = Duration::from_secs(600);

/// Most unapplied events kept.
const EVENT_MAX_MSGS: i64 = 1_000_000;

/// The bridges' events, subscribed: the `PRESENCE` stream and its durable consumer exist
/// and the heartbeat subscription is on the server, so from here on none is missed.
pub struct Listener {
    /// Connects and disconnects, from the stream.
    events: pull::Stream,
    /// Heartbeats, in the queue group `presence`.
    beats: async_nats::Subscriber,
}

impl Listener {
    /// Creates (or opens) the stream and its consumer, subscribes to heartbeats, and returns
    /// once the server holds the subscription.
    pub async fn open(nats: &async_nats::Client) -> Result<Listener, StoreError> {
        let js = jetstream::new(nats.clone());
        let stream = js
            .get_or_create_stream(stream::Config {
                name: STREAM.to_string(),
                subjects: vec![presence::connect_subject(">"), presence::disconnect_subject(">")],
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::Memory,
                max_age: EVENT_MAX_AGE,
                max_messages: EVENT_MAX_MSGS,
                discard: stream::DiscardPolicy::Old,
                ..Default::default()
            })
            .await
            .map_err(watch_err)?;
        let events: pull::Stream = stream
            .get_or_create_consumer(
                "presence",
                pull::Config {
                    durable_name: Some("presence".to_string()),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ..Default::default()
                },
            )
            .await
            .map_err(watch_err)?
            .messages()
            .await
            .map_err(watch_err)?;
        let beats = nats
            .queue_subscribe(presence::heartbeat_subject("*"), "presence".to_string())
            .await
            .map_err(watch_err)?;
        nats.flush().await.map_err(watch_err)?;
        Ok(Listener { events, beats })
    }

    /// Acts on connects and disconnects (from the stream) and heartbeats, until either ends.
    pub async fn run(self, store: PresenceStore, notifier: Notifier) -> Result<(), StoreError> {
        tokio::try_join!(
            apply_events(self.events, &store, &notifier),
            apply_heartbeats(self.beats, &store)
        )?;
        Ok(())
    }
}

/// A failure of the bus under a stream, a consumer or a watch.
fn watch_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Watch(e.to_string())
}

/// Opens a [`Listener`] and runs it.
pub async fn listen(
    nats: async_nats::Client,
    store: PresenceStore,
    notifier: Notifier,
) -> Result<(), StoreError> {
    Listener::open(&nats).await?.run(store, notifier).await
}

async fn apply_events(
    mut events: pull::Stream,
    store: &PresenceStore,
    notifier: &Notifier,
) -> Result<(), StoreError> {
    while let Some(msg) = events.next().await {
        let msg = msg.map_err(watch_err)?;
        let connect = msg.subject.starts_with("presence.connect.");
        let applied = match serde_json::from_slice::<ConnEvent>(&msg.payload) {
            Ok(event) => on_conn(store, notifier, connect, event).await,
            Err(_) => Err(StoreError::Malformed),
        };
        match applied {
            // A malformed event will never apply: drop it.
            Ok(()) | Err(StoreError::Malformed) => {
                if let Err(StoreError::Malformed) = applied {
                    tracing::warn!(subject = %msg.subject, "malformed presence event dropped");
                }
                let _ = msg.ack().await;
            }
            // Anything else (the bus, the bucket) may pass: leave it to be redelivered.
            Err(e) => tracing::warn!(subject = %msg.subject, error = %e, "presence event not applied"),
        }
    }
    Ok(())
}

async fn apply_heartbeats(
    mut beats: async_nats::Subscriber,
    store: &PresenceStore,
) -> Result<(), StoreError> {
    while let Some(msg) = beats.next().await {
        let applied = match serde_json::from_slice::<Heartbeat>(&msg.payload) {
            Ok(beat) => store.beat(&beat.bridge).await,
            Err(_) => Err(StoreError::Malformed),
        };
        if let Err(e) = applied {
            tracing::warn!(subject = %msg.subject, error = %e, "heartbeat not applied");
        }
    }
    Ok(())
}

async fn on_conn(
    store: &PresenceStore,
    notifier: &Notifier,
    connect: bool,
    e: ConnEvent,
) -> Result<(), StoreError> {
    if e.user.starts_with(GUEST_ID_PREFIX) {
        // A guest's disconnect is for other workers (matchmaking); guests have no friends.
        return Ok(());
    }
    let conn = ConnRef {
        bridge: e.bridge.clone(),
        conn: e.conn.clone(),
    };
    let transition = if connect {
        if store.buried(&e.conn).await? {
            return Ok(());
        }
        // The bridge is alive: it just spoke (and its first heartbeat may not be in yet).
        store.beat(&e.bridge).await?;
        store.add(&e.user, &e.name, conn).await?
    } else {
        let transition = store.remove(&e.user, |c| *c == conn).await?;
        if transition == Transition::Unchanged {
            store.bury(&e.conn).await?;
        }
        transition
    };
    tracing::debug!(user = %e.user, connect, ?transition, "presence");
    notifier.tell_friends(&e.user, transition).await;
    Ok(())
}

/// Watches heartbeats for expiry, and sweeps the users of bridges that stopped beating:
/// once at start (bridges that died while no replica ran) and on every expiry.
pub async fn sweep_dead_bridges(store: PresenceStore, notifier: Notifier) -> Result<(), StoreError> {
    let mut watch = store.watch_bridges().await?;
    sweep(&store, &notifier, None).await?;
    while let Some(entry) = watch.next().await {
        let entry = entry.map_err(watch_err)?;
        if entry.operation == kv::Operation::Put {
            continue;
        }
        let Some(bridge) = entry.key.strip_prefix("bridge.") else {
            continue;
        };
        tracing::info!(bridge, "bridge heartbeat expired; its users go offline");
        sweep(&store, &notifier, Some(bridge)).await?;
    }
    Ok(())
}

/// Removes connections on `dead` (or, with `None`, on every bridge not beating now).
async fn sweep(store: &PresenceStore, notifier: &Notifier, dead: Option<&str>) -> Result<(), StoreError> {
    // Each bridge's liveness is looked up once per sweep, however many users it holds.
    let mut alive: HashMap<String, bool> = HashMap::new();
    for uid in store.users().await? {
        let record = store.user(&uid).await?;
        let mut gone = Vec::new();
        for c in &record.conns {
            let is_dead = match dead {
                Some(bridge) => c.bridge == bridge,
                None => match alive.get(&c.bridge) {
                    Some(known) => !known,
                    None => {
                        let beating = store.bridge_alive(&c.bridge).await?;
                        alive.insert(c.bridge.clone(), beating);
                        !beating
                    }
                },
            };
            if is_dead {
                gone.push(c.clone());
            }
        }
        if gone.is_empty() {
            continue;
        }
        let transition = store.remove(&uid, |c| gone.contains(c)).await?;
        if matches!(transition, Transition::Offline(_)) {
            tracing::debug!(user = %uid, "offline: its bridge died");
        }
        notifier.tell_friends(&uid, transition).await;
    }
    Ok(())
}
