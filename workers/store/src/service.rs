//! The store's endpoints, in one table ([`service`]): `svc.store.{catalog, wallet,
//! inventory, buy}` for signed-in users, and `int.store.{refund, owned}` for other workers
//! and operators only. The handlers check the caller and the arguments, then call
//! [`purchase`](crate::purchase) and [`reads`](crate::reads).

use crate::catalog::Good;
use crate::error::StoreError;
use crate::purchase::{self, Bought, Refunded};
use crate::reads::{self, Item, MAX_OWNED_USERS, Wallet};
use crate::store::{Store, member};
use chorus_kit::{Empty, Request, Service, ServiceError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Every endpoint of the store, over its shared state.
pub fn service(store: Arc<Store>) -> Service<Arc<Store>> {
    Service::with_state("store", store)
        .method("catalog", catalog)
        .method("wallet", wallet)
        .method("inventory", inventory)
        .method("buy", buy)
        .internal_method("refund", refund)
        .internal_method("owned", owned)
}

/// The answer to `svc.store.catalog`.
#[derive(Serialize)]
struct CatalogReply {
    goods: Vec<Good>,
}

/// `svc.store.catalog`: every good on sale, in the catalog file's order.
async fn catalog(store: Arc<Store>, req: Request, _: Empty) -> Result<CatalogReply, StoreError> {
    member(&req)?;
    Ok(CatalogReply {
        goods: store.catalog.goods().to_vec(),
    })
}

/// `svc.store.wallet`: the balance and the last ledger entries, newest first.
async fn wallet(store: Arc<Store>, req: Request, _: Empty) -> Result<Wallet, StoreError> {
    let user = member(&req)?;
    store.waits.db("wallet", reads::wallet(&store, &user)).await
}

/// The answer to `svc.store.inventory`.
#[derive(Serialize)]
struct InventoryReply {
    items: Vec<Item>,
}

/// `svc.store.inventory`: the goods the caller owns.
async fn inventory(store: Arc<Store>, req: Request, _: Empty) -> Result<InventoryReply, StoreError> {
    let user = member(&req)?;
    Ok(InventoryReply {
        items: store
            .waits
            .db("inventory", reads::inventory(&store, &user))
            .await?,
    })
}

/// The arguments of `svc.store.buy`.
#[derive(Deserialize)]
struct Buy {
    /// The good's id.
    good: String,
    /// Chosen by the client, one per purchase it means, the same on every retry.
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// `svc.store.buy`: the good, once per idempotency key.
async fn buy(store: Arc<Store>, req: Request, buy: Buy) -> Result<Bought, StoreError> {
    let user = member(&req)?;
    let key = buy.idempotency_key.unwrap_or_default();
    if key.is_empty() {
        return Err(StoreError::NoKey);
    }
    let max = store.settings.max_key_chars;
    if key.chars().count() > max {
        return Err(StoreError::KeyTooLong { max });
    }
    let good = store
        .catalog
        .get(&buy.good)
        .ok_or_else(|| StoreError::UnknownGood(buy.good.clone()))?;
    store
        .waits
        .db("buy", purchase::buy(&store, &user, good, &key))
        .await
}

/// The arguments of `int.store.refund`.
#[derive(Deserialize)]
struct Refund {
    /// The purchase's id, from `svc.store.buy`'s answer or the inventory.
    purchase: i64,
}

/// `int.store.refund`: the purchase's coins back, the good gone; once.
async fn refund(store: Arc<Store>, _: Request, r: Refund) -> Result<Refunded, StoreError> {
    store
        .waits
        .db("refund", purchase::refund(&store, r.purchase))
        .await
}

/// The arguments of `int.store.owned`.
#[derive(Deserialize)]
struct Owned {
    /// The users asked about (a room's players).
    users: Vec<String>,
    /// Only goods of this kind (`skin`, …), when given.
    #[serde(default)]
    kind: Option<String>,
}

/// The answer to `int.store.owned`.
#[derive(Serialize)]
struct OwnedReply {
    owned: BTreeMap<String, Vec<String>>,
}

/// `int.store.owned`: which goods each user owns, for a game to show (a skin, …).
async fn owned(store: Arc<Store>, _: Request, o: Owned) -> Result<OwnedReply, StoreError> {
    if o.users.len() > MAX_OWNED_USERS {
        let message = format!("at most {MAX_OWNED_USERS} users at once");
        return Err(ServiceError::bad_request(message).into());
    }
    Ok(OwnedReply {
        owned: store
            .waits
            .db("owned", reads::owned(&store, &o.users, o.kind.as_deref()))
            .await?,
    })
}
