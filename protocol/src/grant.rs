//! Grants: how workers open doors the policy keeps shut. A grant names patterns a user may
//! subscribe to and publish on, until it expires. Workers send them on `ctl.grant.{uid}`,
//! take rights back on `ctl.revoke.{uid}` and close a user's connections with
//! `ctl.kick.{uid}`; bridges apply them to live connections and keep grants in the KV
//! bucket `grants` (key: the user id) so they hold across reconnects to any bridge.
//!
//! A [`Grant`] is built with [`Grant::builder`], which refuses invalid patterns and a
//! grant without an expiry, so an invalid grant cannot be constructed.

use crate::policy::{self, Action};
use crate::subject::{self, SubjectError};
use serde::{Deserialize, Serialize};

/// Rights given to one user until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Patterns the user may subscribe to (or any pattern they cover).
    #[serde(default)]
    pub sub: Vec<String>,
    /// Patterns the user may publish on.
    #[serde(default, rename = "pub")]
    pub publish: Vec<String>,
    /// Unix seconds after which the grant is void.
    pub expires_at: u64,
}

/// Builds a [`Grant`].
#[derive(Debug, Default)]
pub struct GrantBuilder {
    sub: Vec<String>,
    publish: Vec<String>,
    expires_at: Option<u64>,
    error: Option<SubjectError>,
}

/// Why a grant could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// A pattern breaks the subject grammar.
    #[error("invalid pattern: {0}")]
    Pattern(#[from] SubjectError),
    /// No expiry was set: every grant ends.
    #[error("a grant needs an expiry")]
    NoExpiry,
    /// Neither subscribe nor publish rights.
    #[error("a grant needs at least one pattern")]
    Empty,
}

impl Grant {
    /// Starts a grant.
    pub fn builder() -> GrantBuilder {
        GrantBuilder::default()
    }

    /// Checks a grant that arrived over the wire.
    pub fn validate(&self) -> Result<(), GrantError> {
        for p in self.sub.iter().chain(&self.publish) {
            subject::validate_pattern(p)?;
        }
        if self.sub.is_empty() && self.publish.is_empty() {
            return Err(GrantError::Empty);
        }
        Ok(())
    }

    /// Whether the grant allows `action` on `subject` at `now` (unix seconds).
    pub fn allows(&self, action: Action, subject: &str, now: u64) -> bool {
        if now >= self.expires_at {
            return false;
        }
        match action {
            Action::Sub => policy::allowed_by(&self.sub, "", Action::Sub, subject),
            Action::Pub => policy::allowed_by(&self.publish, "", Action::Pub, subject),
            Action::Req => false,
        }
    }

    /// The grant without the revoked `patterns`; `None` when nothing is left.
    pub fn without(&self, patterns: &[String]) -> Option<Grant> {
        let keep = |v: &Vec<String>| {
            v.iter()
                .filter(|p| !patterns.contains(p))
                .cloned()
                .collect::<Vec<_>>()
        };
        let g = Grant {
            sub: keep(&self.sub),
            publish: keep(&self.publish),
            expires_at: self.expires_at,
        };
        (!g.sub.is_empty() || !g.publish.is_empty()).then_some(g)
    }
}

impl GrantBuilder {
    /// Allows subscribing to `pattern`.
    pub fn subscribe(mut self, pattern: &str) -> GrantBuilder {
        self.check(pattern);
        self.sub.push(pattern.to_string());
        self
    }

    /// Allows publishing on `pattern`.
    pub fn publish(mut self, pattern: &str) -> GrantBuilder {
        self.check(pattern);
        self.publish.push(pattern.to_string());
        self
    }

    /// Ends the grant at `unix_secs`.
    pub fn expires_at(mut self, unix_secs: u64) -> GrantBuilder {
        self.expires_at = Some(unix_secs);
        self
    }

    fn check(&mut self, pattern: &str) {
        if let Err(e) = subject::validate_pattern(pattern) {
            self.error.get_or_insert(e);
        }
    }

    /// The grant, if valid.
    pub fn build(self) -> Result<Grant, GrantError> {
        if let Some(e) = self.error {
            return Err(e.into());
        }
        let grant = Grant {
            sub: self.sub,
            publish: self.publish,
            expires_at: self.expires_at.ok_or(GrantError::NoExpiry)?,
        };
        grant.validate()?;
        Ok(grant)
    }
}

/// `ctl.revoke.{uid}`: rights to take back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoke {
    /// Patterns removed from every grant of the user.
    pub patterns: Vec<String>,
}

/// `ctl.kick.{uid}`: close the user's connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kick {
    /// Why (for logs and the client's close reason detail).
    pub reason: String,
    /// A connection to spare (the one that asked, e.g. after a password change).
    #[serde(default)]
    pub except_conn: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_only_valid_grants() {
        let g = Grant::builder()
            .subscribe("room.r1.>")
            .publish("room.r1.input")
            .expires_at(100)
            .build()
            .unwrap();
        assert!(g.allows(Action::Sub, "room.r1.state", 99));
        assert!(g.allows(Action::Sub, "room.r1.>", 99));
        assert!(!g.allows(Action::Sub, "room.r2.state", 99));
        assert!(g.allows(Action::Pub, "room.r1.input", 99));
        assert!(!g.allows(Action::Pub, "room.r1.state", 99));
        assert!(!g.allows(Action::Sub, "room.r1.state", 100), "expired");
        assert_eq!(
            Grant::builder().subscribe("a..b").expires_at(1).build(),
            Err(GrantError::Pattern(SubjectError::EmptyToken))
        );
        assert_eq!(
            Grant::builder().subscribe("a.b").build(),
            Err(GrantError::NoExpiry)
        );
        assert_eq!(Grant::builder().expires_at(1).build(), Err(GrantError::Empty));
    }

    #[test]
    fn revoking_removes_patterns() {
        let g = Grant::builder()
            .subscribe("a.>")
            .subscribe("b.>")
            .expires_at(9)
            .build()
            .unwrap();
        let rest = g.without(&["a.>".into()]).unwrap();
        assert_eq!(rest.sub, vec!["b.>".to_string()]);
        assert_eq!(rest.without(&["b.>".into()]), None);
    }
}
