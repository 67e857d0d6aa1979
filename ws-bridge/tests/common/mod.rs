//! The bridge's test harness: a real nats-server (from `chorus-testkit`) and a real bridge
//! in-process on port 0, plus small WebSocket and TCP clients that speak the wire contract.
#![allow(dead_code)]

use chorus_bridge::{Config, Listeners};
use chorus_protocol::policy::Policy;
pub use chorus_testkit::client::{Tcp, WAIT, Ws, http_get};
use chorus_testkit::{NatsServer, TestDb};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
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
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
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

    /// A bridge in front of `nats`, which may already have workers on it.
    pub async fn on(nats: NatsServer, tune: impl FnOnce(&mut Config)) -> Harness {
        let mut bridge = Bridge::start(&nats.url(), tune).await;
        let (stop, task) = (bridge.stop.take(), bridge.task.take());
        Harness {
            http: bridge.http,
            tcp: bridge.tcp,
            stop,
            task,
            nats,
        }
    }

    /// The real stack for signing in: the accounts worker (tokens living `access_ttl`
    /// seconds, a fresh database) on a fresh nats-server, and a bridge in front.
    pub async fn with_accounts(access_ttl: u64) -> (Harness, TestDb) {
        let nats = NatsServer::start().await;
        let test_db = TestDb::create().await;
        let worker = async_nats::connect(nats.url()).await.unwrap();
        let settings = chorus_accounts::Settings::for_tests(access_ttl);
        chorus_accounts::spawn_in_process(worker, test_db.url(), settings)
            .await
            .unwrap();
        nats.await_subscriptions(16).await;
        (Harness::on(nats, |_| {}).await, test_db)
    }

    /// Signs `name` up and logs in through a guest connection; returns the login reply
    /// (`access_token`, `refresh_token`, `user`, …).
    pub async fn sign_up_and_log_in(&self, name: &str) -> Value {
        let mut guest = self.ws().await;
        let data = json!({"name": name, "password": "password-123"});
        let signup = json!({"op":"req","id":"s","subject":"svc.accounts.signup","data":data});
        assert_eq!(guest.call(signup).await["op"], "reply");
        let login = json!({"op":"req","id":"l","subject":"svc.accounts.login","data":data});
        let reply = guest.call(login).await;
        assert_eq!(reply["op"], "reply", "{reply}");
        reply["data"].clone()
    }

    /// Another bridge on the same nats-server.
    pub async fn another_bridge(&self) -> Bridge {
        Bridge::start(&self.nats.url(), |c| c.first_frame_timeout_ms = 300).await
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

    /// Subscriptions the bridge's NATS connection holds on `subject`, per nats-server.
    pub async fn bridge_subscriptions(&self, subject: &str) -> usize {
        let connz = self.nats.monitor_json("/connz?subs=1").await;
        connz["connections"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["name"] == "chorus-bridge")
            .flat_map(|c| c["subscriptions_list"].as_array().cloned().unwrap_or_default())
            .filter(|s| s == subject)
            .count()
    }

    /// Awaits `cond` on the bridge's subscriptions on `subject` (polling nats-server's monitor).
    pub async fn await_bridge_subscriptions(&self, subject: &str, want: usize) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let n = self.bridge_subscriptions(subject).await;
            if n == want {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "bridge holds {n} subscriptions on {subject}, want {want}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the bridge gracefully and waits for it.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            timeout(WAIT, task)
                .await
                .expect("bridge shut down in time")
                .unwrap();
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A bridge running in-process on port 0.
pub struct Bridge {
    /// Its HTTP address.
    pub http: SocketAddr,
    /// Its TCP line address.
    pub tcp: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Bridge {
    /// Starts a bridge on `nats_url` with the test policy and settings `tune` adjusts.
    pub async fn start(nats_url: &str, tune: impl FnOnce(&mut Config)) -> Bridge {
        let mut config = Config::defaults();
        config.first_frame_timeout_ms = 300;
        tune(&mut config);
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (http_addr, tcp_addr) = (http.local_addr().unwrap(), tcp.local_addr().unwrap());
        let client = async_nats::ConnectOptions::new()
            .name("chorus-bridge")
            .max_reconnects(None)
            .connect(nats_url)
            .await
            .unwrap();
        let policy = Policy::from_json(TEST_POLICY).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let listeners = Listeners { http, tcp: Some(tcp) };
        let task = tokio::spawn(async move {
            chorus_bridge::run(listeners, client, config, policy, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Bridge {
            http: http_addr,
            tcp: tcp_addr,
            stop: Some(stop),
            task: Some(task),
        }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
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
        let child = cmd.spawn().unwrap();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if TcpStream::connect(http).await.is_ok() && http_get(http, "/readyz").await.0 == 200 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the bridge never became ready"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        BridgeProcess {
            child,
            http,
            tcp,
            dir,
        }
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
