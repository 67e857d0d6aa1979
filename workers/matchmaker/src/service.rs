//! `svc.mm.join` and `svc.mm.leave`, and the method table.
//!
//! Joining again while waiting replaces the ticket (another game, another tab): the new
//! one starts its wait afresh. While a match is being made for the caller, both join and
//! leave answer `conflict`.

use crate::Matchmaker;
use crate::error::MmError;
use crate::ticket::{Ticket, now_ms};
use chorus_kit::{Empty, Request, Service};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `svc.mm.join`'s data.
#[derive(Debug, Deserialize)]
pub struct Join {
    /// The game to play.
    pub game: String,
}

/// `svc.mm.join`'s reply.
#[derive(Debug, Serialize)]
pub struct Joined {
    /// The ticket's id.
    pub ticket: String,
    /// The game.
    pub game: String,
    /// When the wait began, unix ms.
    pub queued_at: u64,
}

/// `svc.mm.leave`'s reply.
#[derive(Debug, Serialize)]
pub struct Left {
    /// Whether a waiting ticket was cancelled (`false`: there was none).
    pub left: bool,
}

/// The matchmaker's endpoints.
pub fn service(mm: Arc<Matchmaker>) -> Service<Arc<Matchmaker>> {
    Service::with_state("mm", mm)
        .method("join", join)
        .method("leave", leave)
}

/// Queues the caller for a game (replacing a ticket they have waiting).
async fn join(mm: Arc<Matchmaker>, req: Request, join: Join) -> Result<Joined, MmError> {
    let caller = req.caller()?;
    if mm.catalog.get(&join.game).is_none() {
        return Err(MmError::NoSuchGame);
    }
    let rated = caller.is_user();
    let rating = match rated {
        true => mm.peers.rating(&join.game, &caller.id).await,
        false => mm.settings.default_rating,
    };
    let ticket = Ticket {
        id: format!("{:016x}", rand::random::<u64>()),
        game: join.game,
        user: caller.id.clone(),
        name: caller.name.clone(),
        conn: caller.conn.clone(),
        rating,
        rated,
        queued_at: now_ms(),
        claim: None,
    };
    let revision = match mm.queue.slot(&caller.id).await? {
        (Some(old), _) if old.claimed(now_ms()) => return Err(MmError::BeingMatched),
        (_, rev) => rev,
    };
    let Some(revision) = mm.queue.write(&ticket, revision).await? else {
        return Err(MmError::BeingMatched); // changed under us: claimed, most likely
    };
    // The connection may have closed while this was in flight; its disconnect found no
    // ticket then, so the ticket goes now.
    if mm.queue.is_gone(&caller.conn).await? {
        mm.queue.remove(&caller.id, revision).await?;
        return Err(MmError::ConnectionClosed);
    }
    Ok(Joined {
        ticket: ticket.id,
        game: ticket.game,
        queued_at: ticket.queued_at,
    })
}

/// Cancels the caller's waiting ticket.
async fn leave(mm: Arc<Matchmaker>, req: Request, _: Empty) -> Result<Left, MmError> {
    let caller = req.caller()?;
    let Some((ticket, rev)) = mm.queue.ticket(&caller.id).await? else {
        return Ok(Left { left: false });
    };
    if ticket.claimed(now_ms()) || !mm.queue.remove(&caller.id, rev).await? {
        return Err(MmError::BeingMatched);
    }
    Ok(Left { left: true })
}
