//! Token verification for `?token=`, `Authorization: Bearer` and `auth` frames.
//!
//! This bridge does not verify tokens yet: ES256 verification against the accounts
//! worker's JWKS arrives with the accounts worker. Until then every token is refused, so
//! `/private` and `auth` fail closed (`unauthorized`) and nobody is taken for a user they
//! did not prove to be.

use chorus_protocol::Identity;

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No verifier is configured on this bridge.
    #[error("token verification is not enabled on this bridge")]
    NotEnabled,
}

/// Verifies access tokens.
#[derive(Debug, Default)]
pub struct Authenticator;

impl Authenticator {
    /// The identity a token proves.
    pub fn verify(&self, _token: &str) -> Result<Identity, AuthError> {
        Err(AuthError::NotEnabled)
    }
}
