//! [`Rooms`]: what the rooms worker's handlers and room tasks share (the bus, the store,
//! Postgres, the games, the settings, the tick threads) and the table of rooms this replica
//! runs.

use crate::call::Call;
use crate::error::RoomsError;
use crate::pad_codes::PadCodes;
use crate::settings::Settings;
use crate::store::Store;
use crate::ticker::Ticker;
use chorus_games::{Game, Library};
use chorus_kit::Waits;
use deadpool_postgres::Pool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Everything the rooms worker's handlers and room tasks share.
pub struct Rooms {
    /// The bus.
    pub nats: async_nats::Client,
    /// The log stream, the bucket, `EVENTS`.
    pub store: Store,
    /// Postgres: finished rooms and ratings.
    pub db: Pool,
    /// Times what the worker waits on: Postgres queries, requests to other workers (the
    /// store and bucket time their own calls with a clone).
    pub waits: Waits,
    /// The games, loaded at start.
    pub games: Library,
    /// Settings.
    pub settings: Settings,
    /// The tick threads of realtime rooms.
    pub ticker: Ticker,
    /// Gamepad codes and the limits on claiming them.
    pub pads: PadCodes,
    /// The rooms this replica runs: where their tasks take calls.
    owned: Mutex<HashMap<String, mpsc::Sender<Call>>>,
    /// Held while taking a room over, so one replica does not start a room twice.
    taking: tokio::sync::Mutex<()>,
}

impl Rooms {
    /// Extends this replica's lease on `rid` held at `revision`: the new revision, or
    /// `None` when the lease is no longer ours (another replica has the room).
    pub async fn renew_lease(&self, rid: &str, revision: u64) -> Option<u64> {
        let s = &self.settings;
        crate::lease::renew(&self.store, rid, &s.replica, s.lease, revision).await
    }

    /// Opens the stream and the bucket, loads the games; what it waits on is timed in
    /// `waits` (the worker's `Metrics::waits()`).
    pub async fn open(
        nats: async_nats::Client,
        db: Pool,
        settings: Settings,
        waits: Waits,
    ) -> Result<Arc<Rooms>, RoomsError> {
        let store = Store::open(nats.clone(), &settings, waits.clone()).await?;
        let pads = PadCodes::open(
            nats.clone(),
            settings.pad_code,
            settings.pad_claims_per_min,
            settings.pad_fails_per_sec,
            waits.clone(),
        )
        .await?;
        let games = Library::load_dir(&settings.games_dir, settings.limits);
        tracing::info!(games = ?games.ids().collect::<Vec<_>>(), broken = games.errors().len(), "games loaded");
        let ticker = Ticker::start(
            nats.clone(),
            settings.tick_threads,
            settings.games_dir.clone(),
            settings.limits,
        );
        Ok(Arc::new(Rooms {
            ticker,
            pads,
            nats,
            store,
            db,
            waits,
            games,
            settings,
            owned: Mutex::new(HashMap::new()),
            taking: tokio::sync::Mutex::new(()),
        }))
    }

    /// The game `id`.
    pub fn game(&self, id: &str) -> Result<Arc<dyn Game>, RoomsError> {
        self.games.get(id).ok_or(RoomsError::NoSuchGame)
    }

    /// Room `rid`'s task, if it runs here.
    pub fn local(&self, rid: &str) -> Option<mpsc::Sender<Call>> {
        self.owned.lock().expect("not poisoned").get(rid).cloned()
    }

    /// Whether this replica runs room `rid`.
    pub fn owns(&self, rid: &str) -> bool {
        self.local(rid).is_some_and(|tx| !tx.is_closed())
    }

    /// Room `rid`'s task has ended.
    pub fn forget(&self, rid: &str) {
        let mut owned = self.owned.lock().expect("not poisoned");
        if owned.get(rid).is_some_and(|tx| tx.is_closed()) {
            owned.remove(rid);
        }
    }

    /// Lists room `rid`'s task as running here.
    pub fn insert(&self, rid: &str, tx: mpsc::Sender<Call>) {
        self.owned
            .lock()
            .expect("not poisoned")
            .insert(rid.to_string(), tx);
    }

    /// Takes `self.taking`: one takeover at a time on this replica.
    pub async fn one_takeover_at_a_time(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.taking.lock().await
    }
}
