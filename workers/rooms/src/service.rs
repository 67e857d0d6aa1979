//! Every endpoint of the rooms worker in one table: `svc.rooms.*` (gamepads included),
//! `int.rooms.create`,
//! and the merged `svc.rating.*` / `int.rating.of`.

use crate::shared::Rooms;
use crate::{create, gamepad, play, ratings};
use chorus_kit::Service;
use std::sync::Arc;

/// The worker's endpoints over `rooms`.
pub fn service(rooms: Arc<Rooms>) -> Service<Arc<Rooms>> {
    Service::with_state("rooms", rooms.clone())
        .internal_method("create", create::create)
        .method("input", play::input)
        .method("state", play::state)
        .method("leave", play::leave)
        .method("replay", play::replay)
        .method("pad", gamepad::pad)
        .method("claim", gamepad::claim)
        .merge(ratings::service(rooms))
}
