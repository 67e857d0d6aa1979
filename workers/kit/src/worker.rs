//! Start-up and shutdown for a worker binary: connect to NATS (retrying, reconnecting
//! forever), open the Postgres pool and migrate when the worker keeps durable state, bind
//! the HTTP listener, serve the [`Service`] until SIGTERM or Ctrl-C, finish in-flight work.

use crate::config::KitArgs;
use crate::db::{self, Migration};
use crate::error::KitError;
use crate::metrics::Metrics;
use crate::service::Service;
use deadpool_postgres::Pool;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// A started worker: its connections, before it serves.
pub struct Worker {
    /// The worker's name (`svc.{name}.*`).
    pub name: &'static str,
    /// The bus.
    pub nats: async_nats::Client,
    /// The Postgres pool, for workers started with migrations.
    pub db: Option<Pool>,
    /// Its metrics.
    pub metrics: Arc<Metrics>,
    /// The bound HTTP listener.
    http: TcpListener,
}

impl Worker {
    /// Connects everything. With `migrations`, `DATABASE_URL` is required and the schema is
    /// brought up to date before anything is served.
    pub async fn start(
        name: &'static str,
        args: &KitArgs,
        migrations: Option<&[Migration]>,
    ) -> Result<Worker, KitError> {
        let nats = async_nats::ConnectOptions::new()
            .name(format!("chorus-{name}"))
            .retry_on_initial_connect()
            .max_reconnects(None)
            .event_callback(move |event| async move { tracing::info!(%event, "nats") })
            .connect(args.nats_url.as_str())
            .await?;
        let db = match migrations {
            Some(migrations) => {
                let url = args.database_url.as_deref().ok_or(KitError::NoDatabase)?;
                let pool = db::connect(url, args.db_pool).await?;
                db::migrate(&pool, name, migrations).await?;
                Some(pool)
            }
            None => None,
        };
        let http = TcpListener::bind(args.http_addr).await?;
        Ok(Worker {
            name,
            nats,
            db,
            metrics: Arc::new(Metrics::new(name)),
            http,
        })
    }

    /// Where `/metrics` is served.
    pub fn http_addr(&self) -> SocketAddr {
        self.http.local_addr().expect("a bound listener has an address")
    }

    /// Serves `service` until `shutdown` resolves, then drains.
    pub async fn run(self, service: Service, shutdown: impl Future<Output = ()>) -> Result<(), KitError> {
        tracing::info!(worker = self.name, http = %self.http_addr(), subjects = ?service.subjects(), "worker serving");
        let http = tokio::spawn(crate::http::serve(
            self.http,
            self.metrics.clone(),
            self.nats.clone(),
        ));
        let result = service.serve(self.nats, self.metrics, shutdown).await;
        http.abort();
        tracing::info!(worker = self.name, "worker stopped");
        result
    }
}

/// A worker binary's whole `main`: the `CHORUS_CONFIG` file into the environment (before
/// any thread exists), the settings `A` parsed, logging started from its [`KitArgs`] (which
/// `kit` finds in it), then `run` on a multi-threaded runtime.
pub fn main<A, F, Fut, E>(kit: fn(&A) -> &KitArgs, run: F) -> Result<(), E>
where
    A: clap::Parser,
    F: FnOnce(A) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: From<chorus_runtime::config_file::ConfigFileError> + From<std::io::Error>,
{
    chorus_runtime::config_file::load_config_file()?;
    let args = A::parse();
    let k = kit(&args);
    chorus_runtime::logging::init_logging(&k.log, &k.log_format);
    tokio::runtime::Runtime::new()?.block_on(run(args))
}

pub use chorus_runtime::shutdown::shutdown_signal;
