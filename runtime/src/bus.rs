//! A round trip through the NATS server. async-nats's `flush` only writes what is buffered
//! to the socket; it does not wait for the server. A message a client sends to itself comes
//! back only after the server has processed everything the client sent before it (the
//! server handles one connection's operations in order), so once it is back, the client's
//! earlier subscriptions are in place for every other client too.

use futures_util::StreamExt;
use std::time::Duration;

/// Why a round trip did not complete.
#[derive(Debug, thiserror::Error)]
pub enum RoundTripError {
    /// Subscribing to the probe subject failed (the client is closed).
    #[error("round trip: {0}")]
    Subscribe(#[from] async_nats::SubscribeError),
    /// Publishing the probe failed.
    #[error("round trip: {0}")]
    Publish(#[from] async_nats::PublishError),
    /// The probe did not come back in time (the server is unreachable).
    #[error("round trip: no answer from the server within {0:?}")]
    Timeout(Duration),
}

/// Returns once the server has processed everything `nats` sent before this call, or fails
/// after `within`.
pub async fn round_trip(nats: &async_nats::Client, within: Duration) -> Result<(), RoundTripError> {
    let probe = nats.new_inbox();
    let mut back = nats.subscribe(probe.clone()).await?;
    nats.publish(probe, bytes::Bytes::new()).await?;
    match tokio::time::timeout(within, back.next()).await {
        Ok(Some(_)) => Ok(()),
        _ => Err(RoundTripError::Timeout(within)),
    }
}
