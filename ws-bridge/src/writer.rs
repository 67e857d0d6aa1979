//! A session's writer task: drains the outbound queue in batches (feed them all, flush
//! once), keeps WebSocket clients alive with pings and a pong deadline, and writes the close
//! frame when the session ends with a code of the bridge's.

use crate::outbound::{Control, Frame};
use crate::transport::Sink;
use chorus_protocol::CloseCode;
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
    /// Send a ping at this time.
    PingAt(Instant),
    /// A ping went out at `sent`; the peer must have been heard from by `deadline`.
    PongBy { sent: Instant, deadline: Instant },
}

/// Runs until the session ends; returns after the close frame (if any) is written.
pub async fn run<S: Sink>(mut sink: S, mut rx: mpsc::Receiver<Frame>, ctl: Arc<Control>, cfg: WriterConfig) {
    let mut batch = Vec::with_capacity(cfg.batch.min(16));
    let mut keepalive = Keepalive::PingAt(Instant::now() + cfg.ping_interval);
    loop {
        let wake_at = match keepalive {
            Keepalive::PingAt(t) => t,
            Keepalive::PongBy { deadline, .. } => deadline,
        };
        tokio::select! {
            biased;
            _ = ctl.closed() => break,
            n = rx.recv_many(&mut batch, cfg.batch) => {
                if n == 0 {
                    break;
                }
                let written = timeout(cfg.write_timeout, sink.send_batch(&batch)).await;
                batch.clear();
                if !matches!(written, Ok(Ok(()))) {
                    // The peer is gone or stuck; there is nobody to tell.
                    ctl.end();
                    return;
                }
            }
            _ = sleep_until(wake_at), if S::PINGS => {
                keepalive = match keepalive {
                    Keepalive::PingAt(_) => {
                        let sent = Instant::now();
                        if timeout(cfg.write_timeout, sink.ping()).await.is_err() {
                            ctl.end();
                            return;
                        }
                        Keepalive::PongBy { sent, deadline: sent + cfg.pong_timeout }
                    }
                    Keepalive::PongBy { sent, .. } => {
                        if ctl.last_seen() < sent {
                            ctl.close(CloseCode::NoPong);
                            break;
                        }
                        Keepalive::PingAt(sent + cfg.ping_interval)
                    }
                };
            }
        }
    }
    let Some(code) = ctl.code() else { return };
    // What was already queued (an `err` saying why, replies) goes out before the close,
    // unless the queue filling up is the very reason for closing.
    if code != CloseCode::SlowConsumer {
        batch.clear();
        while let Ok(frame) = rx.try_recv() {
            batch.push(frame);
        }
        if !batch.is_empty()
            && !matches!(
                timeout(cfg.write_timeout, sink.send_batch(&batch)).await,
                Ok(Ok(()))
            )
        {
            return;
        }
    }
    let _ = timeout(cfg.write_timeout, sink.close(code)).await;
}
