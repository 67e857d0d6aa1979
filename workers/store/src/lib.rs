//! `chorus-store`: a catalog of goods, a wallet per signed-in user, purchases that happen
//! exactly once however often they are retried and however many replicas serve them,
//! refunds, and coins for wins. Wallets, purchases and the append-only ledger live in
//! Postgres; the catalog comes from a file; results of matches come from the bus.
//!
//! # Layout
//! - [`service`]: the endpoints (`svc.store.*`, `int.store.*`) and their arguments.
//! - [`store`]: the shared state, the settings, who may call.
//! - [`purchase`]: buying (idempotent, one transaction) and refunding.
//! - [`reads`]: the wallet, the inventory, the goods owned by a room's players.
//! - [`ledger`]: opening wallets, appending entries, telling the owner of a change.
//! - [`rewards`]: the consumer of finished matches that pays winners.
//! - [`catalog`]: the goods on sale, read and checked from a file.
//! - [`error`]: [`StoreError`], why a request fails, and the wire error each becomes.
//! - [`migrations`]: the schema.

pub mod catalog;
pub mod error;
pub mod ledger;
pub mod migrations;
pub mod purchase;
pub mod reads;
pub mod rewards;
pub mod service;
pub mod store;

pub use catalog::{Catalog, CatalogError, Good};
pub use error::StoreError;
pub use migrations::MIGRATIONS;
pub use service::service;
pub use store::{Settings, Store};

use chorus_kit::KitError;
use std::sync::Arc;

/// Why [`spawn_in_process`] could not start the worker.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The database, its migrations, or the endpoints' subscriptions.
    #[error(transparent)]
    Kit(#[from] KitError),
    /// The rewards stream and its consumer.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs the worker inside this process on `nats`: migrates the database at `db_url`,
/// opens the rewards consumer, and returns once every endpoint is subscribed; it serves
/// until the returned task is dropped or aborted. How tests get a real store (several,
/// for replicas).
pub async fn spawn_in_process(
    nats: async_nats::Client,
    db_url: &str,
    catalog: Catalog,
    settings: Settings,
) -> Result<tokio::task::JoinHandle<Result<(), KitError>>, SpawnError> {
    let pool = chorus_kit::db::connect(db_url, 4).await?;
    chorus_kit::db::migrate(&pool, "store", MIGRATIONS).await?;
    let metrics = Arc::new(chorus_kit::metrics::Metrics::new("store"));
    let store = Store::new(pool, nats.clone(), catalog, settings, metrics.waits());
    let subscribed = service(store.clone()).subscribe(&nats).await?;
    // Opening the consumer asks the server (JetStream's API) on the same connection, after
    // the subscriptions: its answer means the server holds them (a flush alone only means
    // they were written), so a request from another connection finds them.
    let rewards = rewards::Rewards::open(&nats).await?;
    Ok(tokio::spawn(async move {
        // Aborted with this task: a stopped store pays nothing more.
        let _paying = AbortOnDrop(tokio::spawn(rewards.run(store)));
        subscribed.serve(metrics, std::future::pending()).await
    }))
}

/// A task aborted when this is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
