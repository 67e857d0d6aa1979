//! The sandbox a game file runs in: one QuickJS runtime (rquickjs) per game, with a memory
//! limit, a stack limit and a time budget per call (an interrupt handler that stops the
//! rule once its deadline passes). The file gets no I/O (QuickJS's core has none, and no
//! module loader is installed, so `import` fails), no clock (`Date.now()` and `new Date()`
//! throw) and no `Math.random` (randomness comes from the seed `init` gets). So a rule is a
//! pure function and a room is replayable.
//!
//! Values cross as JSON: Rust hands a rule `JSON.parse`d arguments and reads its result
//! back with `JSON.stringify`.

use crate::error::{LoadError, RuleError};
use rquickjs::{Context, Ctx, Exception, Object, Runtime};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What one game's engine may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest one call into a rule may run before it is interrupted.
    pub budget: Duration,
    /// Longest loading (evaluating) the file may take.
    pub load_budget: Duration,
    /// Most memory the game's engine may hold, in bytes.
    pub memory_bytes: usize,
    /// Deepest the game's stack may grow, in bytes.
    pub stack_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            budget: Duration::from_millis(100),
            load_budget: Duration::from_secs(1),
            memory_bytes: 32 << 20,
            stack_bytes: 512 << 10,
        }
    }
}

/// Run before the game file: takes the clock and `Math.random` away, in a way no later code
/// can undo (the properties are not writable nor configurable).
const PRELUDE: &str = r#"(() => {
  const RealDate = Date;
  const noClock = () => { throw new Error("a game has no clock: time reaches it as tick's dt_ms"); };
  const SafeDate = new Proxy(RealDate, {
    construct(target, args, newTarget) {
      if (args.length === 0) noClock();
      return Reflect.construct(target, args, newTarget);
    },
    apply() { noClock(); },
    get(target, key, receiver) { return key === "now" ? noClock : Reflect.get(target, key, receiver); },
  });
  Object.defineProperty(RealDate.prototype, "constructor", { value: SafeDate, writable: false, configurable: false });
  Object.defineProperty(globalThis, "Date", { value: SafeDate, writable: false, configurable: false });
  Object.defineProperty(Math, "random", {
    value: () => { throw new Error("a game has no Math.random: draw from the seed init gets"); },
    writable: false, configurable: false,
  });
})();"#;

/// The global (not writable, not configurable) holding the game module's exports.
const EXPORTS: &str = "__chorus_game";

/// A call into the engine failed: the engine threw, or Rust did not like what it got.
pub(crate) enum Fail {
    /// The engine raised (the exception is pending in the context).
    Js(rquickjs::Error),
    /// The result broke the contract.
    Bad(String),
    /// The engine raised this (message and place), already taken from the context.
    Thrown(String),
}

impl From<rquickjs::Error> for Fail {
    fn from(e: rquickjs::Error) -> Fail {
        Fail::Js(e)
    }
}

/// One game file, loaded into its own engine.
pub(crate) struct Sandbox {
    /// The engine's context, holding the file's module.
    context: Context,
    /// When the call running now must stop, in nanoseconds since `epoch` (`u64::MAX`: none).
    deadline: Arc<AtomicU64>,
    /// The reference point of `deadline`.
    epoch: Instant,
    /// What the engine may use.
    limits: Limits,
    /// Kept last: the runtime outlives the context.
    _runtime: Runtime,
}

