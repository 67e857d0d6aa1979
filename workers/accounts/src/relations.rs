//! The rows that link two users (`friendships`, one per pair with the lower id in `a`;
//! `friend_requests`, one per direction; `blocks`, one per direction) and the few reads and
//! writes the friends endpoints compose inside their transactions.

use crate::error::AccountsError;
use deadpool_postgres::GenericClient;

/// Whether account `id` exists.
pub async fn exists(db: &impl GenericClient, id: i64) -> Result<bool, AccountsError> {
    let row = db
        .query_opt("SELECT 1 FROM accounts WHERE id = $1", &[&id])
        .await?;
    Ok(row.is_some())
}

/// Whether `blocker` blocked `blocked`.
pub async fn has_blocked(db: &impl GenericClient, blocker: i64, blocked: i64) -> Result<bool, AccountsError> {
    let row = db
        .query_opt(
            "SELECT 1 FROM blocks WHERE blocker = $1 AND blocked = $2",
            &[&blocker, &blocked],
        )
        .await?;
    Ok(row.is_some())
}

/// Whether the two are friends.
pub async fn are_friends(db: &impl GenericClient, a: i64, b: i64) -> Result<bool, AccountsError> {
    let row = db
        .query_opt(
            "SELECT 1 FROM friendships WHERE a = LEAST($1::bigint, $2::bigint) AND b = GREATEST($1::bigint, $2::bigint)",
            &[&a, &b],
        )
        .await?;
    Ok(row.is_some())
}

/// Deletes the request `from` → `to`; whether there was one.
pub async fn take_request(db: &impl GenericClient, from: i64, to: i64) -> Result<bool, AccountsError> {
    let deleted = db
        .execute(
            "DELETE FROM friend_requests WHERE from_id = $1 AND to_id = $2",
            &[&from, &to],
        )
        .await?;
    Ok(deleted > 0)
}

/// Ends the friendship of `a` and `b`; whether there was one.
pub async fn unfriend(db: &impl GenericClient, a: i64, b: i64) -> Result<bool, AccountsError> {
    let deleted = db
        .execute(
            "DELETE FROM friendships WHERE a = LEAST($1::bigint, $2::bigint) AND b = GREATEST($1::bigint, $2::bigint)",
            &[&a, &b],
        )
        .await?;
    Ok(deleted > 0)
}

/// Makes `a` and `b` friends (once, whichever asked).
pub async fn befriend(db: &impl GenericClient, a: i64, b: i64) -> Result<(), AccountsError> {
    db.execute(
        "INSERT INTO friendships (a, b) VALUES (LEAST($1::bigint, $2::bigint), GREATEST($1::bigint, $2::bigint)) ON CONFLICT DO NOTHING",
        &[&a, &b],
    )
    .await?;
    Ok(())
}
