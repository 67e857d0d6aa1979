//! `chorus-store`: the kit starts it (settings, NATS, Postgres with migrations); it reads
//! and checks its catalog (a bad one stops it here, naming the file and the reason), opens
//! the consumer of finished matches, and serves `svc.store.*` and `int.store.*` until
//! SIGTERM or Ctrl-C.

use anyhow::Context as _;
use chorus_kit::{Context, KitArgs, Service, Spec, WorkerArgs};
use chorus_store::rewards::Rewards;
use chorus_store::{Catalog, MIGRATIONS, Settings, Store, service};
use clap::Parser;
use std::path::PathBuf;
use std::sync::Arc;

/// Settings of `chorus-store`.
#[derive(Debug, Parser)]
#[command(
    name = "chorus-store",
    version,
    about = "Chorus store worker: catalog, wallets, exactly-once purchases, refunds, rewards"
)]
struct Args {
    #[command(flatten)]
    kit: KitArgs,

    /// The catalog: a JSON file `{"goods":[{"id","name","price","kind","limit"?}]}`.
    #[arg(
        long,
        env = "CHORUS_STORE_CATALOG",
        default_value = "workers/store/catalog.json"
    )]
    store_catalog: PathBuf,

    /// Coins a user's wallet opens with (on the user's first store call).
    #[arg(long, env = "CHORUS_STORE_STARTING_BALANCE", default_value_t = 100)]
    store_starting_balance: u32,

    /// Coins paid to the winner of a finished rated match (0: none).
    #[arg(long, env = "CHORUS_STORE_WIN_REWARD", default_value_t = 10)]
    store_win_reward: u32,

    /// Ledger entries `svc.store.wallet` shows, newest first.
    #[arg(long, env = "CHORUS_STORE_WALLET_ENTRIES", default_value_t = 20)]
    store_wallet_entries: u16,

    /// Longest idempotency key a purchase may carry, in characters.
    #[arg(long, env = "CHORUS_STORE_MAX_KEY_CHARS", default_value_t = 128)]
    store_max_key_chars: u16,
}

impl WorkerArgs for Args {
    fn kit(&self) -> &KitArgs {
        &self.kit
    }
}

impl Args {
    fn settings(&self) -> Settings {
        Settings {
            starting_balance: self.store_starting_balance.into(),
            win_reward: self.store_win_reward.into(),
            wallet_entries: self.store_wallet_entries.into(),
            max_key_chars: self.store_max_key_chars.into(),
        }
    }
}

fn main() -> anyhow::Result<()> {
    chorus_kit::worker::main(Spec::new("store").migrations(MIGRATIONS), setup)
}

async fn setup(args: Args, ctx: Context) -> anyhow::Result<Service<Arc<Store>>> {
    let catalog = Catalog::load(&args.store_catalog)?;
    tracing::info!(file = %args.store_catalog.display(), goods = catalog.goods().len(), "catalog loaded");
    let db = ctx.db.clone().expect("a spec with migrations has a database");
    let store = Store::new(
        db,
        ctx.nats.clone(),
        catalog,
        args.settings(),
        ctx.metrics.waits(),
    );
    let rewards = Rewards::open(&ctx.nats)
        .await
        .context("the stream of finished matches")?;
    ctx.essential("the rewards consumer", rewards.run(store.clone()));
    Ok(service(store))
}
