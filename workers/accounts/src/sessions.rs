//! Sessions: an access token (ES256 JWT, minutes) plus a refresh token (random, days)
//! stored only as its SHA-256. Refresh tokens rotate on use; presenting one already used
//! means it was stolen, so its whole family is revoked and the user's connections kicked.

use crate::error::AccountsError;
use crate::keys::SigningKeys;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chorus_protocol::Identity;
use chorus_protocol::token::Claims;
use chorus_runtime::clock::unix_now;
use deadpool_postgres::GenericClient;
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;

/// What login and refresh return.
#[derive(Debug, Serialize)]
pub struct TokenPair {
    /// The JWT to connect with.
    pub access_token: String,
    /// Presented once to `svc.accounts.refresh` for a new pair.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Who it is for.
    pub user: Identity,
}

/// Token settings.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// `iss` claim.
    pub issuer: String,
    /// `aud` claim.
    pub audience: String,
    /// Access-token lifetime (s).
    pub access_ttl: u64,
    /// Refresh-token lifetime (s).
    pub refresh_ttl: u64,
}

/// A fresh random token and the hash stored for it.
fn new_refresh_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system RNG works");
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash(&token);
    (token, hash)
}

/// The stored form of a refresh token.
pub fn hash(token: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
        .as_ref()
        .to_vec()
}

/// A new random family id.
pub fn new_family() -> String {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system RNG works");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Issues a pair for `user` in refresh family `family`.
pub async fn issue(
    db: &impl GenericClient,
    keys: &SigningKeys,
    settings: &TokenSettings,
    user: Identity,
    account_id: i64,
    family: &str,
) -> Result<TokenPair, AccountsError> {
    let claims = Claims::new(
        &settings.issuer,
        &settings.audience,
        &user,
        unix_now(),
        settings.access_ttl,
    );
    let access_token = keys.sign(&claims)?;
    let (refresh_token, token_hash) = new_refresh_token();
    db.execute(
        "INSERT INTO refresh_tokens (token_hash, account_id, family, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
        &[&token_hash, &account_id, &family, &(settings.refresh_ttl as f64)],
    )
    .await?;
    Ok(TokenPair {
        access_token,
        refresh_token,
        expires_in: settings.access_ttl,
        user,
    })
}

/// Revokes every token of `family`.
pub async fn revoke_family(db: &impl GenericClient, family: &str) -> Result<(), AccountsError> {
    db.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family = $1 AND revoked_at IS NULL",
        &[&family],
    )
    .await?;
    Ok(())
}

/// Revokes every refresh token of an account.
pub async fn revoke_account(db: &impl GenericClient, account_id: i64) -> Result<(), AccountsError> {
    db.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE account_id = $1 AND revoked_at IS NULL",
        &[&account_id],
    )
    .await?;
    Ok(())
}
