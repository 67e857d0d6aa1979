//! What a worker's set-up gets from the kit ([`Context`]): its connections and metrics, and
//! two ways to run work beside the endpoints for the worker's life: periodic upkeep
//! ([`Context::every`]) and tasks it cannot serve without ([`Context::essential`]), whose
//! end stops the worker with an error. Both stop when the worker stops.

use crate::error::KitError;
use crate::metrics::Metrics;
use deadpool_postgres::Pool;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A started worker's connections, handed to its set-up.
#[derive(Clone)]
pub struct Context {
    /// The bus (connected, or connecting: it retries forever).
    pub nats: async_nats::Client,
    /// The Postgres pool, migrated: present when the worker's `Spec` has migrations.
    pub db: Option<Pool>,
    /// The worker's metrics, to register its own beside the kit's.
    pub metrics: Arc<Metrics>,
    /// Where an essential task's end is reported; the worker stops on it.
    ended: mpsc::UnboundedSender<KitError>,
    /// Cancelled when the worker stops: ends every task started here.
    stop: CancellationToken,
}

impl Context {
    /// A context whose essential tasks report to `ended` and which all end on `stop`.
    pub(crate) fn new(
        nats: async_nats::Client,
        db: Option<Pool>,
        metrics: Arc<Metrics>,
        ended: mpsc::UnboundedSender<KitError>,
        stop: CancellationToken,
    ) -> Context {
        Context {
            nats,
            db,
            metrics,
            ended,
            stop,
        }
    }

    /// Calls `upkeep` every `period` (first after one period) while the worker runs: e.g.
    /// forgetting rate-limit counters that have refilled.
    pub fn every(&self, period: Duration, mut upkeep: impl FnMut() + Send + 'static) {
        let stop = self.stop.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = ticks.tick() => upkeep(),
                }
            }
        });
    }

    /// Runs `work` beside the endpoints for the worker's life. The worker cannot serve
    /// without it: when it ends, with an error or not, the worker drains and exits with
    /// [`KitError::Ended`] naming `task`.
    pub fn essential<E>(&self, task: &'static str, work: impl Future<Output = Result<(), E>> + Send + 'static)
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let (stop, ended) = (self.stop.clone(), self.ended.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                result = work => {
                    let source = result.err().map(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>);
                    let _ = ended.send(KitError::Ended { task, source });
                }
            }
        });
    }
}
