//! The matchmaker's settings (beyond the kit's), their defaults, and the list of games it
//! queues for with their seats (`CHORUS_MM_GAMES`, until game files say it themselves).

use crate::error::MmError;
use crate::matcher::{Seats, Window};
use std::collections::BTreeMap;
use std::time::Duration;

/// Where the game files are (`CHORUS_GAMES_DIR`, shared with the rooms worker).
pub const GAMES_DIR: &str = "games";
/// Games queued for beyond the game files: none.
pub const GAMES: &str = "";
/// The rating window when a player has just joined (± points).
pub const WINDOW: f64 = 100.0;
/// How much the window widens per second waited.
pub const WIDEN_PER_SEC: f64 = 50.0;
/// The widest window.
pub const MAX_WINDOW: f64 = 1000.0;
/// Seconds the oldest player waits for a room to fill before a smaller one starts.
pub const FILL_SECS: u64 = 5;
/// Seconds between matching rounds, in milliseconds.
pub const ROUND_MS: u64 = 250;
/// How long a ticket lives unmatched, in seconds.
pub const TICKET_TTL_SECS: u64 = 600;
/// How long a claim on a ticket holds if its replica dies mid-match, in seconds.
pub const CLAIM_SECS: u64 = 15;
/// How long a closed connection is remembered, in seconds (a join still in flight when
/// its connection closed is cancelled when it lands).
pub const GONE_SECS: u64 = 120;
/// The rating everybody starts with, and guests keep.
pub const DEFAULT_RATING: f64 = 1500.0;
/// The rooms worker's method that says players' ratings.
pub const RATING_SUBJECT: &str = "int.rating.of";
/// The rooms worker's method that opens a room.
pub const ROOMS_SUBJECT: &str = "int.rooms.create";
/// How long to wait for ratings, in milliseconds; then 1500.
pub const RATING_TIMEOUT_MS: u64 = 500;
/// How long to wait for a room, in milliseconds; then the players wait on.
pub const ROOMS_TIMEOUT_MS: u64 = 5_000;
/// Matches made at once by one replica.
pub const CONCURRENCY: usize = 64;
/// Replicas of the `mm` bucket (in a NATS cluster).
pub const REPLICAS: usize = 1;

/// Everything the matchmaker is told.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The games and their seats.
    pub games: BTreeMap<String, Seats>,
    /// The default matcher's window.
    pub window: Window,
    /// Time between matching rounds.
    pub round: Duration,
    /// How long a ticket lives unmatched (the bucket's max age).
    pub ticket_ttl: Duration,
    /// How long a claim holds.
    pub claim: Duration,
    /// How long a closed connection is remembered.
    pub gone: Duration,
    /// The rating of guests and of anyone the rooms worker does not rate.
    pub default_rating: f64,
    /// Where to ask for ratings.
    pub rating_subject: String,
    /// Where to ask for rooms.
    pub rooms_subject: String,
    /// How long to wait for ratings.
    pub rating_timeout: Duration,
    /// How long to wait for a room.
    pub rooms_timeout: Duration,
    /// Matches made at once.
    pub concurrency: usize,
    /// Replicas of the bucket.
    pub replicas: usize,
}

impl Settings {
    /// The defaults, with `games`: what tests start from.
    pub fn with_games(games: &str) -> Result<Settings, MmError> {
        Ok(Settings {
            games: parse_games(games)?,
            window: Window {
                base: WINDOW,
                widen_per_sec: WIDEN_PER_SEC,
                max: MAX_WINDOW,
                fill_after: Duration::from_secs(FILL_SECS),
            },
            round: Duration::from_millis(ROUND_MS),
            ticket_ttl: Duration::from_secs(TICKET_TTL_SECS),
            claim: Duration::from_secs(CLAIM_SECS),
            gone: Duration::from_secs(GONE_SECS),
            default_rating: DEFAULT_RATING,
            rating_subject: RATING_SUBJECT.into(),
            rooms_subject: ROOMS_SUBJECT.into(),
            rating_timeout: Duration::from_millis(RATING_TIMEOUT_MS),
            rooms_timeout: Duration::from_millis(ROOMS_TIMEOUT_MS),
            concurrency: CONCURRENCY,
            replicas: REPLICAS,
        })
    }
}

/// Reads `name=seats` pairs, comma-separated, where seats is `n` or `min-max`:
/// `tictactoe=2,arena=2-8`.
pub fn parse_games(list: &str) -> Result<BTreeMap<String, Seats>, MmError> {
    let mut games = BTreeMap::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = || MmError::Setting(format!("CHORUS_MM_GAMES: {item:?} is not name=n or name=min-max"));
        let (name, seats) = item.split_once('=').ok_or_else(bad)?;
        let (min, max) = seats.split_once('-').unwrap_or((seats, seats));
        let (min, max): (usize, usize) = (
            min.trim().parse().map_err(|_| bad())?,
            max.trim().parse().map_err(|_| bad())?,
        );
        let name_ok = !name.contains('.') && chorus_protocol::subject::validate_subject(name.trim()).is_ok();
        if min < 1 || max < min || !name_ok {
            return Err(bad());
        }
        games.insert(name.trim().to_string(), Seats { min, max });
    }
    Ok(games)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn games_are_read_from_one_line() {
        let games = parse_games("tictactoe=2, arena=2-8").unwrap();
        assert_eq!(games["tictactoe"], Seats { min: 2, max: 2 });
        assert_eq!(games["arena"], Seats { min: 2, max: 8 });
        for bad in ["x", "x=0", "x=3-2", "a.b=2", "x=two"] {
            assert!(parse_games(bad).is_err(), "{bad}");
        }
    }
}
