//! `rooms-bench`: realtime rooms at their tick rate on one `chorus-rooms` replica. It starts
//! a nats-server (JetStream, scratch store) and one `chorus-rooms` (release build, over
//! `DATABASE_URL`), then for each level of `--rooms` (500, 1000, 2000 by default) adds arena
//! rooms of `--players` players until that many run, lets them settle, and measures for
//! `--seconds`: how late ticks start (p50/p99, from the worker's
//! `chorus_worker_rooms_tick_lateness_seconds` histogram, interpolated in its buckets), the
//! CPU the rooms replica and nats-server used, and what was broadcast. Bots publish one
//! input per room every `--input-every-ms` (as the bridge forwards a `pub` frame), so the
//! log takes appends as in a real game. Figures are printed, not asserted.

#[allow(dead_code)]
#[path = "../procs.rs"]
mod procs;

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures_util::StreamExt;
use procs::{TempDir, cpu_seconds};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Realtime rooms on one replica: tick lateness and CPU (see `bench/README.md`).
#[derive(Parser)]
#[command(name = "rooms-bench")]
struct Args {
    /// Room counts to measure, in order (rooms are added between levels).
    #[arg(long, value_delimiter = ',', default_value = "500,1000,2000")]
    rooms: Vec<usize>,
    /// Players per arena room.
    #[arg(long, default_value_t = 4)]
    players: usize,
    /// Seconds measured per level.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds between reaching a level and measuring it.
    #[arg(long, default_value_t = 2)]
    settle: u64,
    /// One bot input per room this often, in ms (0: none).
    #[arg(long, default_value_t = 500)]
    input_every_ms: u64,
    /// Tick threads of the replica (default: its own, one per core).
    #[arg(long)]
    tick_threads: Option<usize>,
    /// The nats-server to start.
    #[arg(
        long,
        env = "CHORUS_NATS_SERVER",
        default_value = ".tools/venv/bin/nats-server"
    )]
    nats_server: PathBuf,
    /// The rooms binary.
    #[arg(long, default_value = "target/release/chorus-rooms")]
    rooms_bin: PathBuf,
    /// Whose arena rules run: `native` (the Rust twin of games/arena.js, which the replica
    /// picks for the shipped file) or `js` (the file itself in QuickJS: the bench gives the
    /// replica a copy with one comment added, so its hash no longer matches the twin's).
    #[arg(long, value_parser = ["native", "js"], default_value = "native")]
    rules: String,
    /// Postgres for the replica (finished rooms go there).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
}

/// Cumulative bucket counts of the lateness histogram: (upper bound s, count).
fn lateness_buckets(metrics: &str) -> Vec<(f64, u64)> {
    metrics
        .lines()
        .filter(|l| l.starts_with("chorus_worker_rooms_tick_lateness_seconds_bucket"))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, l.rsplit(' ').next()?.parse().ok()?))
        })
        .collect()
}

/// The `q` quantile of the ticks between two scrapes, interpolated within its bucket (ms).
fn quantile_ms(before: &[(f64, u64)], after: &[(f64, u64)], q: f64) -> (f64, u64) {
    let counts: Vec<(f64, u64)> = after
        .iter()
        .zip(before.iter().chain(std::iter::repeat(&(0.0, 0))))
        .map(|(a, b)| (a.0, a.1 - b.1))
        .collect();
    let total = counts.last().map_or(0, |c| c.1);
    let want = (q * total as f64).ceil() as u64;
    let mut lower = (0.0, 0);
    for &(le, n) in &counts {
        if n >= want {
            let upper = if le.is_finite() { le } else { lower.0 * 2.0 };
            let share = if n > lower.1 {
                (want - lower.1) as f64 / (n - lower.1) as f64
            } else {
                1.0
            };
            return ((lower.0 + (upper - lower.0) * share) * 1000.0, total);
        }
        lower = (le, n);
    }
    (f64::NAN, total)
}

