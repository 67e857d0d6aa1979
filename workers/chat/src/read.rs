//! Reading: `history`, the newest live messages of a channel or of the caller's
//! conversation with one user, newest first, paged with `before` (an id). Guests may read
//! the lobby; other channels are for their members; a conversation for its two sides.

use crate::chat::Chat;
use crate::message::Message;
use crate::names::MsgId;
use chorus_kit::{Request, ServiceError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `history` input.
#[derive(Deserialize)]
pub struct HistoryRequest {
    /// A channel…
    channel: Option<String>,
    /// …or the other side of a conversation.
    dm: Option<String>,
    /// Only messages older than this id (the oldest of the previous page).
    before: Option<String>,
    /// How many, at most (bounded by the worker's maximum).
    limit: Option<usize>,
}

/// `history` output.
#[derive(Debug, Serialize)]
pub struct History {
    /// Newest first.
    pub messages: Vec<Message>,
}

/// `svc.chat.history`.
pub async fn history(chat: Arc<Chat>, req: Request, h: HistoryRequest) -> Result<History, ServiceError> {
    let caller = req.caller()?;
    let place = chat.place(caller, h.channel.as_deref(), h.dm.as_deref())?;
    let before = h.before.as_deref().map(MsgId::parse).transpose()?;
    let settings = &chat.settings;
    let limit = h
        .limit
        .unwrap_or(settings.history_limit)
        .clamp(1, settings.history_max.max(1));
    chat.may_read(caller, &place).await?;
    let messages = chat
        .messages
        .history(&place.keys(), before.as_ref(), limit)
        .await?;
    tracing::debug!(place = place.label(), n = messages.len(), "history read");
    Ok(History { messages })
}
