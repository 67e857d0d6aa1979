//! The two measurements, identical for either target: the fan-out load run (subscribers,
//! one paced publisher, a measuring window, CPU readings, a drain) and the idle-connection
//! memory reading.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;

use crate::stats::{IdleResult, LoadResult, SubStats, Window, lock};
use crate::ws::WsConn;
use crate::{bridge_client, nats_client, payload, procs};

/// How long one connection (upgrade, hello, subscribe) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// What is being measured, and where it listens.
#[derive(Clone, Copy)]
pub enum Target {
    /// The Chorus bridge's HTTP/WebSocket address.
    Bridge(SocketAddr),
    /// nats-server's WebSocket listener.
    Nats(SocketAddr),
}

impl Target {
    async fn subscribe(self, seed: u32) -> io::Result<WsConn> {
        match self {
            Target::Bridge(a) => bridge_client::subscribe(a, seed).await,
            Target::Nats(a) => nats_client::subscribe(a, seed).await,
        }
    }

    async fn connect(self, seed: u32) -> io::Result<WsConn> {
        match self {
            Target::Bridge(a) => bridge_client::connect(a, seed).await,
            Target::Nats(a) => nats_client::connect(a, seed).await,
        }
    }

    async fn run_subscriber(self, conn: WsConn, stats: Arc<Mutex<SubStats>>, win: Arc<Window>) {
        match self {
            Target::Bridge(_) => bridge_client::run_subscriber(conn, stats, win).await,
            Target::Nats(_) => nats_client::run_subscriber(conn, stats, win).await,
        }
    }

    fn encode_publish(self, out: &mut Vec<u8>, scratch: &mut Vec<u8>, body: &[u8], mask: [u8; 4]) {
        match self {
            Target::Bridge(_) => bridge_client::encode_publish(out, scratch, body, mask),
            Target::Nats(_) => nats_client::encode_publish(out, scratch, body, mask),
        }
    }

    fn publisher_inbound(
        self,
        conn: &mut WsConn,
        stream: &mut Vec<u8>,
        out: &mut Vec<u8>,
        errors: &mut u64,
    ) -> bool {
        match self {
            Target::Bridge(_) => bridge_client::publisher_inbound(conn, out, errors),
            Target::Nats(_) => nats_client::publisher_inbound(conn, stream, out, errors),
        }
    }
}

/// The shape of a load run.
#[derive(Clone, Copy)]
pub struct LoadOpts {
    /// Subscribers, all on the one subject.
    pub subscribers: usize,
    /// Messages per second published.
    pub rate: f64,
    /// Seconds of publishing before the window opens.
    pub warmup: f64,
    /// Length of the measuring window, s.
    pub seconds: f64,
    /// Payload size, bytes.
    pub size: usize,
    /// Connection handshakes in flight at once.
    pub concurrency: usize,
    /// Longest wait for in-flight deliveries after the last publish, s.
    pub drain: f64,
}

