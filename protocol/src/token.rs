//! Access-token claims and the JWKS that publishes the keys to verify them. Pure types:
//! signing and verification live in the worker kit (`chorus_kit::token`).
//!
//! Tokens are JWTs signed ES256 with a `kid`; the accounts worker signs, bridges (and Istio,
//! through `/.well-known/jwks.json`) verify.

use crate::identity::{Identity, Namespace};
use serde::{Deserialize, Serialize};

/// The claims of a Chorus access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer (`CHORUS_TOKEN_ISSUER`).
    pub iss: String,
    /// Audience (`CHORUS_TOKEN_AUDIENCE`).
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// Display name.
    pub name: String,
    /// Namespace: `private` for accounts.
    pub ns: Namespace,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Not before (seconds since the epoch).
    pub nbf: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
}

impl Claims {
    /// Claims for `user`, valid from `now` for `ttl_secs`.
    pub fn new(iss: &str, aud: &str, user: &Identity, now: u64, ttl_secs: u64) -> Claims {
        Claims {
            iss: iss.to_string(),
            aud: aud.to_string(),
            sub: user.id.clone(),
            name: user.name.clone(),
            ns: user.ns,
            iat: now,
            nbf: now,
            exp: now + ttl_secs,
        }
    }

    /// The identity the token proves.
    pub fn identity(&self) -> Identity {
        Identity {
            id: self.sub.clone(),
            name: self.name.clone(),
            ns: self.ns,
        }
    }
}

/// One public key in a JWKS (RFC 7517), EC P-256 only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Always `EC`.
    pub kty: String,
    /// Always `P-256`.
    pub crv: String,
    /// The point's x coordinate, base64url.
    pub x: String,
    /// The point's y coordinate, base64url.
    pub y: String,
    /// The key id tokens name in their header.
    pub kid: String,
    /// Always `ES256`.
    pub alg: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// A JSON Web Key Set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys; any may verify, the newest signs.
    pub keys: Vec<Jwk>,
}
