//! What a worker waits on, timed: its own NATS requests to other workers, its KV
//! operations and its Postgres queries, each in a histogram on the worker's `/metrics`.
//! A call site wraps the future it awaits, in one line:
//!
//! ```ignore
//! let row = state.waits.db("login", db.query_opt(sql, params)).await?;
//! let entry = state.waits.kv("mm", "get", kv.entry(key)).await?;
//! let reply = state.waits.nats("int.friends.of", nats.send_request(subject, request)).await?;
//! ```
//!
//! Every label is a `&'static str` the caller chooses (a bucket, an operation, the subject
//! as the worker knows it), so no user data or full subject ever becomes a series. A
//! future dropped before it finished records nothing: keep a timeout inside the timed
//! future (as `async_nats::Request::timeout` does) so timeouts are counted.

use async_nats::{Message, RequestError, RequestErrorKind};
use chorus_protocol::ErrorCode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::future::Future;
use std::time::Instant;

/// Label pairs of static strings: no allocation per observation, no unbounded values.
type Labels<const N: usize> = [(&'static str, &'static str); N];

/// A latency family with the kit's buckets (0.5 ms to about 4 s).
fn latencies<const N: usize>() -> Family<Labels<N>, Histogram> {
    Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 14)))
}

/// Histograms of what a worker waits on. Cheap to clone (the series are shared), so a
/// worker keeps one in its state. `Waits::default()` records into series no registry
/// shows: for state built outside a worker, e.g. in a test or a bench.
#[derive(Debug, Clone)]
pub struct Waits {
    /// NATS requests this worker makes, by `subject` and `result`.
    nats: Family<Labels<2>, Histogram>,
    /// JetStream KV operations, by `bucket` and `op`.
    kv: Family<Labels<2>, Histogram>,
    /// Postgres queries and transactions, by `op`.
    db: Family<Labels<1>, Histogram>,
}

impl Default for Waits {
    fn default() -> Waits {
        Waits {
            nats: latencies(),
            kv: latencies(),
            db: latencies(),
        }
    }
}

impl Waits {
    /// New histograms, registered in `registry` (whose prefix is `chorus_worker`):
    /// `…_nats_request_seconds`, `…_kv_seconds` and `…_db_seconds`.
    pub(crate) fn register(registry: &mut Registry) -> Waits {
        let waits = Waits::default();
        registry.register(
            "nats_request_seconds",
            "NATS requests this worker made to others, by subject and result",
            waits.nats.clone(),
        );
        registry.register(
            "kv_seconds",
            "JetStream KV operations, by bucket and op",
            waits.kv.clone(),
        );
        registry.register("db_seconds", "Postgres queries, by op", waits.db.clone());
        waits
    }

    /// Awaits `query` (a Postgres query or a whole transaction) and records how long it
    /// took under `op`, a short name of what it does (`login`, `buy`).
    pub async fn db<F: Future>(&self, op: &'static str, query: F) -> F::Output {
        let start = Instant::now();
        let out = query.await;
        self.db.get_or_create(&[("op", op)]).observe(seconds(start));
        out
    }

    /// Awaits `operation` on the KV bucket `bucket` and records how long it took under
    /// `op` (`get`, `put`, `update`, `delete`…).
    pub async fn kv<F: Future>(&self, bucket: &'static str, op: &'static str, operation: F) -> F::Output {
        let start = Instant::now();
        let out = operation.await;
        self.kv
            .get_or_create(&[("bucket", bucket), ("op", op)])
            .observe(seconds(start));
        out
    }

    /// Awaits `request`, a NATS request this worker makes to `subject` (the subject as
    /// the worker knows it, e.g. `int.friends.of`; never one holding an id), and records
    /// how long it took and its `result`: `ok`, the wire code of a `Chorus-Error` reply,
    /// `timeout`, `no_responders` or `error`.
    pub async fn nats<F>(&self, subject: &'static str, request: F) -> Result<Message, RequestError>
    where
        F: Future<Output = Result<Message, RequestError>>,
    {
        let start = Instant::now();
        let out = request.await;
        let result = result_of(&out);
        self.nats
            .get_or_create(&[("subject", subject), ("result", result)])
            .observe(seconds(start));
        out
    }
}

/// Seconds since `start`.
fn seconds(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

/// The `result` label of a request's outcome: a bounded set of static names.
fn result_of(out: &Result<Message, RequestError>) -> &'static str {
    match out {
        Ok(reply) => match reply
            .headers
            .as_ref()
            .and_then(|h| h.get(chorus_protocol::headers::ERROR))
        {
            None => "ok",
            Some(code) => code
                .as_str()
                .parse::<ErrorCode>()
                .map_or("error", ErrorCode::as_str),
        },
        Err(e) => match e.kind() {
            RequestErrorKind::TimedOut => "timeout",
            RequestErrorKind::NoResponders => "no_responders",
            _ => "error",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_nats::HeaderMap;

    /// The count of the histogram `name` with these labels, from the text format.
    fn count(registry: &Registry, name: &str, labels: &str) -> u64 {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
        let prefix = format!("{name}_count{{{labels}}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .map_or(0, |n| n.parse().unwrap())
    }

    fn reply(error: Option<&str>) -> Message {
        let headers = error.map(|code| {
            let mut h = HeaderMap::new();
            h.insert(chorus_protocol::headers::ERROR, code);
            h
        });
        Message {
            subject: "_INBOX.x".into(),
            reply: None,
            payload: "{}".into(),
            headers,
            status: None,
            description: None,
            length: 0,
        }
    }

    #[tokio::test]
    async fn each_wait_moves_its_histogram() {
        let mut registry = Registry::default();
        let waits = Waits::register(&mut registry);
        assert_eq!(waits.db("buy", async { 7 }).await, 7);
        waits.db("buy", async {}).await;
        waits.kv("chat", "put", async {}).await;
        assert_eq!(count(&registry, "db_seconds", r#"op="buy""#), 2);
        assert_eq!(count(&registry, "kv_seconds", r#"bucket="chat",op="put""#), 1);
        assert_eq!(count(&registry, "kv_seconds", r#"bucket="chat",op="get""#), 0);
    }

    #[tokio::test]
    async fn a_request_is_labelled_by_its_result() {
        let mut registry = Registry::default();
        let waits = Waits::register(&mut registry);
        let s = "int.friends.of";
        waits.nats(s, async { Ok(reply(None)) }).await.unwrap();
        waits
            .nats(s, async { Ok(reply(Some("not_found"))) })
            .await
            .unwrap();
        waits
            .nats(s, async { Ok(reply(Some("a user's text"))) })
            .await
            .unwrap();
        let timed_out = RequestError::new(RequestErrorKind::TimedOut);
        waits.nats(s, async { Err(timed_out) }).await.unwrap_err();
        let nobody = RequestError::new(RequestErrorKind::NoResponders);
        waits.nats(s, async { Err(nobody) }).await.unwrap_err();
        for result in ["ok", "not_found", "error", "timeout", "no_responders"] {
            let labels = format!(r#"subject="{s}",result="{result}""#);
            assert_eq!(count(&registry, "nats_request_seconds", &labels), 1, "{result}");
        }
    }
}
