//! Typed endpoints: `svc.{worker}.{method}` (and `int.{worker}.{method}` for methods only
//! other workers may call) subscribed in the queue group `{worker}`, so any
//! number of replicas share the load and killing one loses nothing but its in-flight
//! requests. A handler takes the [`Request`] (who is calling) and the decoded payload, and
//! returns a serializable reply or a [`ServiceError`], which becomes a reply with a
//! `Chorus-Error` header (and so an `err` frame for the client).

use crate::caller::Caller;
use crate::error::{KitError, ServiceError};
use crate::metrics::Metrics;
use async_nats::{Client, HeaderMap, Message};
use bytes::Bytes;
use chorus_protocol::headers;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;

/// What a handler knows about a request besides its payload.
#[derive(Debug, Clone)]
pub struct Request {
    /// Who sent it, if it came through a bridge.
    pub caller: Option<Caller>,
    /// Its W3C trace context, if any.
    pub traceparent: Option<String>,
}

impl Request {
    /// The caller, whoever it is (guests included).
    pub fn caller(&self) -> Result<&Caller, ServiceError> {
        self.caller
            .as_ref()
            .ok_or_else(|| ServiceError::unauthorized("no caller identity"))
    }

    /// The caller, who must be a signed-in user.
    pub fn user(&self) -> Result<&Caller, ServiceError> {
        let caller = self.caller()?;
        if !caller.is_user() {
            return Err(ServiceError::unauthorized("sign in first"));
        }
        Ok(caller)
    }

    /// Refuses a request that came through a bridge: for methods only other workers may
    /// call (a bridge stamps every client request with its caller; a worker's has none).
    pub fn internal(&self) -> Result<(), ServiceError> {
        match self.caller {
            None => Ok(()),
            Some(_) => Err(ServiceError::forbidden("an internal method")),
        }
    }
}

/// The payload of a method that takes no arguments: accepts anything (or nothing).
#[derive(Debug, Clone, Copy, Default)]
pub struct Empty;

impl<'de> serde::Deserialize<'de> for Empty {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Empty, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Empty)
    }
}

/// The prefix of client-facing methods.
const SVC: &str = "svc";

/// The prefix of methods only workers may call.
const INTERNAL: &str = "int";

type Handler = Arc<dyn Fn(Request, Bytes) -> BoxFuture<'static, Result<Vec<u8>, ServiceError>> + Send + Sync>;

/// One endpoint.
#[derive(Clone)]
struct Method {
    /// Its name in metrics: the method, or `{service}.{method}` for a merged service's.
    label: String,
    /// `svc.{service}.{method}`.
    subject: String,
    /// The queue group: the service's name.
    queue: String,
    handler: Handler,
}

/// A worker's endpoints.
pub struct Service {
    /// The worker's name: `svc.{name}.*` and the queue group.
    name: String,
    /// Its endpoints, with those of services merged into it.
    methods: Vec<Method>,
    /// Most requests handled at once by this process; more wait in NATS.
    max_inflight: usize,
}

impl Service {
    /// A service named `name` (e.g. `accounts`), with no methods yet.
    pub fn new(name: &str) -> Service {
        Service {
            name: name.to_string(),
            methods: Vec::new(),
            max_inflight: 256,
        }
    }

    /// Caps concurrent requests in this process.
    pub fn max_inflight(mut self, n: usize) -> Service {
        self.max_inflight = n.max(1);
        self
    }

