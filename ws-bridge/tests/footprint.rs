//! What an idle connection carries: the futures of its two tasks (the connection, which
//! becomes its session, and its writer) live in the task allocations for as long as the
//! connection does, so they must stay small (the rare, large steps are boxed). A regression
//! here shows up as memory per idle socket.

use chorus_bridge::connection;
use chorus_bridge::handshake::{Entry, Handshake};
use chorus_bridge::metrics::Metrics;
use chorus_bridge::outbound::{Control, Frame};
use chorus_bridge::shared::Shared;
use chorus_bridge::transport::{Inbound, Sink, Source};
use chorus_bridge::writer::{self, WriterConfig};
use chorus_protocol::CloseCode;
use std::sync::Arc;
use std::time::Duration;

struct NoSource;
struct NoSink;

impl Source for NoSource {
    async fn next(&mut self) -> Inbound {
        Inbound::Closed
    }
}

impl Sink for NoSink {
    const PINGS: bool = true;
    async fn feed(&mut self, _: Frame) -> std::io::Result<()> {
        Ok(())
    }
    async fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    async fn ping(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    async fn close(&mut self, _: CloseCode) -> std::io::Result<()> {
        Ok(())
    }
}

/// The size of what `f` returns, without calling it.
fn size_of_output<A, R, F: FnOnce(A) -> R>(_: &F) -> usize {
    std::mem::size_of::<R>()
}

#[test]
fn a_connections_task_futures_stay_small() {
    let reader = |shared: Arc<Shared>| {
        connection::run(
            shared,
            NoSource,
            NoSink,
            Handshake {
                entry: Entry::Public,
                token: None,
                presence_hello: false,
            },
        )
    };
    let writer = |rx: tokio::sync::mpsc::Receiver<Frame>| {
        let ctl = Arc::new(Control::new(Arc::new(Metrics::new())));
        let zero = Duration::ZERO;
        let cfg = WriterConfig {
            batch: 1,
            write_timeout: zero,
            ping_interval: zero,
            pong_timeout: zero,
        };
        writer::run(NoSink, rx, ctl, cfg)
    };
    let (reader, writer) = (size_of_output(&reader), size_of_output(&writer));
    assert!(reader <= 1536, "the session future is {reader} bytes");
    assert!(writer <= 1024, "the writer future is {writer} bytes");
}
