//! `chorus-runtime`: what every Chorus process shares beyond the pure protocol, the bridge
//! and the workers alike, and nothing more: no database, no worker code. It sits between
//! `chorus-protocol` (pure types and rules) and the binaries.
//!
//! # Layout
//! - [`config_file`]: the optional `CHORUS_CONFIG` file, copied into the environment.
//! - [`logging`]: the log filter (secret-bearing libraries held at `info`).
//! - [`telemetry`]: logs on stderr, and spans exported over OTLP when configured; W3C
//!   `traceparent` in and out.
//! - [`shutdown`]: the signal every binary stops on.
//! - [`token`]: verifying ES256 access tokens against a JWKS.
//! - [`bus`]: a round trip through the NATS server (subscriptions surely in place).
//! - [`clock`]: Unix seconds, as tokens and grants count time.

pub mod bus;
pub mod clock;
pub mod config_file;
pub mod logging;
pub mod shutdown;
pub mod telemetry;
pub mod token;
