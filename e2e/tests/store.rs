//! The store through real bridges, with the accounts worker, two store replicas, Postgres
//! and a nats-server: one purchase however many times and from wherever it is retried, no
//! overdraft under a storm of purchases, guests refused, and each change of a balance told
//! to the player's connections.

mod common;

use chorus_store::{Catalog, Settings};
use chorus_testkit::TestDb;
use chorus_testkit::client::Ws;
use common::Harness;
use serde_json::{Value, json};
use std::collections::HashMap;

const PRIVATE: &str = "/core/game/v1/real-time/private";

/// What these tests sell (wallets open with 100 coins: `Settings::for_tests`).
const CATALOG: &str = r#"{"goods":[
    {"id":"skin-red","name":"Red skin","price":30,"kind":"skin","limit":1},
    {"id":"emote-gg","name":"GG","price":10,"kind":"emote"},
    {"id":"spark","name":"Spark","price":7,"kind":"effect"}
]}"#;

/// The stack, two store replicas on one database, and `name` signed in; returns the
/// harness, the database and the user's id and access token.
async fn stack(name: &str) -> (Harness, TestDb, String, String) {
    let (h, db) = Harness::with_accounts(900).await;
    for _ in 0..2 {
        let client = async_nats::connect(h.nats.url()).await.unwrap();
        let catalog = Catalog::parse(CATALOG).unwrap();
        chorus_store::spawn_in_process(client, db.url(), catalog, Settings::for_tests())
            .await
            .unwrap();
    }
    let login = h.sign_up_and_log_in(name).await;
    let uid = login["user"]["id"].as_str().unwrap().to_string();
    let token = login["access_token"].as_str().unwrap().to_string();
    (h, db, uid, token)
}

/// A private connection to the bridge at `http`, past its `welcome`.
async fn connect(http: std::net::SocketAddr, token: &str) -> Ws {
    let (ws, welcome) = Ws::connect(http, &format!("{PRIVATE}?token={token}"), &[])
        .await
        .unwrap();
    assert_eq!(welcome["op"], "welcome", "{welcome}");
    ws
}

/// Sends every request at once on `ws`, then collects the answers (`reply` or `err`) by id,
/// and the `msg` frames that came meanwhile.
async fn burst(ws: &mut Ws, requests: Vec<(String, Value)>) -> (HashMap<String, Value>, Vec<Value>) {
    let n = requests.len();
    for (id, data) in requests {
        ws.send(json!({"op":"req","id":id,"subject":"svc.store.buy","data":data}))
            .await;
    }
    let (mut answers, mut messages) = (HashMap::new(), Vec::new());
    while answers.len() < n {
        let frame = ws.recv().await;
        if frame["op"] == "reply" || frame["op"] == "err" {
            answers.insert(frame["id"].as_str().unwrap().to_string(), frame);
        } else if frame["op"] == "msg" {
            messages.push(frame);
        }
    }
    (answers, messages)
}

