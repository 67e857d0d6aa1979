//! Serving: every endpoint subscribed in its queue group and the subscriptions flushed to
//! the NATS server ([`Subscribed`], the moment a worker is ready), then requests handled
//! until shutdown, at most `max_inflight` at once, and the ones in flight finished. A
//! handler's error becomes a reply with a `Chorus-Error` header (and so an `err` frame for
//! the client).

use crate::caller::Caller;
use crate::error::KitError;
use crate::handler::Endpoint;
use crate::metrics::Metrics;
use crate::request::Request;
use async_nats::{Client, HeaderMap, Message};
use chorus_protocol::headers;
use chorus_runtime::bus::{RoundTripError, round_trip};
use chorus_runtime::telemetry;
use futures_util::StreamExt;
use futures_util::stream::{BoxStream, SelectAll};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;
use tracing::Instrument;

/// A service whose subscriptions the NATS server holds: requests sent from now on reach
/// it (they wait in the subscriptions until [`Subscribed::serve`] takes them).
pub struct Subscribed {
    /// To reply on.
    nats: Client,
    /// The endpoints, by the index each incoming message carries.
    endpoints: Vec<Endpoint>,
    /// Every endpoint's messages, tagged with its index.
    incoming: SelectAll<BoxStream<'static, (usize, Message)>>,
    /// Most requests handled at once; more wait in NATS.
    max_inflight: usize,
}

/// How long one round trip to confirm the subscriptions may take before it is tried again.
const ROUND_TRIP_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Subscribed {
    /// Subscribes every endpoint on `nats` and waits until the server has them all (a round
    /// trip through the server; while NATS is unreachable, this waits for it).
    pub(crate) async fn new(
        nats: &Client,
        endpoints: Vec<Endpoint>,
        max_inflight: usize,
    ) -> Result<Subscribed, KitError> {
        let mut streams = Vec::with_capacity(endpoints.len());
        for (i, e) in endpoints.iter().enumerate() {
            let sub = nats.queue_subscribe(e.subject.clone(), e.queue.clone()).await?;
            streams.push(sub.map(move |msg| (i, msg)).boxed());
        }
        loop {
            match round_trip(nats, ROUND_TRIP_WAIT).await {
                Ok(()) => break,
                Err(RoundTripError::Timeout(_)) => {
                    tracing::warn!("waiting for NATS to confirm the subscriptions")
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Subscribed {
            nats: nats.clone(),
            endpoints,
            incoming: futures_util::stream::select_all(streams),
            max_inflight,
        })
    }

    /// Serves until `shutdown` resolves, then stops taking requests (unsubscribes) and
    /// finishes the ones in flight.
    pub async fn serve(
        self,
        metrics: Arc<Metrics>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), KitError> {
        let Subscribed {
            nats,
            endpoints,
            mut incoming,
            max_inflight,
        } = self;
        for endpoint in &endpoints {
            metrics.touch(&endpoint.label);
        }
        let inflight = Arc::new(Semaphore::new(max_inflight));
        tokio::pin!(shutdown);
        loop {
            let (i, msg) = tokio::select! {
                _ = &mut shutdown => break,
                next = incoming.next() => match next {
                    Some(next) => next,
                    None => break,
                },
            };
            let permit = inflight.clone().acquire_owned().await.expect("never closed");
            let endpoint = endpoints[i].clone();
            let (nats, metrics) = (nats.clone(), metrics.clone());
            tokio::spawn(async move {
                handle(nats, &metrics, endpoint, msg).await;
                drop(permit);
            });
        }
        drop(incoming);
        // Wait for the requests in flight.
        let _ = inflight.acquire_many(max_inflight as u32).await;
        let _ = nats.flush().await;
        Ok(())
    }
}

/// Runs one request and replies.
async fn handle(nats: Client, metrics: &Metrics, endpoint: Endpoint, msg: Message) {
    let started = Instant::now();
    let request = Request {
        caller: Caller::from_headers(msg.headers.as_ref()),
        traceparent: msg
            .headers
            .as_ref()
            .and_then(|h| h.get(headers::TRACEPARENT))
            .map(|v| v.as_str().to_string()),
    };
    let method = endpoint.label.as_str();
    // A span of the caller's trace, only when spans are exported (no cost otherwise).
    let span = if telemetry::exporting() {
        tracing::info_span!("request", method, code = tracing::field::Empty)
    } else {
        tracing::Span::none()
    };
    telemetry::continue_trace(&span, request.traceparent.as_deref());
    let result = (endpoint.run)(request, msg.payload)
        .instrument(span.clone())
        .await;
    let code = match &result {
        Ok(_) => "ok",
        Err(e) => e.code.as_str(),
    };
    span.record("code", code);
    metrics.request(method, code, started.elapsed().as_secs_f64());
    let Some(reply) = msg.reply else { return };
    let sent = match result {
        Ok(body) => nats.publish(reply, body.into()).await,
        Err(e) => {
            let mut h = HeaderMap::new();
            h.insert(headers::ERROR, e.code.as_str());
            nats.publish_with_headers(reply, h, e.message.into_owned().into())
                .await
        }
    };
    if let Err(e) = sent {
        tracing::warn!(method, error = %e, "reply not sent");
    }
}
