//! [`JsGame`]: a game whose rules are a JavaScript file, run in its own [`Sandbox`]. It
//! checks at load what the file exports (`meta`, `init`, `command`, `apply`, and `tick` for
//! realtime games) and afterwards what every rule returns, so a game's bug fails one call
//! and never reaches a room's log.

use crate::error::{LoadError, RuleError};
use crate::game::{Game, Player, Refusal, Ticket, Verdict};
use crate::meta::Meta;
use crate::sandbox::{Fail, Limits, Sandbox, from_js, to_js};
use rquickjs::Function;
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::AtomicU32;

/// A game file, loaded and checked.
pub struct JsGame {
    /// The file name without `.js`.
    id: String,
    /// Its `meta` export.
    meta: Meta,
    /// Whether it exports `view`.
    has_view: bool,
    /// Whether it exports `match`.
    has_match: bool,
    /// Whether it exports `tick`.
    pub(crate) has_tick: bool,
    /// The next slot for a live state (see the `live` module).
    pub(crate) next_slot: AtomicU32,
    /// Its engine: one call at a time.
    sandbox: Mutex<Sandbox>,
}

impl JsGame {
    /// Loads the game file at `file` into a fresh sandbox with `limits`.
    pub fn load(file: &Path, limits: Limits) -> Result<JsGame, LoadError> {
        let fail = |reason: String| LoadError {
            file: file.to_path_buf(),
            line: None,
            reason,
        };
        let id = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if id.is_empty()
            || id.len() > 32
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(fail(
                "a game's file name must be 1-32 characters of A-Z, a-z, 0-9, _ and - before .js".into(),
            ));
        }
        let source = std::fs::read_to_string(file).map_err(|e| fail(format!("reading it: {e}")))?;
        JsGame::from_source(id, file, &source, limits)
    }

    /// Loads `source` as the game `id` (`file` names it in errors).
    pub fn from_source(id: String, file: &Path, source: &str, limits: Limits) -> Result<JsGame, LoadError> {
        let fail = |reason: String| LoadError {
            file: file.to_path_buf(),
            line: None,
            reason,
        };
        let sandbox = Sandbox::load(file, source, limits)?;
        let meta = sandbox
            .call("meta", |ctx, exports| {
                let meta = exports.get::<_, rquickjs::Value>("meta")?;
                from_js(ctx, meta)?.ok_or_else(|| Fail::Bad("nothing".into()))
            })
            .map_err(|e| fail(format!("no usable `export const meta`: {e}")))?;
        let meta: Meta = serde_json::from_value(meta).map_err(|e| {
            fail(format!(
                "meta must be {{name, players:{{min,max}}, tick_hz, turn_timeout_ms?}}: {e}"
            ))
        })?;
        if let Some(problem) = meta.problem() {
            return Err(fail(problem));
        }
        let mut required = vec!["init", "command", "apply"];
        if meta.is_realtime() {
            required.push("tick");
        }
        for name in required {
            if !sandbox.exports(name) {
                return Err(fail(format!("it does not export the function `{name}`")));
            }
        }
        Ok(JsGame {
            id,
            has_view: sandbox.exports("view"),
            has_match: sandbox.exports("match"),
            has_tick: sandbox.exports("tick"),
            next_slot: AtomicU32::new(0),
            meta,
            sandbox: Mutex::new(sandbox),
        })
    }

    /// Runs `f` on the engine (one call at a time; a call that panicked leaves it usable,
    /// since every call starts from values passed in).
    pub(crate) fn sandbox(&self) -> std::sync::MutexGuard<'_, Sandbox> {
        self.sandbox
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Reads `function`'s result: JSON, not `undefined`.
fn required(value: Option<Value>) -> Result<Value, Fail> {
    value.ok_or_else(|| Fail::Bad("undefined".into()))
}

/// An array of events from `value`.
fn events(value: Value) -> Result<Vec<Value>, Fail> {
    match value {
        Value::Array(events) => Ok(events),
        other => Err(Fail::Bad(format!(
            "{} where a list of events belongs",
            kind(&other)
        ))),
    }
}

