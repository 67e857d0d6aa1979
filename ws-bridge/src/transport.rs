//! What a session needs from a connection, whatever carries it: a source of inbound frames
//! and a sink that writes batches of outbound frames. WebSocket (`ws`) and TCP lines
//! (`tcp`) implement it; the session logic is written once over these traits.

use crate::outbound::Frame;
use bytes::Bytes;
use chorus_protocol::CloseCode;
use std::future::Future;
use std::io;

/// One event from the client side.
#[derive(Debug)]
pub enum Inbound {
    /// A complete frame's bytes (one WebSocket message or one line).
    Frame(Bytes),
    /// Proof of life that is not a frame (a pong, a ping).
    Alive,
    /// A frame over the size limit was started; it was not buffered.
    TooLarge,
    /// The client closed or the connection broke.
    Closed,
}

/// The reading half of a connection.
pub trait Source: Send + 'static {
    /// The next inbound event.
    fn next(&mut self) -> impl Future<Output = Inbound> + Send;
}

/// The writing half of a connection.
pub trait Sink: Send + 'static {
    /// Whether this transport has protocol-level pings (WebSocket does, TCP lines do not).
    const PINGS: bool;

    /// Queues a frame for the next flush (it may be written earlier if buffers fill).
    fn feed(&mut self, frame: Frame) -> impl Future<Output = io::Result<()>> + Send;

    /// Writes everything fed so far.
    fn flush(&mut self) -> impl Future<Output = io::Result<()>> + Send;

    /// Sends a keepalive ping.
    fn ping(&mut self) -> impl Future<Output = io::Result<()>> + Send;

    /// Says why the connection ends, then closes it.
    fn close(&mut self, code: CloseCode) -> impl Future<Output = io::Result<()>> + Send;
}
