//! `chorus-voice`: the kit starts it (settings, NATS); it opens the `voice` bucket, starts
//! the sweep of timed-out members and serves `svc.voice.*` until SIGTERM or Ctrl-C.

use chorus_kit::{Context, KitArgs, Service, Spec, WorkerArgs};
use chorus_voice::ice::IceConfig;
use chorus_voice::{Settings, Voice, channels::Channels, service};
use clap::Parser;
use std::sync::Arc;
use std::time::Duration;

/// Settings of `chorus-voice`.
#[derive(Debug, Parser)]
#[command(
    name = "chorus-voice",
    version,
    about = "Chorus voice worker: voice channels, their members and the rights to signal WebRTC between them"
)]
struct Args {
    #[command(flatten)]
    kit: KitArgs,

    /// The most members of one channel (a WebRTC mesh: every member sends to every other).
    #[arg(long, env = "CHORUS_VOICE_MAX_PEERS", default_value_t = 6)]
    voice_max_peers: usize,

    /// Seconds a member stays without a heartbeat (clients beat every third of it).
    #[arg(long, env = "CHORUS_VOICE_TTL_SECS", default_value_t = 15)]
    voice_ttl_secs: u64,

    /// Seconds the rights to signal a peer last before a heartbeat renews them.
    #[arg(long, env = "CHORUS_VOICE_GRANT_SECS", default_value_t = 3600)]
    voice_grant_secs: u64,

    /// STUN servers offered to members, comma-separated (`stun:host:3478`); none by default,
    /// which is enough between browsers on one machine or one network.
    #[arg(long, env = "CHORUS_VOICE_STUN_URLS", value_delimiter = ',', num_args = 0..)]
    voice_stun_urls: Vec<String>,

    /// TURN servers offered to members, comma-separated (`turn:host:3478?transport=udp`);
    /// offered only with CHORUS_VOICE_TURN_SECRET.
    #[arg(long, env = "CHORUS_VOICE_TURN_URLS", value_delimiter = ',', num_args = 0..)]
    voice_turn_urls: Vec<String>,

    /// The secret shared with the TURN server (coturn `static-auth-secret`), from which
    /// short-lived TURN credentials are made for each member.
    #[arg(long, env = "CHORUS_VOICE_TURN_SECRET", hide_env_values = true)]
    voice_turn_secret: Option<String>,

    /// Seconds the TURN credentials handed to a member last.
    #[arg(long, env = "CHORUS_VOICE_TURN_TTL_SECS", default_value_t = 3600)]
    voice_turn_ttl_secs: u64,
}

impl WorkerArgs for Args {
    fn kit(&self) -> &KitArgs {
        &self.kit
    }
}

fn main() -> anyhow::Result<()> {
    chorus_kit::worker::main(Spec::new("voice"), setup)
}

async fn setup(args: Args, ctx: Context) -> anyhow::Result<Service<Arc<Voice>>> {
    let trimmed = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let settings = Settings {
        max_peers: args.voice_max_peers.max(2),
        ttl: Duration::from_secs(args.voice_ttl_secs.max(3)),
        grant_secs: args.voice_grant_secs.max(60),
        ice: IceConfig {
            stun: trimmed(args.voice_stun_urls),
            turn: trimmed(args.voice_turn_urls),
            turn_secret: args.voice_turn_secret.filter(|s| !s.is_empty()),
            turn_ttl_secs: args.voice_turn_ttl_secs,
        },
    };
    let channels = Channels::open(ctx.nats.clone(), ctx.metrics.waits()).await?;
    let voice = Voice::new(channels, ctx.nats.clone(), settings);
    ctx.essential("the voice sweep", voice.clone().sweep_forever());
    Ok(service(voice))
}
