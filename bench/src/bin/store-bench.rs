//! `store-bench`: purchases per second through the bridge, with a distinct idempotency key
//! each, and their latency (p50/p99/p999), against a running platform (`scripts/run`).
//!
//! It signs up `--users` users, opens `--conns` TCP-line connections per user (each
//! authenticated with the user's token), and keeps `--depth` `svc.store.buy` requests in
//! flight on each for `--warmup` + `--seconds`, counting only the answers that arrive
//! after the warm-up. Purchases of one user queue on that user's wallet lock; different
//! users' purchases run side by side. See `bench/README.md` ("The store") for the platform
//! settings a run needs (a starting balance that does not run out, the bridge's per
//! connection rate limit out of the way).

use anyhow::{Context, Result, bail};
use clap::Parser;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// Purchases per second through the bridge, and their p99 (see `bench/README.md`).
#[derive(Parser)]
#[command(name = "store-bench")]
struct Args {
    /// The bridge's TCP line address.
    #[arg(long, env = "CHORUS_TCP_ADDR", default_value = "127.0.0.1:7070")]
    tcp: String,
    /// Users buying (each signs up first).
    #[arg(long, env = "CHORUS_BENCH_USERS", default_value_t = 8)]
    users: usize,
    /// Connections per user.
    #[arg(long, env = "CHORUS_BENCH_CONNS", default_value_t = 2)]
    conns: usize,
    /// Purchases in flight per connection (the bridge allows 32).
    #[arg(long, env = "CHORUS_BENCH_DEPTH", default_value_t = 4)]
    depth: usize,
    /// Seconds measured.
    #[arg(long, env = "CHORUS_BENCH_SECONDS", default_value_t = 10)]
    seconds: u64,
    /// Seconds of load before measuring.
    #[arg(long, env = "CHORUS_BENCH_WARMUP", default_value_t = 2)]
    warmup: u64,
    /// The good bought (one without a per-user limit).
    #[arg(long, env = "CHORUS_BENCH_GOOD", default_value = "confetti")]
    good: String,
}

/// One connection speaking JSON lines.
struct Line {
    /// Frames from the bridge.
    rd: Lines<BufReader<OwnedReadHalf>>,
    /// Frames to it.
    wr: OwnedWriteHalf,
}

impl Line {
    async fn connect(addr: &str) -> Result<Line> {
        let (rd, wr) = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to the bridge at {addr} (is scripts/run up?)"))?
            .into_split();
        Ok(Line {
            rd: BufReader::new(rd).lines(),
            wr,
        })
    }

    async fn send(&mut self, v: &Value) -> Result<()> {
        let mut line = v.to_string();
        line.push('\n');
        Ok(self.wr.write_all(line.as_bytes()).await?)
    }

    async fn recv(&mut self) -> Result<Value> {
        let next = tokio::time::timeout(Duration::from_secs(30), self.rd.next_line()).await;
        match next.context("no frame for 30 s")?? {
            Some(line) => Ok(serde_json::from_str(&line)?),
            None => bail!("the bridge closed the connection"),
        }
    }

    /// Sends `v` and returns the `reply` or `err` with its id.
    async fn call(&mut self, v: Value) -> Result<Value> {
        self.send(&v).await?;
        loop {
            let frame = self.recv().await?;
            if frame["id"] == v["id"] && frame["op"] != "welcome" {
                return Ok(frame);
            }
        }
    }
}

/// Signs `name` up and logs in on a guest connection; the access token.
async fn sign_in(addr: &str, name: &str) -> Result<String> {
    let mut guest = Line::connect(addr).await?;
    let data = json!({"name": name, "password": "bench-password"});
    let signup = guest
        .call(json!({"op":"req","id":"s","subject":"svc.accounts.signup","data":data}))
        .await?;
    if signup["op"] != "reply" {
        bail!("sign-up of {name}: {signup}");
    }
    let login = guest
        .call(json!({"op":"req","id":"l","subject":"svc.accounts.login","data":data}))
        .await?;
    login["data"]["access_token"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("login of {name}: {login}"))
}

/// What one connection counted after the warm-up.
#[derive(Default)]
struct Counts {
    ok: u64,
    conflict: u64,
    other: u64,
    latency_us: Option<Histogram<u64>>,
}

