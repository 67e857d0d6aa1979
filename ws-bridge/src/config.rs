//! Every setting of the bridge: a flag, an env var (`CHORUS_*`) and a default that works
//! on a laptop. `chorus-bridge --help` prints this list. A `CHORUS_CONFIG` file may hold
//! the same `KEY=value` pairs; the environment wins over the file (see `bin/chorus-bridge`).

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The bridge's settings.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "chorus-bridge",
    version,
    about = "Chorus WebSocket/TCP-to-NATS bridge"
)]
pub struct Config {
    /// NATS server URL(s), comma-separated.
    #[arg(long, env = "CHORUS_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,

    /// HTTP listener: WebSocket endpoints, /metrics, /healthz, /readyz, static web app.
    #[arg(long, env = "CHORUS_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,

    /// TCP line listener (one JSON frame per line); "off" disables it.
    #[arg(long, env = "CHORUS_TCP_ADDR", default_value = "127.0.0.1:7070")]
    pub tcp_addr: String,

    /// Policy file (JSON); the built-in default policy when unset.
    #[arg(long, env = "CHORUS_POLICY")]
    pub policy: Option<PathBuf>,

    /// Directory of a static web app to serve at `/` (nothing is served when unset).
    #[arg(long, env = "CHORUS_WEB_DIR")]
    pub web_dir: Option<PathBuf>,

    /// Directory of game files to serve at `/games/`, the same files the rooms worker runs,
    /// so the browser shows legal moves and predicts with them (nothing served when unset).
    #[arg(long, env = "CHORUS_GAMES_DIR")]
    pub games_dir: Option<PathBuf>,

    /// Log filter (tracing `EnvFilter` syntax, e.g. `info` or `chorus_bridge=debug`).
    #[arg(long, env = "CHORUS_LOG", default_value = "info")]
    pub log: String,

    /// Log format: `text` or `json`.
    #[arg(long, env = "CHORUS_LOG_FORMAT", default_value = "text")]
    pub log_format: String,

    /// OpenTelemetry collector (OTLP/HTTP, e.g. `http://collector:4318`) to export spans
    /// to; none are made when unset.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// Most client connections at once; the next one is closed `server_full`.
    #[arg(long, env = "CHORUS_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Largest client frame in bytes; a larger one closes the connection `too_large`.
    #[arg(long, env = "CHORUS_MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    pub max_frame_bytes: usize,

    /// Most subscriptions per connection.
    #[arg(long, env = "CHORUS_MAX_SUBS", default_value_t = 128)]
    pub max_subs: usize,

    /// Sustained client frames per second per connection.
    #[arg(long, env = "CHORUS_RATE_PER_SEC", default_value_t = 50)]
    pub rate_per_sec: u32,

    /// Client frames allowed in a burst above the sustained rate.
    #[arg(long, env = "CHORUS_RATE_BURST", default_value_t = 100)]
    pub rate_burst: u32,

    /// Frames per second a connection may keep sending after being told `rate_limited`
    /// before it is closed for abuse.
    #[arg(long, env = "CHORUS_RATE_ABUSE_PER_SEC", default_value_t = 20)]
    pub rate_abuse_per_sec: u32,

    /// Frames queued for one socket; a socket whose queue fills is closed `slow_consumer`.
    #[arg(long, env = "CHORUS_OUTBOUND_QUEUE", default_value_t = 1024)]
    pub outbound_queue: usize,

    /// Most frames written per flush.
    #[arg(long, env = "CHORUS_WRITE_BATCH", default_value_t = 64)]
    pub write_batch: usize,

    /// Most requests in flight per connection.
    #[arg(long, env = "CHORUS_MAX_INFLIGHT", default_value_t = 32)]
    pub max_inflight: usize,

    /// Request timeout when the client names none (ms).
    #[arg(long, env = "CHORUS_REQ_TIMEOUT_MS", default_value_t = 5_000)]
    pub req_timeout_ms: u64,

    /// Longest request timeout a client may ask for (ms).
    #[arg(long, env = "CHORUS_MAX_REQ_TIMEOUT_MS", default_value_t = 30_000)]
    pub max_req_timeout_ms: u64,

    /// Time to receive the HTTP request head, WebSocket upgrade included (ms).
    #[arg(long, env = "CHORUS_HANDSHAKE_TIMEOUT_MS", default_value_t = 5_000)]
    pub handshake_timeout_ms: u64,

    /// Wait for a first frame (an `auth`) when no token came with the connection (ms).
    #[arg(long, env = "CHORUS_FIRST_FRAME_TIMEOUT_MS", default_value_t = 2_000)]
    pub first_frame_timeout_ms: u64,

    /// WebSocket ping interval (ms).
    #[arg(long, env = "CHORUS_PING_INTERVAL_MS", default_value_t = 25_000)]
    pub ping_interval_ms: u64,

