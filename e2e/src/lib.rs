//! `chorus-e2e`: the platform end to end. Tests only; this library is empty.
//!
//! The bridge's own tests (`ws-bridge/tests`) need nothing but a nats-server. The tests here
//! put real workers behind real bridges: the accounts worker on a fresh Postgres database,
//! the presence worker, bridges in-process (`chorus_bridge::spawn_in_process`) and as
//! processes, and `scripts/run` itself with the built binaries. Keeping them in a crate of
//! their own keeps the workers, their kit and Postgres out of the bridge's dependency tree.
//!
//! # Layout (`tests/`)
//!
//! * `common`: the stack a test stands on (nats-server, accounts worker, bridges) and the
//!   sign-up every test begins with.
//! * `accounts`: tokens on `/private`, `auth` frames, expiry, forgeries refused.
//! * `grants`: grants, revokes and kicks across two bridges.
//! * `presence`: friends told who comes and goes, even when a bridge is killed.
//! * `matchmaking`: two players matched into a real room they may watch; a guest's closed
//!   connection leaves the queue.
//! * `logs`: no password and no token in any log line of a login flow.
//! * `startup`: `scripts/run` 20 times from fresh state, each time used at once.
//!
//! Tests that run binaries (`presence`, `startup`) find them beside the test executable
//! (`chorus_testkit::process::binary`): build them first, `cargo build --workspace --bins`
//! (`scripts/test` does).
