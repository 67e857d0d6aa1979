//! [`NatsServer`]: one private `nats-server` process with JetStream, for one test.
//!
//! Each server lives in its own temporary directory holding its config file, its JetStream
//! store (`js/`), the ports file the server writes, and its log (stdout and stderr). It starts
//! on free ports (`-1` in the config, read back from the ports file), so any number of tests
//! run side by side. [`NatsServer::restart`] kills it and starts it again on the same ports
//! with the same store, which is how tests check that clients and workers survive a server
//! bounce. Dropping it kills the process and removes the directory.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;

use crate::{Error, http, nats_server_bin};

/// How long a start or restart may take before we give up.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often we look for the ports file or retry the client port while starting.
const POLL_INTERVAL: Duration = Duration::from_millis(10);
/// How many lines of the server log an error message quotes.
const LOG_TAIL_LINES: usize = 30;

/// What to switch on in a test server beyond the default (client port, monitoring, JetStream).
#[derive(Debug, Clone, Default)]
pub struct NatsOptions {
    /// Also listen for NATS-over-WebSocket clients (plain `ws://`, no TLS) on a free port.
    pub websocket: bool,
    /// Config text appended verbatim at the top level of the generated config file
    /// (e.g. `"max_payload: 65536"`, or an `accounts { … }` block).
    pub extra_config: String,
}

/// The ports a running server listens on, known after its first start.
#[derive(Debug, Clone, Copy)]
struct Ports {
    /// The NATS client port.
    client: u16,
    /// The HTTP monitoring port.
    monitor: u16,
    /// The WebSocket port, when [`NatsOptions::websocket`] asked for one.
    websocket: Option<u16>,
}

/// A nats-server child process with JetStream, on free ports, in a temporary directory.
#[derive(Debug)]
pub struct NatsServer {
    /// Holds config, store, ports file and log; removed when the server is dropped.
    dir: tempfile::TempDir,
    /// The binary we run, chosen once by [`nats_server_bin`].
    bin: PathBuf,
    /// What the test asked for; needed again to rewrite the config on restart.
    opts: NatsOptions,
    /// The running process, `None` after [`NatsServer::stop`].
    child: Option<Child>,
    /// The pid of the process started last (kept after stop, for messages).
    pid: u32,
    /// The ports read back at first start; every restart reuses them.
    ports: Ports,
    /// `<dir>/js`, the JetStream store, kept across restarts.
    store_dir: PathBuf,
}

impl NatsServer {
    /// Starts a current nats-server with JetStream (temp store dir), on a free port, with
    /// HTTP monitoring on a free port.
    ///
    /// # Panics
    /// When the server cannot be found or does not come up within 10 s; the message quotes
    /// the end of its log.
    pub async fn start() -> NatsServer {
        Self::start_with(NatsOptions::default()).await
    }

    /// Like [`NatsServer::start`], with extra listeners or config from `opts`.
    ///
    /// # Panics
    /// As [`NatsServer::start`].
    pub async fn start_with(opts: NatsOptions) -> NatsServer {
        Self::try_start_with(opts)
            .await
            .unwrap_or_else(|e| panic!("starting nats-server: {e}"))
    }

