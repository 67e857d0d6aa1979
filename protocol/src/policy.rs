//! The bridge's policy: per namespace, the subject patterns a connection may subscribe to,
//! publish on and send requests to. `{self}` in a pattern stands for the connection's own
//! user id. Anything the policy does not allow arrives by grant (see `PROTOCOL.md`).
//!
//! The default (`default-policy.json` beside this crate) gives every connection its inbox
//! and `chat.lobby`, and the `svc.*` methods its namespace may call; an operator replaces
//! it with a file of the same shape.

use crate::identity::Namespace;
use crate::subject::{self, SubjectError};
use serde::Deserialize;

/// The built-in policy file.
pub const DEFAULT_POLICY_JSON: &str = include_str!("../default-policy.json");

/// What a frame asks to do with a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Subscribe (the subject may be a pattern; the rule must cover it).
    Sub,
    /// Publish (a literal subject).
    Pub,
    /// Request-reply (a literal subject).
    Req,
}

/// One namespace's allow-lists.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Patterns that may be subscribed to (or any pattern they cover).
    #[serde(default)]
    pub sub: Vec<String>,
    /// Patterns that may be published on.
    #[serde(default, rename = "pub")]
    pub publish: Vec<String>,
    /// Patterns that may receive requests.
    #[serde(default)]
    pub req: Vec<String>,
}

impl Rules {
    fn patterns(&self, action: Action) -> &[String] {
        match action {
            Action::Sub => &self.sub,
            Action::Pub => &self.publish,
            Action::Req => &self.req,
        }
    }
}

/// The whole policy: rules for each namespace.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Rules for guests.
    pub guest: Rules,
    /// Rules for signed-in users.
    pub private: Rules,
}

/// Why a policy file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not JSON of the policy's shape.
    #[error("policy is not valid: {0}")]
    Parse(#[from] serde_json::Error),
    /// A pattern breaks the subject grammar.
    #[error("policy pattern {pattern:?}: {source}")]
    Pattern {
        /// The offending pattern.
        pattern: String,
        /// What is wrong with it.
        source: SubjectError,
    },
}

impl Policy {
    /// Parses and validates a policy file's text.
    pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
        let policy: Policy = serde_json::from_str(text)?;
        for rules in [&policy.guest, &policy.private] {
            for pattern in rules.sub.iter().chain(&rules.publish).chain(&rules.req) {
                subject::validate_policy_pattern(pattern).map_err(|source| PolicyError::Pattern {
                    pattern: pattern.clone(),
                    source,
                })?;
            }
        }
        Ok(policy)
    }

    /// The rules of one namespace.
    pub fn rules(&self, ns: Namespace) -> &Rules {
        match ns {
            Namespace::Guest => &self.guest,
            Namespace::Private => &self.private,
        }
    }

    /// Whether a connection of `ns` and `user_id` may do `action` on `subject`. The
    /// subject must already have passed [`subject::validate_subject`] (pub, req) or
    /// [`subject::validate_pattern`] (sub).
    pub fn allows(&self, ns: Namespace, user_id: &str, action: Action, subject: &str) -> bool {
        allowed_by(self.rules(ns).patterns(action), user_id, action, subject)
    }
}

impl Default for Policy {
    fn default() -> Policy {
        Policy::from_json(DEFAULT_POLICY_JSON).expect("the built-in policy is valid")
    }
}

/// Whether any of `patterns` allows `action` on `subject` for `user_id`; shared by the
/// policy and by grants, which are patterns too.
pub fn allowed_by(patterns: &[String], user_id: &str, action: Action, subject: &str) -> bool {
    patterns.iter().any(|p| match action {
        Action::Sub => subject::covers_for(p, subject, Some(user_id)),
        Action::Pub | Action::Req => subject::matches_for(p, subject, Some(user_id)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_gives_inbox_lobby_and_namespace_methods() {
        let p = Policy::default();
        let g = Namespace::Guest;
        assert!(p.allows(g, "g-1", Action::Sub, "user.g-1.>"));
        assert!(p.allows(g, "g-1", Action::Sub, "user.g-1.dm"));
        assert!(!p.allows(g, "g-1", Action::Sub, "user.g-2.dm"));
        assert!(p.allows(g, "g-1", Action::Sub, "chat.lobby"));
        assert!(!p.allows(g, "g-1", Action::Pub, "chat.lobby"));
        assert!(p.allows(g, "g-1", Action::Req, "svc.accounts.login"));
        assert!(!p.allows(g, "g-1", Action::Req, "svc.store.buy"));
        assert!(p.allows(Namespace::Private, "7", Action::Req, "svc.store.buy"));
        assert!(!p.allows(Namespace::Private, "7", Action::Req, "svc.store"));
    }

    #[test]
    fn bad_patterns_and_fields_are_refused() {
        assert!(matches!(
            Policy::from_json(r#"{"guest":{"sub":["a..b"]},"private":{}}"#),
            Err(PolicyError::Pattern { .. })
        ));
        assert!(Policy::from_json(r#"{"guest":{"subscribe":[]},"private":{}}"#).is_err());
    }
}