/// Balance, sum of the ledger, purchases and ledger entries for `uid`, straight from Postgres.
async fn books(db: &TestDb, uid: &str) -> (i64, i64, i64, i64) {
    let c = db.connect().await;
    let one = |sql: &'static str| {
        let c = &c;
        async move { c.query_one(sql, &[&uid]).await.unwrap().get::<_, i64>(0) }
    };
    (
        one("SELECT balance FROM store_wallets WHERE user_id = $1").await,
        one("SELECT sum(amount)::bigint FROM store_ledger WHERE user_id = $1").await,
        one("SELECT count(*) FROM store_purchases WHERE user_id = $1").await,
        one("SELECT count(*) FROM store_ledger WHERE user_id = $1 AND reason = 'purchase'").await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_retries_from_two_connections_buy_once() {
    let (h, db, uid, token) = stack("ann").await;
    let other = h.another_bridge().await;
    let (mut a, mut b) = (connect(h.http, &token).await, connect(other.http, &token).await);
    let sub = a
        .call(json!({"op":"sub","id":"s","subject":format!("user.{uid}.wallet")}))
        .await;
    assert_eq!(sub["op"], "ok", "{sub}");
    let data = json!({"good":"skin-red","idempotency_key":"ann-skin-1"});
    let requests = |side: &str| (0..25).map(|i| (format!("{side}{i}"), data.clone())).collect();
    let ((ra, mut told), (rb, _)) = tokio::join!(burst(&mut a, requests("a")), burst(&mut b, requests("b")));

    let answers: Vec<&Value> = ra.values().chain(rb.values()).collect();
    assert_eq!(answers.len(), 50);
    let first = &answers[0]["data"];
    for answer in &answers {
        assert_eq!(answer["op"], "reply", "{answer}");
        assert_eq!(&answer["data"], first, "every answer is the first");
    }
    assert_eq!(first["balance"], 70);
    assert_eq!(books(&db, &uid).await, (70, 70, 1, 1));
    // The player heard the wallet open and the one debit.
    while told.len() < 2 {
        told.push(a.recv().await);
    }
    for frame in &told {
        assert_eq!(frame["subject"], format!("user.{uid}.wallet"), "{frame}");
    }
    let told: Vec<&Value> = told.iter().map(|f| &f["data"]).collect();
    assert_eq!(
        told,
        [
            &json!({"balance":100,"reason":"grant"}),
            &json!({"balance":70,"reason":"purchase"})
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_purchases_never_overdraws() {
    let (h, db, uid, token) = stack("bob").await;
    let other = h.another_bridge().await;
    let mut conns = vec![
        connect(h.http, &token).await,
        connect(h.http, &token).await,
        connect(other.http, &token).await,
        connect(other.http, &token).await,
    ];
    let mut bursts = Vec::new();
    for (c, ws) in conns.iter_mut().enumerate() {
        let requests = (0..25)
            .map(|i| {
                let good = if i % 2 == 0 { "emote-gg" } else { "spark" };
                (
                    format!("{c}-{i}"),
                    json!({"good":good,"idempotency_key":format!("bob-{c}-{i}")}),
                )
            })
            .collect();
        bursts.push(burst(ws, requests));
    }
    let answers: Vec<Value> = futures_util::future::join_all(bursts)
        .await
        .into_iter()
        .flat_map(|(answers, _)| answers.into_values())
        .collect();
    assert_eq!(answers.len(), 100);
    let mut spent = 0;
    let mut bought = 0;
    for a in &answers {
        match a["op"].as_str().unwrap() {
            "reply" => {
                spent += a["data"]["price"].as_i64().unwrap();
                bought += 1;
            }
            "err" => {
                assert_eq!(a["code"], "conflict", "{a}");
                assert!(
                    a["message"].as_str().unwrap().starts_with("not enough coins"),
                    "{a}"
                );
            }
            other => panic!("{other}: {a}"),
        }
    }
    let (balance, sum, purchases, debits) = books(&db, &uid).await;
    assert!(balance >= 0);
    assert_eq!(balance, sum, "the balance is the sum of the ledger");
    assert_eq!(balance, 100 - spent);
    assert_eq!((purchases, debits), (bought, bought));
    assert!(balance < 7, "it bought until nothing fit: {balance} left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_are_refused_and_wins_are_told() {
    let (h, _db, uid, token) = stack("cat").await;
    let mut guest = h.ws().await;
    let refused = guest
        .call(json!({"op":"req","id":"1","subject":"svc.store.buy","data":{"good":"spark","idempotency_key":"k"}}))
        .await;
    assert_eq!(refused["code"], "forbidden", "{refused}");

    let mut ws = connect(h.http, &token).await;
    let sub = ws
        .call(json!({"op":"sub","id":"s","subject":format!("user.{uid}.wallet")}))
        .await;
    assert_eq!(sub["op"], "ok");
    let js = async_nats::jetstream::new(h.nats_client().await);
    let event = json!({"room":"r-1","game":"tictactoe","rated":true,"draw":false,"winner":uid,
                       "players":[{"id":uid,"name":"cat","seat":0}]});
    for _ in 0..2 {
        js.publish("evt.rooms.finished", event.to_string().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    assert_eq!(ws.recv().await["data"], json!({"balance":100,"reason":"grant"}));
    assert_eq!(ws.recv().await["data"], json!({"balance":125,"reason":"reward"}));
    let wallet = ws
        .call(json!({"op":"req","id":"w","subject":"svc.store.wallet"}))
        .await;
    assert_eq!(wallet["data"]["balance"], 125, "{wallet}");
}
