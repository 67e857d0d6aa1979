//! `chorus-chat`: the kit starts it (settings, NATS); it creates or opens its memory-only
//! KV buckets, forgets quiet writers' rate counters every minute, and serves `svc.chat.*`
//! until SIGTERM or Ctrl-C.

use chorus_chat::settings::{self as defaults, Settings};
use chorus_chat::{Chat, service};
use chorus_kit::{Context, KitArgs, Service, Spec, WorkerArgs};
use clap::Parser;
use std::sync::Arc;
use std::time::Duration;

/// Settings of `chorus-chat`.
#[derive(Debug, Parser)]
#[command(
    name = "chorus-chat",
    version,
    about = "Chorus chat worker: channels and direct messages, kept in memory for a TTL"
)]
struct Args {
    #[command(flatten)]
    kit: KitArgs,

    /// How long a message lives, in seconds (an edit does not extend it).
    #[arg(long, env = "CHORUS_CHAT_TTL_SECS", default_value_t = defaults::TTL_SECS)]
    chat_ttl_secs: u64,

    /// Most bytes of live messages held (in memory); past it, sends answer `unavailable`.
    #[arg(long, env = "CHORUS_CHAT_MAX_BYTES", default_value_t = defaults::MAX_BYTES)]
    chat_max_bytes: i64,

    /// Replicas of the `chat` and `chat-channels` buckets (in a NATS cluster).
    #[arg(long, env = "CHORUS_CHAT_REPLICAS", default_value_t = defaults::REPLICAS)]
    chat_replicas: usize,

    /// How long the marker left by an expired message stays visible to KV watchers, in seconds.
    #[arg(long, env = "CHORUS_CHAT_MARKER_SECS", default_value_t = defaults::MARKER_SECS)]
    chat_marker_secs: u64,

    /// Longest message, in characters.
    #[arg(long, env = "CHORUS_CHAT_MAX_CHARS", default_value_t = defaults::MAX_CHARS)]
    chat_max_chars: usize,

    /// Messages (sends, direct messages, edits) per second per user, per worker process.
    #[arg(long, env = "CHORUS_CHAT_RATE_PER_SEC", default_value_t = defaults::RATE_PER_SEC)]
    chat_rate_per_sec: u32,

    /// Messages a user may send at once before the rate applies.
    #[arg(long, env = "CHORUS_CHAT_RATE_BURST", default_value_t = defaults::RATE_BURST)]
    chat_rate_burst: u32,

    /// Messages `history` returns when the request names no limit.
    #[arg(long, env = "CHORUS_CHAT_HISTORY_LIMIT", default_value_t = defaults::HISTORY_LIMIT)]
    chat_history_limit: usize,

    /// Most messages one `history` request returns.
    #[arg(long, env = "CHORUS_CHAT_HISTORY_MAX", default_value_t = defaults::HISTORY_MAX)]
    chat_history_max: usize,

    /// A history read idle this long (ms) is taken as complete; a fallback only.
    #[arg(long, env = "CHORUS_CHAT_HISTORY_IDLE_MS", default_value_t = defaults::HISTORY_IDLE_MS)]
    chat_history_idle_ms: u64,

    /// How long a channel member's grant to read the channel lasts, in seconds.
    #[arg(long, env = "CHORUS_CHAT_GRANT_SECS", default_value_t = defaults::GRANT_SECS)]
    chat_grant_secs: u64,

    /// How long a mute lasts when the owner names no duration, in seconds.
    #[arg(long, env = "CHORUS_CHAT_MUTE_SECS", default_value_t = defaults::MUTE_SECS)]
    chat_mute_secs: u64,

    /// Longest mute, in seconds.
    #[arg(long, env = "CHORUS_CHAT_MAX_MUTE_SECS", default_value_t = defaults::MAX_MUTE_SECS)]
    chat_max_mute_secs: u64,

    /// Most members of one channel.
    #[arg(long, env = "CHORUS_CHAT_MAX_MEMBERS", default_value_t = defaults::MAX_MEMBERS)]
    chat_max_members: usize,

    /// Most bytes of channel metadata held (in memory).
    #[arg(long, env = "CHORUS_CHAT_CHANNELS_MAX_BYTES", default_value_t = defaults::CHANNELS_MAX_BYTES)]
    chat_channels_max_bytes: i64,

    /// How long to wait for the accounts worker to say whether two users block each other
    /// (ms); without an answer the direct message is refused.
    #[arg(long, env = "CHORUS_CHAT_BLOCKS_TIMEOUT_MS", default_value_t = defaults::BLOCKS_TIMEOUT_MS)]
    chat_blocks_timeout_ms: u64,

    /// The accounts worker's method that says whether two users block each other.
    #[arg(long, env = "CHORUS_CHAT_BLOCKS_SUBJECT", default_value = defaults::BLOCKS_SUBJECT)]
    chat_blocks_subject: String,
}

impl Args {
    /// The worker's settings, bounded where a zero would make no sense.
    fn settings(&self) -> Settings {
        Settings {
            ttl: Duration::from_secs(self.chat_ttl_secs.max(1)),
            max_bytes: self.chat_max_bytes,
            replicas: self.chat_replicas.max(1),
            marker_ttl: Duration::from_secs(self.chat_marker_secs.max(1)),
            max_chars: self.chat_max_chars,
            rate_per_sec: self.chat_rate_per_sec,
            rate_burst: self.chat_rate_burst,
            history_limit: self.chat_history_limit,
            history_max: self.chat_history_max,
            history_idle: Duration::from_millis(self.chat_history_idle_ms),
            grant_ttl: Duration::from_secs(self.chat_grant_secs),
            mute: Duration::from_secs(self.chat_mute_secs),
            max_mute: Duration::from_secs(self.chat_max_mute_secs),
            max_members: self.chat_max_members,
            channels_max_bytes: self.chat_channels_max_bytes,
            blocks_timeout: Duration::from_millis(self.chat_blocks_timeout_ms),
            blocks_subject: self.chat_blocks_subject.clone(),
        }
    }
}

impl WorkerArgs for Args {
    fn kit(&self) -> &KitArgs {
        &self.kit
    }
}

fn main() -> anyhow::Result<()> {
    chorus_kit::worker::main(Spec::new("chat"), setup)
}

async fn setup(args: Args, ctx: Context) -> anyhow::Result<Service<Arc<Chat>>> {
    let chat = Chat::open(ctx.nats.clone(), args.settings(), ctx.metrics.waits()).await?;
    let upkeep = chat.clone();
    ctx.every(Duration::from_secs(60), move || upkeep.forget_quiet_writers());
    Ok(service(chat))
}
