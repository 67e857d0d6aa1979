//! What a worker's control message asks of a live session: new rights, rights taken back,
//! or the end of the session. The grants listener makes them; each session applies its own.

use chorus_protocol::grant::{Grant, Kick};

/// A change to a live session's rights.
#[derive(Debug, Clone)]
pub enum Command {
    /// New rights.
    Grant(Grant),
    /// Rights taken back: the patterns named by a revoke.
    Revoke(Vec<String>),
    /// Close the session (unless it is the one spared).
    Kick(Kick),
}
