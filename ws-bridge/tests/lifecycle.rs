//! A connection's edges: the Origin allow-list, the `private` endpoint without a verifier,
//! the connection cap, graceful shutdown of the real binary on SIGTERM, health and metrics.

mod common;

use common::{Harness, Tcp, WAIT, Ws, http_get};
use serde_json::json;
use std::process::Stdio;
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
    let metrics = h.metrics().await;
    for name in [
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
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    };
    let (http, tcp) = (free(), free());
    let mut bridge = tokio::process::Command::new(env!("CARGO_BIN_EXE_chorus-bridge"))
        .env("CHORUS_NATS_URL", nats.url())
        .env("CHORUS_HTTP_ADDR", http.to_string())
        .env("CHORUS_TCP_ADDR", tcp.to_string())
        .env("CHORUS_LOG", "warn")
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if tokio::net::TcpStream::connect(http).await.is_ok() && http_get(http, "/readyz").await.0 == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bridge never became ready"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (mut ws, welcome) = Ws::connect(http, "/core/game/v1/real-time/public", &[])
        .await
        .unwrap();
    assert_eq!(welcome["op"], "welcome");
    let mut line = Tcp::connect(tcp).await;
    line.send(json!({"op":"ping"})).await;
    assert_eq!(line.recv().await["op"], "welcome");
    assert_eq!(line.recv().await["op"], "pong");

    let pid = bridge.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let closed = ws.closed().await;
    assert_eq!((closed.code, closed.reason.as_str()), (1001, "going_away"));
    assert_eq!(
        line.recv().await,
        json!({"op":"close","code":1001,"reason":"going_away","reconnect":true})
    );
    let exit = tokio::time::timeout(WAIT, bridge.wait()).await.unwrap().unwrap();
    assert!(exit.success(), "{exit:?}");
}
