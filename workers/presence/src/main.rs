//! `chorus-presence`: reads its settings, connects, opens the `presence` bucket, and runs
//! the event listener, the dead-bridge sweeper and `svc.presence.*` until SIGTERM.

use chorus_kit::worker::shutdown_signal;
use chorus_kit::{KitArgs, Worker};
use chorus_presence::notify::Notifier;
use chorus_presence::{PresenceStore, Settings, run_background, service};
use clap::Parser;
use std::time::Duration;

/// Settings of `chorus-presence`.
#[derive(Debug, Parser)]
#[command(
    name = "chorus-presence",
    version,
    about = "Chorus presence worker: who is online, told to their friends"
)]
struct Args {
    #[command(flatten)]
    kit: KitArgs,

    /// Seconds a bridge's heartbeat keeps its users online; a few times the bridges'
    /// CHORUS_PRESENCE_HEARTBEAT_MS, so one late beat does not send everyone offline.
    #[arg(long, env = "CHORUS_PRESENCE_TTL_SECS", default_value_t = 15)]
    presence_ttl_secs: u64,

    /// How long to wait for the accounts worker's list of a user's friends (ms).
    #[arg(long, env = "CHORUS_PRESENCE_FRIENDS_TIMEOUT_MS", default_value_t = 2_000)]
    friends_timeout_ms: u64,
}

fn main() -> anyhow::Result<()> {
    chorus_kit::worker::main(|a: &Args| &a.kit, run)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let settings = Settings {
        ttl: Duration::from_secs(args.presence_ttl_secs.max(1)),
        friends_timeout: Duration::from_millis(args.friends_timeout_ms),
    };
    let worker = Worker::start("presence", &args.kit, None).await?;
    let store = PresenceStore::open(worker.nats.clone(), settings.ttl).await?;
    let notifier = Notifier::new(worker.nats.clone(), settings.friends_timeout);
    let background = tokio::spawn(run_background(worker.nats.clone(), store.clone(), settings));
    let svc = service(store, notifier);
    tokio::select! {
        served = worker.run(svc, shutdown_signal()) => served?,
        ended = background => {
            ended??;
            anyhow::bail!("the presence event listener ended");
        }
    }
    Ok(())
}
