//! Postgres: a connection pool (deadpool) and a migration runner. Migrations are plain SQL
//! compiled into the worker, applied in order, each once, in a transaction holding an
//! advisory lock so that replicas starting together do not race.

use crate::error::KitError;
use deadpool_postgres::{Config, Pool, Runtime};
use tokio_postgres::NoTls;

/// One schema change.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Order of application; never reuse or change an applied one.
    pub version: i64,
    /// A short name for logs.
    pub name: &'static str,
    /// The SQL (may hold several statements).
    pub sql: &'static str,
}

/// A pool on `url` (a `postgres://` URL), checked with one connection.
pub async fn connect(url: &str, max_size: usize) -> Result<Pool, KitError> {
    let mut config = Config::new();
    config.url = Some(url.to_string());
    config.pool = Some(deadpool_postgres::PoolConfig::new(max_size.max(1)));
    let pool = config
        .create_pool(Some(Runtime::Tokio1), NoTls)
        .map_err(|e| KitError::Db(e.to_string()))?;
    drop(pool.get().await.map_err(|e| KitError::Db(e.to_string()))?);
    Ok(pool)
}

/// Applies the `migrations` of `worker` not applied yet; returns how many ran.
pub async fn migrate(pool: &Pool, worker: &str, migrations: &[Migration]) -> Result<usize, KitError> {
    let db_err = |e: tokio_postgres::Error| KitError::Db(e.to_string());
    let mut client = pool.get().await.map_err(|e| KitError::Db(e.to_string()))?;
    let tx = client.transaction().await.map_err(db_err)?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext('chorus_migrations'))", &[])
        .await
        .map_err(db_err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS chorus_migrations (
            worker text NOT NULL,
            version bigint NOT NULL,
            name text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (worker, version))",
    )
    .await
    .map_err(db_err)?;
    let applied: Vec<i64> = tx
        .query(
            "SELECT version FROM chorus_migrations WHERE worker = $1",
            &[&worker],
        )
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut ran = 0;
    for m in migrations.iter().filter(|m| !applied.contains(&m.version)) {
        let fail = |source| KitError::Migration {
            version: m.version,
            name: m.name,
            source,
        };
        tx.batch_execute(m.sql).await.map_err(fail)?;
        tx.execute(
            "INSERT INTO chorus_migrations (worker, version, name) VALUES ($1, $2, $3)",
            &[&worker, &m.version, &m.name],
        )
        .await
        .map_err(fail)?;
        tracing::info!(worker, version = m.version, name = m.name, "migration applied");
        ran += 1;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(ran)
}
