//! Writing: `send` (to a channel), `dm` (to one user), and the two commands on a message
//! that lives, `edit` and `retract` (its undo), both for its author only. Every write is
//! checked (rights, length, rate, mutes, blocks), stored in the `chat` bucket, and only
//! then fanned out, so whatever a reader receives, history has too.

use crate::chat::{Chat, now_ms};
use crate::message::{Author, Event, Message, Retracted};
use crate::messages::Written;
use crate::names::{ChannelName, MsgId, Place, user_id};
use chorus_kit::{Request, ServiceError};
use chorus_protocol::identity::GUEST_ID_PREFIX;
use serde::Deserialize;
use std::sync::Arc;

/// How many times an edit or a retraction is retried against concurrent writes of the
/// same message before giving up `conflict`.
const ATTEMPTS: usize = 8;

/// `send` input.
#[derive(Deserialize)]
pub struct Send {
    channel: String,
    text: String,
}

/// `dm` input.
#[derive(Deserialize)]
pub struct Dm {
    to: String,
    text: String,
}

/// `edit` input: the message (by place and id) and its new text.
#[derive(Deserialize)]
pub struct Edit {
    channel: Option<String>,
    dm: Option<String>,
    id: String,
    text: String,
}

/// `retract` input: the message, by place and id.
#[derive(Deserialize)]
pub struct Retract {
    channel: Option<String>,
    dm: Option<String>,
    id: String,
}

/// `svc.chat.send`: a message to a channel; the reply is the stored message.
pub async fn send(chat: Arc<Chat>, req: Request, s: Send) -> Result<Message, ServiceError> {
    let channel = ChannelName::parse(&s.channel)?;
    let caller = chat.writer(&req)?;
    chat.check_text(&s.text)?;
    chat.limit(&caller.id)?;
    let place = Place::Channel(channel.clone());
    chat.may_write(caller, &place).await?;
    let ts = now_ms();
    let message = Message {
        id: MsgId::new(ts).to_string(),
        channel: Some(channel.to_string()),
        to: None,
        author: Author {
            id: caller.id.clone(),
            name: caller.name.clone(),
        },
        text: s.text,
        ts,
        edited_ts: None,
    };
    store_and_fan_out(&chat, &place, message).await
}

/// `svc.chat.dm`: a message to one user, unless either blocks the other; the reply is the
/// stored message.
pub async fn dm(chat: Arc<Chat>, req: Request, d: Dm) -> Result<Message, ServiceError> {
    let caller = chat.writer(&req)?;
    let to = user_id(&d.to)?;
    if to == caller.id {
        return Err(ServiceError::bad_request("that is you"));
    }
    if to.starts_with(GUEST_ID_PREFIX) {
        return Err(ServiceError::forbidden("guests cannot receive direct messages"));
    }
    chat.check_text(&d.text)?;
    chat.limit(&caller.id)?;
    let place = Place::dm(&caller.id, to);
    chat.may_write(caller, &place).await?;
    let ts = now_ms();
    let message = Message {
        id: MsgId::new(ts).to_string(),
        channel: None,
        to: Some(to.to_string()),
        author: Author {
            id: caller.id.clone(),
            name: caller.name.clone(),
        },
        text: d.text,
        ts,
        edited_ts: None,
    };
    store_and_fan_out(&chat, &place, message).await
}

async fn store_and_fan_out(chat: &Chat, place: &Place, message: Message) -> Result<Message, ServiceError> {
    let id = MsgId::parse(&message.id).expect("a fresh id parses");
    chat.messages.create(&place.key(&id), &message).await?;
    tracing::debug!(place = place.label(), id = %id, "message stored");
    chat.fan_out(place, &Event::Send(message.clone())).await;
    Ok(message)
}

/// `svc.chat.edit`: new text for the caller's own live message. It keeps its id and its
/// time to live; the reply is the message as edited.
pub async fn edit(chat: Arc<Chat>, req: Request, e: Edit) -> Result<Message, ServiceError> {
    let caller = chat.writer(&req)?;
    let place = chat.place(caller, e.channel.as_deref(), e.dm.as_deref())?;
    let id = MsgId::parse(&e.id)?;
    chat.check_text(&e.text)?;
    chat.limit(&caller.id)?;
    chat.may_write(caller, &place).await?;
    let key = place.key(&id);
    for _ in 0..ATTEMPTS {
        let Some(stored) = chat.messages.get(&key).await? else {
            return Err(ServiceError::not_found("no such message"));
        };
        if stored.message.author.id != caller.id {
            return Err(ServiceError::forbidden("only its author may edit a message"));
        }
        let left = chat.left(&stored.message)?;
        let message = Message {
            text: e.text.clone(),
            edited_ts: Some(now_ms()),
            ..stored.message
        };
        if chat
            .messages
            .rewrite(&key, &message, stored.revision, left)
            .await?
            == Written::Done
        {
            tracing::debug!(place = place.label(), id = %id, "message edited");
            chat.fan_out(&place, &Event::Edit(message.clone())).await;
            return Ok(message);
        }
    }
    Err(ServiceError::conflict(
        "the message is changing too fast; try again",
    ))
}

/// `svc.chat.retract`: takes the caller's own live message back; it leaves history. The
/// reply says which message is gone.
pub async fn retract(chat: Arc<Chat>, req: Request, r: Retract) -> Result<Retracted, ServiceError> {
    let caller = chat.writer(&req)?;
    let place = chat.place(caller, r.channel.as_deref(), r.dm.as_deref())?;
    let id = MsgId::parse(&r.id)?;
    let key = place.key(&id);
    for _ in 0..ATTEMPTS {
        let Some(stored) = chat.messages.get(&key).await? else {
            return Err(ServiceError::not_found("no such message"));
        };
        if stored.message.author.id != caller.id {
            return Err(ServiceError::forbidden("only its author may retract a message"));
        }
        if chat.messages.remove(&key, stored.revision).await? == Written::Done {
            tracing::debug!(place = place.label(), id = %id, "message retracted");
            let gone = stored.message.retracted();
            chat.fan_out(&place, &Event::Retract(gone.clone())).await;
            return Ok(gone);
        }
    }
    Err(ServiceError::conflict(
        "the message is changing too fast; try again",
    ))
}
