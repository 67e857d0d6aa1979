//! A game file's own grouping: its `match(tickets)` export, run in the games crate's
//! sandbox, as a [`Matcher`]. It gets `[{user, name, rating, waited_ms}]` and returns
//! groups of user ids. When the file has no `match`, or its `match` fails (throws, runs
//! too long, returns nonsense), the rating window groups the queue instead, so a broken
//! game file delays nobody; what a file returns is checked like any matcher's.

use crate::matcher::{Matcher, RatingWindow, Seats, Waiting};
use chorus_games::{Game, Ticket};
use std::collections::HashMap;
use std::sync::Arc;

/// A game file's `match`, with the rating window behind it.
pub struct GameFileMatcher {
    /// The game.
    pub game: Arc<dyn Game>,
    /// Used when the file leaves matching to us or fails.
    pub fallback: RatingWindow,
}

impl Matcher for GameFileMatcher {
    fn groups(&self, seats: Seats, waiting: &[Waiting]) -> Vec<Vec<usize>> {
        let tickets: Vec<Ticket> = waiting
            .iter()
            .map(|w| Ticket {
                user: w.user.clone(),
                name: w.name.clone(),
                rating: w.rating,
                waited_ms: w.waited.as_millis() as u64,
            })
            .collect();
        let groups = match self.game.match_tickets(&tickets) {
            Ok(Some(groups)) => groups,
            Ok(None) => return self.fallback.groups(seats, waiting),
            Err(e) => {
                tracing::warn!(game = self.game.id(), error = %e, "the game's match failed; the rating window matches");
                return self.fallback.groups(seats, waiting);
            }
        };
        let index: HashMap<&str, usize> = waiting
            .iter()
            .enumerate()
            .map(|(i, w)| (w.user.as_str(), i))
            .collect();
        groups
            .into_iter()
            .map(|g| {
                g.iter()
                    .map(|u| index.get(u.as_str()).copied().unwrap_or(usize::MAX))
                    .collect()
            })
            .collect()
    }
}
