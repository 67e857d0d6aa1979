//! Messages in the `chat` bucket: stored once under a fresh key, rewritten by an edit with
//! compare-and-set and a per-message TTL (the time the message has left, so an edit never
//! extends its life), deleted by a retraction, and read back newest first through a KV
//! watch. What fails here answers `unavailable`; the log names the key, never the text.

use crate::buckets::CHAT;
use crate::message::Message;
use crate::names::MsgId;
use async_nats::header::{self, HeaderMap, HeaderValue};
use async_nats::jetstream::{self, context::PublishErrorKind, kv, stream::DirectGetErrorKind};
use bytes::Bytes;
use chorus_kit::{ServiceError, Waits};
use chorus_protocol::ErrorCode;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::time::Duration;

/// A message as read, with the revision a compare-and-set needs.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The message.
    pub message: Message,
    /// Its revision (stream sequence) in the bucket.
    pub revision: u64,
}

/// How a compare-and-set write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// It is written.
    Done,
    /// Someone wrote the key since it was read: read again and retry.
    Raced,
}

/// The `chat` bucket.
pub struct Messages {
    /// The bucket.
    kv: kv::Store,
    /// For writes with headers the KV API does not set (`Nats-TTL` with a revision).
    js: jetstream::Context,
    /// How long a message lives.
    ttl: Duration,
    /// See [`crate::Settings::history_idle`].
    idle: Duration,
    /// Times each operation on the bucket.
    waits: Waits,
}

impl Messages {
    /// Messages in `kv`, which keeps them `ttl`; each operation timed in `waits`.
    pub fn new(
        kv: kv::Store,
        js: jetstream::Context,
        ttl: Duration,
        idle: Duration,
        waits: Waits,
    ) -> Messages {
        Messages {
            kv,
            js,
            ttl,
            idle,
            waits,
        }
    }

    /// How long a message lives from its `ts`.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Stores a new message under `key` (refused if the key exists).
    pub async fn create(&self, key: &str, message: &Message) -> Result<(), ServiceError> {
        let body = serde_json::to_vec(message).expect("a message serializes");
        let created = self.kv.create(key, body.into());
        self.waits
            .kv(CHAT, "create", created)
            .await
            .map_err(|e| unavailable(key, "storing", e))?;
        Ok(())
    }

    /// The live message under `key`, if any.
    pub async fn get(&self, key: &str) -> Result<Option<Stored>, ServiceError> {
        let entry = self
            .waits
            .kv(CHAT, "get", self.kv.entry(key))
            .await
            .map_err(|e| unavailable(key, "reading", e))?;
        let Some(entry) = entry.filter(|e| e.operation == kv::Operation::Put) else {
            return Ok(None);
        };
        let message = serde_json::from_slice(&entry.value)
            .map_err(|e| ServiceError::internal(format_args!("message {key} does not parse: {e}")))?;
        Ok(Some(Stored {
            message,
            revision: entry.revision,
        }))
    }

    /// Replaces the message under `key` at `revision` with `message`, to live `left` more
    /// (whole seconds, at least one).
    pub async fn rewrite(
        &self,
        key: &str,
        message: &Message,
        revision: u64,
        left: Duration,
    ) -> Result<Written, ServiceError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::NATS_EXPECTED_LAST_SUBJECT_SEQUENCE,
            HeaderValue::from(revision),
        );
        headers.insert(header::NATS_MESSAGE_TTL, HeaderValue::from(left.as_secs().max(1)));
        let body = Bytes::from(serde_json::to_vec(message).expect("a message serializes"));
        let subject = format!("{}{key}", self.kv.prefix);
        let acked = self.waits.kv(CHAT, "update", async {
            match self.js.publish_with_headers(subject, headers, body).await {
                Ok(ack) => ack.await,
                Err(e) => Err(e),
            }
        });
        let acked = acked.await;
        match acked {
            Ok(_) => Ok(Written::Done),
            Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => Ok(Written::Raced),
            Err(e) => Err(unavailable(key, "rewriting", e)),
        }
    }

    /// Deletes the message under `key` if it is still at `revision`.
    pub async fn remove(&self, key: &str, revision: u64) -> Result<Written, ServiceError> {
        let deleted = self.kv.delete_expect_revision(key, Some(revision));
        match self.waits.kv(CHAT, "delete", deleted).await {
            Ok(()) => Ok(Written::Done),
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(Written::Raced),
            Err(e) => Err(unavailable(key, "deleting", e)),
        }
    }

    /// The newest `limit` live messages whose keys match `keys` (and whose ids are older than
    /// `before`), newest first.
    pub async fn history(
        &self,
        keys: &str,
        before: Option<&MsgId>,
        limit: usize,
    ) -> Result<Vec<Message>, ServiceError> {
        self.waits
            .kv(CHAT, "history", self.read_history(keys, before, limit))
            .await
    }

    /// [`Messages::history`], untimed.
    async fn read_history(
        &self,
        keys: &str,
        before: Option<&MsgId>,
        limit: usize,
    ) -> Result<Vec<Message>, ServiceError> {
        // A watch of nothing delivers nothing and never says it is done: look first.
        if !self.any(keys).await? {
            return Ok(Vec::new());
        }
        let mut watch = self
            .kv
            .watch_with_history(keys)
            .await
            .map_err(|e| unavailable(keys, "watching", e))?;
        // Id → value of the newest `limit` so far; ids sort by time.
        let mut newest: BTreeMap<String, Bytes> = BTreeMap::new();
        loop {
            let entry = match tokio::time::timeout(self.idle, watch.next()).await {
                Ok(Some(Ok(entry))) => entry,
                Ok(Some(Err(e))) => return Err(unavailable(keys, "watching", e)),
                Ok(None) => break,
                Err(_) => {
                    // The last entry expired between the look and the watch.
                    tracing::debug!(keys, "history read went idle; taking what arrived");
                    break;
                }
            };
            let id = entry.key.rsplit('.').next().unwrap_or_default();
            if entry.operation == kv::Operation::Put && before.is_none_or(|b| id < b.as_str()) {
                newest.insert(id.to_string(), entry.value);
                if newest.len() > limit {
                    newest.pop_first();
                }
            }
            if entry.delta == 0 {
                break;
            }
        }
        Ok(newest
            .into_iter()
            .rev()
            .filter_map(|(id, value)| match serde_json::from_slice(&value) {
                Ok(m) => Some(m),
                Err(e) => {
                    tracing::warn!(id, error = %e, "a stored message does not parse; skipped");
                    None
                }
            })
            .collect())
    }

    /// Whether any entry (a message, or the marker of one gone) matches `keys`.
    async fn any(&self, keys: &str) -> Result<bool, ServiceError> {
        let subject = format!("{}{keys}", self.kv.prefix);
        match self.kv.stream.direct_get_next_for_subject(subject, None).await {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.kind(), DirectGetErrorKind::NotFound) => Ok(false),
            Err(e) => Err(unavailable(keys, "looking up", e)),
        }
    }
}

/// Logs why the bucket failed us (naming the key, not the message) and tells the client to
/// try again.
fn unavailable(key: &str, doing: &str, e: impl std::fmt::Display) -> ServiceError {
    tracing::warn!(key, doing, error = %e, "chat bucket");
    ServiceError::new(ErrorCode::Unavailable, "chat storage is unavailable; try again")
}
