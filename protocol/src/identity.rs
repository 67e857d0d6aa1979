//! Who a connection is. Built by the bridge from a verified token (or as a guest) and
//! stamped on every forwarded message.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Which kind of identity a connection holds; the policy has rules per namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Namespace {
    /// A signed-in account (a verified, non-guest token).
    Private,
    /// Anyone: no token, or the `public` path.
    Guest,
}

impl Namespace {
    /// The wire and header spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Guest => "guest",
        }
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every guest id starts with this, and no account id does.
pub const GUEST_ID_PREFIX: &str = "g-";

/// A connection's user: what `welcome` shows and what the identity headers carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Stable user id; a single subject token so it can stand in `user.{id}.>`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Private or guest.
    pub ns: Namespace,
}

impl Identity {
    /// A guest named after its random id suffix, e.g. `g-3fa9c2d1` / `guest-3fa9`.
    pub fn guest(random_hex: &str) -> Identity {
        let short = &random_hex[..random_hex.len().min(4)];
        Identity {
            id: format!("{GUEST_ID_PREFIX}{random_hex}"),
            name: format!("guest-{short}"),
            ns: Namespace::Guest,
        }
    }
}
