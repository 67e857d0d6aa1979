//! Who sent a request: the identity the bridge verified and stamped in the `Chorus-*`
//! headers (after deleting anything a client sent). Workers trust these and nothing in a
//! payload. A request that did not come through a bridge (another worker) has none.

use async_nats::HeaderMap;
use chorus_protocol::{Namespace, headers};

/// The caller of a request, as the bridge stamped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// User id (`Chorus-User`).
    pub id: String,
    /// Display name (`Chorus-Name`).
    pub name: String,
    /// Signed-in user or guest (`Chorus-Ns`).
    pub ns: Namespace,
    /// The bridge connection it came from (`Chorus-Conn`).
    pub conn: String,
}

impl Caller {
    /// The caller in `headers`, if all identity headers are present and well-formed.
    pub fn from_headers(headers: Option<&HeaderMap>) -> Option<Caller> {
        let h = headers?;
        let get = |name| h.get(name).map(|v| v.as_str().to_string());
        let ns = match get(headers::NS)?.as_str() {
            "private" => Namespace::Private,
            "guest" => Namespace::Guest,
            _ => return None,
        };
        Some(Caller {
            id: get(headers::USER)?,
            name: get(headers::NAME)?,
            ns,
            conn: get(headers::CONN)?,
        })
    }

    /// Whether this is a signed-in user (not a guest).
    pub fn is_user(&self) -> bool {
        self.ns == Namespace::Private
    }
}
