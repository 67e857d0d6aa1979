//! The `svc.accounts.*` endpoints: `signup`, `login`, `refresh`, `logout`, `me`,
//! `password`, `jwks`, `lookup` (a name to its id, to ask a friend by name). A wrong
//! password and an unknown name answer alike, in about the same time; attempts are limited per name and per connection. Every handler takes the shared
//! [`Accounts`] and fails with an [`AccountsError`].

use crate::error::AccountsError;
use crate::keys::SigningKeys;
use crate::names::{AccountName, Password};
use crate::password::PasswordHash;
use crate::sessions::{self, TokenPair, TokenSettings};
use chorus_kit::{Empty, Request, Service, Waits};
use chorus_protocol::token::Jwks;
use chorus_protocol::{Identity, Namespace};
use deadpool_postgres::{GenericClient, Pool};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::num::NonZeroU32;
use std::sync::Arc;

/// The worker's settings (beyond the kit's).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Token issuing.
    pub tokens: TokenSettings,
    /// PBKDF2 iterations for new hashes.
    pub pbkdf2_iterations: u32,
    /// Login attempts per minute, per account name and per connection.
    pub attempts_per_minute: u32,
}

impl Settings {
    /// Settings for a worker inside a test: `chorus` tokens living `access_ttl` seconds,
    /// cheap hashing (1,000 PBKDF2 iterations) and a loose attempt limit. Never for real
    /// passwords.
    pub fn for_tests(access_ttl: u64) -> Settings {
        Settings {
            tokens: TokenSettings {
                issuer: "chorus".into(),
                audience: "chorus".into(),
                access_ttl,
                refresh_ttl: 3600,
            },
            pbkdf2_iterations: 1000,
            attempts_per_minute: 100,
        }
    }
}

/// The worker's state, shared by every request.
pub struct Accounts {
    /// Accounts and refresh tokens.
    pub(crate) db: Pool,
    /// Signs access tokens.
    keys: SigningKeys,
    /// To kick connections after a token theft or a password change.
    pub(crate) nats: async_nats::Client,
    /// Settings.
    settings: Settings,
    /// Attempts per account name (lowercase) and per connection.
    attempts: DefaultKeyedRateLimiter<String>,
    /// Times the queries a sign-up, a login or a refresh waits on.
    pub(crate) waits: Waits,
}

impl Accounts {
    /// The worker's state; its queries are timed in `waits` (the worker's
    /// `Metrics::waits()`).
    pub fn new(
        db: Pool,
        keys: SigningKeys,
        nats: async_nats::Client,
        settings: Settings,
        waits: Waits,
    ) -> Arc<Accounts> {
        let per_minute = NonZeroU32::new(settings.attempts_per_minute.max(1)).expect("at least one");
        let attempts = RateLimiter::keyed(Quota::per_minute(per_minute));
        Arc::new(Accounts {
            db,
            keys,
            nats,
            settings,
            attempts,
            waits,
        })
    }

    /// Forgets attempt counters that have refilled (call now and then).
    pub fn forget_old_attempts(&self) {
        self.attempts.retain_recent();
    }

    fn attempt(&self, key: String) -> Result<(), AccountsError> {
        self.attempts
            .check_key(&key)
            .map_err(|_| AccountsError::TooManyAttempts)
    }

    /// Limits by connection (when known) and by `name`.
    fn limit(&self, req: &Request, name: Option<&AccountName>) -> Result<(), AccountsError> {
        if let Some(caller) = &req.caller {
            self.attempt(format!("conn:{}", caller.conn))?;
        }
        if let Some(name) = name {
            self.attempt(format!("name:{}", name.folded()))?;
        }
        Ok(())
    }

    /// A token pair for account `id` (named `name`), in refresh `family` or a new one.
    async fn issue(
        &self,
        db: &impl GenericClient,
        id: i64,
        name: String,
        family: Option<&str>,
    ) -> Result<TokenPair, AccountsError> {
        let family = family.map_or_else(sessions::new_family, str::to_string);
        let issued = sessions::issue(db, &self.keys, &self.settings.tokens, user(id, name), id, &family);
        self.waits.db("issue", issued).await
    }

    /// Tells every bridge to close `user`'s connections (all but `except_conn`).
    async fn kick(&self, user: &str, reason: &str, except_conn: Option<&str>) {
        if let Err(e) = chorus_kit::ctl::kick(&self.nats, user, reason, except_conn).await {
            tracing::warn!(error = %e, "kick not sent");
        }
    }
}

