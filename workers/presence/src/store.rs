//! The `presence` bucket (memory storage: who is online is worth nothing after a restart of
//! the bus, and bridges re-announce connections as they come). Keys, shared with every
//! reader (see `chorus_protocol::presence`):
//! - `user.{uid}`: the user's live connections, changed only by compare-and-set, so two
//!   replicas of this worker never both see the same user come online;
//! - `bridge.{id}`: the bridge's last heartbeat, with a per-message TTL. When it expires
//!   the server leaves a marker that a watch sees;
//! - `gone.{conn}`: a connection whose end arrived before its start, for a while (TTL).

use async_nats::HeaderMap;
use async_nats::jetstream::{self, kv};
use chorus_kit::Waits;
use chorus_protocol::presence::{self, ConnRef, UserPresence};
use std::time::Duration;

/// Why the bucket could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Creating or opening the bucket failed.
    #[error("opening the presence bucket: {0}")]
    Open(#[from] jetstream::context::CreateKeyValueError),
    /// Reading a key failed.
    #[error("reading presence: {0}")]
    Read(#[from] kv::EntryError),
    /// Writing a key failed.
    #[error("writing presence: {0}")]
    Write(String),
    /// Watching or listing keys failed.
    #[error("watching presence: {0}")]
    Watch(String),
    /// An event was not the shape bridges send.
    #[error("malformed presence event")]
    Malformed,
    /// Another writer kept winning the compare-and-set.
    #[error("presence of {0} changed too often to update")]
    Contended(String),
}

/// What one change did to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Nothing to change: the connection was already there, or already gone.
    Unchanged,
    /// The connections changed, but not whether the user is online.
    None,
    /// The first connection opened.
    Online(String),
    /// The last connection closed.
    Offline(String),
}

/// The presence bucket.
#[derive(Clone)]
pub struct PresenceStore {
    js: jetstream::Context,
    kv: kv::Store,
    /// How long a heartbeat lives.
    ttl: Duration,
    /// Times each operation on the bucket (untimed-to-nowhere until [`Self::with_waits`]).
    pub(crate) waits: Waits,
}

/// How long a connection that ended before it began is remembered.
const TOMBSTONE_TTL: Duration = Duration::from_secs(120);

/// Compare-and-set attempts before giving up on a key.
const CAS_ATTEMPTS: usize = 32;

impl PresenceStore {
    /// Creates the bucket if needed (memory, one value per key, TTL markers on).
    pub async fn open(nats: async_nats::Client, ttl: Duration) -> Result<PresenceStore, StoreError> {
        let js = jetstream::new(nats);
        let kv = js
            .create_key_value(kv::Config {
                bucket: presence::BUCKET.to_string(),
                history: 1,
                storage: jetstream::stream::StorageType::Memory,
                limit_markers: Some(ttl.max(Duration::from_secs(1))),
                ..Default::default()
            })
            .await?;
        Ok(PresenceStore {
            js,
            kv,
            ttl,
            waits: Waits::default(),
        })
    }

    /// The same store, timing its operations in `waits` (the worker's `Metrics::waits()`).
    pub fn with_waits(self, waits: Waits) -> PresenceStore {
        PresenceStore { waits, ..self }
    }

    /// Records that `bridge` is alive, for the TTL.
    pub async fn beat(&self, bridge: &str) -> Result<(), StoreError> {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-TTL", self.ttl.as_secs().max(1).to_string().as_str());
        let subject = format!("$KV.{}.{}", presence::BUCKET, presence::bridge_key(bridge));
        let beat = async {
            let ack = self
                .js
                .publish_with_headers(subject, headers, bytes_of(bridge))
                .await;
            ack.map_err(|e| StoreError::Write(e.to_string()))?
                .await
                .map_err(|e| StoreError::Write(e.to_string()))
        };
        self.waits.kv(presence::BUCKET, "beat", beat).await?;
        Ok(())
    }

    /// Whether `bridge` beat within the TTL.
    pub async fn bridge_alive(&self, bridge: &str) -> Result<bool, StoreError> {
        let got = self.kv.get(presence::bridge_key(bridge));
        Ok(self.waits.kv(presence::BUCKET, "get", got).await?.is_some())
    }

    /// A user's live connections (empty when offline).
    pub async fn user(&self, uid: &str) -> Result<UserPresence, StoreError> {
        Ok(self.read(uid).await?.0)
    }

