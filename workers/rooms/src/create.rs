//! `int.rooms.create {game, players:[{id,name}], rated}`: a new room, owned by the replica
//! that made it. The room id is random (nobody can guess their way in); the seed too. Each
//! player is granted `sub room.{rid}.state` and `pub room.{rid}.input` for the grant
//! lifetime, so whoever creates a room (the matchmaker, a test, a tournament) gets a
//! working one and only has to tell the players. A room with a guest is never rated.

use crate::cosmetics;
use crate::error::RoomsError;
use crate::grants::grant_player;
use crate::ids::{self, is_guest, is_token};
use crate::lease::{self, Taken};
use crate::model::{RoomMeta, Seated, now_ms};
use crate::room::{Room, blocking};
use crate::shared::Rooms;
use chorus_games::Player;
use chorus_kit::Request;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;

/// `int.rooms.create`'s arguments.
#[derive(Debug, Deserialize)]
pub struct CreateReq {
    /// The game id.
    pub game: String,
    /// The players, in seat order.
    pub players: Vec<Player>,
    /// Whether the result should move ratings (never with a guest).
    #[serde(default)]
    pub rated: bool,
}

/// `int.rooms.create`'s answer.
#[derive(Debug, Serialize)]
pub struct Created {
    /// The new room's id.
    pub room: String,
    /// The game id.
    pub game: String,
    /// The players with their seats.
    pub players: Vec<Seated>,
    /// Whether it is rated.
    pub rated: bool,
}

/// Checks that `players` can sit at `game`.
fn check_players(rooms: &Rooms, ask: &CreateReq) -> Result<(), RoomsError> {
    let meta = rooms.game(&ask.game)?.meta().clone();
    let n = ask.players.len() as u32;
    if n < meta.players.min || n > meta.players.max {
        return Err(RoomsError::BadPlayers(format!(
            "{} takes {} to {} players",
            ask.game, meta.players.min, meta.players.max
        )));
    }
    let mut seen = HashSet::new();
    for p in &ask.players {
        if !is_token(&p.id) || !seen.insert(p.id.as_str()) {
            return Err(RoomsError::BadPlayers(
                "player ids must be distinct user ids".into(),
            ));
        }
    }
    Ok(())
}

/// `int.rooms.create`.
pub async fn create(rooms: Arc<Rooms>, req: Request, ask: CreateReq) -> Result<Created, RoomsError> {
    req.internal()?;
    if !is_token(&ask.game) {
        return Err(RoomsError::BadId("game"));
    }
    check_players(&rooms, &ask)?;
    let game = rooms.game(&ask.game)?;
    let rid = ids::room();
    let ids: Vec<String> = ask.players.iter().map(|p| p.id.clone()).collect();
    let mut skins = cosmetics::skins(&rooms.nats, &rooms.waits, &ids, rooms.settings.cosmetics_timeout).await;
    let players: Vec<Seated> = ask
        .players
        .iter()
        .enumerate()
        .map(|(seat, p)| Seated {
            id: p.id.clone(),
            name: p.name.clone(),
            seat: seat as u32,
            skin: skins.remove(&p.id),
        })
        .collect();
    let meta = RoomMeta {
        room: rid.clone(),
        game: ask.game.clone(),
        rated: ask.rated && !players.iter().any(|p| is_guest(&p.id)),
        players,
        seed: ids::seed(),
        created_ms: now_ms(),
        finished: false,
        pads: Default::default(),
    };
    let (g, seated, seed) = (game.clone(), meta.game_players(), meta.seed);
    let state = blocking(move || g.init(&seated, seed)).await?;
    let s = &rooms.settings;
    let Taken::Ours(revision) = lease::acquire(&rooms.store, &rid, &s.replica, s.lease).await? else {
        return Err(RoomsError::Bus("a fresh room id was taken".into()));
    };
    rooms.store.create_meta(&meta).await?;
    let created = Created {
        room: rid.clone(),
        game: meta.game.clone(),
        players: meta.players.clone(),
        rated: meta.rated,
    };
    if game.meta().is_realtime() {
        crate::realtime::start(&rooms, meta, state, 0, 0, Vec::new(), revision).await?;
    } else {
        crate::routing::start(
            &rooms,
            Room::new(rooms.clone(), meta, game, state, revision),
            &rid,
        )
        .await?;
    }
    grant_players(&rooms, &created).await?;
    tracing::info!(room = %rid, game = %created.game, rated = created.rated, "room created");
    Ok(created)
}

/// Lets each player of `room` read its state and publish realtime input.
async fn grant_players(rooms: &Rooms, room: &Created) -> Result<(), RoomsError> {
    for p in &room.players {
        grant_player(&rooms.nats, rooms.settings.grant, &room.room, &p.id).await?;
    }
    Ok(())
}