/// What kind of JSON `value` is, for messages (never the value: it may be a payload).
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `command`'s result read as a verdict: `{events:[…]}` or `{error:{code, message}}`.
fn verdict(value: Value) -> Result<Verdict, Fail> {
    if let Some(error) = value.get("error") {
        let refusal: Refusal = serde_json::from_value(error.clone()).map_err(|e| {
            Fail::Bad(format!(
                "an error that is not {{code: bad_request|conflict|forbidden, message}}: {e}"
            ))
        })?;
        return Ok(Verdict::Refused(refusal));
    }
    match value.get("events") {
        Some(list) => events(list.clone()).map(Verdict::Events),
        None => Err(Fail::Bad(format!("{} without `events` or `error`", kind(&value)))),
    }
}

/// Checks a `match` result: groups of waiting users, each at most once, of allowed sizes.
fn groups(value: Value, tickets: &[Ticket], meta: &Meta) -> Result<Vec<Vec<String>>, Fail> {
    let groups: Vec<Vec<String>> = serde_json::from_value(value)
        .map_err(|e| Fail::Bad(format!("something that is not a list of lists of user ids: {e}")))?;
    let waiting: HashSet<&str> = tickets.iter().map(|t| t.user.as_str()).collect();
    let mut seen = HashSet::new();
    for group in &groups {
        let size = group.len() as u32;
        if size < meta.players.min || size > meta.players.max {
            return Err(Fail::Bad(format!("a group of {size} players")));
        }
        for user in group {
            if !waiting.contains(user.as_str()) {
                return Err(Fail::Bad("a user who holds no ticket".into()));
            }
            if !seen.insert(user.as_str()) {
                return Err(Fail::Bad("a user in two groups".into()));
            }
        }
    }
    Ok(groups)
}

impl Game for JsGame {
    fn id(&self) -> &str {
        &self.id
    }

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn init(&self, players: &[Player], seed: u32) -> Result<Value, RuleError> {
        let players = serde_json::to_value(players).expect("players serialize");
        self.sandbox().call("init", |ctx, exports| {
            let init: Function = exports.get("init")?;
            let state = init.call((to_js(ctx, &players)?, seed))?;
            required(from_js(ctx, state)?)
        })
    }

    fn command(&self, state: &Value, player: &str, input: &Value) -> Result<Verdict, RuleError> {
        self.sandbox().call("command", |ctx, exports| {
            let command: Function = exports.get("command")?;
            let result = command.call((to_js(ctx, state)?, player, to_js(ctx, input)?))?;
            verdict(required(from_js(ctx, result)?)?)
        })
    }

    fn apply(&self, state: Value, events: &[Value]) -> Result<Value, RuleError> {
        if events.is_empty() {
            return Ok(state);
        }
        self.sandbox().call("apply", |ctx, exports| {
            let apply: Function = exports.get("apply")?;
            let mut folded = to_js(ctx, &state)?;
            for event in events {
                folded = apply.call((folded, to_js(ctx, event)?))?;
                if folded.is_undefined() {
                    return Err(Fail::Bad("undefined instead of the new state".into()));
                }
            }
            required(from_js(ctx, folded)?)
        })
    }

    fn tick(&self, state: &Value, dt_ms: u32) -> Result<Vec<Value>, RuleError> {
        if !self.has_tick {
            return Ok(Vec::new());
        }
        self.sandbox().call("tick", |ctx, exports| {
            let tick: Function = exports.get("tick")?;
            let made = tick.call((to_js(ctx, state)?, dt_ms))?;
            from_js(ctx, made)?.map_or(Ok(Vec::new()), events)
        })
    }

    fn view(&self, state: &Value, player: &str) -> Result<Value, RuleError> {
        if !self.has_view {
            return Ok(state.clone());
        }
        self.sandbox().call("view", |ctx, exports| {
            let view: Function = exports.get("view")?;
            let seen = view.call((to_js(ctx, state)?, player))?;
            required(from_js(ctx, seen)?)
        })
    }

    fn hides(&self) -> bool {
        self.has_view
    }

    fn has_match(&self) -> bool {
        self.has_match
    }

    fn match_tickets(&self, tickets: &[Ticket]) -> Result<Option<Vec<Vec<String>>>, RuleError> {
        if !self.has_match {
            return Ok(None);
        }
        let list = serde_json::to_value(tickets).expect("tickets serialize");
        self.sandbox()
            .call("match", |ctx, exports| {
                let matcher: Function = exports.get("match")?;
                let made = matcher.call((to_js(ctx, &list)?,))?;
                groups(required(from_js(ctx, made)?)?, tickets, &self.meta)
            })
            .map(Some)
    }
}
