//! The one error type of the testkit.
//!
//! Tests usually never see it: [`crate::NatsServer::start`] and `TestDb::create`
//! panic with its message. It exists so the failure says exactly what went wrong (and where
//! the server log is) instead of a bare `unwrap` on an I/O error.

use std::path::PathBuf;

/// What can go wrong while starting, talking to or tearing down a test server or database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O operation failed; `what` says which one.
    #[error("{what}: {source}")]
    Io {
        /// The operation that failed, e.g. "writing nats-server config".
        what: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A process exited while we waited for it to answer on its readiness path.
    #[error("{name} exited ({status}) before it was ready")]
    Exited {
        /// The process, e.g. `chorus-bridge`.
        name: String,
        /// Its exit status.
        status: std::process::ExitStatus,
    },

    /// A readiness URL did not answer `200` within the time allowed.
    #[error("{url} did not answer 200 within {secs} s (last: {last})")]
    Unready {
        /// The URL polled, e.g. `http://127.0.0.1:8080/readyz`.
        url: String,
        /// How long we waited.
        secs: u64,
        /// The last status seen, or why nothing answered.
        last: String,
    },

    /// The nats-server process exited while we waited for it to come up.
    #[error("nats-server exited during startup ({status}); log: {log}\n{tail}")]
    ServerExited {
        /// Its exit status.
        status: std::process::ExitStatus,
        /// Where its full output is.
        log: PathBuf,
        /// The last lines of that output.
        tail: String,
    },

    /// The server did not come up (ports file or `INFO` line) within the time allowed.
    #[error("nats-server not ready after {secs} s: {detail}; log: {log}\n{tail}")]
    NotReady {
        /// How long we waited.
        secs: u64,
        /// What we were still waiting for.
        detail: String,
        /// Where its full output is.
        log: PathBuf,
        /// The last lines of that output.
        tail: String,
    },

    /// An operation that needs a running server was called after `stop`.
    #[error("nats-server is not running")]
    NotRunning,

    /// A monitoring endpoint answered something other than `200` with JSON.
    #[error("GET {url}: {detail}")]
    Http {
        /// The URL requested.
        url: String,
        /// The status line or parse problem.
        detail: String,
    },

    /// Postgres refused an operation; `what` says which one.
    #[cfg(feature = "postgres")]
    #[error("postgres: {what}: {source}")]
    Postgres {
        /// The operation that failed, e.g. "connecting to DATABASE_URL".
        what: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },

    /// A Postgres operation took too long (a wrong `DATABASE_URL` often looks like this).
    #[cfg(feature = "postgres")]
    #[error("postgres: {what}: timed out after {secs} s")]
    PostgresTimeout {
        /// The operation that timed out.
        what: String,
        /// How long we waited.
        secs: u64,
    },
}

impl Error {
    /// Wraps an I/O error with a description of the operation that failed.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}
