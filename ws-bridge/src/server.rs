//! Starts the bridge on bound listeners and stops it gracefully: stop accepting, close every
//! connection "going away", give them a grace period to drain, flush NATS.

use crate::auth::{AuthSettings, Authenticator};
use crate::config::Config;
use crate::fanout::{ConnId, Fanout};
use crate::grants::{self, GrantStore};
use crate::limits::ConnSlots;
use crate::metrics::Metrics;
use crate::sessions::Sessions;
use crate::writer::WriterConfig;
use crate::{http, ids, presence, tcp};
use chorus_protocol::CloseCode;
use chorus_protocol::frame::Limits;
use chorus_protocol::policy::Policy;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The bridge's listeners, bound by the caller (tests bind port 0).
#[derive(Debug)]
pub struct Listeners {
    /// HTTP: WebSocket endpoints, health, metrics, static files.
    pub http: TcpListener,
    /// TCP line protocol, if enabled.
    pub tcp: Option<TcpListener>,
}

/// State every connection of this bridge shares.
pub struct Shared {
    /// Settings.
    pub config: Config,
    /// The limits announced in `welcome`, derived once from `config`.
    pub limits: Limits,
    /// Who may do what.
    pub policy: Policy,
    /// The bus.
    pub nats: async_nats::Client,
    /// Subject → sockets.
    pub fanout: Fanout,
    /// Welcomed sessions.
    pub sessions: Sessions,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The connection cap.
    pub slots: Arc<ConnSlots>,
    /// Cancelled when the bridge begins to shut down.
    pub shutdown: CancellationToken,
    /// Connection handlers, to wait for on shutdown.
    pub tasks: TaskTracker,
    /// Token verification.
    pub auth: Authenticator,
    /// The grant store, opened on first use (JetStream may come up after the bridge).
    grant_store: tokio::sync::OnceCell<GrantStore>,
    /// When opening the grant store last failed: new connections do not wait on a
    /// JetStream that is down; it is tried again after a while.
    grant_store_failed: std::sync::Mutex<Option<tokio::time::Instant>>,
    /// A random id for this bridge process; prefixes connection ids.
    pub bridge_id: String,
    /// The next connection number.
    next_conn: AtomicU64,
}

impl Shared {
    /// A fresh connection number.
    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// The grant store, unless JetStream is unavailable right now.
    pub async fn grants(&self) -> Option<&GrantStore> {
        if let Some(store) = self.grant_store.get() {
            return Some(store);
        }
        let failed = *self.grant_store_failed.lock().expect("lock");
        if failed.is_some_and(|t| t.elapsed() < Duration::from_secs(10)) {
            return None;
        }
        let opened = self
            .grant_store
            .get_or_try_init(|| GrantStore::open(self.nats.clone()))
            .await;
        if let Err(e) = &opened {
            tracing::warn!(error = %e, "grant store unavailable; grants are not kept across reconnects");
            *self.grant_store_failed.lock().expect("lock") = Some(tokio::time::Instant::now());
        }
        opened.ok()
    }

    /// How writers pace themselves.
    pub fn writer_config(&self) -> WriterConfig {
        let ms = Duration::from_millis;
        WriterConfig {
            batch: self.config.write_batch.max(1),
            write_timeout: ms(self.config.write_timeout_ms),
            ping_interval: ms(self.config.ping_interval_ms),
            pong_timeout: ms(self.config.pong_timeout_ms),
        }
    }
}

