//! Per-bridge and per-connection limits: the connection cap, and each connection's frame
//! rate with a second, stricter budget for frames sent after being told `rate_limited`.

use crate::config::Config;
use crate::metrics::Metrics;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts open connections against `max_connections`.
#[derive(Debug)]
pub struct ConnSlots {
    /// Connections holding a slot.
    open: AtomicUsize,
    /// The cap.
    max: usize,
    /// The `connections` gauge follows `open`.
    metrics: Arc<Metrics>,
}

/// A held connection slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot(Arc<ConnSlots>);

impl ConnSlots {
    /// A cap of `max` connections.
    pub fn new(max: usize, metrics: Arc<Metrics>) -> Arc<ConnSlots> {
        Arc::new(ConnSlots {
            open: AtomicUsize::new(0),
            max,
            metrics,
        })
    }

    /// A slot, unless the bridge is full.
    pub fn try_acquire(self: &Arc<Self>) -> Option<Slot> {
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .is_ok();
        if !taken {
            return None;
        }
        self.metrics.connections.inc();
        self.metrics.connections_total.inc();
        Some(Slot(self.clone()))
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
        self.0.metrics.connections.dec();
    }
}

/// A connection's frame budget.
#[derive(Debug)]
pub struct FrameRate {
    /// Frames within the connection's rate.
    normal: DefaultDirectRateLimiter,
    /// Frames over the rate still tolerated (answered `rate_limited`) before closing.
    abuse: DefaultDirectRateLimiter,
}

/// What to do with one more frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within the rate.
    Allow,
    /// Over the rate: answer `rate_limited`, drop the frame.
    Limit,
    /// Still flooding after being told: close the connection.
    Abuse,
}

impl FrameRate {
    /// The budget from the configured rates (zeros are treated as one).
    pub fn new(config: &Config) -> FrameRate {
        let nz = |v: u32| NonZeroU32::new(v.max(1)).expect("at least one");
        let burst = config.rate_burst.max(config.rate_per_sec);
        FrameRate {
            normal: RateLimiter::direct(Quota::per_second(nz(config.rate_per_sec)).allow_burst(nz(burst))),
            abuse: RateLimiter::direct(Quota::per_second(nz(config.rate_abuse_per_sec))),
        }
    }

    /// Charges one frame.
    pub fn check(&self) -> Verdict {
        if self.normal.check().is_ok() {
            Verdict::Allow
        } else if self.abuse.check().is_ok() {
            Verdict::Limit
        } else {
            Verdict::Abuse
        }
    }
}
