//! What a run counts and how it is printed: the shared clock and measuring window, each
//! subscriber's own counters and latency histogram, the merged results, and the table.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Highest latency the histograms hold, in µs (larger values are clamped to it).
const MAX_LATENCY_US: u64 = 120_000_000;

/// The run's clock and its measuring window, shared by the publisher and every subscriber.
pub struct Window {
    /// Time zero: payload timestamps are nanoseconds since this instant.
    base: Instant,
    /// Window start, ns since `base` (`u64::MAX` until the publisher is told to go).
    start_ns: AtomicU64,
    /// Window end, ns since `base`.
    end_ns: AtomicU64,
}

impl Window {
    /// A clock starting now, with no window yet.
    pub fn new() -> Window {
        Window {
            base: Instant::now(),
            start_ns: AtomicU64::new(u64::MAX),
            end_ns: AtomicU64::new(u64::MAX),
        }
    }

    /// Nanoseconds since time zero.
    pub fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// The instant `ns` nanoseconds after time zero.
    pub fn instant(&self, ns: u64) -> Instant {
        self.base + Duration::from_nanos(ns)
    }

    /// Fixes the measuring window.
    pub fn set(&self, start_ns: u64, end_ns: u64) {
        self.end_ns.store(end_ns, Ordering::Release);
        self.start_ns.store(start_ns, Ordering::Release);
    }

    /// The window, `(start, end)` in ns since time zero.
    pub fn bounds(&self) -> (u64, u64) {
        (
            self.start_ns.load(Ordering::Acquire),
            self.end_ns.load(Ordering::Acquire),
        )
    }
}

/// One subscriber's counters; the subscriber task alone updates them (under an uncontended
/// lock taken once per read), the runner merges them at the end.
pub struct SubStats {
    /// Messages received while the window was open (by receive time): the delivery rate.
    pub rx_in_window: u64,
    /// Messages published inside the window that arrived (whenever): the completeness.
    pub delivered_of_window: u64,
    /// Every message received.
    pub rx_total: u64,
    /// Publish→receive latency in µs of the messages counted in `rx_in_window` (by receive
    /// time, so a server falling behind shows its backlog here instead of hiding it).
    pub latency_us: Histogram<u32>,
    /// Close frames received from the server.
    pub closes: u64,
    /// Slow-consumer notices (close reason, `err` frame or `-ERR`).
    pub slow_consumer: u64,
    /// Connections that ended without a close frame (EOF, reset, protocol error).
    pub disconnects: u64,
    /// Error frames other than slow-consumer ones.
    pub errors: u64,
}

impl SubStats {
    /// Empty counters.
    pub fn new() -> SubStats {
        SubStats {
            rx_in_window: 0,
            delivered_of_window: 0,
            rx_total: 0,
            latency_us: new_histogram(),
            closes: 0,
            slow_consumer: 0,
            disconnects: 0,
            errors: 0,
        }
    }

    /// Counts one message sent at `sent_ns` and received at `now_ns`.
    #[inline]
    pub fn record(&mut self, sent_ns: u64, now_ns: u64, window: (u64, u64)) {
        self.rx_total += 1;
        if now_ns >= window.0 && now_ns < window.1 {
            self.rx_in_window += 1;
            let us = now_ns.saturating_sub(sent_ns) / 1000;
            self.latency_us.saturating_record(us.max(1));
        }
        if sent_ns >= window.0 && sent_ns < window.1 {
            self.delivered_of_window += 1;
        }
    }
}

impl SubStats {
    /// Adds `s`'s counts to these.
    pub fn merge(&mut self, s: &SubStats) {
        self.rx_in_window += s.rx_in_window;
        self.delivered_of_window += s.delivered_of_window;
        self.rx_total += s.rx_total;
        // Both histograms share bounds, so adding cannot fail short of u32 overflow.
        let _ = self.latency_us.add(&s.latency_us);
        self.closes += s.closes;
        self.slow_consumer += s.slow_consumer;
        self.disconnects += s.disconnects;
        self.errors += s.errors;
    }
}

/// Locks a subscriber's counters (a poisoned lock still holds valid counts).
pub fn lock(stats: &std::sync::Mutex<SubStats>) -> std::sync::MutexGuard<'_, SubStats> {
    stats.lock().unwrap_or_else(|e| e.into_inner())
}

fn new_histogram() -> Histogram<u32> {
    // Two significant figures keep each subscriber's histogram around 10 KiB.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 2).expect("valid histogram bounds")
}

/// The merged outcome of one load run against one target.
pub struct LoadResult {
    /// Subscribers that connected and subscribed.
    pub subscribers: usize,
    /// Subscribers that failed to connect or subscribe.
    pub subscribe_failures: usize,
    /// Length of the measuring window, s.
    pub window_secs: f64,
    /// Messages published with a timestamp inside the window.
    pub published_in_window: u64,
    /// Messages published in all (warm-up included).
    pub published_total: u64,
    /// Error frames the publisher received (e.g. rate limits).
    pub publisher_errors: u64,
    /// Every subscriber's counters, merged.
    pub received: SubStats,
    /// CPU seconds the server process(es) used during the window.
    pub server_cpu_secs: f64,
    /// CPU seconds the bench itself used during the window.
    pub client_cpu_secs: f64,
    /// CPU seconds the whole machine was busy during the window.
    pub machine_cpu_secs: f64,
}

