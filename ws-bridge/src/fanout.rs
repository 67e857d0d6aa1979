//! Subject → sockets. One NATS subscription per distinct subject on this bridge,
//! reference-counted across connections and dropped with the last one.
//!
//! Each subscription has a dispatcher task that owns its member list (so the hot loop
//! takes no lock), encodes every NATS message into its client frame once, and pushes that
//! shared frame into each member's bounded queue without waiting.

use crate::metrics::Metrics;
use crate::outbound::{Frame, Outbox};
use async_nats::{Client, Subscriber};
use chorus_protocol::frame::{From, encode_msg};
use chorus_protocol::headers;
use chorus_runtime::bus::round_trip;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc};

/// Longest wait for the server to confirm a new subscription.
const SUBSCRIBE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// A connection's id on this bridge.
pub type ConnId = u64;

/// How a subject's messages become frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// A `msg` frame with subject, data and sender: what clients subscribe to.
    Msg,
    /// The payload itself, which must be one line of JSON: the device presence lines,
    /// which the bus already carries in their final form.
    Line,
}

/// Why a subscription could not be made.
#[derive(Debug, thiserror::Error)]
#[error("NATS refused the subscription: {0}")]
pub struct FanoutError(#[from] async_nats::SubscribeError);

/// A change to one subject's member list, sent to its dispatcher.
enum Change {
    Join(ConnId, Outbox),
    Leave(ConnId),
}

/// The bridge's side of one NATS subscription.
struct Subject {
    /// Connections subscribed through it.
    members: usize,
    /// To its dispatcher task.
    changes: mpsc::UnboundedSender<Change>,
}

/// Every subject this bridge is subscribed to.
pub struct Fanout {
    /// The NATS connection subscriptions are made on.
    nats: Client,
    /// Subject → its subscription. A lock only for joins and leaves, never per message.
    subjects: Mutex<HashMap<(String, Encoding), Subject>>,
    /// Where deliveries and subscription counts are recorded.
    metrics: Arc<Metrics>,
}

impl Fanout {
    /// An empty fan-out over `nats`.
    pub fn new(nats: Client, metrics: Arc<Metrics>) -> Fanout {
        Fanout {
            nats,
            subjects: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    /// Adds `conn` to `subject`, subscribing on NATS if it is the first.
    pub async fn join(&self, subject: &str, conn: ConnId, outbox: Outbox) -> Result<(), FanoutError> {
        self.join_as(Encoding::Msg, subject, conn, outbox).await
    }

    /// Adds `conn` to `subject`, its messages encoded as `encoding`.
    pub async fn join_as(
        &self,
        encoding: Encoding,
        subject: &str,
        conn: ConnId,
        outbox: Outbox,
    ) -> Result<(), FanoutError> {
        let key = (subject.to_string(), encoding);
        let mut subjects = self.subjects.lock().await;
        if let Some(s) = subjects.get_mut(&key) {
            s.members += 1;
            let _ = s.changes.send(Change::Join(conn, outbox));
            return Ok(());
        }
        let subscriber = self.nats.subscribe(subject.to_string()).await?;
        let (changes, rx) = mpsc::unbounded_channel();
        let _ = changes.send(Change::Join(conn, outbox));
        tokio::spawn(dispatch(subscriber, rx, self.metrics.clone(), encoding));
        subjects.insert(key, Subject { members: 1, changes });
        self.metrics.nats_subscriptions.inc();
        drop(subjects);
        // The server holds the subscription before the client hears `ok`, so what it sets
        // in motion after the `ok` (a worker's publish from another connection) finds it in
        // place. Bounded: NATS may be down, and then the subscription is restored on
        // reconnect anyway.
        let _ = round_trip(&self.nats, SUBSCRIBE_WAIT).await;
        Ok(())
    }

    /// Removes `conn` from `subject`, unsubscribing on NATS if it was the last.
    pub async fn leave(&self, subject: &str, conn: ConnId) {
        self.leave_as(Encoding::Msg, subject, conn).await
    }

    /// Removes `conn` from `subject` joined as `encoding`.
    pub async fn leave_as(&self, encoding: Encoding, subject: &str, conn: ConnId) {
        let mut subjects = self.subjects.lock().await;
        if let Entry::Occupied(mut e) = subjects.entry((subject.to_string(), encoding)) {
            let s = e.get_mut();
            let _ = s.changes.send(Change::Leave(conn));
            s.members -= 1;
            if s.members == 0 {
                // Dropping the sender ends the dispatcher, which drops (unsubscribes) it.
                e.remove();
                self.metrics.nats_subscriptions.dec();
            }
        }
    }

    /// How many distinct subjects this bridge is subscribed to.
    pub async fn subject_count(&self) -> usize {
        self.subjects.lock().await.len()
    }
}

/// One subscription's delivery loop.
async fn dispatch(
    mut sub: Subscriber,
    mut changes: mpsc::UnboundedReceiver<Change>,
    metrics: Arc<Metrics>,
    encoding: Encoding,
) {
    let mut members: Vec<(ConnId, Outbox)> = Vec::new();
    let delivered = metrics.msg_counter();
    loop {
        tokio::select! {
            biased;
            change = changes.recv() => match change {
                Some(Change::Join(id, outbox)) => members.push((id, outbox)),
                Some(Change::Leave(id)) => {
                    if let Some(i) = members.iter().position(|(m, _)| *m == id) {
                        members.swap_remove(i);
                    }
                }
                None => break,
            },
            msg = sub.next() => {
                let Some(msg) = msg else { break };
                metrics.nats_messages.inc();
                let frame = match encoding {
                    Encoding::Msg => encode(&msg),
                    Encoding::Line => match line(&msg.payload) {
                        Some(frame) => frame,
                        None => continue,
                    },
                };
                let mut n = 0;
                for (_, outbox) in &members {
                    n += u64::from(outbox.push(frame.clone()));
                }
                delivered.inc_by(n);
            }
        }
    }
}

/// The client frame for a NATS message, with `from` when the bridge stamped a sender.
fn encode(msg: &async_nats::Message) -> Frame {
    let header = |name| msg.headers.as_ref().and_then(|h| h.get(name)).map(|v| v.as_str());
    let from = match (header(headers::USER), header(headers::NAME)) {
        (Some(id), Some(name)) => Some(From { id, name }),
        _ => None,
    };
    Frame::from(encode_msg(msg.subject.as_str(), &msg.payload, from))
}

/// The payload as a line, unless it is not one line of JSON (anyone on the bus may
/// publish; a device must never get a broken line).
fn line(payload: &[u8]) -> Option<Frame> {
    if payload.contains(&b'\n') || serde_json::from_slice::<serde::de::IgnoredAny>(payload).is_err() {
        return None;
    }
    let text = std::str::from_utf8(payload).ok()?;
    Some(Frame::from(text.to_string()))
}