/// Buys on `line` with `depth` in flight until `end`, recording answers after `measure_from`.
async fn load(
    mut line: Line,
    tag: String,
    good: Arc<str>,
    depth: usize,
    measure_from: Instant,
    end: Instant,
) -> Result<Counts> {
    let mut counts = Counts {
        latency_us: Some(Histogram::new_with_bounds(1, 60_000_000, 3)?),
        ..Counts::default()
    };
    let (mut sent, mut inflight) = (0u64, HashMap::new());
    // The next purchase's frame, its send time noted.
    let mut buy = |inflight: &mut HashMap<String, Instant>| {
        sent += 1;
        let id = sent.to_string();
        let data = json!({"good": &*good, "idempotency_key": format!("{tag}-{sent}")});
        inflight.insert(id.clone(), Instant::now());
        json!({"op":"req","id":id,"subject":"svc.store.buy","data":data})
    };
    for _ in 0..depth {
        line.send(&buy(&mut inflight)).await?;
    }
    while !inflight.is_empty() {
        let frame = line.recv().await?;
        let Some(started) = frame["id"].as_str().and_then(|id| inflight.remove(id)) else {
            continue;
        };
        let now = Instant::now();
        if now >= measure_from && now < end {
            match (frame["op"].as_str(), frame["code"].as_str()) {
                (Some("reply"), _) => counts.ok += 1,
                (_, Some("conflict")) => counts.conflict += 1,
                _ => counts.other += 1,
            }
            let h = counts.latency_us.as_mut().expect("set");
            h.saturating_record((now - started).as_micros() as u64);
        }
        if now < end {
            line.send(&buy(&mut inflight)).await?;
        }
    }
    Ok(counts)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let run = format!(
        "{:x}",
        std::process::id() ^ Instant::now().elapsed().subsec_nanos()
    );
    let mut lines = Vec::new();
    let signing_in = Instant::now();
    for u in 0..args.users {
        let token = sign_in(&args.tcp, &format!("sb{run}u{u}")).await?;
        for c in 0..args.conns {
            let mut line = Line::connect(&args.tcp).await?;
            line.send(&json!({"op":"auth","token":token})).await?;
            let welcome = line.recv().await?;
            if welcome["user"]["ns"] != "private" {
                bail!("auth: {welcome}");
            }
            let first = line
                .call(json!({"op":"req","id":"w","subject":"svc.store.wallet"}))
                .await?;
            if first["op"] != "reply" {
                bail!("svc.store.wallet: {first} (is chorus-store running?)");
            }
            lines.push((line, format!("{run}-{u}-{c}")));
        }
    }
    eprintln!(
        "store-bench: {} users signed in, {} connections open, in {:.1} s",
        args.users,
        lines.len(),
        signing_in.elapsed().as_secs_f64()
    );
    let good: Arc<str> = args.good.as_str().into();
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(args.warmup);
    let end = measure_from + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = lines
        .into_iter()
        .map(|(line, tag)| tokio::spawn(load(line, tag, good.clone(), args.depth, measure_from, end)))
        .collect();
    let mut total = Counts {
        latency_us: Some(Histogram::new_with_bounds(1, 60_000_000, 3)?),
        ..Counts::default()
    };
    for t in tasks {
        let c = t.await??;
        total.ok += c.ok;
        total.conflict += c.conflict;
        total.other += c.other;
        total
            .latency_us
            .as_mut()
            .expect("set")
            .add(c.latency_us.expect("set"))?;
    }
    let h = total.latency_us.expect("set");
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "store-bench: {} connections ({} users x {}), {} in flight each, good {}, {} s after {} s warm-up",
        args.users * args.conns,
        args.users,
        args.conns,
        args.depth,
        args.good,
        args.seconds,
        args.warmup
    );
    println!(
        "purchases/s  {:.1}   (ok {}, conflict {}, other errors {})",
        total.ok as f64 / args.seconds as f64,
        total.ok,
        total.conflict,
        total.other
    );
    println!(
        "latency ms   p50 {:.2}  p99 {:.2}  p999 {:.2}  max {:.2}",
        ms(0.5),
        ms(0.99),
        ms(0.999),
        h.max() as f64 / 1000.0
    );
    if total.conflict + total.other > 0 {
        println!("warning: not every purchase succeeded: raise CHORUS_STORE_STARTING_BALANCE (README)");
    }
    Ok(())
}
