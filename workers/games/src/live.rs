//! Live states: the realtime hot path of a [`JsGame`]. A realtime room's state stays inside
//! the game's engine between ticks ([`Live`], a slot in a hidden table), so a tick is one
//! call (`tick`, then `apply` of what it made) with no JSON crossing; inputs are one call
//! each (`command`, then `apply`); and the state crosses only when it is broadcast, written
//! out by walking it from Rust ([`crate::encode`]). Each call keeps the sandbox's time budget
//! and changes the state only when it succeeds: a rule that throws fails that input or that
//! tick alone.
//!
//! [`LiveGame`] is this hot path as a trait, so a game written in Rust (the `native` module)
//! can stand behind it too. A [`Live`] belongs to the engine that made it: the rooms worker gives each ticking
//! thread its own [`JsGame`] (see [`JsGame::load`]), so the engines never wait on each
//! other.

use crate::encode::write_json;
use crate::error::RuleError;
use crate::game::{Game, Outcome, Refusal};
use crate::js::JsGame;
use crate::sandbox::{Fail, from_js, to_js};
use rquickjs::{Ctx, Function, Object, Value};
use serde_json::Value as Json;
use std::sync::atomic::Ordering;

/// The hidden global holding live states by slot.
const TABLE: &str = "__chorus_live";

/// One room's state, held in a game's engine.
#[derive(Debug, PartialEq, Eq)]
pub struct Live {
    /// Its slot in the engine's table.
    pub(crate) slot: u32,
}

/// The engine's table of live states (made on first use).
fn table<'js>(ctx: &Ctx<'js>) -> Result<Object<'js>, Fail> {
    let globals = ctx.globals();
    if let Some(table) = globals.get::<_, Option<Object>>(TABLE)? {
        return Ok(table);
    }
    let table = Object::new(ctx.clone())?;
    globals.set(TABLE, table.clone())?;
    Ok(table)
}

/// The state in `live`'s slot.
fn current<'js>(ctx: &Ctx<'js>, live: &Live) -> Result<Value<'js>, Fail> {
    let state: Value = table(ctx)?.get(live.slot)?;
    if state.is_undefined() {
        return Err(Fail::Bad("a live state that was removed".into()));
    }
    Ok(state)
}

/// `state` with every event of `events` (a JS array) applied.
fn fold<'js>(exports: &Object<'js>, mut state: Value<'js>, events: Value<'js>) -> Result<Value<'js>, Fail> {
    let Some(events) = events.as_array().cloned() else {
        return Err(Fail::Bad("something other than a list of events".into()));
    };
    let apply: Function = exports.get("apply")?;
    for event in events.iter::<Value>() {
        state = apply.call((state, event?))?;
        if state.is_undefined() {
            return Err(Fail::Bad("undefined instead of the new state".into()));
        }
    }
    Ok(state)
}

impl JsGame {
    /// Puts `state` into the engine; the room's later calls name the returned slot.
    pub fn live_insert(&self, state: &Json) -> Result<Live, RuleError> {
        let live = Live {
            slot: self.next_slot.fetch_add(1, Ordering::Relaxed),
        };
        self.sandbox().call("apply", |ctx, _| {
            table(ctx)?.set(live.slot, to_js(ctx, state)?)?;
            Ok(())
        })?;
        Ok(live)
    }

    /// Forgets a live state.
    pub fn live_remove(&self, live: Live) {
        let _ = self.sandbox().call("apply", |ctx, _| {
            table(ctx)?.remove(live.slot)?;
            Ok(())
        });
    }

    /// `player`'s `input` checked by `command` and, when accepted, its events applied.
    /// `Ok(Some(refusal))`: refused, nothing changed.
    pub fn live_command(
        &self,
        live: &Live,
        player: &str,
        input: &Json,
    ) -> Result<Option<Refusal>, RuleError> {
        self.sandbox().call("command", |ctx, exports| {
            let state = current(ctx, live)?;
            let command: Function = exports.get("command")?;
            let verdict: Value = command.call((state.clone(), player, to_js(ctx, input)?))?;
            let Some(verdict) = verdict.as_object() else {
                return Err(Fail::Bad("no {events} nor {error}".into()));
            };
            let error: Value = verdict.get("error")?;
            if !error.is_undefined() {
                let error = from_js(ctx, error)?.unwrap_or(Json::Null);
                return serde_json::from_value(error)
                    .map(Some)
                    .map_err(|e| Fail::Bad(format!("an error that is not {{code, message}}: {e}")));
            }
            let next = fold(exports, state, verdict.get("events")?)?;
            table(ctx)?.set(live.slot, next)?;
            Ok(None)
        })
    }

