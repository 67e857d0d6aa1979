//! # chorus-bench
//!
//! A fan-out load generator that measures the Chorus bridge side by side with nats-server's
//! own WebSocket listener, in one run: N WebSocket subscribers on one subject, one publisher
//! at a fixed rate, and for each target the delivery rate, completeness, latency, server CPU
//! per delivery and memory per idle connection. It starts every server itself on loopback
//! (free ports, a scratch directory) and stops them at the end. See `bench/README.md`.
//!
//! # Layout
//! - `main.rs`: flags, starting the servers for each target, the order of measurements.
//! - `procs`: child processes (spawn, readiness, kill on drop) and `/proc` readings.
//! - `load`: the load run and the idle-memory run, the same for both targets.
//! - `bridge_client`: the bridge's JSON wire protocol over WebSocket.
//! - `nats_client`: the NATS protocol over nats-server's WebSocket listener.
//! - `ws`: a minimal, allocation-free WebSocket client.
//! - `payload`: the timestamped message and the cheap scan that reads it back.
//! - `stats`: per-subscriber counters, histograms, merged results, the table.

mod bridge_client;
mod load;
mod nats_client;
mod payload;
mod procs;
mod stats;
mod ws;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};

use load::{LoadOpts, Target};
use procs::{Server, TempDir};
use stats::TargetReport;

/// The one subject every subscriber listens on and the publisher publishes to.
pub const SUBJECT: &str = "bench.x";

/// Where the bridge binary is looked for first.
const DEFAULT_BRIDGE_BIN: &str = "target/release/chorus-bridge";

/// The policy the bridge runs with: guests may use `bench.>` (see `bench/policy.json`).
const POLICY_JSON: &str = include_str!("../policy.json");

/// Which servers to measure.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    /// The Chorus bridge (in front of a nats-server).
    Bridge,
    /// nats-server's own WebSocket listener.
    Nats,
    /// Both, bridge first.
    Both,
}

/// Measures the Chorus bridge and nats-server's WebSocket listener side by side: N subscribers
/// on one subject, one publisher at a fixed rate; delivery rate, completeness, latency, server
/// CPU per delivery and memory per idle connection. Starts and stops all servers itself.
#[derive(Parser)]
#[command(name = "chorus-bench", version)]
struct Args {
    /// WebSocket subscribers, all on one subject.
    #[arg(long, env = "CHORUS_BENCH_SUBSCRIBERS", default_value_t = 5000)]
    subscribers: usize,
    /// Messages per second published (each goes to every subscriber).
    #[arg(long, env = "CHORUS_BENCH_RATE", default_value_t = 100.0)]
    rate: f64,
    /// Length of the measuring window, seconds.
    #[arg(long, env = "CHORUS_BENCH_SECONDS", default_value_t = 10.0)]
    seconds: f64,
    /// Publishing before the window opens, seconds.
    #[arg(long, env = "CHORUS_BENCH_WARMUP", default_value_t = 2.0)]
    warmup: f64,
    /// Payload size, bytes.
    #[arg(long, env = "CHORUS_BENCH_SIZE", default_value_t = 100)]
    size: usize,
    /// Idle connections opened for the memory measurement (0 skips it).
    #[arg(long, env = "CHORUS_BENCH_IDLE", default_value_t = 5000)]
    idle: usize,
    /// What to measure.
    #[arg(long, env = "CHORUS_BENCH_TARGET", value_enum, default_value_t = Which::Both)]
    target: Which,
    /// The bridge binary (if the default is absent, `chorus-bridge` beside this binary).
    #[arg(
        long,
        env = "CHORUS_BENCH_BRIDGE_BIN",
        default_value = DEFAULT_BRIDGE_BIN
    )]
    bridge_bin: PathBuf,
    /// The nats-server binary (if absent, tried under the workspace, then on PATH).
    #[arg(
        long,
        env = "CHORUS_NATS_SERVER",
        default_value = ".tools/venv/bin/nats-server"
    )]
    nats_server_bin: PathBuf,
    /// Connection handshakes in flight at once.
    #[arg(long, env = "CHORUS_BENCH_CONNECT_CONCURRENCY", default_value_t = 200)]
    connect_concurrency: usize,
    /// Longest wait after the last publish for in-flight deliveries, seconds.
    #[arg(long, env = "CHORUS_BENCH_DRAIN", default_value_t = 3.0)]
    drain: f64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.rate <= 0.0 || args.seconds <= 0.0 || args.warmup < 0.0 {
        bail!("--rate and --seconds must be positive, --warmup not negative");
    }
    let nofile = procs::raise_nofile_limit();
    let need = args.subscribers.max(args.idle) as u64 + 64;
    if need > nofile {
        bail!("{need} sockets needed but the open-file limit is {nofile}");
    }
    let scenario = format!(
        "scenario: {} subscribers × {} msg/s, {}-byte payloads, {} s (after {} s warm-up); \
         idle: {} connections",
        args.subscribers, args.rate, args.size, args.seconds, args.warmup, args.idle
    );
    eprintln!("{scenario}");
    // Servers are spawned from this (the main) thread: they are told to die with it.
    // On Ctrl-C or SIGTERM the run is dropped, which stops them and removes the scratch dir.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = run(&args, &scenario) => r,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted; stopping servers");
            Ok(())
        }
        _ = term.recv() => {
            eprintln!("terminated; stopping servers");
            Ok(())
        }
    }
}

