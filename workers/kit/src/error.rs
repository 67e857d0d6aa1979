//! Errors at the kit's boundary: [`ServiceError`] is what a handler returns and what the
//! client sees (its code becomes the reply's `Chorus-Error`); [`KitError`] is why a worker
//! could not start or keep running.

use chorus_protocol::ErrorCode;
use std::borrow::Cow;

/// A request failed; the client gets `{"op":"err","code":…,"message":…}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    /// The wire error code.
    pub code: ErrorCode,
    /// Shown to the client: never a secret, never another user's data.
    pub message: Cow<'static, str>,
}

impl ServiceError {
    /// An error with any code.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> ServiceError {
        ServiceError {
            code,
            message: message.into(),
        }
    }

    /// The request is malformed.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> ServiceError {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// No (valid) identity for this.
    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> ServiceError {
        Self::new(ErrorCode::Unauthorized, message)
    }

    /// Not allowed.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> ServiceError {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// No such thing.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> ServiceError {
        Self::new(ErrorCode::NotFound, message)
    }

    /// Conflicts with current state.
    pub fn conflict(message: impl Into<Cow<'static, str>>) -> ServiceError {
        Self::new(ErrorCode::Conflict, message)
    }

    /// Too many attempts.
    pub fn rate_limited(message: impl Into<Cow<'static, str>>) -> ServiceError {
        Self::new(ErrorCode::RateLimited, message)
    }

    /// Our fault. The detail goes to the log (without payloads); the client gets a
    /// generic message.
    pub fn internal(detail: impl std::fmt::Display) -> ServiceError {
        tracing::error!(%detail, "internal error");
        Self::new(ErrorCode::Internal, "internal error")
    }
}

impl From<tokio_postgres::Error> for ServiceError {
    fn from(e: tokio_postgres::Error) -> ServiceError {
        ServiceError::internal(format_args!("database: {e}"))
    }
}

impl From<deadpool_postgres::PoolError> for ServiceError {
    fn from(e: deadpool_postgres::PoolError) -> ServiceError {
        ServiceError::internal(format_args!("database pool: {e}"))
    }
}

/// Why a worker could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum KitError {
    /// Connecting to NATS failed.
    #[error("NATS: {0}")]
    Connect(#[from] async_nats::ConnectError),
    /// Subscribing an endpoint failed.
    #[error("NATS subscribe: {0}")]
    Subscribe(#[from] async_nats::SubscribeError),
    /// Making sure the NATS server holds the subscriptions failed.
    #[error("NATS: {0}")]
    RoundTrip(#[from] chorus_runtime::bus::RoundTripError),
    /// A task the worker cannot serve without (see `Context::essential`) ended.
    #[error("{task} ended")]
    Ended {
        /// The task's name.
        task: &'static str,
        /// Its error, when it returned one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The database could not be reached or configured.
    #[error("database: {0}")]
    Db(String),
    /// A migration failed.
    #[error("migration {version} ({name}): {source}")]
    Migration {
        /// The migration's version.
        version: i64,
        /// Its name.
        name: &'static str,
        /// What Postgres said.
        source: tokio_postgres::Error,
    },
    /// The worker needs a database and `DATABASE_URL` is unset.
    #[error("DATABASE_URL is not set")]
    NoDatabase,
    /// Binding or serving the HTTP listener failed.
    #[error("http: {0}")]
    Io(#[from] std::io::Error),
}
