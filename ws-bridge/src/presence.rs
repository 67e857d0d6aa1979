//! Telling the presence worker who is here: `presence.connect.{uid}` when a signed-in
//! user's connection is welcomed, `presence.disconnect.{uid}` when any connection ends
//! (guests' too, so workers can end what a guest's connection started), and a heartbeat
//! for the whole bridge every `CHORUS_PRESENCE_HEARTBEAT_MS`, so that when a bridge dies
//! without a word its users go offline once the heartbeats stop.

use crate::shared::Shared;
use chorus_protocol::Identity;
use chorus_protocol::presence::{self, ConnEvent, Heartbeat};
use std::sync::Arc;
use std::time::Duration;

/// Announces a welcomed connection of a signed-in user.
pub async fn connected(shared: &Shared, conn: &str, identity: &Identity) {
    announce(shared, presence::connect_subject(&identity.id), conn, identity).await
}

/// Announces that a connection ended (a signed-in user's or a guest's).
pub async fn disconnected(shared: &Shared, conn: &str, identity: &Identity) {
    announce(shared, presence::disconnect_subject(&identity.id), conn, identity).await
}

async fn announce(shared: &Shared, subject: String, conn: &str, identity: &Identity) {
    let event = ConnEvent {
        bridge: shared.bridge_id.clone(),
        conn: conn.to_string(),
        user: identity.id.clone(),
        name: identity.name.clone(),
    };
    let body = serde_json::to_vec(&event).expect("serializes");
    if let Err(e) = shared.nats.publish(subject, body.into()).await {
        tracing::warn!(error = %e, "presence event not published");
    }
}

/// Publishes this bridge's heartbeat now and then every interval, until shutdown.
pub async fn heartbeat(shared: Arc<Shared>) {
    let every = Duration::from_millis(shared.config.presence_heartbeat_ms.max(100));
    let subject = presence::heartbeat_subject(&shared.bridge_id);
    loop {
        let beat = Heartbeat {
            bridge: shared.bridge_id.clone(),
            conns: shared.sessions.len() as u64,
        };
        let body = serde_json::to_vec(&beat).expect("serializes");
        if let Err(e) = shared.nats.publish(subject.clone(), body.into()).await {
            tracing::warn!(error = %e, "presence heartbeat not published");
        }
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
