//! Typed account names and passwords: once built, they are valid, so nothing downstream
//! checks again.

use crate::error::AccountsError;

/// 3–24 characters of `[A-Za-z0-9_-]`; unique regardless of case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountName(String);

impl AccountName {
    /// Checks `s`.
    pub fn parse(s: &str) -> Result<AccountName, AccountsError> {
        let ok = (3..=24).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            return Err(AccountsError::BadName);
        }
        Ok(AccountName(s.to_string()))
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness and attempt limits use.
    pub fn folded(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// 8–128 characters.
pub struct Password(String);

impl Password {
    /// Checks `s`.
    pub fn parse(s: String) -> Result<Password, AccountsError> {
        if !(8..=128).contains(&s.chars().count()) {
            return Err(AccountsError::BadPassword);
        }
        Ok(Password(s))
    }

    /// The password, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_passwords_are_checked() {
        assert!(AccountName::parse("ann_1-x").is_ok());
        for bad in ["ab", "a b c", "ann!", "ännä", &"a".repeat(25)] {
            assert!(AccountName::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(AccountName::parse("AnN").unwrap().folded(), "ann");
        assert!(Password::parse("12345678".into()).is_ok());
        assert!(Password::parse("1234567".into()).is_err());
        assert!(Password::parse("x".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("secret-pass".into()).unwrap()),
            "Password(…)"
        );
    }
}
