//! "Up means up": `scripts/run` with the real binaries, from fresh state, is usable the
//! moment it prints `Chorus is up`. Twenty times in a row, each with a new run directory (so
//! the accounts worker makes a new signing key, with a new `kid`), a new database, free
//! ports and its own nats-server: at once, with no retry, a guest signs up and logs in, and
//! the token it gets opens the private endpoint. Then SIGTERM stops the script, and nothing
//! it started is left running.
//!
//! Needs the binaries built beside the tests (`cargo build --workspace --bins`; scripts/test
//! does it). Run with `--nocapture` to see each round's timings.

mod common;

use chorus_testkit::bin::workspace_root;
use chorus_testkit::client::Ws;
use chorus_testkit::process::binary;
use chorus_testkit::{TestDb, nats_server_bin};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

/// How many fresh starts in a row must all be usable at once.
const ROUNDS: usize = 20;

/// How long one start may take before the test gives up on it: above the script's own
/// start-up deadline (60 s), so the script reports first, with the logs.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// How long the script may take to stop everything after SIGTERM (it allows its children
/// 10 s before SIGKILL).
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The line `scripts/run` prints once everything serves.
const UP: &str = "Chorus is up: ";

/// How long each phase of one round took.
#[derive(Debug, Clone, Copy)]
struct Timing {
    /// From starting the script to its `Chorus is up` line.
    up: Duration,
    /// From that line to the `welcome` on the private endpoint.
    used: Duration,
    /// From SIGTERM to the script's exit.
    stopped: Duration,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_run_is_usable_the_moment_it_says_up_twenty_times_in_a_row() {
    let bin_dir = binary("chorus-bridge").parent().unwrap().to_path_buf();
    for worker in ["chorus-accounts", "chorus-chat", "chorus-presence"] {
        binary(worker); // each must be built, or the round would run without it
    }
    let mut timings = Vec::with_capacity(ROUNDS);
    for round in 1..=ROUNDS {
        let t = round_trip(round, &bin_dir).await;
        eprintln!(
            "round {round:2}: up in {:>5} ms; signed up, logged in, connected {:>4} ms later; stopped in {:>4} ms",
            t.up.as_millis(),
            t.used.as_millis(),
            t.stopped.as_millis()
        );
        timings.push(t);
    }
    let most = |f: fn(&Timing) -> Duration| timings.iter().map(f).max().unwrap();
    eprintln!(
        "{ROUNDS} rounds: slowest up {} ms, slowest use {} ms, slowest stop {} ms",
        most(|t| t.up).as_millis(),
        most(|t| t.used).as_millis(),
        most(|t| t.stopped).as_millis()
    );
}

/// One round: start the script from fresh state, use the platform the moment it is up,
/// stop it, check nothing is left.
async fn round_trip(round: usize, bin_dir: &Path) -> Timing {
    let state = tempfile::Builder::new().prefix("chorus-run-").tempdir().unwrap();
    let db = TestDb::create().await;
    let (http, tcp) = (free_addr(), free_addr());
    let began = Instant::now();
    let mut run = Run::start(state.path(), bin_dir, &db, http, tcp);
    let mut stdout = BufReader::new(run.child.stdout.take().unwrap()).lines();
    run.await_up(&mut stdout).await;
    let up = began.elapsed();

    let name = format!("user{round}");
    let used_at = Instant::now();
    if let Err(e) = tokio::spawn(sign_up_log_in_connect(http, name)).await {
        eprintln!(
            "round {round} failed right after '{UP}'; the logs:\n{}",
            run.logs()
        );
        std::panic::resume_unwind(e.into_panic());
    }
    let used = used_at.elapsed();
    // The words: "in the next second". (It takes tens of milliseconds.)
    assert!(
        used < Duration::from_secs(1),
        "round {round}: signing up, logging in and connecting took {used:?}"
    );

    let stopping = Instant::now();
    let status = run.terminate().await;
    let stopped = stopping.elapsed();
    assert_eq!(
        status.code(),
        Some(143),
        "round {round}: SIGTERM should end the script with 143"
    );
    let left = processes_in_group(run.pgid);
    assert!(
        left.is_empty(),
        "round {round}: still running after the script exited: {left:?}"
    );
    Timing { up, used, stopped }
}

/// What a new user does first, with no retry: as a guest on the public endpoint, sign up and
/// log in; then open the private endpoint with the access token and be welcomed as that user.
async fn sign_up_log_in_connect(http: SocketAddr, name: String) {
    let login = common::sign_up_and_log_in(http, &name).await;
    let token = login["access_token"].as_str().expect("an access token");
    let path = format!("/core/game/v1/real-time/private?token={token}");
    let (_user, welcome) = Ws::connect(http, &path, &[])
        .await
        .expect("the private endpoint accepts the token");
    assert_eq!(welcome["op"], "welcome", "private: {welcome}");
    assert_eq!(welcome["user"]["ns"], "private", "{welcome}");
    assert_eq!(welcome["user"]["name"], name.as_str(), "{welcome}");
}

/// One `scripts/run`, in a process group of its own so that whatever it started can be
/// found (and, should the test fail, killed) by that group.
struct Run {
    /// The script.
    child: Child,
    /// Its process group: its pid.
    pgid: u32,
    /// Its `CHORUS_RUN_DIR`: `logs/` in there holds each process's log.
    dir: PathBuf,
    /// Its stderr (its own messages), kept in a file.
    stderr: PathBuf,
}

impl Run {
    /// Starts `scripts/run` on the binaries in `bin_dir` with state under `state`, database
    /// `db`, the bridge on `http` and `tcp`, and its own nats-server.
    fn start(state: &Path, bin_dir: &Path, db: &TestDb, http: SocketAddr, tcp: SocketAddr) -> Run {
        let (dir, stderr) = (state.join("run"), state.join("run.stderr"));
        let mut cmd = Command::new(workspace_root().join("scripts/run"));
        cmd.env("CHORUS_RUN_DIR", &dir)
            .env("CHORUS_RUN_BIN_DIR", bin_dir)
            .env("CHORUS_NATS_SERVER", nats_server_bin())
            .env("DATABASE_URL", db.url())
            .env("CHORUS_HTTP_ADDR", http.to_string())
            .env("CHORUS_TCP_ADDR", tcp.to_string())
            .env("CHORUS_PBKDF2_ITERATIONS", "1000")
            .env_remove("CHORUS_NATS_URL")
            .env_remove("CHORUS_CONFIG")
            .env_remove("CHORUS_SIGNING_KEY_DIR")
            .env_remove("CHORUS_GENERATE_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .process_group(0)
            .kill_on_drop(true);
        let child = cmd.spawn().expect("starting scripts/run");
        let pgid = child.id().expect("a running script");
        Run {
            child,
            pgid,
            dir,
            stderr,
        }
    }

    /// Reads the script's stdout as it comes until the `Chorus is up` line.
    ///
    /// # Panics
    /// When the script ends first (its stderr says why) or takes longer than
    /// [`START_TIMEOUT`].
    async fn await_up(&mut self, stdout: &mut tokio::io::Lines<BufReader<ChildStdout>>) {
        let up = async {
            while let Some(line) = stdout.next_line().await.expect("reading the script's stdout") {
                if line.starts_with(UP) {
                    return true;
                }
            }
            false
        };
        match tokio::time::timeout(START_TIMEOUT, up).await {
            Ok(true) => {}
            Ok(false) => {
                let status = self.child.wait().await.expect("waiting for the script");
                panic!("scripts/run ended ({status}) before '{UP}':\n{}", self.logs());
            }
            Err(_) => panic!("no '{UP}' within {START_TIMEOUT:?}:\n{}", self.logs()),
        }
    }

    /// SIGTERM to the script, as an operator's `kill` sends; its exit status.
    async fn terminate(&mut self) -> ExitStatus {
        chorus_testkit::terminate(&mut self.child, STOP_TIMEOUT).await
    }

    /// The script's stderr and the end of every log in its run directory, for failures.
    fn logs(&self) -> String {
        let mut out = format!(
            "── scripts/run stderr\n{}",
            std::fs::read_to_string(&self.stderr).unwrap_or_default()
        );
        let logs = std::fs::read_dir(self.dir.join("logs")).into_iter().flatten();
        for entry in logs.flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(40)..].join("\n");
            out += &format!("\n── {}\n{tail}", entry.path().display());
        }
        out
    }
}

impl Drop for Run {
    /// A failed round leaves nothing behind: SIGKILL to the whole group (a no-op when the
    /// script already stopped everything).
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.pgid)])
            .stderr(Stdio::null())
            .status();
    }
}

/// Processes still alive (not zombies) in process group `pgid`, as `pid name`, from `/proc`.
fn processes_in_group(pgid: u32) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (state, pgrp) = (fields.first().copied(), fields.get(2).copied());
        if pgrp == Some(pgid.to_string().as_str()) && !matches!(state, Some("Z" | "X")) {
            let comm = head.split_once('(').map_or("?", |(_, c)| c);
            found.push(format!("{pid} {comm}"));
        }
    }
    found
}

/// A TCP address on 127.0.0.1 that nobody listens on at this moment.
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}
