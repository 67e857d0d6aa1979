//! What one connection may do: the policy for its namespace, plus the grants workers gave
//! its user (until they expire or are revoked). Pure rules over the session's state; the
//! session acts on the answers.

use chorus_protocol::Identity;
use chorus_protocol::grant::Grant;
use chorus_protocol::policy::{Action, Policy};
use chorus_runtime::clock::unix_now;

/// A connection's grants, beyond what the policy gives everyone in its namespace.
#[derive(Debug, Default)]
pub(crate) struct Rights {
    /// Rights given by workers, until they expire or are revoked.
    grants: Vec<Grant>,
}

impl Rights {
    /// Whether `identity` may do `action` on `subject` now.
    pub fn allows(&self, policy: &Policy, identity: &Identity, action: Action, subject: &str) -> bool {
        let now = unix_now();
        policy.allows(identity.ns, &identity.id, action, subject)
            || self.grants.iter().any(|g| g.allows(action, subject, now))
    }

    /// Adds grants (loaded from the store, or sent by a worker).
    pub fn grant(&mut self, grants: impl IntoIterator<Item = Grant>) {
        self.grants.extend(grants);
    }

    /// Takes back what `patterns` name, from every grant.
    pub fn revoke(&mut self, patterns: &[String]) {
        self.grants = self.grants.iter().filter_map(|g| g.without(patterns)).collect();
    }

    /// Forgets the grants that have expired.
    pub fn expire(&mut self) {
        let now = unix_now();
        self.grants.retain(|g| g.expires_at > now);
    }

    /// When the next grant expires (Unix seconds), if any.
    pub fn next_expiry(&self) -> Option<u64> {
        self.grants.iter().map(|g| g.expires_at).min()
    }
}
