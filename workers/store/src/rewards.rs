//! Coins for wins. The rooms worker publishes each finished match on `evt.rooms.finished`
//! into the JetStream stream `EVENTS`; the store reads it with the durable pull consumer
//! `store-rewards`, shared by its replicas. A finished rated match with a winner pays the
//! winner a `reward` entry whose reference is `room:{rid}`: the ledger takes one entry per
//! reference, so an event delivered twice, or replayed, pays nothing more.
//!
//! An event is acknowledged once applied (or found malformed, which no retry mends); one
//! that could not be applied (the database away) is left to be redelivered.

use crate::error::StoreError;
use crate::ledger::{self, Change, Reason};
use crate::store::Store;
use async_nats::jetstream::consumer::{self, pull};
use async_nats::jetstream::{self, AckKind, stream};
use futures_util::StreamExt;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The stream of workers' events (`evt.>`), shared with the rooms worker.
pub const STREAM: &str = "EVENTS";

/// Where the rooms worker tells of a finished match.
pub const FINISHED: &str = "evt.rooms.finished";

/// The store's durable consumer of finished matches.
pub const CONSUMER: &str = "store-rewards";

/// How long the stream keeps events (when the store creates it).
const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Within this window the stream drops a second publish with the same `Nats-Msg-Id`.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// After a failure to apply an event, how long before it comes again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// A finished match, as the rooms worker tells it (fields the store does not use are
/// ignored, so the event may grow).
#[derive(Debug, Deserialize)]
pub struct Finished {
    /// The room's id: what the reward refers to.
    pub room: String,
    /// Whether ratings changed: only rated matches pay.
    pub rated: bool,
    /// The winner's user id, or none (a draw, an abandoned match).
    pub winner: Option<String>,
    /// Whether it was a draw.
    #[serde(default)]
    pub draw: bool,
}

/// The consumer, open: the stream and the durable consumer exist and its messages flow.
pub struct Rewards {
    /// Finished matches, from the stream.
    messages: pull::Stream,
}

impl Rewards {
    /// Creates the stream if it is missing (the same config as the rooms worker's) and the
    /// durable consumer, and starts pulling.
    pub async fn open(nats: &async_nats::Client) -> Result<Rewards, StoreError> {
        let js = jetstream::new(nats.clone());
        let stream = js
            .get_or_create_stream(stream::Config {
                name: STREAM.to_string(),
                subjects: vec!["evt.>".to_string()],
                storage: stream::StorageType::File,
                max_age: MAX_AGE,
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(bus)?;
        let messages = stream
            .get_or_create_consumer(
                CONSUMER,
                pull::Config {
                    durable_name: Some(CONSUMER.to_string()),
                    filter_subject: FINISHED.to_string(),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ..Default::default()
                },
            )
            .await
            .map_err(bus)?
            .messages()
            .await
            .map_err(bus)?;
        Ok(Rewards { messages })
    }

    /// Pays for every finished match, until the stream ends or fails.
    pub async fn run(mut self, store: Arc<Store>) -> Result<(), StoreError> {
        while let Some(msg) = self.messages.next().await {
            let msg = msg.map_err(bus)?;
            let applied = match serde_json::from_slice::<Finished>(&msg.payload) {
                Ok(event) => store.waits.db("reward", pay(&store, &event)).await.map(|_| ()),
                Err(_) => {
                    tracing::warn!(subject = %msg.subject, "malformed finished-match event dropped");
                    Ok(())
                }
            };
            let ack = match applied {
                Ok(()) => msg.ack().await,
                Err(e) => {
                    tracing::warn!(error = %e, "finished match not paid yet");
                    msg.ack_with(AckKind::Nak(Some(RETRY_AFTER))).await
                }
            };
            if let Err(e) = ack {
                tracing::warn!(error = %e, "finished-match event not acknowledged");
            }
        }
        Ok(())
    }
}

/// A failure of the bus under the stream or the consumer.
fn bus(e: impl std::fmt::Display) -> StoreError {
    StoreError::Bus(e.to_string())
}

/// Pays the winner of `event`, once per room; returns the new balance, or `None` when the
/// match pays nothing (unrated, a draw, no winner, a guest) or was paid before.
pub async fn pay(store: &Store, event: &Finished) -> Result<Option<i64>, StoreError> {
    let Some(winner) = event.winner.as_deref() else {
        return Ok(None);
    };
    let reward = store.settings.win_reward;
    if !event.rated || event.draw || reward <= 0 || !is_user_id(winner) {
        return Ok(None);
    }
    let mut client = store.db.get().await?;
    let tx = client.transaction().await?;
    let (balance, opened) = ledger::lock_wallet(&tx, winner, store.settings.starting_balance).await?;
    let reference = format!("room:{}", event.room);
    let paid = ledger::append(&tx, winner, reward, Reason::Reward, &reference, balance).await?;
    tx.commit().await?;
    let mut changes: Vec<Change> = opened.into_iter().collect();
    if let Some(balance) = paid {
        changes.push(Change {
            user: winner.to_string(),
            balance,
            reason: Reason::Reward,
        });
    }
    ledger::notify(&store.nats, &changes).await;
    Ok(paid)
}

/// A signed-in user's id, fit for a subject token: guests (`g-…`) have no wallet.
fn is_user_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && !id.starts_with("g-")
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
