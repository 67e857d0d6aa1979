//! A connection's edges: the Origin allow-list, the `private` endpoint without a verifier,
//! the connection cap, graceful shutdown of the real binary on SIGTERM, health and metrics.

mod common;

use common::{BridgeProcess, Harness, Tcp, WAIT, Ws, http_get};
use futures_util::StreamExt;
use serde_json::json;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_origin_is_refused_and_the_same_host_is_welcome() {
    let h = Harness::start().await;
    let path = "/core/game/v1/real-time/public";
    match Ws::connect(h.http, path, &[("Origin", "http://evil.example")]).await {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 403),
        Err(e) => panic!("expected HTTP 403, got {e}"),
        Ok(_) => panic!("a foreign origin was let in"),
    }
    let own = format!("http://{}", h.http);
    let (_, welcome) = Ws::connect(h.http, path, &[("Origin", own.as_str())])
        .await
        .unwrap();
    assert_eq!(welcome["op"], "welcome");

    let allowed = Harness::start_with(|c| c.allowed_origins = vec!["https://game.example".into()]).await;
    let (_, welcome) = Ws::connect(allowed.http, path, &[("Origin", "https://game.example")])
        .await
        .unwrap();
    assert_eq!(welcome["op"], "welcome");
    assert!(
        Ws::connect(allowed.http, path, &[("Origin", own.as_str())])
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_endpoint_refuses_without_a_verified_token() {
    let h = Harness::start().await;
    let path = "/core/game/v1/real-time/private";
    let mut ws = Ws::connect_raw(h.http, path).await;
    let closed = ws.closed().await;
    assert_eq!((closed.code, closed.reason.as_str()), (4500, "unauthorized"));

    let mut ws = Ws::connect_raw(h.http, &format!("{path}?token=abc.def.ghi")).await;
    assert_eq!(ws.closed().await.code, 4500);

    let mut ws = Ws::connect_raw(h.http, path).await;
    ws.send(json!({"op":"auth","token":"abc.def.ghi"})).await;
    assert_eq!(ws.closed().await.code, 4500);
    // The default endpoint with no token is a guest.
    let mut ws = Ws::connect_raw(h.http, "/v1/ws").await;
    ws.send(json!({"op":"ping","id":"1"})).await;
    assert_eq!(ws.recv().await["user"]["ns"], "guest");
    assert_eq!(ws.recv().await, json!({"op":"pong","id":"1"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_connections_the_next_client_is_told_full_and_the_others_stay() {
    let h = Harness::start_with(|c| c.max_connections = 3).await;
    let mut ws1 = h.ws().await;
    let mut ws2 = h.ws().await;
    let mut tcp = h.tcp().await;
    let mut extra = Ws::connect_raw(h.http, "/core/game/v1/real-time/public").await;
    let closed = extra.closed().await;
    assert_eq!((closed.code, closed.reason.as_str()), (4003, "server_full"));
    let mut extra_tcp = Tcp::connect(h.tcp).await;
    assert_eq!(
        extra_tcp.recv().await,
        json!({"op":"close","code":4003,"reason":"server_full","reconnect":true})
    );
    for ws in [&mut ws1, &mut ws2] {
        assert_eq!(
            ws.call(json!({"op":"ping","id":"x"})).await,
            json!({"op":"pong","id":"x"})
        );
    }
    assert_eq!(
        tcp.call(json!({"op":"ping","id":"y"})).await,
        json!({"op":"pong","id":"y"})
    );
    assert_eq!(
        h.metric("chorus_bridge_closes_total{reason=\"server_full\"}")
            .await,
        2.0
    );
    // A slot freed is a slot taken again.
    drop(ws1);
    let deadline = tokio::time::Instant::now() + WAIT;
    while h.metric("chorus_bridge_connections").await > 2.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the closed connection never freed its slot"
        );
        tokio::task::yield_now().await;
    }
    let _ws4 = h.ws().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_answer() {
    let mut h = Harness::start().await;
    assert_eq!(http_get(h.http, "/healthz").await.0, 200);
    assert_eq!(http_get(h.http, "/readyz").await.0, 200);
    let mut ws = h.ws().await;
    ws.call(json!({"op":"ping"})).await;
    // A worker that answers `test.echo.*`, and a request nobody serves.
    let worker = h.nats_client().await;
    let mut echo = worker.subscribe("test.echo.say").await.unwrap();
    chorus_runtime::bus::round_trip(&worker, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    tokio::spawn(async move {
        while let Some(msg) = futures_util::StreamExt::next(&mut echo).await {
            let _ = worker.publish(msg.reply.unwrap(), msg.payload).await;
        }
    });
    let reply = ws
        .call(json!({"op":"req","id":"1","subject":"test.echo.say","data":1}))
        .await;
    assert_eq!(reply["op"], "reply", "{reply}");
    let nobody = ws
        .call(json!({"op":"req","id":"2","subject":"test.nobody.home"}))
        .await;
    assert_eq!(nobody["code"], "unavailable", "{nobody}");
    let metrics = h.metrics().await;
    for name in [
        "chorus_bridge_request_seconds_count{worker=\"echo\",result=\"ok\"} 1",
        "chorus_bridge_request_seconds_count{worker=\"none\",result=\"unavailable\"} 1",
        "chorus_bridge_connections ",
        "chorus_bridge_frames_in_total{op=\"ping\"} 1",
        "chorus_bridge_frames_out_total{op=\"pong\"} 1",
        "chorus_bridge_errors_total{code=\"forbidden\"} 0",
        "chorus_bridge_closes_total{reason=\"slow_consumer\"} 0",
        "chorus_bridge_nats_subscriptions 0",
        "chorus_bridge_outbound_queued_frames ",
    ] {
        assert!(metrics.contains(name), "missing {name:?} in\n{metrics}");
    }
    h.nats.stop().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while http_get(h.http, "/readyz").await.0 != 503 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "readyz stayed ready without NATS"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_clients_with_going_away_and_the_binary_exits() {
    let nats = chorus_testkit::NatsServer::start().await;
    let mut bridge = BridgeProcess::spawn(&nats.url(), &[]).await;
    let (mut ws, welcome) = Ws::connect(bridge.http, "/core/game/v1/real-time/public", &[])
        .await
        .unwrap();
    assert_eq!(welcome["op"], "welcome");
    let mut line = Tcp::connect(bridge.tcp).await;
    line.send(json!({"op":"ping"})).await;
    assert_eq!(line.recv().await["op"], "welcome");
    assert_eq!(line.recv().await["op"], "pong");

    let (exit, closed) = tokio::join!(bridge.terminate(), ws.closed());
    assert_eq!((closed.code, closed.reason.as_str()), (1001, "going_away"));
    assert_eq!(
        line.recv().await,
        json!({"op":"close","code":1001,"reason":"going_away","reconnect":true})
    );
    assert!(exit.success(), "{exit:?}");
}

/// A marker sent as a payload in [`logged_session`].
const PAYLOAD_MARKER: &str = "payload-marker-7f3c91";
/// A marker inside the tokens sent in [`logged_session`].
const TOKEN_MARKER: &str = "secret-token-marker";

/// Everything the bridge binary logged at `debug`, in `format`, through a session that
/// sends payloads and tokens every way a client can: a refused token in the URL and in an
/// `auth` frame, a publish, a request nobody serves, a malformed and an oversize frame.
async fn logged_session(format: &str) -> String {
    let nats = chorus_testkit::NatsServer::start().await;
    let policy = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(policy.path(), common::TEST_POLICY).unwrap();
    let policy_path = policy.path().to_str().unwrap();
    let mut bridge = BridgeProcess::spawn(
        &nats.url(),
        &[
            ("CHORUS_LOG", "debug"),
            ("CHORUS_LOG_FORMAT", format),
            ("CHORUS_POLICY", policy_path),
            ("CHORUS_MAX_FRAME_BYTES", "4096"),
        ],
    )
    .await;
    let marker = PAYLOAD_MARKER;
    let token = format!("eyJhbGciOiJFUzI1NiJ9.{TOKEN_MARKER}.c2ln");
    let mut ws = Ws::connect_raw(bridge.http, &format!("/v1/ws?token={token}")).await;
    assert_eq!(ws.closed().await.code, 4500);
    let mut tcp = Tcp::connect(bridge.tcp).await;
    tcp.send(json!({"op":"ping"})).await;
    tcp.recv().await;
    tcp.recv().await;
    tcp.send(json!({"op":"sub","id":"1","subject":"test.logs"})).await;
    assert_eq!(tcp.recv().await["op"], "ok");
    tcp.send(json!({"op":"pub","id":"2","subject":"test.logs","data":{"secret":marker}}))
        .await;
    assert_eq!(tcp.recv().await["op"], "ok");
    assert_eq!(tcp.recv().await["data"]["secret"], marker);
    tcp.send(json!({"op":"auth","token":token})).await;
    assert_eq!(tcp.recv().await["code"], "unauthorized");
    tcp.send(json!({"op":"req","id":"3","subject":"test.none","data":marker}))
        .await;
    assert_eq!(tcp.recv().await["code"], "unavailable");
    tcp.send_line(&format!("{{\"op\":\"pub\",\"data\":\"{marker}\""))
        .await;
    assert_eq!(tcp.recv().await["code"], "bad_request");
    tcp.send_line(&format!("{{\"data\":\"{}\"}}", marker.repeat(200)))
        .await;
    assert_eq!(tcp.recv().await["reason"], "too_large");
    assert!(bridge.terminate().await.success());
    let log = bridge.log();
    assert!(
        log.contains("chorus-bridge listening"),
        "the log was captured:\n{log}"
    );
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_line_carries_a_payload_or_a_token() {
    let log = logged_session("text").await;
    assert!(!log.contains(PAYLOAD_MARKER), "a payload reached the log:\n{log}");
    assert!(!log.contains(TOKEN_MARKER), "a token reached the log:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_a_line_and_carry_no_payload() {
    let log = logged_session("json").await;
    let mut lines = 0;
    for line in log.lines() {
        let entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(
            entry["level"].is_string() && entry["fields"].is_object(),
            "{line}"
        );
        lines += 1;
    }
    assert!(lines > 3, "{log}");
    assert!(!log.contains(PAYLOAD_MARKER), "a payload reached the log:\n{log}");
    assert!(!log.contains(TOKEN_MARKER), "a token reached the log:\n{log}");
}

#[test]
fn help_lists_every_setting() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chorus-bridge"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let source = include_str!("../src/config.rs");
    let vars: Vec<&str> = source
        .split("env = \"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    assert!(vars.len() > 20, "{vars:?}");
    for var in vars {
        assert!(help.contains(var), "--help does not mention {var}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_answers_pings_is_closed_no_pong_and_one_that_does_stays() {
    let h = Harness::start_with(|c| {
        c.ping_interval_ms = 100;
        c.pong_timeout_ms = 200;
    })
    .await;
    // This one never reads, so its WebSocket library never answers the pings.
    let mut deaf = h.ws().await;
    let mut alive = h.ws().await;
    let mut pings = 0;
    while pings < 5 {
        match timeout(WAIT, alive.stream.next()).await.unwrap() {
            Some(Ok(tungstenite::Message::Ping(_))) => pings += 1,
            other => panic!("expected pings, got {other:?}"),
        }
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while h.metric("chorus_bridge_closes_total{reason=\"no_pong\"}").await < 1.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the deaf client was never closed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let closed = deaf.closed().await;
    assert_eq!((closed.code, closed.reason.as_str()), (4001, "no_pong"));
    assert_eq!(
        alive.call(json!({"op":"ping","id":"still"})).await,
        json!({"op":"pong","id":"still"})
    );
}
