//! `chorus-rooms`: authoritative game rooms, event-sourced, that survive the death of the
//! process running them. A room runs a game file (`chorus-games`); each input is a command
//! the game turns into events, appended to the room's log in JetStream with compare-and-set
//! on its last sequence; the state is the fold of the events. One replica owns a room (a
//! lease in KV, renewed); any replica takes calls and forwards them to the owner; when the
//! owner dies another replica rebuilds the room from its log and goes on. A finished room
//! goes to Postgres with its log, moves Glicko-2 ratings, and is told on
//! `evt.rooms.finished`.
//!
//! # Layout
//! - [`service`]: the endpoint table.
//! - [`create`]: `int.rooms.create`: a new room, its players granted its subjects.
//! - [`cosmetics`]: the skins players own, from the store, shown in a new room.
//! - [`play`]: `svc.rooms.input`, `state`, `leave`, `replay`.
//! - [`gamepad`]: `svc.rooms.pad`, `svc.rooms.claim`: phones steering seats by a code;
//!   [`pad_codes`]: the codes and the limits on claiming them; [`seats`]: who steers which
//!   seat, on the room's owner; [`grants`]: the rights a room gives.
//! - [`shared`]: [`Rooms`], the shared parts and the table of rooms this replica runs.
//! - [`routing`]: a call to its room's owner, wherever it runs; takeover; the orphan scan.
//! - [`call`]: what travels to a room's task (from here, or forwarded) and back.
//! - [`room`]: one owned turn-based room's task: commands, log appends, broadcasts, turn time, finish.
//! - [`realtime`]: a realtime room's task: inputs in, the log, snapshots, calls, finish.
//! - [`ticker`]: the tick threads realtime rooms run on; [`tickloop`]: one thread's loop;
//!   [`tickroom`]: one room's tick; [`tickmsg`]: what passes between a room and its thread.
//! - [`lease`]: owner leases in the `rooms` bucket, compare-and-set.
//! - [`store`]: the `ROOMS` log stream, the `rooms` bucket, the `EVENTS` stream.
//! - [`finish`]: a finished room to Postgres and `evt.rooms.finished`; finished rooms' answers.
//! - [`ratings`]: Glicko-2 ratings in Postgres; `svc.rating.*`, `int.rating.of`.
//! - [`glicko`]: the Glicko-2 arithmetic.
//! - [`model`]: room metadata, seats and log entries.
//! - [`ids`]: random room ids and seeds; token checks.
//! - [`migrations`]: the Postgres schema.
//! - [`settings`]: every setting and its default.
//! - [`error`]: [`RoomsError`] and the wire code of each reason.

pub mod call;
pub mod cosmetics;
pub mod create;
pub mod error;
pub mod finish;
pub mod gamepad;
pub mod glicko;
pub mod grants;
pub mod ids;
pub mod lease;
pub mod migrations;
pub mod model;
pub mod pad_codes;
pub mod play;
pub mod ratings;
pub mod realtime;
pub mod room;
pub mod routing;
pub mod seats;
pub mod service;
pub mod settings;
pub mod shared;
pub mod store;
pub mod ticker;
pub mod tickloop;
pub mod tickmsg;
pub mod tickroom;

pub use error::RoomsError;
pub use migrations::MIGRATIONS;
pub use service::service;
pub use settings::Settings;
pub use shared::Rooms;

use chorus_kit::KitError;
use std::sync::Arc;

/// Why [`spawn_in_process`] could not start the worker.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The database, its migrations, or the endpoints' subscriptions.
    #[error(transparent)]
    Kit(#[from] KitError),
    /// The rooms' stream and bucket.
    #[error(transparent)]
    Rooms(#[from] RoomsError),
}

/// The worker in this process (for tests): migrates `db_url`, opens the rooms, starts the
/// orphan scan, and serves until the returned task is aborted. Returns once subscribed.
pub async fn spawn_in_process(
    nats: async_nats::Client,
    db_url: &str,
    settings: Settings,
) -> Result<(Arc<Rooms>, tokio::task::JoinHandle<()>), SpawnError> {
    let metrics = Arc::new(chorus_kit::metrics::Metrics::new("rooms"));
    spawn_in_process_metered(nats, db_url, settings, metrics).await
}

/// [`spawn_in_process`], counting (requests, and what it waits on) in `metrics`, which a
/// test can read.
pub async fn spawn_in_process_metered(
    nats: async_nats::Client,
    db_url: &str,
    settings: Settings,
    metrics: Arc<chorus_kit::metrics::Metrics>,
) -> Result<(Arc<Rooms>, tokio::task::JoinHandle<()>), SpawnError> {
    let pool = chorus_kit::db::connect(db_url, 4).await?;
    chorus_kit::db::migrate(&pool, "rooms", MIGRATIONS).await?;
    let rooms = Rooms::open(nats.clone(), pool, settings, metrics.waits()).await?;
    let subscribed = service(rooms.clone()).subscribe(&nats).await?;
    let scan = tokio::spawn(routing::scan(rooms.clone()));
    let served = tokio::spawn(async move {
        let _ = subscribed.serve(metrics, std::future::pending()).await;
        scan.abort();
    });
    Ok((rooms, served))
}
