//! NATS header names on everything the bridge forwards. The bridge sets them from the
//! connection's verified identity, so workers trust these and nothing in a payload.

/// The sender's user id.
pub const USER: &str = "Chorus-User";
/// The sender's display name.
pub const NAME: &str = "Chorus-Name";
/// The sender's namespace: `private` or `guest`.
pub const NS: &str = "Chorus-Ns";
/// The bridge connection the frame came from (for kicks and replies to one tab).
pub const CONN: &str = "Chorus-Conn";
/// W3C trace context, passed on from the client or started by the bridge.
pub const TRACEPARENT: &str = "traceparent";
/// On a worker's reply: the error code; the body is then the message.
pub const ERROR: &str = "Chorus-Error";

/// Every identity header, in the order the bridge writes them.
pub const IDENTITY: [&str; 4] = [USER, NAME, NS, CONN];