fn user(id: i64, name: String) -> Identity {
    Identity {
        id: id.to_string(),
        name,
        ns: Namespace::Private,
    }
}

/// `signup` and `login` input.
#[derive(Deserialize)]
pub struct Credentials {
    name: String,
    password: String,
}

/// `refresh` and `logout` input.
#[derive(Deserialize)]
pub struct RefreshRequest {
    refresh_token: String,
}

/// `lookup` input.
#[derive(Deserialize)]
pub struct NameQuery {
    name: String,
}

/// `password` input.
#[derive(Deserialize)]
pub struct PasswordChange {
    old_password: String,
    new_password: String,
}

/// `signup` output.
#[derive(Serialize)]
pub struct SignedUp {
    user: Identity,
}

async fn signup(a: Arc<Accounts>, req: Request, c: Credentials) -> Result<SignedUp, AccountsError> {
    let name = AccountName::parse(&c.name)?;
    let password = Password::parse(c.password)?;
    a.limit(&req, None)?;
    let iterations = a.settings.pbkdf2_iterations;
    let hash = tokio::task::spawn_blocking(move || PasswordHash::new(password.expose(), iterations)).await?;
    let db = a.db.get().await?;
    let row = a
        .waits
        .db(
            "signup",
            db.query_opt(
                "INSERT INTO accounts (name, password_hash, password_salt, password_iterations)
                 VALUES ($1, $2, $3, $4) ON CONFLICT ((lower(name))) DO NOTHING RETURNING id",
                &[&name.as_str(), &hash.hash, &hash.salt, &(hash.iterations as i32)],
            ),
        )
        .await?;
    let Some(row) = row else {
        return Err(AccountsError::NameTaken);
    };
    Ok(SignedUp {
        user: user(row.get(0), name.as_str().to_string()),
    })
}

async fn login(a: Arc<Accounts>, req: Request, c: Credentials) -> Result<TokenPair, AccountsError> {
    // A malformed name is a wrong name: same answer, no hint.
    let name = AccountName::parse(&c.name).ok();
    a.limit(&req, name.as_ref())?;
    let db = a.db.get().await?;
    let row = match &name {
        Some(name) => {
            a.waits
                .db(
                    "login",
                    db.query_opt(
                        "SELECT id, name, password_hash, password_salt, password_iterations
                         FROM accounts WHERE lower(name) = $1",
                        &[&name.folded()],
                    ),
                )
                .await?
        }
        None => None,
    };
    let stored = match &row {
        Some(r) => PasswordHash {
            hash: r.get(2),
            salt: r.get(3),
            iterations: r.get::<_, i32>(4) as u32,
        },
        None => PasswordHash::decoy(a.settings.pbkdf2_iterations),
    };
    let password = c.password;
    let matches = tokio::task::spawn_blocking(move || stored.verify(&password)).await?;
    let Some(row) = row.filter(|_| matches) else {
        return Err(AccountsError::WrongCredentials);
    };
    let id: i64 = row.get(0);
    a.issue(&db, id, row.get(1), None).await
}

async fn refresh(a: Arc<Accounts>, _req: Request, r: RefreshRequest) -> Result<TokenPair, AccountsError> {
    let mut db = a.db.get().await?;
    let tx = db.transaction().await?;
    const HELD: &str = "SELECT t.account_id, t.family, t.used_at IS NOT NULL,
            t.revoked_at IS NOT NULL OR t.expires_at < now(), a.name
        FROM refresh_tokens t JOIN accounts a ON a.id = t.account_id
        WHERE t.token_hash = $1 FOR UPDATE OF t";
    let hash = sessions::hash(&r.refresh_token);
    let row = a.waits.db("refresh", tx.query_opt(HELD, &[&hash])).await?;
    let Some(row) = row else {
        return Err(AccountsError::InvalidRefreshToken);
    };
    let (id, family, used, dead): (i64, String, bool, bool) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    if dead {
        // Logged out, revoked (after a password change or a theft) or expired: refused, no more.
        return Err(AccountsError::InvalidRefreshToken);
    }
    if used {
        // A live family's token presented a second time: it was stolen, or replayed.
        sessions::revoke_family(&tx, &family).await?;
        tx.commit().await?;
        a.kick(&id.to_string(), "refresh token reuse", None).await;
        return Err(AccountsError::InvalidRefreshToken);
    }
    tx.execute(
        "UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1",
        &[&sessions::hash(&r.refresh_token)],
    )
    .await?;
    let pair = a.issue(&tx, id, row.get(4), Some(&family)).await?;
    tx.commit().await?;
    Ok(pair)
}

