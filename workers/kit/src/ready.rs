//! Whether a worker serves: false until every endpoint's subscription has reached the NATS
//! server, false again once it starts draining. `/readyz` answers from it (together with
//! the NATS connection's state), so whoever starts a worker (`scripts/run`, an orchestrator,
//! a test) knows that a request sent now is answered.

use std::sync::Arc;
use tokio::sync::watch;

/// A worker's readiness, shared by the worker (which sets it) and whoever asks.
#[derive(Debug, Clone)]
pub struct Ready(Arc<watch::Sender<bool>>);

impl Default for Ready {
    fn default() -> Ready {
        Ready(Arc::new(watch::Sender::new(false)))
    }
}

impl Ready {
    /// Not serving yet.
    pub fn new() -> Ready {
        Ready::default()
    }

    /// Says whether the worker serves now.
    pub fn set(&self, serving: bool) {
        self.0.send_replace(serving);
    }

    /// Whether the worker serves now.
    pub fn is_serving(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the worker serves (at once if it does), so a test or an embedder awaits
    /// the event instead of polling.
    pub async fn serving(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|serving| *serving).await;
    }
}
