//! `mm-bench`: the time to match 10,000 queued players.
//!
//! 1. The default matcher alone: one rating-window pass over N waiting players (ratings
//!    spread over 1000..2000, waits over 0..30 s), in memory.
//! 2. The whole matchmaker on a private nats-server: N tickets written into the `mm`
//!    bucket first, then R replicas started; timed from their start until every player has
//!    been told their match on `user.{uid}.match`. A stand-in rooms worker (a plain NATS
//!    responder) answers `int.rooms.create` at once, so the figure is the matchmaker's.
//!
//! Usage: `target/release/mm-bench [players=10000] [replicas=1]`. nats-server comes from
//! `CHORUS_NATS_SERVER` (else `.tools/venv/bin/nats-server`, else `PATH`).

use chorus_matchmaker::matcher::{Matcher, RatingWindow, Seats, Waiting};
use chorus_matchmaker::queue::Queue;
use chorus_matchmaker::ticket::{Ticket, now_ms};
use chorus_matchmaker::{Catalog, Settings};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A reproducible spread of ratings and waits: (rating, waited ms) of player `i`.
fn player(i: u64) -> (f64, u64) {
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (1000.0 + (h >> 40) as f64 % 1000.0, (h >> 8) % 30_000)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let n = args.first().copied().unwrap_or(10_000);
    let replicas = args.get(1).copied().unwrap_or(1).max(1);
    let settings = Settings::with_games("tictactoe=2")?;
    let seats = Seats { min: 2, max: 2 };

    // 1. The matcher alone.
    let waiting: Vec<Waiting> = (0..n)
        .map(|i| {
            let (rating, waited) = player(i);
            Waiting {
                user: format!("u{i}"),
                name: format!("u{i}"),
                rating,
                waited: Duration::from_millis(waited),
                rated: true,
            }
        })
        .collect();
    let started = Instant::now();
    let groups = RatingWindow(settings.window).groups(seats, &waiting);
    let pass = started.elapsed();
    println!(
        "matcher: {n} players -> {} pairs in one pass: {:.1} ms",
        groups.len(),
        pass.as_secs_f64() * 1e3
    );

    // 2. The whole matchmaker.
    let server = chorus_testkit::NatsServer::start().await;
    let nats = async_nats::connect(server.url()).await?;
    let js = async_nats::jetstream::new(nats.clone());
    let queue = Queue::open(&js, &settings).await?;
    let started = Instant::now();
    let now = now_ms();
    futures_util::stream::iter(0..n)
        .map(|i| {
            let queue = queue.clone();
            async move {
                let (rating, waited) = player(i);
                let ticket = Ticket {
                    id: format!("{i:016x}"),
                    game: "tictactoe".into(),
                    user: format!("u{i}"),
                    name: format!("u{i}"),
                    conn: format!("c{i}"),
                    rating,
                    rated: true,
                    queued_at: now - waited,
                    claim: None,
                };
                queue.write(&ticket, 0).await
            }
        })
        .buffer_unordered(256)
        .for_each(|written| async move {
            written.expect("ticket written").expect("a fresh key");
        })
        .await;
    println!(
        "queue: {n} tickets written in {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );

    let mut creates = nats.subscribe("int.rooms.create").await?;
    let responder = nats.clone();
    tokio::spawn(async move {
        let mut rooms = 0u64;
        while let Some(msg) = creates.next().await {
            rooms += 1;
            let ask: Value = serde_json::from_slice(&msg.payload).unwrap_or_default();
            let players: Vec<Value> = ask["players"].as_array().cloned().unwrap_or_default();
            let seated: Vec<Value> = players
                .iter()
                .enumerate()
                .map(|(seat, p)| json!({"id": p["id"], "name": p["name"], "seat": seat}))
                .collect();
            let room = json!({"room": format!("r{rooms}"), "game": ask["game"], "players": seated});
            if let Some(reply) = msg.reply {
                let _ = responder.publish(reply, room.to_string().into()).await;
            }
        }
    });
    let mut told = nats.subscribe("user.*.match").await?;
    nats.flush().await?;

    let started = Instant::now();
    for _ in 0..replicas {
        let client = async_nats::connect(server.url()).await?;
        let catalog = Catalog::new(&settings);
        chorus_matchmaker::spawn_in_process(client, settings.clone(), catalog).await?;
    }
    let mut matched = 0;
    let mut half = None;
    while matched < n {
        let next = tokio::time::timeout(Duration::from_secs(120), told.next()).await;
        let Ok(Some(_)) = next else {
            anyhow::bail!("only {matched} of {n} matched in time");
        };
        matched += 1;
        if matched == n / 2 {
            half = Some(started.elapsed());
        }
    }
    let all = started.elapsed();
    println!(
        "matchmaker: {n} queued players matched by {replicas} replica(s): half in {:.0} ms, all in {:.0} ms ({:.0} players/s)",
        half.unwrap_or_default().as_secs_f64() * 1e3,
        all.as_secs_f64() * 1e3,
        n as f64 / all.as_secs_f64()
    );
    Ok(())
}
