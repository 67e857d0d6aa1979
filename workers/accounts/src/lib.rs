//! `chorus-accounts`: sign-up, login and sessions, friends and blocks. Accounts, refresh
//! tokens, friendships and blocks live in Postgres; access tokens are short-lived ES256 JWTs whose public keys are served as a JWKS
//! (`svc.accounts.jwks`, and by bridges at `/.well-known/jwks.json`).
//!
//! # Layout
//! - [`accounts`]: the endpoints and their rules.
//! - [`sessions`]: issuing token pairs, rotating refresh tokens, revoking families.
//! - [`friends`]: friends, requests and blocks (`svc.friends.*`).
//! - [`password`]: PBKDF2 hashing.
//! - [`names`]: typed account names and passwords.
//! - [`migrations`]: the schema.

pub mod accounts;
pub mod friends;
pub mod migrations;
pub mod names;
pub mod password;
pub mod sessions;

pub use accounts::{Accounts, Settings};
pub use friends::Friends;

use std::sync::Arc;

/// Everything this worker serves: `svc.accounts.*` and `svc.friends.*`.
pub fn service(accounts: Arc<Accounts>) -> chorus_kit::Service {
    let friends = Friends::new(accounts.db.clone(), accounts.nats.clone());
    accounts::endpoints(accounts).merge(friends::service(friends))
}
pub use migrations::MIGRATIONS;
