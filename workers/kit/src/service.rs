//! A worker's endpoints: `svc.{worker}.{method}` (and `int.{worker}.{method}` for methods
//! only other workers may call), subscribed in the queue group `{worker}`, so any number of
//! replicas share the load and killing one loses nothing but its in-flight requests.
//!
//! A [`Service`] holds the state its handlers share (a database pool, settings, buckets:
//! anything `Clone`, usually an `Arc`) and gives each call a clone of it, so a handler is a
//! plain `async fn(state, Request, body) -> Result<reply, error>` and no worker writes its
//! own routing.

use crate::error::{KitError, ServiceError};
use crate::handler::{self, Endpoint, Handler};
use crate::metrics::Metrics;
use crate::serve::Subscribed;
use async_nats::Client;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::Arc;

/// The prefix of client-facing methods.
const SVC: &str = "svc";

/// The prefix of methods only workers may call.
const INTERNAL: &str = "int";

/// A worker's endpoints, over the state `S` their handlers share.
pub struct Service<S = ()> {
    /// The worker's name: `svc.{name}.*` and the queue group.
    name: String,
    /// Cloned into every call of every handler added from now on.
    state: S,
    /// Its endpoints, with those of services merged into it.
    endpoints: Vec<Endpoint>,
    /// Most requests handled at once by this process; more wait in NATS.
    max_inflight: usize,
}

impl Service<()> {
    /// A service named `name` (e.g. `echo`) whose handlers share nothing (they get `()`).
    pub fn new(name: &str) -> Service<()> {
        Service::with_state(name, ())
    }
}

impl<S: Clone + Send + Sync + 'static> Service<S> {
    /// A service named `name` (e.g. `accounts`) whose handlers each get a clone of `state`.
    pub fn with_state(name: &str, state: S) -> Service<S> {
        Service {
            name: name.to_string(),
            state,
            endpoints: Vec::new(),
            max_inflight: 256,
        }
    }

    /// Caps concurrent requests in this process.
    pub fn max_inflight(mut self, n: usize) -> Service<S> {
        self.max_inflight = n.max(1);
        self
    }

    /// Adds `svc.{name}.{method}`, for clients (as the bridge's policy allows) and workers.
    pub fn method<Req, Resp, E>(self, method: &str, handler: impl Handler<S, Req, Resp, E>) -> Service<S>
    where
        Req: DeserializeOwned + Send + 'static,
        Resp: Serialize + 'static,
        E: Into<ServiceError> + 'static,
    {
        let run = handler::erase(self.state.clone(), false, handler);
        self.add(SVC, method, run)
    }

    /// Adds `int.{name}.{method}`, for other workers only: no policy lets a client reach
    /// `int.>`, and a request that came through a bridge anyway (it carries a caller) is
    /// refused `forbidden`.
    pub fn internal_method<Req, Resp, E>(
        self,
        method: &str,
        handler: impl Handler<S, Req, Resp, E>,
    ) -> Service<S>
    where
        Req: DeserializeOwned + Send + 'static,
        Resp: Serialize + 'static,
        E: Into<ServiceError> + 'static,
    {
        let run = handler::erase(self.state.clone(), true, handler);
        self.add(INTERNAL, method, run)
    }

    fn add(mut self, prefix: &str, method: &str, run: handler::Erased) -> Service<S> {
        self.endpoints.push(Endpoint {
            label: method.to_string(),
            subject: format!("{prefix}.{}.{method}", self.name),
            queue: self.name.clone(),
            run,
        });
        self
    }

    /// Serves `other`'s endpoints (under their own `svc.{other}.*` subjects and queue
    /// group, over their own state) from this worker too: one process can answer for two
    /// small services.
    pub fn merge<T>(mut self, other: Service<T>) -> Service<S> {
        for mut e in other.endpoints {
            if e.queue == other.name {
                e.label = format!("{}.{}", other.name, e.label);
            }
            self.endpoints.push(e);
        }
        self
    }

    /// The subjects this service answers on.
    pub fn subjects(&self) -> Vec<String> {
        self.endpoints.iter().map(|e| e.subject.clone()).collect()
    }

    /// Subscribes every endpoint and returns once the NATS server holds the subscriptions:
    /// from then on the worker is ready (requests wait for [`Subscribed::serve`]).
    pub async fn subscribe(self, nats: &Client) -> Result<Subscribed, KitError> {
        Subscribed::new(nats, self.endpoints, self.max_inflight).await
    }

    /// Subscribes, then serves until `shutdown` resolves, then stops taking requests and
    /// finishes the ones in flight.
    pub async fn serve(
        self,
        nats: Client,
        metrics: Arc<Metrics>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), KitError> {
        self.subscribe(&nats).await?.serve(metrics, shutdown).await
    }
}
