//! The last step of a client's `pub` and `req`: onto NATS with the sender's identity
//! stamped in headers (whatever the client claimed), and a request's reply or failure back
//! to the client as `reply` or `err`. The session has already checked the frame, the
//! subject and the right to use it.

use crate::outbound::Outbox;
use crate::shared::Shared;
use async_nats::HeaderMap;
use async_nats::client::{PublishErrorKind, RequestErrorKind};
use bytes::Bytes;
use chorus_protocol::frame::{ServerFrame, payload_json};
use chorus_protocol::{ErrorCode, Identity, headers};
use serde_json::value::RawValue;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

/// Longest worker error message passed on to a client, in bytes.
const MAX_ERROR_MESSAGE: usize = 512;

/// The headers on everything a connection forwards: its identity and connection, and the
/// `traceparent` of the bridge's hop (see `trace::hop`).
pub(crate) fn headers(identity: &Identity, conn_name: &str, traceparent: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(headers::USER, identity.id.as_str());
    h.insert(headers::NAME, identity.name.as_str());
    h.insert(headers::NS, identity.ns.as_str());
    h.insert(headers::CONN, conn_name);
    h.insert(headers::TRACEPARENT, traceparent);
    h
}

/// Publishes `payload` on `subject`; acks with `ok` when the client gave an `id`.
pub(crate) async fn publish(
    shared: &Shared,
    outbox: &Outbox,
    id: Option<&str>,
    subject: &str,
    headers: HeaderMap,
    payload: Bytes,
) {
    match shared
        .nats
        .publish_with_headers(subject.to_string(), headers, payload)
        .await
    {
        Ok(()) => {
            if let Some(id) = id {
                outbox.send("ok", ServerFrame::Ok { id }.encode());
            }
        }
        Err(e) => {
            let code = match e.kind() {
                PublishErrorKind::MaxPayloadExceeded => ErrorCode::TooLarge,
                _ => ErrorCode::Unavailable,
            };
            outbox.send_err(id, code, "publish failed")
        }
    }
}

/// A request on its way: sent without holding up the session; the reply (or why there is
/// none) reaches the client as `reply` or `err` with the request's `id`.
pub(crate) struct Request {
    /// The client's id for it.
    pub id: String,
    /// Where it goes.
    pub subject: String,
    /// The stamped headers.
    pub headers: HeaderMap,
    /// The client's `data`, as sent.
    pub payload: Bytes,
    /// How long to wait for the reply.
    pub timeout: Duration,
    /// The session's in-flight slot, held until the reply comes.
    pub permit: OwnedSemaphorePermit,
    /// The bridge's hop in the request's trace, open until the reply comes.
    pub span: tracing::Span,
}

/// Sends `request` in a task of its own.
pub(crate) fn request(shared: Arc<Shared>, outbox: Outbox, request: Request) {
    let span = request.span.clone();
    let task = async move {
        let Request {
            id,
            subject,
            headers,
            payload,
            timeout,
            permit,
            span: _,
        } = request;
        let nats_request = async_nats::Request::new()
            .headers(headers)
            .payload(payload)
            .timeout(Some(timeout));
        let started = std::time::Instant::now();
        // Which worker answered, for the latency metric: only subjects someone serves.
        let worker = subject.split('.').nth(1).unwrap_or("none").to_string();
        let result = shared.nats.send_request(subject, nats_request).await;
        drop(permit);
        let elapsed = started.elapsed().as_secs_f64();
        let reply = match result {
            Ok(reply) => reply,
            Err(e) => {
                let (code, message) = match e.kind() {
                    RequestErrorKind::TimedOut => (ErrorCode::Timeout, "no reply in time"),
                    RequestErrorKind::NoResponders => (ErrorCode::Unavailable, "nobody serves that subject"),
                    RequestErrorKind::MaxPayloadExceeded => (ErrorCode::TooLarge, "request too large"),
                    RequestErrorKind::InvalidSubject => (ErrorCode::BadRequest, "invalid subject"),
                    RequestErrorKind::Other => (ErrorCode::Unavailable, "the bus is unavailable"),
                };
                shared.metrics.request(None, code.as_str(), elapsed);
                return outbox.send_err(Some(&id), code, message);
            }
        };
        if let Some(code) = reply.headers.as_ref().and_then(|h| h.get(headers::ERROR)) {
            let code = ErrorCode::from_header(code.as_str());
            shared.metrics.request(Some(&worker), code.as_str(), elapsed);
            let message = String::from_utf8_lossy(&reply.payload);
            return outbox.send_err(Some(&id), code, truncate(&message, MAX_ERROR_MESSAGE));
        }
        shared.metrics.request(Some(&worker), "ok", elapsed);
        let data = RawValue::from_string(payload_json(&reply.payload).into_owned())
            .expect("payload_json is valid JSON");
        outbox.send("reply", ServerFrame::Reply { id: &id, data: &data }.encode());
    };
    tokio::spawn(task.instrument(span));
}

/// The longest prefix of `s` within `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
