//! The `chorus-store` binary as an operator runs it: `--help` lists its settings, a bad
//! catalog stops it at start naming the file and the reason, a good one serves once
//! `/readyz` says so, and SIGTERM ends it cleanly.

use chorus_testkit::{NatsServer, Process, TestDb};
use std::time::Duration;

fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

#[test]
fn help_lists_the_store_settings() {
    let out = std::process::Command::new(chorus_testkit::process::binary("chorus-store"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for setting in [
        "CHORUS_STORE_CATALOG",
        "CHORUS_STORE_STARTING_BALANCE",
        "CHORUS_STORE_WIN_REWARD",
        "CHORUS_STORE_WALLET_ENTRIES",
        "CHORUS_STORE_MAX_KEY_CHARS",
        "DATABASE_URL",
    ] {
        assert!(help.contains(setting), "{setting} missing from:\n{help}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_catalog_stops_the_worker_with_the_file_and_the_reason() {
    let nats = NatsServer::start().await;
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            r#"{"goods":[{"id":"x","name":"X","price":-5,"kind":"skin"}]}"#,
            "price of `x` is negative",
        ),
        (
            r#"{"goods":[{"id":"x","name":"X","price":2.5,"kind":"skin"}]}"#,
            "must be a whole number of coins",
        ),
        (
            r#"{"goods":[{"id":"x","name":"X","price":1,"kind":"skin"},{"id":"x","name":"Y","price":1,"kind":"emote"}]}"#,
            "duplicate id `x`",
        ),
        (
            r#"{"goods":[{"id":"x","name":"X","price":1,"kind":"skin","color":"red"}]}"#,
            "unknown field `color`",
        ),
    ];
    for (i, (text, reason)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("catalog-{i}.json"));
        std::fs::write(&file, text).unwrap();
        let file = file.to_str().unwrap();
        let http = free_addr();
        let env = [
            ("CHORUS_NATS_URL", nats.url()),
            ("DATABASE_URL", db.url().to_string()),
            ("CHORUS_STORE_CATALOG", file.to_string()),
            ("CHORUS_WORKER_HTTP_ADDR", http),
        ];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut worker = Process::spawn("chorus-store", &env);
        let status = tokio::time::timeout(Duration::from_secs(30), worker.child.wait())
            .await
            .expect("the worker stops by itself")
            .unwrap();
        assert!(!status.success(), "{status:?}");
        let log = worker.log();
        assert!(log.contains(file), "the file is named:\n{log}");
        assert!(log.contains(reason), "the reason `{reason}` is given:\n{log}");
    }
    let missing = dir.path().join("nowhere.json");
    let env = [
        ("CHORUS_NATS_URL", nats.url()),
        ("DATABASE_URL", db.url().to_string()),
        ("CHORUS_STORE_CATALOG", missing.to_str().unwrap().to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut worker = Process::spawn("chorus-store", &env);
    let status = worker.child.wait().await.unwrap();
    assert!(!status.success());
    assert!(worker.log().contains("nowhere.json"), "{}", worker.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_catalog_serves_and_sigterm_stops_it() {
    let nats = NatsServer::start().await;
    let db = TestDb::create().await;
    let catalog = chorus_testkit::bin::workspace_root().join("workers/store/catalog.json");
    let http = free_addr();
    let env = [
        ("CHORUS_NATS_URL", nats.url()),
        ("DATABASE_URL", db.url().to_string()),
        ("CHORUS_STORE_CATALOG", catalog.to_str().unwrap().to_string()),
        ("CHORUS_WORKER_HTTP_ADDR", http.clone()),
        ("CHORUS_LOG", "warn".to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut worker = Process::spawn("chorus-store", &env);
    worker.wait_ready(http.parse().unwrap(), "/readyz").await;
    let bus = async_nats::connect(nats.url()).await.unwrap();
    let owned = bus
        .request("int.store.owned", r#"{"users":["1"]}"#.into())
        .await
        .unwrap();
    assert_eq!(&owned.payload[..], br#"{"owned":{}}"#);
    // Its query is timed on /metrics.
    let (_, metrics) = chorus_testkit::client::http_get(http.parse().unwrap(), "/metrics").await;
    let timed = r#"chorus_worker_db_seconds_count{worker="store",op="owned"} 1"#;
    assert!(metrics.contains(timed), "{metrics}");
    let exit = worker.terminate(Duration::from_secs(15)).await;
    assert!(exit.success(), "{exit:?}\n{}", worker.log());
}
