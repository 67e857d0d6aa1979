//! [`Library`]: every game file of a directory (`games/`), loaded once at start. A broken
//! file is reported ([`LoadError`], with its line) and left out; the other games load, and
//! the worker starts regardless.

use crate::error::LoadError;
use crate::game::Game;
use crate::sandbox::Limits;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The games a worker can run, by id.
#[derive(Clone, Default)]
pub struct Library {
    /// Loaded games, by id (file name without `.js`).
    games: BTreeMap<String, Arc<dyn Game>>,
    /// The files that could not be loaded, and why.
    errors: Vec<LoadError>,
}

impl Library {
    /// Loads every `*.js` file directly in `dir`, each in its own sandbox with `limits`
    /// (or natively, for a file a native game reproduces: see [`crate::engine::load`]).
    /// A directory that cannot be read is itself a load error.
    pub fn load_dir(dir: &Path, limits: Limits) -> Library {
        let mut library = Library::default();
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                library.errors.push(LoadError {
                    file: dir.to_path_buf(),
                    line: None,
                    reason: format!("reading the games directory: {e}"),
                });
                return library;
            }
        };
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "js"))
            .collect();
        files.sort();
        for file in files {
            match crate::engine::load(&file, limits) {
                Ok(game) => library.insert(game),
                Err(e) => {
                    tracing::error!(error = %e, "a game file could not be loaded; the other games run");
                    library.errors.push(e);
                }
            }
        }
        library
    }

    /// Adds (or replaces) a game, e.g. one written in Rust behind the [`Game`] trait.
    pub fn insert(&mut self, game: Arc<dyn Game>) {
        self.games.insert(game.id().to_string(), game);
    }

    /// The game `id`, if loaded.
    pub fn get(&self, id: &str) -> Option<Arc<dyn Game>> {
        self.games.get(id).cloned()
    }

    /// The ids of the loaded games, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.games.keys().map(String::as_str)
    }

    /// The files that could not be loaded.
    pub fn errors(&self) -> &[LoadError] {
        &self.errors
    }
}
