//! How a call reaches a room wherever it runs ([`route`]): to the local task when this
//! replica owns it; else forwarded on `int.rooms.room.{rid}`, which only the owner
//! subscribes to; and when nobody answers there (the owner died), this replica takes the
//! room over ([`take_over`]) once its lease has run out. A background scan ([`scan`]) takes
//! over orphaned rooms nobody calls, so their clocks (turn time limits) keep running.

use crate::call::{Ask, Call, Forwarded};
use crate::error::RoomsError;
use crate::lease::{self, Taken};
use crate::model::RoomMeta;
use crate::room::Room;
use crate::shared::Rooms;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// Starts `room`'s task here: subscribed to its forwarded calls before it is listed.
pub async fn start(rooms: &Arc<Rooms>, room: Room, rid: &str) -> Result<(), RoomsError> {
    let forwarded = rooms
        .nats
        .subscribe(format!("int.rooms.room.{rid}"))
        .await
        .map_err(RoomsError::bus)?;
    rooms.nats.flush().await.map_err(RoomsError::bus)?;
    let (tx, rx) = mpsc::channel(64);
    rooms.insert(rid, tx);
    tokio::spawn(room.run(rx, forwarded));
    Ok(())
}

/// Takes room `meta` over if its lease has run out. `Some(until)`: another replica
/// holds it until then (unix ms).
pub async fn take_over(rooms: &Arc<Rooms>, meta: RoomMeta) -> Result<Option<u64>, RoomsError> {
    let _one_at_a_time = rooms.one_takeover_at_a_time().await;
    if rooms.owns(&meta.room) {
        return Ok(None);
    }
    let s = &rooms.settings;
    match lease::acquire(&rooms.store, &meta.room, &s.replica, s.lease).await? {
        Taken::Held(until) => Ok(Some(until)),
        Taken::Ours(revision) => {
            let rid = meta.room.clone();
            let game = rooms.game(&meta.game)?;
            if game.meta().is_realtime() {
                crate::realtime::take_over(rooms, meta, revision).await?;
                tracing::info!(room = %rid, replica = %s.replica, "took the room over");
                return Ok(None);
            }
            let room = Room::rebuild(rooms.clone(), meta, game, revision).await?;
            start(rooms, room, &rid).await?;
            tracing::info!(room = %rid, replica = %s.replica, "took the room over");
            Ok(None)
        }
    }
}

/// `player`'s `ask` of room `rid`, answered by whichever replica owns it.
pub async fn route(rooms: &Arc<Rooms>, rid: &str, player: &str, ask: Ask) -> Result<Value, RoomsError> {
    let deadline = Instant::now() + rooms.settings.route_timeout;
    loop {
        if let Some(tx) = rooms.local(rid) {
            let (reply, answer) = oneshot::channel();
            let call = Call {
                player: player.to_string(),
                ask: ask.clone(),
                reply,
            };
            if tx.send(call).await.is_ok()
                && let Ok(answer) = answer.await
            {
                return answer;
            }
            rooms.forget(rid);
            continue;
        }
        if let Some(answer) = forward(rooms, rid, player, &ask).await {
            return answer;
        }
        let meta = rooms.store.meta(rid).await?.ok_or(RoomsError::NoSuchRoom)?;
        if meta.finished {
            return crate::finish::answer_finished(rooms, &meta, player, ask).await;
        }
        if let Some(until) = take_over(rooms, meta).await? {
            let now = Instant::now();
            if now >= deadline {
                return Err(RoomsError::NoOwner);
            }
            // The owner stopped answering; its lease runs out at `until`.
            let wait = Duration::from_millis(until.saturating_sub(crate::model::now_ms()) + 20);
            tokio::time::sleep(wait.min(deadline - now)).await;
        }
    }
}

/// Asks the owner on another replica; `None` when nobody answers.
async fn forward(rooms: &Rooms, rid: &str, player: &str, ask: &Ask) -> Option<Result<Value, RoomsError>> {
    let request = async_nats::Request::new()
        .payload(Forwarded::body(player, ask).into())
        .timeout(Some(rooms.settings.forward_timeout));
    let asked = rooms.nats.send_request(format!("int.rooms.room.{rid}"), request);
    match rooms.waits.nats("int.rooms.room", asked).await {
        Ok(msg) => Some(Forwarded::read(&msg.payload)),
        Err(e) => {
            tracing::debug!(room = rid, error = %e, "no owner answered");
            None
        }
    }
}

/// Every `settings.scan`, takes over the rooms whose owners died (their leases ran out).
pub async fn scan(rooms: Arc<Rooms>) -> Result<(), RoomsError> {
    let mut every = tokio::time::interval(rooms.settings.scan);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let orphans = match lease::orphans(&rooms.store, |rid| rooms.owns(rid)).await {
            Ok(orphans) => orphans,
            Err(e) => {
                tracing::warn!(error = %e, "looking for orphaned rooms");
                continue;
            }
        };
        for rid in orphans {
            let taken = match rooms.store.meta(&rid).await {
                Ok(Some(meta)) if !meta.finished => take_over(&rooms, meta).await.map(|_| ()),
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = taken {
                tracing::warn!(room = %rid, error = %e, "taking an orphaned room over");
            }
        }
    }
}
