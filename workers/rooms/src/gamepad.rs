//! Phones as gamepads, the client's side: a member asks for a short code for its seat
//! (`svc.rooms.pad`), a big screen shows it, and the phone that claims it
//! (`svc.rooms.claim`) steers that seat from then on; the room's owner records it
//! (`seats`). A phone resumes its seat (a new connection is a new guest) with the secret
//! its claim returned; the room keeps only the secret's hash.

use crate::call::{Ask, PadClaim};
use crate::error::RoomsError;
use crate::ids::is_token;
use crate::pad_codes::normalize;
use crate::shared::Rooms;
use chorus_kit::Request;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// What the room keeps of a resume secret: its SHA-256, in hex.
fn sha256_hex(secret: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A resume secret for a phone: 192 random bits, in hex.
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
    rooms.pads.admit(&caller.id)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_secrets_are_kept_only_as_hashes() {
        let secret = new_secret();
        assert_eq!(secret.len(), 48);
        assert_eq!(sha256_hex(&secret).len(), 64);
        assert_ne!(sha256_hex(&secret), secret);
        assert_ne!(new_secret(), secret);
    }
}
