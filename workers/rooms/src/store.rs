//! Where rooms live in JetStream: the stream `ROOMS` (file storage) holds each room's log
//! on `rooms.log.{rid}`, one message per [`Entry`], appended with compare-and-set on the
//! subject's last sequence (`Nats-Expected-Last-Subject-Sequence`), so two replicas can
//! never both extend a room; the bucket `rooms` (file storage) holds `meta.{rid}` and the
//! owners' leases `lease.{rid}` and realtime rooms' snapshots `snap.{rid}`; the stream `EVENTS` (`evt.>`, file storage) carries
//! `evt.rooms.finished` to other workers, deduplicated by `Nats-Msg-Id`.
//!
//! Every call is timed through the kit's [`Waits`] on `chorus_worker_kv_seconds`: the
//! bucket's operations under `bucket="rooms"` (`create`, `get`, `put`, `entry`, `update`,
//! `delete`, `keys`), the log's under `bucket="ROOMS"` (`append`, `read`) and the finished
//! event's under `bucket="EVENTS"` (`publish`).

use crate::error::RoomsError;
use crate::model::{Entry, RoomMeta};
use crate::settings::Settings;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{self, DirectGetErrorKind, StorageType};
use async_nats::jetstream::{self, kv};
use chorus_kit::Waits;
use std::time::Duration;

/// The stream of room logs.
pub const LOG_STREAM: &str = "ROOMS";
/// The bucket of room metadata and leases.
pub const BUCKET: &str = "rooms";
/// The stream of workers' events (shared with the store worker, same config).
pub const EVENTS_STREAM: &str = "EVENTS";
/// Where a finished room is told.
pub const FINISHED: &str = "evt.rooms.finished";
/// How long `EVENTS` keeps a message, and how long duplicates are recognised.
const EVENTS_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
const EVENTS_DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// The subject of room `rid`'s log.
pub fn log_subject(rid: &str) -> String {
    format!("rooms.log.{rid}")
}

/// A realtime room's state at a tick (`snap.{rid}` in the bucket).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Snapshot {
    /// The tick the state is at.
    pub tick: u64,
    /// The stream sequence of the log's last entry then (0: none).
    pub after: u64,
    /// The state.
    pub state: serde_json::Value,
}

/// Why an append failed.
#[derive(Debug)]
pub enum AppendError {
    /// Someone else appended first: this replica no longer owns the room.
    Lost,
    /// The bus failed.
    Bus(String),
}

/// The opened stream and bucket.
#[derive(Clone)]
pub struct Store {
    /// JetStream.
    pub js: jetstream::Context,
    /// The `ROOMS` stream.
    log: jetstream::stream::Stream,
    /// The `rooms` bucket.
    pub kv: kv::Store,
    /// Times every call on the stream and the bucket (the worker's `/metrics`).
    pub waits: Waits,
}

impl Store {
    /// Creates (or opens) the stream, the bucket and `EVENTS`; its calls are timed in `waits`.
    pub async fn open(
        nats: async_nats::Client,
        settings: &Settings,
        waits: Waits,
    ) -> Result<Store, RoomsError> {
        let js = jetstream::new(nats);
        let log = js
            .get_or_create_stream(stream::Config {
                name: LOG_STREAM.into(),
                description: Some("Chorus room logs: one message per accepted input".into()),
                subjects: vec!["rooms.log.*".into()],
                storage: StorageType::File,
                num_replicas: settings.replicas,
                max_age: settings.log_max_age,
                allow_direct: true,
                ..Default::default()
            })
            .await
            .map_err(RoomsError::bus)?;
        let config = kv::Config {
            bucket: BUCKET.into(),
            description: "Chorus rooms: metadata and owner leases".into(),
            history: 1,
            storage: StorageType::File,
            num_replicas: settings.replicas,
            ..Default::default()
        };
        let kv = match js.create_key_value(config).await {
            Ok(kv) => kv,
            Err(_) => js.get_key_value(BUCKET).await.map_err(RoomsError::bus)?,
        };
        js.get_or_create_stream(stream::Config {
            name: EVENTS_STREAM.into(),
            subjects: vec!["evt.>".into()],
            storage: StorageType::File,
            max_age: EVENTS_MAX_AGE,
            duplicate_window: EVENTS_DUPLICATE_WINDOW,
            ..Default::default()
        })
        .await
        .map_err(RoomsError::bus)?;
        Ok(Store { js, log, kv, waits })
    }

    /// Records a new room; fails if the id exists.
    pub async fn create_meta(&self, meta: &RoomMeta) -> Result<(), RoomsError> {
        let body = serde_json::to_vec(meta).expect("meta serializes");
        let created = self.kv.create(format!("meta.{}", meta.room), body.into());
        self.waits
            .kv(BUCKET, "create", created)
            .await
            .map(|_| ())
            .map_err(RoomsError::bus)
    }

