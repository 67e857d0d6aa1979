//! A welcomed connection's plumbing, the same for clients and devices: its number, its
//! bounded queue and close signal, its writer task, its place among the bridge's sessions;
//! opened once the connection is known, finished when it ends.

use crate::fanout::ConnId;
use crate::outbound::{Control, Outbox};
use crate::shared::Shared;
use crate::transport::{Inbound, Sink, Source};
use crate::writer;
use chorus_protocol::CloseCode;
use std::sync::Arc;
use std::time::Duration;

/// How long a closed connection's input is drained so the close reason reaches the client.
const LINGER: Duration = Duration::from_secs(2);

/// An opened connection.
pub(crate) struct Opened {
    /// Its number on this bridge.
    pub conn: ConnId,
    /// Its close signal and command slot.
    pub ctl: Arc<Control>,
    /// Its bounded queue.
    pub outbox: Outbox,
    /// Its writer, awaited when the connection finishes.
    writer: tokio::task::JoinHandle<()>,
}

/// Starts the writer of a connection acting as `user` and registers it with the bridge.
pub(crate) fn open<Snk: Sink>(shared: &Arc<Shared>, sink: Snk, user: &str) -> Opened {
    let conn = shared.next_conn_id();
    let ctl = Arc::new(Control::new(shared.metrics.clone()));
    let (outbox, rx) = Outbox::new(shared.config.outbound_queue, ctl.clone());
    let writer = tokio::spawn(writer::run(sink, rx, ctl.clone(), shared.writer_config()));
    // Registered before its grants are loaded, so a grant given meanwhile is not missed.
    shared.sessions.insert(conn, user, outbox.clone());
    if shared.shutdown.is_cancelled() {
        ctl.close(CloseCode::GoingAway);
    }
    Opened {
        conn,
        ctl,
        outbox,
        writer,
    }
}

/// Ends a connection opened with [`open`]: forgets it, lets its close go out, waits for
/// its writer.
pub(crate) async fn finish<Src: Source>(shared: &Shared, opened: Opened, mut source: Src) {
    opened.ctl.end();
    shared.sessions.remove(opened.conn);
    if opened.ctl.code().is_some() {
        // Keep reading (and discarding) while the close goes out: closing a socket with
        // unread input makes the kernel reset it, and the client would lose our reason.
        let drain = async { while !matches!(source.next().await, Inbound::Closed | Inbound::TooLarge) {} };
        let _ = tokio::time::timeout(LINGER, drain).await;
    }
    let _ = opened.writer.await;
}
