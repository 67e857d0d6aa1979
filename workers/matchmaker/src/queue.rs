//! The `mm` bucket (memory, created at start when missing): tickets under `ticket.{uid}`
//! and closed connections under `gone.{conn}`. Every change that could race another
//! replica, a user's other request or a disconnect is a compare-and-set on the key's
//! revision; a lost race is reported, never overwritten.

use crate::error::MmError;
use crate::settings::Settings;
use crate::ticket::{Claim, Ticket, gone_key, ticket_key};
use async_nats::jetstream::{self, kv, stream::StorageType};
use chorus_kit::Waits;
use std::time::Duration;

/// The bucket's name.
pub const BUCKET: &str = "mm";

/// A ticket as read, with the revision a compare-and-set must name.
pub type Held = (Ticket, u64);

/// The opened bucket.
#[derive(Clone)]
pub struct Queue {
    /// The bucket.
    pub kv: kv::Store,
    /// How long a closed connection is remembered.
    gone: Duration,
    /// Times each operation on the bucket (to nowhere until [`Queue::with_waits`]).
    waits: Waits,
}

impl Queue {
    /// Creates the bucket, or opens it when another replica was first.
    pub async fn open(js: &jetstream::Context, settings: &Settings) -> Result<Queue, MmError> {
        let config = kv::Config {
            bucket: BUCKET.into(),
            description: "Chorus matchmaking tickets (memory, expire by TTL)".into(),
            history: 1,
            max_age: settings.ticket_ttl,
            storage: StorageType::Memory,
            num_replicas: settings.replicas,
            // Expiries leave a marker, so every replica's view of the queue forgets them.
            limit_markers: Some(Duration::from_secs(60)),
            ..Default::default()
        };
        let kv = match js.create_key_value(config).await {
            Ok(kv) => kv,
            Err(create) => js
                .get_key_value(BUCKET)
                .await
                .map_err(|open| MmError::Bucket(format!("create: {create}; open: {open}")))?,
        };
        Ok(Queue {
            kv,
            gone: settings.gone,
            waits: Waits::default(),
        })
    }

    /// The same queue, timing its operations in `waits` (the worker's `Metrics::waits()`).
    pub fn with_waits(self, waits: Waits) -> Queue {
        Queue { waits, ..self }
    }

    /// `uid`'s ticket, if any.
    pub async fn ticket(&self, uid: &str) -> Result<Option<Held>, MmError> {
        let (ticket, revision) = self.slot(uid).await?;
        Ok(ticket.map(|t| (t, revision)))
    }

    /// `uid`'s ticket, if any, and the revision a write must name to replace it: that of the
    /// ticket, of its deletion (a cancel, a match) or 0 when the user never queued. A deleted
    /// key keeps a revision, so writing on 0 there would lose to a race nobody ran.
    pub async fn slot(&self, uid: &str) -> Result<(Option<Ticket>, u64), MmError> {
        let entry = self
            .waits
            .kv(BUCKET, "get", self.kv.entry(ticket_key(uid)))
            .await?;
        let Some(entry) = entry else {
            return Ok((None, 0));
        };
        if entry.operation != kv::Operation::Put {
            return Ok((None, entry.revision));
        }
        Ok((
            serde_json::from_slice::<Ticket>(&entry.value).ok(),
            entry.revision,
        ))
    }

    /// Writes `ticket` where `revision` is (0: where there is none). `Ok(None)`: the
    /// ticket changed meanwhile.
    pub async fn write(&self, ticket: &Ticket, revision: u64) -> Result<Option<u64>, MmError> {
        let key = ticket_key(&ticket.user);
        let updated = self.kv.update(&key, ticket.to_bytes(), revision);
        match self.waits.kv(BUCKET, "update", updated).await {
            Ok(rev) => Ok(Some(rev)),
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes `uid`'s ticket if it is still at `revision`; `false` when it changed.
    pub async fn remove(&self, uid: &str, revision: u64) -> Result<bool, MmError> {
        let deleted = self.kv.delete_expect_revision(ticket_key(uid), Some(revision));
        match self.waits.kv(BUCKET, "delete", deleted).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(false),
            Err(e) => Err(MmError::Kv(e.to_string())),
        }
    }

    /// Claims a ticket for replica `by` until `until` (unix ms); the new revision, or
    /// `None` when the ticket changed since `revision` was read.
    pub async fn claim(&self, held: &Held, by: &str, until: u64) -> Result<Option<u64>, MmError> {
        let mut ticket = held.0.clone();
        ticket.claim = Some(Claim { by: by.into(), until });
        self.write(&ticket, held.1).await
    }

    /// Lets a claimed ticket (at `revision`) wait again, keeping its place in time.
    pub async fn release(&self, ticket: &Ticket, revision: u64) -> Result<Option<u64>, MmError> {
        let mut ticket = ticket.clone();
        ticket.claim = None;
        self.write(&ticket, revision).await
    }

    /// Remembers that connection `conn` closed.
    pub async fn mark_gone(&self, conn: &str) -> Result<(), MmError> {
        let created = self.kv.create_with_ttl(gone_key(conn), "".into(), self.gone);
        match self.waits.kv(BUCKET, "create", created).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether connection `conn` has closed.
    pub async fn is_gone(&self, conn: &str) -> Result<bool, MmError> {
        let entry = self
            .waits
            .kv(BUCKET, "get", self.kv.entry(gone_key(conn)))
            .await?;
        Ok(entry.is_some_and(|e| e.operation == kv::Operation::Put))
    }
}