/// Runs the fan-out measurement; `server_pids` are the processes whose CPU is counted.
pub async fn run_load(target: Target, opts: LoadOpts, server_pids: &[u32]) -> Result<LoadResult> {
    let window = Arc::new(Window::new());
    let sem = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<Result<(), String>>();
    let mut tasks = Vec::with_capacity(opts.subscribers);
    let mut all_stats = Vec::with_capacity(opts.subscribers);
    let began = Instant::now();
    for i in 0..opts.subscribers {
        let stats = Arc::new(Mutex::new(SubStats::new()));
        all_stats.push(stats.clone());
        let (sem, ready_tx, window) = (sem.clone(), ready_tx.clone(), window.clone());
        tasks.push(tokio::spawn(async move {
            let conn = {
                let _permit = sem.acquire_owned().await;
                tokio::time::timeout(CONNECT_TIMEOUT, target.subscribe(i as u32)).await
            };
            match conn {
                Ok(Ok(conn)) => {
                    let _ = ready_tx.send(Ok(()));
                    target.run_subscriber(conn, stats, window).await;
                }
                Ok(Err(e)) => drop(ready_tx.send(Err(e.to_string()))),
                Err(_) => drop(ready_tx.send(Err("timed out".into()))),
            }
        }));
    }
    drop(ready_tx);
    let (mut ok, mut failed, mut first_error) = (0usize, 0usize, None);
    // Each task reports exactly once (and keeps its sender while it runs).
    for _ in 0..opts.subscribers {
        match ready_rx
            .recv()
            .await
            .unwrap_or(Err("subscriber task ended".into()))
        {
            Ok(()) => ok += 1,
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    eprintln!(
        "  {ok} subscribers ready in {:.1} s{}",
        began.elapsed().as_secs_f64(),
        match &first_error {
            Some(e) => format!(", {failed} failed (first: {e})"),
            None => String::new(),
        }
    );
    if ok == 0 {
        abort_all(tasks).await;
        bail!(
            "no subscriber could subscribe: {}",
            first_error.unwrap_or_default()
        );
    }

    let Publisher { ready, go, thread } = Publisher::spawn(target, opts, window.clone());
    match ready.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            abort_all(tasks).await;
            bail!("publisher could not connect: {e}");
        }
        Err(_) => {
            abort_all(tasks).await;
            bail!("publisher thread failed");
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let begin = window.now_ns() + 10_000_000;
    let start = begin + (opts.warmup * 1e9) as u64;
    let end = start + (opts.seconds * 1e9) as u64;
    window.set(start, end);
    let _ = go.send(begin);
    eprintln!(
        "  publishing {} msg/s for {} s + {} s",
        opts.rate, opts.warmup, opts.seconds
    );

    tokio::time::sleep_until(window.instant(start).into()).await;
    let (server0, client0, machine0) = cpu(server_pids)?;
    tokio::time::sleep_until(window.instant(end).into()).await;
    let (server1, client1, machine1) = cpu(server_pids)?;

    let outcome = tokio::task::spawn_blocking(move || thread.join())
        .await?
        .map_err(|_| anyhow!("publisher thread panicked"))?
        .context("publisher")?;

    // Let in-flight messages land: stop when all arrived, progress stalls, or time is up.
    let expected = outcome.in_window * ok as u64;
    let drain_until = Instant::now() + Duration::from_secs_f64(opts.drain);
    let (mut last, mut last_change) = (u64::MAX, Instant::now());
    while Instant::now() < drain_until {
        let got: u64 = all_stats.iter().map(|s| lock(s).delivered_of_window).sum();
        if got >= expected {
            break;
        }
        if got != last {
            (last, last_change) = (got, Instant::now());
        } else if last_change.elapsed() > Duration::from_secs(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    abort_all(tasks).await;

    let mut result = LoadResult::new(ok, failed);
    for s in &all_stats {
        result.merge(&lock(s));
    }
    result.window_secs = opts.seconds;
    result.published_in_window = outcome.in_window;
    result.published_total = outcome.total;
    result.publisher_errors = outcome.errors;
    result.server_cpu_secs = server1 - server0;
    result.client_cpu_secs = client1 - client0;
    result.machine_cpu_secs = machine1 - machine0;
    // Give the server a moment to tear the sockets down before whatever runs next.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(result)
}

/// Opens `n` idle connections and reads how much the server's resident memory grew.
/// `pid` is the server measured; `nats_pid` (for the bridge) is reported beside it.
pub async fn run_idle(
    target: Target,
    n: usize,
    concurrency: usize,
    pid: u32,
    nats_pid: Option<u32>,
) -> Result<IdleResult> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before_kib = procs::vm_rss_kib(pid)?;
    let nats_before = nats_pid.map(procs::vm_rss_kib).transpose()?;
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut set = JoinSet::new();
    for i in 0..n {
        let sem = sem.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            tokio::time::timeout(CONNECT_TIMEOUT, target.connect(i as u32)).await
        });
    }
    let (mut conns, mut failures, mut first_error) = (Vec::with_capacity(n), 0, None);
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Ok(Ok(c))) => conns.push(c),
            Ok(Ok(Err(e))) => {
                failures += 1;
                first_error.get_or_insert(e.to_string());
            }
            _ => failures += 1,
        }
    }
    if conns.is_empty() {
        bail!("no idle connection opened: {}", first_error.unwrap_or_default());
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after_kib = procs::vm_rss_kib(pid)?;
    let nats_after = nats_pid.map(procs::vm_rss_kib).transpose()?;
    let opened = conns.len();
    eprintln!("  {opened} idle connections: RSS {rss_before_kib} → {rss_after_kib} KiB");
    drop(conns);
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(IdleResult {
        opened,
        failures,
        rss_before_kib,
        rss_after_kib,
        nats_growth_kib: nats_before.zip(nats_after).map(|(b, a)| a as i64 - b as i64),
    })
}

