//! Channels other than the lobby, in the `chat-channels` bucket (key: the channel name):
//! who owns each, who belongs to it, who is muted until when. Every change is a
//! compare-and-set on the channel's revision, retried when another replica changed it
//! first, so any number of workers may serve `join`, `leave` and `mute` at once.

use crate::buckets::CHANNELS;
use async_nats::jetstream::kv;
use chorus_kit::{ServiceError, Waits};
use chorus_protocol::ErrorCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many times a change is retried against concurrent ones before giving up `conflict`.
const ATTEMPTS: usize = 16;

/// One channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// Who may mute and unmute: whoever created it, then the longest-standing member.
    pub owner: String,
    /// Who may read (by grant) and write, in the order they joined.
    pub members: Vec<String>,
    /// Muted members: user id → unix milliseconds when the mute ends.
    #[serde(default)]
    pub mutes: BTreeMap<String, u64>,
}

impl Channel {
    /// A channel made by `owner`, its first member.
    pub fn new(owner: &str) -> Channel {
        Channel {
            owner: owner.to_string(),
            members: vec![owner.to_string()],
            mutes: BTreeMap::new(),
        }
    }

    /// Whether `uid` belongs to it.
    pub fn is_member(&self, uid: &str) -> bool {
        self.members.iter().any(|m| m == uid)
    }

    /// Whether `uid` is muted at `now_ms`.
    pub fn is_muted(&self, uid: &str, now_ms: u64) -> bool {
        self.mutes.get(uid).is_some_and(|until| *until > now_ms)
    }

    /// Forgets mutes that have ended.
    pub fn forget_mutes(&mut self, now_ms: u64) {
        self.mutes.retain(|_, until| *until > now_ms);
    }
}

/// What a change does to a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Nothing.
    Keep,
    /// Writes this state.
    Put(Channel),
    /// Removes the channel (its last member left).
    Delete,
}

/// The `chat-channels` bucket.
pub struct Channels {
    /// The bucket.
    kv: kv::Store,
    /// Times each operation on the bucket.
    waits: Waits,
}

impl Channels {
    /// Channels in `kv`; each operation timed in `waits`.
    pub fn new(kv: kv::Store, waits: Waits) -> Channels {
        Channels { kv, waits }
    }

    /// The channel `name`, if it exists.
    pub async fn get(&self, name: &str) -> Result<Option<Channel>, ServiceError> {
        Ok(self.read(name).await?.0)
    }

    /// Changes channel `name` with `change`, which sees the current state (or `None`) and
    /// says what to do and what to answer. Retried on concurrent changes, so `change` must
    /// depend on nothing but what it is given.
    pub async fn change<T>(
        &self,
        name: &str,
        mut change: impl FnMut(Option<Channel>) -> Result<(Change, T), ServiceError>,
    ) -> Result<T, ServiceError> {
        for _ in 0..ATTEMPTS {
            let (current, revision) = self.read(name).await?;
            let (what, answer) = change(current)?;
            let written = match what {
                Change::Keep => Ok(()),
                Change::Put(channel) => {
                    let body = serde_json::to_vec(&channel).expect("a channel serializes");
                    let updated = self.kv.update(name, body.into(), revision);
                    self.waits.kv(CHANNELS, "update", updated).await.map(drop)
                }
                Change::Delete => {
                    let deleted = self.kv.delete_expect_revision(name, Some(revision));
                    self.waits.kv(CHANNELS, "delete", deleted).await
                }
            };
            match written {
                Ok(()) => return Ok(answer),
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    tracing::debug!(channel = name, "channel changed concurrently; retrying");
                }
                Err(e) => return Err(unavailable(name, e)),
            }
        }
        Err(ServiceError::conflict(
            "the channel is changing too fast; try again",
        ))
    }

    /// The channel and the revision to write over (that of a deletion marker, or 0 when the
    /// key never existed).
    async fn read(&self, name: &str) -> Result<(Option<Channel>, u64), ServiceError> {
        let entry = self.waits.kv(CHANNELS, "get", self.kv.entry(name)).await;
        let Some(entry) = entry.map_err(|e| unavailable(name, e))? else {
            return Ok((None, 0));
        };
        if entry.operation != kv::Operation::Put {
            return Ok((None, entry.revision));
        }
        let channel = serde_json::from_slice(&entry.value)
            .map_err(|e| ServiceError::internal(format_args!("channel {name} does not parse: {e}")))?;
        Ok((Some(channel), entry.revision))
    }
}

fn unavailable(name: &str, e: impl std::fmt::Display) -> ServiceError {
    tracing::warn!(channel = name, error = %e, "chat-channels bucket");
    ServiceError::new(ErrorCode::Unavailable, "chat channels are unavailable; try again")
}
