//! What the rooms worker keeps about a room: its [`RoomMeta`] (game, seated players, seed,
//! whether rated) in the `rooms` bucket, and its log of [`Entry`]s in the `ROOMS` stream.
//! The state is never stored whole for a turn-based room: it is `init(players, seed)`
//! folded with the entries' events. A realtime room's entries hold the inputs applied at a
//! tick instead, and its state is also snapshotted about once a second.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A player in a room, with their seat (0 first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seated {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Seat, in the order the creator gave.
    pub seat: u32,
    /// The cosmetic the player owned when the room was made (see `cosmetics`), kept so a
    /// rebuilt room starts exactly as the first one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skin: Option<String>,
}

/// A room as created: all a replica needs to rebuild it from its log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomMeta {
    /// The room id.
    pub room: String,
    /// The game id.
    pub game: String,
    /// The players in seat order.
    pub players: Vec<Seated>,
    /// The seed `init` got.
    pub seed: u32,
    /// Whether the result moves ratings.
    pub rated: bool,
    /// When it was created, unix ms.
    pub created_ms: u64,
    /// Whether it finished and went to Postgres.
    #[serde(default)]
    pub finished: bool,
    /// Phones steering seats (`svc.rooms.claim`), by the phone's user id; kept with the
    /// room so a replica taking it over goes on taking their inputs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pads: BTreeMap<String, Pad>,
}

/// A phone steering a seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pad {
    /// The seat's player (user id).
    pub seat: String,
    /// The phone's display name.
    pub name: String,
    /// SHA-256 (hex) of the secret the phone resumes with.
    pub resume: String,
}

impl RoomMeta {
    /// Whether `uid` plays here.
    pub fn is_member(&self, uid: &str) -> bool {
        self.players.iter().any(|p| p.id == uid)
    }

    /// Whose seat `uid` plays: its own as a member, or the one it steers as a phone.
    pub fn seat_of<'a>(&'a self, uid: &'a str) -> Option<&'a str> {
        if self.is_member(uid) {
            return Some(uid);
        }
        self.pads.get(uid).map(|pad| pad.seat.as_str())
    }

    /// The players as the game's `init` takes them.
    pub fn game_players(&self) -> Vec<chorus_games::Player> {
        self.players
            .iter()
            .map(|p| chorus_games::Player {
                id: p.id.clone(),
                name: p.name.clone(),
                skin: p.skin.clone(),
            })
            .collect()
    }
}

/// One accepted input (or the worker's own doing: a forfeit) and the events it made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The room's sequence number after this entry (1 for the first).
    pub seq: u64,
    /// Who sent the input; `None` for the worker's own entries (timeouts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The input as sent (`None` for the worker's own entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// The events the game made of it, in order (none in a realtime room's entries).
    #[serde(default)]
    pub events: Vec<Value>,
    /// A realtime room's entry: the inputs applied at the tick `seq`, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Logged>,
    /// When it was appended, unix ms (turn time limits count from the last entry).
    pub ts: u64,
}

/// One input a realtime room applied at a tick: a player's, or their forfeit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logged {
    /// The player.
    pub by: String,
    /// Their input as sent (absent for a forfeit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// `left` when the player forfeited instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forfeit: Option<String>,
}

/// Now, in unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
