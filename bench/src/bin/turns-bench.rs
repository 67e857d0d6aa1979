//! `turns-bench`: turn-based inputs per second through a real bridge, and the latency from
//! sending an input to the other player seeing its state. It starts a nats-server
//! (JetStream, scratch store), one `chorus-rooms` (release build, over `DATABASE_URL`) and
//! one `chorus-bridge` (release build; guests may call `svc.rooms.*`, rate limits out of
//! the way), then runs `--rooms` tic-tac-toe tables in parallel: two guest WebSockets per
//! table, a room made for them on `int.rooms.create` (as the matchmaker does), both
//! subscribed to `room.{rid}.state` once the grant arrived, and a scripted draw of nine
//! `svc.rooms.input` requests, mover after mover; then a new room for the same pair. Each
//! input is timed from its `req` frame to the `msg` frame of `room.{rid}.state` with the
//! matching `seq` on the other player's socket (the moment that player can move); inputs
//! answered after the warm-up count. Room creation and subscription are not timed.
//! Figures are printed, not asserted.

#[allow(dead_code)]
#[path = "../procs.rs"]
mod procs;

use anyhow::{Context, Result, bail};
use chorus_testkit::client::Ws;
use clap::Parser;
use hdrhistogram::Histogram;
use procs::{Server, TempDir, cpu_seconds, free_port};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The policy the bridge runs with: guests may call the rooms; the rooms grant the rest.
const POLICY: &str = r#"{"guest":{"sub":[],"pub":[],"req":["svc.rooms.*"]},"private":{"sub":[],"pub":[],"req":["svc.rooms.*"]}}"#;
/// A game of nine moves that ends in a draw (X on even moves): no line is ever complete.
const DRAW: [u8; 9] = [0, 1, 2, 4, 3, 5, 7, 6, 8];
/// The guests' endpoint.
const PUBLIC: &str = "/core/game/v1/real-time/public";

/// Turn-based inputs through a real bridge (see `bench/README.md`).
#[derive(Parser)]
#[command(name = "turns-bench")]
struct Args {
    /// Tables playing at once (two WebSockets each).
    #[arg(long, default_value_t = 100)]
    rooms: usize,
    /// Seconds measured.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds of play before measuring.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
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
    /// The bridge binary.
    #[arg(long, default_value = "target/release/chorus-bridge")]
    bridge_bin: PathBuf,
    /// Postgres for the rooms worker (every finished room goes there).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
}

/// What every table adds up: input → other player's state latencies (µs), and errors.
struct Tally {
    /// When counting starts (after the warm-up) and stops.
    window: (Instant, Instant),
    /// Latencies of inputs sent inside the window.
    latency: Histogram<u64>,
    /// Inputs refused or otherwise failed inside the window.
    errors: u64,
    /// Games played to the end (any time).
    games: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    procs::raise_nofile_limit();
    let scratch = TempDir::new()?;
    let (nats, nats_url) = procs::jetstream_server(&args.nats_server, scratch.path()).await?;
    let (mut rooms, _) = procs::rooms_replica(
        &args.rooms_bin,
        &nats_url,
        &args.database_url,
        "games",
        &[],
        scratch.path(),
    )
    .await?;
    let policy = scratch.path().join("policy.json");
    std::fs::write(&policy, POLICY)?;
    let http: SocketAddr = ([127, 0, 0, 1], free_port()?).into();
    let bridge_env = [
        ("CHORUS_NATS_URL", nats_url.clone()),
        ("CHORUS_HTTP_ADDR", http.to_string()),
        ("CHORUS_TCP_ADDR", format!("127.0.0.1:{}", free_port()?)),
        ("CHORUS_POLICY", policy.display().to_string()),
        ("CHORUS_MAX_CONNECTIONS", "20000".into()),
        ("CHORUS_RATE_PER_SEC", "100000".into()),
        ("CHORUS_RATE_BURST", "100000".into()),
        ("CHORUS_LOG", "warn".into()),
    ];
    let mut bridge = Server::spawn(
        "chorus-bridge",
        &args.bridge_bin,
        &[],
        &bridge_env,
        scratch.path().join("bridge.log"),
    )?;
    bridge
        .wait_http_ok(http, "/readyz", Duration::from_secs(30))
        .await?;
    let nats_client = async_nats::connect(&nats_url).await?;

