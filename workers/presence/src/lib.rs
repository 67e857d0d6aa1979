//! `chorus-presence`: who is online, and telling their friends. Bridges announce each
//! signed-in connection on `presence.>` and beat a heart; this worker keeps every online
//! user's live connections in the KV bucket `presence` (memory), and when a user's first
//! connection opens or last one closes it tells their friends on `user.{friend}.presence`.
//! A bridge's heartbeat is kept with a TTL: when a bridge dies without a word, the key
//! expires, and its users go offline.
//!
//! # Layout
//! - [`store`]: the bucket: users' connections (compare-and-set) and bridges' heartbeats.
//! - [`events`]: acting on the bridges' events, and sweeping the users of dead bridges.
//! - [`notify`]: asking the accounts worker for a user's friends and telling them.
//! - [`service`]: `svc.presence.friends`, the caller's friends that are online.

pub mod events;
pub mod notify;
pub mod service;
pub mod store;

pub use service::service;
pub use store::{PresenceStore, StoreError};

use std::time::Duration;

/// The worker's settings (beyond the kit's).
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a bridge's heartbeat keeps its users online; longer than the bridges'
    /// heartbeat interval (`CHORUS_PRESENCE_HEARTBEAT_MS`), by a few beats.
    pub ttl: Duration,
    /// How long to wait for the accounts worker's list of friends.
    pub friends_timeout: Duration,
}

/// Runs everything but the endpoints: the event listener and the dead-bridge sweeper, until
/// one fails (they run for the worker's life).
pub async fn run_background(
    nats: async_nats::Client,
    store: PresenceStore,
    settings: Settings,
) -> Result<(), StoreError> {
    let notifier = notify::Notifier::new(nats.clone(), settings.friends_timeout);
    tokio::try_join!(
        events::listen(nats, store.clone(), notifier.clone()),
        events::sweep_dead_bridges(store, notifier),
    )?;
    Ok(())
}
