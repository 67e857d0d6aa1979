//! `chorus-kit`: what every Chorus worker needs, once. A worker is a thin, stateless NATS
//! client; the kit starts it ([`worker::main`]), serves its `svc.{worker}.{method}`
//! endpoints in a queue group with typed handlers over shared state, tells it who is
//! calling (from the bridge's headers), gives it a Postgres pool with migrations, runs its
//! background work, and serves `/metrics`, `/healthz` and `/readyz` until SIGTERM.
//! `README.md` shows how to add a worker.
//!
//! # Layout
//! - [`worker`]: a worker binary's `main`; start-up ([`Worker`]), serving and draining.
//! - [`context`]: what a worker's set-up gets: connections, periodic and essential tasks.
//! - [`service`]: a worker's endpoints over the state its handlers share.
//! - [`handler`]: typed handlers, and their erasure into what the serving loop runs.
//! - [`serve`]: subscribing (flushed: then the worker is ready) and the serving loop.
//! - [`request`]: what a handler knows of a request ([`Request`]), and [`Empty`].
//! - [`caller`]: the caller's identity, from the headers the bridge stamped.
//! - [`error`]: [`ServiceError`] (what the client sees) and [`KitError`] (start-up, serving).
//! - [`ready`]: whether the worker serves, for `/readyz`.
//! - [`http`]: `/metrics`, `/healthz`, `/readyz`.
//! - [`metrics`]: request counters and latencies per method.
//! - [`waits`]: timing what a worker waits on (NATS requests, KV, Postgres).
//! - [`ctl`]: grants, revokes and kicks for a user, applied by every bridge.
//! - [`db`]: the Postgres pool and the migration runner.
//! - [`config`]: the settings every worker shares ([`KitArgs`]).

pub mod caller;
pub mod config;
pub mod context;
pub mod ctl;
pub mod db;
pub mod error;
pub mod handler;
pub mod http;
pub mod metrics;
pub mod ready;
pub mod request;
pub mod serve;
pub mod service;
pub mod waits;
pub mod worker;

pub use caller::Caller;
pub use config::KitArgs;
pub use context::Context;
pub use error::{KitError, ServiceError};
pub use handler::Handler;
pub use ready::Ready;
pub use request::{Empty, Request};
pub use service::Service;
pub use waits::Waits;
pub use worker::{Spec, Worker, WorkerArgs};

/// `README.md`, whose example worker is compiled by `cargo test --doc`, so the guide to
/// adding a worker cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
