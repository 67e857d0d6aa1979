//! Starting and running a worker process. [`main`] is a worker binary's whole `main`: the
//! `CHORUS_CONFIG` file and the settings read, logging started, then a [`Worker`] started
//! (NATS, the HTTP listener, Postgres with migrations), the worker's own set-up given a
//! [`Context`], its [`Service`] served until SIGTERM or Ctrl-C (or until an essential task
//! ends), and the requests in flight finished.

use crate::config::KitArgs;
use crate::context::Context;
use crate::db::{self, Migration};
use crate::error::KitError;
use crate::metrics::Metrics;
use crate::ready::Ready;
use crate::service::Service;
use deadpool_postgres::Pool;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What the kit must know of a worker before its set-up runs.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The worker's name: `svc.{name}.*`, the queue group, the `worker` label of metrics,
    /// the NATS connection's name (`chorus-{name}`).
    pub name: &'static str,
    /// Its schema, for a worker that keeps durable state: then `DATABASE_URL` is required
    /// and the schema is brought up to date before anything is served.
    pub migrations: Option<&'static [Migration]>,
}

impl Spec {
    /// A worker named `name`, without a database.
    pub const fn new(name: &'static str) -> Spec {
        Spec {
            name,
            migrations: None,
        }
    }

    /// The same worker, keeping durable state in Postgres with this schema.
    pub const fn migrations(self, migrations: &'static [Migration]) -> Spec {
        Spec {
            migrations: Some(migrations),
            ..self
        }
    }
}

/// A worker's settings: its clap struct, with [`KitArgs`] flattened in, which the kit
/// finds through this.
pub trait WorkerArgs: clap::Parser {
    /// The kit's settings among the worker's.
    fn kit(&self) -> &KitArgs;
}

/// A worker binary's whole `main`: the `CHORUS_CONFIG` file into the environment (before
/// any thread exists), the settings `A` parsed, logging started, a [`Worker`] started from
/// `spec`, then `setup` builds the [`Service`] (and starts background work through the
/// [`Context`]), which is served until SIGTERM or Ctrl-C. Blocks until the worker stopped.
pub fn main<A, S, F, Fut, E>(spec: Spec, setup: F) -> Result<(), E>
where
    A: WorkerArgs,
    S: Clone + Send + Sync + 'static,
    F: FnOnce(A, Context) -> Fut,
    Fut: Future<Output = Result<Service<S>, E>>,
    E: From<KitError>
        + From<chorus_runtime::config_file::ConfigFileError>
        + From<chorus_runtime::telemetry::TelemetryError>
        + From<std::io::Error>,
{
    chorus_runtime::config_file::load_config_file()?;
    let args = A::parse();
    let kit = args.kit().clone();
    let service = format!("chorus-{}", spec.name);
    // Held until the worker ends, so the last spans are exported.
    let _telemetry = chorus_runtime::telemetry::Telemetry::init(
        &service,
        &kit.log,
        &kit.log_format,
        kit.otlp_endpoint.as_deref(),
    )?;
    tokio::runtime::Runtime::new()?.block_on(async move {
        let worker = Worker::start(spec, &kit).await?;
        let service = setup(args, worker.context()).await?;
        worker
            .run(service, chorus_runtime::shutdown::shutdown_signal())
            .await?;
        Ok(())
    })
}

/// A started worker: connected, answering `/healthz`, not serving yet (`/readyz` is 503
/// until [`Worker::run`] has subscribed every endpoint).
pub struct Worker {
    /// The worker's name (`svc.{name}.*`).
    pub name: &'static str,
    /// The bus.
    pub nats: async_nats::Client,
    /// The Postgres pool, for workers started with migrations.
    pub db: Option<Pool>,
    /// Its metrics.
    pub metrics: Arc<Metrics>,
    /// Whether it serves; `/readyz` reads it.
    ready: Ready,
    /// Where the HTTP listener is bound.
    http_addr: SocketAddr,
    /// The HTTP listener's task, stopped with the worker.
    http: tokio::task::JoinHandle<()>,
    /// Given to every [`Context`], for essential tasks to report their end.
    ended_tx: mpsc::UnboundedSender<KitError>,
    /// Where [`Worker::run`] hears of an essential task's end.
    ended: mpsc::UnboundedReceiver<KitError>,
    /// Cancelled when the worker stops: ends the tasks started through a [`Context`].
    stop: CancellationToken,
}

