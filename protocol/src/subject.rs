//! Subject grammar and NATS wildcard rules.
//!
//! A subject is 1–16 dot-separated tokens, each 1–64 characters of `[A-Za-z0-9_-]`, at
//! most 256 bytes in all. That is stricter than NATS on purpose: no `$` (system and
//! JetStream API subjects), no spaces, no empty tokens, nothing a client could use to
//! escape its subject space. Clients publish and request to literal subjects only; they
//! may subscribe to patterns (`*` is one token, `>` the rest), which the policy must cover.

use std::fmt;

/// Longest subject (or pattern) accepted, in bytes.
pub const MAX_SUBJECT_LEN: usize = 256;
/// Most tokens in a subject.
pub const MAX_TOKENS: usize = 16;
/// Longest single token.
pub const MAX_TOKEN_LEN: usize = 64;

/// Why a subject or pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    /// Nothing at all.
    #[error("subject is empty")]
    Empty,
    /// Over [`MAX_SUBJECT_LEN`] bytes or [`MAX_TOKENS`] tokens.
    #[error("subject is too long")]
    TooLong,
    /// Two dots in a row, or a leading or trailing dot.
    #[error("subject has an empty token")]
    EmptyToken,
    /// A token over [`MAX_TOKEN_LEN`] characters.
    #[error("subject token is too long")]
    TokenTooLong,
    /// A character outside `[A-Za-z0-9_-]` (spaces, `$`, …).
    #[error("subject has an invalid character")]
    InvalidChar,
    /// `*` or `>` where only a literal subject is allowed.
    #[error("wildcards are not allowed here")]
    Wildcard,
    /// `>` not as the last token, or a wildcard inside a token.
    #[error("misplaced wildcard")]
    MisplacedWildcard,
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn check_shape(s: &str) -> Result<(), SubjectError> {
    if s.is_empty() {
        return Err(SubjectError::Empty);
    }
    if s.len() > MAX_SUBJECT_LEN || s.split('.').count() > MAX_TOKENS {
        return Err(SubjectError::TooLong);
    }
    Ok(())
}

fn check_literal_token(t: &str) -> Result<(), SubjectError> {
    if t.is_empty() {
        return Err(SubjectError::EmptyToken);
    }
    if t.len() > MAX_TOKEN_LEN {
        return Err(SubjectError::TokenTooLong);
    }
    if t == "*" || t == ">" {
        return Err(SubjectError::Wildcard);
    }
    if !t.bytes().all(is_token_char) {
        return Err(if t.contains(['*', '>']) {
            SubjectError::MisplacedWildcard
        } else {
            SubjectError::InvalidChar
        });
    }
    Ok(())
}

/// Checks a literal subject: what a client may publish or request to.
pub fn validate_subject(s: &str) -> Result<(), SubjectError> {
    check_shape(s)?;
    s.split('.').try_for_each(check_literal_token)
}

/// Checks a subscription pattern: literal tokens, `*` tokens, and `>` as the last token.
pub fn validate_pattern(s: &str) -> Result<(), SubjectError> {
    validate_pattern_inner(s, false)
}

/// Checks a policy pattern: as [`validate_pattern`], plus `{self}` as a whole token.
pub fn validate_policy_pattern(s: &str) -> Result<(), SubjectError> {
    validate_pattern_inner(s, true)
}

fn validate_pattern_inner(s: &str, allow_self: bool) -> Result<(), SubjectError> {
    check_shape(s)?;
    let count = s.split('.').count();
    for (i, t) in s.split('.').enumerate() {
        match t {
            "*" => {}
            SELF_TOKEN if allow_self => {}
            ">" if i + 1 == count => {}
            ">" => return Err(SubjectError::MisplacedWildcard),
            _ => check_literal_token(t)?,
        }
    }
    Ok(())
}

/// The policy placeholder for the connection's own user id; stands for one whole token.
pub const SELF_TOKEN: &str = "{self}";

/// Pattern tokens with [`SELF_TOKEN`] replaced by `self_id` (when there is one).
fn tokens<'a>(pattern: &'a str, self_id: Option<&'a str>) -> impl Iterator<Item = &'a str> {
    pattern.split('.').map(move |t| match self_id {
        Some(id) if t == SELF_TOKEN => id,
        _ => t,
    })
}

/// Whether a literal `subject` matches a NATS `pattern`.
pub fn matches(pattern: &str, subject: &str) -> bool {
    matches_for(pattern, subject, None)
}

