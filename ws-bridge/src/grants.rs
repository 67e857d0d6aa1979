//! Grants, revokes and kicks from workers (`ctl.grant.{uid}`, `ctl.revoke.{uid}`,
//! `ctl.kick.{uid}`). Every bridge hands them to its live sessions of that user; one
//! bridge of the queue group `chorus-bridge-grants` also records grants and revokes in the
//! [`grant_store`](crate::grant_store), from which a session loads its grants when it
//! starts, so they hold across reconnects to any bridge.

use crate::command::Command;
use crate::shared::Shared;
use chorus_protocol::grant::{Grant, Kick, Revoke};
use chorus_protocol::identity::GUEST_ID_PREFIX;
use futures_util::StreamExt;
use std::sync::Arc;

/// The queue group whose one member persists each grant or revoke.
const PERSIST_QUEUE: &str = "chorus-bridge-grants";

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
