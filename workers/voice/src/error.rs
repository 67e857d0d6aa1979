//! What can go wrong in a voice call, and the one place that turns it into a wire code.

use chorus_kit::ServiceError;

/// A failed `svc.voice.*` call.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    /// A channel name outside the rules.
    #[error("channel names are 1-64 characters of A-Z, a-z, 0-9, _ and -")]
    BadChannel,
    /// The channel already holds the most peers a mesh allows.
    #[error("voice channel full ({max} peers)")]
    Full {
        /// The limit (`CHORUS_VOICE_MAX_PEERS`).
        max: usize,
    },
    /// A heartbeat or leave for a channel the caller is not in (it may have timed out).
    #[error("not in that voice channel")]
    NotMember,
    /// The kit refused the request (no caller, or a guest).
    #[error(transparent)]
    Refused(#[from] ServiceError),
    /// The `voice` bucket failed.
    #[error("voice bucket: {0}")]
    Bucket(String),
    /// A grant or revoke could not be built or published.
    #[error("grant: {0}")]
    Door(String),
    /// Another replica kept winning the compare-and-set on a channel.
    #[error("channel {0} changed too often to update")]
    Contended(String),
}

impl From<VoiceError> for ServiceError {
    fn from(e: VoiceError) -> ServiceError {
        match e {
            VoiceError::BadChannel => ServiceError::bad_request(e.to_string()),
            VoiceError::Full { .. } => ServiceError::conflict(e.to_string()),
            VoiceError::NotMember => ServiceError::not_found(e.to_string()),
            VoiceError::Refused(e) => e,
            VoiceError::Bucket(_) | VoiceError::Door(_) | VoiceError::Contended(_) => {
                ServiceError::internal(e)
            }
        }
    }
}
