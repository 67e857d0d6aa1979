//! The matchmaker's own metrics, beside the kit's: groups by outcome, tickets waiting, and
//! how long matched players waited.

use chorus_kit::metrics::Metrics;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use std::time::Duration;

/// Counters shared by the rounds of one process.
#[derive(Clone)]
pub struct MmMetrics {
    /// Groups by outcome (`matched`, `lost`, `failed`): lost races show contention
    /// between replicas, failures a missing rooms worker.
    pub groups: Family<Vec<(String, String)>, Counter>,
    /// Tickets waiting (unclaimed) at the last round, all games.
    pub waiting: Gauge,
    /// How long each matched player waited, from joining (`queued_at`) to the match.
    pub wait: Histogram,
}

impl Default for MmMetrics {
    fn default() -> MmMetrics {
        MmMetrics {
            groups: Family::default(),
            waiting: Gauge::default(),
            // 0.25 s to about 17 min.
            wait: Histogram::new(exponential_buckets(0.25, 2.0, 13)),
        }
    }
}

impl MmMetrics {
    /// Registers them in the worker's registry.
    pub fn register(metrics: &Metrics) -> MmMetrics {
        let mm = MmMetrics::default();
        metrics.with_registry(|r| {
            r.register("mm_groups", "Groups found, by outcome", mm.groups.clone());
            r.register(
                "mm_waiting",
                "Tickets waiting at the last round",
                mm.waiting.clone(),
            );
            r.register(
                "mm_wait_seconds",
                "How long matched players waited, from joining to the match",
                mm.wait.clone(),
            );
        });
        mm
    }

    /// Records how long a matched player waited.
    pub fn waited(&self, wait: Duration) {
        self.wait.observe(wait.as_secs_f64());
    }

    /// Counts one group's outcome (`matched`, `lost` or `failed`).
    pub fn outcome(&self, label: &str) {
        self.groups
            .get_or_create(&vec![("outcome".into(), label.into())])
            .inc();
    }
}
