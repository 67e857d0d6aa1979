//! One request, one trace, across processes: the bridge and the accounts worker run as
//! real binaries exporting spans over OTLP/HTTP to a collector the test runs. A client's
//! `traceparent` is continued by the bridge's span and by the worker's, which is the
//! bridge span's child; without one, the bridge starts the trace and the worker joins it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chorus_testkit::client::Ws;
use chorus_testkit::otlp::{OtlpReceiver, ReceivedSpan};
use chorus_testkit::{NatsServer, Process, TestDb};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::json;
use std::net::SocketAddr;

/// A free address on 127.0.0.1.
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The pair (bridge span, worker span) of one request in `trace_id`, if both arrived and the
/// worker's is the bridge's child.
fn hop_pair<'a>(spans: &'a [ReceivedSpan], trace_id: &str) -> Option<(&'a ReceivedSpan, &'a ReceivedSpan)> {
    let in_trace = |service: &'static str| {
        spans
            .iter()
            .filter(move |s| s.service == service && s.trace_id == trace_id)
    };
    in_trace("chorus-bridge").find_map(|bridge| {
        in_trace("chorus-accounts")
            .find(|worker| worker.parent_span_id == bridge.span_id)
            .map(|worker| (bridge, worker))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_one_trace_from_the_bridge_to_the_worker() {
    let nats = NatsServer::start().await;
    let db = TestDb::create().await;
    let collector = OtlpReceiver::start().await;
    let endpoint = collector.endpoint();
    let otel = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    let key = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
    let key = STANDARD.encode(key.as_ref());
    let worker_http = free_addr();
    let mut accounts = Process::spawn(
        "chorus-accounts",
        &[
            &otel[..],
            &[
                ("CHORUS_NATS_URL", &nats.url()),
                ("DATABASE_URL", db.url()),
                ("CHORUS_SIGNING_KEYS", &key),
                ("CHORUS_WORKER_HTTP_ADDR", &worker_http.to_string()),
                ("CHORUS_PBKDF2_ITERATIONS", "1000"),
            ],
        ]
        .concat(),
    );
    accounts.wait_ready(worker_http, "/readyz").await;
    let (http, tcp) = (free_addr(), free_addr());
    let mut bridge = Process::spawn(
        "chorus-bridge",
        &[
            &otel[..],
            &[
                ("CHORUS_NATS_URL", &nats.url()),
                ("CHORUS_HTTP_ADDR", &http.to_string()),
                ("CHORUS_TCP_ADDR", &tcp.to_string()),
            ],
        ]
        .concat(),
    );
    bridge.wait_ready(http, "/readyz").await;

    let (mut guest, _welcome) = Ws::connect(http, "/core/game/v1/real-time/public", &[])
        .await
        .unwrap();
    // The client's own trace.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let data = json!({"name": "ann", "password": "password-123"});
    let signup = guest
        .call(
            json!({"op":"req","id":"1","subject":"svc.accounts.signup","data":data,
            "traceparent": format!("00-{trace_id}-00f067aa0ba902b7-01")}),
        )
        .await;
    assert_eq!(signup["op"], "reply", "{signup}");
    let spans = collector.await_spans(|s| hop_pair(s, trace_id).is_some()).await;
    let (bridge_span, _) = hop_pair(&spans, trace_id).unwrap();
    assert_eq!(
        bridge_span.parent_span_id, "00f067aa0ba902b7",
        "the bridge continues the client's span"
    );

    // No traceparent from the client: the bridge's span starts the trace, the worker joins.
    let login = guest
        .call(json!({"op":"req","id":"2","subject":"svc.accounts.login","data":data}))
        .await;
    assert_eq!(login["op"], "reply", "{login}");
    collector
        .await_spans(|spans| {
            spans
                .iter()
                .filter(|s| {
                    s.service == "chorus-bridge" && s.trace_id != trace_id && s.parent_span_id.is_empty()
                })
                .any(|root| hop_pair(spans, &root.trace_id).is_some())
        })
        .await;
    // Both stop cleanly with their exporters running.
    assert!(
        bridge
            .terminate(std::time::Duration::from_secs(15))
            .await
            .success()
    );
    assert!(
        accounts
            .terminate(std::time::Duration::from_secs(15))
            .await
            .success()
    );
}
