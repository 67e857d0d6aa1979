//! The rows that link two users (`friendships`, one per pair with the lower id in `a`;
//! `friend_requests`, one per direction; `blocks`, one per direction) and the few reads and
//! writes the friends endpoints compose inside their transactions.

use crate::error::AccountsError;
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

/// The friendship row of `$1` and `$2`, whichever is lower.
const PAIR: &str = "a = LEAST($1::bigint, $2::bigint) AND b = GREATEST($1::bigint, $2::bigint)";

/// Whether `sql` finds a row.
async fn found(
    db: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<bool, AccountsError> {
    Ok(db.query_opt(sql, params).await?.is_some())
}

/// Whether `sql` changed a row.
async fn changed(
    db: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<bool, AccountsError> {
    Ok(db.execute(sql, params).await? > 0)
}

/// Whether account `id` exists.
pub async fn exists(db: &impl GenericClient, id: i64) -> Result<bool, AccountsError> {
    found(db, "SELECT 1 FROM accounts WHERE id = $1", &[&id]).await
}

/// Whether `blocker` blocked `blocked`.
pub async fn has_blocked(db: &impl GenericClient, blocker: i64, blocked: i64) -> Result<bool, AccountsError> {
    let sql = "SELECT 1 FROM blocks WHERE blocker = $1 AND blocked = $2";
    found(db, sql, &[&blocker, &blocked]).await
}

/// Whether the two are friends.
pub async fn are_friends(db: &impl GenericClient, a: i64, b: i64) -> Result<bool, AccountsError> {
    found(db, &format!("SELECT 1 FROM friendships WHERE {PAIR}"), &[&a, &b]).await
}

/// Deletes the request `from` → `to`; whether there was one.
pub async fn take_request(db: &impl GenericClient, from: i64, to: i64) -> Result<bool, AccountsError> {
    let sql = "DELETE FROM friend_requests WHERE from_id = $1 AND to_id = $2";
    changed(db, sql, &[&from, &to]).await
}

/// Ends the friendship of `a` and `b`; whether there was one.
pub async fn unfriend(db: &impl GenericClient, a: i64, b: i64) -> Result<bool, AccountsError> {
    changed(db, &format!("DELETE FROM friendships WHERE {PAIR}"), &[&a, &b]).await
}

/// Makes `a` and `b` friends (once, whichever asked).
pub async fn befriend(db: &impl GenericClient, a: i64, b: i64) -> Result<(), AccountsError> {
    let sql = "INSERT INTO friendships (a, b) VALUES (LEAST($1::bigint, $2::bigint), GREATEST($1::bigint, $2::bigint))
               ON CONFLICT DO NOTHING";
    changed(db, sql, &[&a, &b]).await.map(drop)
}
