//! Fan-out against a real nats-server: one NATS subscription per subject however many
//! sockets share it, a slow consumer closed without costing the others a message, and
//! subscriptions that survive a nats-server restart.

mod common;

use common::{Harness, WAIT, Ws};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_sockets_on_one_subject_share_one_nats_subscription() {
    const N: usize = 1000;
    let h = Harness::start_with(|c| c.max_connections = 2 * N).await;
    let mut clients = Vec::with_capacity(N);
    for chunk in 0..N / 100 {
        let batch = (0..100).map(|i| {
            let addr = h.http;
            async move {
                let (mut ws, _) = Ws::connect(addr, "/core/game/v1/real-time/public", &[])
                    .await
                    .unwrap();
                let id = format!("{chunk}-{i}");
                assert_eq!(
                    ws.call(json!({"op":"sub","id":id,"subject":"test.shared"})).await["op"],
                    "ok"
                );
                ws
            }
        });
        clients.extend(futures_util::future::join_all(batch).await);
    }
    h.await_bridge_subscriptions("test.shared", 1).await;
    let connz = h.nats.monitor_json("/connz?subs=1").await;
    let bridge = connz["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "chorus-bridge")
        .unwrap();
    // Besides its request inbox and the control subjects, the bridge holds one subscription.
    let subs: Vec<&Value> = bridge["subscriptions_list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !s.as_str().unwrap().starts_with("_INBOX.") && !s.as_str().unwrap().starts_with("ctl."))
        .collect();
    assert_eq!(
        subs,
        vec![&json!("test.shared")],
        "one subscription for {N} sockets"
    );

    // Every socket gets a message published once.
    let nats = h.nats_client().await;
    nats.publish("test.shared", r#"{"hello":1}"#.into())
        .await
        .unwrap();
    for ws in clients.iter_mut() {
        assert_eq!(ws.recv().await["data"], json!({"hello":1}));
    }

    for (i, ws) in clients.iter_mut().enumerate() {
        let id = i.to_string();
        assert_eq!(
            ws.call(json!({"op":"unsub","id":id,"subject":"test.shared"}))
                .await["op"],
            "ok"
        );
        if i == N - 2 {
            // One socket left: the subscription must still be there.
            assert_eq!(h.bridge_subscriptions("test.shared").await, 1);
        }
    }
    h.await_bridge_subscriptions("test.shared", 0).await;
    assert_eq!(h.metric("chorus_bridge_nats_subscriptions").await, 0.0);
}

/// A WebSocket client with a tiny receive buffer, so that not reading fills it fast.
async fn tiny_window_client(h: &Harness) -> Ws {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&h.http.into()).unwrap();
    socket.set_nonblocking(true).unwrap();
    let stream = TcpStream::from_std(socket.into()).unwrap();
    let url = format!("ws://{}/core/game/v1/real-time/public", h.http);
    let (stream, _) = tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(stream))
        .await
        .unwrap();
    let mut ws = Ws { stream };
    assert_eq!(ws.recv().await["op"], "welcome");
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_closed_while_the_other_49_get_every_message() {
    const BURST: usize = 8;
    let h = Harness::start_with(|c| {
        c.outbound_queue = 32;
        c.ws_write_buffer = 4096;
        c.write_timeout_ms = 60_000;
    })
    .await;
    let mut slow = tiny_window_client(&h).await;
    assert_eq!(
        slow.call(json!({"op":"sub","id":"s","subject":"test.flood"}))
            .await["op"],
        "ok"
    );
    let mut fast = Vec::new();
    for i in 0..49 {
        let mut ws = h.ws().await;
        assert_eq!(
            ws.call(json!({"op":"sub","id":i.to_string(),"subject":"test.flood"}))
                .await["op"],
            "ok"
        );
        fast.push(ws);
    }

    // Publish in bursts smaller than the queue, each awaited by all 49 fast readers, until
    // the slow one (which reads nothing) has been closed.
    let nats = h.nats_client().await;
    let pad = "x".repeat(4000);
    let mut sent = 0usize;
    let mut bursts = 0;
    while h
        .metric("chorus_bridge_closes_total{reason=\"slow_consumer\"}")
        .await
        < 1.0
    {
        bursts += 1;
        assert!(bursts < 500, "the slow consumer was never closed");
        for _ in 0..BURST {
            let payload = json!({"seq": sent, "pad": pad}).to_string();
            nats.publish("test.flood", payload.into()).await.unwrap();
            sent += 1;
        }
        for ws in fast.iter_mut() {
            for want in sent - BURST..sent {
                let got = ws.recv().await;
                assert_eq!(got["data"]["seq"], json!(want), "a fast reader missed a message");
            }
        }
    }
    assert_eq!(
        h.metric("chorus_bridge_closes_total{reason=\"slow_consumer\"}")
            .await,
        1.0
    );

    // The slow one, reading at last, finds what was queued and then the close.
    let mut seen = 0;
    let closed = loop {
        match tokio::time::timeout(WAIT, slow.stream.next()).await.unwrap() {
            Some(Ok(Message::Text(_))) => seen += 1,
            Some(Ok(Message::Close(Some(f)))) => break (u16::from(f.code), f.reason.to_string()),
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(closed, (4000, "slow_consumer".to_string()));
    assert!(seen < sent, "the slow consumer cannot have received everything");
    // The others keep receiving after the close.
    nats.publish("test.flood", r#"{"seq":"after"}"#.into())
        .await
        .unwrap();
    for ws in fast.iter_mut() {
        assert_eq!(ws.recv().await["data"]["seq"], "after");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_survive_a_nats_server_restart_without_reconnecting() {
    let mut h = Harness::start().await;
    let mut ws = h.ws().await;
    assert_eq!(
        ws.call(json!({"op":"sub","id":"1","subject":"test.restart"}))
            .await["op"],
        "ok"
    );
    h.await_bridge_subscriptions("test.restart", 1).await;

    h.nats.restart().await;
    // The bridge reconnects by itself and re-subscribes; await that on the server's side.
    h.await_bridge_subscriptions("test.restart", 1).await;
    let nats = h.nats_client().await;
    nats.publish("test.restart", r#"{"after":"restart"}"#.into())
        .await
        .unwrap();
    let got = ws.recv().await;
    assert_eq!(
        (got["op"].as_str(), &got["data"]),
        (Some("msg"), &json!({"after":"restart"}))
    );
    // Same connection, still fully working both ways.
    ws.send(json!({"op":"pub","subject":"test.restart","data":{"from":"client"}}))
        .await;
    assert_eq!(ws.recv().await["data"], json!({"from":"client"}));
    assert_eq!(
        ws.call(json!({"op":"ping","id":"p"})).await,
        json!({"op":"pong","id":"p"})
    );
}
