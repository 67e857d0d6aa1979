//! Password hashing: PBKDF2-HMAC-SHA256 (ring) with a random salt per account and the
//! iteration count stored beside the hash, so raising the default never locks anyone out.
//! Verification is constant-time (ring's `pbkdf2::verify`).

use ring::pbkdf2;
use ring::rand::{SecureRandom, SystemRandom};
use std::num::NonZeroU32;

/// OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.
pub const DEFAULT_ITERATIONS: u32 = 600_000;

const ALGORITHM: pbkdf2::Algorithm = pbkdf2::PBKDF2_HMAC_SHA256;
const HASH_LEN: usize = 32;
const SALT_LEN: usize = 16;

/// A stored password: never the password itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash {
    /// PBKDF2 output.
    pub hash: Vec<u8>,
    /// Random per account.
    pub salt: Vec<u8>,
    /// Iterations used for this hash.
    pub iterations: u32,
}

impl PasswordHash {
    /// Hashes `password` with a fresh salt.
    pub fn new(password: &str, iterations: u32) -> PasswordHash {
        let mut salt = vec![0u8; SALT_LEN];
        SystemRandom::new().fill(&mut salt).expect("the system RNG works");
        let iterations = iterations.max(1);
        let mut hash = vec![0u8; HASH_LEN];
        pbkdf2::derive(ALGORITHM, nz(iterations), &salt, password.as_bytes(), &mut hash);
        PasswordHash {
            hash,
            salt,
            iterations,
        }
    }

    /// Whether `password` matches, in constant time.
    pub fn verify(&self, password: &str) -> bool {
        pbkdf2::verify(
            ALGORITHM,
            nz(self.iterations),
            &self.salt,
            password.as_bytes(),
            &self.hash,
        )
        .is_ok()
    }

    /// A hash nobody's password matches, verified when a name is unknown so that an unknown
    /// name costs the same time as a wrong password.
    pub fn decoy(iterations: u32) -> PasswordHash {
        PasswordHash {
            hash: vec![0; HASH_LEN],
            salt: vec![0; SALT_LEN],
            iterations: iterations.max(1),
        }
    }
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("at least one iteration")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_the_right_password_only() {
        let h = PasswordHash::new("correct horse", 1000);
        assert!(h.verify("correct horse"));
        assert!(!h.verify("correct horsf"));
        assert!(!h.verify(""));
        let again = PasswordHash::new("correct horse", 1000);
        assert_ne!(h.salt, again.salt, "a fresh salt each time");
        assert_ne!(h.hash, again.hash);
        assert!(!PasswordHash::decoy(1000).verify("correct horse"));
    }
}
