//! Phones as gamepads: a member asks for a short code for its seat (`svc.rooms.pad`), a
//! big screen shows it, and the phone that claims it (`svc.rooms.claim`) steers that seat
//! from then on: it is granted the room's subjects and its inputs count as the seat's.
//!
//! Codes live in the memory bucket `pads`, whose entries expire with the codes; a claim
//! deletes its code by compare-and-set, so a code is used once. Who steers which seat is
//! the room's own business, kept in its meta by its owner ([`on_owner`]), so a takeover
//! keeps it. A phone resumes its seat (a new connection is a new guest) with the secret
//! its claim returned; the room keeps only the secret's hash. Claims are rate-limited per
//! caller, and wrong codes per replica in all, so guessing a code is hopeless.

use crate::call::{Ask, PadClaim};
use crate::create::{grant_player, player_subjects};
use crate::error::RoomsError;
use crate::ids::is_token;
use crate::model::{Pad, RoomMeta};
use crate::shared::Rooms;
use async_nats::jetstream::{self, kv};
use chorus_kit::{Request, Waits};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// The bucket of codes.
pub const BUCKET: &str = "pads";

/// The letters of a code: no 0/O, 1/I/L, so it reads back from a screen without doubt.
pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// Characters in a code: 31^6, about 887 million.
pub const CODE_LEN: usize = 6;

/// What a code stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CodeFor {
    room: String,
    seat: String,
}

/// The codes and the limits on claiming them.
pub struct PadCodes {
    kv: kv::Store,
    waits: Waits,
    ttl: Duration,
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

    /// Forgets callers whose claims have refilled (bounded memory).
    pub fn forget_idle(&self) {
        self.per_caller.retain_recent();
        self.per_caller.shrink_to_fit();
    }

