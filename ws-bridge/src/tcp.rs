//! The TCP line listener: one JSON frame per line each way, so `telnet` and small devices
//! can speak to the bridge. Tokens only arrive as a first `auth` line; a connection that
//! sends anything else first, or nothing within the first-frame timeout, is a guest.

use crate::accept::accept_loop;
use crate::connection;
use crate::handshake::{Entry, Handshake};
use crate::outbound::Frame;
use crate::shared::Shared;
use crate::transport::{Inbound, Sink, Source};
use bytes::{Bytes, BytesMut};
use chorus_protocol::CloseCode;
use chorus_protocol::frame::ServerFrame;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

/// Accepts TCP clients until shutdown.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    accept_loop(listener, &shared, |stream| start(stream, &shared)).await
}

/// Starts a session on an accepted TCP connection.
fn start(stream: TcpStream, shared: &Arc<Shared>) {
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(60))
        .with_interval(Duration::from_secs(10));
    let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive);
    let (rd, wr) = stream.into_split();
    let source = LineSource {
        rd,
        buf: BytesMut::new(),
        max: shared.config.max_frame_bytes,
        discarding: false,
    };
    let sink = LineSink { wr, buf: Vec::new() };
    let hs = Handshake {
        entry: Entry::Default,
        token: None,
        presence_hello: shared.config.tcp_presence_hello,
    };
    shared
        .tasks
        .spawn(connection::run(shared.clone(), source, sink, hs));
}

/// Reads newline-terminated frames, never buffering more than the frame limit.
pub struct LineSource {
    rd: OwnedReadHalf,
    /// Bytes read and not yet returned as a line.
    buf: BytesMut,
    /// The frame limit, excluding the line ending.
    max: usize,
    /// Skipping the rest of an oversize line (after reporting it once).
    discarding: bool,
}

impl Source for LineSource {
    async fn next(&mut self) -> Inbound {
        loop {
            let newline = self.buf.iter().position(|&b| b == b'\n');
            if self.discarding {
                match newline {
                    Some(pos) => {
                        let _ = self.buf.split_to(pos + 1);
                        self.discarding = false;
                        continue;
                    }
                    None => self.buf.clear(),
                }
            } else if let Some(pos) = newline {
                let mut line = self.buf.split_to(pos + 1);
                line.truncate(pos);
                if line.last() == Some(&b'\r') {
                    line.truncate(line.len() - 1);
                }
                if line.len() > self.max {
                    return Inbound::TooLarge;
                }
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Inbound::Frame(Bytes::from(line));
            } else if self.buf.len() > self.max + 1 {
                // Room for the frame plus "\r"; longer without a newline is too large.
                self.buf.clear();
                self.discarding = true;
                return Inbound::TooLarge;
            }

            self.buf.reserve(1024.min(self.max + 2 - self.buf.len()).max(1));
            match self.rd.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => return Inbound::Closed,
                Ok(_) => {}
            }
        }
    }
}

/// Writes frames as lines, one write per flush.
pub struct LineSink {
    wr: OwnedWriteHalf,
    /// Lines fed since the last flush; reused.
    buf: Vec<u8>,
}

impl Sink for LineSink {
    const PINGS: bool = false;

    async fn feed(&mut self, frame: Frame) -> io::Result<()> {
        self.buf.extend_from_slice(frame.as_bytes());
        self.buf.push(b'\n');
        Ok(())
    }

    async fn flush(&mut self) -> io::Result<()> {
        let written = self.wr.write_all(&self.buf).await;
        self.buf.clear();
        if self.buf.capacity() > 64 * 1024 {
            self.buf = Vec::new();
        }
        written
    }

    async fn ping(&mut self) -> io::Result<()> {
        Ok(())
    }

    async fn close(&mut self, code: CloseCode) -> io::Result<()> {
        let frame = ServerFrame::Close {
            code: code.code(),
            reason: code.reason(),
            reconnect: code.reconnect(),
        };
        let mut line = frame.encode().into_bytes();
        line.push(b'\n');
        self.wr.write_all(&line).await?;
        self.wr.shutdown().await
    }
}