    /// Like [`NatsServer::start_with`], returning the error instead of panicking.
    pub async fn try_start_with(opts: NatsOptions) -> Result<NatsServer, Error> {
        let bin = nats_server_bin();
        let dir = tempfile::Builder::new()
            .prefix("chorus-nats-")
            .tempdir()
            .map_err(Error::io("creating a temp dir for nats-server"))?;
        let dir_path = dir.path().to_path_buf();
        write_config(&dir_path, &opts, None)?;
        let mut child = spawn(&bin, &dir_path)?;
        let pid = child.id();
        let ports = match wait_for_ports(&dir_path, &mut child, opts.websocket).await {
            Ok(ports) => ports,
            Err(e) => {
                kill(&mut child);
                return Err(e);
            }
        };
        let store_dir = dir_path.join("js");
        let mut server = NatsServer {
            dir,
            bin,
            opts,
            child: Some(child),
            pid,
            ports,
            store_dir,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    /// The client URL, `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.ports.client)
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.ports.client
    }

    /// The monitoring base URL, `http://127.0.0.1:MPORT`.
    pub fn monitor_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.monitor)
    }

    /// The WebSocket URL, `ws://127.0.0.1:WPORT`, when the server was started with
    /// [`NatsOptions::websocket`].
    pub fn websocket_url(&self) -> Option<String> {
        self.ports.websocket.map(|p| format!("ws://127.0.0.1:{p}"))
    }

    /// The JetStream store directory (kept across [`NatsServer::restart`]).
    pub fn store_dir(&self) -> &Path {
        &self.store_dir
    }

    /// The pid of the server process started last.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The file holding the server's stdout and stderr, across restarts.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("nats-server.log")
    }

    /// The generated config file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("nats-server.conf")
    }

    /// Kills the server (SIGKILL) if it runs, and starts it again on the same ports with the
    /// same store; returns once it accepts client connections.
    ///
    /// # Panics
    /// When it does not come back within 10 s (say, another process took its port).
    pub async fn restart(&mut self) {
        self.try_restart()
            .await
            .unwrap_or_else(|e| panic!("restarting nats-server: {e}"))
    }

    /// Like [`NatsServer::restart`], returning the error instead of panicking.
    pub async fn try_restart(&mut self) -> Result<(), Error> {
        self.stop().await;
        write_config(self.dir.path(), &self.opts, Some(self.ports))?;
        let child = spawn(&self.bin, self.dir.path())?;
        self.pid = child.id();
        self.child = Some(child);
        self.wait_ready().await
    }

    /// Kills the server (SIGKILL) and reaps it. Ports and store stay reserved for a later
    /// [`NatsServer::restart`]. Does nothing when it is not running.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill(&mut child);
        }
    }

    /// `GET monitor_url + path_and_query` (e.g. `"/varz"`, `"/subsz?subs=1"`,
    /// `"/connz?subs=1"`), parsed as JSON.
    ///
    /// # Panics
    /// When the server does not answer `200` with JSON.
    pub async fn monitor_json(&self, path_and_query: &str) -> serde_json::Value {
        self.try_monitor_json(path_and_query)
            .await
            .unwrap_or_else(|e| panic!("nats-server monitoring: {e}"))
    }

    /// Waits until the server counts at least `at_least` subscriptions (`/varz`), e.g. until
    /// a worker started in the background has subscribed its endpoints.
    ///
    /// # Panics
    /// After [`STARTUP_TIMEOUT`] without that many.
    pub async fn await_subscriptions(&self, at_least: u64) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let count = self.monitor_json("/varz").await["subscriptions"]
                .as_u64()
                .unwrap_or(0);
            if count >= at_least {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nats-server has {count} subscriptions, wanted {at_least}"
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// How many subscriptions on exactly `subject` the connections named `client` (e.g.
    /// `chorus-bridge`) hold, from `/connz?subs=1`.
    pub async fn subscriptions_of(&self, client: &str, subject: &str) -> usize {
        let connz = self.monitor_json("/connz?subs=1&limit=1024").await;
        connz["connections"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["name"] == client)
            .flat_map(|c| c["subscriptions_list"].as_array().cloned().unwrap_or_default())
            .filter(|s| s == subject)
            .count()
    }

    /// Waits until the connections named `client` hold exactly `want` subscriptions on
    /// `subject` (polling the monitor: nothing announces a subscription).
    ///
    /// # Panics
    /// After [`STARTUP_TIMEOUT`] without that count.
    pub async fn await_subscriptions_of(&self, client: &str, subject: &str, want: usize) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let n = self.subscriptions_of(client, subject).await;
            if n == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{client} holds {n} subscriptions on {subject}, want {want}"
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Waits until some client subscribes to exactly `subject` (`/connz?subs=1`): until a
    /// worker started in the background listens there.
    ///
    /// # Panics
    /// After [`STARTUP_TIMEOUT`] without one.
    pub async fn await_subscriber(&self, subject: &str) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let connz = self.monitor_json("/connz?subs=1&limit=1024").await;
            let found = connz["connections"].as_array().into_iter().flatten().any(|c| {
                c["subscriptions_list"]
                    .as_array()
                    .is_some_and(|subs| subs.iter().any(|s| s == subject))
            });
            if found {
                return;
            }
            assert!(Instant::now() < deadline, "nobody subscribed to {subject}");
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Like [`NatsServer::monitor_json`], returning the error instead of panicking.
    pub async fn try_monitor_json(&self, path_and_query: &str) -> Result<serde_json::Value, Error> {
        http::get_json(&self.monitor_url(), path_and_query).await
    }

    /// Waits until the client port answers with an `INFO` line, failing early if the process
    /// exits and after [`STARTUP_TIMEOUT`] at the latest.
    async fn wait_ready(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let addr = format!("127.0.0.1:{}", self.ports.client);
        loop {
            let child = self.child.as_mut().ok_or(Error::NotRunning)?;
            check_alive(child, &self.dir.path().join("nats-server.log"))?;
            let last = match read_info(&addr).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                let log = self.log_path();
                return Err(Error::NotReady {
                    secs: STARTUP_TIMEOUT.as_secs(),
                    detail: format!("no INFO on {addr}: {last}"),
                    tail: log_tail(&log),
                    log,
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

impl Drop for NatsServer {
    /// Kills the process; the temporary directory (store, config, log) goes with `dir`.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill(&mut child);
        }
    }
}

/// Writes `<dir>/nats-server.conf`: free ports (`-1`) on first start, `ports` on restarts.
fn write_config(dir: &Path, opts: &NatsOptions, ports: Option<Ports>) -> Result<(), Error> {
    let port = |p: Option<u16>| p.map_or_else(|| "-1".to_string(), |p| p.to_string());
    let store = quote(&dir.join("js").to_string_lossy());
    let mut conf = format!(
        "# Generated by chorus-testkit for one test; removed with the server.\n\
         listen: \"127.0.0.1:{}\"\n\
         http: \"127.0.0.1:{}\"\n\
         jetstream {{\n  store_dir: {store}\n}}\n",
        port(ports.map(|p| p.client)),
        port(ports.map(|p| p.monitor)),
    );
    if opts.websocket {
        conf += &format!(
            "websocket {{\n  host: \"127.0.0.1\"\n  port: {}\n  no_tls: true\n}}\n",
            port(ports.and_then(|p| p.websocket)),
        );
    }
    if !opts.extra_config.is_empty() {
        conf += "\n# extra_config\n";
        conf += &opts.extra_config;
        conf += "\n";
    }
    std::fs::write(dir.join("nats-server.conf"), conf).map_err(Error::io("writing nats-server config"))
}

/// A double-quoted config string (JSON escaping is a subset NATS config accepts).
fn quote(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// Starts the server on `<dir>/nats-server.conf`, output appended to `<dir>/nats-server.log`,
/// ports file written into `dir`.
fn spawn(bin: &Path, dir: &Path) -> Result<Child, Error> {
    let log_path = dir.join("nats-server.log");
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(Error::io(format!("opening {}", log_path.display())))?;
    let _ = writeln!(log, "=== chorus-testkit: starting {}", bin.display());
    let stderr = log
        .try_clone()
        .map_err(Error::io("duplicating the log file handle"))?;
    Command::new(bin)
        .arg("-c")
        .arg(dir.join("nats-server.conf"))
        .arg("--ports_file_dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(stderr))
        .spawn()
        .map_err(Error::io(format!(
            "running {} (set CHORUS_NATS_SERVER or run scripts/install-tools)",
            bin.display()
        )))
}

/// Kills (SIGKILL) and reaps a child, ignoring one that is already gone.
fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Fails with [`Error::ServerExited`] when the process has exited.
fn check_alive(child: &mut Child, log: &Path) -> Result<(), Error> {
    match child.try_wait() {
        Ok(Some(status)) => Err(Error::ServerExited {
            status,
            log: log.to_path_buf(),
            tail: log_tail(log),
        }),
        _ => Ok(()),
    }
}

/// Polls `dir` for the `*.ports` file the server writes once it listens, and reads its ports.
async fn wait_for_ports(dir: &Path, child: &mut Child, websocket: bool) -> Result<Ports, Error> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    let log = dir.join("nats-server.log");
    loop {
        check_alive(child, &log)?;
        if let Some(ports) = read_ports_file(dir, websocket) {
            return Ok(ports);
        }
        if Instant::now() >= deadline {
            return Err(Error::NotReady {
                secs: STARTUP_TIMEOUT.as_secs(),
                detail: format!("no complete *.ports file in {}", dir.display()),
                tail: log_tail(&log),
                log,
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Reads the ports file (`{"nats":["nats://…:P"],"monitoring":[…],"websocket":[…]}`), or
/// `None` while it is missing, half written or lacks a listener we asked for.
fn read_ports_file(dir: &Path, websocket: bool) -> Option<Ports> {
    let path = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "ports"))?;
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let first_port = |key: &str| -> Option<u16> {
        let url = json.get(key)?.get(0)?.as_str()?;
        url.rsplit(':').next()?.trim_end_matches('/').parse().ok()
    };
    let ports = Ports {
        client: first_port("nats")?,
        monitor: first_port("monitoring")?,
        websocket: if websocket {
            Some(first_port("websocket")?)
        } else {
            None
        },
    };
    Some(ports)
}

/// Connects to `addr` and reads the server's greeting; `Ok` when it is an `INFO` line.
async fn read_info(addr: &str) -> Result<(), String> {
    let attempt = async {
        let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let mut line = String::new();
        BufReader::new(stream)
            .read_line(&mut line)
            .await
            .map_err(|e| e.to_string())?;
        if line.starts_with("INFO ") {
            Ok(())
        } else {
            Err(format!("unexpected greeting {line:?}"))
        }
    };
    tokio::time::timeout(Duration::from_secs(2), attempt)
        .await
        .unwrap_or_else(|_| Err("no greeting within 2 s".into()))
}

/// The last [`LOG_TAIL_LINES`] lines of the server log, for error messages.
fn log_tail(log: &Path) -> String {
    let Ok(mut file) = File::open(log) else {
        return String::from("(no log)");
    };
    let mut text = String::new();
    let _ = std::io::Read::read_to_string(&mut file, &mut text);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}
