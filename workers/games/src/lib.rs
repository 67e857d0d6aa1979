//! `chorus-games`: game files and what runs them. A game is one JavaScript file (a plain ES
//! module, loadable unchanged in a browser) exporting `meta`, `init`, `command`, `apply`,
//! and for realtime games `tick`, optionally `view` and `match`. This crate loads such
//! files into a sandboxed QuickJS engine (no I/O, no clock, no `Math.random`, a time
//! budget per call, a memory limit) behind the [`Game`] trait, which the rooms worker
//! folds events with and the matchmaker asks to group tickets. A game written in Rust sits
//! behind the same traits where speed needs it ([`native`]), used only for the exact file
//! it reproduces.
//!
//! ```no_run
//! use chorus_games::{Library, Limits};
//! let games = Library::load_dir("games".as_ref(), Limits::default());
//! for broken in games.errors() {
//!     eprintln!("{broken}"); // file:line: reason
//! }
//! if let Some(game) = games.get("tictactoe") {
//!     println!("{} takes {}-{} players", game.meta().name, game.meta().players.min, game.meta().players.max);
//! }
//! ```
//!
//! # Layout
//! - [`game`]: the [`Game`] trait, players, tickets, verdicts, and reading a state's outcome.
//! - [`meta`]: a game's `meta` export, checked.
//! - [`js`]: [`JsGame`], a game file behind the trait, its results checked.
//! - [`sandbox`]: the engine one game file runs in, and its [`Limits`].
//! - [`library`]: [`Library`], every game file of a directory.
//! - [`live`]: [`Live`] states kept inside the engine between ticks: the realtime hot path,
//!   and [`LiveGame`], that path as a trait (JS or native).
//! - [`engine`]: [`engine::load`], which picks the native rules for the file they
//!   reproduce, the file's own otherwise.
//! - [`native`]: games in Rust, each standing in for one game file (by its SHA-256).
//! - `encode`: JSON written from a JavaScript value by Rust (faster than `JSON.stringify`).
//! - [`error`]: [`LoadError`] (file, line, reason) and [`RuleError`] (one call failed).

mod encode;
pub mod engine;
pub mod error;
pub mod game;
pub mod js;
pub mod library;
pub mod live;
pub mod meta;
pub mod native;
pub mod sandbox;

pub use error::{LoadError, RuleError};
pub use game::{Game, Outcome, Player, Refusal, RefusalCode, Ticket, Verdict, outcome, turn};
pub use js::JsGame;
pub use library::Library;
pub use live::{Live, LiveGame};
pub use meta::{Meta, PlayerCount};
pub use sandbox::Limits;
