//! Verifying ES256 access tokens: [`Verifier`] checks a token against a JWKS with the
//! algorithm pinned to ES256, the key chosen by `kid`, and `exp`, `nbf`, `iss` and `aud`
//! checked. The bridge uses it on every token; the accounts worker's tests use it too.
//! The JWT handling is the `jsonwebtoken` crate's; nothing here parses a token by hand.

use chorus_protocol::token::{Claims, Jwks};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::collections::HashMap;

/// Why a token was refused (never echoes the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a well-formed ES256 JWT with a `kid`.
    #[error("malformed token")]
    Malformed,
    /// The `kid` is not in the key set.
    #[error("unknown signing key")]
    UnknownKey,
    /// Signature, issuer, audience or claims invalid.
    #[error("invalid token")]
    Invalid,
    /// Past `exp`.
    #[error("token expired")]
    Expired,
    /// Before `nbf`.
    #[error("token not yet valid")]
    NotYetValid,
}

/// Verifies access tokens against a key set.
pub struct Verifier {
    /// `kid` → key.
    keys: HashMap<String, DecodingKey>,
    /// The rules: ES256 only, issuer, audience, leeway.
    validation: Validation,
}

impl Verifier {
    /// A verifier for tokens of `issuer` for `audience`, signed by a key in `jwks`, with
    /// `leeway_secs` of clock skew allowed on `exp` and `nbf`.
    pub fn new(jwks: &Jwks, issuer: &str, audience: &str, leeway_secs: u64) -> Verifier {
        let keys = jwks
            .keys
            .iter()
            .filter(|k| k.kty == "EC" && k.crv == "P-256")
            .filter_map(|k| Some((k.kid.clone(), DecodingKey::from_ec_components(&k.x, &k.y).ok()?)))
            .collect();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = leeway_secs;
        Verifier { keys, validation }
    }

    /// Checks that `token` is shaped like one of ours (an ES256 JWT with a `kid`) before
    /// anything is looked up for it.
    pub fn check_header(token: &str) -> Result<(), TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::ES256 || header.kid.is_none() {
            return Err(TokenError::Malformed);
        }
        Ok(())
    }

    /// Whether `kid` is known (so a caller can refresh its key set when it is not).
    pub fn knows(&self, token: &str) -> Result<bool, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        let kid = header.kid.ok_or(TokenError::Malformed)?;
        Ok(self.keys.contains_key(&kid))
    }

    /// The claims of a valid token.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::ES256 {
            return Err(TokenError::Malformed);
        }
        let kid = header.kid.ok_or(TokenError::Malformed)?;
        let key = self.keys.get(&kid).ok_or(TokenError::UnknownKey)?;
        jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                    _ => TokenError::Invalid,
                }
            })
    }
}
