//! The `chorus-presence` binary as an operator runs it: settings from the environment, the
//! bucket and the event stream made before `/readyz` answers 200, its bucket reads timed on
//! `/metrics`, a clean exit on SIGTERM.

use chorus_protocol::presence::{self, ConnEvent};
use chorus_testkit::{NatsServer, Process};
use futures_util::StreamExt;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_keeps_presence_and_stops_on_sigterm() {
    let nats = NatsServer::start().await;
    let http = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut worker = Process::spawn(
        "chorus-presence",
        &[
            ("CHORUS_NATS_URL", &nats.url()),
            ("CHORUS_WORKER_HTTP_ADDR", &http.to_string()),
            ("CHORUS_PRESENCE_TTL_SECS", "5"),
            ("CHORUS_LOG", "debug"),
        ],
    );
    // Ready means listening too: the event stream and the heartbeat subscription exist.
    worker.wait_ready(http, "/readyz").await;

    let bus = async_nats::connect(nats.url()).await.unwrap();
    let kv = async_nats::jetstream::new(bus.clone())
        .get_key_value(presence::BUCKET)
        .await
        .unwrap();
    let mut watch = kv.watch(presence::user_key("5")).await.unwrap();
    let event = ConnEvent {
        bridge: "b".into(),
        conn: "b-1".into(),
        user: "5".into(),
        name: "five".into(),
    };
    let body = serde_json::to_vec(&event).unwrap();
    bus.publish(presence::connect_subject("5"), body.into())
        .await
        .unwrap();
    let entry = tokio::time::timeout(Duration::from_secs(15), watch.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let record: presence::UserPresence = serde_json::from_slice(&entry.value).unwrap();
    assert_eq!(record.name, "five");
    // The read before that write was timed (and observed before the write began).
    let (_, metrics) = chorus_testkit::client::http_get(http, "/metrics").await;
    let reads = r#"chorus_worker_kv_seconds_count{worker="presence",bucket="presence",op="get"} "#;
    let count = metrics.lines().find_map(|l| l.strip_prefix(reads));
    assert!(count.is_some_and(|n| n.parse::<u64>().unwrap() >= 1), "{metrics}");

    let exit = worker.terminate(Duration::from_secs(15)).await;
    assert!(exit.success(), "{exit:?}\n{}", worker.log());
}

#[test]
fn help_lists_the_settings() {
    let out = std::process::Command::new(chorus_testkit::process::binary("chorus-presence"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for setting in [
        "CHORUS_NATS_URL",
        "CHORUS_PRESENCE_TTL_SECS",
        "CHORUS_PRESENCE_FRIENDS_TIMEOUT_MS",
        "CHORUS_LOG",
    ] {
        assert!(help.contains(setting), "{setting} missing from --help");
    }
}
