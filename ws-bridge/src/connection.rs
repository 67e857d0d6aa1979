//! One accepted connection, whatever its transport: a slot under the connection cap, the
//! handshake, then a client session or a small device until it ends.

use crate::handshake::{self, Handshake, Start};
use crate::shared::Shared;
use crate::transport::{Sink, Source};
use crate::{device, session};
use chorus_protocol::CloseCode;
use std::sync::Arc;
use std::time::Duration;

/// Runs a connection to its end.
pub async fn run<Src: Source, Snk: Sink>(shared: Arc<Shared>, mut source: Src, mut sink: Snk, hs: Handshake) {
    let write_timeout = Duration::from_millis(shared.config.write_timeout_ms);
    let Some(_slot) = shared.slots.try_acquire() else {
        shared.metrics.close(CloseCode::ServerFull);
        let _ = tokio::time::timeout(write_timeout, sink.close(CloseCode::ServerFull)).await;
        return;
    };
    // Boxed, like the device's run: rare, large futures that an idle session's task should
    // not carry the space of.
    match Box::pin(handshake::authenticate(&shared, &mut source, &mut sink, hs)).await {
        Ok(Start::Client(authenticated, first_frame)) => {
            session::run(shared, source, sink, authenticated, first_frame).await
        }
        Ok(Start::Device(hello)) => Box::pin(device::run(shared, source, sink, hello)).await,
        Err(Some(code)) => {
            shared.metrics.close(code);
            let _ = tokio::time::timeout(write_timeout, sink.close(code)).await;
        }
        Err(None) => {}
    }
}
