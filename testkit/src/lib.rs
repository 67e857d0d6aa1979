//! Test support shared by every Chorus crate's integration tests: real servers, isolated.
//!
//! Chorus tests talk to a real `nats-server` (with JetStream) and a real Postgres. Each test
//! gets its own server on free ports with a temporary store, and its own freshly created
//! database, so tests run in parallel and leave nothing behind.
//!
//! ```no_run
//! # async fn demo() {
//! let nats = chorus_testkit::NatsServer::start().await;
//! println!("{}", nats.url());
//! # }
//! ```
//!
//! # Features
//!
//! * `postgres` (off by default): the `postgres` module and `TestDb`, with tokio-postgres behind
//!   them. Crates whose tests need a database enable it in their dev-dependencies; the rest
//!   (the bridge) stay free of a Postgres client. `cargo test -p chorus-testkit
//!   --features postgres` runs the testkit's own database tests.
//!
//! # Layout
//!
//! * [`nats`]: [`NatsServer`], one private nats-server process: start, restart on the same
//!   ports and store, stop, read its monitoring endpoints; killed and cleaned up on drop.
//! * [`client`]: [`Ws`](client::Ws) and [`Tcp`](client::Tcp), clients of the wire contract.
//! * [`otlp`]: [`OtlpReceiver`](otlp::OtlpReceiver), a collector that keeps the spans
//!   binaries export, to check traces across processes.
//! * [`bin`]: [`nats_server_bin`], which nats-server binary to run (and refusing a too-old one).
//! * [`http`]: the few lines of HTTP/1.0 that reading a monitoring endpoint needs, and
//!   [`wait_ready`](http::wait_ready), the one wait for a component's `/readyz`.
//! * `postgres` (feature `postgres`): `TestDb`, a fresh uniquely named database, dropped on
//!   drop.
//! * [`process`]: [`Process`], one of the workspace's binaries run as a real process, its
//!   log in a file; SIGTERM or `kill -9` on demand; [`Process::wait_ready`].
//! * [`error`]: [`Error`], everything that can go wrong here. The public constructors panic
//!   with it (they are for tests); the `try_` variants return it.

pub mod bin;
pub mod client;
pub mod error;
pub mod http;
pub mod nats;
pub mod otlp;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod process;

pub use bin::nats_server_bin;
pub use error::Error;
pub use nats::{NatsOptions, NatsServer};
#[cfg(feature = "postgres")]
pub use postgres::TestDb;
pub use process::Process;

/// Sends SIGTERM to `child` and waits (at most `within`) for its exit status: how tests
/// check that a binary shuts down gracefully.
///
/// # Panics
/// When the signal cannot be sent or the process does not exit in time.
pub async fn terminate(
    child: &mut tokio::process::Child,
    within: std::time::Duration,
) -> std::process::ExitStatus {
    let pid = child.id().expect("the process is running").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("running kill");
    assert!(sent.success(), "kill -TERM {pid} failed");
    tokio::time::timeout(within, child.wait())
        .await
        .expect("exited in time")
        .expect("waiting for the process")
}
