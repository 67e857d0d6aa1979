//! Settings every worker shares, read from flags and `CHORUS_*` env vars: flatten
//! [`KitArgs`] into the worker's own clap struct. (The `CHORUS_CONFIG` file and logging
//! are `chorus-runtime`'s, shared with the bridge.)

use clap::Args;
use std::net::SocketAddr;

/// The settings of the kit.
#[derive(Debug, Clone, Args)]
pub struct KitArgs {
    /// NATS server URL(s), comma-separated.
    #[arg(long, env = "CHORUS_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,

    /// Postgres URL, for workers that keep durable state.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Postgres connections per process.
    #[arg(long, env = "CHORUS_DB_POOL", default_value_t = 8)]
    pub db_pool: usize,

    /// `/metrics`, `/healthz` and `/readyz` listener (port 0 picks a free one).
    #[arg(long, env = "CHORUS_WORKER_HTTP_ADDR", default_value = "127.0.0.1:0")]
    pub http_addr: SocketAddr,

    /// Log filter (tracing `EnvFilter` syntax).
    #[arg(long, env = "CHORUS_LOG", default_value = "info")]
    pub log: String,

    /// Log format: `text` or `json`.
    #[arg(long, env = "CHORUS_LOG_FORMAT", default_value = "text")]
    pub log_format: String,

    /// OpenTelemetry collector (OTLP/HTTP, e.g. `http://collector:4318`) to export spans
    /// to; none are made when unset.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}
