//! The games the matchmaker queues for: each one's seats and its [`Matcher`]. Every game
//! starts with the rating window; a game file that exports `match(tickets)` groups its
//! own queue ([`Catalog::from_library`]), and a test or a Rust game can bring a matcher
//! with [`Catalog::with_matcher`].

use crate::game_file::GameFileMatcher;
use crate::matcher::{Matcher, RatingWindow, Seats};
use crate::settings::Settings;
use chorus_games::Library;
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

    /// Every game of `library` (seats from its `meta`, its own `match` when it has one),
    /// and those of `settings` that the library lacks.
    pub fn from_library(library: &Library, settings: &Settings) -> Catalog {
        let mut catalog = Catalog::new(settings);
        let fallback = RatingWindow(settings.window);
        for id in library.ids() {
            let game = library.get(id).expect("listed");
            let players = &game.meta().players;
            let seats = Seats {
                min: players.min as usize,
                max: players.max as usize,
            };
            let matcher: Arc<dyn Matcher> = match game.has_match() {
                true => Arc::new(GameFileMatcher {
                    game: game.clone(),
                    fallback,
                }),
                false => Arc::new(fallback),
            };
            catalog = catalog.with_matcher(id, seats, matcher);
        }
        catalog
    }

    /// The names of the games.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.games.keys().map(String::as_str)
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
