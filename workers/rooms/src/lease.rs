//! Owner leases: `lease.{rid}` in the `rooms` bucket says which replica runs a room and
//! until when. Taking, renewing and giving one back are compare-and-set on the key's
//! revision, so at most one replica holds a live lease. A replica that dies stops renewing;
//! once the lease has run out any replica may take the room over. (The log's own
//! compare-and-set keeps even a paused ex-owner from forking the room.)

use crate::error::RoomsError;
use crate::model::now_ms;
use crate::store::{BUCKET, Store};
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
pub async fn acquire(store: &Store, rid: &str, me: &str, ttl: Duration) -> Result<Taken, RoomsError> {
    let body = |until_ms| {
        serde_json::to_vec(&Holder {
            owner: me.into(),
            until_ms,
        })
        .expect("serializes")
    };
    let now = now_ms();
    let until = now + ttl.as_millis() as u64;
    let (kv, waits) = (&store.kv, &store.waits);
    match waits
        .kv(BUCKET, "entry", kv.entry(key(rid)))
        .await
        .map_err(RoomsError::bus)?
    {
        Some(entry) if entry.operation == kv::Operation::Put => {
            let holder: Holder = serde_json::from_slice(&entry.value).map_err(RoomsError::bus)?;
            if holder.owner != me && holder.until_ms > now {
                return Ok(Taken::Held(holder.until_ms));
            }
            let updated = kv.update(key(rid), body(until).into(), entry.revision);
            match waits.kv(BUCKET, "update", updated).await {
                Ok(revision) => Ok(Taken::Ours(revision)),
                Err(_) => Ok(Taken::Held(now + ttl.as_millis() as u64)),
            }
        }
        _ => match waits
            .kv(BUCKET, "create", kv.create(key(rid), body(until).into()))
            .await
        {
            Ok(revision) => Ok(Taken::Ours(revision)),
            Err(_) => Ok(Taken::Held(now + ttl.as_millis() as u64)),
        },
    }
}

/// Extends `me`'s lease at `revision`; `None` when it is no longer ours.
pub async fn renew(store: &Store, rid: &str, me: &str, ttl: Duration, revision: u64) -> Option<u64> {
    let until_ms = now_ms() + ttl.as_millis() as u64;
    let body = serde_json::to_vec(&Holder {
        owner: me.into(),
        until_ms,
    })
    .expect("serializes");
    let updated = store.kv.update(key(rid), body.into(), revision);
    store.waits.kv(BUCKET, "update", updated).await.ok()
}

/// Gives room `rid` up (it finished): the key goes, if still ours.
pub async fn release(store: &Store, rid: &str, revision: u64) {
    let deleted = store.kv.delete_expect_revision(key(rid), Some(revision));
    if let Err(e) = store.waits.kv(BUCKET, "delete", deleted).await {
        tracing::debug!(room = rid, error = %e, "the lease was not ours to release");
    }
}

/// Rooms whose lease has run out (their owner died), not counting `mine`.
pub async fn orphans(store: &Store, mine: impl Fn(&str) -> bool) -> Result<Vec<String>, RoomsError> {
    use futures_util::TryStreamExt;
    let (kv, waits) = (&store.kv, &store.waits);
    let listed = async {
        kv.keys()
            .await
            .map_err(RoomsError::bus)?
            .try_collect()
            .await
            .map_err(RoomsError::bus)
    };
    let keys: Vec<String> = waits.kv(BUCKET, "keys", listed).await?;
    let now = now_ms();
    let mut found = Vec::new();
    for rid in keys.iter().filter_map(|k| k.strip_prefix("lease.")) {
        if mine(rid) {
            continue;
        }
        let Ok(Some(value)) = waits.kv(BUCKET, "get", kv.get(key(rid))).await else {
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
