//! The state every connection of this bridge shares: settings, policy, the NATS client,
//! the fan-out, the live sessions, metrics, limits, token verification and the grant
//! store. Built once when the bridge starts.

use crate::auth::{AuthSettings, Authenticator};
use crate::config::Config;
use crate::fanout::{ConnId, Fanout};
use crate::grant_store::GrantStore;
use crate::ids;
use crate::limits::ConnSlots;
use crate::metrics::Metrics;
use crate::sessions::Sessions;
use crate::writer::WriterConfig;
use chorus_protocol::frame::Limits;
use chorus_protocol::policy::Policy;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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
    /// The state of a bridge about to start on `nats`.
    pub fn new(nats: async_nats::Client, config: Config, policy: Policy) -> Shared {
        let metrics = Arc::new(Metrics::new());
        let limits = Limits {
            max_frame_bytes: config.max_frame_bytes,
            max_subs: config.max_subs,
            rate_per_sec: config.rate_per_sec,
            rate_burst: config.rate_burst.max(config.rate_per_sec),
            max_req_timeout_ms: config.max_req_timeout_ms,
        };
        Shared {
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
                    min_interval: Duration::from_millis(config.jwks_min_interval_ms),
                    wait: Duration::from_millis(config.jwks_wait_ms),
                    fetch_timeout: Duration::from_millis(config.jwks_fetch_timeout_ms),
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
        }
    }

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
