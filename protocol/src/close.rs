//! The one table of connection close codes.
//!
//! A WebSocket closes with the code and the reason below; a TCP connection gets a last
//! `{"op":"close",…}` line carrying the same. Codes 4000–4499 mean "reconnect (with
//! backoff)", 4500–4999 "do not reconnect until something changes" (a new token, a smaller
//! frame); the two standard codes keep their RFC 6455 meaning. `reconnect()` is the rule
//! clients follow; the ranges make it readable from the number alone.

/// Why the bridge closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// The bridge is shutting down; another replica will take the reconnect.
    GoingAway,
    /// An unexpected failure on the bridge.
    Internal,
    /// The outbound queue filled up: the client reads slower than it subscribed to.
    SlowConsumer,
    /// The client did not answer a ping within the pong deadline.
    NoPong,
    /// The client kept sending past its rate after being told `rate_limited`.
    RateLimited,
    /// The bridge is at its connection limit; existing clients are unaffected.
    ServerFull,
    /// The token could not be checked right now (the signing keys are unreachable).
    Unavailable,
    /// The token is missing, invalid or expired (or never came on `/private`).
    Unauthorized,
    /// The connection is not allowed at all.
    Forbidden,
    /// A frame exceeded the size limit.
    TooLarge,
    /// The user was kicked or their session revoked.
    Revoked,
}

impl CloseCode {
    /// Every close code, in table order.
    pub const ALL: [CloseCode; 11] = [
        Self::GoingAway,
        Self::Internal,
        Self::SlowConsumer,
        Self::NoPong,
        Self::RateLimited,
        Self::ServerFull,
        Self::Unavailable,
        Self::Unauthorized,
        Self::Forbidden,
        Self::TooLarge,
        Self::Revoked,
    ];

    /// The WebSocket close code (and the `code` of a TCP close line).
    pub const fn code(self) -> u16 {
        match self {
            Self::GoingAway => 1001,
            Self::Internal => 1011,
            Self::SlowConsumer => 4000,
            Self::NoPong => 4001,
            Self::RateLimited => 4002,
            Self::ServerFull => 4003,
            Self::Unavailable => 4004,
            Self::Unauthorized => 4500,
            Self::Forbidden => 4501,
            Self::TooLarge => 4502,
            Self::Revoked => 4503,
        }
    }

    /// The close reason: short (well under the 123-byte limit) and machine-readable.
    pub const fn reason(self) -> &'static str {
        match self {
            Self::GoingAway => "going_away",
            Self::Internal => "internal",
            Self::SlowConsumer => "slow_consumer",
            Self::NoPong => "no_pong",
            Self::RateLimited => "rate_limited",
            Self::ServerFull => "server_full",
            Self::Unavailable => "unavailable",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::TooLarge => "too_large",
            Self::Revoked => "revoked",
        }
    }

    /// Whether a client should reconnect by itself (with backoff) after this close.
    pub const fn reconnect(self) -> bool {
        matches!(
            self,
            Self::GoingAway
                | Self::Internal
                | Self::SlowConsumer
                | Self::NoPong
                | Self::RateLimited
                | Self::ServerFull
                | Self::Unavailable
        )
    }

    /// The entry for a received close code, if it is one of ours.
    pub fn from_code(code: u16) -> Option<CloseCode> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_codes_follow_the_reconnect_ranges() {
        for c in CloseCode::ALL {
            let code = c.code();
            if code >= 4000 {
                assert_eq!(c.reconnect(), code < 4500, "{c:?}");
            }
            assert!(c.reason().len() < 123);
            assert_eq!(CloseCode::from_code(code), Some(c));
        }
    }

    #[test]
    fn table_says_which_reconnect() {
        assert!(CloseCode::SlowConsumer.reconnect());
        assert!(CloseCode::NoPong.reconnect());
        assert!(CloseCode::RateLimited.reconnect());
        assert!(CloseCode::GoingAway.reconnect());
        assert!(CloseCode::ServerFull.reconnect());
        assert!(CloseCode::Unavailable.reconnect());
        assert!(!CloseCode::Unauthorized.reconnect());
        assert!(!CloseCode::Forbidden.reconnect());
        assert!(!CloseCode::TooLarge.reconnect());
    }
}
