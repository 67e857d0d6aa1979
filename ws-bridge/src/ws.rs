//! WebSocket endpoints: the upgrade (Origin allow-list, token from `?token=` or
//! `Authorization: Bearer`), small tungstenite buffers so an idle socket costs a few KiB,
//! and the transport traits over the split socket.

use crate::connection;
use crate::handshake::{Entry, Handshake};
use crate::outbound::Frame;
use crate::response::{Body, text};
use crate::shared::Shared;
use crate::transport::{Inbound, Sink, Source};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::upgrade::Upgraded;
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use std::io;
use std::sync::Arc;
use tokio_tungstenite::WebSocketStream;
use tungstenite::Message;
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::{Role, WebSocketConfig};

type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// Answers an upgrade request and starts the session once the socket is ours.
pub fn upgrade(mut req: Request<Incoming>, shared: Arc<Shared>, entry: Entry) -> Response<Body> {
    let h = req.headers();
    let has = |name: header::HeaderName, value: &str| {
        h.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case(value)))
        })
    };
    if !(has(header::CONNECTION, "upgrade") && has(header::UPGRADE, "websocket")) {
        return text(StatusCode::UPGRADE_REQUIRED, "this endpoint speaks WebSocket\n");
    }
    if h.get(header::SEC_WEBSOCKET_VERSION).map(|v| v.as_bytes()) != Some(b"13") {
        return text(StatusCode::BAD_REQUEST, "unsupported WebSocket version\n");
    }
    let Some(key) = h.get(header::SEC_WEBSOCKET_KEY) else {
        return text(StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key\n");
    };
    if !origin_allowed(&req, &shared) {
        return text(StatusCode::FORBIDDEN, "origin not allowed\n");
    }
    let accept = derive_accept_key(key.as_bytes());
    let hs = Handshake {
        entry,
        token: token(&req),
        presence_hello: false,
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let config = WebSocketConfig::default()
        .read_buffer_size(shared.config.ws_read_buffer)
        .write_buffer_size(shared.config.ws_write_buffer)
        .max_write_buffer_size(
            shared.config.ws_write_buffer + shared.config.max_frame_bytes.max(64 * 1024) * 2,
        )
        .max_message_size(Some(shared.config.max_frame_bytes))
        .max_frame_size(Some(shared.config.max_frame_bytes));
    let task_shared = shared.clone();
    shared.tasks.spawn(async move {
        let Ok(upgraded) = on_upgrade.await else { return };
        let socket =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await;
        let (sink, stream) = socket.split();
        connection::run(task_shared, WsSource(stream), WsSink(sink), hs).await;
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Full::default())
        .expect("static response parts are valid")
}

/// Browsers always send Origin; other clients need not. With no allow-list configured,
/// only pages served from this very host may connect.
fn origin_allowed(req: &Request<Incoming>, shared: &Shared) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let mut allowed = shared.config.allowed_origins().peekable();
    if allowed.peek().is_none() {
        let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_host = origin
            .split_once("://")
            .map(|(_, rest)| rest.trim_end_matches('/'));
        return host.is_some() && origin_host == host;
    }
    allowed.any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
}

/// The access token from `?token=` or `Authorization: Bearer`.
fn token(req: &Request<Incoming>) -> Option<String> {
    let from_query = req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("token="))
            .filter(|t| !t.is_empty())
    });
    let from_header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    from_query.or(from_header).map(str::to_string)
}

/// The reading half of a WebSocket.
pub struct WsSource(SplitStream<Socket>);

impl Source for WsSource {
    async fn next(&mut self) -> Inbound {
        loop {
            return match self.0.next().await {
                Some(Ok(Message::Text(text))) => Inbound::Frame(text.into()),
                Some(Ok(Message::Binary(bytes))) => Inbound::Frame(bytes),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => Inbound::Alive,
                Some(Ok(Message::Frame(_))) => continue,
                Some(Ok(Message::Close(_))) | None => Inbound::Closed,
                Some(Err(tungstenite::Error::Capacity(_))) => Inbound::TooLarge,
                Some(Err(_)) => Inbound::Closed,
            };
        }
    }
}

/// The writing half of a WebSocket.
pub struct WsSink(SplitSink<Socket, Message>);

fn io_err(e: tungstenite::Error) -> io::Error {
    io::Error::other(e)
}

impl Sink for WsSink {
    const PINGS: bool = true;

    async fn feed(&mut self, frame: Frame) -> io::Result<()> {
        self.0.feed(Message::Text(frame.text())).await.map_err(io_err)
    }

    async fn flush(&mut self) -> io::Result<()> {
        self.0.flush().await.map_err(io_err)
    }

    async fn ping(&mut self) -> io::Result<()> {
        self.0
            .send(Message::Ping(Default::default()))
            .await
            .map_err(io_err)
    }

    async fn close(&mut self, code: chorus_protocol::CloseCode) -> io::Result<()> {
        let frame = CloseFrame {
            code: code.code().into(),
            reason: code.reason().into(),
        };
        self.0.send(Message::Close(Some(frame))).await.map_err(io_err)?;
        self.0.close().await.map_err(io_err)
    }
}
