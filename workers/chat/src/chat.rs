//! The chat worker's state and the rules every method shares: who may write where, how long
//! a message may be, how fast a user may write, where a message fans out. The methods
//! themselves take a [`Chat`] and live beside it (`write`, `read`, `members`).

use crate::blocks;
use crate::buckets::{BucketError, Buckets};
use crate::channels::{Channel, Channels};
use crate::message::{Event, Message};
use crate::messages::Messages;
use crate::names::{ChannelName, Place, user_id};
use crate::settings::Settings;
use async_nats::Client;
use bytes::Bytes;
use chorus_kit::{Caller, Request, ServiceError, Waits};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The worker's state, shared by every request.
pub struct Chat {
    /// To fan messages out, send grants, and ask the accounts worker about blocks.
    pub(crate) nats: Client,
    /// The `chat` bucket.
    pub(crate) messages: Messages,
    /// The `chat-channels` bucket.
    pub(crate) channels: Channels,
    /// Settings.
    pub(crate) settings: Settings,
    /// Messages per user id. Per process: N replicas let a user write N times as fast,
    /// which is still bounded, and costs no round trip.
    rate: DefaultKeyedRateLimiter<String>,
    /// Times the blocks request (the buckets time their own operations).
    waits: Waits,
}

impl Chat {
    /// Opens (or creates) the buckets on `nats` and returns the worker's state, which times
    /// what it waits on (buckets, the blocks request) in `waits` (the worker's
    /// `Metrics::waits()`).
    pub async fn open(nats: Client, settings: Settings, waits: Waits) -> Result<Arc<Chat>, BucketError> {
        let js = async_nats::jetstream::new(nats.clone());
        let buckets = Buckets::open(&js, &settings).await?;
        let per_sec = NonZeroU32::new(settings.rate_per_sec.max(1)).expect("at least one");
        let burst = NonZeroU32::new(settings.rate_burst.max(1)).expect("at least one");
        Ok(Arc::new(Chat {
            nats,
            messages: Messages::new(
                buckets.chat,
                js,
                buckets.ttl,
                settings.history_idle,
                waits.clone(),
            ),
            channels: Channels::new(buckets.channels, waits.clone()),
            rate: RateLimiter::keyed(Quota::per_second(per_sec).allow_burst(burst)),
            settings,
            waits,
        }))
    }

    /// Forgets rate counters that have refilled (call now and then).
    pub fn forget_quiet_writers(&self) {
        self.rate.retain_recent();
    }

