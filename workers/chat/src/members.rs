//! Channels beyond the lobby: `join` (which makes the channel, owned by the caller, when it
//! does not exist) and `leave`, which open and close the door to `chat.{channel}` with a
//! grant and a revoke; `mute` and `unmute`, for the owner only. The lobby needs none of
//! this: everyone reads it, every signed-in user writes in it, and nobody owns it.

use crate::channels::{Change, Channel};
use crate::chat::{Chat, now_ms};
use crate::names::{ChannelName, user_id};
use chorus_kit::{Request, ServiceError};
use chorus_protocol::ErrorCode;
use chorus_protocol::grant::Grant;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

/// `join` and `leave` input.
#[derive(Deserialize)]
pub struct ChannelRequest {
    channel: String,
}

/// `mute` input: the member, and for how long (seconds; the worker's default if absent).
#[derive(Deserialize)]
pub struct MuteRequest {
    channel: String,
    user: String,
    secs: Option<u64>,
}

/// `unmute` input.
#[derive(Deserialize)]
pub struct UnmuteRequest {
    channel: String,
    user: String,
}

/// `join` output.
#[derive(Debug, Serialize)]
pub struct Joined {
    /// The channel.
    pub channel: String,
    /// Its owner.
    pub owner: String,
    /// How many members it has.
    pub members: usize,
    /// When the grant to read `chat.{channel}` ends (unix seconds): join again before then.
    pub expires_at: u64,
}

/// `mute` output.
#[derive(Debug, Serialize)]
pub struct Muted {
    /// The channel.
    pub channel: String,
    /// The muted member.
    pub user: String,
    /// When the mute ends, unix milliseconds.
    pub until: u64,
}

fn not_lobby(channel: &str) -> Result<ChannelName, ServiceError> {
    let channel = ChannelName::parse(channel)?;
    if channel.is_lobby() {
        return Err(ServiceError::bad_request(
            "everyone is in the lobby; it needs no joining",
        ));
    }
    Ok(channel)
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> ServiceError {
    tracing::warn!(error = %e, "{what} not sent");
    ServiceError::new(ErrorCode::Unavailable, "try again")
}

/// `svc.chat.join`: makes the caller a member (and the owner of a new channel), and grants
/// them `chat.{channel}`. Joining again renews the grant.
pub async fn join(chat: Arc<Chat>, req: Request, j: ChannelRequest) -> Result<Joined, ServiceError> {
    let channel = not_lobby(&j.channel)?;
    let caller = chat.writer(&req)?;
    let (uid, max) = (caller.id.as_str(), chat.settings.max_members);
    let ch = chat
        .channels
        .change(channel.as_str(), |current| {
            let Some(mut ch) = current else {
                let ch = Channel::new(uid);
                return Ok((Change::Put(ch.clone()), ch));
            };
            if ch.is_member(uid) {
                return Ok((Change::Keep, ch));
            }
            if ch.members.len() >= max {
                return Err(ServiceError::forbidden("the channel is full"));
            }
            ch.members.push(uid.to_string());
            Ok((Change::Put(ch.clone()), ch))
        })
        .await?;
    let expires_at = now_ms() / 1000 + chat.settings.grant_ttl.as_secs().max(1);
    let grant = Grant::builder()
        .subscribe(&channel.subject())
        .expires_at(expires_at)
        .build()
        .map_err(ServiceError::internal)?;
    chorus_kit::ctl::grant(&chat.nats, uid, &grant)
        .await
        .map_err(|e| unavailable("grant", e))?;
    tracing::debug!(channel = %channel, "joined");
    Ok(Joined {
        channel: channel.to_string(),
        owner: ch.owner,
        members: ch.members.len(),
        expires_at,
    })
}

/// `svc.chat.leave`: the caller is no longer a member and loses `chat.{channel}`. When the
/// owner leaves, the longest-standing member owns the channel; when the last member leaves,
/// it is gone. Leaving a channel one is not in is not an error.
pub async fn leave(chat: Arc<Chat>, req: Request, l: ChannelRequest) -> Result<Value, ServiceError> {
    let channel = not_lobby(&l.channel)?;
    let caller = chat.writer(&req)?;
    let uid = caller.id.as_str();
    chat.channels
        .change(channel.as_str(), |current| {
            let Some(mut ch) = current.filter(|ch| ch.is_member(uid)) else {
                return Ok((Change::Keep, ()));
            };
            ch.members.retain(|m| m != uid);
            let Some(next) = ch.members.first() else {
                return Ok((Change::Delete, ()));
            };
            if ch.owner == uid {
                ch.owner = next.clone();
            }
            Ok((Change::Put(ch), ()))
        })
        .await?;
    chorus_kit::ctl::revoke(&chat.nats, uid, &[&channel.subject()])
        .await
        .map_err(|e| unavailable("revoke", e))?;
    tracing::debug!(channel = %channel, "left");
    Ok(json!({"ok": true}))
}

/// The channel and member a mute names, checked: the caller must own it, the member
/// belong to it.
fn owned_member(ch: Option<Channel>, owner: &str, user: &str) -> Result<Channel, ServiceError> {
    let ch = ch.ok_or_else(|| ServiceError::not_found("no such channel"))?;
    if ch.owner != owner {
        return Err(ServiceError::forbidden("only the channel's owner may do that"));
    }
    if !ch.is_member(user) {
        return Err(ServiceError::not_found("not a member of the channel"));
    }
    Ok(ch)
}

/// `svc.chat.mute`: the owner silences a member for `secs` (sends and edits there are
/// refused until then).
pub async fn mute(chat: Arc<Chat>, req: Request, m: MuteRequest) -> Result<Muted, ServiceError> {
    let channel = ChannelName::parse(&m.channel)?;
    let caller = chat.writer(&req)?;
    if channel.is_lobby() {
        return Err(ServiceError::forbidden("nobody owns the lobby"));
    }
    let user = user_id(&m.user)?;
    if user == caller.id {
        return Err(ServiceError::bad_request("that is you"));
    }
    let secs = m.secs.unwrap_or(chat.settings.mute.as_secs());
    let max = chat.settings.max_mute.as_secs();
    if secs == 0 || secs > max {
        return Err(ServiceError::bad_request(format!(
            "a mute lasts 1 to {max} seconds"
        )));
    }
    let now = now_ms();
    let until = now + secs * 1000;
    chat.channels
        .change(channel.as_str(), |current| {
            let mut ch = owned_member(current, &caller.id, user)?;
            ch.forget_mutes(now);
            ch.mutes.insert(user.to_string(), until);
            Ok((Change::Put(ch), ()))
        })
        .await?;
    tracing::debug!(channel = %channel, secs, "member muted");
    Ok(Muted {
        channel: channel.to_string(),
        user: user.to_string(),
        until,
    })
}

/// `svc.chat.unmute`: the owner lifts a member's mute.
pub async fn unmute(chat: Arc<Chat>, req: Request, u: UnmuteRequest) -> Result<Value, ServiceError> {
    let channel = ChannelName::parse(&u.channel)?;
    let caller = chat.writer(&req)?;
    if channel.is_lobby() {
        return Err(ServiceError::forbidden("nobody owns the lobby"));
    }
    let user = user_id(&u.user)?;
    let now = now_ms();
    chat.channels
        .change(channel.as_str(), |current| {
            let mut ch = owned_member(current, &caller.id, user)?;
            ch.forget_mutes(now);
            ch.mutes.remove(user);
            Ok((Change::Put(ch), ()))
        })
        .await?;
    tracing::debug!(channel = %channel, "member unmuted");
    Ok(json!({"ok": true}))
}
