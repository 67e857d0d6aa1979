//! The two JetStream KV buckets, created at start when missing (any replica may be first)
//! and checked when they exist: `chat` (messages) and `chat-channels` (who owns, belongs to
//! and is muted in each channel). Both are memory-only: chat never touches a disk. A bucket
//! someone made on file storage is refused rather than used.

use crate::settings::Settings;
use async_nats::jetstream::context::{CreateKeyValueError, KeyValueError};
use async_nats::jetstream::{self, kv, stream::StorageType};
use std::time::Duration;

/// The messages bucket.
pub const CHAT: &str = "chat";
/// The channels bucket.
pub const CHANNELS: &str = "chat-channels";

/// Why the buckets could not be opened; the worker does not start.
#[derive(Debug, thiserror::Error)]
pub enum BucketError {
    /// Creating a bucket failed and none exists.
    #[error("creating KV bucket {bucket}: {create}; opening it: {open}")]
    Open {
        /// Which bucket.
        bucket: &'static str,
        /// Why it could not be created.
        create: CreateKeyValueError,
        /// Why it could not be opened.
        open: KeyValueError,
    },
    /// The bucket exists on file storage.
    #[error("KV bucket {0} exists with file storage; chat must stay in memory: delete the bucket")]
    NotInMemory(&'static str),
    /// The `chat` bucket exists without per-message TTLs, which edits need.
    #[error("KV bucket {CHAT} exists without per-message TTLs (limit markers): delete the bucket")]
    NoMessageTtl,
}

/// The opened buckets.
pub struct Buckets {
    /// Messages, under `ch.{channel}.{id}` and `dm.{lo}.{hi}.{id}`.
    pub chat: kv::Store,
    /// Channels, under their names.
    pub channels: kv::Store,
    /// How long messages live in `chat` as it really is (it may predate our settings).
    pub ttl: Duration,
}

impl Buckets {
    /// Creates or opens both buckets.
    pub async fn open(js: &jetstream::Context, settings: &Settings) -> Result<Buckets, BucketError> {
        let chat = open(
            js,
            CHAT,
            kv::Config {
                bucket: CHAT.into(),
                description: "Chorus chat messages (memory only, expire by TTL)".into(),
                history: 1,
                max_age: settings.ttl,
                max_bytes: settings.max_bytes,
                storage: StorageType::Memory,
                num_replicas: settings.replicas,
                limit_markers: Some(settings.marker_ttl),
                ..Default::default()
            },
        )
        .await?;
        let config = &chat.stream.cached_info().config;
        if !config.allow_message_ttl {
            return Err(BucketError::NoMessageTtl);
        }
        let ttl = config.max_age;
        if ttl != settings.ttl {
            tracing::warn!(
                bucket = CHAT,
                ttl_secs = ttl.as_secs(),
                "the bucket exists with another TTL; messages live as long as it says"
            );
        }
        let channels = open(
            js,
            CHANNELS,
            kv::Config {
                bucket: CHANNELS.into(),
                description: "Chorus chat channels: owner, members, mutes".into(),
                history: 1,
                max_bytes: settings.channels_max_bytes,
                storage: StorageType::Memory,
                num_replicas: settings.replicas,
                ..Default::default()
            },
        )
        .await?;
        Ok(Buckets { chat, channels, ttl })
    }
}

/// Creates `bucket`, or opens it when it exists (perhaps with other limits), and checks it
/// is in memory.
async fn open(
    js: &jetstream::Context,
    bucket: &'static str,
    config: kv::Config,
) -> Result<kv::Store, BucketError> {
    let store = match js.create_key_value(config).await {
        Ok(store) => store,
        Err(create) => {
            js.get_key_value(bucket)
                .await
                .map_err(|open| BucketError::Open { bucket, create, open })?
        }
    };
    if store.stream.cached_info().config.storage != StorageType::Memory {
        return Err(BucketError::NotInMemory(bucket));
    }
    Ok(store)
}
