//! `chorus-accounts`: sign-up, login and sessions. Accounts and refresh tokens live in
//! Postgres; access tokens are short-lived ES256 JWTs whose public keys are served as a JWKS
//! (`svc.accounts.jwks`, and by bridges at `/.well-known/jwks.json`).
//!
//! # Layout
//! - [`accounts`]: the endpoints and their rules.
//! - [`sessions`]: issuing token pairs, rotating refresh tokens, revoking families.
//! - [`password`]: PBKDF2 hashing.
//! - [`names`]: typed account names and passwords.
//! - [`migrations`]: the schema.

pub mod accounts;
pub mod migrations;
pub mod names;
pub mod password;
pub mod sessions;

pub use accounts::{Accounts, Settings, service};
pub use migrations::MIGRATIONS;
