//! Who steers which seat, on the room's owner: a phone pairing with a seat
//! ([`on_owner`]: recorded in the room's meta, the phone granted, the one before it
//! revoked, the seat's player told), and whose seat any other call acts for ([`seat_for`]).

use crate::call::Ask;
use crate::error::RoomsError;
use crate::grants::{grant_player, player_subjects};
use crate::model::{Pad, RoomMeta};
use crate::shared::Rooms;
use serde_json::{Value, json};

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
    grant_player(&rooms.nats, rooms.settings.grant, &meta.room, &claim.pad).await?;
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
