//! `chorus-presence`: the kit starts it (settings, NATS); it opens the `presence` bucket,
//! subscribes to the bridges' events before its endpoints (so ready means listening too),
//! runs the event listener and the dead-bridge sweeper (their end stops it with an error)
//! and serves `svc.presence.*` until SIGTERM or Ctrl-C.

use chorus_kit::{Context, KitArgs, Service, Spec, WorkerArgs};
use chorus_presence::notify::Notifier;
use chorus_presence::{Background, PresenceStore, Settings, service};
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

impl WorkerArgs for Args {
    fn kit(&self) -> &KitArgs {
        &self.kit
    }
}

fn main() -> anyhow::Result<()> {
    chorus_kit::worker::main(Spec::new("presence"), setup)
}

async fn setup(args: Args, ctx: Context) -> anyhow::Result<Service<(PresenceStore, Notifier)>> {
    let settings = Settings {
        ttl: Duration::from_secs(args.presence_ttl_secs.max(1)),
        friends_timeout: Duration::from_millis(args.friends_timeout_ms),
    };
    let waits = ctx.metrics.waits();
    let store = PresenceStore::open(ctx.nats.clone(), settings.ttl)
        .await?
        .with_waits(waits.clone());
    let notifier = Notifier::new(ctx.nats.clone(), settings.friends_timeout).with_waits(waits);
    let background = Background::open(ctx.nats.clone(), store.clone(), settings).await?;
    ctx.essential("the presence event listener", background.run());
    Ok(service(store, notifier))
}
