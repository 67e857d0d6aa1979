//! The `voice` bucket (memory: who is in a call is worth nothing after a restart of the bus).
//! - `chan.{channel}`: the members of a channel, each with the time their heartbeat runs
//!   out. Changed only by compare-and-set, so two replicas never both admit a seventh peer
//!   nor both announce the same departure; deleted when the last member goes.
//! - `user.{uid}`: the one channel a user is in; joining another leaves it first.
//!
//! Each change returns what it did, so the caller opens or closes exactly those doors.

use crate::error::VoiceError;
use async_nats::jetstream::{self, kv};
use chorus_kit::Waits;
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The bucket's name.
pub const BUCKET: &str = "voice";

/// Compare-and-set attempts before giving up on a channel.
const CAS_ATTEMPTS: usize = 32;

/// How long an untouched key may stay (a channel whose sweep never ran, say).
const MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// A channel's members, by user id.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Channel {
    /// Who is in it.
    pub members: BTreeMap<String, Member>,
}

/// One member of a channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    /// Display name.
    pub name: String,
    /// When the member's heartbeat runs out (Unix ms); a later sweep removes them.
    pub until_ms: u64,
    /// Until when the member's rights to reach its peers were last granted (Unix s).
    pub granted_until: u64,
}

/// What a join did.
#[derive(Debug)]
pub enum Joined {
    /// The caller was already in; its heartbeat was renewed.
    Already(Channel),
    /// The caller came in; `peers` were there before.
    New {
        /// The members before the caller.
        peers: Vec<(String, String)>,
    },
}

/// The `voice` bucket.
#[derive(Clone)]
pub struct Channels {
    kv: kv::Store,
    waits: Waits,
}

impl Channels {
    /// Creates the bucket if needed.
    pub async fn open(nats: async_nats::Client, waits: Waits) -> Result<Channels, VoiceError> {
        let kv = jetstream::new(nats)
            .create_key_value(kv::Config {
                bucket: BUCKET.to_string(),
                description: "Chorus voice channels: members and their heartbeats".into(),
                history: 1,
                max_age: MAX_AGE,
                storage: jetstream::stream::StorageType::Memory,
                ..Default::default()
            })
            .await
            .map_err(bucket)?;
        Ok(Channels { kv, waits })
    }

    /// Puts `uid` into `channel` unless it already holds `max` members.
    pub async fn join(
        &self,
        channel: &str,
        uid: &str,
        member: Member,
        max: usize,
    ) -> Result<Joined, VoiceError> {
        self.change(channel, |c| {
            if let Some(m) = c.members.get_mut(uid) {
                m.until_ms = member.until_ms;
                return Ok(Some(Joined::Already(c.clone())));
            }
            if c.members.len() >= max {
                return Err(VoiceError::Full { max });
            }
            let peers = c
                .members
                .iter()
                .map(|(id, m)| (id.clone(), m.name.clone()))
                .collect();
            c.members.insert(uid.to_string(), member.clone());
            Ok(Some(Joined::New { peers }))
        })
        .await
        .map(|joined| joined.expect("a join always writes"))
    }

    /// Takes `uid` out of `channel`; the peers left behind, or `NotMember`.
    pub async fn leave(&self, channel: &str, uid: &str) -> Result<Vec<String>, VoiceError> {
        self.change(channel, |c| match c.members.remove(uid) {
            Some(_) => Ok(Some(c.members.keys().cloned().collect())),
            None => Err(VoiceError::NotMember),
        })
        .await
        .map(Option::unwrap_or_default)
    }

    /// Renews `uid`'s heartbeat to `until_ms`; when its grants run out before `regrant_before`
    /// (Unix s), also records them renewed to `granted_until` and returns the peers to grant.
    pub async fn beat(
        &self,
        channel: &str,
        uid: &str,
        until_ms: u64,
        regrant_before: u64,
        granted_until: u64,
    ) -> Result<Option<Vec<String>>, VoiceError> {
        self.change(channel, |c| {
            let peers: Vec<String> = c.members.keys().filter(|id| *id != uid).cloned().collect();
            let Some(m) = c.members.get_mut(uid) else {
                return Err(VoiceError::NotMember);
            };
            m.until_ms = until_ms;
            if m.granted_until < regrant_before {
                m.granted_until = granted_until;
                return Ok(Some(Some(peers)));
            }
            Ok(Some(None))
        })
        .await
        .map(Option::flatten)
    }

