//! `chorus-matchmaker`: players ask for a game (`svc.mm.join {game}`) and are grouped with
//! players of similar rating, the window widening as they wait; each group gets a room
//! from the rooms worker and every player hears of it on `user.{uid}.match`. Tickets live
//! in the JetStream KV bucket `mm` (memory, TTL), so any number of replicas share one
//! queue; compare-and-set on each ticket's revision makes sure nobody is matched twice.
//!
//! # Layout
//! - [`service`]: `svc.mm.join` and `svc.mm.leave`.
//! - [`ticket`]: a ticket, its claim, and the keys and subjects they live under.
//! - [`queue`]: the `mm` bucket, every write a compare-and-set.
//! - [`view`]: a replica's view of the queue, kept by a KV watch.
//! - [`matcher`]: the [`Matcher`](matcher::Matcher) seam and the default rating window.
//! - [`catalog`]: the games, their seats and matchers.
//! - [`game_file`]: a game file's own `match(tickets)` as a matcher.
//! - [`round`]: matching rounds: claim, open the room, tell the players.
//! - [`peers`]: asking the rooms worker for ratings and rooms.
//! - [`disconnects`]: cancelling the tickets of closed connections.
//! - [`metrics`]: groups by outcome, tickets waiting, matched players' wait.
//! - [`settings`]: settings and defaults; [`error`]: [`MmError`].
//!
//! Here: [`Matchmaker`], what the endpoints share, and [`Background`], what runs beside them.

pub mod catalog;
pub mod disconnects;
pub mod error;
pub mod game_file;
pub mod matcher;
pub mod metrics;
pub mod peers;
pub mod queue;
pub mod round;
pub mod service;
pub mod settings;
pub mod ticket;
pub mod view;

pub use catalog::Catalog;
pub use error::MmError;
pub use service::service;
pub use settings::Settings;

use chorus_kit::metrics::Metrics;
use disconnects::Disconnects;
use metrics::MmMetrics;
use peers::Peers;
use queue::Queue;
use round::Rounds;
use std::sync::Arc;
use view::{Follow, View};

/// What the endpoints share.
pub struct Matchmaker {
    /// The settings.
    pub settings: Settings,
    /// The games.
    pub catalog: Arc<Catalog>,
    /// The bucket.
    pub queue: Queue,
    /// The rooms worker (for ratings).
    pub peers: Peers,
    /// This replica's view of the queue.
    pub view: View,
}

/// What runs beside the endpoints, subscribed and not yet running: the view's watch, the
/// disconnect listener and the matching rounds.
pub struct Background {
    /// Keeps the view.
    follow: Follow,
    /// Cancels closed connections' tickets.
    disconnects: Disconnects,
    /// Matches.
    rounds: Rounds,
    /// The bucket, for the disconnect listener.
    queue: Queue,
    /// Time between rounds.
    period: std::time::Duration,
}

impl Background {
    /// Runs them all until one fails (they run for the worker's life).
    pub async fn run(self) -> Result<(), MmError> {
        let rounds = self.rounds.run(self.period);
        tokio::try_join!(self.follow.run(), self.disconnects.run(self.queue), rounds)?;
        Ok(())
    }
}

/// Opens the bucket, starts the watch and subscribes to disconnects (so from the return
/// on, nothing is missed), and makes this replica's matchmaker and its background work.
pub async fn open(
    nats: async_nats::Client,
    settings: Settings,
    catalog: Catalog,
    metrics: &Metrics,
) -> Result<(Arc<Matchmaker>, Background), MmError> {
    let js = async_nats::jetstream::new(nats.clone());
    let queue = Queue::open(&js, &settings).await?.with_waits(metrics.waits());
    let view = View::new();
    let follow = view.watch(&queue).await?;
    let disconnects = Disconnects::open(&nats).await?;
    let peers = Peers::new(nats.clone(), &settings, metrics.waits());
    let catalog = Arc::new(catalog);
    let rounds = Rounds {
        nats,
        queue: queue.clone(),
        view: view.clone(),
        peers: peers.clone(),
        catalog: catalog.clone(),
        replica: format!("{:08x}", rand::random::<u32>()),
        claim: settings.claim,
        concurrency: settings.concurrency,
        metrics: MmMetrics::register(metrics),
    };
    let background = Background {
        follow,
        disconnects,
        rounds,
        queue: queue.clone(),
        period: settings.round,
    };
    let mm = Matchmaker {
        settings,
        catalog,
        queue,
        peers,
        view,
    };
    Ok((Arc::new(mm), background))
}

/// A whole replica in this process, for tests: opened, its background running, its
/// endpoints subscribed (on the server when this returns) and served until the runtime ends.
pub async fn spawn_in_process(
    nats: async_nats::Client,
    settings: Settings,
    catalog: Catalog,
) -> Result<Arc<Matchmaker>, MmError> {
    spawn_in_process_metered(nats, settings, catalog, Arc::new(Metrics::new("mm"))).await
}

/// [`spawn_in_process`], counting in `metrics`, which a test can read.
pub async fn spawn_in_process_metered(
    nats: async_nats::Client,
    settings: Settings,
    catalog: Catalog,
    metrics: Arc<Metrics>,
) -> Result<Arc<Matchmaker>, MmError> {
    let (mm, background) = open(nats.clone(), settings, catalog, &metrics).await?;
    tokio::spawn(async move {
        if let Err(e) = background.run().await {
            tracing::error!(error = %e, "matchmaker background ended");
        }
    });
    let subscribed = service(mm.clone())
        .subscribe(&nats)
        .await
        .map_err(|e| MmError::Nats(e.to_string()))?;
    tokio::spawn(subscribed.serve(metrics, std::future::pending()));
    Ok(mm)
}
