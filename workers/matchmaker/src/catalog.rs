//! The games the matchmaker queues for: each one's seats and its [`Matcher`]. Every game
//! starts with the rating window; a game that brings its own grouping (a game file's
//! `match(tickets)`) is given its matcher with [`Catalog::with_matcher`].

use crate::matcher::{Matcher, RatingWindow, Seats};
use crate::settings::Settings;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One game, as the matchmaker knows it.
#[derive(Clone)]
pub struct Game {
    /// How many players a room takes.
    pub seats: Seats,
    /// How its queue becomes groups.
    pub matcher: Arc<dyn Matcher>,
}

/// The games, by name.
#[derive(Clone, Default)]
pub struct Catalog {
    /// The games.
    games: BTreeMap<String, Game>,
}

impl Catalog {
    /// The games of `settings`, each matched by the rating window.
    pub fn new(settings: &Settings) -> Catalog {
        let matcher: Arc<dyn Matcher> = Arc::new(RatingWindow(settings.window));
        let games = settings
            .games
            .iter()
            .map(|(name, &seats)| {
                (
                    name.clone(),
                    Game {
                        seats,
                        matcher: matcher.clone(),
                    },
                )
            })
            .collect();
        Catalog { games }
    }

    /// The same catalog, with `game` (added if new) grouped by `matcher`.
    pub fn with_matcher(mut self, game: &str, seats: Seats, matcher: Arc<dyn Matcher>) -> Catalog {
        self.games.insert(game.to_string(), Game { seats, matcher });
        self
    }

    /// The game called `name`.
    pub fn get(&self, name: &str) -> Option<&Game> {
        self.games.get(name)
    }
}
