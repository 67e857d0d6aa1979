//! Every binary's `/metrics` after a flow through the whole platform as `scripts/run`
//! starts it: two players sign up, chat in the lobby, ask who is online, look at the store,
//! queue for tic-tac-toe and are matched. Each process's counters for what it did moved.

mod common;

use chorus_testkit::client::{Ws, http_get};
use common::run::Platform;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;

/// A signed-in player on the private endpoint, past `welcome`, subscribed to its inbox.
struct Player {
    ws: Ws,
    id: String,
    next: u64,
}

impl Player {
    async fn sign_up(http: SocketAddr, name: &str) -> Player {
        let login = common::sign_up_and_log_in(http, name).await;
        let token = login["access_token"].as_str().unwrap();
        let path = format!("/core/game/v1/real-time/private?token={token}");
        let (ws, welcome) = Ws::connect(http, &path, &[]).await.unwrap();
        assert_eq!(welcome["user"]["ns"], "private", "{welcome}");
        let mut player = Player {
            ws,
            id: welcome["user"]["id"].as_str().unwrap().to_string(),
            next: 0,
        };
        let inbox = format!("user.{}.>", player.id);
        let ok = player
            .ws
            .call(json!({"op":"sub","id":"inbox","subject":inbox}))
            .await;
        assert_eq!(ok["op"], "ok", "{ok}");
        player
    }

    /// A request; its reply's data.
    async fn request(&mut self, subject: &str, data: Value) -> Value {
        self.next += 1;
        let id = self.next.to_string();
        self.ws
            .send(json!({"op":"req","id":id,"subject":subject,"data":data}))
            .await;
        loop {
            let frame = self.ws.recv().await;
            if frame["id"] == id.as_str() {
                assert_eq!(frame["op"], "reply", "{subject}: {frame}");
                return frame["data"].clone();
            }
        }
    }

    /// Waits for a message on the player's inbox subject `user.{id}.{kind}`.
    async fn inbox(&mut self, kind: &str) -> Value {
        let subject = format!("user.{}.{kind}", self.id);
        loop {
            let frame = self.ws.recv().await;
            if frame["op"] == "msg" && frame["subject"] == subject.as_str() {
                return frame["data"].clone();
            }
        }
    }
}

