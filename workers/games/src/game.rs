//! The [`Game`] trait: what the rooms worker and the matchmaker need from a game, whether
//! its rules are a JavaScript file ([`crate::JsGame`]) or Rust behind the same trait. Every
//! value is plain JSON, so state can be stored, broadcast and folded anywhere.

use crate::error::RuleError;
use crate::meta::Meta;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A player as `init` sees them, in seat order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Player {
    /// User id (guests: `g-…`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// The cosmetic the player shows (a store good id, e.g. `skin-red`), when they own
    /// one; games that draw players may use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skin: Option<String>,
}

/// A matchmaking ticket as a game's `match(tickets)` sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// The waiting user's id.
    pub user: String,
    /// Their display name.
    pub name: String,
    /// Their rating in this game (1500 when unknown).
    pub rating: f64,
    /// How long they have waited, in milliseconds.
    pub waited_ms: u64,
}

/// The codes a game may refuse an input with; anything else is the game's bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// An illegal move.
    BadRequest,
    /// A move that does not fit the moment (out of turn).
    Conflict,
    /// A move this player may not make.
    Forbidden,
}

/// A game's refusal of an input: `{error:{code, message}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The wire code the player gets.
    pub code: RefusalCode,
    /// Why, in the game's words.
    pub message: String,
}

/// What a game makes of one input.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Accepted: these events go into the room's log (none: nothing happens).
    Events(Vec<Value>),
    /// Refused: nothing changes.
    Refused(Refusal),
}

/// How a finished game ended, read from its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The winner's id, unless nobody won.
    pub winner: Option<String>,
    /// Whether it was a draw.
    pub draw: bool,
}

/// Whether `state` is over: its `winner` is a user id, or its `draw` is `true`. This is
/// the one convention every game's state follows, so rooms know when to finish.
pub fn outcome(state: &Value) -> Option<Outcome> {
    let winner = state.get("winner").and_then(Value::as_str).map(str::to_string);
    let draw = state.get("draw").and_then(Value::as_bool).unwrap_or(false);
    (winner.is_some() || draw).then_some(Outcome { winner, draw })
}

/// The player whose move it is (the state's `turn`), for turn time limits.
pub fn turn(state: &Value) -> Option<&str> {
    state.get("turn").and_then(Value::as_str)
}

/// A game's rules. Every function is pure: the same arguments give the same result, so a
/// room is its log folded, on any replica, at any time.
pub trait Game: Send + Sync {
    /// The game's id (its file name without `.js`): what rooms and tickets name.
    fn id(&self) -> &str;

    /// What the game says about itself.
    fn meta(&self) -> &Meta;

    /// The state a room starts from; all randomness comes from `seed`.
    fn init(&self, players: &[Player], seed: u32) -> Result<Value, RuleError>;

    /// Validates `player`'s `input` against `state`: events to append, or a refusal.
    fn command(&self, state: &Value, player: &str, input: &Value) -> Result<Verdict, RuleError>;

    /// `events` applied to `state` in order.
    fn apply(&self, state: Value, events: &[Value]) -> Result<Value, RuleError>;

    /// Events a realtime game makes of `dt_ms` passing (none for turn-based games).
    fn tick(&self, state: &Value, dt_ms: u32) -> Result<Vec<Value>, RuleError>;

    /// What `player` may see of `state` (all of it, unless the game hides some).
    fn view(&self, state: &Value, player: &str) -> Result<Value, RuleError>;

    /// Whether the game hides part of its state (`view` is exported): then the whole
    /// state must not be broadcast to every member.
    fn hides(&self) -> bool;

    /// Whether the game groups matchmaking tickets itself (`match` is exported).
    fn has_match(&self) -> bool;

    /// The game's own grouping of waiting `tickets` into rooms (user ids, each at most
    /// once, each group of an allowed size); `None` when the game leaves matching to the
    /// matchmaker's rating window.
    fn match_tickets(&self, tickets: &[Ticket]) -> Result<Option<Vec<Vec<String>>>, RuleError>;
}
