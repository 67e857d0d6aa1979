//! `chorus-bridge`: WebSocket and TCP clients on one side, NATS on the other. It knows
//! nothing about games: it authenticates connections, checks every frame against the policy,
//! stamps the sender's identity on what it forwards, and fans NATS messages out to sockets.
//!
//! # Layout
//! From the edge inwards; a module imports only those below it.
//! - [`server`]: starts on bound listeners, shuts down gracefully; [`spawn_in_process`].
//! - [`http`]: the HTTP listener: routes upgrades, `/healthz`, `/readyz`, `/metrics`, JWKS.
//! - [`ws`]: WebSocket upgrade, Origin check, and the WebSocket transport.
//! - [`tcp`]: the line-per-frame TCP listener and transport.
//! - [`static_files`]: the optional web app. [`response`]: plain HTTP responses.
//! - [`accept`]: the accept loop both listeners share.
//! - [`connection`]: one accepted connection: a slot, the handshake, a session or a device.
//! - [`handshake`]: who a connection is: guest, token, or device hello.
//! - [`session`]: one client: its loop, and each frame's path from parse to NATS.
//! - [`forward`]: `pub` and `req` onto NATS with the identity stamped; replies back.
//! - [`rights`]: the policy plus the connection's grants.
//! - [`device`]: a small device that said the bare presence hello on TCP.
//! - [`lifecycle`]: a connection's writer, queue and registration, opened and finished.
//! - [`grants`]: grants, revokes and kicks from workers, handed to sessions and stored.
//! - [`grant_store`]: grants kept in the KV bucket `grants`.
//! - [`presence`]: connect, disconnect and heartbeat events for the presence worker.
//! - [`shared`]: the state every connection shares.
//! - [`auth`]: token verification; the signing keys fetched single-flight.
//! - [`sessions`]: the live sessions by connection and by user.
//! - [`fanout`]: subject → sockets, one NATS subscription per subject.
//! - [`writer`]: a session's writer task: batched writes, pings, the close frame.
//! - [`transport`]: what a session needs from a transport (a source and a sink).
//! - [`outbound`]: a session's bounded queue and close signal.
//! - [`command`]: a grant, revoke or kick for a live session.
//! - [`limits`]: the connection cap and per-connection frame rates.
//! - [`metrics`]: Prometheus metrics. [`trace`]: `traceparent`. [`ids`]: random ids.
//! - [`config`]: every setting, from flags, env and an optional file.

pub mod accept;
pub mod auth;
pub mod command;
pub mod config;
pub mod connection;
pub mod device;
pub mod fanout;
pub mod forward;
pub mod grant_store;
pub mod grants;
pub mod handshake;
pub mod http;
pub mod ids;
pub mod lifecycle;
pub mod limits;
pub mod metrics;
pub mod outbound;
pub mod presence;
pub mod response;
pub mod rights;
pub mod server;
pub mod session;
pub mod sessions;
pub mod shared;
pub mod static_files;
pub mod tcp;
pub mod trace;
pub mod transport;
pub mod writer;
pub mod ws;

pub use config::Config;
pub use server::{InProcess, Listeners, run, spawn_in_process};
