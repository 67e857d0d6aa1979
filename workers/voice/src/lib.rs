//! `chorus-voice`: voice channels for WebRTC calls between browsers. No audio passes through
//! Chorus, and no signalling message is read, logged or kept here: this worker only keeps
//! who is in which channel (the memory KV bucket `voice`, with a heartbeat, so a crashed tab
//! leaves by itself), tells members who joins and leaves on `voice.{channel}`, grants each
//! member the right to publish on `user.{peer}.rtc` for each peer while both are in the
//! channel (the browsers signal there, through the bridges), and hands out the ICE servers.
//!
//! # Layout
//! - [`channels`]: the bucket: members by channel, changed by compare-and-set.
//! - [`doors`]: the grants and revokes between members.
//! - [`ice`]: STUN and TURN servers, with TURN REST credentials.
//! - [`service`]: `svc.voice.join`, `heartbeat`, `leave`, and the sweep of timed-out members.
//! - [`error`]: [`VoiceError`] and its wire codes.

pub mod channels;
pub mod doors;
pub mod error;
pub mod ice;
pub mod service;

pub use error::VoiceError;
pub use service::{Voice, service};

use chorus_kit::{KitError, metrics::Metrics};
use std::sync::Arc;
use std::time::Duration;

/// The worker's settings (beyond the kit's).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The most members a channel holds (a mesh: each sends its audio to every other).
    pub max_peers: usize,
    /// How long a member stays without a heartbeat; clients beat every third of it.
    pub ttl: Duration,
    /// How long the rights to reach peers last before a heartbeat renews them (Unix s).
    pub grant_secs: u64,
    /// The ICE servers handed to members.
    pub ice: ice::IceConfig,
}

impl Settings {
    /// Defaults as `chorus-voice` runs with no settings, with a TTL of `ttl`.
    pub fn for_tests(ttl: Duration) -> Settings {
        Settings {
            max_peers: 6,
            ttl,
            grant_secs: 3600,
            ice: ice::IceConfig::default(),
        }
    }
}

/// Runs the worker inside this process on `nats` (endpoints and the sweep), returning once
/// every endpoint is subscribed; it serves until the returned task is dropped or aborted.
pub async fn spawn_in_process(
    nats: async_nats::Client,
    settings: Settings,
) -> Result<tokio::task::JoinHandle<Result<(), KitError>>, VoiceError> {
    let metrics = Arc::new(Metrics::new("voice"));
    let channels = channels::Channels::open(nats.clone(), metrics.waits()).await?;
    let voice = Voice::new(channels, nats.clone(), settings);
    let subscribed = service(voice.clone())
        .subscribe(&nats)
        .await
        .map_err(|e| VoiceError::Bucket(e.to_string()))?;
    Ok(tokio::spawn(async move {
        tokio::select! {
            served = subscribed.serve(metrics, std::future::pending()) => served,
            _ = voice.sweep_forever() => Ok(()),
        }
    }))
}
