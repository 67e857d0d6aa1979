//! The matchmaker's own metrics, beside the kit's: groups by outcome, and tickets waiting.

use chorus_kit::metrics::Metrics;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

/// Counters shared by the rounds of one process.
#[derive(Clone, Default)]
pub struct MmMetrics {
    /// Groups by outcome (`matched`, `lost`, `failed`): lost races show contention
    /// between replicas, failures a missing rooms worker.
    pub groups: Family<Vec<(String, String)>, Counter>,
    /// Tickets waiting (unclaimed) at the last round, all games.
    pub waiting: Gauge,
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
        });
        mm
    }

    /// Counts one group's outcome (`matched`, `lost` or `failed`).
    pub fn outcome(&self, label: &str) {
        self.groups
            .get_or_create(&vec![("outcome".into(), label.into())])
            .inc();
    }
}
