//! What players show in a new room: the store's cosmetics. At creation the room asks
//! `int.store.owned {users, kind: "skin"}` and seats each player with the first skin they
//! own (by good id); the game puts it in its state, so everyone sees it. The store is not
//! needed to play: without an answer in `cosmetics_timeout`, the room starts without skins.

use chorus_kit::Waits;
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Duration;

/// The store's method that lists owned goods.
const OWNED: &str = "int.store.owned";

/// `int.store.owned`'s answer.
#[derive(Deserialize)]
struct Owned {
    /// User id → good ids owned, sorted.
    owned: HashMap<String, Vec<String>>,
}

/// Each of `users`' skin, for those who own one (the request timed in `waits`).
pub async fn skins(
    nats: &async_nats::Client,
    waits: &Waits,
    users: &[String],
    within: Duration,
) -> HashMap<String, String> {
    let ask = serde_json::json!({"users": users, "kind": "skin"}).to_string();
    let request = async_nats::Request::new()
        .payload(ask.into())
        .timeout(Some(within));
    let answer = match waits.nats(OWNED, nats.send_request(OWNED, request)).await {
        Ok(reply) if reply.headers.is_none() => serde_json::from_slice::<Owned>(&reply.payload),
        Ok(_) => {
            tracing::warn!("the store refused the skins request; the room starts without skins");
            return HashMap::new();
        }
        Err(e) => {
            tracing::debug!(error = %e, "no skins from the store; the room starts without them");
            return HashMap::new();
        }
    };
    match answer {
        Ok(owned) => owned
            .owned
            .into_iter()
            .filter_map(|(user, goods)| Some((user, goods.into_iter().next()?)))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "the store's skins answer is not understood");
            HashMap::new()
        }
    }
}