/// [`matches`] with `{self}` in the pattern standing for `self_id`.
pub fn matches_for(pattern: &str, subject: &str, self_id: Option<&str>) -> bool {
    let mut subject_tokens = subject.split('.');
    for p in tokens(pattern, self_id) {
        match (p, subject_tokens.next()) {
            (">", Some(_)) => return true,
            (_, None) => return false,
            ("*", Some(_)) => {}
            (p, Some(s)) if p == s => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

/// Whether every subject `requested` could match is also matched by `allowed`: the rule
/// for letting a client subscribe to a pattern under a policy or grant pattern.
pub fn covers(allowed: &str, requested: &str) -> bool {
    covers_for(allowed, requested, None)
}

/// [`covers`] with `{self}` in `allowed` standing for `self_id`.
pub fn covers_for(allowed: &str, requested: &str, self_id: Option<&str>) -> bool {
    let mut req = requested.split('.');
    for a in tokens(allowed, self_id) {
        match (a, req.next()) {
            (_, None) => return false,
            (">", Some(_)) => return true,
            ("*", Some(r)) if r != ">" => {}
            (a, Some(r)) if a == r && a != "*" => {}
            _ => return false,
        }
    }
    req.next().is_none()
}

/// A validated subject, for code that wants the check in its type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject(String);

impl Subject {
    /// Validates `s` as a literal subject.
    pub fn new(s: impl Into<String>) -> Result<Subject, SubjectError> {
        let s = s.into();
        validate_subject(&s)?;
        Ok(Subject(s))
    }

    /// The subject text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_subjects() {
        assert!(validate_subject("chat.lobby").is_ok());
        assert!(validate_subject("user.g-1a2b.rtc").is_ok());
        assert_eq!(validate_subject(""), Err(SubjectError::Empty));
        assert_eq!(validate_subject("a..b"), Err(SubjectError::EmptyToken));
        assert_eq!(validate_subject(".a"), Err(SubjectError::EmptyToken));
        assert_eq!(validate_subject("a."), Err(SubjectError::EmptyToken));
        assert_eq!(validate_subject("a.*"), Err(SubjectError::Wildcard));
        assert_eq!(validate_subject("a.>"), Err(SubjectError::Wildcard));
        assert_eq!(validate_subject("a b"), Err(SubjectError::InvalidChar));
        assert_eq!(validate_subject("$JS.API.x"), Err(SubjectError::InvalidChar));
        assert_eq!(validate_subject("a.b*"), Err(SubjectError::MisplacedWildcard));
        assert_eq!(validate_subject(&"a".repeat(65)), Err(SubjectError::TokenTooLong));
        let long = vec!["abcdefgh"; 30].join(".");
        assert_eq!(validate_subject(&long), Err(SubjectError::TooLong));
    }

    #[test]
    fn patterns() {
        assert!(validate_pattern("room.*.state").is_ok());
        assert!(validate_pattern("user.42.>").is_ok());
        assert!(validate_pattern(">").is_ok());
        assert_eq!(validate_pattern("a.>.b"), Err(SubjectError::MisplacedWildcard));
        assert_eq!(validate_pattern("a.b>"), Err(SubjectError::MisplacedWildcard));
        assert_eq!(validate_pattern("a. .b"), Err(SubjectError::InvalidChar));
    }

    #[test]
    fn wildcard_matching() {
        assert!(matches("chat.lobby", "chat.lobby"));
        assert!(!matches("chat.lobby", "chat.lobby.x"));
        assert!(matches("chat.*", "chat.lobby"));
        assert!(!matches("chat.*", "chat"));
        assert!(!matches("chat.*", "chat.a.b"));
        assert!(matches("user.7.>", "user.7.dm"));
        assert!(matches("user.7.>", "user.7.a.b"));
        assert!(!matches("user.7.>", "user.7"));
        assert!(!matches("user.7.>", "user.8.dm"));
        assert!(matches(">", "anything.at.all"));
        assert!(matches_for("user.{self}.>", "user.7.dm", Some("7")));
        assert!(!matches_for("user.{self}.>", "user.8.dm", Some("7")));
        assert!(!matches("user.{self}.>", "user.7.dm"));
    }

    #[test]
    fn pattern_coverage() {
        assert!(covers("user.7.>", "user.7.>"));
        assert!(covers("user.7.>", "user.7.dm"));
        assert!(covers("user.7.>", "user.7.*"));
        assert!(!covers("user.7.>", "user.*.dm"));
        assert!(!covers("user.7.>", "user.>"));
        assert!(!covers("user.7.>", "user.7"));
        assert!(covers("room.*.state", "room.r1.state"));
        assert!(covers("room.*.state", "room.*.state"));
        assert!(!covers("room.*.state", "room.>"));
        assert!(!covers("room.r1.state", "room.*.state"));
        assert!(!covers("chat.lobby", "chat.lobby.x"));
        assert!(covers_for("user.{self}.>", "user.7.>", Some("7")));
        assert!(!covers_for("user.{self}.>", "user.*.>", Some("7")));
        assert!(validate_policy_pattern("user.{self}.>").is_ok());
        assert!(validate_pattern("user.{self}.>").is_err());
    }
}
