//! A session's outbound side: the bounded queue every other task pushes frames into, and
//! the one-shot close signal. Pushing never waits: a full queue closes that socket
//! `slow_consumer` (and is counted), so one slow reader never delays anybody else.

use crate::command::Command;
use crate::metrics::Metrics;
use chorus_protocol::frame::ServerFrame;
use chorus_protocol::{CloseCode, ErrorCode};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tungstenite::Utf8Bytes;

/// An encoded frame (JSON text). Cloning shares the bytes: one `msg` encoding serves
/// every socket subscribed to its subject. One pointer wide, so that a socket's queue
/// (whose first block of slots is allocated up front) stays small.
#[derive(Debug, Clone)]
pub struct Frame(Arc<Utf8Bytes>);

impl Frame {
    /// The frame as WebSocket text (shares the bytes).
    pub fn text(&self) -> Utf8Bytes {
        Utf8Bytes::clone(&self.0)
    }

    /// The frame's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl From<String> for Frame {
    fn from(text: String) -> Frame {
        Frame(Arc::new(Utf8Bytes::from(text)))
    }
}

/// Closing and liveness state shared by a session's reader, writer and the fan-out.
#[derive(Debug)]
pub struct Control {
    /// Cancelled once the session is over, whoever ended it.
    token: CancellationToken,
    /// The bridge's close code, 0 while none (the peer may still close first).
    code: AtomicU16,
    /// When the peer last sent anything, in ms since `started` (for the pong deadline).
    last_seen_ms: AtomicU64,
    /// Session start, the base of `last_seen_ms`.
    started: Instant,
    /// Where bridge-initiated closes are counted.
    metrics: Arc<Metrics>,
    /// Grants, revokes and kicks waiting for the session to apply (usually none: an empty
    /// `Vec` allocates nothing, which keeps idle sessions small).
    commands: Mutex<Vec<Arc<Command>>>,
    /// Wakes the session when `commands` has something.
    commands_ready: Notify,
}

impl Control {
    /// A fresh, open session.
    pub fn new(metrics: Arc<Metrics>) -> Control {
        Control {
            token: CancellationToken::new(),
            code: AtomicU16::new(0),
            last_seen_ms: AtomicU64::new(0),
            started: Instant::now(),
            metrics,
            commands: Mutex::new(Vec::new()),
            commands_ready: Notify::new(),
        }
    }

    /// Closes the session with `code`; only the first close counts. Returns whether this
    /// call was the one that closed it.
    pub fn close(&self, code: CloseCode) -> bool {
        let won = self
            .code
            .compare_exchange(0, code.code(), Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if won {
            self.metrics.close(code);
        }
        self.token.cancel();
        won
    }

    /// Ends the session without a close code of ours (the peer left).
    pub fn end(&self) {
        self.token.cancel();
    }

    /// The bridge's close code, if the bridge closed it.
    pub fn code(&self) -> Option<CloseCode> {
        CloseCode::from_code(self.code.load(Ordering::Acquire))
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves when the session is over.
    pub async fn closed(&self) {
        self.token.cancelled().await
    }

    /// Records that the peer is alive (any frame or pong).
    pub fn touch(&self) {
        // Rounded up, so a pong in the same millisecond as its ping still counts.
        let ms = self.started.elapsed().as_millis() as u64 + 1;
        self.last_seen_ms.store(ms, Ordering::Relaxed);
    }

    /// Hands the session a grant, revoke or kick.
    pub fn command(&self, command: Arc<Command>) {
        self.commands.lock().expect("commands lock").push(command);
        self.commands_ready.notify_one();
    }

    /// Waits for commands and takes them, oldest first.
    pub async fn commands(&self) -> Vec<Arc<Command>> {
        loop {
            let taken = std::mem::take(&mut *self.commands.lock().expect("commands lock"));
            if !taken.is_empty() {
                return taken;
            }
            self.commands_ready.notified().await;
        }
    }

    /// When the peer was last heard from.
    pub fn last_seen(&self) -> Instant {
        self.started + std::time::Duration::from_millis(self.last_seen_ms.load(Ordering::Relaxed))
    }
}

/// The sending end of a session's outbound queue.
#[derive(Debug, Clone)]
pub struct Outbox {
    /// The bounded queue to the session's writer.
    tx: mpsc::Sender<Frame>,
    /// The session's control, to close it when the queue is full.
    pub ctl: Arc<Control>,
}

impl Outbox {
    /// A queue of `capacity` frames; the receiver goes to the writer.
    pub fn new(capacity: usize, ctl: Arc<Control>) -> (Outbox, mpsc::Receiver<Frame>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (Outbox { tx, ctl }, rx)
    }

    /// Queues a frame without waiting. A full queue closes the session `slow_consumer`.
    /// Returns whether the frame was queued.
    pub fn push(&self, frame: Frame) -> bool {
        match self.tx.try_send(frame) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.ctl.close(CloseCode::SlowConsumer);
                false
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }

    /// Queues the encoded frame `text` (an `op` frame) and counts it when it is queued.
    pub fn send(&self, op: &'static str, text: String) {
        if self.push(Frame::from(text)) {
            self.ctl.metrics.frames_out(op, 1);
        }
    }

    /// Queues `{"op":"err",…}` answering frame `id` (if any) and counts the error.
    pub fn send_err(&self, id: Option<&str>, code: ErrorCode, message: &str) {
        self.ctl.metrics.error(code);
        let frame = ServerFrame::Err {
            id,
            code,
            message,
            subject: None,
        };
        self.send("err", frame.encode());
    }

    /// Frames waiting in the queue.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }
}
