//! Clients that speak the wire contract, for tests of anything behind a bridge: a
//! WebSocket client ([`Ws`]), a TCP line client ([`Tcp`]), and a bare HTTP GET. Every read
//! waits at most [`WAIT`] and panics with what it got instead, so a test never hangs.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single expected event may take before a test fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// A minimal HTTP GET: (status, body).
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut s, &mut buf)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket client speaking the wire contract.
pub struct Ws {
    /// The socket.
    pub stream: WsStream,
}

/// How a connection ended, as the client saw it.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed {
    /// The close code.
    pub code: u16,
    /// The close reason.
    pub reason: String,
}

impl Ws {
    /// Connects to `path` with extra request headers; returns the first frame too.
    pub async fn connect(
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<(Ws, Value), tungstenite::Error> {
        let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
        for (k, v) in headers {
            req.headers_mut().insert(
                tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let (stream, _) = tokio_tungstenite::connect_async(req).await?;
        let mut ws = Ws { stream };
        let first = ws.recv().await;
        Ok((ws, first))
    }

    /// Connects without reading anything.
    pub async fn connect_raw(addr: SocketAddr, path: &str) -> Ws {
        let (stream, _) = tokio_tungstenite::connect_async(format!("ws://{addr}{path}"))
            .await
            .unwrap();
        Ws { stream }
    }

    /// Sends a JSON frame.
    pub async fn send(&mut self, v: Value) {
        self.send_text(v.to_string()).await;
    }

    /// Sends raw text as one frame.
    pub async fn send_text(&mut self, text: String) {
        self.stream.send(Message::text(text)).await.unwrap();
    }

    /// The next frame as JSON; panics on close or after [`WAIT`].
    pub async fn recv(&mut self) -> Value {
        loop {
            let msg = timeout(WAIT, self.stream.next()).await.expect("a frame in time");
            match msg {
                Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).unwrap(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a frame, got {other:?}"),
            }
        }
    }

    /// Reads until the server closes; returns the close code and reason.
    pub async fn closed(&mut self) -> Closed {
        loop {
            let msg = timeout(WAIT, self.stream.next()).await.expect("a close in time");
            match msg {
                Some(Ok(Message::Close(Some(f)))) => {
                    return Closed {
                        code: u16::from(f.code),
                        reason: f.reason.to_string(),
                    };
                }
                Some(Ok(Message::Close(None))) => {
                    return Closed {
                        code: u16::from(WsCloseCode::Status),
                        reason: String::new(),
                    };
                }
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }

    /// Sends a request-like frame and returns the next frame.
    pub async fn call(&mut self, v: Value) -> Value {
        self.send(v).await;
        self.recv().await
    }
}

/// A TCP line client.
pub struct Tcp {
    rd: BufReader<OwnedReadHalf>,
    wr: OwnedWriteHalf,
    /// The welcome frame, once read.
    pub welcome: Value,
}

impl Tcp {
    /// Connects without sending anything.
    pub async fn connect(addr: SocketAddr) -> Tcp {
        let (rd, wr) = TcpStream::connect(addr).await.unwrap().into_split();
        Tcp {
            rd: BufReader::new(rd),
            wr,
            welcome: Value::Null,
        }
    }

    /// Sends a JSON frame as a line.
    pub async fn send(&mut self, v: Value) {
        self.send_line(&v.to_string()).await;
    }

    /// Sends raw text plus a newline.
    pub async fn send_line(&mut self, line: &str) {
        self.wr.write_all(format!("{line}\n").as_bytes()).await.unwrap();
    }

    /// The next line as JSON; `Value::Null` at end of stream.
    pub async fn recv(&mut self) -> Value {
        let mut line = String::new();
        let n = timeout(WAIT, self.rd.read_line(&mut line))
            .await
            .expect("a line in time")
            .unwrap();
        if n == 0 {
            return Value::Null;
        }
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad line {line:?}: {e}"))
    }

    /// Says goodbye (closes the writing half) and returns every line still to come, until
    /// the server closes: proof that nothing else was sent.
    pub async fn finish(mut self) -> Vec<Value> {
        self.wr.shutdown().await.unwrap();
        let mut rest = Vec::new();
        loop {
            match self.recv().await {
                Value::Null => return rest,
                line => rest.push(line),
            }
        }
    }

    /// Sends a frame and returns the next line.
    pub async fn call(&mut self, v: Value) -> Value {
        self.send(v).await;
        self.recv().await
    }
}
