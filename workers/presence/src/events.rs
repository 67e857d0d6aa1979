//! The bridges' side: `presence.connect.{uid}` and `presence.disconnect.{uid}` change a
//! user's connections; `presence.heartbeat.{bridge}` keeps a bridge alive. Events are taken
//! in the queue group `presence` (one replica handles each) and in arrival order within a
//! replica, so one user's connect is not overtaken by its own disconnect.
//!
//! Every replica also watches the heartbeats: when one expires, the users of that bridge
//! lose its connections (compare-and-set makes each user's passage offline happen once).

use crate::notify::Notifier;
use crate::store::{PresenceStore, StoreError, Transition};
use async_nats::jetstream::kv;
use chorus_protocol::presence::{self, ConnEvent, ConnRef, Heartbeat};
use futures_util::StreamExt;

/// Acts on the bridges' events until the subscription ends.
pub async fn listen(nats: async_nats::Client, store: PresenceStore, notifier: Notifier) -> Result<(), StoreError> {
    let mut events = nats
        .queue_subscribe(presence::SUBJECTS, "presence".to_string())
        .await
        .map_err(|e| StoreError::Watch(e.to_string()))?;
    while let Some(msg) = events.next().await {
        let kind = msg.subject.split('.').nth(1).unwrap_or_default().to_string();
        let done = match kind.as_str() {
            "connect" | "disconnect" => match serde_json::from_slice::<ConnEvent>(&msg.payload) {
                Ok(event) => on_conn(&store, &notifier, kind == "connect", event).await,
                Err(_) => Err(StoreError::Malformed),
            },
            "heartbeat" => match serde_json::from_slice::<Heartbeat>(&msg.payload) {
                Ok(beat) => store.beat(&beat.bridge).await,
                Err(_) => Err(StoreError::Malformed),
            },
            _ => Ok(()),
        };
        if let Err(e) = done {
            tracing::warn!(subject = %msg.subject, error = %e, "presence event not applied");
        }
    }
    Ok(())
}

async fn on_conn(store: &PresenceStore, notifier: &Notifier, connect: bool, e: ConnEvent) -> Result<(), StoreError> {
    let conn = ConnRef {
        bridge: e.bridge.clone(),
        conn: e.conn.clone(),
    };
    let transition = if connect {
        // The bridge is alive: it just spoke (and its first heartbeat may not be in yet).
        store.beat(&e.bridge).await?;
        store.add(&e.user, &e.name, conn).await?
    } else {
        store.remove(&e.user, |c| *c == conn).await?
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
        let entry = entry.map_err(|e| StoreError::Watch(e.to_string()))?;
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
    for uid in store.users().await? {
        let record = store.user(&uid).await?;
        let mut gone = Vec::new();
        for c in &record.conns {
            let is_dead = match dead {
                Some(bridge) => c.bridge == bridge,
                None => !store.bridge_alive(&c.bridge).await?,
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
