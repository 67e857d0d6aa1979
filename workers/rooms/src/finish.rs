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

/// [`finish`] by the room's owner: retried every `renew` tick, each time renewing its lease
/// (held at `lease`), until written; then the lease is released. `false` when the lease was
/// lost first: the replica that took the room finishes it.
pub async fn finish_owned(
    rooms: &Rooms,
    meta: &RoomMeta,
    state: &Value,
    seq: u64,
    lease: &mut u64,
    renew: &mut tokio::time::Interval,
) -> bool {
    loop {
        match finish(rooms, meta, state, seq).await {
            Ok(()) => break,
            Err(e) => tracing::error!(room = %meta.room, error = %e, "finishing the room; retrying"),
        }
        renew.tick().await;
        match rooms.renew_lease(&meta.room, *lease).await {
            Some(revision) => *lease = revision,
            None => return false,
        }
    }
    crate::lease::release(&rooms.store, &meta.room, *lease).await;
    true
}

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
    let written = write(rooms, meta, state, seq, &log, &events, winner.as_deref(), draw);
    rooms.waits.db("finish", written).await?;
    let told = json!({
        "room": meta.room, "game": meta.game, "rated": meta.rated, "players": meta.players,
        "winner": winner, "draw": draw,
    });
    rooms.store.publish_finished(&meta.room, &told).await?;
    rooms.store.mark_finished(meta).await
}

/// The transaction of [`finish`]: the result, the players and (rated rooms) the ratings.
#[allow(clippy::too_many_arguments)]
async fn write(
    rooms: &Rooms,
    meta: &RoomMeta,
    state: &Value,
    seq: u64,
    log: &[Entry],
    events: &[&Value],
    winner: Option<&str>,
    draw: bool,
) -> Result<(), RoomsError> {
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
            ratings::record(&tx, meta, winner, draw).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A call to a room that has finished: its final state, or `not_found` for anything else.
pub async fn answer_finished(
    rooms: &Rooms,
    meta: &RoomMeta,
    player: &str,
    ask: Ask,
) -> Result<Value, RoomsError> {
    if meta.seat_of(player).is_none() {
        return Err(RoomsError::NotMember);
    }
    if !matches!(ask, Ask::State) {
        return Err(RoomsError::Over);
    }
    let read = async {
        let client = rooms.db.get().await?;
        let sql = "SELECT seq, final_state FROM room_results WHERE room = $1";
        Ok::<_, RoomsError>(client.query_opt(sql, &[&meta.room]).await?)
    };
    let row = rooms
        .waits
        .db("finished_state", read)
        .await?
        .ok_or(RoomsError::NoSuchRoom)?;
    let (seq, state): (i64, Value) = (row.get(0), row.get(1));
    Ok(json!({
        "room": meta.room, "game": meta.game, "seq": seq, "state": state,
        "players": meta.players, "over": true,
    }))
}

/// `svc.rooms.replay`: a finished room's game, players, seed and events, from Postgres. A
/// realtime room's log holds inputs, not events, so its replay also says how many ticks
/// it ran (`ticks`, each of `dt_ms`) and the inputs applied at each tick (`inputs`:
/// `[{tick, inputs:[{by, input}|{by, forfeit}]}]`, ticks without inputs left out): `init`,
/// then for each tick 1..=`ticks` its inputs (`command` then `apply`; a forfeit is the
/// event `{type:"forfeit", player, reason}`) and then `tick`, gives the final state.
pub async fn replay(rooms: &Rooms, rid: &str) -> Result<Value, RoomsError> {
    let read = async {
        let client = rooms.db.get().await?;
        let sql = "SELECT game, players, seed, events, log, seq FROM room_results WHERE room = $1";
        Ok::<_, RoomsError>(client.query_opt(sql, &[&rid]).await?)
    };
    let Some(row) = rooms.waits.db("replay", read).await? else {
        return match rooms.store.meta(rid).await? {
            Some(_) => Err(RoomsError::NotFinished),
            None => Err(RoomsError::NoSuchRoom),
        };
    };
    let players: Value = row.get(1);
    let players: Vec<Seated> = serde_json::from_value(players).map_err(RoomsError::bus)?;
    let (game, seed, events): (String, i64, Value) = (row.get(0), row.get(2), row.get(3));
    let mut replay = json!({"room": rid, "game": game, "players": players, "seed": seed, "events": events});
    let log: Vec<Entry> = serde_json::from_value(row.get(4)).map_err(RoomsError::bus)?;
    let hz = rooms.game(&game).ok().map(|g| g.meta().tick_hz);
    // Without the game file, a log of inputs still says the room was realtime.
    if hz.map_or_else(|| log.iter().any(|e| !e.inputs.is_empty()), |hz| hz > 0) {
        let ticks: i64 = row.get(5);
        let inputs: Vec<Value> = log
            .into_iter()
            .filter(|e| !e.inputs.is_empty())
            .map(|e| json!({"tick": e.seq, "inputs": e.inputs}))
            .collect();
        replay["ticks"] = json!(ticks);
        replay["dt_ms"] = json!(hz.map(|hz| 1000 / hz));
        replay["inputs"] = json!(inputs);
    }
    Ok(replay)
}
