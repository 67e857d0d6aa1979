//! A game's `meta` export: its display name, how many players it takes, its tick rate (0
//! for turn-based games) and the turn time limit. Checked once at load, so a room never
//! starts on a game that cannot be played.

use serde::{Deserialize, Serialize};

/// Most players a game may take: rooms and the matchmaker size their work by it.
pub const MAX_PLAYERS: u32 = 64;
/// Fastest tick rate a game may ask for.
pub const MAX_TICK_HZ: u32 = 60;

/// How many players a game takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerCount {
    /// Fewest players a room starts with.
    pub min: u32,
    /// Most players a room takes.
    pub max: u32,
}

/// What a game says about itself (`export const meta = {…}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// What players see (the game's id is its file name).
    pub name: String,
    /// How many players a room takes.
    pub players: PlayerCount,
    /// Ticks per second of a realtime game; 0 for a turn-based one.
    #[serde(default)]
    pub tick_hz: u32,
    /// How long the player to move (the state's `turn`) has before forfeiting, if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_timeout_ms: Option<u64>,
}

impl Meta {
    /// Why this meta cannot be played, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let PlayerCount { min, max } = self.players;
        if self.name.trim().is_empty() {
            return Some("meta.name is empty".into());
        }
        if min == 0 || min > max || max > MAX_PLAYERS {
            return Some(format!("meta.players must have 1 <= min <= max <= {MAX_PLAYERS}"));
        }
        if self.tick_hz > MAX_TICK_HZ {
            return Some(format!("meta.tick_hz must be at most {MAX_TICK_HZ}"));
        }
        if self.turn_timeout_ms == Some(0) {
            return Some("meta.turn_timeout_ms must be positive when given".into());
        }
        None
    }

    /// Whether rooms of this game tick (realtime) rather than wait for turns.
    pub fn is_realtime(&self) -> bool {
        self.tick_hz > 0
    }
}
