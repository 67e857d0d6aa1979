//! The rights a room gives: its players (and the phones steering their seats) may read
//! `room.{rid}.state` and publish `room.{rid}.input` for the grant lifetime.

use crate::error::RoomsError;
use chorus_protocol::grant::Grant;
use std::time::Duration;

/// The subjects of room `rid` a player (or a phone steering a seat) uses.
pub fn player_subjects(rid: &str) -> [String; 2] {
    [format!("room.{rid}.state"), format!("room.{rid}.input")]
}

/// Lets `uid` read room `rid`'s state and publish its realtime input, for the grant lifetime.
pub async fn grant_player(
    nats: &async_nats::Client,
    lifetime: Duration,
    rid: &str,
    uid: &str,
) -> Result<(), RoomsError> {
    let expires_at = chorus_runtime::clock::unix_now() + lifetime.as_secs();
    let [state, input] = player_subjects(rid);
    let grant = Grant::builder()
        .subscribe(&state)
        .publish(&input)
        .expires_at(expires_at)
        .build()
        .map_err(|e| RoomsError::Bus(format!("building the grant: {e}")))?;
    chorus_kit::ctl::grant(nats, uid, &grant)
        .await
        .map_err(RoomsError::bus)
}
