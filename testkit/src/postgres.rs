//! [`TestDb`]: a fresh, uniquely named Postgres database for one test.
//!
//! The server is the one at `DATABASE_URL` (`scripts/test` sets it; the default is the
//! local server). Each `TestDb` creates its own database there, so tests that migrate or
//! fill tables never see each other, and drops it (`WITH (FORCE)`, ending any connection
//! still open) when it goes out of scope.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_postgres::{Client, NoTls};

use crate::Error;

/// Where the admin connection goes when `DATABASE_URL` is unset.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long connecting, creating or dropping may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Numbers the databases one test process creates, so names never collide.
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database created for one test and dropped when this value is dropped.
#[derive(Debug)]
pub struct TestDb {
    /// `DATABASE_URL` (or the default): where we create and drop the database.
    admin_url: String,
    /// The same server, pointing at the new database.
    url: String,
    /// The new database's name, `chorus_test_<pid>_<n>_<nanos>`.
    name: String,
}

impl TestDb {
    /// A fresh, uniquely named database on the server at env `DATABASE_URL` (default
    /// `postgres://postgres@127.0.0.1:5432/postgres`), dropped (`WITH (FORCE)`) in `Drop`.
    ///
    /// # Panics
    /// When the server cannot be reached or refuses `CREATE DATABASE`.
    pub async fn create() -> TestDb {
        Self::try_create()
            .await
            .unwrap_or_else(|e| panic!("creating a test database: {e}"))
    }

    /// Like [`TestDb::create`], returning the error instead of panicking.
    pub async fn try_create() -> Result<TestDb, Error> {
        let admin_url = std::env::var("DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        let name = unique_name();
        let admin = connect(&admin_url).await?;
        let sql = format!("CREATE DATABASE \"{name}\"");
        timed("CREATE DATABASE", admin.batch_execute(&sql)).await?;
        let url = with_database(&admin_url, &name);
        Ok(TestDb { admin_url, url, name })
    }

    /// Connection URL for the new database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The new database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A client connected to the new database (its connection task runs on the current
    /// runtime).
    ///
    /// # Panics
    /// When the connection fails.
    pub async fn connect(&self) -> Client {
        connect(&self.url).await.unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for TestDb {
    /// Drops the database from a thread of its own with its own small runtime, so this works
    /// inside or outside a runtime and never waits on the caller's (possibly blocked) one.
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            match runtime {
                Ok(rt) => rt.block_on(drop_database(&admin_url, &name)),
                Err(e) => Err(Error::Io {
                    what: "building a runtime to drop the test database".into(),
                    source: e,
                }),
            }
        });
        match dropper.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("chorus-testkit: dropping database {}: {e}", self.name),
            Err(_) => eprintln!(
                "chorus-testkit: dropping database {}: the dropping thread panicked",
                self.name
            ),
        }
    }
}

/// `DROP DATABASE IF EXISTS "name" WITH (FORCE)` over a fresh admin connection.
async fn drop_database(admin_url: &str, name: &str) -> Result<(), Error> {
    let admin = connect(admin_url).await?;
    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    timed("DROP DATABASE", admin.batch_execute(&sql)).await
}

/// Connects without TLS and spawns the connection task on the current runtime.
async fn connect(url: &str) -> Result<Client, Error> {
    let what = format!("connecting to {url}");
    let (client, connection) = timed(&what, tokio_postgres::connect(url, NoTls)).await?;
    tokio::spawn(async move {
        // Ends when the client is dropped; an error here is already reported to the client.
        let _ = connection.await;
    });
    Ok(client)
}

/// Runs a Postgres future with [`TIMEOUT`], naming the operation in any error.
async fn timed<T>(
    what: &str,
    fut: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, Error> {
    match tokio::time::timeout(TIMEOUT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(source)) => Err(Error::Postgres {
            what: what.to_string(),
            source,
        }),
        Err(_) => Err(Error::PostgresTimeout {
            what: what.to_string(),
            secs: TIMEOUT.as_secs(),
        }),
    }
}

/// `chorus_test_<pid>_<n>_<nanos>`: unique across processes and within one.
fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("chorus_test_{}_{n}_{nanos}", std::process::id())
}

/// `url` with its database (the path after the host) replaced by `name`; query kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h:1/postgres?sslmode=disable", "x"),
            "postgres://u@h:1/x?sslmode=disable"
        );
        assert_eq!(with_database("postgresql://h", "x"), "postgresql://h/x");
    }
}
