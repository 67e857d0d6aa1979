//! Client ⇄ bridge frames: one JSON object per WebSocket text frame or TCP line.
//!
//! Parsing is two-step: a flat, borrowing [`RawFrame`] (so `data` stays the client's bytes,
//! never a tree), then [`ClientFrame`] with the fields each `op` requires. A frame that fails
//! either step yields a [`FrameError`] carrying the frame's `id` when one could be read, so
//! the client can match the `err` to what it sent.

use crate::error::ErrorCode;
use crate::identity::Identity;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// A frame from a client.
#[derive(Debug)]
pub enum ClientFrame<'a> {
    /// Present (or refresh) an access token.
    Auth {
        /// Optional: echoed in the `ok` or `err` of a refresh on a live connection.
        id: Option<String>,
        /// The JWT.
        token: String,
    },
    /// Subscribe to a subject or pattern.
    Sub {
        /// Echoed in the `ok` or `err`.
        id: String,
        /// Subject or pattern.
        subject: String,
    },
    /// Drop a subscription.
    Unsub {
        /// Echoed in the `ok` or `err`.
        id: String,
        /// The subject exactly as subscribed.
        subject: String,
    },
    /// Publish; acknowledged only when an id is given.
    Pub {
        /// Optional: ask for an `ok`.
        id: Option<String>,
        /// Literal subject.
        subject: String,
        /// Payload, forwarded byte for byte.
        data: Option<&'a RawValue>,
        /// W3C trace context to continue, if the client has one.
        traceparent: Option<String>,
    },
    /// Request-reply through NATS.
    Req {
        /// Echoed in the `reply` or `err`.
        id: String,
        /// Literal subject.
        subject: String,
        /// Payload, forwarded byte for byte.
        data: Option<&'a RawValue>,
        /// Wanted timeout; the bridge caps it.
        timeout_ms: Option<u64>,
        /// W3C trace context to continue, if the client has one.
        traceparent: Option<String>,
    },
    /// Liveness check; answered with `pong`.
    Ping {
        /// Echoed in the `pong`.
        id: Option<String>,
    },
}

/// A frame that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// The frame's `id`, if it had a readable one.
    pub id: Option<String>,
    /// What is wrong, for a human (never echoes the payload).
    pub message: Cow<'static, str>,
}

impl FrameError {
    fn new(id: Option<String>, message: impl Into<Cow<'static, str>>) -> FrameError {
        FrameError {
            id,
            message: message.into(),
        }
    }
}

/// Every field any client frame may have, borrowed from the input.
#[derive(Deserialize)]
struct RawFrame<'a> {
    #[serde(borrow)]
    op: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    subject: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    traceparent: Option<String>,
}

/// Only the id, for an error on a frame whose other fields are wrong.
#[derive(Deserialize)]
struct IdOnly<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
}

impl<'a> ClientFrame<'a> {
    /// Parses one frame's bytes.
    pub fn parse(bytes: &'a [u8]) -> Result<ClientFrame<'a>, FrameError> {
        let raw: RawFrame<'a> = serde_json::from_slice(bytes).map_err(|e| {
            let id = serde_json::from_slice::<IdOnly>(bytes)
                .ok()
                .and_then(|f| f.id.map(Cow::into_owned));
            let message = if e.is_data() {
                "a field has the wrong type (id and subject are strings)"
            } else {
                "frame is not a JSON object"
            };
            FrameError::new(id, message)
        })?;
        let id = raw.id.map(Cow::into_owned);
        let Some(op) = raw.op else {
            return Err(FrameError::new(id, "missing op"));
        };
        let need_id = |id: Option<String>| id.ok_or_else(|| FrameError::new(None, "missing id"));
        let need_subject = |id: &Option<String>, s: Option<Cow<'a, str>>| {
            s.map(Cow::into_owned)
                .ok_or_else(|| FrameError::new(id.clone(), "missing subject"))
        };
        Ok(match op.as_ref() {
            "auth" => ClientFrame::Auth {
                token: raw
                    .token
                    .ok_or_else(|| FrameError::new(id.clone(), "missing token"))?,
                id,
            },
            "sub" => ClientFrame::Sub {
                subject: need_subject(&id, raw.subject)?,
                id: need_id(id)?,
            },
            "unsub" => ClientFrame::Unsub {
                subject: need_subject(&id, raw.subject)?,
                id: need_id(id)?,
            },
            "pub" => ClientFrame::Pub {
                subject: need_subject(&id, raw.subject)?,
                id,
                data: raw.data,
                traceparent: raw.traceparent,
            },
            "req" => ClientFrame::Req {
                subject: need_subject(&id, raw.subject)?,
                id: need_id(id)?,
                data: raw.data,
                timeout_ms: raw.timeout_ms,
                traceparent: raw.traceparent,
            },
            "ping" => ClientFrame::Ping { id },
            _ => return Err(FrameError::new(id, "unknown op")),
        })
    }

    /// The op name, for metrics.
    pub fn op(&self) -> &'static str {
        match self {
            ClientFrame::Auth { .. } => "auth",
            ClientFrame::Sub { .. } => "sub",
            ClientFrame::Unsub { .. } => "unsub",
            ClientFrame::Pub { .. } => "pub",
            ClientFrame::Req { .. } => "req",
            ClientFrame::Ping { .. } => "ping",
        }
    }
}

