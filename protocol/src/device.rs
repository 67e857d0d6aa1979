//! The bare presence protocol of small devices, spoken on the bridge's TCP listener when the
//! operator enables it: a first line `{"user_id":1,"friends":[2,3,4]}` (the hello), then
//! lines `{"online":true,"user_id":2}` / `{"online":false,"user_id":2}` as friends come and
//! go. Device ids are claimed, not proven, so they live in a namespace of their own
//! (`device.*` on the bus), apart from accounts.
//!
//! Across bridges: a device announces itself on `device.{id}.online` (heard by every device
//! whose friend list holds it) and, when it leaves, tells each of its listed friends on
//! `device.{friend}.inbox`. The payload of both is the very line the device receives.

use serde::{Deserialize, Serialize};

/// A device's hello.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// The id the device claims.
    pub user_id: u64,
    /// The devices whose comings and goings it wants to hear of.
    #[serde(default)]
    pub friends: Vec<u64>,
}

/// Why a line is not a usable hello.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelloError {
    /// Not the hello's shape.
    #[error("bad hello: {0}")]
    Invalid(String),
    /// More friends than the bridge allows.
    #[error("bad hello: at most {0} friends")]
    TooManyFriends(usize),
}

impl Hello {
    /// Whether `line` means to be a hello (a JSON object with `user_id` and no `op`), so a
    /// bad one is answered as a bad hello rather than as a bad frame.
    pub fn looks_like(line: &[u8]) -> bool {
        #[derive(Deserialize)]
        struct Probe<'a> {
            #[serde(borrow)]
            op: Option<&'a serde_json::value::RawValue>,
            #[serde(borrow)]
            user_id: Option<&'a serde_json::value::RawValue>,
        }
        matches!(
            serde_json::from_slice::<Probe>(line),
            Ok(Probe {
                op: None,
                user_id: Some(_)
            })
        )
    }

    /// Parses a hello, dropping repeated friends and the device itself from its list.
    pub fn parse(line: &[u8], max_friends: usize) -> Result<Hello, HelloError> {
        let mut hello: Hello =
            serde_json::from_slice(line).map_err(|e| HelloError::Invalid(e.to_string()))?;
        let me = hello.user_id;
        hello.friends.sort_unstable();
        hello.friends.dedup();
        hello.friends.retain(|f| *f != me);
        if hello.friends.len() > max_friends {
            return Err(HelloError::TooManyFriends(max_friends));
        }
        Ok(hello)
    }
}

/// The line a device receives about a friend, and the payload carrying it on the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Whether the friend is online now.
    pub online: bool,
    /// The friend.
    pub user_id: u64,
}

impl Status {
    /// The line, as JSON without the newline.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("serializes")
    }
}

/// Where device `id` announces it came online.
pub fn online_subject(id: u64) -> String {
    format!("device.{id}.online")
}

/// Where device `id` is told that one of the devices that list it went offline.
pub fn inbox_subject(id: u64) -> String {
    format!("device.{id}.inbox")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_and_parses_hellos() {
        let line = br#"{"user_id":1,"friends":[3,2,3,1]}"#;
        assert!(Hello::looks_like(line));
        let hello = Hello::parse(line, 10).unwrap();
        assert_eq!(
            hello,
            Hello {
                user_id: 1,
                friends: vec![2, 3]
            }
        );
        assert!(!Hello::looks_like(br#"{"op":"ping","user_id":1}"#));
        assert!(!Hello::looks_like(b"hello"));
        assert!(Hello::looks_like(br#"{"user_id":"x"}"#));
    }

    #[test]
    fn refuses_bad_hellos() {
        assert!(matches!(
            Hello::parse(br#"{"user_id":"x"}"#, 10),
            Err(HelloError::Invalid(_))
        ));
        assert!(matches!(
            Hello::parse(br#"{"user_id":-1}"#, 10),
            Err(HelloError::Invalid(_))
        ));
        assert!(matches!(
            Hello::parse(br#"{"user_id":1,"friends":"2"}"#, 10),
            Err(HelloError::Invalid(_))
        ));
        assert!(matches!(
            Hello::parse(br#"{"user_id":1,"friends":[2,3,4]}"#, 2),
            Err(HelloError::TooManyFriends(2))
        ));
    }

    #[test]
    fn status_lines_match_the_bare_protocol() {
        let line = Status {
            online: true,
            user_id: 7,
        }
        .encode();
        assert_eq!(line, r#"{"online":true,"user_id":7}"#);
    }
}
