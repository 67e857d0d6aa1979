//! Phones as gamepads on the bus (a real nats-server and Postgres, the worker in-process,
//! callers as a bridge forwards them): a member's code is claimed once by a phone, which is
//! granted the room and steers the member's seat; a wrong, reused or malformed code is
//! refused clearly, floods are rate-limited, and a phone that comes back as a new guest
//! resumes its seat with its secret while the one before it is cut off.

mod common;

use chorus_rooms::Settings;
use common::Stack;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

async fn publish(stack: &Stack, user: &str, rid: &str, input: Value) {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Chorus-User", user);
    headers.insert("Chorus-Ns", "guest");
    stack
        .client
        .publish_with_headers(format!("room.{rid}.input"), headers, input.to_string().into())
        .await
        .unwrap();
}

/// `who`'s disc in the next broadcast that satisfies `want`.
async fn until_player(
    states: &mut async_nats::Subscriber,
    who: &str,
    want: impl Fn(&Value) -> bool,
) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, states.next())
            .await
            .expect("a broadcast")
            .unwrap();
        let broadcast: Value = serde_json::from_slice(&msg.payload).unwrap();
        let players = broadcast["state"]["players"].as_array().unwrap();
        let p = players.iter().find(|p| p["id"] == who).unwrap().clone();
        if want(&p) {
            return p;
        }
    }
}

