//! Token verification for `?token=`, `Authorization: Bearer` and `auth` frames.
//!
//! Tokens are ES256 JWTs from the accounts worker. The bridge fetches the accounts worker's
//! JWKS over NATS (`svc.accounts.jwks`), caches it, refreshes it periodically, and serves
//! it at `/.well-known/jwks.json` so Istio can verify the very same tokens.
//!
//! A token whose `kid` the bridge does not hold (it started before the accounts worker, or
//! the worker rotated its keys) waits for a fetch that starts after the token arrived, then
//! is judged against that set. Fetches are single-flight: one at a time, the waiters share
//! its result, and two fetches are at least `CHORUS_JWKS_MIN_INTERVAL_MS` apart, so forged
//! `kid`s cannot make the bridge hammer the worker. A wait is bounded by
//! `CHORUS_JWKS_WAIT_MS`; past it the token is refused as [`AuthError::Unavailable`].

use chorus_protocol::Namespace;
use chorus_protocol::token::{Claims, Jwks};
use chorus_runtime::token::{TokenError, Verifier};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::time::{Instant, sleep_until, timeout_at};

/// Why a token was refused (never echoes the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Malformed, forged, expired, for another issuer or audience.
    #[error("{0}")]
    Token(#[from] TokenError),
    /// A valid token, but not for a signed-in user.
    #[error("not a user token")]
    NotAUser,
    /// No key set could be fetched in time (the accounts worker is unreachable).
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
    /// Least time between the starts of two fetches.
    pub min_interval: Duration,
    /// Longest a token waits for a key set that knows its `kid`.
    pub wait: Duration,
    /// Longest one fetch may take.
    pub fetch_timeout: Duration,
}

/// What the bridge knows of the signing keys.
#[derive(Default)]
struct Keys {
    /// Verifies against the last fetched key set.
    verifier: Option<Arc<Verifier>>,
    /// The last fetched key set, as served at `/.well-known/jwks.json`.
    jwks_json: Option<String>,
}

/// The single-flight fetch's record, behind the lock that makes it single.
#[derive(Default)]
struct Fetches {
    /// When the last fetch started, and whether it brought a key set.
    last: Option<(Instant, bool)>,
}

/// Verifies access tokens.
pub struct Authenticator {
    /// Where the key set comes from.
    nats: async_nats::Client,
    /// Issuer, audience, leeway, subject, pacing.
    settings: AuthSettings,
    /// The cached key set; read on every token, written after a fetch.
    keys: RwLock<Keys>,
    /// One fetch at a time; whoever holds it fetches or finds that someone just did.
    fetches: tokio::sync::Mutex<Fetches>,
}

impl Authenticator {
    /// An authenticator with no keys yet (they are fetched on first use).
    pub fn new(nats: async_nats::Client, settings: AuthSettings) -> Authenticator {
        Authenticator {
            nats,
            settings,
            keys: RwLock::new(Keys::default()),
            fetches: tokio::sync::Mutex::new(Fetches::default()),
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

    /// A verifier that knows the token's `kid`, or the last fetched one when even a fresh
    /// fetch does not know it (it then refuses the token as signed by an unknown key).
    async fn verifier_for(&self, token: &str) -> Result<Arc<Verifier>, AuthError> {
        if let Some(v) = self.current().filter(|v| v.knows(token).unwrap_or(false)) {
            return Ok(v);
        }
        // A malformed token is refused before anything is fetched for it.
        Verifier::check_header(token)?;
        let arrived = Instant::now();
        let deadline = arrived + self.settings.wait;
        let known = || self.current().is_some_and(|v| v.knows(token).unwrap_or(false));
        while let Some(brought_keys) = self.fetch_since(arrived, deadline, known).await {
            if let Some(v) = self.current().filter(|v| v.knows(token).unwrap_or(false)) {
                return Ok(v);
            }
            if brought_keys {
                // A set fetched after the token arrived does not know its key.
                return self.current().ok_or(AuthError::Unavailable);
            }
            // The fetch failed (the accounts worker is not up yet): again, paced.
        }
        Err(AuthError::Unavailable)
    }

    fn current(&self) -> Option<Arc<Verifier>> {
        self.keys.read().expect("keys lock").verifier.clone()
    }

    /// Makes sure a fetch that started at or after `since` has run, unless the fetch in
    /// flight when the caller arrived already `satisfied` it: waits for that one, or starts
    /// one once the pacing allows. Returns whether that fetch brought a key set, or `None`
    /// when `deadline` passes first.
    async fn fetch_since(
        &self,
        since: Instant,
        deadline: Instant,
        satisfied: impl Fn() -> bool,
    ) -> Option<bool> {
        let mut fetches = timeout_at(deadline, self.fetches.lock()).await.ok()?;
        if satisfied() {
            return Some(true);
        }
        if let Some((at, ok)) = fetches.last {
            if ok && at >= since {
                return Some(true);
            }
            let next = at + self.settings.min_interval;
            if next > deadline {
                return None;
            }
            sleep_until(next).await;
        }
        let started = Instant::now();
        let ok = self.fetch().await;
        fetches.last = Some((started, ok));
        Some(ok)
    }

    /// Fetches the key set now (the periodic refresh), paced like every other fetch.
    pub async fn refresh(&self) {
        let now = Instant::now();
        self.fetch_since(now, now + self.settings.wait, || false).await;
    }

    /// One request for the key set; on success it replaces the cached one. Failures are
    /// logged and leave the cached set in place.
    async fn fetch(&self) -> bool {
        let request = async_nats::Request::new().timeout(Some(self.settings.fetch_timeout));
        let subject = self.settings.jwks_subject.clone();
        let jwks = match self.nats.send_request(subject, request).await {
            Ok(reply) => match serde_json::from_slice::<Jwks>(&reply.payload) {
                Ok(jwks) => jwks,
                Err(e) => {
                    tracing::warn!(error = %e, subject = %self.settings.jwks_subject, "JWKS reply is not a key set");
                    return false;
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, subject = %self.settings.jwks_subject, "JWKS fetch failed");
                return false;
            }
        };
        let s = &self.settings;
        let verifier = Verifier::new(&jwks, &s.issuer, &s.audience, s.leeway_secs);
        let json = serde_json::to_string(&jwks).expect("a JWKS serializes");
        let mut keys = self.keys.write().expect("keys lock");
        keys.verifier = Some(Arc::new(verifier));
        keys.jwks_json = Some(json);
        true
    }

    /// Whether the bridge holds a key set (what `scripts/run` waits for).
    pub fn has_keys(&self) -> bool {
        self.keys.read().expect("keys lock").verifier.is_some()
    }

    /// The key set as JSON, fetching it first (a bounded wait) if the bridge has none.
    pub async fn jwks_json(&self) -> Option<String> {
        if !self.has_keys() {
            self.refresh().await;
        }
        self.keys.read().expect("keys lock").jwks_json.clone()
    }
}
