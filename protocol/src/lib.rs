//! The Chorus wire and bus contract as plain Rust types and rules: no I/O, no async.
//!
//! Everything the bridge, the workers and the tests must agree on lives here, so a
//! change to the contract is a change to one crate (and to `PROTOCOL.md` beside it).
//!
//! # Layout
//! - [`frame`]: client ⇄ bridge frames (`sub`, `pub`, `msg`, `err`, …) and their encoding.
//! - [`error`]: the error codes an `err` frame (or a worker's `Chorus-Error`) carries.
//! - [`close`]: the one table of connection close codes and whether to reconnect.
//! - [`subject`]: subject and pattern grammar, NATS wildcard matching and coverage.
//! - [`grant`]: grants, revokes and kicks, with a builder that refuses invalid grants.
//! - [`policy`]: what each namespace may subscribe, publish and request.
//! - [`identity`]: who a connection is (user id, name, namespace).
//! - [`token`]: access-token claims and the JWKS.
//! - [`headers`]: the NATS header names the bridge stamps on what it forwards.
//! - [`presence`]: presence events, the `presence` KV layout and the notices friends get.
//! - [`device`]: the bare presence hello of small devices on the TCP listener.
//! - [`envfile`]: the optional `CHORUS_CONFIG` file format (`KEY=value` lines).

pub mod close;
pub mod device;
pub mod envfile;
pub mod error;
pub mod frame;
pub mod grant;
pub mod headers;
pub mod identity;
pub mod policy;
pub mod presence;
pub mod subject;
pub mod token;

pub use close::CloseCode;
pub use error::ErrorCode;
pub use identity::{Identity, Namespace};
