//! Token verification for `?token=`, `Authorization: Bearer` and `auth` frames.
//!
//! Tokens are ES256 JWTs from the accounts worker. The bridge fetches the accounts worker's
//! JWKS over NATS (`svc.accounts.jwks`), caches it, refreshes it periodically and when a
//! token names a `kid` it does not know (at most once per `CHORUS_JWKS_MIN_REFRESH_SECS`, so
//! garbage tokens cannot make it hammer the worker), and serves it at
//! `/.well-known/jwks.json` so Istio can verify the very same tokens.

use chorus_protocol::Namespace;
use chorus_protocol::token::{Claims, Jwks};
use chorus_runtime::token::{TokenError, Verifier};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::time::Instant;

/// Least time between fetches after a failed one.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Why a token was refused (never echoes the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Malformed, forged, expired, for another issuer or audience.
    #[error("{0}")]
    Token(#[from] TokenError),
    /// A valid token, but not for a signed-in user.
    #[error("not a user token")]
    NotAUser,
    /// No key set could be fetched (the accounts worker is unreachable).
    #[error("token verification is unavailable")]
    Unavailable,
}

/// Token settings of the bridge.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Expected `iss`.
    pub issuer: String,
    /// Expected `aud`.
    pub audience: String,
    /// Clock skew allowed on `exp` and `nbf` (s).
    pub leeway_secs: u64,
    /// Where the JWKS is requested.
    pub jwks_subject: String,
    /// Least time between two fetches triggered by unknown `kid`s.
    pub min_refresh: Duration,
}

/// What the bridge knows of the signing keys.
#[derive(Default)]
struct Keys {
    /// Verifies against the last fetched key set.
    verifier: Option<Arc<Verifier>>,
    /// The last fetched key set, as served at `/.well-known/jwks.json`.
    jwks_json: Option<String>,
    /// When the last fetch was tried, and whether it worked.
    last_fetch: Option<(Instant, bool)>,
}

/// Verifies access tokens.
pub struct Authenticator {
    /// Where the key set comes from.
    nats: async_nats::Client,
    /// Issuer, audience, leeway, subject.
    settings: AuthSettings,
    /// The cached key set.
    keys: RwLock<Keys>,
    /// One fetch at a time.
    fetching: tokio::sync::Mutex<()>,
}

impl Authenticator {
    /// An authenticator with no keys yet (they are fetched on first use).
    pub fn new(nats: async_nats::Client, settings: AuthSettings) -> Authenticator {
        Authenticator {
            nats,
            settings,
            keys: RwLock::new(Keys::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// The claims of a valid user token.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let verifier = self.verifier_for(token).await?;
        let claims = verifier.verify(token)?;
        if claims.ns != Namespace::Private {
            return Err(AuthError::NotAUser);
        }
        Ok(claims)
    }

    /// A verifier that knows the token's `kid`, fetching the key set if needed.
    async fn verifier_for(&self, token: &str) -> Result<Arc<Verifier>, AuthError> {
        if let Some(v) = self.current().filter(|v| v.knows(token).unwrap_or(false)) {
            return Ok(v);
        }
        // A malformed token is refused before any fetch.
        Verifier::check_header(token)?;
        self.refresh(false).await;
        self.current().ok_or(AuthError::Unavailable)
    }

    fn current(&self) -> Option<Arc<Verifier>> {
        self.keys.read().expect("keys lock").verifier.clone()
    }

    /// Fetches the key set; unless `force`, not if it was fetched within `min_refresh`.
    /// Failures are logged and leave the cached set in place.
    pub async fn refresh(&self, force: bool) {
        let _one_at_a_time = self.fetching.lock().await;
        // After a failure (the accounts worker not up yet), try again sooner.
        let recent = self
            .keys
            .read()
            .expect("keys lock")
            .last_fetch
            .is_some_and(|(t, ok)| {
                t.elapsed()
                    < if ok {
                        self.settings.min_refresh
                    } else {
                        RETRY_AFTER_FAILURE
                    }
            });
        if recent && !force {
            return;
        }
        let request = async_nats::Request::new().timeout(Some(Duration::from_secs(2)));
        let fetched = match self
            .nats
            .send_request(self.settings.jwks_subject.clone(), request)
            .await
        {
            Ok(reply) => serde_json::from_slice::<Jwks>(&reply.payload).ok(),
            Err(e) => {
                tracing::warn!(error = %e, subject = %self.settings.jwks_subject, "JWKS fetch failed");
                None
            }
        };
        let mut keys = self.keys.write().expect("keys lock");
        keys.last_fetch = Some((Instant::now(), fetched.is_some()));
        if let Some(jwks) = fetched {
            let s = &self.settings;
            keys.verifier = Some(Arc::new(Verifier::new(
                &jwks,
                &s.issuer,
                &s.audience,
                s.leeway_secs,
            )));
            keys.jwks_json = Some(serde_json::to_string(&jwks).expect("a JWKS serializes"));
        }
    }

    /// The key set as JSON, fetching it first if the bridge has none.
    pub async fn jwks_json(&self) -> Option<String> {
        if self.keys.read().expect("keys lock").jwks_json.is_none() {
            self.refresh(false).await;
        }
        self.keys.read().expect("keys lock").jwks_json.clone()
    }
}
