//! Error codes: the `code` of an `err` frame and the value of a worker's `Chorus-Error`
//! header. One closed set, so clients can match on codes instead of message strings.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Why a frame (or a request to a worker) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not valid JSON, lacks a field, or names an invalid subject.
    BadRequest,
    /// No valid identity for what was asked (missing, bad or expired token).
    Unauthorized,
    /// The identity is known but the policy and grants do not allow this.
    Forbidden,
    /// The thing asked for does not exist.
    NotFound,
    /// The request conflicts with current state (duplicate name, stale version).
    Conflict,
    /// A frame or payload exceeds a size limit.
    TooLarge,
    /// The connection (or user) sends faster than its rate allows.
    RateLimited,
    /// A request got no reply within its timeout.
    Timeout,
    /// Nobody serves that subject right now (no responders, NATS down).
    Unavailable,
    /// The connection could not keep up with what it subscribed to.
    SlowConsumer,
    /// A grant was revoked; the subscription it allowed is gone.
    Revoked,
    /// Something broke on our side.
    Internal,
}

impl ErrorCode {
    /// Every code, in the order `PROTOCOL.md` lists them.
    pub const ALL: [ErrorCode; 12] = [
        Self::BadRequest,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::Conflict,
        Self::TooLarge,
        Self::RateLimited,
        Self::Timeout,
        Self::Unavailable,
        Self::SlowConsumer,
        Self::Revoked,
        Self::Internal,
    ];

    /// The wire spelling, e.g. `"bad_request"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::TooLarge => "too_large",
            Self::RateLimited => "rate_limited",
            Self::Timeout => "timeout",
            Self::Unavailable => "unavailable",
            Self::SlowConsumer => "slow_consumer",
            Self::Revoked => "revoked",
            Self::Internal => "internal",
        }
    }

    /// Reads a `Chorus-Error` header value; an unknown code becomes `internal` so a
    /// worker's typo never reaches a client as a code it cannot handle.
    pub fn from_header(value: &str) -> ErrorCode {
        value.trim().parse().unwrap_or(ErrorCode::Internal)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The string was not one of the twelve codes.
#[derive(Debug, thiserror::Error)]
#[error("unknown error code")]
pub struct UnknownErrorCode;

impl FromStr for ErrorCode {
    type Err = UnknownErrorCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or(UnknownErrorCode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_spelling_round_trips() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(code.as_str().parse::<ErrorCode>().unwrap(), code);
        }
    }

    #[test]
    fn unknown_header_value_is_internal() {
        assert_eq!(ErrorCode::from_header(" conflict "), ErrorCode::Conflict);
        assert_eq!(ErrorCode::from_header("oops"), ErrorCode::Internal);
    }
}
