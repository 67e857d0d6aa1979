//! `chorus-kit`: what every Chorus worker needs, once. A worker is a thin, stateless NATS
//! client; the kit connects it, serves its `svc.{worker}.{method}` endpoints in a queue
//! group with typed handlers, tells it who is calling (from the bridge's headers), gives it
//! a Postgres pool with migrations, and serves `/metrics` and `/healthz` until SIGTERM.
//!
//! # Layout
//! - [`service`]: typed endpoints served in a queue group; errors become `Chorus-Error`.
//! - [`caller`]: the caller's identity, from the headers the bridge stamped.
//! - [`error`]: [`ServiceError`] (what a handler returns) and [`KitError`] (start-up).
//! - [`ctl`]: grants, revokes and kicks for a user, applied by every bridge.
//! - [`db`]: the Postgres pool and the migration runner.
//! - [`http`]: `/metrics`, `/healthz`, `/readyz`.
//! - [`metrics`]: request counters and latencies per method.
//! - [`config`]: the settings every worker shares ([`KitArgs`]).
//! - [`worker`]: start-up and shutdown, tying the rest together.

pub mod caller;
pub mod config;
pub mod ctl;
pub mod db;
pub mod error;
pub mod http;
pub mod metrics;
pub mod service;
pub mod worker;

pub use caller::Caller;
pub use config::KitArgs;
pub use error::{KitError, ServiceError};
pub use service::{Empty, Request, Service};
pub use worker::Worker;
