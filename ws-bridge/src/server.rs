//! Starts the bridge on bound listeners and stops it gracefully: stop accepting, close every
//! connection "going away", give them a grace period to drain, flush NATS.

use crate::config::Config;
use crate::shared::Shared;
use crate::{grants, http, presence, tcp};
use chorus_protocol::CloseCode;
use chorus_protocol::policy::Policy;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// The bridge's listeners, bound by the caller (tests bind port 0).
#[derive(Debug)]
pub struct Listeners {
    /// HTTP: WebSocket endpoints, health, metrics, static files.
    pub http: TcpListener,
    /// TCP line protocol, if enabled.
    pub tcp: Option<TcpListener>,
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
    let shared = Arc::new(Shared::new(nats, config, policy));

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

/// Fetches the token signing keys at start and every `CHORUS_JWKS_REFRESH_SECS`; while
/// the bridge holds none (the accounts worker is not up yet), as often as the pacing allows.
async fn refresh_keys(shared: Arc<Shared>) {
    let every = Duration::from_secs(shared.config.jwks_refresh_secs.max(1));
    let retry = Duration::from_millis(shared.config.jwks_min_interval_ms.max(1));
    loop {
        shared.auth.refresh().await;
        let next = if shared.auth.has_keys() { every } else { retry };
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            _ = tokio::time::sleep(next) => {}
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
