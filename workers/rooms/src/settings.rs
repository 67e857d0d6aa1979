//! The rooms worker's settings beyond the kit's, and their defaults in one place: the
//! binary's flags (`CHORUS_ROOMS_*`, `CHORUS_GAMES_*`) default to these constants, and
//! tests start from [`Settings::for_tests`].

use chorus_games::Limits;
use std::path::PathBuf;
use std::time::Duration;

/// `CHORUS_GAMES_DIR`.
pub const GAMES_DIR: &str = "games";
/// `CHORUS_GAMES_BUDGET_MS`: one call into a game's rules.
pub const BUDGET_MS: u64 = 100;
/// `CHORUS_GAMES_MEMORY_MB`: one game's engine.
pub const MEMORY_MB: usize = 32;
/// `CHORUS_ROOMS_LEASE_MS`: how long an owner's lease lasts unrenewed.
pub const LEASE_MS: u64 = 3000;
/// `CHORUS_ROOMS_SCAN_MS`: how often a replica looks for orphaned rooms.
pub const SCAN_MS: u64 = 1000;
/// `CHORUS_ROOMS_GRANT_SECS`: how long players may use a room's subjects.
pub const GRANT_SECS: u64 = 4 * 3600;
/// `CHORUS_ROOMS_COSMETICS_TIMEOUT_MS`: waiting for the store's skins at room creation.
pub const COSMETICS_TIMEOUT_MS: u64 = 300;
/// `CHORUS_ROOMS_FORWARD_TIMEOUT_MS`: waiting for the owner of a room.
pub const FORWARD_TIMEOUT_MS: u64 = 1500;
/// `CHORUS_ROOMS_ROUTE_TIMEOUT_MS`: the longest one request waits for a room to have an owner.
pub const ROUTE_TIMEOUT_MS: u64 = 4500;
/// `CHORUS_ROOMS_REPLICAS`: JetStream replicas of the log and the bucket.
pub const REPLICAS: usize = 1;
/// `CHORUS_ROOMS_LOG_MAX_AGE_SECS`: how long a room's log stays in JetStream.
pub const LOG_MAX_AGE_SECS: u64 = 7 * 24 * 3600;

/// `CHORUS_ROOMS_PAD_CODE_SECS`: how long a gamepad code may be claimed.
pub const PAD_CODE_SECS: u64 = 120;
/// `CHORUS_ROOMS_PAD_CLAIMS_PER_MIN`: claims one caller may make a minute.
pub const PAD_CLAIMS_PER_MIN: u32 = 10;
/// `CHORUS_ROOMS_PAD_FAILS_PER_SEC`: wrong codes one replica answers a second, in all.
pub const PAD_FAILS_PER_SEC: u32 = 20;

/// `CHORUS_ROOMS_TICK_THREADS` when unset: one per core.
pub fn tick_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Everything the rooms worker can be told.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the game files are (`*.js`), loaded once at start.
    pub games_dir: PathBuf,
    /// What one game's engine may use: time per call, memory.
    pub limits: Limits,
    /// This replica's name in leases (unique: a random one by default).
    pub replica: String,
    /// How long an owner's lease lasts unrenewed; a dead owner's rooms are taken over
    /// within about this.
    pub lease: Duration,
    /// How often a replica looks for orphaned rooms (leases run out).
    pub scan: Duration,
    /// How long the grants `int.rooms.create` gives players last.
    pub grant: Duration,
    /// How long a replica waits for a room's owner to answer a forwarded request.
    pub forward_timeout: Duration,
    /// The longest a request waits for a room to get an owner again.
    pub route_timeout: Duration,
    /// JetStream replicas of the `ROOMS` stream and the `rooms` bucket (in a cluster).
    pub replicas: usize,
    /// How long a room's log stays in JetStream (finished rooms live on in Postgres).
    pub log_max_age: Duration,
    /// Threads ticking realtime rooms (each with its own engine per game).
    pub tick_threads: usize,
    /// How long a new room waits for the store to say which skins its players own; without
    /// an answer the room starts with none.
    pub cosmetics_timeout: Duration,
    /// How long a gamepad code may be claimed.
    pub pad_code: Duration,
    /// Gamepad claims one caller may make a minute.
    pub pad_claims_per_min: u32,
    /// Wrong gamepad codes one replica answers a second, in all: guessing stays hopeless
    /// however many guest connections a guesser opens.
    pub pad_fails_per_sec: u32,
}

impl Settings {
    /// Defaults, with the games in `games_dir` and a random replica name.
    pub fn new(games_dir: PathBuf) -> Settings {
        Settings {
            games_dir,
            limits: Limits {
                budget: Duration::from_millis(BUDGET_MS),
                memory_bytes: MEMORY_MB << 20,
                ..Limits::default()
            },
            replica: crate::ids::replica(),
            lease: Duration::from_millis(LEASE_MS),
            scan: Duration::from_millis(SCAN_MS),
            grant: Duration::from_secs(GRANT_SECS),
            forward_timeout: Duration::from_millis(FORWARD_TIMEOUT_MS),
            route_timeout: Duration::from_millis(ROUTE_TIMEOUT_MS),
            replicas: REPLICAS,
            log_max_age: Duration::from_secs(LOG_MAX_AGE_SECS),
            tick_threads: tick_threads(),
            cosmetics_timeout: Duration::from_millis(COSMETICS_TIMEOUT_MS),
            pad_code: Duration::from_secs(PAD_CODE_SECS),
            pad_claims_per_min: PAD_CLAIMS_PER_MIN,
            pad_fails_per_sec: PAD_FAILS_PER_SEC,
        }
    }

    /// Defaults over the repository's own `games/`.
    pub fn for_tests() -> Settings {
        Settings::new(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../games"))
    }
}
