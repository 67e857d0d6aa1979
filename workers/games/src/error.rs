//! Why a game file could not be loaded ([`LoadError`]: with the file, the line and the
//! reason, so its author can fix it) and why one call into a game failed ([`RuleError`]:
//! the rooms worker answers that input `internal` and the room lives on).

use std::path::PathBuf;

/// A game file that cannot be used. Other games load regardless.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {reason}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct LoadError {
    /// The file.
    pub file: PathBuf,
    /// The line the engine blamed, when it named one.
    pub line: Option<u32>,
    /// What is wrong, for the game's author.
    pub reason: String,
}

/// One call into a game's rules failed: the input (or tick) it served fails, the room's
/// state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The rule threw.
    #[error("{function} threw: {message}")]
    Threw {
        /// The exported function that was called.
        function: &'static str,
        /// The exception's message, with where it was thrown when known.
        message: String,
    },
    /// The rule ran past its time budget and was interrupted.
    #[error("{function} ran past its time budget of {budget_ms} ms")]
    TooLong {
        /// The exported function that was called.
        function: &'static str,
        /// The budget.
        budget_ms: u64,
    },
    /// The game's engine ran out of its memory limit.
    #[error("{function} ran out of memory")]
    OutOfMemory {
        /// The exported function that was called.
        function: &'static str,
    },
    /// The rule returned something the contract does not allow.
    #[error("{function} returned {what}")]
    BadReturn {
        /// The exported function that was called.
        function: &'static str,
        /// What was wrong with it.
        what: String,
    },
    /// A value could not cross between Rust and the engine (not JSON, too deep).
    #[error("{function}: {what}")]
    Convert {
        /// The exported function that was called.
        function: &'static str,
        /// What failed.
        what: String,
    },
}
