//! Cancelling the tickets of closed connections. Bridges publish
//! `presence.disconnect.{uid}` (`{bridge, conn, user, name}`) for every connection that
//! ends; one replica (queue group `mm`) takes each. The ticket goes only if that very
//! connection joined it (the user may wait from another tab) and no match is being made.
//!
//! A join still in flight when its connection closes would find no ticket to cancel, so
//! every closed connection is remembered for a while (`gone.{conn}`) and a join checks it
//! after writing its ticket: whichever lands second sees the other. A disconnect that no
//! replica hears (none running) leaves the ticket to its TTL.

use crate::error::MmError;
use crate::queue::Queue;
use crate::ticket::now_ms;
use chorus_protocol::presence::{ConnEvent, disconnect_subject};
use futures_util::StreamExt;

/// The bridges' disconnects, subscribed (from the return on, none is missed).
pub struct Disconnects {
    /// The subscription, in the queue group `mm`.
    sub: async_nats::Subscriber,
}

impl Disconnects {
    /// Subscribes and returns once the server holds the subscription.
    pub async fn open(nats: &async_nats::Client) -> Result<Disconnects, MmError> {
        let sub = nats
            .queue_subscribe(disconnect_subject("*"), "mm".to_string())
            .await
            .map_err(|e| MmError::Nats(e.to_string()))?;
        nats.flush().await.map_err(|e| MmError::Nats(e.to_string()))?;
        Ok(Disconnects { sub })
    }

    /// Cancels tickets until the subscription ends.
    pub async fn run(mut self, queue: Queue) -> Result<(), MmError> {
        while let Some(msg) = self.sub.next().await {
            let Ok(event) = serde_json::from_slice::<ConnEvent>(&msg.payload) else {
                tracing::warn!(subject = %msg.subject, "malformed disconnect ignored");
                continue;
            };
            let queue = queue.clone();
            tokio::spawn(async move {
                if let Err(e) = cancel(&queue, &event).await {
                    tracing::warn!(error = %e, "cancelling a closed connection's ticket failed");
                }
            });
        }
        Err(MmError::Nats("the disconnect subscription ended".into()))
    }
}

/// Remembers the connection closed, then cancels its user's ticket if it joined it.
pub async fn cancel(queue: &Queue, event: &ConnEvent) -> Result<bool, MmError> {
    queue.mark_gone(&event.conn).await?;
    let Some((ticket, rev)) = queue.ticket(&event.user).await? else {
        return Ok(false);
    };
    if ticket.conn != event.conn || ticket.claimed(now_ms()) {
        return Ok(false);
    }
    let removed = queue.remove(&event.user, rev).await?;
    if removed {
        tracing::debug!(user = %event.user, "ticket cancelled: its connection closed");
    }
    Ok(removed)
}
