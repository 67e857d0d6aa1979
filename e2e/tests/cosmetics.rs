//! A good bought in the store is seen by the other players: ann buys a skin through the
//! bridge, and in the next arena room she plays, bob's broadcasts show her with it (and
//! him without one). The rooms worker asks the store (`int.store.owned`) when it makes a
//! room, so a rebuilt room starts with the same skins.

mod common;

use chorus_store::{Catalog, Settings as StoreSettings};
use chorus_testkit::client::{WAIT, Ws};
use common::Harness;
use serde_json::{Value, json};

/// What this test sells.
const CATALOG: &str =
    r#"{"goods": [{"id": "skin-red", "name": "Red", "price": 30, "kind": "skin", "limit": 1}]}"#;

async fn connect(h: &Harness, login: &Value) -> Ws {
    let token = login["access_token"].as_str().unwrap();
    let path = format!("/core/game/v1/real-time/private?token={token}");
    Ws::connect(h.http, &path, &[]).await.unwrap().0
}

/// Sends `frame` with `id` and returns its answer, skipping other frames.
async fn ask(ws: &mut Ws, mut frame: Value, id: &str) -> Value {
    frame["id"] = json!(id);
    ws.send(frame).await;
    loop {
        let got = ws.recv().await;
        if got["id"] == id {
            return got;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skin_bought_in_the_store_is_seen_by_the_other_player() {
    let (h, db) = Harness::with_accounts(900).await;
    let worker = h.nats_client().await;
    let catalog = Catalog::parse(CATALOG).unwrap();
    let _store =
        chorus_store::spawn_in_process(worker.clone(), db.url(), catalog, StoreSettings::for_tests())
            .await
            .unwrap();
    let (_rooms, _served) =
        chorus_rooms::spawn_in_process(worker.clone(), db.url(), chorus_rooms::Settings::for_tests())
            .await
            .unwrap();
    let ann_login = h.sign_up_and_log_in("ann").await;
    let bob_login = h.sign_up_and_log_in("bob").await;
    let (ann_id, bob_id) = (ann_login["user"]["id"].clone(), bob_login["user"]["id"].clone());
    let mut ann = connect(&h, &ann_login).await;
    let mut bob = connect(&h, &bob_login).await;

    let bought = ask(
        &mut ann,
        json!({"op":"req","subject":"svc.store.buy","data":{"good":"skin-red","idempotency_key":"k1"}}),
        "buy",
    )
    .await;
    assert_eq!(bought["op"], "reply", "{bought}");

    let players = json!([{"id": ann_id, "name": "ann"}, {"id": bob_id, "name": "bob"}]);
    let rid = common::create_room(&worker, "arena", players, false).await;
    let rid = rid.as_str();
    // The grant travels on its own: subscribe once the bridge has it.
    let subject = format!("room.{rid}.state");
    let deadline = tokio::time::Instant::now() + WAIT;
    for i in 0.. {
        let answer = ask(&mut bob, json!({"op":"sub","subject":subject}), &format!("s{i}")).await;
        if answer["op"] == "ok" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no grant: {answer}");
    }
    let state = loop {
        let got = bob.recv().await;
        if got["op"] == "msg" && got["subject"] == subject.as_str() {
            break got["data"]["state"].clone();
        }
    };
    let skin_of = |id: &Value| {
        state["players"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == *id)
            .map(|p| p["skin"].clone())
            .unwrap()
    };
    assert_eq!(skin_of(&ann_id), json!("skin-red"), "{state}");
    assert_eq!(skin_of(&bob_id), Value::Null, "{state}");
}