/// The limits a connection runs under, announced in `welcome` so clients can pace themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest frame accepted, in bytes; a larger one closes the connection `too_large`.
    pub max_frame_bytes: usize,
    /// Most subscriptions at once.
    pub max_subs: usize,
    /// Sustained frames per second.
    pub rate_per_sec: u32,
    /// Frames allowed in a burst above the sustained rate.
    pub rate_burst: u32,
    /// Longest request timeout honoured.
    pub max_req_timeout_ms: u64,
}

/// A frame from the bridge, other than `msg` (see [`encode_msg`], the hot path).
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum ServerFrame<'a> {
    /// First frame on every connection: who you are and your limits.
    Welcome {
        /// This connection's id (also the `Chorus-Conn` header).
        conn: &'a str,
        /// The identity the connection acts as.
        user: &'a Identity,
        /// The limits it runs under.
        limits: &'a Limits,
    },
    /// A `sub`, `unsub`, `auth` or acknowledged `pub` succeeded.
    Ok {
        /// The frame's id.
        id: &'a str,
    },
    /// A worker's reply to a `req`.
    Reply {
        /// The request's id.
        id: &'a str,
        /// The reply payload (see [`payload_json`]).
        data: &'a RawValue,
    },
    /// A frame failed, or something happened to a subscription (`revoked`).
    Err {
        /// The frame's id, when it had one.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        /// Machine-readable code.
        code: ErrorCode,
        /// Human-readable detail.
        message: &'a str,
        /// The subscription concerned (for `revoked` and `slow_consumer`).
        #[serde(skip_serializing_if = "Option::is_none")]
        subject: Option<&'a str>,
    },
    /// Answer to `ping`.
    Pong {
        /// The ping's id.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
    },
    /// Last line on a TCP connection (WebSocket uses a close frame instead).
    Close {
        /// The close code from the table in [`crate::close`].
        code: u16,
        /// The close reason.
        reason: &'a str,
        /// Whether to reconnect by itself.
        reconnect: bool,
    },
}

impl ServerFrame<'_> {
    /// The frame as one line of JSON (no trailing newline).
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("server frames always serialize")
    }
}

/// The JSON text that stands for a NATS payload in a `msg` or `reply`: the payload itself
/// when it is JSON, `null` when empty, otherwise a JSON string of its (lossy) UTF-8. It is
/// always one line: newlines in valid JSON are insignificant whitespace and become spaces.
pub fn payload_json(payload: &[u8]) -> Cow<'_, str> {
    if payload.is_empty() {
        return Cow::Borrowed("null");
    }
    if serde_json::from_slice::<serde::de::IgnoredAny>(payload).is_ok() {
        // Valid JSON is valid UTF-8.
        let text = std::str::from_utf8(payload).expect("JSON is UTF-8");
        if text.contains(['\n', '\r']) {
            return Cow::Owned(text.replace(['\n', '\r'], " "));
        }
        return Cow::Borrowed(text);
    }
    Cow::Owned(serde_json::to_string(&String::from_utf8_lossy(payload)).expect("strings serialize"))
}

/// Who sent a message, from the identity headers the bridge stamped on it.
#[derive(Debug, Clone, Copy)]
pub struct From<'a> {
    /// `Chorus-User`.
    pub id: &'a str,
    /// `Chorus-Name`.
    pub name: &'a str,
}

