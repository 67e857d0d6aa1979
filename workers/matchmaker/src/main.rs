//! `chorus-matchmaker`: the kit starts it (settings, NATS); it opens the `mm` bucket,
//! starts its view of the queue and its disconnect listener before its endpoints (so ready
//! means listening too), runs matching rounds, and serves `svc.mm.*` until SIGTERM or
//! Ctrl-C.

use chorus_games::{Library, Limits};
use chorus_kit::{Context, KitArgs, Service, Spec, WorkerArgs};
use chorus_matchmaker::settings::{self as defaults, Settings, parse_games};
use chorus_matchmaker::{Catalog, Matchmaker, matcher::Window, service};
use clap::Parser;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Settings of `chorus-matchmaker`.
#[derive(Debug, Parser)]
#[command(
    name = "chorus-matchmaker",
    version,
    about = "Chorus matchmaker: queues players per game and groups them by rating into rooms"
)]
struct Args {
    #[command(flatten)]
    kit: KitArgs,

    /// The game files (`*.js`): each is a game queued for, with its seats and its own
    /// `match(tickets)` when it exports one.
    #[arg(long, env = "CHORUS_GAMES_DIR", default_value = defaults::GAMES_DIR)]
    games_dir: PathBuf,

    /// Games queued for beyond the game files, with their seats: `name=n` or
    /// `name=min-max`, comma-separated (a game file of the same name wins).
    #[arg(long, env = "CHORUS_MM_GAMES", default_value = defaults::GAMES)]
    mm_games: String,

    /// The rating window when a player has just joined (± points).
    #[arg(long, env = "CHORUS_MM_WINDOW", default_value_t = defaults::WINDOW)]
    mm_window: f64,

    /// How much the window widens per second waited (points).
    #[arg(long, env = "CHORUS_MM_WIDEN_PER_SEC", default_value_t = defaults::WIDEN_PER_SEC)]
    mm_widen_per_sec: f64,

    /// The widest window (points).
    #[arg(long, env = "CHORUS_MM_MAX_WINDOW", default_value_t = defaults::MAX_WINDOW)]
    mm_max_window: f64,

    /// Seconds the oldest player waits for a room to fill before a smaller one starts.
    #[arg(long, env = "CHORUS_MM_FILL_SECS", default_value_t = defaults::FILL_SECS)]
    mm_fill_secs: u64,

    /// Milliseconds between matching rounds.
    #[arg(long, env = "CHORUS_MM_ROUND_MS", default_value_t = defaults::ROUND_MS)]
    mm_round_ms: u64,

    /// Seconds a ticket lives unmatched.
    #[arg(long, env = "CHORUS_MM_TICKET_TTL_SECS", default_value_t = defaults::TICKET_TTL_SECS)]
    mm_ticket_ttl_secs: u64,

    /// Seconds a replica's claim on tickets holds, should it die while opening the room.
    #[arg(long, env = "CHORUS_MM_CLAIM_SECS", default_value_t = defaults::CLAIM_SECS)]
    mm_claim_secs: u64,

    /// Seconds a closed connection is remembered (to cancel joins still in flight).
    #[arg(long, env = "CHORUS_MM_GONE_SECS", default_value_t = defaults::GONE_SECS)]
    mm_gone_secs: u64,

    /// The rating of guests and of players the rooms worker does not rate.
    #[arg(long, env = "CHORUS_MM_DEFAULT_RATING", default_value_t = defaults::DEFAULT_RATING)]
    mm_default_rating: f64,

    /// The rooms worker's method that says players' ratings.
    #[arg(long, env = "CHORUS_MM_RATING_SUBJECT", default_value = defaults::RATING_SUBJECT)]
    mm_rating_subject: String,

    /// The rooms worker's method that opens a room.
    #[arg(long, env = "CHORUS_MM_ROOMS_SUBJECT", default_value = defaults::ROOMS_SUBJECT)]
    mm_rooms_subject: String,

    /// Milliseconds to wait for a rating before using the default.
    #[arg(long, env = "CHORUS_MM_RATING_TIMEOUT_MS", default_value_t = defaults::RATING_TIMEOUT_MS)]
    mm_rating_timeout_ms: u64,

    /// Milliseconds to wait for a room before the players wait on.
    #[arg(long, env = "CHORUS_MM_ROOMS_TIMEOUT_MS", default_value_t = defaults::ROOMS_TIMEOUT_MS)]
    mm_rooms_timeout_ms: u64,

    /// Matches one replica makes at once.
    #[arg(long, env = "CHORUS_MM_CONCURRENCY", default_value_t = defaults::CONCURRENCY)]
    mm_concurrency: usize,

    /// Replicas of the `mm` bucket (in a NATS cluster).
    #[arg(long, env = "CHORUS_MM_REPLICAS", default_value_t = defaults::REPLICAS)]
    mm_replicas: usize,
}

impl Args {
    /// The worker's settings, bounded where a zero would make no sense.
    fn settings(&self) -> anyhow::Result<Settings> {
        Ok(Settings {
            games: parse_games(&self.mm_games)?,
            window: Window {
                base: self.mm_window,
                widen_per_sec: self.mm_widen_per_sec,
                max: self.mm_max_window,
                fill_after: Duration::from_secs(self.mm_fill_secs),
            },
            round: Duration::from_millis(self.mm_round_ms.max(10)),
            ticket_ttl: Duration::from_secs(self.mm_ticket_ttl_secs.max(1)),
            claim: Duration::from_secs(self.mm_claim_secs.max(1)),
            gone: Duration::from_secs(self.mm_gone_secs.max(1)),
            default_rating: self.mm_default_rating,
            rating_subject: self.mm_rating_subject.clone(),
            rooms_subject: self.mm_rooms_subject.clone(),
            rating_timeout: Duration::from_millis(self.mm_rating_timeout_ms),
            rooms_timeout: Duration::from_millis(self.mm_rooms_timeout_ms.max(1)),
            concurrency: self.mm_concurrency.max(1),
            replicas: self.mm_replicas.max(1),
        })
    }
}

impl WorkerArgs for Args {
    fn kit(&self) -> &KitArgs {
        &self.kit
    }
}

fn main() -> anyhow::Result<()> {
    chorus_kit::worker::main(Spec::new("mm"), setup)
}

async fn setup(args: Args, ctx: Context) -> anyhow::Result<Service<Arc<Matchmaker>>> {
    let settings = args.settings()?;
    let library = Library::load_dir(&args.games_dir, Limits::default());
    for broken in library.errors() {
        tracing::error!(%broken, "a game file did not load; its game is not offered");
    }
    let catalog = Catalog::from_library(&library, &settings);
    let games: Vec<&str> = catalog.names().collect();
    tracing::info!(?games, "queueing");
    let (mm, background) = chorus_matchmaker::open(ctx.nats.clone(), settings, catalog, &ctx.metrics).await?;
    ctx.essential("the matchmaker's rounds and listeners", background.run());
    Ok(service(mm))
}
