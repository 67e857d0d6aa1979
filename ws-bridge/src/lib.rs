//! `chorus-bridge`: WebSocket and TCP clients on one side, NATS on the other. It knows
//! nothing about games: it authenticates connections, checks every frame against the policy,
//! stamps the sender's identity on what it forwards, and fans NATS messages out to sockets.
//!
//! # Layout
//! - [`server`]: starts on bound listeners, shuts down gracefully; the shared state.
//! - [`http`]: the HTTP listener: upgrades, `/healthz`, `/readyz`, `/metrics`, static files.
//! - [`ws`]: WebSocket upgrade, Origin check, and the WebSocket transport.
//! - [`tcp`]: the line-per-frame TCP listener and transport.
//! - [`transport`]: what a session needs from a transport (a source and a sink).
//! - [`session`]: one client: authenticate, welcome, act on frames.
//! - [`writer`]: a session's writer task: batched writes, pings, the close frame.
//! - [`outbound`]: a session's bounded queue and close signal.
//! - [`fanout`]: subject → sockets, one NATS subscription per subject.
//! - [`presence`]: connect, disconnect and heartbeat events for the presence worker.
//! - [`device`]: a small device that said the bare presence hello on TCP.
//! - [`grants`]: grants, revokes and kicks from workers; grants kept in KV.
//! - [`limits`]: the connection cap and per-connection frame rates.
//! - [`sessions`]: the live sessions (shutdown, queue-depth metrics).
//! - [`auth`]: token verification.
//! - [`metrics`]: Prometheus metrics.
//! - [`trace`]: `traceparent` continued or started.
//! - [`static_files`]: the optional web app.
//! - [`ids`]: random ids.
//! - [`config`]: every setting, from flags, env and an optional file.

pub mod auth;
pub mod config;
pub mod device;
pub mod fanout;
pub mod grants;
pub mod http;
pub mod ids;
pub mod limits;
pub mod metrics;
pub mod outbound;
pub mod presence;
pub mod server;
pub mod session;
pub mod sessions;
pub mod static_files;
pub mod tcp;
pub mod trace;
pub mod transport;
pub mod writer;
pub mod ws;

pub use config::Config;
pub use server::{InProcess, Listeners, run, spawn_in_process};
