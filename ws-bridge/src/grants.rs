//! Grants, revokes and kicks from workers (`ctl.grant.{uid}`, `ctl.revoke.{uid}`,
//! `ctl.kick.{uid}`). Every bridge applies them to its live sessions of that user; one
//! bridge of the queue group `chorus-bridge-grants` also records grants and revokes in the
//! KV bucket `grants` (key: user id), from which a session loads its grants when it starts,
//! so they hold across reconnects to any bridge.

use crate::server::Shared;
use async_nats::jetstream::{self, kv};
use chorus_protocol::grant::{Grant, Kick, Revoke};
use chorus_protocol::identity::GUEST_ID_PREFIX;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;

/// The KV bucket holding grants.
pub const BUCKET: &str = "grants";
/// The queue group whose one member persists each grant or revoke.
const PERSIST_QUEUE: &str = "chorus-bridge-grants";

/// A change to a live session's rights.
#[derive(Debug, Clone)]
pub enum Command {
    /// New rights.
    Grant(Grant),
    /// Rights taken back.
    Revoke(Vec<String>),
    /// Close the session (unless it is the one spared).
    Kick(Kick),
}

/// Grants kept in KV.
#[derive(Clone)]
pub struct GrantStore {
    kv: kv::Store,
}

impl GrantStore {
    /// Opens the bucket, creating it (in memory, one value per key) when missing.
    pub async fn open(nats: async_nats::Client) -> Result<GrantStore, String> {
        let js = jetstream::new(nats);
        let kv = match js.get_key_value(BUCKET).await {
            Ok(kv) => kv,
            Err(_) => js
                .create_key_value(kv::Config {
                    bucket: BUCKET.into(),
                    description: "Chorus grants by user id".into(),
                    history: 1,
                    max_age: Duration::from_secs(7 * 24 * 3600),
                    storage: jetstream::stream::StorageType::Memory,
                    ..Default::default()
                })
                .await
                .map_err(|e| e.to_string())?,
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
    async fn modify(&self, uid: &str, now: u64, change: impl Fn(Vec<Grant>) -> Vec<Grant>) {
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

/// Listens on the control subjects until shutdown.
pub async fn listen(shared: Arc<Shared>) {
    let subscribe = |subject: &'static str| shared.nats.subscribe(subject);
    let queue = |subject: &'static str| shared.nats.queue_subscribe(subject, PERSIST_QUEUE.to_string());
    let (Ok(grants), Ok(revokes), Ok(kicks), Ok(persist_grants), Ok(persist_revokes)) = (
        subscribe("ctl.grant.*").await,
        subscribe("ctl.revoke.*").await,
        subscribe("ctl.kick.*").await,
        queue("ctl.grant.*").await,
        queue("ctl.revoke.*").await,
    ) else {
        tracing::error!("could not subscribe to the control subjects");
        return;
    };
    let tag = |s: async_nats::Subscriber, persist: bool| s.map(move |m| (persist, m)).boxed();
    let mut all = futures_util::stream::select_all([
        tag(grants, false),
        tag(revokes, false),
        tag(kicks, false),
        tag(persist_grants, true),
        tag(persist_revokes, true),
    ]);
    loop {
        let (persist, msg) = tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            next = all.next() => match next {
                Some(next) => next,
                None => return,
            },
        };
        let mut tokens = msg.subject.as_str().splitn(3, '.');
        let (kind, uid) = (tokens.nth(1).unwrap_or(""), tokens.next().unwrap_or(""));
        let command = match kind {
            "grant" => serde_json::from_slice::<Grant>(&msg.payload)
                .ok()
                .filter(|g| g.validate().is_ok())
                .map(Command::Grant),
            "revoke" => serde_json::from_slice::<Revoke>(&msg.payload)
                .ok()
                .map(|r| Command::Revoke(r.patterns)),
            "kick" => serde_json::from_slice::<Kick>(&msg.payload)
                .ok()
                .map(Command::Kick),
            _ => None,
        };
        let Some(command) = command else {
            tracing::warn!(subject = %msg.subject, "ignored an invalid control message");
            continue;
        };
        if !persist {
            shared.sessions.command(uid, command);
        } else if !uid.starts_with(GUEST_ID_PREFIX) {
            // A guest's grants are applied live but not kept: the id dies with its connection.
            let (shared, uid) = (shared.clone(), uid.to_string());
            tokio::spawn(async move { persist_command(&shared, &uid, command).await });
        }
    }
}

async fn persist_command(shared: &Shared, uid: &str, command: Command) {
    let Some(store) = shared.grants().await else {
        return;
    };
    let now = chorus_runtime::clock::unix_now();
    match command {
        Command::Grant(grant) => {
            store
                .modify(uid, now, |mut grants| {
                    grants.push(grant.clone());
                    grants
                })
                .await
        }
        Command::Revoke(patterns) => {
            store
                .modify(uid, now, |grants| {
                    grants.iter().filter_map(|g| g.without(&patterns)).collect()
                })
                .await
        }
        Command::Kick(_) => {}
    }
}
