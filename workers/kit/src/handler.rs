//! Handlers, typed and erased. A [`Handler`] is what a worker writes: an
//! `async fn(state, Request, body) -> Result<reply, error>`. The serving loop sees each as
//! an [`Endpoint`]: a subject, its queue group, its label in metrics, and one function from
//! a raw payload to a raw reply, which decodes the payload (malformed: `bad_request`),
//! calls the handler with a clone of the service's state, encodes the reply and turns the
//! handler's error into a [`ServiceError`].

use crate::error::ServiceError;
use crate::request::Request;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::Arc;

/// A typed handler: `Fn(state, Request, body) -> impl Future<Output = Result<Resp, E>>`,
/// an `async fn` or a closure. Implemented for every such function; a worker never
/// implements it by hand. `E` is any error that says which [`ServiceError`] the client gets,
/// so a worker can keep its own error enum.
pub trait Handler<S, Req, Resp, E>: Fn(S, Request, Req) -> Self::Future + Send + Sync + 'static {
    /// What the function returns.
    type Future: Future<Output = Result<Resp, E>> + Send + 'static;
}

impl<S, Req, Resp, E, F, Fut> Handler<S, Req, Resp, E> for F
where
    F: Fn(S, Request, Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, E>> + Send + 'static,
{
    type Future = Fut;
}

/// A handler with its types erased: raw payload in, raw reply (or the client's error) out.
pub(crate) type Erased =
    Arc<dyn Fn(Request, Bytes) -> BoxFuture<'static, Result<Vec<u8>, ServiceError>> + Send + Sync>;

/// One endpoint, as the serving loop runs it.
#[derive(Clone)]
pub(crate) struct Endpoint {
    /// Its name in metrics: the method, or `{service}.{method}` for a merged service's.
    pub(crate) label: String,
    /// `svc.{service}.{method}` or `int.{service}.{method}`.
    pub(crate) subject: String,
    /// The queue group: the service's name, so replicas share the load.
    pub(crate) queue: String,
    /// The handler.
    pub(crate) run: Erased,
}

/// Erases `handler`, which gets a clone of `state` on every call.
pub(crate) fn erase<S, Req, Resp, E>(
    state: S,
    internal: bool,
    handler: impl Handler<S, Req, Resp, E>,
) -> Erased
where
    S: Clone + Send + Sync + 'static,
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + 'static,
    E: Into<ServiceError> + 'static,
{
    let handler = Arc::new(handler);
    Arc::new(move |request: Request, payload: Bytes| {
        let (handler, state) = (handler.clone(), state.clone());
        Box::pin(async move {
            if internal {
                request.internal()?;
            }
            let body: &[u8] = if payload.is_empty() { b"null" } else { &payload };
            let req: Req = serde_json::from_slice(body)
                .map_err(|e| ServiceError::bad_request(format!("invalid request: {e}")))?;
            let resp = handler(state, request, req).await.map_err(Into::into)?;
            serde_json::to_vec(&resp).map_err(ServiceError::internal)
        })
    })
}
