//! `scripts/run` as a person runs it, for tests of the whole platform: started on built
//! binaries with fresh state, read until it says `Chorus is up`, stopped with SIGTERM, and
//! everything it started found by its process group.
#![allow(dead_code)]

use chorus_testkit::bin::workspace_root;
use chorus_testkit::{TestDb, nats_server_bin};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::BufReader;
use tokio::process::{Child, ChildStdout, Command};

/// How long one start may take before the test gives up on it: above the script's own
/// start-up deadline (60 s), so the script reports first, with the logs.
pub const START_TIMEOUT: Duration = Duration::from_secs(90);

/// How long the script may take to stop everything after SIGTERM (it allows its children
/// 10 s before SIGKILL).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The line `scripts/run` prints once everything serves.
pub const UP: &str = "Chorus is up: ";

/// `scripts/run` up, as a test needs it: on the built binaries, with fresh state, a fresh
/// database and the bridge on free ports; the rest of its stdout (the metrics addresses)
/// still to read.
pub struct Platform {
    /// The script.
    pub run: Run,
    /// Its stdout after the `Chorus is up` line.
    pub stdout: tokio::io::Lines<BufReader<ChildStdout>>,
    /// The bridge's HTTP address.
    pub http: SocketAddr,
    /// The bridge's TCP line address.
    pub tcp: SocketAddr,
    /// Its state (`CHORUS_RUN_DIR` is `run/` in there), removed on drop.
    pub state: tempfile::TempDir,
    /// Its database, dropped after the test.
    pub db: TestDb,
}

impl Platform {
    /// Starts `scripts/run` and waits for `Chorus is up`.
    pub async fn up() -> Platform {
        use tokio::io::AsyncBufReadExt;
        let bin_dir = chorus_testkit::process::binary("chorus-bridge")
            .parent()
            .unwrap()
            .to_path_buf();
        let state = tempfile::Builder::new().prefix("chorus-run-").tempdir().unwrap();
        let db = TestDb::create().await;
        let (http, tcp) = (free_addr(), free_addr());
        let mut run = Run::start(state.path(), &bin_dir, &db, http, tcp);
        let mut stdout = BufReader::new(run.child.stdout.take().unwrap()).lines();
        run.await_up(&mut stdout).await;
        Platform {
            run,
            stdout,
            http,
            tcp,
            state,
            db,
        }
    }
}

/// One `scripts/run`, in a process group of its own so that whatever it started can be
/// found (and, should the test fail, killed) by that group.
pub struct Run {
    /// The script.
    pub child: Child,
    /// Its process group: its pid.
    pub pgid: u32,
    /// Its `CHORUS_RUN_DIR`: `logs/` in there holds each process's log.
    dir: PathBuf,
    /// Its stderr (its own messages), kept in a file.
    stderr: PathBuf,
}

impl Run {
    /// Starts `scripts/run` on the binaries in `bin_dir` with state under `state`, database
    /// `db`, the bridge on `http` and `tcp`, and its own nats-server.
    pub fn start(state: &Path, bin_dir: &Path, db: &TestDb, http: SocketAddr, tcp: SocketAddr) -> Run {
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
    pub async fn await_up(&mut self, stdout: &mut tokio::io::Lines<BufReader<ChildStdout>>) {
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
    pub async fn terminate(&mut self) -> ExitStatus {
        chorus_testkit::terminate(&mut self.child, STOP_TIMEOUT).await
    }

    /// The script's stderr and the end of every log in its run directory (without backtrace
    /// frames), for failures.
    pub fn logs(&self) -> String {
        let mut out = format!(
            "── scripts/run stderr\n{}",
            std::fs::read_to_string(&self.stderr).unwrap_or_default()
        );
        let logs = std::fs::read_dir(self.dir.join("logs")).into_iter().flatten();
        for entry in logs.flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            // Backtrace frames would push the error itself out of the lines shown.
            let frame = |l: &&str| {
                let l = l.trim_start();
                l.starts_with("at ") || l.split_once(": ").is_some_and(|(n, _)| n.parse::<u32>().is_ok())
            };
            let lines: Vec<&str> = text.lines().filter(|l| !frame(l)).collect();
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
pub fn processes_in_group(pgid: u32) -> Vec<String> {
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
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}
