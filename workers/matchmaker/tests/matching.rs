//! Matching over a real nats-server: two replicas and 200 players, each matched exactly
//! once; far-apart ratings only once the window has widened; players waiting on while no
//! rooms worker answers.

mod support;

use async_nats::jetstream::kv;
use chorus_testkit::NatsServer;
use futures_util::StreamExt;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use support::{bucket, fake_rooms, join, replica, replica_metered, settings};

/// The next `n` match notices on `user.*.match`, as (uid, notice, when it arrived).
async fn notices(sub: &mut async_nats::Subscriber, n: usize) -> Vec<(String, Value, Instant)> {
    let mut out = Vec::new();
    while out.len() < n {
        let msg = tokio::time::timeout(Duration::from_secs(30), sub.next())
            .await
            .expect("matched in time")
            .unwrap();
        let uid = msg.subject.split('.').nth(1).unwrap().to_string();
        out.push((uid, serde_json::from_slice(&msg.payload).unwrap(), Instant::now()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_match_200_players_each_exactly_once() {
    let server = NatsServer::start().await;
    let nats = async_nats::connect(server.url()).await.unwrap();
    let ratings: HashMap<String, f64> = (0..200)
        .map(|i| (format!("u{i}"), 1400.0 + (i % 40) as f64 * 5.0))
        .collect();
    let mut creates = fake_rooms(&nats, ratings).await;
    let mut told = nats.subscribe("user.*.match").await.unwrap();
    replica(&server, settings()).await;
    replica(&server, settings()).await;
    // Watch who claims tickets: both replicas should have taken part.
    let mut changes = bucket(&nats).await.watch("ticket.>").await.unwrap();

    let joins = (0..200).map(|i| {
        let nats = nats.clone();
        async move { join(&nats, &format!("u{i}"), "tictactoe").await.unwrap() }
    });
    futures_util::future::join_all(joins).await;

    let got = notices(&mut told, 200).await;
    let mut rooms: HashMap<String, Vec<String>> = HashMap::new();
    let mut seen = HashSet::new();
    for (uid, notice, _) in &got {
        assert!(seen.insert(uid.clone()), "{uid} told twice");
        let players: Vec<&str> = notice["players"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        assert_eq!(players.len(), 2, "{notice}");
        assert!(players.contains(&uid.as_str()), "{notice}");
        assert_eq!(notice["game"], "tictactoe");
        let seat = notice["seat"].as_u64().unwrap() as usize;
        assert_eq!(players[seat], uid, "the seat is the player's own: {notice}");
        rooms
            .entry(notice["room"].as_str().unwrap().to_string())
            .or_default()
            .push(uid.clone());
    }
    assert_eq!(seen.len(), 200);
    assert_eq!(rooms.len(), 100, "one room per pair");
    // The rooms worker was asked for exactly those 100 rooms, each player once, all rated.
    let mut in_rooms = HashSet::new();
    for _ in 0..100 {
        let create = creates.recv().await.unwrap();
        assert_eq!(create["rated"], true);
        for p in create["players"].as_array().unwrap() {
            assert!(
                in_rooms.insert(p["id"].as_str().unwrap().to_string()),
                "{p} in two rooms"
            );
        }
    }
    assert_eq!(in_rooms, seen);
    assert!(creates.try_recv().is_err(), "no room beyond the 100");

    // Each ticket was deleted once it was matched (before its player was told), and both
    // replicas claimed some: they really raced for the same queue.
    let mut claimers = HashSet::new();
    let mut deleted = HashSet::new();
    while deleted.len() < 200 {
        let e = changes.next().await.unwrap().unwrap();
        if e.operation == kv::Operation::Put {
            let t: Value = serde_json::from_slice(&e.value).unwrap();
            if let Some(by) = t["claim"]["by"].as_str() {
                claimers.insert(by.to_string());
            }
        } else {
            assert!(deleted.insert(e.key.clone()), "{} deleted twice", e.key);
        }
    }
    let left: Vec<String> = bucket(&nats)
        .await
        .keys()
        .await
        .unwrap()
        .map(|k| k.unwrap())
        .collect()
        .await;
    assert!(
        left.iter().all(|k| !k.starts_with("ticket.")),
        "tickets left: {left:?}"
    );
    assert_eq!(claimers.len(), 2, "both replicas matched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn far_apart_ratings_are_matched_only_once_the_window_has_widened() {
    let server = NatsServer::start().await;
    let nats = async_nats::connect(server.url()).await.unwrap();
    let ratings = HashMap::from([
        ("low".to_string(), 1000.0),
        ("high".to_string(), 1600.0),
        ("mid1".to_string(), 1300.0),
        ("mid2".to_string(), 1350.0),
    ]);
    let _creates = fake_rooms(&nats, ratings).await;
    let mut told = nats.subscribe("user.*.match").await.unwrap();
    // Window: 100, +400 a second: 600 apart needs 1.25 s of waiting.
    let mut s = settings();
    s.window.widen_per_sec = 400.0;
    replica(&server, s.clone()).await;
    replica(&server, s).await;

    let joined = Instant::now();
    for uid in ["low", "high", "mid1", "mid2"] {
        join(&nats, uid, "tictactoe").await.unwrap();
    }
    let got = notices(&mut told, 4).await;
    let partner = |uid: &str| {
        let (_, n, at) = got.iter().find(|(u, _, _)| u == uid).unwrap();
        let other = n["players"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .find(|p| p != uid);
        (other.unwrap(), at.duration_since(joined))
    };
    let (mid_partner, mid_after) = partner("mid1");
    let (low_partner, low_after) = partner("low");
    assert_eq!(mid_partner, "mid2");
    assert_eq!(low_partner, "high");
    // 1000 and 1300 are 300 apart: had mid1 been free at 0.5 s it would have taken low.
    assert!(
        mid_after < Duration::from_millis(500),
        "near ratings at once: {mid_after:?}"
    );
    assert!(
        low_after >= Duration::from_millis(1200),
        "far ratings too early: {low_after:?}"
    );
    assert!(
        low_after < Duration::from_secs(5),
        "far ratings never matched: {low_after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_rooms_worker_players_wait_on_and_are_matched_when_it_comes() {
    let server = NatsServer::start().await;
    let nats = async_nats::connect(server.url()).await.unwrap();
    let mut told = nats.subscribe("user.*.match").await.unwrap();
    let metrics = replica_metered(&server, settings()).await;
    // Guests: unrated, no rating asked for.
    let a = join(&nats, "g-a", "tictactoe").await.unwrap();
    join(&nats, "g-b", "tictactoe").await.unwrap();
    // The round finds the pair, claims it, finds no rooms worker and releases it: the
    // tickets go claimed and back, with their place in time kept.
    let kv = bucket(&nats).await;
    let mut a_ticket = kv.watch_with_history("ticket.g-a").await.unwrap();
    let mut released = false;
    let mut was_claimed = false;
    while !released {
        let e = a_ticket.next().await.unwrap().unwrap();
        let t: Value = serde_json::from_slice(&e.value).unwrap();
        assert_eq!(t["queued_at"], a["queued_at"], "the wait's start is kept");
        was_claimed |= !t["claim"].is_null();
        released = was_claimed && t["claim"].is_null();
    }
    let mut creates = fake_rooms(&nats, HashMap::new()).await;
    let got = notices(&mut told, 2).await;
    assert_eq!(got[0].1["room"], got[1].1["room"]);
    let create = creates.recv().await.unwrap();
    assert_eq!(create["rated"], false, "guests play unrated");
    assert_eq!(create["game"], "tictactoe");
    // Timed: the failed and the good request for a room, the bucket, and both players' wait.
    let rooms = |result| format!(r#"worker="mm",subject="int.rooms.create",result="{result}""#);
    let asked = |result| metrics.histogram_count("chorus_worker_nats_request_seconds", &rooms(result));
    assert!(asked("no_responders") >= 1);
    assert_eq!(asked("ok"), 1);
    let reads = r#"worker="mm",bucket="mm",op="get""#;
    assert!(
        metrics.histogram_count("chorus_worker_kv_seconds", reads) >= 2,
        "a join reads first"
    );
    assert_eq!(
        metrics.histogram_count("chorus_worker_mm_wait_seconds", r#"worker="mm""#),
        2
    );
}