async fn run(args: &Args, scenario: &str) -> Result<()> {
    let tmp = TempDir::new()?;
    let mut reports = Vec::new();
    if matches!(args.target, Which::Bridge | Which::Both) {
        eprintln!("bridge:");
        reports.push(run_bridge(args, &tmp).await);
    }
    if matches!(args.target, Which::Nats | Which::Both) {
        eprintln!("nats-ws:");
        reports.push(run_nats(args, &tmp).await);
    }
    stats::print_table(scenario, &reports);
    Ok(())
}

fn load_opts(args: &Args) -> LoadOpts {
    LoadOpts {
        subscribers: args.subscribers,
        rate: args.rate,
        warmup: args.warmup,
        seconds: args.seconds,
        size: args.size,
        concurrency: args.connect_concurrency,
        drain: args.drain,
    }
}

/// The bridge target: a nats-server, the bridge in front of it; CPU counts both.
async fn run_bridge(args: &Args, tmp: &TempDir) -> TargetReport {
    let name = "bridge";
    let started = async {
        let (nats, client_port, _) = start_nats(args, tmp, "bridge-nats").await?;
        let bridge_bin = resolve_bridge(&args.bridge_bin)?;
        let http: SocketAddr = format!("127.0.0.1:{}", procs::free_port()?).parse()?;
        let tcp = format!("127.0.0.1:{}", procs::free_port()?);
        let policy = tmp.path().join("policy.json");
        std::fs::write(&policy, POLICY_JSON)?;
        let envs = [
            ("CHORUS_NATS_URL", format!("nats://127.0.0.1:{client_port}")),
            ("CHORUS_HTTP_ADDR", http.to_string()),
            ("CHORUS_TCP_ADDR", tcp),
            ("CHORUS_POLICY", policy.display().to_string()),
            ("CHORUS_MAX_CONNECTIONS", "20000".to_string()),
            ("CHORUS_RATE_PER_SEC", "100000".to_string()),
            ("CHORUS_RATE_BURST", "100000".to_string()),
            ("CHORUS_LOG", "warn".to_string()),
        ];
        let log = tmp.path().join("bridge.log");
        let mut bridge = Server::spawn("chorus-bridge", &bridge_bin, &[], &envs, log)?;
        bridge
            .wait_http_ok(http, "/readyz", Duration::from_secs(30))
            .await?;
        Ok::<_, anyhow::Error>((nats, bridge, http))
    };
    let (mut nats, mut bridge, http) = match started.await {
        Ok(s) => s,
        Err(e) => return failed(name, e),
    };
    let target = Target::Bridge(http);
    let idle = measure_idle(args, target, bridge.pid(), Some(nats.pid())).await;
    let pids = [bridge.pid(), nats.pid()];
    let load = load::run_load(target, load_opts(args), &pids).await;
    let alive = bridge.check_alive().and_then(|_| nats.check_alive());
    report(name, load, idle, alive)
}