impl LoadResult {
    /// An empty result to merge subscribers into.
    pub fn new(subscribers: usize, subscribe_failures: usize) -> LoadResult {
        LoadResult {
            subscribers,
            subscribe_failures,
            window_secs: 0.0,
            published_in_window: 0,
            published_total: 0,
            publisher_errors: 0,
            received: SubStats::new(),
            server_cpu_secs: 0.0,
            client_cpu_secs: 0.0,
            machine_cpu_secs: 0.0,
        }
    }

    /// Adds one subscriber's counters.
    pub fn merge(&mut self, s: &SubStats) {
        self.received.merge(s);
    }

    /// Deliveries expected: every subscriber gets every message published in the window.
    pub fn expected(&self) -> u64 {
        self.published_in_window * self.subscribers as u64
    }

    /// Messages per second received during the window.
    pub fn delivered_per_sec(&self) -> f64 {
        self.received.rx_in_window as f64 / self.window_secs
    }

    /// Deliveries per second offered (published rate × subscribers).
    pub fn offered_per_sec(&self) -> f64 {
        self.expected() as f64 / self.window_secs
    }

    /// Percentage of the window's messages that arrived.
    pub fn delivered_pct(&self) -> f64 {
        100.0 * self.received.delivered_of_window as f64 / self.expected().max(1) as f64
    }

    /// Latency quantile in ms.
    pub fn latency_ms(&self, q: f64) -> f64 {
        self.received.latency_us.value_at_quantile(q) as f64 / 1000.0
    }

    /// CPU the rest of the machine used meanwhile (anything else running skews the run).
    pub fn other_cpu_secs(&self) -> f64 {
        (self.machine_cpu_secs - self.server_cpu_secs - self.client_cpu_secs).max(0.0)
    }

    /// Server CPU per delivery, µs.
    pub fn cpu_us_per_delivery(&self) -> f64 {
        self.server_cpu_secs * 1e6 / self.received.rx_in_window.max(1) as f64
    }
}

/// The outcome of the idle-connection memory measurement.
pub struct IdleResult {
    /// Connections opened and held.
    pub opened: usize,
    /// Connections that failed.
    pub failures: usize,
    /// Resident memory of the server under test before, KiB.
    pub rss_before_kib: u64,
    /// ... and with the connections open, KiB.
    pub rss_after_kib: u64,
    /// For the bridge: the nats-server's RSS growth meanwhile, KiB (not in the per-conn figure).
    pub nats_growth_kib: Option<i64>,
}

impl IdleResult {
    /// Memory per idle connection, KiB.
    pub fn kib_per_conn(&self) -> f64 {
        (self.rss_after_kib as f64 - self.rss_before_kib as f64) / self.opened.max(1) as f64
    }
}

/// Everything measured for one target (a part may have failed).
pub struct TargetReport {
    /// Column title.
    pub name: &'static str,
    /// The load run, or why it could not run.
    pub load: Result<LoadResult, String>,
    /// The idle measurement, or why it could not run.
    pub idle: Result<IdleResult, String>,
}

