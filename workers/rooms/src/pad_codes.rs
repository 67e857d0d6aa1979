//! Gamepad codes: short codes a big screen shows, each standing for one seat of one room,
//! kept in the memory bucket `pads` (entries expire with the codes) and taken once by
//! compare-and-set; and the limits on claiming them, per caller and per replica, so
//! guessing a code is hopeless.

use crate::error::RoomsError;
use async_nats::jetstream::{self, kv};
use chorus_kit::Waits;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use std::num::NonZeroU32;
use std::time::Duration;

/// The bucket of codes.
pub const BUCKET: &str = "pads";

/// The letters of a code: no 0/O, 1/I/L, so it reads back from a screen without doubt.
pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// Characters in a code: 31^6, about 887 million.
pub const CODE_LEN: usize = 6;

/// What a code stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeFor {
    /// The room.
    pub room: String,
    /// The seat's player (user id).
    pub seat: String,
}

/// The codes and the limits on claiming them.
pub struct PadCodes {
    kv: kv::Store,
    waits: Waits,
    /// How long a code may be claimed.
    pub ttl: Duration,
    /// Claims per caller.
    per_caller: DefaultKeyedRateLimiter<String>,
    /// Wrong codes answered by this replica, in all.
    fails: DefaultDirectRateLimiter,
}

impl PadCodes {
    /// Creates (or opens) the bucket; codes live `ttl`.
    pub async fn open(
        nats: async_nats::Client,
        ttl: Duration,
        claims_per_min: u32,
        fails_per_sec: u32,
        waits: Waits,
    ) -> Result<PadCodes, RoomsError> {
        let kv = jetstream::new(nats)
            .create_key_value(kv::Config {
                bucket: BUCKET.into(),
                description: "Chorus gamepad codes: a seat of a room, claimed once".into(),
                history: 1,
                max_age: ttl,
                storage: jetstream::stream::StorageType::Memory,
                ..Default::default()
            })
            .await
            .map_err(RoomsError::bus)?;
        let per_min = NonZeroU32::new(claims_per_min.max(1)).expect("at least one");
        let per_sec = NonZeroU32::new(fails_per_sec.max(1)).expect("at least one");
        Ok(PadCodes {
            kv,
            waits,
            ttl,
            per_caller: RateLimiter::keyed(Quota::per_minute(per_min)),
            fails: RateLimiter::direct(Quota::per_second(per_sec)),
        })
    }

    /// Whether `caller` may claim now (a claim counted); `TooManyClaims` when not.
    pub fn admit(&self, caller: &str) -> Result<(), RoomsError> {
        let caller = caller.to_string();
        self.per_caller
            .check_key(&caller)
            .map_err(|_| RoomsError::TooManyClaims)
    }

    /// Forgets callers whose claims have refilled (bounded memory).
    pub fn forget_idle(&self) {
        self.per_caller.retain_recent();
        self.per_caller.shrink_to_fit();
    }

    /// A new code for `seat` of `room`.
    pub async fn issue(&self, room: &str, seat: &str) -> Result<String, RoomsError> {
        let body = serde_json::to_vec(&CodeFor {
            room: room.to_string(),
            seat: seat.to_string(),
        })
        .expect("serializes");
        for _ in 0..8 {
            let code = new_code();
            let created = self.kv.create(code_key(&code), body.clone().into());
            if self.waits.kv(BUCKET, "create", created).await.is_ok() {
                return Ok(code);
            }
        }
        Err(RoomsError::Bus("no free gamepad code".into()))
    }

    /// Takes `code` (once): the room and seat it stands for.
    pub async fn take(&self, code: &str) -> Result<CodeFor, RoomsError> {
        let entry = self
            .waits
            .kv(BUCKET, "get", self.kv.entry(code_key(code)))
            .await
            .map_err(RoomsError::bus)?;
        let Some(entry) = entry.filter(|e| e.operation == kv::Operation::Put) else {
            return Err(self.wrong());
        };
        let Ok(target) = serde_json::from_slice::<CodeFor>(&entry.value) else {
            return Err(self.wrong());
        };
        let deleted = self
            .kv
            .delete_expect_revision(code_key(code), Some(entry.revision));
        match self.waits.kv(BUCKET, "delete", deleted).await {
            Ok(()) => Ok(target),
            Err(_) => Err(self.wrong()), // another phone took it first
        }
    }

    /// A wrong code's answer: `not_found`, or `rate_limited` past the replica's budget.
    fn wrong(&self) -> RoomsError {
        match self.fails.check() {
            Ok(()) => RoomsError::NoSuchCode,
            Err(_) => RoomsError::TooManyClaims,
        }
    }
}

fn code_key(code: &str) -> String {
    format!("code.{code}")
}

/// A random code of [`CODE_LEN`] letters of [`ALPHABET`].
pub fn new_code() -> String {
    let mut bytes = [0u8; CODE_LEN * 2];
    getrandom::fill(&mut bytes).expect("the OS gives randomness");
    bytes
        .chunks(2)
        .map(|b| ALPHABET[(u16::from_le_bytes([b[0], b[1]]) as usize) % ALPHABET.len()] as char)
        .collect()
}

/// `code` read as typed (any case, spaces and dashes ignored), if it can be a code.
pub fn normalize(code: &str) -> Option<String> {
    let code: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_letters_that_read_back() {
        for _ in 0..200 {
            let code = new_code();
            assert_eq!(normalize(&code).as_deref(), Some(code.as_str()));
        }
        assert_eq!(normalize("abc-2 3d").as_deref(), Some("ABC23D"));
        for bad in ["ABC23", "ABC23DE", "ABC0OI", "ABC 2.3"] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }
}
