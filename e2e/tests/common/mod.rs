//! The stack end-to-end tests stand on: a real nats-server, the real accounts worker on a
//! fresh Postgres database, and real bridges in front of them, in-process
//! (`chorus_bridge::spawn_in_process`) or as the `chorus-bridge` binary, all under the
//! default policy, as shipped.
#![allow(dead_code)]

pub mod run;

use chorus_bridge::{Config, InProcess};
use chorus_protocol::policy::Policy;
use chorus_testkit::client::Ws;
use chorus_testkit::{NatsServer, Process, TestDb};
use serde_json::{Value, json};
use std::net::SocketAddr;

/// A nats-server with the accounts worker on it, and a bridge in front.
pub struct Harness {
    /// The real nats-server.
    pub nats: NatsServer,
    /// The bridge's HTTP address.
    pub http: SocketAddr,
    /// The bridge's TCP line address.
    pub tcp: SocketAddr,
    /// The bridge itself, aborted on drop.
    bridge: InProcess,
}

impl Harness {
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
        let bridge = bridge(&nats.url()).await;
        let harness = Harness {
            http: bridge.http,
            tcp: bridge.tcp,
            bridge,
            nats,
        };
        (harness, test_db)
    }

    /// Signs `name` up and logs in through a guest connection; returns the login reply
    /// (`access_token`, `refresh_token`, `user`, …).
    pub async fn sign_up_and_log_in(&self, name: &str) -> Value {
        sign_up_and_log_in(self.http, name).await
    }

    /// Another bridge on the same nats-server.
    pub async fn another_bridge(&self) -> InProcess {
        bridge(&self.nats.url()).await
    }

    /// A guest WebSocket client on the public endpoint, past its `welcome`.
    pub async fn ws(&self) -> Ws {
        let (ws, welcome) = Ws::connect(self.http, "/core/game/v1/real-time/public", &[])
            .await
            .unwrap();
        assert_eq!(welcome["op"], "welcome", "{welcome}");
        ws
    }

    /// A plain NATS client on the same server (a worker's view).
    pub async fn nats_client(&self) -> async_nats::Client {
        async_nats::connect(self.nats.url()).await.unwrap()
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
}

/// What a new user does first, on a guest connection to the bridge at `http`: sign up as
/// `name`, then log in; the login reply's data (`access_token`, `refresh_token`, `user`…).
pub async fn sign_up_and_log_in(http: SocketAddr, name: &str) -> Value {
    let (mut guest, welcome) = Ws::connect(http, "/core/game/v1/real-time/public", &[])
        .await
        .expect("the public endpoint accepts a guest");
    assert_eq!(welcome["op"], "welcome", "{welcome}");
    let data = json!({"name": name, "password": "password-123"});
    let signup = guest
        .call(json!({"op":"req","id":"s","subject":"svc.accounts.signup","data":data}))
        .await;
    assert_eq!(signup["op"], "reply", "sign-up: {signup}");
    let login = guest
        .call(json!({"op":"req","id":"l","subject":"svc.accounts.login","data":data}))
        .await;
    assert_eq!(login["op"], "reply", "login: {login}");
    login["data"].clone()
}

/// A bridge in-process on `nats_url` with default settings and the default policy. Its NATS
/// connection is named `chorus-bridge`, as the binary's is, so
/// [`Harness::bridge_subscriptions`] counts it.
pub async fn bridge(nats_url: &str) -> InProcess {
    let client = async_nats::ConnectOptions::new()
        .name("chorus-bridge")
        .max_reconnects(None)
        .connect(nats_url)
        .await
        .unwrap();
    chorus_bridge::spawn_in_process(client, Config::defaults(), Policy::default())
        .await
        .unwrap()
}

/// The real `chorus-bridge` binary (built beside the tests), for tests that must kill one.
pub struct BridgeProcess {
    /// The process, its log in a file.
    pub process: Process,
    /// Its HTTP address.
    pub http: SocketAddr,
    /// Its TCP line address.
    pub tcp: SocketAddr,
}

impl BridgeProcess {
    /// Starts the binary against `nats_url` on free ports with extra env vars, and waits
    /// until its `/readyz` answers 200.
    pub async fn spawn(nats_url: &str, env: &[(&str, &str)]) -> BridgeProcess {
        let free = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
        };
        let (http, tcp) = (free(), free());
        let (http_env, tcp_env) = (http.to_string(), tcp.to_string());
        let base = [
            ("CHORUS_NATS_URL", nats_url),
            ("CHORUS_HTTP_ADDR", http_env.as_str()),
            ("CHORUS_TCP_ADDR", tcp_env.as_str()),
            ("CHORUS_LOG", "warn"),
        ];
        let mut process = Process::spawn("chorus-bridge", &[&base[..], env].concat());
        process.wait_ready(http, "/readyz").await;
        BridgeProcess { process, http, tcp }
    }
}

/// `int.rooms.create` of `game` for `players` (`[{id, name}]`), as the matchmaker asks it
/// on `worker`: the new room's id.
pub async fn create_room(worker: &async_nats::Client, game: &str, players: Value, rated: bool) -> String {
    let body = json!({"game": game, "players": players, "rated": rated});
    let reply = worker
        .request("int.rooms.create", body.to_string().into())
        .await
        .unwrap();
    let created: Value = serde_json::from_slice(&reply.payload).unwrap();
    created["room"]
        .as_str()
        .unwrap_or_else(|| panic!("int.rooms.create: {created}"))
        .to_string()
}