impl Sandbox {
    /// Loads `source` (the contents of `file`) as an ES module in a fresh engine.
    pub(crate) fn load(file: &Path, source: &str, limits: Limits) -> Result<Sandbox, LoadError> {
        let fail = |line, reason: String| LoadError {
            file: file.to_path_buf(),
            line,
            reason,
        };
        let runtime = Runtime::new().map_err(|e| fail(None, format!("starting the engine: {e}")))?;
        runtime.set_memory_limit(limits.memory_bytes);
        runtime.set_max_stack_size(limits.stack_bytes);
        let epoch = Instant::now();
        let deadline = Arc::new(AtomicU64::new(u64::MAX));
        let watched = deadline.clone();
        runtime.set_interrupt_handler(Some(Box::new(move || {
            epoch.elapsed().as_nanos() as u64 > watched.load(Ordering::Relaxed)
        })));
        let context = Context::full(&runtime).map_err(|e| fail(None, format!("starting the engine: {e}")))?;
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "game.js".into());
        let set = |budget: Duration| {
            let until = epoch.elapsed() + budget;
            deadline.store(until.as_nanos() as u64, Ordering::Relaxed);
        };
        set(limits.load_budget);
        let loaded = context.with(|ctx| -> Result<(), LoadError> {
            let blame = |e: rquickjs::Error| {
                let (line, reason) = describe(&ctx, e, &name);
                fail(line, reason)
            };
            ctx.eval::<(), _>(PRELUDE).map_err(blame)?;
            let module = rquickjs::Module::declare(ctx.clone(), name.clone(), source).map_err(blame)?;
            let (module, promise) = module.eval().map_err(blame)?;
            promise.finish::<()>().map_err(blame)?;
            let exports = module.namespace().map_err(blame)?;
            ctx.globals().set(EXPORTS, exports).map_err(blame)?;
            ctx.eval::<(), _>(format!(
                "Object.defineProperty(globalThis, '{EXPORTS}', {{writable: false, configurable: false, enumerable: false}});"
            ))
            .map_err(blame)
        });
        deadline.store(u64::MAX, Ordering::Relaxed);
        loaded.map_err(|mut e| {
            if epoch.elapsed() > limits.load_budget {
                e.reason = format!(
                    "loading ran past {} ms: {}",
                    limits.load_budget.as_millis(),
                    e.reason
                );
            }
            e
        })?;
        Ok(Sandbox {
            context,
            deadline,
            epoch,
            limits,
            _runtime: runtime,
        })
    }

    /// Runs `f` over the module's exports within the time budget; `function` names the
    /// rule for errors.
    pub(crate) fn call<R>(
        &self,
        function: &'static str,
        f: impl for<'js> FnOnce(&Ctx<'js>, &Object<'js>) -> Result<R, Fail>,
    ) -> Result<R, RuleError> {
        let start = self.epoch.elapsed();
        let until = start + self.limits.budget;
        self.deadline.store(until.as_nanos() as u64, Ordering::Relaxed);
        let result = self.context.with(|ctx| {
            let run = || f(&ctx, &ctx.globals().get::<_, Object>(EXPORTS)?);
            run().map_err(|fail| match fail {
                Fail::Js(e) => Fail::Thrown(exception_text(&ctx.catch()).unwrap_or_else(|| e.to_string())),
                other => other,
            })
        });
        self.deadline.store(u64::MAX, Ordering::Relaxed);
        result.map_err(|fail| match fail {
            Fail::Bad(what) => RuleError::BadReturn { function, what },
            Fail::Js(_) | Fail::Thrown(_) if self.epoch.elapsed() >= until => RuleError::TooLong {
                function,
                budget_ms: self.limits.budget.as_millis() as u64,
            },
            Fail::Js(e) => RuleError::Threw {
                function,
                message: e.to_string(),
            },
            Fail::Thrown(message) if message.contains("out of memory") => RuleError::OutOfMemory { function },
            Fail::Thrown(message) => RuleError::Threw { function, message },
        })
    }

    /// Whether the file exports `name`.
    pub(crate) fn exports(&self, name: &str) -> bool {
        self.context.with(|ctx| {
            ctx.globals()
                .get::<_, Object>(EXPORTS)
                .and_then(|e| e.get::<_, rquickjs::Value>(name))
                .map(|v| !v.is_undefined())
                .unwrap_or(false)
        })
    }
}

/// `value` as a JavaScript value in `ctx`.
pub(crate) fn to_js<'js>(ctx: &Ctx<'js>, value: &Value) -> Result<rquickjs::Value<'js>, Fail> {
    Ok(ctx.json_parse(value.to_string())?)
}

/// A JavaScript value as JSON (`None` for `undefined` and functions).
pub(crate) fn from_js<'js>(ctx: &Ctx<'js>, value: rquickjs::Value<'js>) -> Result<Option<Value>, Fail> {
    match ctx.json_stringify(value)? {
        None => Ok(None),
        Some(text) => {
            let text = text.to_string()?;
            serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| Fail::Bad(format!("something JSON cannot hold: {e}")))
        }
    }
}

/// An exception's message, with the place it was thrown when the stack names one.
fn exception_text(caught: &rquickjs::Value<'_>) -> Option<String> {
    let exception = caught.as_object().cloned().and_then(Exception::from_object)?;
    let message = exception.message().unwrap_or_default();
    let place = exception.stack().and_then(|s| {
        s.lines()
            .find_map(|l| l.trim().strip_prefix("at ").map(str::to_string))
    });
    Some(match place {
        Some(place) => format!("{message} (at {place})"),
        None => message,
    })
}

/// The line of `file` an exception names, and its reason, for a load error.
fn describe(ctx: &Ctx<'_>, e: rquickjs::Error, file: &str) -> (Option<u32>, String) {
    if !matches!(e, rquickjs::Error::Exception) {
        return (None, e.to_string());
    }
    let caught = ctx.catch();
    let Some(exception) = caught.as_object().cloned().and_then(Exception::from_object) else {
        return (None, format!("threw {caught:?}"));
    };
    let name: String = exception.get("name").unwrap_or_else(|_| "Error".into());
    let reason = format!("{name}: {}", exception.message().unwrap_or_default());
    let line = exception
        .get::<_, Option<u32>>("lineNumber")
        .ok()
        .flatten()
        .or_else(|| {
            exception.stack().and_then(|stack| {
                stack.lines().find_map(|l| {
                    let rest = l.split_once(&format!("{file}:"))?.1;
                    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
                })
            })
        });
    (line, reason)
}
