//! `svc.presence.friends`: the caller's friends that are online now, as
//! `{"online":[{"id","name"}]}`. Signed-in users only.

use crate::notify::Notifier;
use crate::store::PresenceStore;
use chorus_kit::{Empty, Request, Service, ServiceError};
use serde::Serialize;

/// An online friend.
#[derive(Debug, Serialize)]
pub struct OnlineFriend {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// `svc.presence.friends`'s answer.
#[derive(Debug, Serialize)]
pub struct OnlineFriends {
    /// Friends with a live connection.
    pub online: Vec<OnlineFriend>,
}

async fn friends(
    (store, notifier): (PresenceStore, Notifier),
    req: Request,
    _: Empty,
) -> Result<OnlineFriends, ServiceError> {
    let caller = req.user()?;
    let friends = notifier
        .friends_of(&caller.id)
        .await
        .map_err(|e| ServiceError::new(chorus_protocol::ErrorCode::Unavailable, e.to_string()))?;
    let mut online = Vec::new();
    for id in friends {
        let record = store.user(&id).await.map_err(ServiceError::internal)?;
        if !record.conns.is_empty() {
            online.push(OnlineFriend {
                id,
                name: record.name,
            });
        }
    }
    Ok(OnlineFriends { online })
}

/// The `svc.presence.*` service, over the bucket and the way to ask for friends.
pub fn service(store: PresenceStore, notifier: Notifier) -> Service<(PresenceStore, Notifier)> {
    Service::with_state("presence", (store, notifier)).method("friends", friends)
}