    /// The worker's own `events` (a forfeit) applied.
    pub fn live_apply(&self, live: &Live, events: &[Json]) -> Result<(), RuleError> {
        let events = Json::Array(events.to_vec());
        self.sandbox().call("apply", |ctx, exports| {
            let next = fold(exports, current(ctx, live)?, to_js(ctx, &events)?)?;
            table(ctx)?.set(live.slot, next)?;
            Ok(())
        })
    }

    /// `dt_ms` passing: `tick`'s events applied.
    pub fn live_tick(&self, live: &Live, dt_ms: u32) -> Result<(), RuleError> {
        if !self.has_tick {
            return Ok(());
        }
        self.sandbox().call("tick", |ctx, exports| {
            let state = current(ctx, live)?;
            let tick: Function = exports.get("tick")?;
            let made: Value = tick.call((state.clone(), dt_ms))?;
            if made.is_undefined() || made.is_null() {
                return Ok(());
            }
            let next = fold(exports, state, made)?;
            table(ctx)?.set(live.slot, next)?;
            Ok(())
        })
    }

    /// Appends the state as JSON to `out`; tells whether it is over (see [`crate::outcome`]).
    pub fn live_encode(&self, live: &Live, out: &mut Vec<u8>) -> Result<Option<Outcome>, RuleError> {
        self.sandbox().call("apply", |ctx, _| {
            let state = current(ctx, live)?;
            write_json(&state, out)?;
            let Some(object) = state.as_object() else {
                return Ok(None);
            };
            let winner: Option<String> = object
                .get::<_, Value>("winner")?
                .as_string()
                .map(|s| s.to_string())
                .transpose()?;
            let draw = object.get::<_, Value>("draw")?.as_bool().unwrap_or(false);
            Ok((winner.is_some() || draw).then_some(Outcome { winner, draw }))
        })
    }

    /// The state as JSON (for a snapshot or a rejoining player).
    pub fn live_value(&self, live: &Live) -> Result<Json, RuleError> {
        self.sandbox().call("apply", |ctx, _| {
            from_js(ctx, current(ctx, live)?)?.ok_or_else(|| Fail::Bad("undefined".into()))
        })
    }
}

/// A game whose rooms' states stay inside it between calls (see [`crate::live`]): the
/// realtime hot path. A [`Live`] belongs to the engine that made it.
pub trait LiveGame: Game {
    /// `"javascript"` or `"native"`: what runs the rules.
    fn implementation(&self) -> &'static str;

    /// Puts `state` in; the room's later calls name the returned [`Live`].
    fn live_insert(&self, state: &Json) -> Result<Live, RuleError>;

    /// Forgets a live state.
    fn live_remove(&self, live: Live);

    /// `player`'s `input` checked by `command` and, when accepted, its events applied.
    /// `Ok(Some(refusal))`: refused, nothing changed.
    fn live_command(&self, live: &Live, player: &str, input: &Json) -> Result<Option<Refusal>, RuleError>;

    /// The worker's own `events` (a forfeit) applied.
    fn live_apply(&self, live: &Live, events: &[Json]) -> Result<(), RuleError>;

    /// `dt_ms` passing: `tick`'s events applied.
    fn live_tick(&self, live: &Live, dt_ms: u32) -> Result<(), RuleError>;

    /// Appends the state as JSON to `out`; tells whether it is over.
    fn live_encode(&self, live: &Live, out: &mut Vec<u8>) -> Result<Option<Outcome>, RuleError>;

    /// The state as JSON.
    fn live_value(&self, live: &Live) -> Result<Json, RuleError>;
}

impl LiveGame for JsGame {
    fn implementation(&self) -> &'static str {
        "javascript"
    }

    fn live_insert(&self, state: &Json) -> Result<Live, RuleError> {
        JsGame::live_insert(self, state)
    }

    fn live_remove(&self, live: Live) {
        JsGame::live_remove(self, live)
    }

    fn live_command(&self, live: &Live, player: &str, input: &Json) -> Result<Option<Refusal>, RuleError> {
        JsGame::live_command(self, live, player, input)
    }

    fn live_apply(&self, live: &Live, events: &[Json]) -> Result<(), RuleError> {
        JsGame::live_apply(self, live, events)
    }

    fn live_tick(&self, live: &Live, dt_ms: u32) -> Result<(), RuleError> {
        JsGame::live_tick(self, live, dt_ms)
    }

    fn live_encode(&self, live: &Live, out: &mut Vec<u8>) -> Result<Option<Outcome>, RuleError> {
        JsGame::live_encode(self, live, out)
    }

    fn live_value(&self, live: &Live) -> Result<Json, RuleError> {
        JsGame::live_value(self, live)
    }
}
