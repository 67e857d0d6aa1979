//! A worker's small HTTP listener: `/metrics` (Prometheus), `/healthz` (the process is up)
//! and `/readyz` (connected to NATS).

use crate::metrics::Metrics;
use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Serves until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, nats: async_nats::Client) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let (metrics, nats) = (metrics.clone(), nats.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let response = match req.uri().path() {
                    "/metrics" => respond(
                        StatusCode::OK,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        metrics.encode(),
                    ),
                    "/healthz" => respond(StatusCode::OK, "text/plain", "ok\n".into()),
                    "/readyz" if nats.connection_state() == async_nats::connection::State::Connected => {
                        respond(StatusCode::OK, "text/plain", "ready\n".into())
                    }
                    "/readyz" => respond(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "text/plain",
                        "nats not connected\n".into(),
                    ),
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

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("static response parts are valid")
}
