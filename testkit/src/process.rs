//! The workspace's own binaries run as real processes, as an operator would run them: their
//! stderr (the log) kept in a file the test can read, SIGTERM or `kill -9` on demand, killed
//! on drop. Tests that must see a process die, or read every line a process logged, use this
//! instead of running a component in-process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::{Error, http};

/// A running workspace binary.
pub struct Process {
    /// The process.
    pub child: tokio::process::Child,
    /// Its name, e.g. `chorus-chat`.
    pub name: String,
    /// Holds `{name}.log` (its stderr).
    dir: tempfile::TempDir,
}

impl Process {
    /// Starts the workspace binary `name` with `env` added to this process's environment
    /// (`CHORUS_CONFIG` removed, so the test's settings are the only ones).
    ///
    /// # Panics
    /// When the binary is not built (see [`binary`]) or cannot start.
    pub fn spawn(name: &str, env: &[(&str, &str)]) -> Process {
        let dir = tempfile::tempdir().expect("a temp dir");
        let log = std::fs::File::create(dir.path().join(format!("{name}.log"))).expect("a log file");
        let mut cmd = tokio::process::Command::new(binary(name));
        cmd.env_remove("CHORUS_CONFIG").stderr(log).kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("starting {name}: {e}"));
        Process {
            child,
            name: name.to_string(),
            dir,
        }
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{}.log", self.name))).unwrap_or_default()
    }

    /// Waits until it answers `200` on `GET http://{addr}{path}` (its `/readyz`), at most
    /// [`http::READY_TIMEOUT`]; fails at once if it exits meanwhile.
    ///
    /// # Panics
    /// When it exits or is not ready in time, with everything it logged.
    pub async fn wait_ready(&mut self, addr: SocketAddr, path: &str) {
        let (name, child) = (&self.name, &mut self.child);
        let alive = || match child.try_wait() {
            Ok(Some(status)) => Err(Error::Exited {
                name: name.clone(),
                status,
            }),
            _ => Ok(()),
        };
        if let Err(e) = http::try_wait_ready(addr, path, http::READY_TIMEOUT, alive).await {
            panic!("{e}; {} logged:\n{}", self.name, self.log());
        }
    }

    /// Kills it with SIGKILL (no goodbye) and reaps it.
    pub async fn kill9(&mut self) {
        self.child.kill().await.expect("killing the process");
    }

    /// SIGTERM, then its exit status (see [`crate::terminate`]).
    pub async fn terminate(&mut self, within: Duration) -> std::process::ExitStatus {
        crate::terminate(&mut self.child, within).await
    }
}

/// The path of the workspace binary `name` built beside the running test (cargo puts test
/// executables in `target/<profile>/deps/` and binaries in `target/<profile>/`).
///
/// # Panics
/// When it is not there: `cargo test --workspace` builds every binary first; a narrower
/// selection may need `cargo build --workspace --bins`.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests run from target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build --workspace --bins` (scripts/test does)",
        path.display()
    );
    path
}