    /// Removes the members of `channel` whose heartbeat ran out by `now_ms`: each one
    /// gone (id, name), and the members left.
    pub async fn expire(
        &self,
        channel: &str,
        now_ms: u64,
    ) -> Result<(Vec<(String, String)>, Vec<String>), VoiceError> {
        self.change(channel, |c| {
            let gone: Vec<(String, String)> = c
                .members
                .iter()
                .filter(|(_, m)| m.until_ms <= now_ms)
                .map(|(id, m)| (id.clone(), m.name.clone()))
                .collect();
            if gone.is_empty() {
                return Ok(None);
            }
            for (id, _) in &gone {
                c.members.remove(id);
            }
            Ok(Some((gone, c.members.keys().cloned().collect())))
        })
        .await
        .map(|changed| changed.unwrap_or_default())
    }

    /// Every channel with members.
    pub async fn names(&self) -> Result<Vec<String>, VoiceError> {
        let keys = self.waits.kv(BUCKET, "keys", async {
            self.kv
                .keys()
                .await
                .map_err(bucket)?
                .try_collect::<Vec<String>>()
                .await
                .map_err(bucket)
        });
        let keys = keys.await?;
        Ok(keys
            .into_iter()
            .filter_map(|k| k.strip_prefix("chan.").map(str::to_string))
            .collect())
    }

    /// The channel `uid` is in, if any.
    pub async fn channel_of(&self, uid: &str) -> Result<Option<String>, VoiceError> {
        let got = self
            .waits
            .kv(BUCKET, "get", self.kv.get(user_key(uid)))
            .await
            .map_err(bucket)?;
        Ok(got
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
            .filter(|s| !s.is_empty()))
    }

    /// Records that `uid` is in `channel` (or in none).
    pub async fn set_channel_of(&self, uid: &str, channel: Option<&str>) -> Result<(), VoiceError> {
        let key = user_key(uid);
        let op = async {
            match channel {
                Some(c) => self
                    .kv
                    .put(key, c.to_string().into())
                    .await
                    .map(|_| ())
                    .map_err(bucket),
                None => self.kv.delete(key).await.map_err(bucket),
            }
        };
        self.waits.kv(BUCKET, "put", op).await
    }

    /// Reads `chan.{channel}`, lets `f` change it, and writes it back on the revision read
    /// (deleting it once empty), again from the read when another writer came first. `f`
    /// returns `None` when there is nothing to write.
    async fn change<T>(
        &self,
        channel: &str,
        mut f: impl FnMut(&mut Channel) -> Result<Option<T>, VoiceError>,
    ) -> Result<Option<T>, VoiceError> {
        let key = chan_key(channel);
        for _ in 0..CAS_ATTEMPTS {
            let entry = self
                .waits
                .kv(BUCKET, "get", self.kv.entry(key.clone()))
                .await
                .map_err(bucket)?;
            let (mut record, revision) = match entry {
                Some(e) if e.operation == kv::Operation::Put => (
                    serde_json::from_slice::<Channel>(&e.value).unwrap_or_default(),
                    Some(e.revision),
                ),
                Some(e) => (Channel::default(), Some(e.revision)),
                None => (Channel::default(), None),
            };
            let Some(out) = f(&mut record)? else {
                return Ok(None);
            };
            let body = serde_json::to_vec(&record).expect("channels serialize");
            let written = match (revision, record.members.is_empty()) {
                (Some(rev), true) => self
                    .waits
                    .kv(BUCKET, "delete", self.kv.delete_expect_revision(&key, Some(rev)))
                    .await
                    .is_ok(),
                (Some(rev), false) => self
                    .waits
                    .kv(BUCKET, "update", self.kv.update(&key, body.into(), rev))
                    .await
                    .is_ok(),
                (None, true) => true,
                (None, false) => self
                    .waits
                    .kv(BUCKET, "create", self.kv.create(&key, body.into()))
                    .await
                    .is_ok(),
            };
            if written {
                return Ok(Some(out));
            }
        }
        Err(VoiceError::Contended(channel.to_string()))
    }
}

fn chan_key(channel: &str) -> String {
    format!("chan.{channel}")
}

fn user_key(uid: &str) -> String {
    format!("user.{uid}")
}

fn bucket(e: impl std::fmt::Display) -> VoiceError {
    VoiceError::Bucket(e.to_string())
}
