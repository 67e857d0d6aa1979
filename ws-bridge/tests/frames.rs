//! The wire contract over real WebSocket and TCP clients, a real bridge and a real
//! nats-server: routing between transports, bad frames, the policy, identity headers,
//! request-reply, frame size and rate limits.

mod common;

use common::{Harness, Tcp, Ws};
use futures_util::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_and_tcp_clients_see_each_others_messages() {
    let h = Harness::start().await;
    let mut ws = h.ws().await;
    let mut tcp = h.tcp().await;
    assert_eq!(
        ws.call(json!({"op":"sub","id":"1","subject":"test.room"})).await,
        json!({"op":"ok","id":"1"})
    );
    assert_eq!(
        tcp.call(json!({"op":"sub","id":"1","subject":"test.room"})).await,
        json!({"op":"ok","id":"1"})
    );
    let tcp_user = tcp.welcome["user"].clone();

    ws.send(json!({"op":"pub","subject":"test.room","data":{"text":"from ws"}}))
        .await;
    for got in [ws.recv().await, tcp.recv().await] {
        assert_eq!(got["op"], "msg");
        assert_eq!(got["subject"], "test.room");
        assert_eq!(got["data"], json!({"text":"from ws"}));
    }

    tcp.send(json!({"op":"pub","subject":"test.room","data":{"text":"from tcp"},"id":"2"}))
        .await;
    assert_eq!(tcp.recv().await, json!({"op":"ok","id":"2"}));
    let got = ws.recv().await;
    assert_eq!(got["data"], json!({"text":"from tcp"}));
    assert_eq!(got["from"]["id"], tcp_user["id"]);
    assert_eq!(got["from"]["name"], tcp_user["name"]);
    assert_eq!(tcp.recv().await["data"], json!({"text":"from tcp"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_frame_gets_bad_request_and_the_connection_lives_on() {
    let h = Harness::start().await;
    let mut ws = h.ws().await;
    ws.send_text("{this is not json".into()).await;
    let err = ws.recv().await;
    assert_eq!(
        (err["op"].as_str(), err["code"].as_str()),
        (Some("err"), Some("bad_request"))
    );
    let err = ws.call(json!({"op":"sub","id":"7"})).await;
    assert_eq!(
        (err["code"].as_str(), err["id"].as_str()),
        (Some("bad_request"), Some("7"))
    );
    let err = ws.call(json!({"op":"fly","id":"8"})).await;
    assert_eq!(
        (err["code"].as_str(), err["id"].as_str()),
        (Some("bad_request"), Some("8"))
    );
    assert_eq!(
        ws.call(json!({"op":"ping","id":"9"})).await,
        json!({"op":"pong","id":"9"})
    );

    let mut tcp = h.tcp().await;
    tcp.send_line("garbage").await;
    assert_eq!(tcp.recv().await["code"], "bad_request");
    assert_eq!(
        tcp.call(json!({"op":"ping","id":"10"})).await,
        json!({"op":"pong","id":"10"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_forbids_and_bad_subjects_are_bad_requests() {
    let h = Harness::start().await;
    let mut ws = h.ws().await;
    let err = ws
        .call(json!({"op":"pub","id":"p1","subject":"chat.lobby","data":{}}))
        .await;
    assert_eq!(
        err,
        json!({"op":"err","id":"p1","code":"forbidden","message":"not allowed to publish on that subject"})
    );
    let err = ws
        .call(json!({"op":"sub","id":"s1","subject":"user.someone-else.dm"}))
        .await;
    assert_eq!(
        (err["code"].as_str(), err["id"].as_str()),
        (Some("forbidden"), Some("s1"))
    );
    let err = ws
        .call(json!({"op":"req","id":"r1","subject":"svc.store.buy","data":{}}))
        .await;
    assert_eq!(
        (err["code"].as_str(), err["id"].as_str()),
        (Some("forbidden"), Some("r1"))
    );

    for (i, subject) in [
        "test.*",
        "test.>",
        "test.a b",
        "test..x",
        "test.",
        "",
        "$JS.API.INFO",
    ]
    .iter()
    .enumerate()
    {
        let id = format!("b{i}");
        let err = ws
            .call(json!({"op":"pub","id":id,"subject":subject,"data":{}}))
            .await;
        assert_eq!(
            (err["code"].as_str(), err["id"].as_str()),
            (Some("bad_request"), Some(id.as_str())),
            "{subject:?}"
        );
        let err = ws
            .call(json!({"op":"req","id":id,"subject":subject,"data":{}}))
            .await;
        assert_eq!(err["code"], "bad_request", "{subject:?}");
    }
    // Patterns are fine to subscribe to where the policy covers them.
    assert_eq!(
        ws.call(json!({"op":"sub","id":"w","subject":"test.*"})).await["op"],
        "ok"
    );
    assert_eq!(
        ws.call(json!({"op":"sub","id":"x","subject":"test.a b"})).await["code"],
        "bad_request"
    );
    assert_eq!(
        ws.call(json!({"op":"unsub","id":"u","subject":"test.nothing"}))
            .await["code"],
        "not_found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_reaches_nats_carries_the_bridges_identity_headers() {
    let h = Harness::start().await;
    let nats = h.nats_client().await;
    let mut sub = nats.subscribe("test.headers").await.unwrap();
    chorus_runtime::bus::round_trip(&nats, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let (mut ws, welcome) = Ws::connect(h.http, "/core/game/v1/real-time/public", &[])
        .await
        .unwrap();
    let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    // A client trying to pass itself off as someone else, in every place it can.
    ws.send(json!({
        "op":"pub","subject":"test.headers","id":"1","traceparent":trace,
        "data":{"Chorus-User":"admin","headers":{"Chorus-User":"admin","Chorus-Ns":"private"}},
        "Chorus-User":"admin","headers":{"Chorus-User":"admin"}
    }))
    .await;
    assert_eq!(ws.recv().await["op"], "ok");
    let msg = tokio::time::timeout(common::WAIT, sub.next())
        .await
        .unwrap()
        .unwrap();
    let headers = msg.headers.expect("headers");
    let get = |k: &str| headers.get(k).map(|v| v.as_str().to_string());
    assert_eq!(get("Chorus-User").as_deref(), welcome["user"]["id"].as_str());
    assert_eq!(get("Chorus-Name").as_deref(), welcome["user"]["name"].as_str());
    assert_eq!(get("Chorus-Ns").as_deref(), Some("guest"));
    assert_eq!(get("Chorus-Conn").as_deref(), welcome["conn"].as_str());
    assert_eq!(headers.get_all("Chorus-User").count(), 1);
    let tp = get("traceparent").unwrap();
    assert!(
        tp.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && tp != trace,
        "{tp}"
    );
    // The payload is forwarded byte for byte.
    let payload: serde_json::Value = serde_json::from_slice(&msg.payload).unwrap();
    assert_eq!(payload["Chorus-User"], "admin");

    // Without a traceparent the bridge starts a trace.
    ws.send(json!({"op":"pub","subject":"test.headers","data":1}))
        .await;
    let msg = tokio::time::timeout(common::WAIT, sub.next())
        .await
        .unwrap()
        .unwrap();
    let tp = msg
        .headers
        .unwrap()
        .get("traceparent")
        .unwrap()
        .as_str()
        .to_string();
    assert_eq!(tp.len(), 55, "{tp}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_get_replies_worker_errors_and_unavailable() {
    let h = Harness::start().await;
    let nats = h.nats_client().await;
    let mut svc = nats.subscribe("test.svc.echo").await.unwrap();
    chorus_runtime::bus::round_trip(&nats, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let worker = nats.clone();
    tokio::spawn(async move {
        while let Some(req) = svc.next().await {
            let reply = req.reply.unwrap();
            let user = req
                .headers
                .as_ref()
                .and_then(|h| h.get("Chorus-User"))
                .unwrap()
                .as_str()
                .to_string();
            if req.payload.as_ref() == b"{\"fail\":true}" {
                let mut h = async_nats::HeaderMap::new();
                h.insert("Chorus-Error", "conflict");
                worker
                    .publish_with_headers(reply, h, "name taken".into())
                    .await
                    .unwrap();
            } else {
                let body = json!({"echo": serde_json::from_slice::<serde_json::Value>(&req.payload).unwrap(), "user": user});
                worker.publish(reply, body.to_string().into()).await.unwrap();
            }
        }
    });
    let (mut ws, welcome) = Ws::connect(h.http, "/core/game/v1/real-time/public", &[])
        .await
        .unwrap();
    let reply = ws
        .call(json!({"op":"req","id":"1","subject":"test.svc.echo","data":{"n":1}}))
        .await;
    assert_eq!(
        reply,
        json!({"op":"reply","id":"1","data":{"echo":{"n":1},"user":welcome["user"]["id"]}})
    );
    let err = ws
        .call(json!({"op":"req","id":"2","subject":"test.svc.echo","data":{"fail":true}}))
        .await;
    assert_eq!(
        err,
        json!({"op":"err","id":"2","code":"conflict","message":"name taken"})
    );
    let err = ws
        .call(json!({"op":"req","id":"3","subject":"test.svc.nobody","data":{}}))
        .await;
    assert_eq!(
        (err["code"].as_str(), err["id"].as_str()),
        (Some("unavailable"), Some("3"))
    );

    // A responder that never answers: the client's timeout, capped by the bridge, applies.
    let _silent = nats.subscribe("test.svc.silent").await.unwrap();
    chorus_runtime::bus::round_trip(&nats, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let err = ws
        .call(json!({"op":"req","id":"4","subject":"test.svc.silent","data":{},"timeout_ms":200}))
        .await;
    assert_eq!(
        (err["code"].as_str(), err["id"].as_str()),
        (Some("timeout"), Some("4"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_over_the_limit_closes_too_large_and_one_at_the_limit_passes() {
    const LIMIT: usize = 2048;
    let h = Harness::start_with(|c| c.max_frame_bytes = LIMIT).await;
    let frame_of = |len: usize| {
        let base = json!({"op":"pub","id":"1","subject":"test.size","data":""}).to_string();
        json!({"op":"pub","id":"1","subject":"test.size","data":"x".repeat(len - base.len())}).to_string()
    };
    assert_eq!(frame_of(LIMIT).len(), LIMIT);

    let mut ws = h.ws().await;
    ws.send_text(frame_of(LIMIT)).await;
    assert_eq!(ws.recv().await, json!({"op":"ok","id":"1"}));
    ws.send_text(frame_of(LIMIT + 1)).await;
    let closed = ws.closed().await;
    assert_eq!((closed.code, closed.reason.as_str()), (4502, "too_large"));

    let mut tcp = h.tcp().await;
    tcp.send_line(&frame_of(LIMIT)).await;
    assert_eq!(tcp.recv().await, json!({"op":"ok","id":"1"}));
    // Far more than the limit: the bridge must close without waiting for the newline.
    tcp.send_line(&frame_of(LIMIT * 20)).await;
    assert_eq!(
        tcp.recv().await,
        json!({"op":"close","code":4502,"reason":"too_large","reconnect":false})
    );
    assert_eq!(tcp.recv().await, serde_json::Value::Null);
    assert_eq!(
        h.metric("chorus_bridge_closes_total{reason=\"too_large\"}").await,
        2.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flooding_gets_rate_limited_then_closed() {
    let h = Harness::start_with(|c| {
        c.rate_per_sec = 5;
        c.rate_burst = 5;
        c.rate_abuse_per_sec = 5;
    })
    .await;
    let mut ws = h.ws().await;
    let mut limited = 0;
    for i in 0..100 {
        // The bridge may close mid-flood; later sends may fail, which is fine here.
        let frame = json!({"op":"ping","id":i.to_string()}).to_string();
        if futures_util::SinkExt::send(&mut ws.stream, tungstenite::Message::text(frame))
            .await
            .is_err()
        {
            break;
        }
    }
    loop {
        match tokio::time::timeout(common::WAIT, ws.stream.next())
            .await
            .unwrap()
        {
            Some(Ok(tungstenite::Message::Text(t))) => {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                if v["code"] == "rate_limited" {
                    limited += 1;
                }
            }
            Some(Ok(tungstenite::Message::Close(Some(f)))) => {
                assert_eq!((u16::from(f.code), f.reason.as_str()), (4002, "rate_limited"));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(limited >= 1, "told rate_limited before the close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_tcp_client_becomes_a_guest_after_the_first_frame_timeout() {
    let h = Harness::start().await;
    let mut tcp = Tcp::connect(h.tcp).await;
    let welcome = tcp.recv().await;
    assert_eq!(welcome["op"], "welcome");
    assert_eq!(welcome["user"]["ns"], "guest");
    assert!(welcome["user"]["id"].as_str().unwrap().starts_with("g-"));
    assert_eq!(tcp.call(json!({"op":"ping"})).await, json!({"op":"pong"}));
}
