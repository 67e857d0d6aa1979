//! Wallets and the ledger, inside a transaction. A wallet is opened lazily, on a user's
//! first call, by a `grant` entry of the starting balance. Every later change of a balance
//! is one appended ledger row (reason, what it refers to, the balance after it) and the
//! wallet's balance set to match, both in the caller's transaction, while it holds the
//! wallet's row lock: so concurrent changes of one wallet queue up, none can overdraw, and
//! the balance always equals the sum of the ledger.
//!
//! Each entry's reference is unique per reason (`UNIQUE (reason, ref)`): a second reward
//! for one room or a second refund of one purchase appends nothing.

use serde::Serialize;
use tokio_postgres::Transaction;

/// Why a balance changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// The starting balance, when the wallet is opened (`wallet:{uid}`).
    Grant,
    /// A good bought (`purchase:{id}`).
    Purchase,
    /// A purchase given back (`purchase:{id}`).
    Refund,
    /// A win paid (`room:{rid}`).
    Reward,
}

impl Reason {
    /// As stored in the ledger and sent to the user.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Grant => "grant",
            Reason::Purchase => "purchase",
            Reason::Refund => "refund",
            Reason::Reward => "reward",
        }
    }
}

/// A balance that changed, to tell its owner on `user.{uid}.wallet` once committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Whose wallet.
    pub user: String,
    /// Its balance after the change.
    pub balance: i64,
    /// Why it changed.
    pub reason: Reason,
}

/// Locks `user`'s wallet row for the rest of `tx`, opening it with `start` coins (a `grant`
/// entry) if the user has none; returns the balance and, when it was opened just now, the
/// change to tell.
pub async fn lock_wallet(
    tx: &Transaction<'_>,
    user: &str,
    start: i64,
) -> Result<(i64, Option<Change>), tokio_postgres::Error> {
    const LOCK: &str = "SELECT balance FROM store_wallets WHERE user_id = $1 FOR UPDATE";
    if let Some(row) = tx.query_opt(LOCK, &[&user]).await? {
        return Ok((row.get(0), None));
    }
    // Two first calls at once: one inserts, the other waits for it and then inserts nothing.
    let opened = tx
        .execute(
            "INSERT INTO store_wallets (user_id, balance) VALUES ($1, 0) ON CONFLICT DO NOTHING",
            &[&user],
        )
        .await?;
    let row = tx.query_one(LOCK, &[&user]).await?;
    if opened == 0 {
        return Ok((row.get(0), None));
    }
    let reference = format!("wallet:{user}");
    let balance = append(tx, user, start, Reason::Grant, &reference, 0).await?;
    let balance = balance.expect("a new wallet has no grant yet");
    let change = Change {
        user: user.to_string(),
        balance,
        reason: Reason::Grant,
    };
    Ok((balance, Some(change)))
}

/// Appends `amount` (negative: a debit) to `user`'s ledger for `reason` and `reference`, and
/// sets the wallet's balance from `balance` (read under the row lock) to match. Returns the
/// new balance, or `None` when the ledger already has an entry for that reason and
/// reference (nothing appended). A debit below zero fails on the table's check.
pub async fn append(
    tx: &Transaction<'_>,
    user: &str,
    amount: i64,
    reason: Reason,
    reference: &str,
    balance: i64,
) -> Result<Option<i64>, tokio_postgres::Error> {
    let after = balance + amount;
    let appended = tx
        .execute(
            "INSERT INTO store_ledger (user_id, amount, reason, ref, balance)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (reason, ref) DO NOTHING",
            &[&user, &amount, &reason.as_str(), &reference, &after],
        )
        .await?;
    if appended == 0 {
        return Ok(None);
    }
    tx.execute(
        "UPDATE store_wallets SET balance = $2 WHERE user_id = $1",
        &[&user, &after],
    )
    .await?;
    Ok(Some(after))
}

/// Tells each change's owner `{balance, reason}` on `user.{uid}.wallet`. Called after the
/// commit; a message lost here changes nothing (the wallet is the truth), so failures are
/// only logged.
pub async fn notify(nats: &async_nats::Client, changes: &[Change]) {
    for c in changes {
        let body = serde_json::json!({"balance": c.balance, "reason": c.reason});
        let subject = format!("user.{}.wallet", c.user);
        if let Err(e) = nats.publish(subject, body.to_string().into()).await {
            tracing::warn!(error = %e, "wallet change not told");
        }
    }
}