    /// A new code for `seat` of `room`.
    async fn issue(&self, room: &str, seat: &str) -> Result<String, RoomsError> {
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
    async fn take(&self, code: &str) -> Result<CodeFor, RoomsError> {
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

fn sha256_hex(secret: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the OS gives randomness");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `svc.rooms.pad`'s arguments.
#[derive(Deserialize)]
pub struct PadReq {
    room: String,
}

/// `svc.rooms.claim`'s arguments: a code, or a room and the secret to resume with.
#[derive(Deserialize)]
pub struct ClaimReq {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    room: Option<String>,
    #[serde(default)]
    resume: Option<String>,
}

/// `svc.rooms.pad {room}` → `{room, seat, code, expires_in_ms}`, for a member's own seat.
pub async fn pad(rooms: Arc<Rooms>, req: Request, ask: PadReq) -> Result<Value, RoomsError> {
    let caller = req.caller()?;
    if !is_token(&ask.room) {
        return Err(RoomsError::BadId("room"));
    }
    let meta = rooms.store.meta(&ask.room).await?.ok_or(RoomsError::NoSuchRoom)?;
    if !meta.is_member(&caller.id) {
        return Err(RoomsError::NotMember);
    }
    if meta.finished {
        return Err(RoomsError::Over);
    }
    let code = rooms.pads.issue(&ask.room, &caller.id).await?;
    Ok(json!({
        "room": ask.room, "seat": caller.id, "code": code,
        "expires_in_ms": rooms.pads.ttl.as_millis() as u64,
    }))
}

/// `svc.rooms.claim {code}` or `{room, resume}` → `{room, game, seat, resume}`.
pub async fn claim(rooms: Arc<Rooms>, req: Request, ask: ClaimReq) -> Result<Value, RoomsError> {
    let caller = req.caller()?;
    if rooms.pads.per_caller.check_key(&caller.id).is_err() {
        return Err(RoomsError::TooManyClaims);
    }
    match (ask.code, ask.room, ask.resume) {
        (Some(code), None, None) => {
            let code = normalize(&code).ok_or(RoomsError::BadCode)?;
            let target = rooms.pads.take(&code).await?;
            let secret = new_secret();
            let claim = PadClaim {
                pad: caller.id.clone(),
                name: caller.name.clone(),
                resume: sha256_hex(&secret),
            };
            let mut seated =
                crate::routing::route(&rooms, &target.room, &target.seat, Ask::Pair(claim)).await?;
            seated["resume"] = json!(secret);
            Ok(seated)
        }
        (None, Some(room), Some(secret)) => {
            if !is_token(&room) {
                return Err(RoomsError::BadId("room"));
            }
            let claim = PadClaim {
                pad: caller.id.clone(),
                name: caller.name.clone(),
                resume: sha256_hex(&secret),
            };
            let mut seated = crate::routing::route(&rooms, &room, &caller.id, Ask::Resume(claim)).await?;
            seated["resume"] = json!(secret);
            Ok(seated)
        }
        _ => Err(RoomsError::BadCode),
    }
}

/// The owner's side of [`Ask::Pair`] (from the seat's player) and [`Ask::Resume`] (from the
/// phone): records who steers the seat in `meta` (written back), takes the rights of the
/// phone it replaces, grants the new one and tells the seat's player.
pub async fn on_owner(
    rooms: &Rooms,
    meta: &mut RoomMeta,
    caller: &str,
    ask: Ask,
) -> Result<Value, RoomsError> {
    let (seat, claim) = match ask {
        Ask::Pair(claim) if meta.is_member(caller) => (caller.to_string(), claim),
        Ask::Pair(_) => return Err(RoomsError::NotMember),
        Ask::Resume(claim) => {
            let held = meta.pads.values().find(|p| p.resume == claim.resume);
            let seat = held.map(|p| p.seat.clone()).ok_or(RoomsError::NoSuchCode)?;
            (seat, claim)
        }
        _ => return Err(RoomsError::NotMember),
    };
    let replaced: Vec<String> = meta
        .pads
        .iter()
        .filter(|(phone, p)| p.seat == seat && **phone != claim.pad)
        .map(|(phone, _)| phone.clone())
        .collect();
    for phone in &replaced {
        meta.pads.remove(phone);
    }
    meta.pads.insert(
        claim.pad.clone(),
        Pad {
            seat: seat.clone(),
            name: claim.name.clone(),
            resume: claim.resume,
        },
    );
    rooms.store.put_meta(meta).await?;
    let subjects = player_subjects(&meta.room);
    let subjects: Vec<&str> = subjects.iter().map(String::as_str).collect();
    for phone in replaced.iter().filter(|p| !meta.is_member(p)) {
        chorus_kit::ctl::revoke(&rooms.nats, phone, &subjects)
            .await
            .map_err(RoomsError::bus)?;
    }
    grant_player(rooms, &meta.room, &claim.pad).await?;
    let paired = json!({"event": "paired", "pad": claim.pad, "name": claim.name}).to_string();
    rooms
        .nats
        .publish(format!("user.{seat}.pad"), paired.into())
        .await
        .map_err(RoomsError::bus)?;
    let seated = meta.players.iter().find(|p| p.id == seat).cloned();
    Ok(json!({"room": meta.room, "game": meta.game, "seat": seated}))
}

/// Whose seat a call from `caller` acts for: a member's own, a phone's seat; a phone may
/// not leave the seat it steers. Pairing calls go to [`on_owner`] instead.
pub fn seat_for(meta: &RoomMeta, caller: &str, ask: &Ask) -> Result<String, RoomsError> {
    match ask {
        Ask::Leave if !meta.is_member(caller) => Err(RoomsError::NotMember),
        _ => meta
            .seat_of(caller)
            .map(str::to_string)
            .ok_or(RoomsError::NotMember),
    }
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

    #[test]
    fn resume_secrets_are_kept_only_as_hashes() {
        let secret = new_secret();
        assert_eq!(secret.len(), 48);
        assert_eq!(sha256_hex(&secret).len(), 64);
        assert_ne!(sha256_hex(&secret), secret);
        assert_ne!(new_secret(), secret);
    }
}
