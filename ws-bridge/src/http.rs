//! The HTTP listener: WebSocket upgrades on the client endpoints, `/healthz`, `/readyz`,
//! `/metrics`, and the static web app and game files when configured. One port for a laptop.

use crate::accept::accept_loop;
use crate::handshake::Entry;
use crate::response::{Body, text};
use crate::shared::Shared;
use crate::{static_files, ws};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// Accepts HTTP connections until shutdown.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    accept_loop(listener, &shared, |stream| {
        shared.tasks.spawn(serve_connection(stream, shared.clone()));
    })
    .await
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let svc_shared = shared.clone();
    let service = service_fn(move |req| {
        let shared = svc_shared.clone();
        async move { Ok::<_, Infallible>(route(req, shared).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(shared.config.handshake_timeout_ms))
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shared.shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

async fn route(req: Request<Incoming>, shared: Arc<Shared>) -> Response<Body> {
    match req.uri().path() {
        "/v1/ws" => ws::upgrade(req, shared, Entry::Default),
        "/core/game/v1/real-time/public" => ws::upgrade(req, shared, Entry::Public),
        "/core/game/v1/real-time/private" => ws::upgrade(req, shared, Entry::Private),
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" => match shared.nats.connection_state() {
            async_nats::connection::State::Connected => text(StatusCode::OK, "ready\n"),
            _ => text(StatusCode::SERVICE_UNAVAILABLE, "nats not connected\n"),
        },
        "/metrics" => metrics(&shared),
        "/.well-known/jwks.json" => match shared.auth.jwks_json().await {
            Some(jwks) => Response::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CACHE_CONTROL, "max-age=60")
                .body(Full::new(Bytes::from(jwks)))
                .expect("static response parts are valid"),
            None => text(StatusCode::SERVICE_UNAVAILABLE, "signing keys unavailable\n"),
        },
        path => match (
            &shared.config.games_dir,
            path.strip_prefix(static_files::GAMES_PREFIX),
        ) {
            (Some(games), Some(file)) => static_files::serve(games, file).await,
            _ => match &shared.config.web_dir {
                Some(dir) => static_files::serve(dir, path).await,
                None => text(StatusCode::NOT_FOUND, "not found\n"),
            },
        },
    }
}

fn metrics(shared: &Shared) -> Response<Body> {
    let (queued, max) = shared.sessions.queue_depths();
    let m = &shared.metrics;
    m.queued_frames.set(queued as i64);
    m.queued_frames_max.set(max as i64);
    let connected = shared.nats.connection_state() == async_nats::connection::State::Connected;
    m.nats_connected.set(i64::from(connected));
    Response::builder()
        .header(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )
        .body(Full::new(Bytes::from(m.encode())))
        .expect("static response parts are valid")
}
