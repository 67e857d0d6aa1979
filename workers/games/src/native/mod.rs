//! Games written in Rust behind the same traits as game files ([`Game`], [`LiveGame`]),
//! where speed needs it: a realtime room calls its rules twenty times a second, and QuickJS
//! spends ~20 µs on a step the Rust below does in about one. A native game stands in for
//! exactly one game file, byte for byte: it is used only when the file's SHA-256 is the
//! one it was written against (so a developer who edits the file gets the file's rules,
//! never silently different ones), and its `meta` is read from that file.
//!
//! - [`arena`]: Coin arena, `games/arena.js`.

pub mod arena;

use crate::error::RuleError;
use crate::game::Refusal;
use crate::game::{Game, Outcome, Player, Ticket, Verdict};
use crate::live::{Live, LiveGame};
use crate::meta::Meta;
use arena::{Event, State};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// SHA-256 of the `games/arena.js` that [`arena`] reproduces. Change the rules in both
/// places, run `tests/native_arena.rs`, then update this.
pub const ARENA_SHA256: &str = "1d20f7c0427911c29118c7f6779ef273127da0ef206f663d5708d3c49edc6f68";

/// The native rules a game file's bytes stand for, if any.
pub fn for_file(source: &[u8]) -> Option<Kind> {
    let digest = ring::digest::digest(&ring::digest::SHA256, source);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    (hex == ARENA_SHA256).then_some(Kind::Arena)
}

/// Which native rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// [`arena`].
    Arena,
}

/// Coin arena in Rust: a [`Game`] over JSON states and a [`LiveGame`] whose live states
/// are Rust structs.
pub struct NativeArena {
    /// The game's id (its file name without `.js`).
    id: String,
    /// The file's `meta`.
    meta: Meta,
    /// The next slot for a live state.
    next: AtomicU32,
    /// Live states by slot. One tick thread uses one engine, so this lock is never
    /// contended; it makes the engine `Sync` like a [`crate::JsGame`].
    states: Mutex<HashMap<u32, State>>,
}

/// A state that could not be read, as a rule error of `function`.
fn unreadable(function: &'static str) -> impl Fn(arena::Unreadable) -> RuleError {
    move |e| RuleError::Convert {
        function,
        what: e.to_string(),
    }
}

impl NativeArena {
    /// The arena as game `id`, with the `meta` its file exports.
    pub fn new(id: String, meta: Meta) -> NativeArena {
        NativeArena {
            id,
            meta,
            next: AtomicU32::new(0),
            states: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `f` on the live state of `live`.
    fn with<R>(
        &self,
        function: &'static str,
        live: &Live,
        f: impl FnOnce(&mut State) -> R,
    ) -> Result<R, RuleError> {
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        match states.get_mut(&live.slot) {
            Some(state) => Ok(f(state)),
            None => Err(RuleError::BadReturn {
                function,
                what: "a live state that was removed".into(),
            }),
        }
    }
}

/// `events` read as arena events.
fn events_of(events: &[Value]) -> Result<Vec<Event>, RuleError> {
    events
        .iter()
        .map(|e| {
            arena::event_of(e).ok_or_else(|| RuleError::Convert {
                function: "apply",
                what: "an event without the fields its type needs".into(),
            })
        })
        .collect()
}

impl Game for NativeArena {
    fn id(&self) -> &str {
        &self.id
    }

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn init(&self, players: &[Player], seed: u32) -> Result<Value, RuleError> {
        Ok(arena::init(players, seed).to_value())
    }

    fn command(&self, state: &Value, player: &str, input: &Value) -> Result<Verdict, RuleError> {
        let state = State::from_json(state).map_err(unreadable("command"))?;
        Ok(match arena::command(&state, player, input) {
            Ok(event) => Verdict::Events(vec![event.to_value()]),
            Err(refusal) => Verdict::Refused(refusal),
        })
    }

    fn apply(&self, state: Value, events: &[Value]) -> Result<Value, RuleError> {
        if events.is_empty() {
            return Ok(state);
        }
        let mut state = State::from_json(&state).map_err(unreadable("apply"))?;
        for event in events_of(events)? {
            arena::apply(&mut state, &event);
        }
        Ok(state.to_value())
    }

    fn tick(&self, state: &Value, dt_ms: u32) -> Result<Vec<Value>, RuleError> {
        let state = State::from_json(state).map_err(unreadable("tick"))?;
        Ok(arena::tick(&state, dt_ms).iter().map(Event::to_value).collect())
    }

    fn view(&self, state: &Value, _player: &str) -> Result<Value, RuleError> {
        Ok(state.clone())
    }

    fn hides(&self) -> bool {
        false
    }

    fn has_match(&self) -> bool {
        false
    }

    fn match_tickets(&self, _tickets: &[Ticket]) -> Result<Option<Vec<Vec<String>>>, RuleError> {
        Ok(None)
    }
}

impl LiveGame for NativeArena {
    fn implementation(&self) -> &'static str {
        "native"
    }

    fn live_insert(&self, state: &Value) -> Result<Live, RuleError> {
        let state = State::from_json(state).map_err(unreadable("apply"))?;
        let live = Live {
            slot: self.next.fetch_add(1, Ordering::Relaxed),
        };
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        states.insert(live.slot, state);
        Ok(live)
    }

    fn live_remove(&self, live: Live) {
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        states.remove(&live.slot);
    }

    fn live_command(&self, live: &Live, player: &str, input: &Value) -> Result<Option<Refusal>, RuleError> {
        self.with("command", live, |state| {
            match arena::command(state, player, input) {
                Ok(event) => {
                    arena::apply(state, &event);
                    None
                }
                Err(refusal) => Some(refusal),
            }
        })
    }

    fn live_apply(&self, live: &Live, events: &[Value]) -> Result<(), RuleError> {
        let events = events_of(events)?;
        self.with("apply", live, |state| {
            for event in &events {
                arena::apply(state, event);
            }
        })
    }

    fn live_tick(&self, live: &Live, dt_ms: u32) -> Result<(), RuleError> {
        self.with("tick", live, |state| {
            if let Some(event) = arena::tick(state, dt_ms) {
                arena::apply(state, &event);
            }
        })
    }

    fn live_encode(&self, live: &Live, out: &mut Vec<u8>) -> Result<Option<Outcome>, RuleError> {
        self.with("apply", live, |state| {
            state.write_json(out);
            let (winner, draw) = (state.winner.clone(), state.draw);
            (winner.is_some() || draw).then_some(Outcome { winner, draw })
        })
    }

    fn live_value(&self, live: &Live) -> Result<Value, RuleError> {
        self.with("apply", live, |state| state.to_value())
    }
}
