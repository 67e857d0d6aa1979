//! The rights a voice call needs, opened and closed by pair: a member may publish on
//! `user.{peer}.rtc` (offers, answers, ICE candidates) for each peer in its channel, and
//! only while both are in it, and may subscribe to `voice.{channel}` (who joins and leaves).
//! Every bridge applies these at once (`chorus_kit::ctl`).

use crate::error::VoiceError;
use chorus_kit::ctl;
use chorus_protocol::grant::Grant;

/// Where a member hears who joins and leaves.
pub fn channel_subject(channel: &str) -> String {
    format!("voice.{channel}")
}

/// A user's signalling inbox.
pub fn rtc_subject(uid: &str) -> String {
    format!("user.{uid}.rtc")
}

/// Lets `uid` hear `channel` and reach each of `peers`, and each peer reach `uid`, until
/// `expires_at` (Unix s).
pub async fn open(
    nats: &async_nats::Client,
    uid: &str,
    channel: &str,
    peers: &[String],
    expires_at: u64,
) -> Result<(), VoiceError> {
    renew(nats, uid, channel, peers, expires_at).await?;
    for peer in peers {
        let back = Grant::builder()
            .publish(&rtc_subject(uid))
            .expires_at(expires_at)
            .build()
            .map_err(door)?;
        ctl::grant(nats, peer, &back).await.map_err(door)?;
    }
    Ok(())
}

/// Gives `uid` again its own side of the call: `channel`, and each of `peers`.
pub async fn renew(
    nats: &async_nats::Client,
    uid: &str,
    channel: &str,
    peers: &[String],
    expires_at: u64,
) -> Result<(), VoiceError> {
    let mut grant = Grant::builder().subscribe(&channel_subject(channel));
    for peer in peers {
        grant = grant.publish(&rtc_subject(peer));
    }
    let grant = grant.expires_at(expires_at).build().map_err(door)?;
    ctl::grant(nats, uid, &grant).await.map_err(door)
}

/// Takes back what [`open`] gave: `uid` no longer hears `channel` nor reaches `peers`, and
/// they no longer reach `uid`.
pub async fn close(
    nats: &async_nats::Client,
    uid: &str,
    channel: &str,
    peers: &[String],
) -> Result<(), VoiceError> {
    let mut own = vec![channel_subject(channel)];
    own.extend(peers.iter().map(|p| rtc_subject(p)));
    let own: Vec<&str> = own.iter().map(String::as_str).collect();
    ctl::revoke(nats, uid, &own).await.map_err(door)?;
    let inbox = rtc_subject(uid);
    for peer in peers {
        ctl::revoke(nats, peer, &[inbox.as_str()]).await.map_err(door)?;
    }
    Ok(())
}

fn door(e: impl std::fmt::Display) -> VoiceError {
    VoiceError::Door(e.to_string())
}
