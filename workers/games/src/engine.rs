//! Which engine runs a game file: [`load`] is the one place that decides, the native
//! rules ([`crate::native`]) when the file's bytes are the ones they were written against,
//! the file itself in QuickJS ([`JsGame`]) otherwise. Each decision is logged at info
//! (`implementation`), and either way the result is a [`LiveGame`].

use crate::error::LoadError;
use crate::game::Game;
use crate::js::JsGame;
use crate::live::LiveGame;
use crate::native::{self, NativeArena};
use crate::sandbox::Limits;
use std::path::Path;
use std::sync::Arc;

/// Loads the game file at `file`: checked as a game file always (its name, its exports,
/// its `meta`), then run natively when its bytes are those a native game was written
/// against ([`native::for_file`]), else in its own sandbox with `limits`.
pub fn load(file: &Path, limits: Limits) -> Result<Arc<dyn LiveGame>, LoadError> {
    let js = JsGame::load(file, limits)?;
    // JsGame::load has read the file; reading it again for the hash is cheap.
    let source = std::fs::read(file).map_err(|e| LoadError {
        file: file.to_path_buf(),
        line: None,
        reason: format!("reading it: {e}"),
    })?;
    let game: Arc<dyn LiveGame> = match native::for_file(&source) {
        Some(native::Kind::Arena) => Arc::new(NativeArena::new(js.id().to_string(), js.meta().clone())),
        None => Arc::new(js),
    };
    tracing::info!(
        game = game.id(),
        file = %file.display(),
        implementation = game.implementation(),
        "game loaded"
    );
    Ok(game)
}
