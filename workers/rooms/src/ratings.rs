//! Ratings per game (Glicko-2, see [`crate::glicko`]): moved for the players of a finished
//! rated room in the transaction that records it, and served as `svc.rating.top`,
//! `svc.rating.me` and, for the matchmaker, `int.rating.of`. Guests (`g-…`) are never
//! rated; anyone unrated counts as 1500.

use crate::error::RoomsError;
use crate::glicko::{self, Rating, TAU};
use crate::ids::{is_guest, is_token};
use crate::model::RoomMeta;
use crate::shared::Rooms;
use chorus_kit::{Request, Service};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// Most rows `top` returns; and how many when the request names no limit.
const TOP_MAX: i64 = 100;
const TOP_DEFAULT: i64 = 10;

/// Moves the ratings of `meta`'s signed-in players in `tx`: each against every other, a
/// win 1, a loss 0, a draw (or no winner among the two) 0.5.
pub async fn record(
    tx: &deadpool_postgres::Transaction<'_>,
    meta: &RoomMeta,
    winner: Option<&str>,
    draw: bool,
) -> Result<(), RoomsError> {
    let rated: Vec<_> = meta.players.iter().filter(|p| !is_guest(&p.id)).collect();
    if rated.len() < 2 {
        return Ok(());
    }
    let ids: Vec<&str> = rated.iter().map(|p| p.id.as_str()).collect();
    let rows = tx
        .query(
            "SELECT user_id, rating, rd, volatility FROM ratings
             WHERE game = $1 AND user_id = ANY($2) ORDER BY user_id FOR UPDATE",
            &[&meta.game, &ids],
        )
        .await?;
    let mut before: HashMap<String, Rating> = HashMap::new();
    for row in rows {
        before.insert(
            row.get(0),
            Rating {
                rating: row.get(1),
                rd: row.get(2),
                vol: row.get(3),
            },
        );
    }
    let of = |id: &str| before.get(id).copied().unwrap_or_default();
    for p in &rated {
        let games: Vec<glicko::Game> = rated
            .iter()
            .filter(|o| o.id != p.id)
            .map(|o| glicko::Game {
                opponent: of(&o.id),
                score: match winner {
                    _ if draw => 0.5,
                    Some(w) if w == p.id => 1.0,
                    Some(w) if w == o.id => 0.0,
                    _ => 0.5,
                },
            })
            .collect();
        let after = glicko::update(of(&p.id), &games, TAU);
        tx.execute(
            "INSERT INTO ratings (game, user_id, name, rating, rd, volatility, games)
             VALUES ($1, $2, $3, $4, $5, $6, 1)
             ON CONFLICT (game, user_id) DO UPDATE SET name = $3, rating = $4, rd = $5,
                 volatility = $6, games = ratings.games + 1, updated_at = now()",
            &[&meta.game, &p.id, &p.name, &after.rating, &after.rd, &after.vol],
        )
        .await?;
    }
    Ok(())
}

/// `svc.rating.top`'s arguments.
#[derive(Deserialize)]
pub struct TopReq {
    game: String,
    #[serde(default)]
    limit: Option<i64>,
}

/// One row of the leaderboard.
#[derive(Serialize)]
pub struct Ranked {
    id: String,
    name: String,
    rating: f64,
    rd: f64,
    games: i32,
}

/// `svc.rating.top {game, limit}`: the best rated players of a game.
pub async fn top(rooms: Arc<Rooms>, _req: Request, ask: TopReq) -> Result<serde_json::Value, RoomsError> {
    if !is_token(&ask.game) {
        return Err(RoomsError::BadId("game"));
    }
    let limit = ask.limit.unwrap_or(TOP_DEFAULT).clamp(1, TOP_MAX);
    let read = async {
        let sql = "SELECT user_id, name, rating, rd, games FROM ratings WHERE game = $1
             ORDER BY rating DESC, user_id LIMIT $2";
        Ok::<_, RoomsError>(rooms.db.get().await?.query(sql, &[&ask.game, &limit]).await?)
    };
    let rows = rooms.waits.db("rating_top", read).await?;
    let top: Vec<Ranked> = rows
        .iter()
        .map(|r| Ranked {
            id: r.get(0),
            name: r.get(1),
            rating: r.get(2),
            rd: r.get(3),
            games: r.get(4),
        })
        .collect();
    Ok(serde_json::json!({"game": ask.game, "top": top}))
}

/// `svc.rating.me`'s and other game-only arguments.
#[derive(Deserialize)]
pub struct GameReq {
    game: String,
}

/// `svc.rating.me {game}`: the caller's rating (the defaults before their first game).
pub async fn me(rooms: Arc<Rooms>, req: Request, ask: GameReq) -> Result<serde_json::Value, RoomsError> {
    let caller = req.caller()?;
    let read = async {
        let sql = "SELECT rating, rd, games FROM ratings WHERE game = $1 AND user_id = $2";
        Ok::<_, RoomsError>(
            rooms
                .db
                .get()
                .await?
                .query_opt(sql, &[&ask.game, &caller.id])
                .await?,
        )
    };
    let row = rooms.waits.db("rating_me", read).await?;
    let start = Rating::default();
    let (rating, rd, games) = row.map_or((start.rating, start.rd, 0), |r| (r.get(0), r.get(1), r.get(2)));
    Ok(serde_json::json!({"game": ask.game, "rating": rating, "rd": rd, "games": games}))
}

/// `int.rating.of`'s arguments.
#[derive(Deserialize)]
pub struct OfReq {
    game: String,
    users: Vec<String>,
}

/// `int.rating.of {game, users}`: each user's rating, 1500 for the unrated (and guests).
pub async fn of(rooms: Arc<Rooms>, req: Request, ask: OfReq) -> Result<serde_json::Value, RoomsError> {
    req.internal()?;
    let read = async {
        let sql = "SELECT user_id, rating FROM ratings WHERE game = $1 AND user_id = ANY($2)";
        Ok::<_, RoomsError>(rooms.db.get().await?.query(sql, &[&ask.game, &ask.users]).await?)
    };
    let rows = rooms.waits.db("rating_of", read).await?;
    let known: HashMap<String, f64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let ratings: HashMap<&str, f64> = ask
        .users
        .iter()
        .map(|u| {
            (
                u.as_str(),
                known.get(u).copied().unwrap_or(Rating::default().rating),
            )
        })
        .collect();
    Ok(serde_json::json!({ "ratings": ratings }))
}

/// The `svc.rating.*` endpoints (and `int.rating.of`).
pub fn service(rooms: Arc<Rooms>) -> Service<Arc<Rooms>> {
    Service::with_state("rating", rooms)
        .method("top", top)
        .method("me", me)
        .internal_method("of", of)
}
