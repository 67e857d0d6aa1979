//! `svc.voice.join`, `svc.voice.heartbeat` and `svc.voice.leave`, and the sweep that lets a
//! member whose heartbeat stopped (a crashed tab, a lost phone) leave by itself. Each change
//! to a channel is a compare-and-set on its record; only the writer that won announces it on
//! `voice.{channel}` and opens or closes the doors, so nothing is said or done twice.

use crate::Settings;
use crate::channels::{Channels, Joined, Member};
use crate::doors;
use crate::error::VoiceError;
use crate::ice::IceServer;
use chorus_kit::{Request, Service};
use chorus_runtime::clock::unix_now;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

/// The voice service's state.
pub struct Voice {
    channels: Channels,
    nats: async_nats::Client,
    settings: Settings,
}

/// Every method's input: the channel.
#[derive(Deserialize)]
pub struct Where {
    channel: String,
}

/// Someone in a channel.
#[derive(Debug, Serialize)]
pub struct Peer {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// `svc.voice.join`'s answer.
#[derive(Debug, Serialize)]
pub struct JoinReply {
    /// The channel.
    pub channel: String,
    /// Everyone in it, the caller included.
    pub members: Vec<Peer>,
    /// For `RTCPeerConnection`'s `iceServers`.
    pub ice_servers: Vec<IceServer>,
    /// How often to call `svc.voice.heartbeat`.
    pub heartbeat_ms: u64,
    /// The most members a channel holds.
    pub max_peers: usize,
}

impl Voice {
    /// The service over `channels`, announcing and granting on `nats`.
    pub fn new(channels: Channels, nats: async_nats::Client, settings: Settings) -> Arc<Voice> {
        Arc::new(Voice {
            channels,
            nats,
            settings,
        })
    }

    /// Takes `uid` out of `channel` and tells the rest.
    async fn depart(&self, channel: &str, uid: &str, name: &str) -> Result<(), VoiceError> {
        let peers = self.channels.leave(channel, uid).await?;
        self.after_departure(channel, uid, name, &peers).await
    }

    /// Closes the doors between `uid` and `peers` and announces that `uid` left.
    async fn after_departure(
        &self,
        channel: &str,
        uid: &str,
        name: &str,
        peers: &[String],
    ) -> Result<(), VoiceError> {
        doors::close(&self.nats, uid, channel, peers).await?;
        if self.channels.channel_of(uid).await?.as_deref() == Some(channel) {
            self.channels.set_channel_of(uid, None).await?;
        }
        self.announce(channel, "left", uid, name).await
    }

    async fn announce(&self, channel: &str, event: &str, uid: &str, name: &str) -> Result<(), VoiceError> {
        let body = json!({"event": event, "user": uid, "name": name}).to_string();
        self.nats
            .publish(doors::channel_subject(channel), body.into())
            .await
            .map_err(|e| VoiceError::Door(e.to_string()))
    }

    fn until_ms(&self) -> u64 {
        now_ms() + self.settings.ttl.as_millis() as u64
    }

    /// Removes every member whose heartbeat ran out, in every channel.
    pub async fn sweep(&self) -> Result<usize, VoiceError> {
        let mut removed = 0;
        for channel in self.channels.names().await? {
            let (gone, left) = self.channels.expire(&channel, now_ms()).await?;
            for (uid, name) in &gone {
                let others: Vec<String> = left
                    .iter()
                    .chain(gone.iter().map(|(id, _)| id).filter(|id| *id != uid))
                    .cloned()
                    .collect();
                self.after_departure(&channel, uid, name, &others).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Sweeps every third of the TTL, for the worker's life.
    pub async fn sweep_forever(self: Arc<Voice>) -> Result<(), VoiceError> {
        let mut every = tokio::time::interval(self.settings.ttl / 3);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match self.sweep().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(members = n, "voice members timed out"),
                Err(e) => tracing::warn!(error = %e, "voice sweep failed; retrying"),
            }
        }
    }
}

/// Channel names: 1–64 characters of `[A-Za-z0-9_-]` (one subject token).
pub fn valid_channel(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

async fn join(v: Arc<Voice>, req: Request, w: Where) -> Result<JoinReply, VoiceError> {
    let caller = req.user()?;
    if !valid_channel(&w.channel) {
        return Err(VoiceError::BadChannel);
    }
    if let Some(previous) = v.channels.channel_of(&caller.id).await?
        && previous != w.channel
    {
        match v.depart(&previous, &caller.id, &caller.name).await {
            Ok(()) | Err(VoiceError::NotMember) => {}
            Err(e) => return Err(e),
        }
    }
    let granted_until = unix_now() + v.settings.grant_secs;
    let member = Member {
        name: caller.name.clone(),
        until_ms: v.until_ms(),
        granted_until,
    };
    let members = match v
        .channels
        .join(&w.channel, &caller.id, member, v.settings.max_peers)
        .await?
    {
        Joined::Already(channel) => channel
            .members
            .into_iter()
            .map(|(id, m)| Peer { id, name: m.name })
            .collect(),
        Joined::New { peers } => {
            let ids: Vec<String> = peers.iter().map(|(id, _)| id.clone()).collect();
            doors::open(&v.nats, &caller.id, &w.channel, &ids, granted_until).await?;
            v.channels.set_channel_of(&caller.id, Some(&w.channel)).await?;
            v.announce(&w.channel, "joined", &caller.id, &caller.name).await?;
            let mut members: Vec<Peer> = peers.into_iter().map(|(id, name)| Peer { id, name }).collect();
            members.push(Peer {
                id: caller.id.clone(),
                name: caller.name.clone(),
            });
            members
        }
    };
    Ok(JoinReply {
        channel: w.channel,
        members,
        ice_servers: v.settings.ice.servers_for(&caller.id, unix_now()),
        heartbeat_ms: (v.settings.ttl / 3).as_millis() as u64,
        max_peers: v.settings.max_peers,
    })
}

async fn heartbeat(v: Arc<Voice>, req: Request, w: Where) -> Result<serde_json::Value, VoiceError> {
    let caller = req.user()?;
    let now = unix_now();
    let granted_until = now + v.settings.grant_secs;
    let regrant_before = now + v.settings.grant_secs / 2;
    let regrant = v
        .channels
        .beat(
            &w.channel,
            &caller.id,
            v.until_ms(),
            regrant_before,
            granted_until,
        )
        .await?;
    if let Some(peers) = regrant {
        doors::renew(&v.nats, &caller.id, &w.channel, &peers, granted_until).await?;
    }
    Ok(json!({"ok": true}))
}

async fn leave(v: Arc<Voice>, req: Request, w: Where) -> Result<serde_json::Value, VoiceError> {
    let caller = req.user()?;
    v.depart(&w.channel, &caller.id, &caller.name).await?;
    Ok(json!({"ok": true}))
}

/// The `svc.voice.*` endpoints.
pub fn service(voice: Arc<Voice>) -> Service<Arc<Voice>> {
    Service::with_state("voice", voice)
        .method("join", join)
        .method("heartbeat", heartbeat)
        .method("leave", leave)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::valid_channel;

    #[test]
    fn channel_names_are_one_subject_token() {
        assert!(valid_channel("lobby"));
        assert!(valid_channel("room-r0123abc"));
        for bad in ["", "a.b", "a*", "a>", "a b", &"x".repeat(65)] {
            assert!(!valid_channel(bad), "{bad}");
        }
    }
}
