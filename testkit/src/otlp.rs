//! An OpenTelemetry collector for tests: it accepts OTLP/HTTP JSON trace exports
//! (`POST /v1/traces`) on a free port and keeps every span it is sent, with the service
//! that sent it, so a test can check that one request's spans across processes share a
//! trace. Point a binary at it with `OTEL_EXPORTER_OTLP_ENDPOINT=`[`OtlpReceiver::endpoint`].

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// How long [`OtlpReceiver::await_spans`] waits.
const WAIT: Duration = Duration::from_secs(15);

/// One exported span, as the receiver saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedSpan {
    /// `service.name` of the exporting process (e.g. `chorus-bridge`).
    pub service: String,
    /// The span's name.
    pub name: String,
    /// Hex trace id.
    pub trace_id: String,
    /// Hex span id.
    pub span_id: String,
    /// Hex id of its parent, empty for a root span.
    pub parent_span_id: String,
}

/// What the receiver has been sent, and a wake-up for waiters.
#[derive(Default)]
struct Received {
    spans: Mutex<Vec<ReceivedSpan>>,
    arrived: Notify,
}

/// A running receiver; it stops when dropped.
pub struct OtlpReceiver {
    /// Where it listens.
    pub addr: SocketAddr,
    received: Arc<Received>,
    task: tokio::task::JoinHandle<()>,
}

impl OtlpReceiver {
    /// Starts a receiver on a free port of 127.0.0.1.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start() -> OtlpReceiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding a free port");
        let addr = listener.local_addr().expect("a bound address");
        let received = Arc::new(Received::default());
        let task = tokio::spawn(serve(listener, received.clone()));
        OtlpReceiver { addr, received, task }
    }

    /// The value for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.received.spans.lock().expect("spans lock").clone()
    }

    /// Waits until `done` holds for the spans received, and returns them.
    ///
    /// # Panics
    /// After 15 s without it, listing what did arrive.
    pub async fn await_spans(&self, done: impl Fn(&[ReceivedSpan]) -> bool) -> Vec<ReceivedSpan> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let arrived = self.received.arrived.notified();
            let spans = self.spans();
            if done(&spans) {
                return spans;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("the spans awaited never arrived; received: {spans:#?}");
            }
        }
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(listener: TcpListener, received: Arc<Received>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let received = received.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                let received = received.clone();
                async move { Ok::<_, Infallible>(export(req, &received).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Takes one export request.
async fn export(req: Request<hyper::body::Incoming>, received: &Received) -> Response<Full<Bytes>> {
    let respond = |status, body: &'static str| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .expect("static response parts are valid")
    };
    if req.uri().path() != "/v1/traces" {
        return respond(StatusCode::NOT_FOUND, "{}");
    }
    let Ok(body) = req.into_body().collect().await else {
        return respond(StatusCode::BAD_REQUEST, "{}");
    };
    let Ok(json) = serde_json::from_slice::<Value>(&body.to_bytes()) else {
        return respond(StatusCode::BAD_REQUEST, "{}");
    };
    let spans = parse(&json);
    received.spans.lock().expect("spans lock").extend(spans);
    received.arrived.notify_waiters();
    respond(StatusCode::OK, "{}")
}

/// The spans of an `ExportTraceServiceRequest` in its JSON form.
fn parse(export: &Value) -> Vec<ReceivedSpan> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let mut out = Vec::new();
    for resource_spans in export["resourceSpans"].as_array().into_iter().flatten() {
        let service = resource_spans["resource"]["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["key"] == "service.name")
            .map(|a| text(&a["value"]["stringValue"]))
            .unwrap_or_default();
        let scopes = resource_spans["scopeSpans"].as_array().into_iter().flatten();
        for span in scopes.flat_map(|s| s["spans"].as_array().cloned().unwrap_or_default()) {
            out.push(ReceivedSpan {
                service: service.clone(),
                name: text(&span["name"]),
                trace_id: text(&span["traceId"]),
                span_id: text(&span["spanId"]),
                parent_span_id: text(&span["parentSpanId"]),
            });
        }
    }
    out
}
