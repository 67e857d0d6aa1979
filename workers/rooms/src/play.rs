//! The client-facing `svc.rooms.*` methods: `input`, `state`, `leave` (each routed to the
//! room's owner, see [`Rooms::route`]) and `replay` (from Postgres).

use crate::call::Ask;
use crate::error::RoomsError;
use crate::finish;
use crate::ids::is_token;
use crate::shared::Rooms;
use chorus_kit::Request;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

/// Arguments naming a room.
#[derive(Deserialize)]
pub struct RoomReq {
    room: String,
}

/// `svc.rooms.input`'s arguments.
#[derive(Deserialize)]
pub struct InputReq {
    room: String,
    input: Value,
}

fn room_id(rid: &str) -> Result<&str, RoomsError> {
    if is_token(rid) {
        Ok(rid)
    } else {
        Err(RoomsError::BadId("room"))
    }
}

/// `svc.rooms.input {room, input}` → `{seq}`.
pub async fn input(rooms: Arc<Rooms>, req: Request, ask: InputReq) -> Result<Value, RoomsError> {
    let caller = req.caller()?;
    crate::routing::route(&rooms, room_id(&ask.room)?, &caller.id, Ask::Input(ask.input)).await
}

/// `svc.rooms.state {room}` → `{room, game, seq, state, players, over}`.
pub async fn state(rooms: Arc<Rooms>, req: Request, ask: RoomReq) -> Result<Value, RoomsError> {
    let caller = req.caller()?;
    crate::routing::route(&rooms, room_id(&ask.room)?, &caller.id, Ask::State).await
}

/// `svc.rooms.leave {room}` → `{seq}`: the caller forfeits.
pub async fn leave(rooms: Arc<Rooms>, req: Request, ask: RoomReq) -> Result<Value, RoomsError> {
    let caller = req.caller()?;
    crate::routing::route(&rooms, room_id(&ask.room)?, &caller.id, Ask::Leave).await
}

/// `svc.rooms.replay {room}` → `{room, game, players, seed, events}` of a finished room
/// (a realtime room's also `{ticks, dt_ms, inputs}`, see [`finish::replay`]).
pub async fn replay(rooms: Arc<Rooms>, req: Request, ask: RoomReq) -> Result<Value, RoomsError> {
    req.caller()?;
    finish::replay(&rooms, room_id(&ask.room)?).await
}