    /// Time a WebSocket client has to answer a ping before it is closed `no_pong` (ms).
    #[arg(long, env = "CHORUS_PONG_TIMEOUT_MS", default_value_t = 10_000)]
    pub pong_timeout_ms: u64,

    /// Time one batch write may take before the socket is given up (ms).
    #[arg(long, env = "CHORUS_WRITE_TIMEOUT_MS", default_value_t = 10_000)]
    pub write_timeout_ms: u64,

    /// Browser origins allowed to connect, comma-separated (`*` for any). Empty: only
    /// pages served from the bridge's own host. Clients that send no Origin are allowed.
    #[arg(
        long,
        env = "CHORUS_ALLOWED_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub allowed_origins: Vec<String>,

    /// WebSocket read buffer per connection (bytes); small keeps idle sockets cheap.
    #[arg(long, env = "CHORUS_WS_READ_BUFFER", default_value_t = 256)]
    pub ws_read_buffer: usize,

    /// Bytes a WebSocket buffers before writing to the socket within one batch.
    #[arg(long, env = "CHORUS_WS_WRITE_BUFFER", default_value_t = 16 * 1024)]
    pub ws_write_buffer: usize,

    /// Expected `iss` of access tokens.
    #[arg(long, env = "CHORUS_TOKEN_ISSUER", default_value = "chorus")]
    pub token_issuer: String,

    /// Expected `aud` of access tokens.
    #[arg(long, env = "CHORUS_TOKEN_AUDIENCE", default_value = "chorus")]
    pub token_audience: String,

    /// Clock skew allowed on token `exp` and `nbf` (s).
    #[arg(long, env = "CHORUS_TOKEN_LEEWAY_SECS", default_value_t = 30)]
    pub token_leeway_secs: u64,

    /// NATS subject that answers with the token signing keys (JWKS).
    #[arg(long, env = "CHORUS_JWKS_SUBJECT", default_value = "svc.accounts.jwks")]
    pub jwks_subject: String,

    /// How often the JWKS is fetched again (s).
    #[arg(long, env = "CHORUS_JWKS_REFRESH_SECS", default_value_t = 300)]
    pub jwks_refresh_secs: u64,

    /// Least time between two JWKS fetches (ms): tokens naming unknown `kid`s wait for the
    /// next fetch instead of each causing one, so forged tokens cannot make the bridge
    /// hammer the accounts worker.
    #[arg(long, env = "CHORUS_JWKS_MIN_INTERVAL_MS", default_value_t = 1_000)]
    pub jwks_min_interval_ms: u64,

    /// Longest a connection waits for the signing keys (ms) when its token names a `kid`
    /// the bridge does not hold; past it, the connection is closed `unavailable`.
    #[arg(long, env = "CHORUS_JWKS_WAIT_MS", default_value_t = 5_000)]
    pub jwks_wait_ms: u64,

    /// Longest one JWKS request may take (ms).
    #[arg(long, env = "CHORUS_JWKS_FETCH_TIMEOUT_MS", default_value_t = 2_000)]
    pub jwks_fetch_timeout_ms: u64,

    /// How often this bridge tells the presence worker it is alive (ms); its users go
    /// offline when its heartbeats stop for the presence TTL.
    #[arg(long, env = "CHORUS_PRESENCE_HEARTBEAT_MS", default_value_t = 5_000)]
    pub presence_heartbeat_ms: u64,

    /// Accept the bare device presence hello (`{"user_id":1,"friends":[2,3]}`) as a first
    /// line on the TCP listener. Such ids are claimed, not proven: enable it only where
    /// the devices are trusted.
    #[arg(long, env = "CHORUS_TCP_PRESENCE_HELLO", default_value_t = false, action = clap::ArgAction::Set)]
    pub tcp_presence_hello: bool,

    /// Most friends a device hello may list.
    #[arg(long, env = "CHORUS_DEVICE_MAX_FRIENDS", default_value_t = 256)]
    pub device_max_friends: usize,

    /// Time given to connections to close and requests to finish on shutdown (ms).
    #[arg(long, env = "CHORUS_SHUTDOWN_GRACE_MS", default_value_t = 5_000)]
    pub shutdown_grace_ms: u64,
}

impl Config {
    /// The defaults, as `chorus-bridge` with no flags and no `CHORUS_*` variables would
    /// run; for tests, which then set what they need.
    pub fn defaults() -> Config {
        Config::parse_from(["chorus-bridge"])
    }

    /// The TCP listener address, unless disabled.
    pub fn tcp_addr(&self) -> Option<&str> {
        match self.tcp_addr.trim() {
            "" | "off" | "none" => None,
            addr => Some(addr),
        }
    }

    pub(crate) fn allowed_origins(&self) -> impl Iterator<Item = &str> {
        self.allowed_origins
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }
}
