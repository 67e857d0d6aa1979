//! The chat worker's settings beyond the kit's, and their defaults in one place: the binary's
//! flags (`CHORUS_CHAT_*`) default to these constants, and tests start from
//! [`Settings::default`] and change what they exercise.

use std::time::Duration;

/// `CHORUS_CHAT_TTL_SECS`: ten minutes.
pub const TTL_SECS: u64 = 600;
/// `CHORUS_CHAT_MAX_BYTES`: 64 MiB of memory for live messages.
pub const MAX_BYTES: i64 = 64 << 20;
/// `CHORUS_CHAT_REPLICAS`.
pub const REPLICAS: usize = 1;
/// `CHORUS_CHAT_MARKER_SECS`: how long an expiry stays visible to watchers.
pub const MARKER_SECS: u64 = 60;
/// `CHORUS_CHAT_MAX_CHARS`.
pub const MAX_CHARS: usize = 500;
/// `CHORUS_CHAT_RATE_PER_SEC`.
pub const RATE_PER_SEC: u32 = 1;
/// `CHORUS_CHAT_RATE_BURST`.
pub const RATE_BURST: u32 = 5;
/// `CHORUS_CHAT_HISTORY_LIMIT`.
pub const HISTORY_LIMIT: usize = 50;
/// `CHORUS_CHAT_HISTORY_MAX`.
pub const HISTORY_MAX: usize = 100;
/// `CHORUS_CHAT_HISTORY_IDLE_MS`.
pub const HISTORY_IDLE_MS: u64 = 1000;
/// `CHORUS_CHAT_GRANT_SECS`: a day.
pub const GRANT_SECS: u64 = 24 * 3600;
/// `CHORUS_CHAT_MUTE_SECS`.
pub const MUTE_SECS: u64 = 600;
/// `CHORUS_CHAT_MAX_MUTE_SECS`: a week.
pub const MAX_MUTE_SECS: u64 = 7 * 24 * 3600;
/// `CHORUS_CHAT_MAX_MEMBERS`.
pub const MAX_MEMBERS: usize = 1000;
/// `CHORUS_CHAT_CHANNELS_MAX_BYTES`: 16 MiB of channel metadata.
pub const CHANNELS_MAX_BYTES: i64 = 16 << 20;
/// `CHORUS_CHAT_BLOCKS_TIMEOUT_MS`.
pub const BLOCKS_TIMEOUT_MS: u64 = 2000;
/// `CHORUS_CHAT_BLOCKS_SUBJECT`: the accounts worker's internal method.
pub const BLOCKS_SUBJECT: &str = "int.friends.blocked";

/// Everything the chat worker can be told.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a message lives: the `chat` bucket's max age. An edit does not extend it.
    pub ttl: Duration,
    /// Most bytes the `chat` bucket holds (in memory); past it, sends are refused until
    /// messages expire.
    pub max_bytes: i64,
    /// Replicas of the two buckets, in a NATS cluster.
    pub replicas: usize,
    /// How long the marker an expiry leaves in the bucket lives, so a watcher sees it.
    pub marker_ttl: Duration,
    /// Longest message, in characters (Unicode scalar values).
    pub max_chars: usize,
    /// Messages (sends, direct messages, edits) per second per user, in this process.
    pub rate_per_sec: u32,
    /// Messages a user may send at once before the rate applies.
    pub rate_burst: u32,
    /// Messages `history` returns when the request names no limit.
    pub history_limit: usize,
    /// Most messages one `history` request returns.
    pub history_max: usize,
    /// A history read that has delivered nothing for this long is taken as complete. Only a
    /// fallback: a read ends as soon as the last live message has arrived.
    pub history_idle: Duration,
    /// How long the grant to read a joined channel lasts (join again to renew it).
    pub grant_ttl: Duration,
    /// How long a mute lasts when the owner gives no `secs`.
    pub mute: Duration,
    /// Longest mute.
    pub max_mute: Duration,
    /// Most members of one channel.
    pub max_members: usize,
    /// Most bytes the `chat-channels` bucket holds (in memory).
    pub channels_max_bytes: i64,
    /// How long to wait for the accounts worker to say whether two users block each other.
    pub blocks_timeout: Duration,
    /// Where to ask it.
    pub blocks_subject: String,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            ttl: Duration::from_secs(TTL_SECS),
            max_bytes: MAX_BYTES,
            replicas: REPLICAS,
            marker_ttl: Duration::from_secs(MARKER_SECS),
            max_chars: MAX_CHARS,
            rate_per_sec: RATE_PER_SEC,
            rate_burst: RATE_BURST,
            history_limit: HISTORY_LIMIT,
            history_max: HISTORY_MAX,
            history_idle: Duration::from_millis(HISTORY_IDLE_MS),
            grant_ttl: Duration::from_secs(GRANT_SECS),
            mute: Duration::from_secs(MUTE_SECS),
            max_mute: Duration::from_secs(MAX_MUTE_SECS),
            max_members: MAX_MEMBERS,
            channels_max_bytes: CHANNELS_MAX_BYTES,
            blocks_timeout: Duration::from_millis(BLOCKS_TIMEOUT_MS),
            blocks_subject: BLOCKS_SUBJECT.to_string(),
        }
    }
}