/// Server CPU seconds (summed over `pids`), the bench's own, and the whole machine's.
fn cpu(pids: &[u32]) -> Result<(f64, f64, f64)> {
    let mut server = 0.0;
    for &pid in pids {
        server += procs::cpu_seconds(pid).with_context(|| format!("reading CPU of pid {pid}"))?;
    }
    Ok((server, procs::self_cpu_seconds()?, procs::machine_busy_seconds()?))
}

async fn abort_all(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// What the publisher did.
#[derive(Default)]
struct PubOutcome {
    /// Messages stamped inside the window.
    in_window: u64,
    /// Messages sent in all.
    total: u64,
    /// Error frames received.
    errors: u64,
}

/// The publisher runs on its own thread and runtime so that the subscribers' load cannot
/// delay its ticks (its timestamps would still be honest, but the offered rate would sag).
struct Publisher {
    /// Connected (or why not).
    ready: oneshot::Receiver<Result<(), String>>,
    /// Start publishing at this time (ns on the window's clock).
    go: oneshot::Sender<u64>,
    /// The thread, returning what it did.
    thread: std::thread::JoinHandle<io::Result<PubOutcome>>,
}

impl Publisher {
    fn spawn(target: Target, opts: LoadOpts, window: Arc<Window>) -> Publisher {
        let (ready_tx, ready) = oneshot::channel();
        let (go, go_rx) = oneshot::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let conn = match target.connect(u32::MAX).await {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return Err(e);
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let Ok(begin) = go_rx.await else {
                    return Ok(PubOutcome::default());
                };
                publish(target, conn, opts, &window, begin).await
            })
        });
        Publisher { ready, go, thread }
    }
}

/// Publishes at `opts.rate` from `begin` until the window closes, catching up after any
/// delay: every message due by now goes out in one write.
async fn publish(
    target: Target,
    mut conn: WsConn,
    opts: LoadOpts,
    window: &Window,
    begin: u64,
) -> io::Result<PubOutcome> {
    let (start, end) = window.bounds();
    let period = 1e9 / opts.rate;
    let mask = conn.mask();
    let (mut out, mut scratch, mut body) = (Vec::new(), Vec::new(), Vec::new());
    let (mut stream, mut replies) = (Vec::new(), Vec::new());
    let mut outcome = PubOutcome::default();
    tokio::time::sleep_until(window.instant(begin).into()).await;
    loop {
        let now = window.now_ns();
        if now >= end {
            return Ok(outcome);
        }
        let due = ((now - begin.min(now)) as f64 / period) as u64 + 1;
        while outcome.total < due {
            payload::build(&mut body, now, outcome.total, opts.size);
            target.encode_publish(&mut out, &mut scratch, &body, mask);
            if now >= start && now < end {
                outcome.in_window += 1;
            }
            outcome.total += 1;
        }
        conn.write_raw(&out).await?;
        out.clear();
        let next = window.instant(begin + (outcome.total as f64 * period) as u64);
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()) => {}
            r = conn.fill() => {
                if r? == 0 {
                    return Err(io::Error::other("server closed the publisher"));
                }
                let open = target.publisher_inbound(&mut conn, &mut stream, &mut replies, &mut outcome.errors);
                conn.write_raw(&replies).await?;
                replies.clear();
                if !open {
                    return Err(io::Error::other("server closed the publisher"));
                }
            }
        }
    }
}
