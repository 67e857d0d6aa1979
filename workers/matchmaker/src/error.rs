//! [`MmError`]: why a matchmaker request or task failed, and the one place that decides
//! what each means on the wire.

use async_nats::jetstream::kv;
use chorus_kit::ServiceError;

/// Why something in the matchmaker failed.
#[derive(Debug, thiserror::Error)]
pub enum MmError {
    /// The game asked for is not one the matchmaker queues for.
    #[error("no such game")]
    NoSuchGame,
    /// The caller's ticket is being matched right now: too late to leave or rejoin.
    #[error("a match is being made for you")]
    BeingMatched,
    /// The caller's connection closed while the join was in flight.
    #[error("the connection closed")]
    ConnectionClosed,
    /// The kit refused the request (no caller, …).
    #[error(transparent)]
    Refused(#[from] ServiceError),
    /// The rooms worker did not open a room.
    #[error("rooms: {0}")]
    Rooms(String),
    /// The `mm` bucket could not be created or opened.
    #[error("KV bucket mm: {0}")]
    Bucket(String),
    /// Reading or writing the bucket failed.
    #[error("KV: {0}")]
    Kv(String),
    /// Subscribing or watching failed.
    #[error("NATS: {0}")]
    Nats(String),
    /// A setting is malformed.
    #[error("{0}")]
    Setting(String),
}

impl From<MmError> for ServiceError {
    fn from(e: MmError) -> ServiceError {
        match e {
            MmError::NoSuchGame => ServiceError::not_found("no such game"),
            MmError::BeingMatched => ServiceError::conflict("a match is being made for you"),
            MmError::ConnectionClosed => ServiceError::conflict("the connection closed"),
            MmError::Refused(e) => e,
            other => ServiceError::internal(other),
        }
    }
}

impl From<kv::EntryError> for MmError {
    fn from(e: kv::EntryError) -> MmError {
        MmError::Kv(e.to_string())
    }
}

impl From<kv::CreateError> for MmError {
    fn from(e: kv::CreateError) -> MmError {
        MmError::Kv(e.to_string())
    }
}

impl From<kv::UpdateError> for MmError {
    fn from(e: kv::UpdateError) -> MmError {
        MmError::Kv(e.to_string())
    }
}

impl From<kv::PutError> for MmError {
    fn from(e: kv::PutError) -> MmError {
        MmError::Kv(e.to_string())
    }
}