    /// Room `rid`'s metadata, if it exists.
    pub async fn meta(&self, rid: &str) -> Result<Option<RoomMeta>, RoomsError> {
        let Some(bytes) = self
            .waits
            .kv(BUCKET, "get", self.kv.get(format!("meta.{rid}")))
            .await
            .map_err(RoomsError::bus)?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(RoomsError::bus)
    }

    /// Writes room `meta` as its owner changed it (who steers which seat).
    pub async fn put_meta(&self, meta: &RoomMeta) -> Result<(), RoomsError> {
        let body = serde_json::to_vec(meta).expect("meta serializes");
        let put = self.kv.put(format!("meta.{}", meta.room), body.into());
        self.waits
            .kv(BUCKET, "put", put)
            .await
            .map(|_| ())
            .map_err(RoomsError::bus)
    }

    /// Marks room `meta` finished: it is in Postgres now.
    pub async fn mark_finished(&self, meta: &RoomMeta) -> Result<(), RoomsError> {
        self.put_meta(&RoomMeta {
            finished: true,
            ..meta.clone()
        })
        .await
    }

    /// Appends `entry` to `rid`'s log if the log's last message is still `last` (its stream
    /// sequence; 0: the log is empty). Returns the new message's stream sequence.
    pub async fn append(&self, rid: &str, last: u64, entry: &Entry) -> Result<u64, AppendError> {
        let body = serde_json::to_vec(entry).expect("entries serialize");
        let publish = PublishMessage::build()
            .payload(body.into())
            .expected_last_subject_sequence(last);
        let acked = async {
            self.js
                .send_publish(log_subject(rid), publish)
                .await
                .map_err(|e| (e.kind(), e.to_string()))?
                .await
                .map_err(|e| (e.kind(), e.to_string()))
        };
        match self.waits.kv(LOG_STREAM, "append", acked).await {
            Ok(ack) => Ok(ack.sequence),
            Err((PublishErrorKind::WrongLastSequence, _)) => Err(AppendError::Lost),
            Err((_, e)) => Err(AppendError::Bus(e)),
        }
    }

    /// Keeps a realtime room's snapshot: its `state` (JSON) after tick `tick`, when the
    /// log's last entry was at stream sequence `after`.
    pub async fn put_snapshot(
        &self,
        rid: &str,
        tick: u64,
        after: u64,
        state: &[u8],
    ) -> Result<(), RoomsError> {
        let mut body = format!("{{\"tick\":{tick},\"after\":{after},\"state\":").into_bytes();
        body.extend_from_slice(state);
        body.push(b'}');
        let put = self.kv.put(format!("snap.{rid}"), body.into());
        self.waits
            .kv(BUCKET, "put", put)
            .await
            .map(|_| ())
            .map_err(RoomsError::bus)
    }

    /// A realtime room's last snapshot, if it has one.
    pub async fn snapshot(&self, rid: &str) -> Result<Option<Snapshot>, RoomsError> {
        match self
            .waits
            .kv(BUCKET, "get", self.kv.get(format!("snap.{rid}")))
            .await
            .map_err(RoomsError::bus)?
        {
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(RoomsError::bus),
            None => Ok(None),
        }
    }

    /// `rid`'s log entries after stream sequence `after`, with their stream sequences.
    pub async fn read_log(&self, rid: &str, after: u64) -> Result<Vec<(u64, Entry)>, RoomsError> {
        self.waits
            .kv(LOG_STREAM, "read", self.read_log_untimed(rid, after))
            .await
    }

    /// [`Store::read_log`], untimed.
    async fn read_log_untimed(&self, rid: &str, after: u64) -> Result<Vec<(u64, Entry)>, RoomsError> {
        let subject = log_subject(rid);
        let mut entries = Vec::new();
        let mut from = after + 1;
        loop {
            match self
                .log
                .direct_get_next_for_subject(subject.clone(), Some(from))
                .await
            {
                Ok(msg) => {
                    let entry: Entry = serde_json::from_slice(&msg.payload).map_err(RoomsError::bus)?;
                    from = msg.sequence + 1;
                    entries.push((msg.sequence, entry));
                }
                Err(e) if e.kind() == DirectGetErrorKind::NotFound => return Ok(entries),
                Err(e) => return Err(RoomsError::bus(e)),
            }
        }
    }

    /// Publishes `body` on `evt.rooms.finished` into `EVENTS`, once per room (duplicates
    /// within the window are dropped by the server).
    pub async fn publish_finished(&self, rid: &str, body: &serde_json::Value) -> Result<(), RoomsError> {
        let publish = PublishMessage::build()
            .payload(serde_json::to_vec(body).expect("serializes").into())
            .message_id(format!("rooms-finished-{rid}"));
        let acked = async {
            self.js
                .send_publish(FINISHED, publish)
                .await
                .map_err(RoomsError::bus)?
                .await
                .map_err(RoomsError::bus)
        };
        self.waits.kv(EVENTS_STREAM, "publish", acked).await?;
        Ok(())
    }
}