    let start = Instant::now() + Duration::from_secs(args.warmup);
    let tally = Arc::new(Mutex::new(Tally {
        window: (start, start + Duration::from_secs(args.seconds)),
        latency: Histogram::new(2)?,
        errors: 0,
        games: 0,
    }));
    let tables: Vec<_> = (0..args.rooms)
        .map(|_| tokio::spawn(table(http, nats_client.clone(), tally.clone())))
        .collect();
    tokio::time::sleep_until(start.into()).await;
    let cpu0 = (
        cpu_seconds(rooms.pid())?,
        cpu_seconds(bridge.pid())?,
        cpu_seconds(nats.pid())?,
    );
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let cpu1 = (
        cpu_seconds(rooms.pid())?,
        cpu_seconds(bridge.pid())?,
        cpu_seconds(nats.pid())?,
    );
    for t in &tables {
        if t.is_finished() {
            bail!("a table stopped early (see the error above)");
        }
        t.abort();
    }
    rooms.check_alive()?;
    bridge.check_alive()?;
    let t = tally.lock().expect("not poisoned");
    let secs = args.seconds as f64;
    let ms = |q: f64| t.latency.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "turn-based rooms: tic-tac-toe, {} tables (2 guest WebSockets each) through one bridge, one rooms replica ({} CPUs here), {} s after {} s warm-up",
        args.rooms,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        args.seconds,
        args.warmup
    );
    println!(
        "inputs/s     {:.0}   (errors {}, games finished {})",
        t.latency.len() as f64 / secs,
        t.errors,
        t.games
    );
    println!(
        "input→state  p50 {:.2}  p99 {:.2}  p999 {:.2}  max {:.2} ms",
        ms(0.5),
        ms(0.99),
        ms(0.999),
        t.latency.max() as f64 / 1000.0
    );
    println!(
        "CPU          rooms {:.0}%  bridge {:.0}%  nats {:.0}%",
        (cpu1.0 - cpu0.0) / secs * 100.0,
        (cpu1.1 - cpu0.1) / secs * 100.0,
        (cpu1.2 - cpu0.2) / secs * 100.0
    );
    Ok(())
}

/// One table: two guests playing game after game until aborted.
async fn table(http: SocketAddr, nats: async_nats::Client, tally: Arc<Mutex<Tally>>) {
    if let Err(e) = play(http, nats, tally).await {
        eprintln!("a table stopped: {e:#}");
    }
}

/// A guest's socket and the ids it has used.
struct Guest {
    ws: Ws,
    id: String,
    next: u64,
}

impl Guest {
    async fn connect(http: SocketAddr) -> Result<Guest> {
        let (ws, welcome) = Ws::connect(http, PUBLIC, &[]).await?;
        let id = welcome["user"]["id"]
            .as_str()
            .context("no user id in the welcome")?
            .to_string();
        Ok(Guest { ws, id, next: 0 })
    }

    /// Sends `frame` with a fresh id and returns that id.
    async fn send(&mut self, mut frame: Value) -> String {
        self.next += 1;
        let id = self.next.to_string();
        frame["id"] = json!(id);
        self.ws.send(frame).await;
        id
    }

    /// Reads until the answer to `id` (skipping room states).
    async fn answer(&mut self, id: &str) -> Value {
        loop {
            let got = self.ws.recv().await;
            if got["op"] != "msg" && got["id"] == id {
                return got;
            }
        }
    }

    /// Reads until the state of `seq` on `subject`.
    async fn state(&mut self, subject: &str, seq: u64) {
        loop {
            let got = self.ws.recv().await;
            if got["op"] == "msg" && got["subject"] == subject && got["data"]["seq"] == seq {
                return;
            }
        }
    }

    /// Subscribes to `subject` once the room's grant has reached the bridge.
    async fn subscribe(&mut self, subject: &str) -> Result<()> {
        for _ in 0..1000 {
            let id = self.send(json!({"op": "sub", "subject": subject})).await;
            let answer = self.answer(&id).await;
            if answer["op"] == "ok" {
                return Ok(());
            }
            tokio::task::yield_now().await;
        }
        bail!("the room's grant never arrived")
    }
}

async fn play(http: SocketAddr, nats: async_nats::Client, tally: Arc<Mutex<Tally>>) -> Result<()> {
    let mut seats = [Guest::connect(http).await?, Guest::connect(http).await?];
    loop {
        let players: Vec<Value> = seats
            .iter()
            .map(|g| json!({"id": g.id, "name": "bench"}))
            .collect();
        let body = json!({"game": "tictactoe", "players": players, "rated": false}).to_string();
        let reply = nats.request("int.rooms.create", body.into()).await?;
        let made: Value = serde_json::from_slice(&reply.payload)?;
        let rid = made["room"].as_str().context("no room made")?.to_string();
        let subject = format!("room.{rid}.state");
        for seat in &mut seats {
            seat.subscribe(&subject).await?;
        }
        for (k, cell) in DRAW.iter().enumerate() {
            let (mover, other) = if k % 2 == 0 { (0, 1) } else { (1, 0) };
            let sent = Instant::now();
            let req = json!({"op": "req", "subject": "svc.rooms.input", "data": {"room": rid, "input": {"cell": cell}}});
            let id = seats[mover].send(req).await;
            seats[other].state(&subject, k as u64 + 1).await;
            let took = sent.elapsed();
            let answer = seats[mover].answer(&id).await;
            let mut t = tally.lock().expect("not poisoned");
            if sent >= t.window.0 && sent < t.window.1 {
                if answer["op"] == "err" {
                    t.errors += 1;
                } else {
                    let _ = t.latency.record(took.as_micros() as u64);
                }
            }
        }
        tally.lock().expect("not poisoned").games += 1;
        for seat in &mut seats {
            let id = seat.send(json!({"op": "unsub", "subject": subject})).await;
            seat.answer(&id).await;
        }
    }
}
