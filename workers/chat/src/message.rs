//! What the chat worker stores and publishes: a [`Message`] (the value under its KV key, the
//! reply to `send`, `dm` and `edit`, an entry of `history`), and the [`Event`] that fans out
//! when one is sent, edited or retracted. `README.md` shows the JSON.

use serde::{Deserialize, Serialize};

/// Who wrote a message, as the bridge stamped them when it was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// User id (`Chorus-User`): what rights are checked against.
    pub id: String,
    /// Display name (`Chorus-Name`) at the time, so readers need no lookup.
    pub name: String,
}

/// A live message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Sortable by time; unique.
    pub id: String,
    /// The channel, for a channel message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The recipient, for a direct message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Its author.
    pub author: Author,
    /// The text, as the author last wrote it.
    pub text: String,
    /// When the server took it, unix milliseconds. An edit keeps it: the message still dies
    /// `ttl` after this.
    pub ts: u64,
    /// When it was last edited, unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_ts: Option<u64>,
}

impl Message {
    /// What a retraction tells readers: which message is gone, without its text.
    pub fn retracted(&self) -> Retracted {
        Retracted {
            id: self.id.clone(),
            channel: self.channel.clone(),
            to: self.to.clone(),
            author: self.author.clone(),
        }
    }
}

/// A message that was retracted: enough to find it and remove it, nothing of what it said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retracted {
    /// The retracted message's id.
    pub id: String,
    /// Its channel, for a channel message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Its recipient, for a direct message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Its author (who retracted it).
    pub author: Author,
}

/// What readers of a channel (or both sides of a conversation) receive:
/// `{"event":"send"|"edit"|"retract","message":{…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", content = "message", rename_all = "lowercase")]
pub enum Event {
    /// A new message.
    Send(Message),
    /// A message's new text (same id).
    Edit(Message),
    /// A message taken back by its author.
    Retract(Retracted),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message() -> Message {
        Message {
            id: "018bcfe5680001a2b3c4d".into(),
            channel: Some("lobby".into()),
            to: None,
            author: Author {
                id: "7".into(),
                name: "ann".into(),
            },
            text: "hi".into(),
            ts: 1_700_000_000_000,
            edited_ts: None,
        }
    }

    #[test]
    fn events_have_the_documented_shape() {
        let m = message();
        assert_eq!(
            serde_json::to_value(Event::Send(m.clone())).unwrap(),
            json!({"event":"send","message":{"id":"018bcfe5680001a2b3c4d","channel":"lobby",
                   "author":{"id":"7","name":"ann"},"text":"hi","ts":1_700_000_000_000u64}})
        );
        let edited = Message {
            edited_ts: Some(1_700_000_000_500),
            ..m.clone()
        };
        assert_eq!(
            serde_json::to_value(Event::Edit(edited)).unwrap()["message"]["edited_ts"],
            json!(1_700_000_000_500u64)
        );
        assert_eq!(
            serde_json::to_value(Event::Retract(m.retracted())).unwrap(),
            json!({"event":"retract","message":{"id":"018bcfe5680001a2b3c4d","channel":"lobby",
                   "author":{"id":"7","name":"ann"}}})
        );
    }
}