/// Prints the side-by-side table (and any failures underneath).
pub fn print_table(scenario: &str, reports: &[TargetReport]) {
    println!();
    println!("{scenario}");
    let mut header = format!("{:<24}", "");
    for r in reports {
        header += &format!("{:>20}", r.name);
    }
    if reports.len() == 2 {
        header += &format!("{:>14}", "ratio");
    }
    println!("{header}");

    type Cell = fn(&TargetReport) -> Option<(String, f64)>;
    let rows: &[(&str, Cell)] = &[
        ("subscribers", |r| {
            r.load.as_ref().ok().map(|l| {
                let s = if l.subscribe_failures > 0 {
                    format!("{} ({} failed)", l.subscribers, l.subscribe_failures)
                } else {
                    l.subscribers.to_string()
                };
                (s, l.subscribers as f64)
            })
        }),
        ("offered/s", |r| {
            r.load
                .as_ref()
                .ok()
                .map(|l| (fmt_k(l.offered_per_sec()), l.offered_per_sec()))
        }),
        ("delivered/s", |r| {
            r.load
                .as_ref()
                .ok()
                .map(|l| (fmt_k(l.delivered_per_sec()), l.delivered_per_sec()))
        }),
        ("delivered %", |r| {
            r.load
                .as_ref()
                .ok()
                .map(|l| (format!("{:.2}", l.delivered_pct()), l.delivered_pct()))
        }),
        ("p50 / p99 / p999 ms", |r| {
            r.load
                .as_ref()
                .ok()
                .filter(|l| !l.received.latency_us.is_empty())
                .map(|l| {
                    let (a, b, c) = (l.latency_ms(0.5), l.latency_ms(0.99), l.latency_ms(0.999));
                    (format!("{} / {} / {}", fmt_ms(a), fmt_ms(b), fmt_ms(c)), b)
                })
        }),
        ("max ms", |r| {
            r.load
                .as_ref()
                .ok()
                .filter(|l| !l.received.latency_us.is_empty())
                .map(|l| {
                    let m = l.received.latency_us.max() as f64 / 1000.0;
                    (fmt_ms(m), m)
                })
        }),
        ("server CPU µs/deliv", |r| {
            r.load
                .as_ref()
                .ok()
                .map(|l| (format!("{:.2}", l.cpu_us_per_delivery()), l.cpu_us_per_delivery()))
        }),
        ("server CPU cores", |r| {
            r.load.as_ref().ok().map(|l| {
                let c = l.server_cpu_secs / l.window_secs;
                (format!("{c:.2}"), c)
            })
        }),
        ("bench CPU cores", |r| {
            r.load.as_ref().ok().map(|l| {
                let c = l.client_cpu_secs / l.window_secs;
                (format!("{c:.2}"), c)
            })
        }),
        ("other CPU cores", |r| {
            r.load.as_ref().ok().map(|l| {
                let c = l.other_cpu_secs() / l.window_secs;
                (format!("{c:.2}"), c)
            })
        }),
        ("slow-consumer / closed", |r| {
            r.load.as_ref().ok().map(|l| {
                let s = format!(
                    "{} / {}",
                    l.received.slow_consumer,
                    l.received.closes + l.received.disconnects
                );
                (s, (l.received.closes + l.received.disconnects) as f64)
            })
        }),
        ("idle KiB/conn", |r| {
            r.idle
                .as_ref()
                .ok()
                .map(|i| (format!("{:.1}", i.kib_per_conn()), i.kib_per_conn()))
        }),
    ];
    for (label, cell) in rows {
        let mut line = format!("{label:<24}");
        let mut values = Vec::new();
        for r in reports {
            match cell(r) {
                Some((text, v)) => {
                    line += &format!("{text:>20}");
                    values.push(Some(v));
                }
                None => {
                    line += &format!("{:>20}", "n/a");
                    values.push(None);
                }
            }
        }
        if let [Some(a), Some(b)] = values[..]
            && b != 0.0
            && RATIO_ROWS.contains(label)
        {
            line += &format!("{:>14}", format!("{:.2}", a / b));
        }
        println!("{line}");
    }
    for r in reports {
        if let Ok(l) = &r.load {
            println!(
                "  {}: {} published in the window ({} in all), {} delivered of {} expected, \
                 {} received in all, {} publisher errors, {} other error frames",
                r.name,
                l.published_in_window,
                l.published_total,
                l.received.delivered_of_window,
                l.expected(),
                l.received.rx_total,
                l.publisher_errors,
                l.received.errors
            );
        }
        if let Ok(i) = &r.idle {
            let mut s = format!(
                "  {}: idle RSS {} → {} KiB with {} connections",
                r.name, i.rss_before_kib, i.rss_after_kib, i.opened
            );
            if i.failures > 0 {
                s += &format!(" ({} failed)", i.failures);
            }
            if let Some(g) = i.nats_growth_kib {
                s += &format!("; nats-server behind it grew {g} KiB (not counted above)");
            }
            println!("{s}");
        }
        if let Ok(l) = &r.load {
            if l.client_cpu_secs / l.window_secs > 0.95 {
                println!(
                    "  {}: WARNING: the bench used a whole core (its limit): the client, not \
                     the server, may have set the pace",
                    r.name
                );
            }
            if l.other_cpu_secs() / l.window_secs > 0.15 {
                println!(
                    "  {}: WARNING: other processes used {:.2} cores during the window; \
                     these figures are skewed",
                    r.name,
                    l.other_cpu_secs() / l.window_secs
                );
            }
        }
        if let Err(e) = &r.load {
            println!("  {}: load run failed: {e}", r.name);
        }
        if let Err(e) = &r.idle {
            println!("  {}: idle measurement failed: {e}", r.name);
        }
    }
    if reports.len() == 2 {
        println!("  ratio = {} ÷ {}", reports[0].name, reports[1].name);
    }
}

/// Rows where bridge ÷ nats-ws means something.
const RATIO_ROWS: &[&str] = &[
    "delivered/s",
    "delivered %",
    "p50 / p99 / p999 ms",
    "max ms",
    "server CPU µs/deliv",
    "server CPU cores",
    "idle KiB/conn",
];

fn fmt_k(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1}k", v / 1000.0)
    } else {
        format!("{v:.0}")
    }
}

fn fmt_ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_window() {
        let mut s = SubStats::new();
        let w = (1_000, 2_000);
        s.record(500, 1_500, w); // sent before, received inside
        s.record(1_500, 1_600, w); // both inside
        s.record(1_900, 2_500, w); // sent inside, received after
        assert_eq!(s.rx_total, 3);
        assert_eq!(s.rx_in_window, 2);
        assert_eq!(s.delivered_of_window, 2);
        assert_eq!(s.latency_us.len(), 2, "latency of what arrived in the window");
    }
}