/// The sum over the lines of `text` that start with `prefix` (a metric and some labels).
fn sum(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_flow_every_binary_counted_what_it_did() {
    let mut up = Platform::up().await;
    let http = up.http;
    // After the up line: "  metrics: <name> http://<addr>/metrics", one per process.
    let mut metrics: HashMap<String, SocketAddr> = HashMap::new();
    while let Some(line) = up.stdout.next_line().await.unwrap() {
        if let Some(rest) = line.trim().strip_prefix("metrics: ") {
            let (name, url) = rest.split_once(' ').unwrap();
            let addr = url.trim_start_matches("http://").trim_end_matches("/metrics");
            metrics.insert(name.to_string(), addr.parse().unwrap());
        } else if line.contains("Ctrl-C") {
            break;
        }
    }

    let mut ann = Player::sign_up(http, "ann").await;
    let mut bob = Player::sign_up(http, "bob").await;
    ann.request("svc.chat.send", json!({"channel":"lobby","text":"hi"}))
        .await;
    ann.request("svc.presence.friends", json!({})).await;
    bob.request("svc.store.catalog", json!({})).await;
    ann.request("svc.mm.join", json!({"game":"tictactoe"})).await;
    bob.request("svc.mm.join", json!({"game":"tictactoe"})).await;
    let (a, b) = (ann.inbox("match").await, bob.inbox("match").await);
    assert_eq!(a["room"], b["room"], "{a} {b}");

    let text = |name: &str| {
        let addr = *metrics
            .get(name)
            .unwrap_or_else(|| panic!("scripts/run printed no metrics address for {name}: {metrics:?}"));
        let name = name.to_string();
        async move {
            let (status, body) = http_get(addr, "/metrics").await;
            assert_eq!(status, 200, "{name}");
            body
        }
    };
    let worker = |w: &str, method: &str| {
        format!(r#"chorus_worker_requests_total{{worker="{w}",method="{method}",code="ok"}}"#)
    };
    let bridge = text("chorus-bridge").await;
    assert!(
        sum(&bridge, r#"chorus_bridge_frames_in_total{op="req"}"#) >= 9.0,
        "{bridge}"
    );
    assert!(
        sum(
            &bridge,
            r#"chorus_bridge_request_seconds_count{worker="accounts",result="ok"}"#
        ) >= 4.0,
        "{bridge}"
    );
    assert!(
        sum(&bridge, r#"chorus_bridge_frames_out_total{op="msg"}"#) >= 2.0,
        "{bridge}"
    );
    for (process, w, method, at_least) in [
        ("chorus-accounts", "accounts", "signup", 2.0),
        ("chorus-accounts", "accounts", "login", 2.0),
        ("chorus-chat", "chat", "send", 1.0),
        ("chorus-presence", "presence", "friends", 1.0),
        ("chorus-store", "store", "catalog", 1.0),
        ("chorus-matchmaker", "mm", "join", 2.0),
    ] {
        let body = text(process).await;
        let n = sum(&body, &worker(w, method));
        assert!(n >= at_least, "{process}: {w}.{method} counted {n}\n{body}");
    }
    // The room was made by one of the two rooms replicas.
    let mut created = 0.0;
    let mut rooms_text = String::new();
    for replica in metrics.keys().filter(|k| k.starts_with("chorus-rooms")) {
        let body = text(replica).await;
        created += sum(&body, &worker("rooms", "create"));
        rooms_text.push_str(&body);
    }
    assert_eq!(created, 1.0, "one room made, by one replica");

    // What each worker waited on, timed through the kit's Waits, where the flow made it
    // wait: `chorus_worker_{db,kv,nats_request}_seconds_count{worker=…,…}` summed.
    let waited = |kind: &str, w: &str, labels: &str| {
        format!(r#"chorus_worker_{kind}_seconds_count{{worker="{w}",{labels}"#)
    };
    let mut bodies: Vec<(&str, String)> = Vec::new();
    for process in [
        "chorus-accounts",
        "chorus-chat",
        "chorus-presence",
        "chorus-matchmaker",
    ] {
        bodies.push((process, text(process).await));
    }
    bodies.push(("chorus-rooms (both replicas)", rooms_text));
    let body_of = |process: &str| &bodies.iter().find(|(p, _)| p.starts_with(process)).unwrap().1;
    for (process, kind, w, labels, at_least) in [
        ("chorus-accounts", "db", "accounts", r#"op="login""#, 2.0),
        ("chorus-chat", "kv", "chat", r#"bucket="chat""#, 1.0),
        ("chorus-presence", "kv", "presence", r#"bucket="presence""#, 1.0),
        (
            "chorus-presence",
            "nats_request",
            "presence",
            r#"subject="int.friends.of",result="ok""#,
            1.0,
        ),
        ("chorus-matchmaker", "kv", "mm", r#"bucket="mm",op="create""#, 2.0),
        (
            "chorus-matchmaker",
            "nats_request",
            "mm",
            r#"subject="int.rooms.create",result="ok""#,
            1.0,
        ),
        (
            "chorus-matchmaker",
            "nats_request",
            "mm",
            r#"subject="int.rating.of",result="ok""#,
            1.0,
        ),
        (
            "chorus-rooms",
            "kv",
            "rooms",
            r#"bucket="rooms",op="create""#,
            2.0,
        ),
        ("chorus-rooms", "db", "rooms", r#"op="rating_of""#, 1.0),
        (
            "chorus-rooms",
            "nats_request",
            "rooms",
            r#"subject="int.store.owned",result="ok""#,
            1.0,
        ),
    ] {
        let body = body_of(process);
        let n = sum(body, &waited(kind, w, labels));
        assert!(
            n >= at_least,
            "{process}: {kind} wait {labels} counted {n}\n{body}"
        );
    }

    // Every worker process says it is connected to NATS (and the gauge is there at all).
    let workers: Vec<String> = metrics
        .keys()
        .filter(|k| k.as_str() != "chorus-bridge")
        .cloned()
        .collect();
    assert!(workers.len() >= 7, "{workers:?}");
    for process in workers {
        let body = text(&process).await;
        let gauge: Vec<&str> = body
            .lines()
            .filter(|l| l.starts_with("chorus_worker_nats_connected{"))
            .collect();
        assert_eq!(gauge.len(), 1, "{process}: {gauge:?}\n{body}");
        assert!(gauge[0].ends_with(" 1"), "{process}: {}", gauge[0]);
    }

    assert!(up.run.terminate().await.code().is_some());
}
