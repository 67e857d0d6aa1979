//! Prometheus metrics served at `/metrics`. Hot-path counters are looked up once and kept
//! as handles, and the fan-out adds its deliveries once per NATS message, not per socket.

use chorus_protocol::{CloseCode, ErrorCode};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = [(&'static str, &'static str); 1];

/// `worker` (the subject's second token, or `none` when nobody answered) and `result`.
type RequestLabels = [(&'static str, String); 2];

/// Every client op, for per-op counters.
const IN_OPS: [&str; 7] = ["auth", "sub", "unsub", "pub", "req", "ping", "invalid"];
/// Every bridge op.
const OUT_OPS: [&str; 7] = ["welcome", "msg", "ok", "reply", "err", "pong", "close"];

/// The bridge's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Open client connections (WebSocket and TCP).
    pub connections: Gauge,
    /// Connections accepted since start.
    pub connections_total: Counter,
    frames_in: Family<Labels, Counter>,
    frames_out: Family<Labels, Counter>,
    errors: Family<Labels, Counter>,
    closes: Family<Labels, Counter>,
    /// Distinct NATS subscriptions held by this bridge.
    pub nats_subscriptions: Gauge,
    /// Frames waiting in all outbound queues (sampled at scrape time).
    pub queued_frames: Gauge,
    /// The fullest single outbound queue (sampled at scrape time).
    pub queued_frames_max: Gauge,
    /// Messages received from NATS for fan-out.
    pub nats_messages: Counter,
    /// 1 while connected to NATS.
    pub nats_connected: Gauge,
    /// Client requests through NATS: time to the reply, by worker and result.
    requests: Family<RequestLabels, Histogram>,
}

impl Metrics {
    /// Registers every metric under the `chorus_bridge` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("chorus_bridge");
        let m = Metrics {
            connections: Gauge::default(),
            connections_total: Counter::default(),
            frames_in: Family::default(),
            frames_out: Family::default(),
            errors: Family::default(),
            closes: Family::default(),
            nats_subscriptions: Gauge::default(),
            queued_frames: Gauge::default(),
            queued_frames_max: Gauge::default(),
            nats_messages: Counter::default(),
            nats_connected: Gauge::default(),
            requests: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 16))),
            registry: Registry::default(),
        };
        registry.register("connections", "Open client connections", m.connections.clone());
        registry.register(
            "connections_accepted",
            "Client connections accepted",
            m.connections_total.clone(),
        );
        registry.register("frames_in", "Client frames received, by op", m.frames_in.clone());
        registry.register(
            "frames_out",
            "Frames sent to clients, by op",
            m.frames_out.clone(),
        );
        registry.register("errors", "err frames sent, by code", m.errors.clone());
        registry.register(
            "closes",
            "Connections closed by the bridge, by reason",
            m.closes.clone(),
        );
        registry.register(
            "nats_subscriptions",
            "Distinct NATS subscriptions",
            m.nats_subscriptions.clone(),
        );
        registry.register(
            "outbound_queued_frames",
            "Frames waiting in outbound queues",
            m.queued_frames.clone(),
        );
        registry.register(
            "outbound_queued_frames_max",
            "Fullest outbound queue",
            m.queued_frames_max.clone(),
        );
        registry.register(
            "nats_messages",
            "NATS messages received for fan-out",
            m.nats_messages.clone(),
        );
        registry.register(
            "nats_connected",
            "1 while connected to NATS",
            m.nats_connected.clone(),
        );
        registry.register(
            "request_seconds",
            "Client requests through NATS, time to the reply, by worker and result",
            m.requests.clone(),
        );
        // Touch every label so dashboards see zeros instead of gaps.
        for op in IN_OPS {
            drop(m.frames_in.get_or_create(&[("op", op)]));
        }
        for op in OUT_OPS {
            drop(m.frames_out.get_or_create(&[("op", op)]));
        }
        for code in ErrorCode::ALL {
            drop(m.errors.get_or_create(&[("code", code.as_str())]));
        }
        for code in CloseCode::ALL {
            drop(m.closes.get_or_create(&[("reason", code.reason())]));
        }
        Metrics { registry, ..m }
    }

    /// Counts a received frame.
    pub fn frame_in(&self, op: &'static str) {
        self.frames_in.get_or_create(&[("op", op)]).inc();
    }

    /// Counts `n` sent frames of one op.
    pub fn frames_out(&self, op: &'static str, n: u64) {
        self.frames_out.get_or_create(&[("op", op)]).inc_by(n);
    }

    /// Counts an `err` frame.
    pub fn error(&self, code: ErrorCode) {
        self.errors.get_or_create(&[("code", code.as_str())]).inc();
    }

    /// Counts a close initiated by the bridge.
    pub fn close(&self, code: CloseCode) {
        self.closes.get_or_create(&[("reason", code.reason())]).inc();
    }

    /// Records a client request's round trip through NATS. `worker` is `svc.{worker}.…`'s
    /// token when a worker answered (so labels stay as few as the workers), else `none`;
    /// `result` is `ok` or the error code.
    pub fn request(&self, worker: Option<&str>, result: &'static str, seconds: f64) {
        let worker = worker.unwrap_or("none").to_string();
        self.requests
            .get_or_create(&[("worker", worker), ("result", result.to_string())])
            .observe(seconds);
    }

    /// A handle on the `msg` counter, for the fan-out's hot loop.
    pub fn msg_counter(&self) -> Counter {
        self.frames_out.get_or_create(&[("op", "msg")]).clone()
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