async fn logout(
    a: Arc<Accounts>,
    req: Request,
    r: RefreshRequest,
) -> Result<serde_json::Value, AccountsError> {
    let caller = req.user()?;
    let db = a.db.get().await?;
    let row = db
        .query_opt(
            "SELECT family FROM refresh_tokens WHERE token_hash = $1 AND account_id::text = $2",
            &[&sessions::hash(&r.refresh_token), &caller.id],
        )
        .await?;
    if let Some(row) = row {
        sessions::revoke_family(&db, &row.get::<_, String>(0)).await?;
    }
    Ok(json!({"ok": true}))
}

async fn me(a: Arc<Accounts>, req: Request, _: Empty) -> Result<serde_json::Value, AccountsError> {
    let caller = req.user()?;
    let db = a.db.get().await?;
    let id: i64 = caller.id.parse().map_err(|_| AccountsError::NoSuchAccount)?;
    let row = db
        .query_opt("SELECT name, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM accounts WHERE id = $1", &[&id])
        .await?
        .ok_or(AccountsError::NoSuchAccount)?;
    Ok(
        json!({"user": {"id": caller.id, "name": row.get::<_, String>(0), "ns": "private"}, "created_at": row.get::<_, String>(1)}),
    )
}

async fn change_password(
    a: Arc<Accounts>,
    req: Request,
    p: PasswordChange,
) -> Result<TokenPair, AccountsError> {
    let caller = req.user()?.clone();
    let new_password = Password::parse(p.new_password)?;
    a.limit(&req, None)?;
    let id: i64 = caller.id.parse().map_err(|_| AccountsError::NoSuchAccount)?;
    let mut db = a.db.get().await?;
    let tx = db.transaction().await?;
    let row = tx
        .query_opt(
            "SELECT name, password_hash, password_salt, password_iterations FROM accounts WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await?
        .ok_or(AccountsError::NoSuchAccount)?;
    let stored = PasswordHash {
        hash: row.get(1),
        salt: row.get(2),
        iterations: row.get::<_, i32>(3) as u32,
    };
    let (old, iterations) = (p.old_password, a.settings.pbkdf2_iterations);
    let new_hash = tokio::task::spawn_blocking(move || {
        stored
            .verify(&old)
            .then(|| PasswordHash::new(new_password.expose(), iterations))
    })
    .await?
    .ok_or(AccountsError::WrongPassword)?;
    tx.execute(
        "UPDATE accounts SET password_hash = $1, password_salt = $2, password_iterations = $3 WHERE id = $4",
        &[&new_hash.hash, &new_hash.salt, &(new_hash.iterations as i32), &id],
    )
    .await?;
    // Every other session ends: their refresh tokens die and their connections are kicked.
    sessions::revoke_account(&tx, id).await?;
    let pair = a.issue(&tx, id, row.get(0), None).await?;
    tx.commit().await?;
    a.kick(&caller.id, "password changed", Some(&caller.conn)).await;
    Ok(pair)
}

/// `svc.accounts.lookup`: the account of a name (any case), so a user can ask a friend by name.
/// Signed-in callers only; guests are not listed.
async fn lookup(a: Arc<Accounts>, req: Request, q: NameQuery) -> Result<serde_json::Value, AccountsError> {
    req.user()?;
    let name = AccountName::parse(&q.name)?;
    let db = a.db.get().await?;
    let row = a
        .waits
        .db(
            "lookup",
            db.query_opt(
                "SELECT id, name FROM accounts WHERE lower(name) = $1",
                &[&name.folded()],
            ),
        )
        .await?
        .ok_or(AccountsError::NoSuchUser)?;
    Ok(json!({"user": {"id": row.get::<_, i64>(0).to_string(), "name": row.get::<_, String>(1)}}))
}

async fn jwks(a: Arc<Accounts>, _req: Request, _: Empty) -> Result<Jwks, AccountsError> {
    Ok(a.keys.jwks())
}

/// The `svc.accounts.*` endpoints over `accounts`.
pub fn endpoints(accounts: Arc<Accounts>) -> Service<Arc<Accounts>> {
    Service::with_state("accounts", accounts)
        .method("signup", signup)
        .method("login", login)
        .method("refresh", refresh)
        .method("logout", logout)
        .method("me", me)
        .method("password", change_password)
        .method("lookup", lookup)
        .method("jwks", jwks)
}