/// The nats target: one nats-server, clients on its WebSocket listener.
async fn run_nats(args: &Args, tmp: &TempDir) -> TargetReport {
    let name = "nats-ws";
    let (mut nats, _, ws) = match start_nats(args, tmp, "nats").await {
        Ok(s) => s,
        Err(e) => return failed(name, e),
    };
    let target = Target::Nats(ws);
    let idle = measure_idle(args, target, nats.pid(), None).await;
    let load = load::run_load(target, load_opts(args), &[nats.pid()]).await;
    let alive = nats.check_alive();
    report(name, load, idle, alive)
}

async fn measure_idle(args: &Args, target: Target, pid: u32, nats: Option<u32>) -> Result<stats::IdleResult> {
    if args.idle == 0 {
        bail!("skipped (--idle 0)");
    }
    load::run_idle(target, args.idle, args.connect_concurrency, pid, nats).await
}

fn report(
    name: &'static str,
    load: Result<stats::LoadResult>,
    idle: Result<stats::IdleResult>,
    alive: Result<()>,
) -> TargetReport {
    let load = match (load, alive) {
        (Ok(l), Ok(())) => Ok(l),
        (Ok(_), Err(e)) => Err(format!("server died during the run: {e:#}")),
        (Err(e), _) => Err(format!("{e:#}")),
    };
    TargetReport {
        name,
        load,
        idle: idle.map_err(|e| format!("{e:#}")),
    }
}

fn failed(name: &'static str, e: anyhow::Error) -> TargetReport {
    eprintln!("  {name} failed to start: {e:#}");
    TargetReport {
        name,
        load: Err(format!("not started: {e:#}")),
        idle: Err("not started".into()),
    }
}

/// Starts a nats-server with a WebSocket listener; returns it, its client port and the
/// WebSocket address.
async fn start_nats(args: &Args, tmp: &TempDir, name: &str) -> Result<(Server, u16, SocketAddr)> {
    let bin = resolve_nats(&args.nats_server_bin)?;
    let client_port = procs::free_port()?;
    let ws_port = procs::free_port()?;
    let store = tmp.path().join(format!("{name}-js"));
    let conf = tmp.path().join(format!("{name}.conf"));
    std::fs::write(
        &conf,
        format!(
            "listen: 127.0.0.1:{client_port}\n\
             jetstream {{ store_dir: \"{}\" }}\n\
             websocket {{\n  host: 127.0.0.1\n  port: {ws_port}\n  no_tls: true\n}}\n",
            store.display()
        ),
    )?;
    let conf_arg = conf.display().to_string();
    let log = tmp.path().join(format!("{name}.log"));
    let mut server = Server::spawn("nats-server", &bin, &["-c", &conf_arg], &[], log)?;
    let ws: SocketAddr = format!("127.0.0.1:{ws_port}").parse()?;
    server
        .wait_tcp(
            format!("127.0.0.1:{client_port}").parse()?,
            Duration::from_secs(15),
        )
        .await?;
    server.wait_tcp(ws, Duration::from_secs(15)).await?;
    Ok((server, client_port, ws))
}

fn resolve_bridge(given: &Path) -> Result<PathBuf> {
    if given.exists() {
        return Ok(given.to_path_buf());
    }
    let beside = std::env::current_exe()?.with_file_name("chorus-bridge");
    // Only the default path falls back: an explicit one that is missing is a mistake.
    if given == Path::new(DEFAULT_BRIDGE_BIN) && beside.exists() {
        return Ok(beside);
    }
    bail!(
        "no bridge binary at {} (build it: cargo build --release -p chorus-bridge)",
        given.display()
    )
}

fn resolve_nats(given: &Path) -> Result<PathBuf> {
    if given.exists() {
        return Ok(given.to_path_buf());
    }
    let in_workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(given);
    if given.is_relative() && in_workspace.exists() {
        return Ok(in_workspace);
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("nats-server"))
        .find(|p| p.exists());
    on_path.with_context(|| {
        format!(
            "no nats-server at {} nor on PATH (set CHORUS_NATS_SERVER)",
            given.display()
        )
    })
}
