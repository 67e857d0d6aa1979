//! Random names: room ids (URL- and subject-safe tokens nobody can guess), seeds, replica
//! names; and the check that a token from a client may go into a subject.

/// `n` random bytes.
fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the OS gives randomness");
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new room id: `r` and 24 hex digits (96 random bits).
pub fn room() -> String {
    format!("r{}", hex(&random::<12>()))
}

/// A seed for a room's randomness.
pub fn seed() -> u32 {
    u32::from_le_bytes(random::<4>())
}

/// A name for this replica in leases.
pub fn replica() -> String {
    format!("rooms-{}", hex(&random::<6>()))
}

/// Whether `token` is one subject token a client may name (`[A-Za-z0-9_-]`, 1–64).
pub fn is_token(token: &str) -> bool {
    (1..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `uid` is a guest's id (never rated).
pub fn is_guest(uid: &str) -> bool {
    uid.starts_with("g-")
}
