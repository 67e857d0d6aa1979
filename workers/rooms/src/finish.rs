//! A finished room goes to Postgres: its result, players and whole log, and (rated rooms)
//! its players' new ratings, in one transaction; then `evt.rooms.finished` into `EVENTS`
//! (deduplicated per room), then the room is marked finished in the bucket. Every step may
//! be repeated (a replica that took over a finishing room does it again): the insert is
//! `ON CONFLICT DO NOTHING`, and ratings move only with the insert. Finished rooms are
//! answered from Postgres: their state, and their replay.

use crate::call::Ask;
use crate::error::RoomsError;
use crate::model::{Entry, RoomMeta, Seated};
use crate::ratings;
use crate::shared::Rooms;
use chorus_games::{Outcome, outcome};
use serde_json::{Value, json};

/// Writes room `meta`, ended in `state` at `seq`, down, and tells other workers.
pub async fn finish(rooms: &Rooms, meta: &RoomMeta, state: &Value, seq: u64) -> Result<(), RoomsError> {
    let log: Vec<Entry> = rooms
        .store
        .read_log(&meta.room, 0)
        .await?
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    let events: Vec<&Value> = log.iter().flat_map(|e| e.events.iter()).collect();
    let Outcome { winner, draw } = outcome(state).unwrap_or(Outcome {
        winner: None,
        draw: false,
    });
    let mut client = rooms.db.get().await?;
    let tx = client.transaction().await?;
    let inserted = tx
        .execute(
            "INSERT INTO room_results
                 (room, game, rated, seed, players, winner, draw, seq, log, events, final_state, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, to_timestamp($12::float8 / 1000))
             ON CONFLICT (room) DO NOTHING",
            &[
                &meta.room,
                &meta.game,
                &meta.rated,
                &i64::from(meta.seed),
                &json!(meta.players),
                &winner,
                &draw,
                &(seq as i64),
                &json!(log),
                &json!(events),
                state,
                &(meta.created_ms as f64),
            ],
        )
        .await?;
    if inserted == 1 {
        for p in &meta.players {
            tx.execute(
                "INSERT INTO room_players (room, user_id, name, seat) VALUES ($1, $2, $3, $4)",
                &[&meta.room, &p.id, &p.name, &(p.seat as i32)],
            )
            .await?;
        }
        if meta.rated {
            ratings::record(&tx, meta, winner.as_deref(), draw).await?;
        }
    }
    tx.commit().await?;
    let told = json!({
        "room": meta.room, "game": meta.game, "rated": meta.rated, "players": meta.players,
        "winner": winner, "draw": draw,
    });
    rooms.store.publish_finished(&meta.room, &told).await?;
    rooms.store.mark_finished(meta).await
}

/// A call to a room that has finished: its final state, or `not_found` for anything else.
pub async fn answer_finished(
    rooms: &Rooms,
    meta: &RoomMeta,
    player: &str,
    ask: Ask,
) -> Result<Value, RoomsError> {
    if !meta.is_member(player) {
        return Err(RoomsError::NotMember);
    }
    if !matches!(ask, Ask::State) {
        return Err(RoomsError::Over);
    }
    let client = rooms.db.get().await?;
    let row = client
        .query_opt(
            "SELECT seq, final_state FROM room_results WHERE room = $1",
            &[&meta.room],
        )
        .await?
        .ok_or(RoomsError::NoSuchRoom)?;
    let (seq, state): (i64, Value) = (row.get(0), row.get(1));
    Ok(json!({
        "room": meta.room, "game": meta.game, "seq": seq, "state": state,
        "players": meta.players, "over": true,
    }))
}

/// `svc.rooms.replay`: a finished room's game, players, seed and events, from Postgres.
pub async fn replay(rooms: &Rooms, rid: &str) -> Result<Value, RoomsError> {
    let client = rooms.db.get().await?;
    let Some(row) = client
        .query_opt(
            "SELECT game, players, seed, events FROM room_results WHERE room = $1",
            &[&rid],
        )
        .await?
    else {
        return match rooms.store.meta(rid).await? {
            Some(_) => Err(RoomsError::NotFinished),
            None => Err(RoomsError::NoSuchRoom),
        };
    };
    let players: Value = row.get(1);
    let players: Vec<Seated> = serde_json::from_value(players).map_err(RoomsError::bus)?;
    let (game, seed, events): (String, i64, Value) = (row.get(0), row.get(2), row.get(3));
    Ok(json!({"room": rid, "game": game, "players": players, "seed": seed, "events": events}))
}
