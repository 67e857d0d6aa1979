//! `chorus-rooms`: the kit starts it (settings, NATS, Postgres with migrations); it loads
//! the game files, opens the room log and bucket, scans for orphaned rooms, and serves
//! `svc.rooms.*`, `int.rooms.create`, `svc.rating.*` and `int.rating.of` until SIGTERM.

use chorus_kit::{Context, KitArgs, Service, Spec, WorkerArgs};
use chorus_rooms::settings::{self as defaults, Settings};
use chorus_rooms::{MIGRATIONS, Rooms, service};
use clap::Parser;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Settings of `chorus-rooms`.
#[derive(Debug, Parser)]
#[command(
    name = "chorus-rooms",
    version,
    about = "Chorus rooms worker: authoritative, event-sourced game rooms; ratings"
)]
struct Args {
    #[command(flatten)]
    kit: KitArgs,

    /// Directory of game files (`*.js`), loaded at start; a broken one is logged and skipped.
    #[arg(long, env = "CHORUS_GAMES_DIR", default_value = defaults::GAMES_DIR)]
    games_dir: PathBuf,

    /// Longest one call into a game's rules may run, in ms; past it the input fails `internal`.
    #[arg(long, env = "CHORUS_GAMES_BUDGET_MS", default_value_t = defaults::BUDGET_MS)]
    games_budget_ms: u64,

    /// Memory one game's engine may use, in MiB.
    #[arg(long, env = "CHORUS_GAMES_MEMORY_MB", default_value_t = defaults::MEMORY_MB)]
    games_memory_mb: usize,

    /// This replica's name in owner leases (default: a random one; must be unique).
    #[arg(long, env = "CHORUS_ROOMS_REPLICA")]
    rooms_replica: Option<String>,

    /// How long an owner's lease lasts unrenewed, in ms: a dead owner's rooms move on after it.
    #[arg(long, env = "CHORUS_ROOMS_LEASE_MS", default_value_t = defaults::LEASE_MS)]
    rooms_lease_ms: u64,

    /// How often to look for rooms whose owner died, in ms.
    #[arg(long, env = "CHORUS_ROOMS_SCAN_MS", default_value_t = defaults::SCAN_MS)]
    rooms_scan_ms: u64,

    /// How long players' grants on a room's subjects last, in seconds.
    #[arg(long, env = "CHORUS_ROOMS_GRANT_SECS", default_value_t = defaults::GRANT_SECS)]
    rooms_grant_secs: u64,

    /// How long to wait for a room's owner to answer a forwarded call, in ms.
    #[arg(long, env = "CHORUS_ROOMS_FORWARD_TIMEOUT_MS", default_value_t = defaults::FORWARD_TIMEOUT_MS)]
    rooms_forward_timeout_ms: u64,

    /// Longest a call waits for a room to get a new owner, in ms (then `unavailable`).
    #[arg(long, env = "CHORUS_ROOMS_ROUTE_TIMEOUT_MS", default_value_t = defaults::ROUTE_TIMEOUT_MS)]
    rooms_route_timeout_ms: u64,

    /// JetStream replicas of the `ROOMS` stream and the `rooms` bucket (in a cluster).
    #[arg(long, env = "CHORUS_ROOMS_REPLICAS", default_value_t = defaults::REPLICAS)]
    rooms_replicas: usize,

    /// How long a room's log stays in JetStream, in seconds (finished rooms are in Postgres).
    #[arg(long, env = "CHORUS_ROOMS_LOG_MAX_AGE_SECS", default_value_t = defaults::LOG_MAX_AGE_SECS)]
    rooms_log_max_age_secs: u64,

    /// How long a new room waits for the store to say which skins its players own, in ms
    /// (without an answer the room starts with none).
    #[arg(long, env = "CHORUS_ROOMS_COSMETICS_TIMEOUT_MS", default_value_t = defaults::COSMETICS_TIMEOUT_MS)]
    rooms_cosmetics_timeout_ms: u64,

    /// How long a gamepad code (`svc.rooms.pad`) may be claimed, in seconds.
    #[arg(long, env = "CHORUS_ROOMS_PAD_CODE_SECS", default_value_t = defaults::PAD_CODE_SECS)]
    rooms_pad_code_secs: u64,

    /// Gamepad claims (`svc.rooms.claim`) one caller may make a minute.
    #[arg(long, env = "CHORUS_ROOMS_PAD_CLAIMS_PER_MIN", default_value_t = defaults::PAD_CLAIMS_PER_MIN)]
    rooms_pad_claims_per_min: u32,

    /// Wrong gamepad codes one replica answers a second, in all (then `rate_limited`).
    #[arg(long, env = "CHORUS_ROOMS_PAD_FAILS_PER_SEC", default_value_t = defaults::PAD_FAILS_PER_SEC)]
    rooms_pad_fails_per_sec: u32,

    /// Threads ticking realtime rooms (default: one per core).
    #[arg(long, env = "CHORUS_ROOMS_TICK_THREADS")]
    rooms_tick_threads: Option<usize>,
}

impl WorkerArgs for Args {
    fn kit(&self) -> &KitArgs {
        &self.kit
    }
}

impl Args {
    fn settings(&self) -> Settings {
        let mut s = Settings::new(self.games_dir.clone());
        s.limits.budget = Duration::from_millis(self.games_budget_ms.max(1));
        s.limits.memory_bytes = self.games_memory_mb.max(1) << 20;
        if let Some(replica) = &self.rooms_replica {
            s.replica = replica.clone();
        }
        s.lease = Duration::from_millis(self.rooms_lease_ms.max(300));
        s.scan = Duration::from_millis(self.rooms_scan_ms.max(10));
        s.grant = Duration::from_secs(self.rooms_grant_secs.max(1));
        s.forward_timeout = Duration::from_millis(self.rooms_forward_timeout_ms.max(1));
        s.route_timeout = Duration::from_millis(self.rooms_route_timeout_ms.max(1));
        s.replicas = self.rooms_replicas.max(1);
        s.log_max_age = Duration::from_secs(self.rooms_log_max_age_secs.max(60));
        s.cosmetics_timeout = Duration::from_millis(self.rooms_cosmetics_timeout_ms);
        s.pad_code = Duration::from_secs(self.rooms_pad_code_secs.max(10));
        s.pad_claims_per_min = self.rooms_pad_claims_per_min.max(1);
        s.pad_fails_per_sec = self.rooms_pad_fails_per_sec.max(1);
        if let Some(threads) = self.rooms_tick_threads {
            s.tick_threads = threads.max(1);
        }
        s
    }
}

fn main() -> anyhow::Result<()> {
    chorus_kit::worker::main(Spec::new("rooms").migrations(MIGRATIONS), setup)
}

async fn setup(args: Args, ctx: Context) -> anyhow::Result<Service<Arc<Rooms>>> {
    let db = ctx.db.clone().expect("a spec with migrations has a database");
    let rooms = Rooms::open(ctx.nats.clone(), db, args.settings(), ctx.metrics.waits()).await?;
    let lateness = rooms.ticker.lateness();
    ctx.metrics.with_registry(|registry| {
        registry.register(
            "rooms_tick_lateness_seconds",
            "How late realtime rooms' ticks start",
            lateness,
        )
    });
    let forget = rooms.clone();
    ctx.every(Duration::from_secs(60), move || forget.pads.forget_idle());
    ctx.essential(
        "the orphaned-room scan",
        chorus_rooms::routing::scan(rooms.clone()),
    );
    Ok(service(rooms))
}