    /// The caller, who must be signed in to write: guests only read.
    pub(crate) fn writer<'r>(&self, req: &'r Request) -> Result<&'r Caller, ServiceError> {
        let caller = req.caller()?;
        if !caller.is_user() {
            return Err(ServiceError::forbidden("guests may only read; sign in to chat"));
        }
        user_id(&caller.id).map_err(|_| ServiceError::internal("a caller id that is no subject token"))?;
        Ok(caller)
    }

    /// Checks a message's text: not blank, not too long.
    pub(crate) fn check_text(&self, text: &str) -> Result<(), ServiceError> {
        if text.trim().is_empty() {
            return Err(ServiceError::bad_request("the message is empty"));
        }
        let max = self.settings.max_chars;
        if text.chars().count() > max {
            return Err(ServiceError::bad_request(format!(
                "the message is too long (at most {max} characters)"
            )));
        }
        Ok(())
    }

    /// Takes one message from `uid`'s allowance.
    pub(crate) fn limit(&self, uid: &str) -> Result<(), ServiceError> {
        self.rate
            .check_key(&uid.to_string())
            .map_err(|_| ServiceError::rate_limited("you are sending too fast; slow down"))
    }

    /// The place a request names (`channel`, or `dm`: the other side of the caller's
    /// conversation), exactly one of them.
    pub(crate) fn place(
        &self,
        caller: &Caller,
        channel: Option<&str>,
        dm: Option<&str>,
    ) -> Result<Place, ServiceError> {
        match (channel, dm) {
            (Some(c), None) => Ok(Place::Channel(ChannelName::parse(c)?)),
            (None, Some(peer)) => {
                if !caller.is_user() {
                    return Err(ServiceError::forbidden("guests have no direct messages"));
                }
                let peer = user_id(peer)?;
                if peer == caller.id {
                    return Err(ServiceError::bad_request("that is you"));
                }
                Ok(Place::dm(&caller.id, peer))
            }
            _ => Err(ServiceError::bad_request("name either a channel or a dm peer")),
        }
    }

    /// A channel other than the lobby, which `uid` must belong to.
    pub(crate) async fn membership(&self, channel: &ChannelName, uid: &str) -> Result<Channel, ServiceError> {
        let Some(ch) = self.channels.get(channel.as_str()).await? else {
            return Err(ServiceError::not_found("no such channel"));
        };
        if !ch.is_member(uid) {
            return Err(ServiceError::forbidden("join the channel first"));
        }
        Ok(ch)
    }

    /// Whether `caller` may read `place`: the lobby, anyone; another channel, its members;
    /// a conversation, its two sides (which [`Chat::place`] ensured).
    pub(crate) async fn may_read(&self, caller: &Caller, place: &Place) -> Result<(), ServiceError> {
        match place {
            Place::Channel(c) if c.is_lobby() => Ok(()),
            Place::Channel(c) => self.membership(c, &caller.id).await.map(drop),
            Place::Dm { .. } => Ok(()),
        }
    }

    /// Whether `caller` (a signed-in user) may write in `place` now: the lobby, yes; another
    /// channel, if a member not muted; a conversation, if neither side blocks the other.
    pub(crate) async fn may_write(&self, caller: &Caller, place: &Place) -> Result<(), ServiceError> {
        match place {
            Place::Channel(c) if c.is_lobby() => Ok(()),
            Place::Channel(c) => {
                let ch = self.membership(c, &caller.id).await?;
                if ch.is_muted(&caller.id, now_ms()) {
                    return Err(ServiceError::forbidden("you are muted in this channel"));
                }
                Ok(())
            }
            Place::Dm { .. } => {
                let peer = place.peer_of(&caller.id).expect("the caller is a side");
                let (subject, timeout) = (&self.settings.blocks_subject, self.settings.blocks_timeout);
                let (nats, waits) = (&self.nats, &self.waits);
                if blocks::either_blocks(nats, waits, subject, timeout, &caller.id, peer).await? {
                    return Err(ServiceError::forbidden("you cannot message that user"));
                }
                Ok(())
            }
        }
    }

    /// How long `message` has left, in whole seconds (rounded down, so an edit never
    /// extends it); `not_found` when under a second.
    pub(crate) fn left(&self, message: &Message) -> Result<Duration, ServiceError> {
        let ends = message.ts + self.messages.ttl().as_millis() as u64;
        let secs = ends.saturating_sub(now_ms()) / 1000;
        if secs == 0 {
            return Err(ServiceError::not_found("no such message"));
        }
        Ok(Duration::from_secs(secs))
    }

    /// Publishes `event` where readers of `place` listen: `chat.{channel}`, or both sides'
    /// `user.{uid}.dm` (the sender's too, for their other tabs). It is already stored, so a
    /// failed publish is logged, not undone: history has it.
    pub(crate) async fn fan_out(&self, place: &Place, event: &Event) {
        let body = Bytes::from(serde_json::to_vec(event).expect("an event serializes"));
        let subjects = match place {
            Place::Channel(c) => vec![c.subject()],
            Place::Dm { lo, hi } => vec![format!("user.{lo}.dm"), format!("user.{hi}.dm")],
        };
        for subject in subjects {
            if let Err(e) = self.nats.publish(subject, body.clone()).await {
                tracing::warn!(place = place.label(), error = %e, "fan-out failed");
            }
        }
    }
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
