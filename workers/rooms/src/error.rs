//! Why a rooms or ratings request fails ([`RoomsError`]), and which wire error each reason
//! becomes: decided here, once. A game rule that fails is `internal` (the room lives on);
//! a game's refusal keeps the game's code (`bad_request`, `conflict`, `forbidden`).

use chorus_games::{Refusal, RefusalCode, RuleError};
use chorus_kit::ServiceError;
use chorus_protocol::ErrorCode;

/// Why a rooms or ratings request failed.
#[derive(Debug, thiserror::Error)]
pub enum RoomsError {
    /// No room has that id.
    #[error("no such room")]
    NoSuchRoom,
    /// A gamepad code that is wrong, used or expired, or a resume secret no seat knows.
    #[error("no such gamepad code (wrong, already used or expired)")]
    NoSuchCode,
    /// A gamepad claim that is neither a code nor a room and a resume secret.
    #[error("a gamepad code is 6 characters of 23456789ABCDEFGHJKMNPQRSTUVWXYZ")]
    BadCode,
    /// Too many gamepad claims (by this caller, or wrong codes on this replica).
    #[error("too many gamepad claims; wait a minute")]
    TooManyClaims,
    /// The room has ended: it takes no more input.
    #[error("the room is over")]
    Over,
    /// A replay of a room that has not finished.
    #[error("that room has not finished")]
    NotFinished,
    /// The caller does not play in the room.
    #[error("you do not play in this room")]
    NotMember,
    /// A room id or game id that is no subject token.
    #[error("{0} must be 1-64 characters of A-Z, a-z, 0-9, _ and -")]
    BadId(&'static str),
    /// `int.rooms.create` of a game this worker did not load.
    #[error("no such game")]
    NoSuchGame,
    /// `int.rooms.create` with players the game cannot take.
    #[error("{0}")]
    BadPlayers(String),
    /// The game refused the input.
    #[error("{}", .0.message)]
    Refused(Refusal),
    /// The game's rules failed (threw, ran too long, broke the contract).
    #[error("the game's rules failed: {0}")]
    Rule(#[from] RuleError),
    /// Nobody could own the room in time (its owner died and the lease has not run out).
    #[error("the room is moving to another server; try again")]
    NoOwner,
    /// This replica lost the room to another while serving the request.
    #[error("the room moved to another server; try again")]
    Lost,
    /// The room's owner (another replica) refused it.
    #[error("{message}")]
    Remote {
        /// The code the owner gave.
        code: ErrorCode,
        /// Its message.
        message: String,
    },
    /// The kit refused the request (no caller, an internal method).
    #[error(transparent)]
    Kit(#[from] ServiceError),
    /// JetStream or NATS failed.
    #[error("bus: {0}")]
    Bus(String),
    /// Postgres failed.
    #[error("database: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// No Postgres connection could be had.
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
}

impl RoomsError {
    /// A bus failure, from any NATS error.
    pub fn bus(e: impl std::fmt::Display) -> RoomsError {
        RoomsError::Bus(e.to_string())
    }

    /// The wire error code the client gets.
    pub fn code(&self) -> ErrorCode {
        use RoomsError::*;
        match self {
            NoSuchRoom | NoSuchCode | Over | NotFinished | NoSuchGame => ErrorCode::NotFound,
            TooManyClaims => ErrorCode::RateLimited,
            NotMember => ErrorCode::Forbidden,
            BadId(_) | BadCode | BadPlayers(_) => ErrorCode::BadRequest,
            Refused(r) => match r.code {
                RefusalCode::BadRequest => ErrorCode::BadRequest,
                RefusalCode::Conflict => ErrorCode::Conflict,
                RefusalCode::Forbidden => ErrorCode::Forbidden,
            },
            NoOwner | Lost => ErrorCode::Unavailable,
            Remote { code, .. } => *code,
            Kit(e) => e.code,
            Rule(_) | Bus(_) | Db(_) | Pool(_) => ErrorCode::Internal,
        }
    }
}

impl From<RoomsError> for ServiceError {
    fn from(e: RoomsError) -> ServiceError {
        match e {
            RoomsError::Kit(e) => e,
            RoomsError::Rule(rule) => {
                // The game author's message may quote an input: details only at debug.
                tracing::debug!(error = %rule, "a game rule failed");
                ServiceError::new(ErrorCode::Internal, "the game's rules failed on that input")
            }
            RoomsError::Bus(_) | RoomsError::Db(_) | RoomsError::Pool(_) => ServiceError::internal(&e),
            other => ServiceError::new(other.code(), other.to_string()),
        }
    }
}
