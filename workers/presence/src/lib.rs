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
//!
//! Here: the [`Settings`], and [`Background`], the listener and the sweeper that run beside
//! the endpoints.

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

/// Everything but the endpoints, subscribed and not yet running: the event listener (its
/// stream, consumer and heartbeat subscription in place) and the dead-bridge sweeper.
pub struct Background {
    /// The bridges' events.
    listener: events::Listener,
    /// The bucket.
    store: PresenceStore,
    /// Tells friends.
    notifier: notify::Notifier,
}

impl Background {
    /// Subscribes to the bridges' events; from the return on, none is missed. Opening this
    /// before serving the endpoints makes the worker's `/readyz` mean that it listens too.
    pub async fn open(
        nats: async_nats::Client,
        store: PresenceStore,
        settings: Settings,
    ) -> Result<Background, StoreError> {
        let listener = events::Listener::open(&nats).await?;
        // Timed where the store is (the worker's metrics, or nowhere).
        let notifier = notify::Notifier::new(nats, settings.friends_timeout).with_waits(store.waits.clone());
        Ok(Background {
            listener,
            store,
            notifier,
        })
    }

    /// Runs the listener and the sweeper until one fails (they run for the worker's life).
    pub async fn run(self) -> Result<(), StoreError> {
        let Background {
            listener,
            store,
            notifier,
        } = self;
        tokio::try_join!(
            listener.run(store.clone(), notifier.clone()),
            events::sweep_dead_bridges(store, notifier),
        )?;
        Ok(())
    }
}

/// [`Background::open`], then [`Background::run`].
pub async fn run_background(
    nats: async_nats::Client,
    store: PresenceStore,
    settings: Settings,
) -> Result<(), StoreError> {
    Background::open(nats, store, settings).await?.run().await
}
