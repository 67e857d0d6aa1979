//! Presence on the bus: what bridges announce on `presence.>`, what the presence worker keeps
//! in the KV bucket `presence`, and what a friend is told on `user.{uid}.presence`. Bridges,
//! the presence worker and the accounts worker (which reads who is online for the friends
//! list) share these names and shapes; a worker in another language reads them from
//! `PROTOCOL.md`.
//!
//! Only signed-in users have presence: a guest has no friends to tell.

use serde::{Deserialize, Serialize};

/// Every subject bridges publish presence on.
pub const SUBJECTS: &str = "presence.>";

/// The KV bucket of who is online.
pub const BUCKET: &str = "presence";

/// A bridge announces a user's connection here (`presence.connect.{uid}`).
pub fn connect_subject(uid: &str) -> String {
    format!("presence.connect.{uid}")
}

/// A bridge announces that a user's connection ended here (`presence.disconnect.{uid}`).
pub fn disconnect_subject(uid: &str) -> String {
    format!("presence.disconnect.{uid}")
}

/// A bridge says it is alive here (`presence.heartbeat.{bridge}`), so the users of a bridge
/// that died without a word go offline when its heartbeats stop.
pub fn heartbeat_subject(bridge: &str) -> String {
    format!("presence.heartbeat.{bridge}")
}

/// Where a friend hears that `user` came or went (`user.{friend}.presence`).
pub fn notice_subject(friend: &str) -> String {
    format!("user.{friend}.presence")
}

/// The KV key of a user's live connections (`user.{uid}`): present while online.
pub fn user_key(uid: &str) -> String {
    format!("user.{uid}")
}

/// The KV key of a bridge's last heartbeat (`bridge.{id}`), kept with a TTL.
pub fn bridge_key(bridge: &str) -> String {
    format!("bridge.{bridge}")
}

/// One connection of a signed-in user, as a bridge announces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnEvent {
    /// The bridge's id.
    pub bridge: String,
    /// The connection's id (unique across bridges).
    pub conn: String,
    /// The user's id.
    pub user: String,
    /// The user's display name.
    pub name: String,
}

/// A bridge's heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The bridge's id.
    pub bridge: String,
    /// Connections it holds, of every kind (for operators; presence does not use it).
    pub conns: u64,
}

/// One live connection in a user's presence record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnRef {
    /// The bridge holding it.
    pub bridge: String,
    /// The connection's id.
    pub conn: String,
}

/// The value at [`user_key`]: a user's live connections.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPresence {
    /// The display name.
    pub name: String,
    /// Live connections; the user is online while there is one.
    pub conns: Vec<ConnRef>,
}

/// What a friend is told on [`notice_subject`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Who came or went.
    pub user: String,
    /// Their display name.
    pub name: String,
    /// Whether they are online now.
    pub online: bool,
}
