//! The KV bucket `grants` (key: user id): grants kept so they hold across reconnects to
//! any bridge. A session loads its user's grants when it starts; one bridge of a queue
//! group writes each grant or revoke, by compare-and-set.

use async_nats::jetstream::{self, kv};
use chorus_protocol::grant::Grant;
use std::time::Duration;

/// The KV bucket holding grants.
pub const BUCKET: &str = "grants";

/// Why the grant store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum GrantStoreError {
    /// JetStream refused to create the bucket (it may be down or out of memory).
    #[error("creating the KV bucket {BUCKET}: {0}")]
    Create(#[from] jetstream::context::CreateKeyValueError),
}

/// Grants kept in KV.
#[derive(Clone)]
pub struct GrantStore {
    kv: kv::Store,
}

impl GrantStore {
    /// Opens the bucket, creating it (in memory, one value per key) when missing.
    pub async fn open(nats: async_nats::Client) -> Result<GrantStore, GrantStoreError> {
        let js = jetstream::new(nats);
        let kv = match js.get_key_value(BUCKET).await {
            Ok(kv) => kv,
            Err(_) => {
                js.create_key_value(kv::Config {
                    bucket: BUCKET.into(),
                    description: "Chorus grants by user id".into(),
                    history: 1,
                    max_age: Duration::from_secs(7 * 24 * 3600),
                    storage: jetstream::stream::StorageType::Memory,
                    ..Default::default()
                })
                .await?
            }
        };
        Ok(GrantStore { kv })
    }

    /// The user's grants still valid at `now`.
    pub async fn load(&self, uid: &str, now: u64) -> Vec<Grant> {
        match self.kv.get(uid).await {
            Ok(Some(bytes)) => serde_json::from_slice::<Vec<Grant>>(&bytes)
                .unwrap_or_default()
                .into_iter()
                .filter(|g| g.expires_at > now)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Changes the user's grants with compare-and-set, retrying on conflicts.
    pub async fn modify(&self, uid: &str, now: u64, change: impl Fn(Vec<Grant>) -> Vec<Grant>) {
        for _ in 0..10 {
            let entry = self
                .kv
                .entry(uid)
                .await
                .ok()
                .flatten()
                .filter(|e| e.operation == kv::Operation::Put);
            let current: Vec<Grant> = entry
                .as_ref()
                .and_then(|e| serde_json::from_slice(&e.value).ok())
                .unwrap_or_default();
            let next: Vec<Grant> = change(current)
                .into_iter()
                .filter(|g| g.expires_at > now)
                .collect();
            let value = serde_json::to_vec(&next).expect("grants serialize").into();
            let written = match &entry {
                Some(e) => self.kv.update(uid, value, e.revision).await.is_ok(),
                None => self.kv.create(uid, value).await.is_ok(),
            };
            if written {
                return;
            }
        }
        tracing::warn!("grant store: gave up after repeated conflicts");
    }
}