/// Encodes a `msg` frame once, to be shared by every socket subscribed to it.
pub fn encode_msg(subject: &str, payload: &[u8], from: Option<From<'_>>) -> String {
    let data = payload_json(payload);
    let mut out = String::with_capacity(48 + subject.len() + data.len());
    out.push_str(r#"{"op":"msg","subject":"#);
    push_json_str(&mut out, subject);
    out.push_str(r#","data":"#);
    out.push_str(&data);
    if let Some(from) = from {
        out.push_str(r#","from":{"id":"#);
        push_json_str(&mut out, from.id);
        out.push_str(r#","name":"#);
        push_json_str(&mut out, from.name);
        out.push('}');
    }
    out.push('}');
    out
}

fn push_json_str(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).expect("strings serialize"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Namespace;
    use serde_json::{Value, json};

    #[test]
    fn parses_every_op() {
        let f = ClientFrame::parse(br#"{"op":"sub","id":"1","subject":"chat.lobby"}"#).unwrap();
        assert!(matches!(f, ClientFrame::Sub { id, subject } if id == "1" && subject == "chat.lobby"));
        let f = ClientFrame::parse(br#"{"op":"pub","subject":"a.b","data":{"x": [1, 2]}}"#).unwrap();
        match f {
            ClientFrame::Pub {
                id: None,
                data: Some(d),
                ..
            } => assert_eq!(d.get(), r#"{"x": [1, 2]}"#),
            other => panic!("{other:?}"),
        }
        let f = ClientFrame::parse(br#"{"op":"req","id":"4","subject":"svc.mm.join","timeout_ms":10}"#);
        assert!(matches!(
            f,
            Ok(ClientFrame::Req {
                timeout_ms: Some(10),
                data: None,
                ..
            })
        ));
        assert!(matches!(
            ClientFrame::parse(br#"{"op":"ping"}"#),
            Ok(ClientFrame::Ping { id: None })
        ));
        assert!(matches!(
            ClientFrame::parse(br#"{"op":"auth","token":"t"}"#),
            Ok(ClientFrame::Auth { .. })
        ));
    }

    #[test]
    fn errors_keep_the_id_when_they_can() {
        let e = ClientFrame::parse(br#"{"op":"sub","id":"7"}"#).unwrap_err();
        assert_eq!(e.id.as_deref(), Some("7"));
        let e = ClientFrame::parse(br#"{"op":"nope","id":"8"}"#).unwrap_err();
        assert_eq!((e.id.as_deref(), e.message.as_ref()), (Some("8"), "unknown op"));
        let e = ClientFrame::parse(br#"{"op":"sub","id":"9","subject":5}"#).unwrap_err();
        assert_eq!(e.id.as_deref(), Some("9"));
        let e = ClientFrame::parse(b"{not json").unwrap_err();
        assert_eq!(e.id, None);
        assert!(ClientFrame::parse(br#"{"op":"sub","subject":"a"}"#).is_err());
    }

    #[test]
    fn msg_frames_embed_json_or_a_string() {
        let from = Some(From {
            id: "7",
            name: "ann\"e",
        });
        let v: Value = serde_json::from_str(&encode_msg("chat.lobby", br#"{"t":"hi"}"#, from)).unwrap();
        assert_eq!(
            v,
            json!({"op":"msg","subject":"chat.lobby","data":{"t":"hi"},"from":{"id":"7","name":"ann\"e"}})
        );
        let v: Value = serde_json::from_str(&encode_msg("a", b"plain text", None)).unwrap();
        assert_eq!(v, json!({"op":"msg","subject":"a","data":"plain text"}));
        let v: Value = serde_json::from_str(&encode_msg("a", b"", None)).unwrap();
        assert_eq!(v["data"], Value::Null);
        let line = encode_msg("a", b"{\n\"k\": 1\r\n}", None);
        assert!(!line.contains('\n') && !line.contains('\r'));
        assert_eq!(
            serde_json::from_str::<Value>(&line).unwrap()["data"],
            json!({"k":1})
        );
    }

    #[test]
    fn server_frames_encode_as_documented() {
        let user = Identity {
            id: "g-1".into(),
            name: "guest-1".into(),
            ns: Namespace::Guest,
        };
        let limits = Limits {
            max_frame_bytes: 1,
            max_subs: 2,
            rate_per_sec: 3,
            rate_burst: 4,
            max_req_timeout_ms: 5,
        };
        let v: Value = serde_json::from_str(
            &ServerFrame::Welcome {
                conn: "c",
                user: &user,
                limits: &limits,
            }
            .encode(),
        )
        .unwrap();
        assert_eq!(v["op"], "welcome");
        assert_eq!(v["user"]["ns"], "guest");
        let e = ServerFrame::Err {
            id: Some("1"),
            code: ErrorCode::Forbidden,
            message: "no",
            subject: None,
        }
        .encode();
        assert_eq!(e, r#"{"op":"err","id":"1","code":"forbidden","message":"no"}"#);
        let data = RawValue::from_string(payload_json(br#"{"ok":true}"#).into_owned()).unwrap();
        assert_eq!(
            ServerFrame::Reply { id: "4", data: &data }.encode(),
            r#"{"op":"reply","id":"4","data":{"ok":true}}"#
        );
        assert_eq!(ServerFrame::Pong { id: None }.encode(), r#"{"op":"pong"}"#);
    }
}
