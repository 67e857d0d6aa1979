//! Buying and refunding. A purchase debits the wallet, records the good and keeps its
//! answer under the caller's idempotency key, all in one transaction holding the wallet's
//! row lock: retries and concurrent duplicates (from any replica) wait for the first and
//! get its answer, which is kept in Postgres and so survives restarts. A refund is a
//! compensating `refund` entry plus a refund row; the purchase itself is never changed.

use crate::catalog::Good;
use crate::error::StoreError;
use crate::ledger::{self, Change, Reason};
use crate::store::Store;
use chorus_protocol::ErrorCode;
use serde::{Deserialize, Serialize};

/// The answer to `svc.store.buy`, the same for every retry with its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bought {
    /// The purchase's id (what `int.store.refund` names).
    pub purchase: i64,
    /// The good bought.
    pub good: String,
    /// What it cost.
    pub price: i64,
    /// The balance right after it.
    pub balance: i64,
}

/// The answer to `int.store.refund`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refunded {
    /// The purchase refunded.
    pub purchase: i64,
    /// Whose it was.
    pub user: String,
    /// The good given back.
    pub good: String,
    /// Coins returned.
    pub amount: i64,
    /// The balance after the refund.
    pub balance: i64,
}

/// Buys `good` for `user` once per `key`: the first call decides, every later one with the
/// same key gets the same answer (a success, or the `conflict` it met).
pub async fn buy(store: &Store, user: &str, good: &Good, key: &str) -> Result<Bought, StoreError> {
    let mut client = store.db.get().await?;
    let tx = client.transaction().await?;
    let (balance, opened) = ledger::lock_wallet(&tx, user, store.settings.starting_balance).await?;
    let mut changes: Vec<Change> = opened.into_iter().collect();
    let kept = tx
        .query_opt(
            "SELECT good, reply, error_code, error_message FROM store_answers
             WHERE user_id = $1 AND idempotency_key = $2",
            &[&user, &key],
        )
        .await?;
    if let Some(row) = kept {
        tx.commit().await?;
        return replay(good, row);
    }
    let outcome = attempt(&tx, user, good, balance).await;
    match &outcome {
        Ok(bought) => {
            let reply = serde_json::to_string(bought)?;
            tx.execute(
                "INSERT INTO store_answers (user_id, idempotency_key, good, reply) VALUES ($1, $2, $3, $4)",
                &[&user, &key, &good.id, &reply],
            )
            .await?;
            changes.push(Change {
                user: user.to_string(),
                balance: bought.balance,
                reason: Reason::Purchase,
            });
        }
        Err(e) if e.code() == ErrorCode::Conflict => {
            tx.execute(
                "INSERT INTO store_answers (user_id, idempotency_key, good, error_code, error_message)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&user, &key, &good.id, &e.code().as_str(), &e.to_string()],
            )
            .await?;
        }
        Err(_) => return outcome,
    }
    tx.commit().await?;
    ledger::notify(&store.nats, &changes).await;
    outcome
}

/// The first answer kept under a key, for a request naming `good`.
fn replay(good: &Good, row: tokio_postgres::Row) -> Result<Bought, StoreError> {
    let first_good: String = row.get(0);
    if first_good != good.id {
        return Err(StoreError::KeyReused(first_good));
    }
    if let Some(reply) = row.get::<_, Option<String>>(1) {
        return Ok(serde_json::from_str(&reply)?);
    }
    let code: String = row.get(2);
    Err(StoreError::Replayed {
        code: code.parse().unwrap_or(ErrorCode::Conflict),
        message: row.get(3),
    })
}

/// The purchase itself, under the wallet's lock: the limit, the balance, then the debit.
async fn attempt(
    tx: &tokio_postgres::Transaction<'_>,
    user: &str,
    good: &Good,
    balance: i64,
) -> Result<Bought, StoreError> {
    if let Some(limit) = good.limit {
        let owned: i64 = tx
            .query_one(
                "SELECT count(*) FROM store_purchases p WHERE p.user_id = $1 AND p.good = $2
                 AND NOT EXISTS (SELECT 1 FROM store_refunds r WHERE r.purchase_id = p.id)",
                &[&user, &good.id],
            )
            .await?
            .get(0);
        if owned >= limit {
            return Err(StoreError::OverLimit {
                good: good.id.clone(),
                limit,
            });
        }
    }
    if balance < good.price {
        return Err(StoreError::TooFewCoins {
            good: good.id.clone(),
            price: good.price,
            balance,
        });
    }
    let purchase: i64 = tx
        .query_one(
            "INSERT INTO store_purchases (user_id, good, kind, price) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&user, &good.id, &good.kind, &good.price],
        )
        .await?
        .get(0);
    let reference = format!("purchase:{purchase}");
    let after = ledger::append(tx, user, -good.price, Reason::Purchase, &reference, balance)
        .await?
        .expect("a new purchase has no ledger entry yet");
    Ok(Bought {
        purchase,
        good: good.id.clone(),
        price: good.price,
        balance: after,
    })
}

/// Refunds `purchase`: its price back to its buyer in a `refund` entry, the good no longer
/// owned. A second refund is [`StoreError::AlreadyRefunded`].
pub async fn refund(store: &Store, purchase: i64) -> Result<Refunded, StoreError> {
    let mut client = store.db.get().await?;
    let tx = client.transaction().await?;
    let row = tx
        .query_opt(
            "SELECT user_id, good, price FROM store_purchases WHERE id = $1",
            &[&purchase],
        )
        .await?
        .ok_or(StoreError::NoPurchase(purchase))?;
    let (user, good, price): (String, String, i64) = (row.get(0), row.get(1), row.get(2));
    let (balance, _) = ledger::lock_wallet(&tx, &user, store.settings.starting_balance).await?;
    let refunded = tx
        .execute(
            "INSERT INTO store_refunds (purchase_id) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&purchase],
        )
        .await?;
    let reference = format!("purchase:{purchase}");
    let after = match refunded {
        0 => None,
        _ => ledger::append(&tx, &user, price, Reason::Refund, &reference, balance).await?,
    };
    let Some(balance) = after else {
        return Err(StoreError::AlreadyRefunded(purchase));
    };
    tx.commit().await?;
    let change = Change {
        user: user.clone(),
        balance,
        reason: Reason::Refund,
    };
    ledger::notify(&store.nats, &[change]).await;
    Ok(Refunded {
        purchase,
        user,
        good,
        amount: price,
        balance,
    })
}
