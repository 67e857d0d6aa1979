//! Why a store request fails ([`StoreError`]) and which wire error each reason becomes.
//! The code and message a client sees are decided here, once; the handlers name reasons.
//! Our own failures (the database, the bus) reach the client as a bare `internal` and the
//! log with their detail.

use chorus_kit::ServiceError;
use chorus_protocol::ErrorCode;

/// Why a store request failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A guest called: guests have no wallet.
    #[error("guests have no wallet: sign in to use the store")]
    Guest,
    /// `idempotency_key` missing or empty.
    #[error("idempotency_key is required: one per purchase, the same on every retry")]
    NoKey,
    /// `idempotency_key` longer than allowed.
    #[error("idempotency_key is longer than {max} characters")]
    KeyTooLong {
        /// The longest allowed.
        max: usize,
    },
    /// The good is not in the catalog.
    #[error("no good `{0}` in the catalog")]
    UnknownGood(String),
    /// The key was used before to buy another good.
    #[error("that idempotency_key was used to buy `{0}`")]
    KeyReused(String),
    /// The user owns as many of the good as its limit allows.
    #[error("you already own {limit} of `{good}`, the most allowed")]
    OverLimit {
        /// The good.
        good: String,
        /// Its per-user limit.
        limit: i64,
    },
    /// The wallet holds less than the price.
    #[error("not enough coins: `{good}` costs {price}, you have {balance}")]
    TooFewCoins {
        /// The good.
        good: String,
        /// Its price.
        price: i64,
        /// The balance.
        balance: i64,
    },
    /// A refund of a purchase nobody made.
    #[error("no purchase {0}")]
    NoPurchase(i64),
    /// A second refund of a purchase.
    #[error("purchase {0} is already refunded")]
    AlreadyRefunded(i64),
    /// A later request with a key whose first answer was this error: the same answer.
    #[error("{message}")]
    Replayed {
        /// The first answer's code.
        code: ErrorCode,
        /// Its message.
        message: String,
    },
    /// The kit refused the request (no caller, an internal method from a client).
    #[error(transparent)]
    Refused(#[from] ServiceError),
    /// Postgres failed.
    #[error("database: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// No Postgres connection could be had.
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// JetStream (the stream or consumer of finished matches) failed.
    #[error("bus: {0}")]
    Bus(String),
    /// A kept answer could not be read back.
    #[error("kept answer: {0}")]
    Json(#[from] serde_json::Error),
}

impl StoreError {
    /// The wire error code the client gets.
    pub fn code(&self) -> ErrorCode {
        use StoreError::*;
        match self {
            Guest => ErrorCode::Forbidden,
            NoKey | KeyTooLong { .. } => ErrorCode::BadRequest,
            UnknownGood(_) | NoPurchase(_) => ErrorCode::NotFound,
            KeyReused(_) | OverLimit { .. } | TooFewCoins { .. } | AlreadyRefunded(_) => ErrorCode::Conflict,
            Replayed { code, .. } => *code,
            Refused(e) => e.code,
            Db(_) | Pool(_) | Json(_) | Bus(_) => ErrorCode::Internal,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> ServiceError {
        match e {
            StoreError::Refused(e) => e,
            e if e.code() == ErrorCode::Internal => ServiceError::internal(e),
            e => ServiceError::new(e.code(), e.to_string()),
        }
    }
}
