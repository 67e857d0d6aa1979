//! Names the chat worker takes from clients, as types that hold only valid values: channel
//! names, message ids, user ids, and [`Place`], where a message lives (a channel, or the
//! conversation of two users) and so its KV key and the subjects it fans out on.

use chorus_kit::ServiceError;
use ring::rand::{SecureRandom, SystemRandom};
use std::fmt;

/// The channel everyone reads and every signed-in user may write; it always exists.
pub const LOBBY: &str = "lobby";

/// Longest channel name.
pub const MAX_CHANNEL_LEN: usize = 32;

/// A channel name: `[a-z0-9_-]{1,32}`, so it is one subject token and one KV key token.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChannelName(String);

impl ChannelName {
    /// The name, if it follows the grammar.
    pub fn parse(s: &str) -> Result<ChannelName, ServiceError> {
        let ok = !s.is_empty()
            && s.len() <= MAX_CHANNEL_LEN
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            return Err(ServiceError::bad_request(
                "a channel name is 1-32 characters of a-z, 0-9, _ and -",
            ));
        }
        Ok(ChannelName(s.to_string()))
    }

    /// Whether this is the lobby, whose rules differ (no members, no owner).
    pub fn is_lobby(&self) -> bool {
        self.0 == LOBBY
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `chat.{channel}`: where its messages fan out, and what a member's grant covers.
    pub fn subject(&self) -> String {
        format!("chat.{}", self.0)
    }
}

impl fmt::Display for ChannelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Length of a message id: 13 hex digits of unix milliseconds and 8 random ones.
pub const MSG_ID_LEN: usize = 21;

/// A message id. Ids sort by the time they were given (to the millisecond), so history can
/// page with `before` by comparing strings; lowercase hex, so an id is a valid KV key token.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MsgId(String);

impl MsgId {
    /// A fresh id for a message given at `now_ms` (unix milliseconds).
    pub fn new(now_ms: u64) -> MsgId {
        let mut random = [0u8; 4];
        SystemRandom::new()
            .fill(&mut random)
            .expect("the system's random source works");
        MsgId(format!("{:013x}{:08x}", now_ms, u32::from_be_bytes(random)))
    }

    /// An id a client sent back, if it has the shape of one.
    pub fn parse(s: &str) -> Result<MsgId, ServiceError> {
        let ok = s.len() == MSG_ID_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !ok {
            return Err(ServiceError::bad_request("not a message id"));
        }
        Ok(MsgId(s.to_string()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks that `id` can be a user id: one subject token (`[A-Za-z0-9_-]{1,64}`), as the
/// bridge's ids are; it then stands safely in `user.{id}.dm` and in a KV key.
pub fn user_id(id: &str) -> Result<&str, ServiceError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        return Err(ServiceError::bad_request("not a user id"));
    }
    Ok(id)
}

/// Where a message lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A channel (the lobby or one made by `join`).
    Channel(ChannelName),
    /// The conversation of two users, named by their ids in sorted order, so both sides
    /// find the same messages.
    Dm {
        /// The smaller id.
        lo: String,
        /// The larger id.
        hi: String,
    },
}

impl Place {
    /// The conversation of `a` and `b`, whichever asks.
    pub fn dm(a: &str, b: &str) -> Place {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        Place::Dm {
            lo: lo.to_string(),
            hi: hi.to_string(),
        }
    }

    /// The KV key of message `id` here: `ch.{channel}.{id}` or `dm.{lo}.{hi}.{id}`.
    pub fn key(&self, id: &MsgId) -> String {
        format!("{}.{id}", self.prefix())
    }

    /// The KV key pattern of every message here, for a history watch.
    pub fn keys(&self) -> String {
        format!("{}.*", self.prefix())
    }

    fn prefix(&self) -> String {
        match self {
            Place::Channel(c) => format!("ch.{c}"),
            Place::Dm { lo, hi } => format!("dm.{lo}.{hi}"),
        }
    }

    /// For logs: the channel name, or `dm` (who talks to whom stays out of the log).
    pub fn label(&self) -> &str {
        match self {
            Place::Channel(c) => c.as_str(),
            Place::Dm { .. } => "dm",
        }
    }

    /// The other side of a conversation that `me` is part of.
    pub fn peer_of(&self, me: &str) -> Option<&str> {
        match self {
            Place::Dm { lo, hi } if lo == me => Some(hi),
            Place::Dm { lo, hi } if hi == me => Some(lo),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_follow_the_grammar() {
        assert!(ChannelName::parse("lobby").unwrap().is_lobby());
        assert!(ChannelName::parse("team_red-2").is_ok());
        assert!(ChannelName::parse(&"a".repeat(32)).is_ok());
        for bad in ["", "Lobby", "a.b", "a*", "a>", "a b", &"a".repeat(33), "é"] {
            assert!(ChannelName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ids_sort_by_time_and_are_key_tokens() {
        let (a, b) = (MsgId::new(1_700_000_000_000), MsgId::new(1_700_000_000_001));
        assert!(a < b);
        assert_eq!(a.as_str().len(), MSG_ID_LEN);
        assert_eq!(MsgId::parse(a.as_str()).unwrap(), a);
        assert!(MsgId::parse("018bcfe568000ABCDEF01").is_err());
        assert!(MsgId::parse("*").is_err());
        assert_ne!(MsgId::new(5), MsgId::new(5), "random part");
    }

    #[test]
    fn a_conversation_has_one_key_whoever_asks() {
        let (ab, ba) = (Place::dm("7", "12"), Place::dm("12", "7"));
        assert_eq!(ab, ba);
        let id = MsgId::parse("0000000000001deadbeef").unwrap();
        assert_eq!(ab.key(&id), "dm.12.7.0000000000001deadbeef");
        assert_eq!(ab.keys(), "dm.12.7.*");
        assert_eq!(ab.peer_of("7"), Some("12"));
        assert_eq!(ab.peer_of("9"), None);
        let lobby = Place::Channel(ChannelName::parse("lobby").unwrap());
        assert_eq!(lobby.key(&id), "ch.lobby.0000000000001deadbeef");
        assert!(user_id("g-00ff").is_ok());
        assert!(user_id("a.b").is_err() && user_id("").is_err() && user_id("*").is_err());
    }
}
