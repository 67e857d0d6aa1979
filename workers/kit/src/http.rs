//! A worker's small HTTP listener, up from the start of the process: `/metrics`
//! (Prometheus), `/healthz` (the process is up) and `/readyz` (it serves: every endpoint
//! subscribed and flushed, and NATS connected). `chorus_worker_nats_connected` is read
//! from the connection at every scrape, so it is true whenever Prometheus looks.

use crate::metrics::Metrics;
use crate::ready::Ready;
use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Serves until the task is dropped. `/readyz` is 200 while `ready` says the worker serves
/// and `nats` is connected, 503 (with the reason) otherwise.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, nats: async_nats::Client, ready: Ready) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let (metrics, nats, ready) = (metrics.clone(), nats.clone(), ready.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let response = match req.uri().path() {
                    "/metrics" => {
                        metrics.set_nats_connected(connected(&nats));
                        respond(
                            StatusCode::OK,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            metrics.encode(),
                        )
                    }
                    "/healthz" => respond(StatusCode::OK, "text/plain", "ok\n".into()),
                    "/readyz" => readyz(&nats, &ready),
                    _ => respond(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
                };
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Whether `nats` is connected now.
fn connected(nats: &async_nats::Client) -> bool {
    nats.connection_state() == async_nats::connection::State::Connected
}

/// 200 `ready`, or 503 and why not.
fn readyz(nats: &async_nats::Client, ready: &Ready) -> Response<Full<Bytes>> {
    let unavailable = |why: &str| respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", format!("{why}\n"));
    if !connected(nats) {
        return unavailable("nats not connected");
    }
    if !ready.is_serving() {
        return unavailable("not serving");
    }
    respond(StatusCode::OK, "text/plain", "ready\n".into())
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("static response parts are valid")
}
