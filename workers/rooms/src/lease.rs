//! Owner leases: `lease.{rid}` in the `rooms` bucket says which replica runs a room and
//! until when. Taking, renewing and giving one back are compare-and-set on the key's
//! revision, so at most one replica holds a live lease. A replica that dies stops renewing;
//! once the lease has run out any replica may take the room over. (The log's own
//! compare-and-set keeps even a paused ex-owner from forking the room.)

use crate::error::RoomsError;
use crate::model::now_ms;
use async_nats::jetstream::kv;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What a lease says.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Holder {
    /// The replica holding it.
    owner: String,
    /// When it runs out, unix ms.
    until_ms: u64,
}

fn key(rid: &str) -> String {
    format!("lease.{rid}")
}

/// The outcome of trying to take a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// It is ours; the lease is at this revision.
    Ours(u64),
    /// Another replica holds it until this unix ms.
    Held(u64),
}

/// Takes room `rid` for `me` for `ttl` if nobody else holds a live lease on it.
pub async fn acquire(kv: &kv::Store, rid: &str, me: &str, ttl: Duration) -> Result<Taken, RoomsError> {
    let body = |until_ms| {
        serde_json::to_vec(&Holder {
            owner: me.into(),
            until_ms,
        })
        .expect("serializes")
    };
    let now = now_ms();
    let until = now + ttl.as_millis() as u64;
    match kv.entry(key(rid)).await.map_err(RoomsError::bus)? {
        Some(entry) if entry.operation == kv::Operation::Put => {
            let holder: Holder = serde_json::from_slice(&entry.value).map_err(RoomsError::bus)?;
            if holder.owner != me && holder.until_ms > now {
                return Ok(Taken::Held(holder.until_ms));
            }
            match kv.update(key(rid), body(until).into(), entry.revision).await {
                Ok(revision) => Ok(Taken::Ours(revision)),
                Err(_) => Ok(Taken::Held(now + ttl.as_millis() as u64)),
            }
        }
        _ => match kv.create(key(rid), body(until).into()).await {
            Ok(revision) => Ok(Taken::Ours(revision)),
            Err(_) => Ok(Taken::Held(now + ttl.as_millis() as u64)),
        },
    }
}

/// Extends `me`'s lease at `revision`; `None` when it is no longer ours.
pub async fn renew(kv: &kv::Store, rid: &str, me: &str, ttl: Duration, revision: u64) -> Option<u64> {
    let until_ms = now_ms() + ttl.as_millis() as u64;
    let body = serde_json::to_vec(&Holder {
        owner: me.into(),
        until_ms,
    })
    .expect("serializes");
    kv.update(key(rid), body.into(), revision).await.ok()
}

/// Gives room `rid` up (it finished): the key goes, if still ours.
pub async fn release(kv: &kv::Store, rid: &str, revision: u64) {
    if let Err(e) = kv.delete_expect_revision(key(rid), Some(revision)).await {
        tracing::debug!(room = rid, error = %e, "the lease was not ours to release");
    }
}

/// Rooms whose lease has run out (their owner died), not counting `mine`.
pub async fn orphans(kv: &kv::Store, mine: impl Fn(&str) -> bool) -> Result<Vec<String>, RoomsError> {
    use futures_util::TryStreamExt;
    let keys: Vec<String> = kv
        .keys()
        .await
        .map_err(RoomsError::bus)?
        .try_collect()
        .await
        .map_err(RoomsError::bus)?;
    let now = now_ms();
    let mut found = Vec::new();
    for rid in keys.iter().filter_map(|k| k.strip_prefix("lease.")) {
        if mine(rid) {
            continue;
        }
        let Ok(Some(value)) = kv.get(key(rid)).await else {
            continue;
        };
        if let Ok(holder) = serde_json::from_slice::<Holder>(&value)
            && holder.until_ms <= now
        {
            found.push(rid.to_string());
        }
    }
    Ok(found)
}