async fn next_json(sub: &mut async_nats::Subscriber) -> (String, Value) {
    let msg = tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("a message")
        .unwrap();
    (
        msg.subject.to_string(),
        serde_json::from_slice(&msg.payload).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_claims_a_seat_once_steers_it_and_resumes_it() {
    let stack = Stack::start(Settings::for_tests()).await;
    let room = stack.create("arena", &["ann", "bob"], false).await;
    let rid = room["room"].as_str().unwrap().to_string();
    let mut states = stack.client.subscribe(format!("room.{rid}.state")).await.unwrap();
    let mut ctl = stack.client.subscribe("ctl.>").await.unwrap();
    let mut told = stack.client.subscribe("user.ann.pad").await.unwrap();
    chorus_runtime::bus::round_trip(&stack.client, WAIT)
        .await
        .unwrap();

    // Only a member gets a code, for its own seat.
    assert_eq!(
        stack.call("cat", "svc.rooms.pad", json!({"room": rid})).await,
        Err("forbidden".into())
    );
    let pad = stack
        .call("ann", "svc.rooms.pad", json!({"room": rid}))
        .await
        .unwrap();
    let code = pad["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 6);
    assert_eq!(
        (pad["seat"].as_str(), pad["expires_in_ms"].as_u64()),
        (Some("ann"), Some(120_000))
    );

    // Typed in lower case with a dash, it still reads.
    let typed = format!("{}-{}", &code[..3], &code[3..]).to_lowercase();
    let claimed = stack
        .call("g-phone", "svc.rooms.claim", json!({"code": typed}))
        .await
        .unwrap();
    assert_eq!(claimed["room"], rid.as_str());
    assert_eq!(claimed["game"], "arena");
    assert_eq!(claimed["seat"]["id"], "ann");
    let resume = claimed["resume"].as_str().unwrap().to_string();
    let (subject, grant) = next_json(&mut ctl).await;
    assert_eq!(subject, "ctl.grant.g-phone");
    assert_eq!(grant["pub"], json!([format!("room.{rid}.input")]));
    assert_eq!(grant["sub"], json!([format!("room.{rid}.state")]));
    assert_eq!(
        next_json(&mut told).await.1,
        json!({"event": "paired", "pad": "g-phone", "name": "G-PHONE"})
    );
    // The room keeps who steers, hashed secret only, for a replica taking it over.
    let meta = stack.rooms.store.meta(&rid).await.unwrap().unwrap();
    assert_eq!(meta.pads["g-phone"].seat, "ann");
    assert_ne!(meta.pads["g-phone"].resume, resume);

    // Once only; wrong and malformed codes are refused clearly.
    let again = stack
        .call("g-other", "svc.rooms.claim", json!({"code": code}))
        .await;
    assert_eq!(again, Err("not_found".into()));
    assert_eq!(
        stack
            .call("g-other", "svc.rooms.claim", json!({"code": "ZZZZZZ"}))
            .await,
        Err("not_found".into())
    );
    assert_eq!(
        stack
            .call("g-other", "svc.rooms.claim", json!({"code": "0OI1"}))
            .await,
        Err("bad_request".into())
    );
    assert_eq!(
        stack.call("g-other", "svc.rooms.claim", json!({})).await,
        Err("bad_request".into())
    );

    // The phone steers ann's seat; it may read the state, and may not forfeit it.
    let start = until_player(&mut states, "ann", |_| true).await;
    let x0 = start["x"].as_i64().unwrap();
    let dx = if x0 < 320 { 1 } else { -1 };
    publish(&stack, "g-phone", &rid, json!({"n": 1, "dx": dx, "dy": 0})).await;
    let moved = until_player(&mut states, "ann", |p| p["x"].as_i64().unwrap() != x0).await;
    assert_eq!(moved["last_n"], 1);
    let seen = stack
        .call("g-phone", "svc.rooms.state", json!({"room": rid}))
        .await
        .unwrap();
    assert_eq!(seen["room"], rid.as_str());
    assert_eq!(
        stack
            .call("g-phone", "svc.rooms.leave", json!({"room": rid}))
            .await,
        Err("forbidden".into())
    );

    // The phone comes back as a new guest: its secret gives it the seat, the old id is cut off.
    let bad = stack
        .call(
            "g-phone2",
            "svc.rooms.claim",
            json!({"room": rid, "resume": "nope"}),
        )
        .await;
    assert_eq!(bad, Err("not_found".into()));
    let resumed = stack
        .call(
            "g-phone2",
            "svc.rooms.claim",
            json!({"room": rid, "resume": resume}),
        )
        .await
        .unwrap();
    assert_eq!(resumed["seat"]["id"], "ann");
    let mut cut = Vec::new();
    for _ in 0..2 {
        let (subject, _) = next_json(&mut ctl).await;
        cut.push(subject);
    }
    cut.sort();
    assert_eq!(cut, ["ctl.grant.g-phone2", "ctl.revoke.g-phone"]);
    publish(&stack, "g-phone", &rid, json!({"n": 5, "dx": 0, "dy": 1})).await;
    publish(&stack, "g-phone2", &rid, json!({"n": 2, "dx": 0, "dy": 0})).await;
    let stopped = until_player(&mut states, "ann", |p| p["last_n"] == 2).await;
    assert_eq!(
        (stopped["dx"].as_i64(), stopped["dy"].as_i64()),
        (Some(0), Some(0)),
        "the old phone's input was ignored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_plays_a_turn_and_floods_are_rate_limited() {
    let settings = Settings {
        pad_claims_per_min: 3,
        pad_fails_per_sec: 2,
        ..Settings::for_tests()
    };
    let stack = Stack::start(settings).await;
    let room = stack.create("tictactoe", &["ann", "bob"], false).await;
    let rid = room["room"].as_str().unwrap().to_string();
    let code = stack
        .call("ann", "svc.rooms.pad", json!({"room": rid}))
        .await
        .unwrap()["code"]
        .clone();
    stack
        .call("g-tv", "svc.rooms.claim", json!({"code": code}))
        .await
        .unwrap();
    // Ann moves first (the first seat): her phone plays for her.
    let moved = stack
        .call(
            "g-tv",
            "svc.rooms.input",
            json!({"room": rid, "input": {"cell": 4}}),
        )
        .await
        .unwrap();
    assert_eq!(moved["seq"], 1);
    let state = stack
        .call("ann", "svc.rooms.state", json!({"room": rid}))
        .await
        .unwrap();
    assert_eq!(state["state"]["board"][4], "X");

    // Per caller: three claims a minute, whatever they are.
    for _ in 0..2 {
        assert_eq!(
            stack
                .call("g-tv", "svc.rooms.claim", json!({"code": "ZZZZZZ"}))
                .await,
            Err("not_found".into())
        );
    }
    assert_eq!(
        stack
            .call("g-tv", "svc.rooms.claim", json!({"code": "ZZZZZZ"}))
            .await,
        Err("rate_limited".into())
    );
    // Per replica: wrong codes from many callers (fresh guest ids) run out too.
    let mut answers = Vec::new();
    for i in 0..4 {
        answers.push(
            stack
                .call(&format!("g-{i}"), "svc.rooms.claim", json!({"code": "ZZZZZZ"}))
                .await,
        );
    }
    assert!(answers.contains(&Err("rate_limited".into())), "{answers:?}");
}
