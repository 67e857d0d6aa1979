//! A ticket: one player waiting for one game, as kept in the `mm` bucket under
//! `ticket.{uid}`. One key per user makes "one live ticket per user" a property of the
//! bucket rather than of any one replica. A replica matching a ticket first writes its
//! [`Claim`] on it (compare-and-set), so two replicas cannot both match it.

use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The key of `uid`'s ticket.
pub fn ticket_key(uid: &str) -> String {
    format!("ticket.{uid}")
}

/// The key that remembers a closed connection (`gone.{conn}`), so a join that lands after
/// its connection's disconnect is cancelled.
pub fn gone_key(conn: &str) -> String {
    format!("gone.{conn}")
}

/// Where `uid` hears of a match (`user.{uid}.match`).
pub fn match_subject(uid: &str) -> String {
    format!("user.{uid}.match")
}

/// Now, in unix milliseconds.
pub fn now_ms() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    since.as_millis() as u64
}

/// One player waiting for a game.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// The ticket's id, given back on join (random: tells two joins of a user apart).
    pub id: String,
    /// The game waited for.
    pub game: String,
    /// Who waits.
    pub user: String,
    /// Their display name, for the other players.
    pub name: String,
    /// The connection that joined: only its disconnect cancels the ticket.
    pub conn: String,
    /// Their rating in this game when they joined.
    pub rating: f64,
    /// Whether they count for ratings (guests do not).
    pub rated: bool,
    /// When they joined, unix ms: the window widens from here.
    pub queued_at: u64,
    /// Present while a replica is matching it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
}

/// A replica's hold on a ticket while it opens the room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The replica holding it.
    pub by: String,
    /// Unix ms after which the hold lapses (its replica died): the ticket waits again.
    pub until: u64,
}

impl Ticket {
    /// Whether a replica holds it at `now` (unix ms).
    pub fn claimed(&self, now: u64) -> bool {
        self.claim.as_ref().is_some_and(|c| c.until > now)
    }

    /// How long it has waited at `now` (unix ms).
    pub fn waited(&self, now: u64) -> Duration {
        Duration::from_millis(now.saturating_sub(self.queued_at))
    }

    /// The bytes kept in the bucket.
    pub fn to_bytes(&self) -> bytes::Bytes {
        serde_json::to_vec(self).expect("tickets serialize").into()
    }
}
