//! A session's writer task: drains the outbound queue in batches (feed what is queued, flush
//! once), keeps WebSocket clients alive with pings and a pong deadline, and writes the close
//! frame when the session ends with a code of the bridge's.
//!
//! This loop runs once per delivery per socket, so it allocates nothing and registers no
//! timer per message: the close signal and the keepalive timer are pinned once and reused.

use crate::outbound::{Control, Frame};
use crate::transport::Sink;
use chorus_protocol::CloseCode;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until, timeout};

/// How the writer paces itself.
#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    /// Most frames per flush.
    pub batch: usize,
    /// Longest a batch write (or the close) may take.
    pub write_timeout: Duration,
    /// Time between pings.
    pub ping_interval: Duration,
    /// Time to answer a ping.
    pub pong_timeout: Duration,
}

/// What the keepalive timer waits for next.
enum Keepalive {
    /// Send a ping when the timer fires.
    Ping,
    /// A ping went out at `sent`; the peer must have been heard from when the timer fires.
    Pong { sent: Instant },
}

/// Runs until the session ends; returns after the close frame (if any) is written.
pub async fn run<S: Sink>(mut sink: S, mut rx: mpsc::Receiver<Frame>, ctl: Arc<Control>, cfg: WriterConfig) {
    let closed = ctl.closed();
    tokio::pin!(closed);
    let timer = sleep_until(Instant::now() + cfg.ping_interval);
    tokio::pin!(timer);
    let mut keepalive = Keepalive::Ping;
    loop {
        tokio::select! {
            biased;
            _ = &mut closed => break,
            frame = rx.recv() => {
                let Some(frame) = frame else { break };
                let written = timeout(cfg.write_timeout, write_batch(&mut sink, &mut rx, frame, cfg.batch)).await;
                if !matches!(written, Ok(Ok(()))) {
                    // The peer is gone or stuck; there is nobody to tell.
                    ctl.end();
                    return;
                }
            }
            _ = &mut timer, if S::PINGS => {
                keepalive = match keepalive {
                    Keepalive::Ping => {
                        let sent = Instant::now();
                        if !matches!(timeout(cfg.write_timeout, sink.ping()).await, Ok(Ok(()))) {
                            ctl.end();
                            return;
                        }
                        timer.as_mut().reset(sent + cfg.pong_timeout);
                        Keepalive::Pong { sent }
                    }
                    Keepalive::Pong { sent } => {
                        if ctl.last_seen() < sent {
                            ctl.close(CloseCode::NoPong);
                            break;
                        }
                        timer.as_mut().reset(sent + cfg.ping_interval);
                        Keepalive::Ping
                    }
                };
            }
        }
    }
    let Some(code) = ctl.code() else { return };
    // What was already queued (an `err` saying why, replies) goes out before the close,
    // unless the queue filling up is the very reason for closing.
    let queued = if code == CloseCode::SlowConsumer {
        None
    } else {
        rx.try_recv().ok()
    };
    if let Some(frame) = queued {
        let drained = timeout(
            cfg.write_timeout,
            write_batch(&mut sink, &mut rx, frame, usize::MAX),
        )
        .await;
        if !matches!(drained, Ok(Ok(()))) {
            return;
        }
    }
    let _ = timeout(cfg.write_timeout, sink.close(code)).await;
}

/// Feeds `first` and whatever else is already queued (up to `max` frames), then flushes once.
async fn write_batch<S: Sink>(
    sink: &mut S,
    rx: &mut mpsc::Receiver<Frame>,
    first: Frame,
    max: usize,
) -> io::Result<()> {
    sink.feed(first).await?;
    for _ in 1..max {
        match rx.try_recv() {
            Ok(frame) => sink.feed(frame).await?,
            Err(_) => break,
        }
    }
    sink.flush().await
}
