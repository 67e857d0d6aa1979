//! What every store request shares ([`Store`]: the pool, the bus, the catalog, the
//! settings), and who may use it: signed-in users only, never guests.

use crate::catalog::Catalog;
use crate::error::StoreError;
use chorus_kit::{Request, Waits};
use deadpool_postgres::Pool;
use std::sync::Arc;

/// The store's settings (see `chorus-store --help`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Coins a wallet opens with (its `grant` entry).
    pub starting_balance: i64,
    /// Coins paid to the winner of a finished rated match.
    pub win_reward: i64,
    /// Ledger entries `svc.store.wallet` shows, newest first.
    pub wallet_entries: i64,
    /// Longest idempotency key, in characters.
    pub max_key_chars: usize,
}

impl Settings {
    /// Small, predictable values for tests: 100 coins to start, 25 per win.
    pub fn for_tests() -> Settings {
        Settings {
            starting_balance: 100,
            win_reward: 25,
            wallet_entries: 20,
            max_key_chars: 64,
        }
    }
}

/// The state every handler gets a clone of.
pub struct Store {
    /// Wallets, ledger, purchases.
    pub db: Pool,
    /// Where balance changes are told.
    pub nats: async_nats::Client,
    /// The goods on sale.
    pub catalog: Catalog,
    /// The settings.
    pub settings: Settings,
    /// Times each endpoint's transaction (`buy`, `wallet`…) on the worker's `/metrics`.
    pub waits: Waits,
}

impl Store {
    /// The shared state; its transactions are timed in `waits` (the worker's
    /// `Metrics::waits()`).
    pub fn new(
        db: Pool,
        nats: async_nats::Client,
        catalog: Catalog,
        settings: Settings,
        waits: Waits,
    ) -> Arc<Store> {
        Arc::new(Store {
            db,
            nats,
            catalog,
            settings,
            waits,
        })
    }
}

/// The calling user's id: signed in, never a guest (guests have no wallet).
pub fn member(req: &Request) -> Result<String, StoreError> {
    let caller = req.caller()?;
    if !caller.is_user() || caller.id.starts_with("g-") {
        return Err(StoreError::Guest);
    }
    Ok(caller.id.clone())
}
