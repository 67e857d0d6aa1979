//! The nats-server side: the NATS text protocol (`INFO`, `CONNECT`, `PING`/`PONG`, `SUB`,
//! `PUB`, `MSG`, `-ERR`) carried over nats-server's own WebSocket listener, where it is a
//! byte stream cut into binary frames at arbitrary points.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::stats::{SubStats, Window, lock};
use crate::ws::{self, WsConn};
use crate::{SUBJECT, payload};

/// Options sent in `CONNECT`: no `+OK`s, no headers, no echo of our own publishes.
const CONNECT: &[u8] =
    b"CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1,\"headers\":false,\"echo\":false}\r\n";

/// Connects, completes the `INFO`/`CONNECT`/`PING`/`PONG` exchange.
pub async fn connect(addr: SocketAddr, seed: u32) -> io::Result<WsConn> {
    let mut conn = WsConn::connect(addr, "/", seed).await?;
    let mut stream = Vec::new();
    await_line(&mut conn, &mut stream, b"INFO ").await?;
    let mut hello = CONNECT.to_vec();
    hello.extend_from_slice(b"PING\r\n");
    conn.send(ws::OP_BINARY, &hello).await?;
    await_line(&mut conn, &mut stream, b"PONG").await?;
    Ok(conn)
}

/// Connects and subscribes to the bench subject; the `PONG` after `SUB` proves the server
/// has registered the subscription.
pub async fn subscribe(addr: SocketAddr, seed: u32) -> io::Result<WsConn> {
    let mut conn = connect(addr, seed).await?;
    let sub = format!("SUB {SUBJECT} 1\r\nPING\r\n");
    conn.send(ws::OP_BINARY, sub.as_bytes()).await?;
    await_line(&mut conn, &mut Vec::new(), b"PONG").await?;
    Ok(conn)
}

/// Appends one `PUB` carrying `payload`, in its own binary frame.
pub fn encode_publish(out: &mut Vec<u8>, scratch: &mut Vec<u8>, payload: &[u8], mask: [u8; 4]) {
    scratch.clear();
    scratch.extend_from_slice(format!("PUB {SUBJECT} {}\r\n", payload.len()).as_bytes());
    scratch.extend_from_slice(payload);
    scratch.extend_from_slice(b"\r\n");
    ws::encode_frame(out, ws::OP_BINARY, scratch, mask);
}

/// Handles what the server sends a publisher: counts `-ERR`, answers `PING`.
/// Returns false once the connection is closed.
pub fn publisher_inbound(
    conn: &mut WsConn,
    stream: &mut Vec<u8>,
    out: &mut Vec<u8>,
    errors: &mut u64,
) -> bool {
    let mut st = SubStats::new();
    let open = drain_frames(conn, stream, &mut st, 0, (0, 0), out);
    *errors += st.errors + st.slow_consumer;
    open
}

/// Receives until the connection ends (or the task is aborted), counting into `stats`.
pub async fn run_subscriber(mut conn: WsConn, stats: Arc<Mutex<SubStats>>, window: Arc<Window>) {
    let mut stream = Vec::with_capacity(1024);
    let mut out = Vec::new();
    loop {
        match conn.fill().await {
            Ok(0) | Err(_) => {
                lock(&stats).disconnects += 1;
                return;
            }
            Ok(_) => {}
        }
        let now = window.now_ns();
        let open = {
            let mut st = lock(&stats);
            drain_frames(&mut conn, &mut stream, &mut st, now, window.bounds(), &mut out)
        };
        if !out.is_empty() {
            if conn.write_raw(&out).await.is_err() {
                lock(&stats).disconnects += 1;
                return;
            }
            out.clear();
        }
        if !open {
            return;
        }
    }
}