impl Worker {
    /// Connects to NATS (retrying, reconnecting forever), starts the HTTP listener (so
    /// `/healthz` answers from here on), and with `spec.migrations` opens the Postgres pool
    /// and migrates.
    pub async fn start(spec: Spec, args: &KitArgs) -> Result<Worker, KitError> {
        let name = spec.name;
        let database = match spec.migrations {
            Some(migrations) => Some((
                args.database_url.as_deref().ok_or(KitError::NoDatabase)?,
                migrations,
            )),
            None => None,
        };
        let metrics = Arc::new(Metrics::new(name));
        let told = metrics.clone();
        let nats = async_nats::ConnectOptions::new()
            .name(format!("chorus-{name}"))
            .retry_on_initial_connect()
            .max_reconnects(None)
            .event_callback(move |event| {
                match event {
                    async_nats::Event::Connected => told.set_nats_connected(true),
                    async_nats::Event::Disconnected => told.set_nats_connected(false),
                    _ => {}
                }
                async move { tracing::info!(%event, "nats") }
            })
            .connect(args.nats_url.as_str())
            .await?;
        metrics.set_nats_connected(nats.connection_state() == async_nats::connection::State::Connected);
        let ready = Ready::new();
        let listener = tokio::net::TcpListener::bind(args.http_addr).await?;
        let http_addr = listener.local_addr()?;
        let http = tokio::spawn(crate::http::serve(
            listener,
            metrics.clone(),
            nats.clone(),
            ready.clone(),
        ));
        let (ended_tx, ended) = mpsc::unbounded_channel();
        let mut worker = Worker {
            name,
            nats,
            db: None,
            metrics,
            ready,
            http_addr,
            http,
            ended_tx,
            ended,
            stop: CancellationToken::new(),
        };
        if let Some((url, migrations)) = database {
            // On an error the worker is dropped, and its listener with it.
            let pool = db::connect(url, args.db_pool).await?;
            db::migrate(&pool, name, migrations).await?;
            worker.db = Some(pool);
        }
        Ok(worker)
    }

    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The worker's readiness: await [`Ready::serving`] to know it answers requests.
    pub fn ready(&self) -> Ready {
        self.ready.clone()
    }

    /// What the worker's set-up gets: the connections, and a way to run work beside the
    /// endpoints that stops with the worker.
    pub fn context(&self) -> Context {
        let (nats, db, metrics) = (self.nats.clone(), self.db.clone(), self.metrics.clone());
        Context::new(nats, db, metrics, self.ended_tx.clone(), self.stop.clone())
    }

    /// Subscribes `service`'s endpoints (then `/readyz` answers 200), serves until
    /// `shutdown` resolves or an essential task ends, then drains: `/readyz` answers 503, no
    /// new request is taken, the ones in flight finish. Then the HTTP listener and the
    /// tasks started through a [`Context`] stop. An essential task's end is the error
    /// returned.
    pub async fn run<S>(
        mut self,
        service: Service<S>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), KitError>
    where
        S: Clone + Send + Sync + 'static,
    {
        let subjects = service.subjects();
        let (ready, failure) = (self.ready.clone(), OnceLock::new());
        let served = {
            let ended = &mut self.ended;
            let stopping = async {
                tokio::select! {
                    _ = shutdown => {}
                    Some(e) = ended.recv() => { let _ = failure.set(e); }
                }
                ready.set(false);
            };
            tokio::pin!(stopping);
            tokio::select! {
                subscribed = service.subscribe(&self.nats) => match subscribed {
                    Ok(subscribed) => {
                        self.ready.set(true);
                        tracing::info!(worker = self.name, http = %self.http_addr, ?subjects, "worker serving");
                        subscribed.serve(self.metrics.clone(), &mut stopping).await
                    }
                    Err(e) => Err(e),
                },
                _ = &mut stopping => Ok(()),
            }
        };
        tracing::info!(worker = self.name, "worker stopped");
        served?;
        failure.into_inner().map_or(Ok(()), Err)
    }
}

impl Drop for Worker {
    /// A worker that stops (or never ran) stops its HTTP listener and the tasks started
    /// through its [`Context`].
    fn drop(&mut self) {
        self.stop.cancel();
        self.http.abort();
    }
}
