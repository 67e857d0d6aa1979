//! What a user (or a game) reads: the wallet with its last ledger entries, the goods a user
//! owns, and which goods of a kind each player of a room owns (for the rooms worker to show
//! skins to everyone). Owned means bought and not refunded.

use crate::error::StoreError;
use crate::ledger;
use crate::store::Store;
use serde::Serialize;
use std::collections::BTreeMap;

/// Most users `int.store.owned` answers for at once (a room has a handful of players).
pub const MAX_OWNED_USERS: usize = 64;

/// One ledger entry, as `svc.store.wallet` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Its id: entries are ordered by it.
    pub id: i64,
    /// Coins added (negative: taken).
    pub amount: i64,
    /// `grant`, `purchase`, `refund` or `reward`.
    pub reason: String,
    /// What it refers to: `wallet:{uid}`, `purchase:{id}`, `room:{rid}`.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The balance right after it.
    pub balance: i64,
    /// When, in unix milliseconds.
    pub ts: i64,
}

/// The answer to `svc.store.wallet`.
#[derive(Debug, Clone, Serialize)]
pub struct Wallet {
    /// Coins now.
    pub balance: i64,
    /// The last entries, newest first.
    pub entries: Vec<Entry>,
}

/// One good owned, as `svc.store.inventory` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// The purchase that brought it (what a refund names).
    pub purchase: i64,
    /// The good's id.
    pub good: String,
    /// Its kind.
    pub kind: String,
    /// Its name, when it is still in the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When it was bought, in unix milliseconds.
    pub ts: i64,
}

/// `user`'s wallet (opened now if it was not) and its last entries.
pub async fn wallet(store: &Store, user: &str) -> Result<Wallet, StoreError> {
    let mut client = store.db.get().await?;
    let tx = client.transaction().await?;
    let (balance, opened) = ledger::lock_wallet(&tx, user, store.settings.starting_balance).await?;
    let rows = tx
        .query(
            "SELECT id, amount, reason, ref, balance,
                    (extract(epoch FROM created_at) * 1000)::bigint
             FROM store_ledger WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
            &[&user, &store.settings.wallet_entries],
        )
        .await?;
    tx.commit().await?;
    if let Some(change) = opened {
        ledger::notify(&store.nats, &[change]).await;
    }
    let entries = rows
        .iter()
        .map(|r| Entry {
            id: r.get(0),
            amount: r.get(1),
            reason: r.get(2),
            reference: r.get(3),
            balance: r.get(4),
            ts: r.get(5),
        })
        .collect();
    Ok(Wallet { balance, entries })
}

/// The goods `user` owns, oldest purchase first.
pub async fn inventory(store: &Store, user: &str) -> Result<Vec<Item>, StoreError> {
    let client = store.db.get().await?;
    let rows = client
        .query(
            "SELECT p.id, p.good, p.kind, (extract(epoch FROM p.created_at) * 1000)::bigint
             FROM store_purchases p WHERE p.user_id = $1
             AND NOT EXISTS (SELECT 1 FROM store_refunds r WHERE r.purchase_id = p.id)
             ORDER BY p.id",
            &[&user],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let good: String = r.get(1);
            Item {
                purchase: r.get(0),
                name: store.catalog.get(&good).map(|g| g.name.clone()),
                good,
                kind: r.get(2),
                ts: r.get(3),
            }
        })
        .collect())
}

/// For each of `users`, the distinct goods (of `kind`, if given) they own, by id; users who
/// own none are absent.
pub async fn owned(
    store: &Store,
    users: &[String],
    kind: Option<&str>,
) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
    let client = store.db.get().await?;
    let rows = client
        .query(
            "SELECT p.user_id, array_agg(DISTINCT p.good ORDER BY p.good)
             FROM store_purchases p WHERE p.user_id = ANY($1) AND ($2::text IS NULL OR p.kind = $2)
             AND NOT EXISTS (SELECT 1 FROM store_refunds r WHERE r.purchase_id = p.id)
             GROUP BY p.user_id",
            &[&users, &kind],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}