/// Moves every complete frame's payload onto the protocol `stream` and parses what is
/// complete there; false once the connection is over.
fn drain_frames(
    conn: &mut WsConn,
    stream: &mut Vec<u8>,
    st: &mut SubStats,
    now: u64,
    bounds: (u64, u64),
    out: &mut Vec<u8>,
) -> bool {
    let mask = conn.mask();
    let mut open = true;
    loop {
        match conn.next_frame() {
            Ok(Some(f)) => match f.opcode {
                ws::OP_BINARY | ws::OP_TEXT | ws::OP_CONT => stream.extend_from_slice(f.payload),
                ws::OP_PING => ws::encode_frame(out, ws::OP_PONG, f.payload, mask),
                ws::OP_CLOSE => {
                    st.closes += 1;
                    open = false;
                    break;
                }
                _ => {}
            },
            Ok(None) => break,
            Err(_) => {
                st.disconnects += 1;
                open = false;
                break;
            }
        }
    }
    let used = parse(stream, st, now, bounds, out, mask);
    stream.drain(..used);
    open
}

/// Parses complete protocol items at the front of `stream`; returns the bytes consumed.
fn parse(
    stream: &[u8],
    st: &mut SubStats,
    now: u64,
    bounds: (u64, u64),
    out: &mut Vec<u8>,
    mask: [u8; 4],
) -> usize {
    let mut pos = 0;
    while let Some(nl) = stream[pos..].iter().position(|&b| b == b'\n') {
        let line = &stream[pos..pos + nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b"MSG ") {
            // MSG <subject> <sid> [reply-to] <#bytes>
            let len = line
                .rsplit(|&b| b == b' ')
                .next()
                .and_then(|n| std::str::from_utf8(n).ok())
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            let body = pos + nl + 1;
            if stream.len() < body + len + 2 {
                break;
            }
            match payload::find_t(&stream[body..body + len]) {
                Some(t) => st.record(t, now, bounds),
                None => st.errors += 1,
            }
            pos = body + len + 2;
            continue;
        }
        if line == b"PING" {
            ws::encode_frame(out, ws::OP_BINARY, b"PONG\r\n", mask);
        } else if line.starts_with(b"-ERR") {
            if ws::find(line, b"Slow Consumer").is_some() {
                st.slow_consumer += 1;
            } else {
                st.errors += 1;
            }
        }
        pos += nl + 1;
    }
    pos
}

/// Reads until a protocol line starting with `prefix`; `-ERR` or a close fails.
async fn await_line(conn: &mut WsConn, stream: &mut Vec<u8>, prefix: &[u8]) -> io::Result<()> {
    loop {
        while let Some(f) = conn.next_frame()? {
            if f.opcode == ws::OP_CLOSE {
                return Err(io::Error::other("closed by nats-server"));
            }
            if matches!(f.opcode, ws::OP_BINARY | ws::OP_TEXT | ws::OP_CONT) {
                stream.extend_from_slice(f.payload);
            }
        }
        while let Some(nl) = stream.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = stream.drain(..=nl).collect();
            if line.starts_with(prefix) {
                return Ok(());
            }
            if line.starts_with(b"-ERR") {
                return Err(io::Error::other(
                    String::from_utf8_lossy(&line).trim().to_string(),
                ));
            }
        }
        if conn.fill().await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_messages_split_anywhere() {
        let mut p = Vec::new();
        payload::build(&mut p, 5_000, 1, 100);
        let mut wire = Vec::new();
        for _ in 0..3 {
            wire.extend_from_slice(format!("MSG bench.x 1 {}\r\n", p.len()).as_bytes());
            wire.extend_from_slice(&p);
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b"PING\r\n");
        for cut in 0..wire.len() {
            let mut st = SubStats::new();
            let mut out = Vec::new();
            let mut stream = wire[..cut].to_vec();
            let used = parse(&stream, &mut st, 6_000, (0, 10_000), &mut out, [1; 4]);
            stream.drain(..used);
            stream.extend_from_slice(&wire[cut..]);
            let used = parse(&stream, &mut st, 6_000, (0, 10_000), &mut out, [1; 4]);
            assert_eq!(used, stream.len(), "cut at {cut}");
            assert_eq!(st.delivered_of_window, 3, "cut at {cut}");
            assert!(!out.is_empty(), "PING answered");
        }
    }
}
