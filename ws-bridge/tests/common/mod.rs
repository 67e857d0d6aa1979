//! The bridge's test harness: a real nats-server (from `chorus-testkit`) and a real bridge
//! in-process on free ports (`chorus_bridge::spawn_in_process`), or the real binary as a
//! process, plus the testkit's WebSocket and TCP clients. Tests that need workers behind the
//! bridge (accounts, presence, Postgres) live in the `chorus-e2e` crate.
#![allow(dead_code)]

use chorus_bridge::{Config, InProcess};
use chorus_protocol::policy::Policy;
pub use chorus_testkit::client::{Tcp, WAIT, Ws, http_get};
use chorus_testkit::{Error, NatsServer};
use serde_json::json;
use std::net::SocketAddr;
use tokio::time::timeout;

/// The policy tests run under: the default one plus `test.>` for everybody.
pub const TEST_POLICY: &str = r#"{
  "guest":   {"sub": ["user.{self}.>", "chat.lobby", "test.>"], "pub": ["test.>"], "req": ["svc.accounts.signup", "svc.accounts.login", "svc.accounts.refresh", "test.>"]},
  "private": {"sub": ["user.{self}.>", "chat.lobby", "test.>"], "pub": ["test.>"], "req": ["svc.*.*", "test.>"]}
}"#;

/// A nats-server and a bridge in front of it.
pub struct Harness {
    /// The real nats-server.
    pub nats: NatsServer,
    /// The bridge's HTTP address.
    pub http: SocketAddr,
    /// The bridge's TCP line address.
    pub tcp: SocketAddr,
    /// The bridge itself: shut down by [`Harness::shutdown`], aborted on drop.
    bridge: InProcess,
}

impl Harness {
    /// A bridge with default settings and the test policy.
    pub async fn start() -> Harness {
        Harness::start_with(|_| {}).await
    }

    /// A bridge whose settings `tune` adjusts.
    pub async fn start_with(tune: impl FnOnce(&mut Config)) -> Harness {
        Harness::on(NatsServer::start().await, tune).await
    }

    /// A bridge in front of `nats`, which may already have clients on it.
    pub async fn on(nats: NatsServer, tune: impl FnOnce(&mut Config)) -> Harness {
        let bridge = bridge(&nats.url(), tune).await;
        Harness {
            http: bridge.http,
            tcp: bridge.tcp,
            bridge,
            nats,
        }
    }

    /// A guest WebSocket client on the public endpoint, past its `welcome`.
    pub async fn ws(&self) -> Ws {
        let (ws, welcome) = Ws::connect(self.http, "/core/game/v1/real-time/public", &[])
            .await
            .unwrap();
        assert_eq!(welcome["op"], "welcome", "{welcome}");
        ws
    }

    /// A TCP line client, past its `welcome` (sent after its first frame, a ping).
    pub async fn tcp(&self) -> Tcp {
        let mut tcp = Tcp::connect(self.tcp).await;
        tcp.send(json!({"op":"ping","id":"hello"})).await;
        let welcome = tcp.recv().await;
        assert_eq!(welcome["op"], "welcome", "{welcome}");
        assert_eq!(tcp.recv().await, json!({"op":"pong","id":"hello"}));
        tcp.welcome = welcome;
        tcp
    }

    /// A plain NATS client on the same server (a worker's view).
    pub async fn nats_client(&self) -> async_nats::Client {
        async_nats::connect(self.nats.url()).await.unwrap()
    }

    /// The bridge's `/metrics` text.
    pub async fn metrics(&self) -> String {
        http_get(self.http, "/metrics").await.1
    }

    /// Reads one counter or gauge sample (the full name with labels) from `/metrics`.
    pub async fn metric(&self, sample: &str) -> f64 {
        let text = self.metrics().await;
        text.lines()
            .find_map(|l| l.strip_prefix(sample).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(0.0)
    }

    /// Subscriptions the bridges' NATS connections hold on `subject`.
    pub async fn bridge_subscriptions(&self, subject: &str) -> usize {
        self.nats.subscriptions_of("chorus-bridge", subject).await
    }

    /// Awaits exactly `want` bridge subscriptions on `subject`.
    pub async fn await_bridge_subscriptions(&self, subject: &str, want: usize) {
        self.nats
            .await_subscriptions_of("chorus-bridge", subject, want)
            .await
    }

    /// Stops the bridge gracefully and waits for it.
    pub async fn shutdown(&mut self) {
        timeout(WAIT, self.bridge.shutdown())
            .await
            .expect("bridge shut down in time")
            .unwrap();
    }
}

/// Starts a bridge in-process on `nats_url` with the test policy, a 300 ms first-frame
/// timeout and whatever else `tune` sets. Its NATS connection is named `chorus-bridge`, as
/// the binary's is, so [`Harness::bridge_subscriptions`] finds it.
pub async fn bridge(nats_url: &str, tune: impl FnOnce(&mut Config)) -> InProcess {
    let mut config = Config::defaults();
    config.first_frame_timeout_ms = 300;
    tune(&mut config);
    let client = async_nats::ConnectOptions::new()
        .name("chorus-bridge")
        .max_reconnects(None)
        .connect(nats_url)
        .await
        .unwrap();
    let policy = Policy::from_json(TEST_POLICY).unwrap();
    chorus_bridge::spawn_in_process(client, config, policy)
        .await
        .unwrap()
}

/// The real `chorus-bridge` binary, started as an operator would, its log in a file.
pub struct BridgeProcess {
    /// The process.
    pub child: tokio::process::Child,
    /// Its HTTP address.
    pub http: SocketAddr,
    /// Its TCP line address.
    pub tcp: SocketAddr,
    /// Holds `bridge.log` (stderr) and any config file.
    pub dir: tempfile::TempDir,
}

impl BridgeProcess {
    /// Starts the binary against `nats_url` with extra env vars, on free ports given in a
    /// `CHORUS_CONFIG` file (so the file is exercised too), and waits until it is ready.
    pub async fn spawn(nats_url: &str, env: &[(&str, &str)]) -> BridgeProcess {
        let free = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
        };
        let (http, tcp) = (free(), free());
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("bridge.env");
        std::fs::write(
            &config,
            format!("# test config\nCHORUS_HTTP_ADDR={http}\nexport CHORUS_TCP_ADDR=\"{tcp}\"\n"),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("bridge.log")).unwrap();
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_chorus-bridge"));
        cmd.env("CHORUS_NATS_URL", nats_url)
            .env("CHORUS_CONFIG", &config)
            .env("CHORUS_LOG", "warn")
            .env_remove("CHORUS_HTTP_ADDR")
            .env_remove("CHORUS_TCP_ADDR")
            .stderr(log)
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut bridge = BridgeProcess {
            child: cmd.spawn().unwrap(),
            http,
            tcp,
            dir,
        };
        let child = &mut bridge.child;
        let alive = || match child.try_wait() {
            Ok(Some(status)) => Err(Error::Exited {
                name: "chorus-bridge".into(),
                status,
            }),
            _ => Ok(()),
        };
        let ready = chorus_testkit::http::try_wait_ready(http, "/readyz", WAIT, alive).await;
        if let Err(e) = ready {
            panic!("{e}; it logged:\n{}", bridge.log());
        }
        bridge
    }

    /// Sends SIGTERM and waits for the exit status.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        chorus_testkit::terminate(&mut self.child, WAIT).await
    }

    /// Everything the process logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("bridge.log")).unwrap()
    }
}
