//! The accept loop both listeners share: `TCP_NODELAY` on every connection, and a backoff
//! after a failed `accept` (e.g. out of file descriptors) instead of spinning.

use crate::shared::Shared;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

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