async fn scrape(addr: SocketAddr) -> Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    Ok(out)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let scratch = TempDir::new()?;
    let (nats, nats_url) = procs::jetstream_server(&args.nats_server, scratch.path()).await?;
    let games = match args.rules.as_str() {
        "js" => {
            let dir = scratch.path().join("games");
            std::fs::create_dir_all(&dir)?;
            let source = std::fs::read_to_string("games/arena.js")?;
            std::fs::write(dir.join("arena.js"), source + "\n// rooms-bench --rules js\n")?;
            dir.to_string_lossy().into_owned()
        }
        _ => "games".to_string(),
    };
    let mut extra = vec![("CHORUS_LOG", "warn,chorus_games=info".to_string())];
    if let Some(t) = args.tick_threads {
        extra.push(("CHORUS_ROOMS_TICK_THREADS", t.to_string()));
    }
    let (mut rooms, http) = procs::rooms_replica(
        &args.rooms_bin,
        &nats_url,
        &args.database_url,
        &games,
        &extra,
        scratch.path(),
    )
    .await?;
    // The replica says which rules it loaded for the arena; the figures are for those.
    let log = std::fs::read_to_string(scratch.path().join("rooms.log")).unwrap_or_default();
    let loaded = log
        .lines()
        .filter(|l| l.contains("game loaded") && l.contains("arena"))
        .find_map(|l| l.split("implementation=").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("unknown")
        .trim_matches('"')
        .to_string();
    let want = if args.rules == "js" {
        "javascript"
    } else {
        "native"
    };
    anyhow::ensure!(
        loaded == want,
        "the replica runs the arena as {loaded}, not {want}"
    );
    let client = async_nats::connect(&nats_url).await?;

    let broadcasts = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let mut states = client.subscribe("room.*.state").await?;
    let (b, n) = (broadcasts.clone(), bytes.clone());
    tokio::spawn(async move {
        while let Some(msg) = states.next().await {
            b.fetch_add(1, Ordering::Relaxed);
            n.fetch_add(msg.payload.len() as u64, Ordering::Relaxed);
        }
    });

    println!(
        "realtime rooms: arena ({} rules), {} players, 20 Hz, one input per room every {} ms, one replica ({} CPUs here)",
        args.rules,
        args.players,
        args.input_every_ms,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:>6} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>8}",
        "rooms", "ticks/s", "p50 ms", "p99 ms", "rooms CPU", "nats CPU", "bcast/s", "bytes"
    );
    let mut made: Vec<String> = Vec::new();
    let mut bots: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    for &level in &args.rooms {
        let created = futures_util::stream::iter(made.len()..level)
            .map(|i| {
                let client = client.clone();
                let players: Vec<Value> = (0..args.players)
                    .map(|p| json!({"id": format!("b{i}x{p}"), "name": format!("bot {i}.{p}")}))
                    .collect();
                async move {
                    let body = json!({"game": "arena", "players": players}).to_string();
                    let reply = client.request("int.rooms.create", body.into()).await?;
                    let v: Value = serde_json::from_slice(&reply.payload)?;
                    let rid = v["room"]
                        .as_str()
                        .map(str::to_string)
                        .context("no room in the reply")?;
                    Ok((i, rid))
                }
            })
            .buffer_unordered(32)
            .collect::<Vec<Result<(usize, String)>>>()
            .await;
        for rid in created {
            let (index, rid) = rid?;
            if args.input_every_ms > 0 {
                bots.push(tokio::spawn(bot(
                    client.clone(),
                    rid.clone(),
                    index,
                    args.players,
                    args.input_every_ms,
                )));
            }
            made.push(rid);
        }
        tokio::time::sleep(Duration::from_secs(args.settle)).await;
        rooms.check_alive()?;
        let (m0, r0, n0, b0, y0) = (
            lateness_buckets(&scrape(http).await?),
            cpu_seconds(rooms.pid())?,
            cpu_seconds(nats.pid())?,
            broadcasts.load(Ordering::Relaxed),
            bytes.load(Ordering::Relaxed),
        );
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(args.seconds)).await;
        let secs = t0.elapsed().as_secs_f64();
        let m1 = lateness_buckets(&scrape(http).await?);
        let (r1, n1) = (cpu_seconds(rooms.pid())?, cpu_seconds(nats.pid())?);
        let (b1, y1) = (broadcasts.load(Ordering::Relaxed), bytes.load(Ordering::Relaxed));
        if m1.is_empty() {
            bail!("no lateness histogram on /metrics");
        }
        let (p50, ticks) = quantile_ms(&m0, &m1, 0.50);
        let (p99, _) = quantile_ms(&m0, &m1, 0.99);
        println!(
            "{:>6} {:>9.0} {:>9.2} {:>9.2} {:>9.0}% {:>9.0}% {:>10.0} {:>8.0}",
            level,
            ticks as f64 / secs,
            p50,
            p99,
            (r1 - r0) / secs * 100.0,
            (n1 - n0) / secs * 100.0,
            (b1 - b0) as f64 / secs,
            (y1 - y0) as f64 / (b1 - b0).max(1) as f64,
        );
    }
    for bot in bots {
        bot.abort();
    }
    Ok(())
}

/// Steers the players of room `rid` (the `index`th made) in turn, one input every
/// `every_ms`, with growing input numbers.
async fn bot(client: async_nats::Client, rid: String, index: usize, players: usize, every_ms: u64) {
    let subject = format!("room.{rid}.input");
    let mut every = tokio::time::interval(Duration::from_millis(every_ms));
    let mut n = 0u64;
    loop {
        every.tick().await;
        n += 1;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(
            "Chorus-User",
            format!("b{index}x{}", n as usize % players).as_str(),
        );
        let dir = |k: u64| (k % 3) as i64 - 1;
        let body = json!({"n": n, "dx": dir(n), "dy": dir(n / 3)}).to_string();
        let _ = client
            .publish_with_headers(subject.clone(), headers, body.into())
            .await;
    }
}