    /// Adds a connection to a user.
    pub async fn add(&self, uid: &str, name: &str, conn: ConnRef) -> Result<Transition, StoreError> {
        self.change(uid, |p| {
            if p.conns.contains(&conn) {
                return false;
            }
            p.name = name.to_string();
            p.conns.push(conn.clone());
            true
        })
        .await
    }

    /// Removes the user's connections that `gone` picks.
    pub async fn remove(&self, uid: &str, gone: impl Fn(&ConnRef) -> bool) -> Result<Transition, StoreError> {
        self.change(uid, |p| {
            let before = p.conns.len();
            p.conns.retain(|c| !gone(c));
            p.conns.len() != before
        })
        .await
    }

    /// Notes that connection `conn` ended before its start was seen (events can overtake
    /// each other across replicas), so its late start is ignored.
    pub async fn bury(&self, conn: &str) -> Result<(), StoreError> {
        let key = format!("gone.{conn}");
        let created = self.kv.create_with_ttl(&key, bytes_of(conn), TOMBSTONE_TTL);
        match self.waits.kv(presence::BUCKET, "create", created).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(StoreError::Write(e.to_string())),
        }
    }

    /// Whether connection `conn` was buried.
    pub async fn buried(&self, conn: &str) -> Result<bool, StoreError> {
        let got = self.kv.get(format!("gone.{conn}"));
        Ok(self.waits.kv(presence::BUCKET, "get", got).await?.is_some())
    }

    /// Every user with a connection on record.
    pub async fn users(&self) -> Result<Vec<String>, StoreError> {
        use futures_util::TryStreamExt;
        let keys: Vec<String> = self
            .kv
            .keys()
            .await
            .map_err(|e| StoreError::Watch(e.to_string()))?
            .try_collect()
            .await
            .map_err(|e| StoreError::Watch(e.to_string()))?;
        Ok(keys
            .into_iter()
            .filter_map(|k| k.strip_prefix("user.").map(str::to_string))
            .collect())
    }

    /// Watches heartbeats: yields each bridge whose heartbeat expired or was removed.
    pub async fn watch_bridges(&self) -> Result<kv::Watch, StoreError> {
        self.kv
            .watch(format!("{}*", presence::bridge_key("")))
            .await
            .map_err(|e| StoreError::Watch(e.to_string()))
    }

    /// The user's record and its revision (0: none).
    async fn read(&self, uid: &str) -> Result<(UserPresence, u64), StoreError> {
        let entry = self.kv.entry(presence::user_key(uid));
        Ok(match self.waits.kv(presence::BUCKET, "get", entry).await? {
            Some(e) if e.operation == kv::Operation::Put => {
                (serde_json::from_slice(&e.value).unwrap_or_default(), e.revision)
            }
            Some(e) => (UserPresence::default(), e.revision),
            None => (UserPresence::default(), 0),
        })
    }

    /// Applies `edit` (which says whether it changed anything) with compare-and-set.
    async fn change(
        &self,
        uid: &str,
        edit: impl Fn(&mut UserPresence) -> bool,
    ) -> Result<Transition, StoreError> {
        let key = presence::user_key(uid);
        for _ in 0..CAS_ATTEMPTS {
            let (mut record, revision) = self.read(uid).await?;
            let was_online = !record.conns.is_empty();
            if !edit(&mut record) {
                return Ok(Transition::Unchanged);
            }
            let online = !record.conns.is_empty();
            let written = if online {
                let value = serde_json::to_vec(&record).expect("serializes");
                let updated = self.kv.update(&key, value.into(), revision);
                self.waits
                    .kv(presence::BUCKET, "update", updated)
                    .await
                    .map(|_| ())
            } else {
                let deleted = self.kv.delete_expect_revision(&key, Some(revision));
                self.waits.kv(presence::BUCKET, "delete", deleted).await
            };
            match written {
                Ok(()) => {
                    return Ok(match (was_online, online) {
                        (false, true) => Transition::Online(record.name),
                        (true, false) => Transition::Offline(record.name),
                        _ => Transition::None,
                    });
                }
                // Someone else changed it meanwhile: read again.
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => continue,
                Err(e) => {
                    // The server's "wrong last sequence" may come back as another kind.
                    tracing::debug!(error = %e, "presence write refused; retrying");
                    continue;
                }
            }
        }
        Err(StoreError::Contended(uid.to_string()))
    }
}

fn bytes_of(s: &str) -> bytes::Bytes {
    bytes::Bytes::copy_from_slice(s.as_bytes())
}
