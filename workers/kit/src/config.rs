//! Settings every worker shares, read from flags and `CHORUS_*` env vars (flatten
//! [`KitArgs`] into the worker's own clap struct), the optional `CHORUS_CONFIG` file, and
//! logging set-up. The bridge uses the same file loader and logging.

use clap::Args;
use std::net::SocketAddr;
use tracing_subscriber::EnvFilter;

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
}

/// Why the `CHORUS_CONFIG` file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// It could not be read.
    #[error("reading CHORUS_CONFIG {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not `KEY=value`.
    #[error("CHORUS_CONFIG {path}: {source}")]
    Parse {
        /// The path.
        path: String,
        /// Where.
        source: chorus_protocol::envfile::EnvFileError,
    },
}

/// Copies `KEY=value` pairs from the `CHORUS_CONFIG` file into the environment, without
/// overriding variables already set, so clap sees one list of settings.
///
/// Call it first thing in `main`, before any thread (the async runtime) exists: it sets
/// environment variables.
pub fn load_config_file() -> Result<(), ConfigFileError> {
    let Ok(path) = std::env::var("CHORUS_CONFIG") else {
        return Ok(());
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigFileError::Read {
        path: path.clone(),
        source,
    })?;
    let pairs =
        chorus_protocol::envfile::parse(&text).map_err(|source| ConfigFileError::Parse { path, source })?;
    for (key, value) in pairs {
        if std::env::var_os(&key).is_none() {
            // SAFETY: documented precondition: no other thread exists yet.
            unsafe { std::env::set_var(key, value) };
        }
    }
    Ok(())
}

/// Libraries whose debug and trace lines carry what must never be logged (SQL parameters
/// such as password hashes, frames, headers with tokens): held at `info` whatever the
/// filter says.
pub const QUIET_LIBRARIES: &[&str] = &[
    "tokio_postgres",
    "async_nats",
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "h2",
];

/// The filter `spec` (falling back to `info`), with [`QUIET_LIBRARIES`] held at `info`.
pub fn log_filter(spec: &str) -> EnvFilter {
    let mut filter = EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info"));
    for library in QUIET_LIBRARIES {
        filter = filter.add_directive(format!("{library}=info").parse().expect("a valid directive"));
    }
    filter
}

/// Logs to stderr with `filter` (see [`log_filter`]), as text or JSON.
pub fn init_logging(filter: &str, format: &str) {
    let filter = log_filter(filter);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::log_filter;

    #[test]
    fn chatty_libraries_stay_at_info_even_when_asked_for_more() {
        let filter = log_filter("debug,tokio_postgres=trace,hyper=debug").to_string();
        assert!(filter.contains("tokio_postgres=info"), "{filter}");
        assert!(!filter.contains("tokio_postgres=trace"), "{filter}");
        assert!(filter.contains("hyper=info"), "{filter}");
        assert!(!filter.contains("hyper=debug"), "{filter}");
        assert!(filter.contains("debug"), "{filter}");
    }
}
