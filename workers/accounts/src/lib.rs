//! `chorus-accounts`: sign-up, login and sessions, friends and blocks. Accounts, refresh
//! tokens, friendships and blocks live in Postgres; access tokens are short-lived ES256
//! JWTs whose public keys are served as a JWKS (`svc.accounts.jwks`, and by bridges at
//! `/.well-known/jwks.json`).
//!
//! # Layout
//! - [`accounts`]: the `svc.accounts.*` endpoints and their rules.
//! - [`sessions`]: issuing token pairs, rotating refresh tokens, revoking families.
//! - [`friends`]: friends, requests and blocks (`svc.friends.*`).
//! - [`relations`]: the rows that link two users, read and written inside transactions.
//! - [`error`]: [`AccountsError`], why a request fails, and the wire error each becomes.
//! - [`keys`]: the ES256 signing keys and the JWKS they publish.
//! - [`password`]: PBKDF2 hashing.
//! - [`names`]: typed account names and passwords.
//! - [`migrations`]: the schema.

pub mod accounts;
pub mod error;
pub mod friends;
pub mod keys;
pub mod migrations;
pub mod names;
pub mod password;
pub mod relations;
pub mod sessions;

pub use accounts::{Accounts, Settings};
pub use error::AccountsError;
pub use friends::Friends;
pub use migrations::MIGRATIONS;

use chorus_kit::{KitError, Service};
use std::sync::Arc;

/// Runs the worker inside this process on `nats`: migrates the database at `db_url`,
/// signs with a fresh in-memory key, and returns once every endpoint is subscribed; it
/// serves until the returned task is dropped or aborted. How other crates' tests get a
/// real accounts worker (accounts, friends, blocks).
pub async fn spawn_in_process(
    nats: async_nats::Client,
    db_url: &str,
    settings: Settings,
) -> Result<tokio::task::JoinHandle<Result<(), KitError>>, KitError> {
    let pool = chorus_kit::db::connect(db_url, 4).await?;
    chorus_kit::db::migrate(&pool, "accounts", MIGRATIONS).await?;
    let keys = crate::keys::SigningKeys::generate();
    let metrics = Arc::new(chorus_kit::metrics::Metrics::new("accounts"));
    let accounts = Accounts::new(pool, keys, nats.clone(), settings, metrics.waits());
    let subscribed = service(accounts).subscribe(&nats).await?;
    Ok(tokio::spawn(subscribed.serve(metrics, std::future::pending())))
}

/// Everything this worker serves: `svc.accounts.*` and `svc.friends.*`.
pub fn service(accounts: Arc<Accounts>) -> Service<Arc<Accounts>> {
    let friends = Friends::new(accounts.db.clone(), accounts.nats.clone(), accounts.waits.clone());
    accounts::endpoints(accounts).merge(friends::service(friends))
}
