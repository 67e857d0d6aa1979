//! The Chorus bridge side: a guest connection on `/core/game/v1/real-time/public`, the JSON
//! frames of wire contract v1 (`welcome`, `sub`/`ok`, `pub`, `msg`, `err`), and the
//! subscriber's receive loop.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::stats::{SubStats, Window, lock};
use crate::ws::{self, WsConn};
use crate::{SUBJECT, payload};

/// The path guests connect on.
const PATH: &str = "/core/game/v1/real-time/public";

/// Connects and waits for the `welcome` frame.
pub async fn connect(addr: SocketAddr, seed: u32) -> io::Result<WsConn> {
    let mut conn = WsConn::connect(addr, PATH, seed).await?;
    await_text(&mut conn, b"\"welcome\"").await?;
    Ok(conn)
}

/// Connects, subscribes to the bench subject and waits for its `ok`.
pub async fn subscribe(addr: SocketAddr, seed: u32) -> io::Result<WsConn> {
    let mut conn = connect(addr, seed).await?;
    let frame = format!(r#"{{"op":"sub","id":"1","subject":"{SUBJECT}"}}"#);
    conn.send(ws::OP_TEXT, frame.as_bytes()).await?;
    await_text(&mut conn, b"\"ok\"").await?;
    Ok(conn)
}

/// Appends one `pub` frame carrying `payload` (no id: no ack).
pub fn encode_publish(out: &mut Vec<u8>, scratch: &mut Vec<u8>, payload: &[u8], mask: [u8; 4]) {
    scratch.clear();
    scratch.extend_from_slice(br#"{"op":"pub","subject":""#);
    scratch.extend_from_slice(SUBJECT.as_bytes());
    scratch.extend_from_slice(br#"","data":"#);
    scratch.extend_from_slice(payload);
    scratch.push(b'}');
    ws::encode_frame(out, ws::OP_TEXT, scratch, mask);
}

/// Handles what the bridge sends a publisher: counts `err` frames, answers pings.
/// Returns false once the connection is closed.
pub fn publisher_inbound(conn: &mut WsConn, out: &mut Vec<u8>, errors: &mut u64) -> bool {
    let mask = conn.mask();
    loop {
        match conn.next_frame() {
            Ok(Some(f)) => match f.opcode {
                ws::OP_PING => ws::encode_frame(out, ws::OP_PONG, f.payload, mask),
                ws::OP_CLOSE => return false,
                _ if ws::find(f.payload, br#""op":"err""#).is_some() => *errors += 1,
                _ => {}
            },
            Ok(None) => return true,
            Err(_) => return false,
        }
    }
}

/// Receives until the connection ends (or the task is aborted), counting into `stats`.
pub async fn run_subscriber(mut conn: WsConn, stats: Arc<Mutex<SubStats>>, window: Arc<Window>) {
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
            drain_frames(&mut conn, &mut st, now, window.bounds(), &mut out)
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

/// Counts every complete frame in the buffer; false once the connection is over.
fn drain_frames(
    conn: &mut WsConn,
    st: &mut SubStats,
    now: u64,
    bounds: (u64, u64),
    out: &mut Vec<u8>,
) -> bool {
    let mask = conn.mask();
    loop {
        match conn.next_frame() {
            Ok(Some(f)) => match f.opcode {
                ws::OP_TEXT | ws::OP_BINARY | ws::OP_CONT => {
                    if let Some(t) = payload::find_t(f.payload) {
                        st.record(t, now, bounds);
                    } else if ws::find(f.payload, b"slow_consumer").is_some() {
                        st.slow_consumer += 1;
                    } else if ws::find(f.payload, br#""op":"err""#).is_some() {
                        st.errors += 1;
                    }
                }
                ws::OP_PING => ws::encode_frame(out, ws::OP_PONG, f.payload, mask),
                ws::OP_CLOSE => {
                    st.closes += 1;
                    if ws::find(f.payload, b"slow").is_some() {
                        st.slow_consumer += 1;
                    }
                    return false;
                }
                _ => {}
            },
            Ok(None) => return true,
            Err(_) => {
                st.disconnects += 1;
                return false;
            }
        }
    }
}

/// Reads frames until a text frame containing `marker`; an `err` frame or close fails.
async fn await_text(conn: &mut WsConn, marker: &[u8]) -> io::Result<()> {
    loop {
        while let Some(f) = conn.next_frame()? {
            match f.opcode {
                ws::OP_TEXT if ws::find(f.payload, marker).is_some() => return Ok(()),
                ws::OP_TEXT if ws::find(f.payload, br#""op":"err""#).is_some() => {
                    let text = String::from_utf8_lossy(f.payload).into_owned();
                    return Err(io::Error::other(text));
                }
                ws::OP_CLOSE => {
                    let reason = String::from_utf8_lossy(f.payload.get(2..).unwrap_or(b""));
                    return Err(io::Error::other(format!("closed by the bridge: {reason}")));
                }
                _ => {}
            }
        }
        if conn.fill().await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
}