/// Why the bridge could not run.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// A listener failed.
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs the bridge until `shutdown` resolves, then shuts down gracefully.
pub async fn run(
    listeners: Listeners,
    nats: async_nats::Client,
    config: Config,
    policy: Policy,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BridgeError> {
    let metrics = Arc::new(Metrics::new());
    let limits = Limits {
        max_frame_bytes: config.max_frame_bytes,
        max_subs: config.max_subs,
        rate_per_sec: config.rate_per_sec,
        rate_burst: config.rate_burst.max(config.rate_per_sec),
        max_req_timeout_ms: config.max_req_timeout_ms,
    };
    let shared = Arc::new(Shared {
        fanout: Fanout::new(nats.clone(), metrics.clone()),
        slots: ConnSlots::new(config.max_connections, metrics.clone()),
        sessions: Sessions::default(),
        shutdown: CancellationToken::new(),
        tasks: TaskTracker::new(),
        auth: Authenticator::new(
            nats.clone(),
            AuthSettings {
                issuer: config.token_issuer.clone(),
                audience: config.token_audience.clone(),
                leeway_secs: config.token_leeway_secs,
                jwks_subject: config.jwks_subject.clone(),
                min_refresh: Duration::from_secs(config.jwks_min_refresh_secs),
            },
        ),
        grant_store: tokio::sync::OnceCell::new(),
        grant_store_failed: std::sync::Mutex::new(None),
        bridge_id: ids::random_hex(4),
        next_conn: AtomicU64::new(1),
        limits,
        metrics,
        policy,
        nats,
        config,
    });

    let mut accept = tokio::task::JoinSet::new();
    accept.spawn(refresh_keys(shared.clone()));
    accept.spawn(grants::listen(shared.clone()));
    accept.spawn(presence::heartbeat(shared.clone()));
    accept.spawn(http::serve(listeners.http, shared.clone()));
    if let Some(listener) = listeners.tcp {
        accept.spawn(tcp::serve(listener, shared.clone()));
    }

    shutdown.await;
    tracing::info!(connections = shared.slots.open(), "shutting down");
    shared.shutdown.cancel();
    accept.join_all().await;
    shared.sessions.close_all(CloseCode::GoingAway);
    shared.tasks.close();
    let grace = Duration::from_millis(shared.config.shutdown_grace_ms);
    if tokio::time::timeout(grace, shared.tasks.wait()).await.is_err() {
        tracing::warn!(
            left = shared.slots.open(),
            "connections still open after the grace period"
        );
    }
    // Hand what was published to NATS; bounded, since NATS may be the thing that is down.
    let _ = tokio::time::timeout(Duration::from_secs(2), shared.nats.flush()).await;
    Ok(())
}

/// Fetches the token signing keys at start and every `CHORUS_JWKS_REFRESH_SECS`.
async fn refresh_keys(shared: Arc<Shared>) {
    let every = Duration::from_secs(shared.config.jwks_refresh_secs.max(1));
    loop {
        shared.auth.refresh(true).await;
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Accepts TCP connections on `listener` until shutdown, with `TCP_NODELAY` set, backing
/// off after a failed `accept` (e.g. out of file descriptors) instead of spinning.
pub(crate) async fn accept_loop(listener: TcpListener, shared: &Shared, mut serve: impl FnMut(TcpStream)) {
    let mut failures = 0u32;
    loop {
        let accepted = tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                failures = 0;
                let _ = stream.set_nodelay(true);
                serve(stream);
            }
            Err(_) => {
                failures = (failures + 1).min(8);
                let wait = Duration::from_millis(5u64 << failures);
                tracing::warn!(wait_ms = wait.as_millis() as u64, "accept failed; backing off");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// A bridge running inside this process, on ports of its own: how tests (this crate's and
/// other crates') get a real bridge without a binary. Stopped by [`InProcess::shutdown`],
/// aborted on drop.
pub struct InProcess {
    /// Its HTTP address (WebSocket endpoints, health, metrics).
    pub http: std::net::SocketAddr,
    /// Its TCP line address.
    pub tcp: std::net::SocketAddr,
    /// Resolving it begins a graceful shutdown.
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The running bridge.
    task: Option<tokio::task::JoinHandle<Result<(), BridgeError>>>,
}

impl InProcess {
    /// Shuts the bridge down gracefully and waits for it.
    pub async fn shutdown(&mut self) -> Result<(), BridgeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Starts a bridge on `nats` with `config` and `policy`, its HTTP and TCP listeners on
/// free ports of 127.0.0.1 (whatever `config` names).
pub async fn spawn_in_process(
    nats: async_nats::Client,
    config: Config,
    policy: Policy,
) -> Result<InProcess, BridgeError> {
    let http = TcpListener::bind("127.0.0.1:0").await?;
    let tcp = TcpListener::bind("127.0.0.1:0").await?;
    let (http_addr, tcp_addr) = (http.local_addr()?, tcp.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let listeners = Listeners { http, tcp: Some(tcp) };
    let task = tokio::spawn(run(listeners, nats, config, policy, async {
        let _ = stopped.await;
    }));
    Ok(InProcess {
        http: http_addr,
        tcp: tcp_addr,
        stop: Some(stop),
        task: Some(task),
    })
}