    /// Adds `svc.{name}.{method}`, for clients (as the bridge's policy allows) and workers.
    pub fn method<Req, Resp, F, Fut>(self, method: &str, handler: F) -> Service
    where
        Req: DeserializeOwned + Send + 'static,
        Resp: Serialize + 'static,
        F: Fn(Request, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Resp, ServiceError>> + Send + 'static,
    {
        self.add(SVC, method, handler)
    }

    /// Adds `int.{name}.{method}`, for other workers only: no policy lets a client reach
    /// `int.>`, and a request that came through a bridge anyway (it carries a caller) is
    /// refused `forbidden`.
    pub fn internal_method<Req, Resp, F, Fut>(self, method: &str, handler: F) -> Service
    where
        Req: DeserializeOwned + Send + 'static,
        Resp: Serialize + 'static,
        F: Fn(Request, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Resp, ServiceError>> + Send + 'static,
    {
        self.add(INTERNAL, method, handler)
    }

    fn add<Req, Resp, F, Fut>(mut self, prefix: &'static str, method: &str, handler: F) -> Service
    where
        Req: DeserializeOwned + Send + 'static,
        Resp: Serialize + 'static,
        F: Fn(Request, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Resp, ServiceError>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let erased: Handler = Arc::new(move |request, payload: Bytes| {
            let handler = handler.clone();
            Box::pin(async move {
                if prefix == INTERNAL {
                    request.internal()?;
                }
                let body: &[u8] = if payload.is_empty() { b"null" } else { &payload };
                let req: Req = serde_json::from_slice(body)
                    .map_err(|e| ServiceError::bad_request(format!("invalid request: {e}")))?;
                let resp = handler(request, req).await?;
                serde_json::to_vec(&resp).map_err(ServiceError::internal)
            })
        });
        self.methods.push(Method {
            label: method.to_string(),
            subject: format!("{prefix}.{}.{method}", self.name),
            queue: self.name.clone(),
            handler: erased,
        });
        self
    }

    /// Serves `other`'s endpoints (under their own `svc.{other}.*` subjects and queue
    /// group) from this worker too: one process can answer for two small services.
    pub fn merge(mut self, other: Service) -> Service {
        for mut m in other.methods {
            if m.queue == other.name {
                m.label = format!("{}.{}", other.name, m.label);
            }
            self.methods.push(m);
        }
        self
    }

    /// The subjects this service answers on.
    pub fn subjects(&self) -> Vec<String> {
        self.methods.iter().map(|m| m.subject.clone()).collect()
    }

    /// Serves until `shutdown` resolves, then stops taking requests and finishes the ones
    /// in flight.
    pub async fn serve(
        self,
        nats: Client,
        metrics: Arc<Metrics>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), KitError> {
        let mut streams = Vec::new();
        for (i, m) in self.methods.iter().enumerate() {
            let sub = nats.queue_subscribe(m.subject.clone(), m.queue.clone()).await?;
            streams.push(sub.map(move |msg| (i, msg)).boxed());
        }
        let mut incoming = futures_util::stream::select_all(streams);
        let inflight = Arc::new(Semaphore::new(self.max_inflight));
        tokio::pin!(shutdown);
        loop {
            let (i, msg) = tokio::select! {
                _ = &mut shutdown => break,
                next = incoming.next() => match next {
                    Some(next) => next,
                    None => break,
                },
            };
            let permit = inflight.clone().acquire_owned().await.expect("never closed");
            let Method { label, handler, .. } = self.methods[i].clone();
            let (nats, metrics) = (nats.clone(), metrics.clone());
            tokio::spawn(async move {
                handle(nats, &metrics, &label, handler, msg).await;
                drop(permit);
            });
        }
        drop(incoming);
        // Wait for the requests in flight.
        let _ = inflight.acquire_many(self.max_inflight as u32).await;
        let _ = nats.flush().await;
        Ok(())
    }
}

/// Runs one request and replies.
async fn handle(nats: Client, metrics: &Metrics, method: &str, handler: Handler, msg: Message) {
    let started = Instant::now();
    let request = Request {
        caller: Caller::from_headers(msg.headers.as_ref()),
        traceparent: msg
            .headers
            .as_ref()
            .and_then(|h| h.get(headers::TRACEPARENT))
            .map(|v| v.as_str().to_string()),
    };
    let result = handler(request, msg.payload).await;
    let code = match &result {
        Ok(_) => "ok",
        Err(e) => e.code.as_str(),
    };
    metrics.request(method, code, started.elapsed().as_secs_f64());
    let Some(reply) = msg.reply else { return };
    let sent = match result {
        Ok(body) => nats.publish(reply, body.into()).await,
        Err(e) => {
            let mut h = HeaderMap::new();
            h.insert(headers::ERROR, e.code.as_str());
            nats.publish_with_headers(reply, h, e.message.into_owned().into())
                .await
        }
    };
    if let Err(e) = sent {
        tracing::warn!(method, error = %e, "reply not sent");
    }
}
