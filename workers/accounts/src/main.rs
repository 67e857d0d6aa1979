//! `chorus-accounts`: the kit starts it (settings, NATS, Postgres with migrations); it loads
//! its signing keys, forgets refilled attempt counters every minute, and serves
//! `svc.accounts.*` and `svc.friends.*` until SIGTERM or Ctrl-C.

use anyhow::Context as _;
use base64::Engine;
use chorus_accounts::keys::SigningKeys;
use chorus_accounts::sessions::TokenSettings;
use chorus_accounts::{Accounts, MIGRATIONS, Settings, service};
use chorus_kit::{Context, KitArgs, Service, Spec, WorkerArgs};
use clap::Parser;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Settings of `chorus-accounts`.
#[derive(Debug, Parser)]
#[command(
    name = "chorus-accounts",
    version,
    about = "Chorus accounts worker: sign-up, login, tokens"
)]
struct Args {
    #[command(flatten)]
    kit: KitArgs,

    /// Directory of ES256 signing keys (`*.p8`, PKCS#8 DER); the last by name signs.
    #[arg(long, env = "CHORUS_SIGNING_KEY_DIR", default_value = ".run/keys")]
    signing_key_dir: PathBuf,

    /// Signing keys given directly: base64 PKCS#8 DER, comma-separated, oldest first (the
    /// last signs). When set, the key directory is not used.
    #[arg(long, env = "CHORUS_SIGNING_KEYS", hide_env_values = true)]
    signing_keys: Option<String>,

    /// Create a signing key in the key directory when it has none (local runs).
    #[arg(long, env = "CHORUS_GENERATE_KEY", default_value_t = false)]
    generate_key: bool,

    /// `iss` of issued tokens (bridges check it).
    #[arg(long, env = "CHORUS_TOKEN_ISSUER", default_value = "chorus")]
    token_issuer: String,

    /// `aud` of issued tokens (bridges check it).
    #[arg(long, env = "CHORUS_TOKEN_AUDIENCE", default_value = "chorus")]
    token_audience: String,

    /// Access-token lifetime in seconds.
    #[arg(long, env = "CHORUS_ACCESS_TTL_SECS", default_value_t = 900)]
    access_ttl_secs: u64,

    /// Refresh-token lifetime in seconds.
    #[arg(long, env = "CHORUS_REFRESH_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    refresh_ttl_secs: u64,

    /// PBKDF2-HMAC-SHA256 iterations for new password hashes.
    #[arg(long, env = "CHORUS_PBKDF2_ITERATIONS", default_value_t = chorus_accounts::password::DEFAULT_ITERATIONS)]
    pbkdf2_iterations: u32,

    /// Sign-up, login and password attempts per minute, per name and per connection.
    #[arg(long, env = "CHORUS_LOGIN_ATTEMPTS_PER_MIN", default_value_t = 10)]
    login_attempts_per_min: u32,
}

impl WorkerArgs for Args {
    fn kit(&self) -> &KitArgs {
        &self.kit
    }
}

impl Args {
    /// The keys named by `CHORUS_SIGNING_KEYS`, else those of the key directory.
    fn signing_keys(&self) -> anyhow::Result<SigningKeys> {
        let Some(list) = &self.signing_keys else {
            return SigningKeys::load_dir(&self.signing_key_dir, self.generate_key).context("signing keys");
        };
        let blobs = list
            .split(',')
            .map(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()))
            .collect::<Result<Vec<_>, _>>()
            .context("CHORUS_SIGNING_KEYS is not base64")?;
        let refs: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
        SigningKeys::from_pkcs8(&refs).context("CHORUS_SIGNING_KEYS holds no valid PKCS#8 P-256 key")
    }

    fn settings(&self) -> Settings {
        Settings {
            tokens: TokenSettings {
                issuer: self.token_issuer.clone(),
                audience: self.token_audience.clone(),
                access_ttl: self.access_ttl_secs,
                refresh_ttl: self.refresh_ttl_secs,
            },
            pbkdf2_iterations: self.pbkdf2_iterations,
            attempts_per_minute: self.login_attempts_per_min,
        }
    }
}

fn main() -> anyhow::Result<()> {
    chorus_kit::worker::main(Spec::new("accounts").migrations(MIGRATIONS), setup)
}

async fn setup(args: Args, ctx: Context) -> anyhow::Result<Service<Arc<Accounts>>> {
    let keys = args.signing_keys()?;
    let db = ctx.db.clone().expect("a spec with migrations has a database");
    let accounts = Accounts::new(db, keys, ctx.nats.clone(), args.settings(), ctx.metrics.waits());
    let upkeep = accounts.clone();
    ctx.every(Duration::from_secs(60), move || upkeep.forget_old_attempts());
    Ok(service(accounts))
}
