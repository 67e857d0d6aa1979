//! A worker's Prometheus metrics: requests by method and code, handler latency, what
//! the worker waits on ([`Waits`]: NATS requests, KV, Postgres), and whether its own NATS
//! connection is up.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Mutex;

pub use crate::waits::Waits;

type Labels = Vec<(String, String)>;

/// Metrics of one worker process.
#[derive(Debug)]
pub struct Metrics {
    /// Locked only to encode at scrape time and to register at start-up.
    registry: Mutex<Registry>,
    /// Requests handled, by method and result code (`ok` or an error code).
    requests: Family<Labels, Counter>,
    /// Handler latency in seconds, by method.
    latency: Family<Labels, Histogram>,
    /// What the worker waits on; handed to its state through [`Metrics::waits`].
    waits: Waits,
    /// 1 while the worker's NATS connection is up, 0 while it is not: a worker that lost
    /// the bus serves nothing, and its alert must say so even while its process is up.
    nats_connected: Gauge,
}

impl Metrics {
    /// Metrics for the worker `name` (a `worker` label on every series).
    pub fn new(name: &str) -> Metrics {
        let mut registry = Registry::with_prefix_and_labels(
            "chorus_worker",
            [("worker".into(), name.to_string().into())].into_iter(),
        );
        let requests = Family::<Labels, Counter>::default();
        let latency = Family::<Labels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 14))
        });
        registry.register(
            "requests",
            "Requests handled, by method and code",
            requests.clone(),
        );
        registry.register("request_seconds", "Handler latency, by method", latency.clone());
        let waits = Waits::register(&mut registry);
        let nats_connected = Gauge::default();
        registry.register(
            "nats_connected",
            "1 while this worker's NATS connection is up, 0 while it is not",
            nats_connected.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            requests,
            latency,
            waits,
            nats_connected,
        }
    }

    /// Records one handled request.
    pub fn request(&self, method: &str, code: &str, seconds: f64) {
        self.requests
            .get_or_create(&vec![
                ("method".into(), method.into()),
                ("code".into(), code.into()),
            ])
            .inc();
        self.latency
            .get_or_create(&vec![("method".into(), method.into())])
            .observe(seconds);
    }

    /// Shows `method`'s series (at zero) before its first request, so a scrape sees every
    /// method a worker serves and dashboards see zeros instead of gaps.
    pub fn touch(&self, method: &str) {
        let _ = self.requests.get_or_create(&vec![
            ("method".into(), method.into()),
            ("code".into(), "ok".into()),
        ]);
        let _ = self
            .latency
            .get_or_create(&vec![("method".into(), method.into())]);
    }

    /// The timers of what this worker waits on (its NATS requests, KV operations and
    /// Postgres queries), shown on its `/metrics`: a worker keeps a clone in its state.
    pub fn waits(&self) -> Waits {
        self.waits.clone()
    }

    /// Records whether the worker's NATS connection is up (the kit calls it on every
    /// connection event and before every scrape).
    pub fn set_nats_connected(&self, connected: bool) {
        self.nats_connected.set(i64::from(connected));
    }

    /// Lets a worker register metrics of its own.
    pub fn with_registry<T>(&self, f: impl FnOnce(&mut Registry) -> T) -> T {
        f(&mut self.registry.lock().expect("metrics lock"))
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry.lock().expect("metrics lock"))
            .expect("writing to a String cannot fail");
        out
    }

    /// How many observations the histogram `name` with exactly `labels` (as written in the
    /// exposition, e.g. `worker="chat",op="get"`) holds, as a scrape would read it; 0 when it
    /// has no such series. For tests of what a worker measures.
    pub fn histogram_count(&self, name: &str, labels: &str) -> u64 {
        let prefix = format!("{name}_count{{{labels}}} ");
        self.encode()
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .map_or(0, |n| n.parse().unwrap_or(0))
    }
}
