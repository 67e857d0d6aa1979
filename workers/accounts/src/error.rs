//! Why an accounts or friends request fails ([`AccountsError`]), and which wire error each
//! reason becomes. The code and the message a client sees are decided here, once; the
//! handlers name reasons, not strings. Our own failures (database, signing) reach the
//! client as a bare `internal` and the log with their detail.

use crate::keys::KeyError;
use chorus_kit::ServiceError;
use chorus_protocol::ErrorCode;

/// Why an accounts or friends request failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    /// Sign-up with a name someone has (whatever its case).
    #[error("that name is taken")]
    NameTaken,
    /// Login with an unknown name or a wrong password: the same answer for both.
    #[error("wrong name or password")]
    WrongCredentials,
    /// A refresh or logout token that is unknown, used twice, revoked or expired.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// The caller's account is gone.
    #[error("no such account")]
    NoSuchAccount,
    /// A password change whose old password is wrong.
    #[error("wrong password")]
    WrongPassword,
    /// Too many sign-ups, logins or password changes for a name or a connection.
    #[error("too many attempts; wait a minute")]
    TooManyAttempts,
    /// An account name that breaks the rules (3–24 characters of `[A-Za-z0-9_-]`).
    #[error("names are 3-24 characters of A-Z, a-z, 0-9, _ and -")]
    BadName,
    /// A password that breaks the rules (8–128 characters).
    #[error("passwords are 8-128 characters")]
    BadPassword,
    /// An argument that should hold a user id does not.
    #[error("{field} must be a user id")]
    NotAUserId {
        /// The argument.
        field: &'static str,
    },
    /// An argument names the caller where it must name someone else.
    #[error("{field} is yourself")]
    Yourself {
        /// The argument.
        field: &'static str,
    },
    /// The user an argument names does not exist.
    #[error("no such user")]
    NoSuchUser,
    /// A friend request to someone the caller blocked.
    #[error("you blocked that user; unblock first")]
    YouBlocked,
    /// A friend request to a friend.
    #[error("already friends")]
    AlreadyFriends,
    /// Accepting or declining a request nobody made.
    #[error("no request from that user")]
    NoRequest,
    /// Removing someone who is neither a friend nor asked.
    #[error("not a friend and no request to that user")]
    NothingToRemove,
    /// Unblocking someone not blocked.
    #[error("that user is not blocked")]
    NotBlocked,
    /// The kit refused the request (no caller, not signed in, an internal method).
    #[error(transparent)]
    Refused(#[from] ServiceError),
    /// Postgres failed.
    #[error("database: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// No Postgres connection could be had.
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// An access token could not be signed.
    #[error(transparent)]
    Sign(#[from] KeyError),
    /// Hashing a password (on a blocking thread) panicked.
    #[error("password hashing: {0}")]
    Hashing(#[from] tokio::task::JoinError),
}

impl AccountsError {
    /// The wire error code the client gets.
    pub fn code(&self) -> ErrorCode {
        use AccountsError::*;
        match self {
            BadName | BadPassword | NotAUserId { .. } | Yourself { .. } => ErrorCode::BadRequest,
            WrongCredentials | InvalidRefreshToken | WrongPassword => ErrorCode::Unauthorized,
            YouBlocked => ErrorCode::Forbidden,
            NoSuchAccount | NoSuchUser | NoRequest | NothingToRemove | NotBlocked => ErrorCode::NotFound,
            NameTaken | AlreadyFriends => ErrorCode::Conflict,
            TooManyAttempts => ErrorCode::RateLimited,
            Refused(e) => e.code,
            Db(_) | Pool(_) | Sign(_) | Hashing(_) => ErrorCode::Internal,
        }
    }
}

impl From<AccountsError> for ServiceError {
    fn from(e: AccountsError) -> ServiceError {
        match e {
            AccountsError::Refused(e) => e,
            e if e.code() == ErrorCode::Internal => ServiceError::internal(e),
            e => ServiceError::new(e.code(), e.to_string()),
        }
    }
}
