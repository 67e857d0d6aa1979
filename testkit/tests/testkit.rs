//! Proves the testkit against the real things: a nats-server it starts, restarts and reads
//! monitoring from. (The Postgres side is in `postgres.rs`, behind the `postgres` feature.)

use chorus_testkit::{NatsOptions, NatsServer};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;

/// Connects to the client port and returns the server's first line.
async fn greeting(port: u16) -> String {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to nats-server");
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .await
        .expect("read INFO");
    line
}

/// `(major, minor)` of a version string like "2.15.1".
fn major_minor(v: &str) -> (u32, u32) {
    let mut it = v.split('.').map(|p| p.parse::<u32>().expect("numeric version"));
    (it.next().unwrap(), it.next().unwrap())
}

#[tokio::test]
async fn starts_a_current_server_with_jetstream() {
    let nats = NatsServer::start().await;
    assert_ne!(nats.port(), 4222, "must never be the machine's own server");
    assert_eq!(nats.url(), format!("nats://127.0.0.1:{}", nats.port()));
    assert!(nats.websocket_url().is_none());
    assert!(greeting(nats.port()).await.starts_with("INFO "));

    let varz = nats.monitor_json("/varz").await;
    let version = varz["version"].as_str().expect("varz.version");
    assert!(
        major_minor(version) >= (2, 10),
        "nats-server {version} is too old"
    );
    assert_eq!(varz["port"].as_u64(), Some(u64::from(nats.port())));
    let store = varz["jetstream"]["config"]["store_dir"]
        .as_str()
        .expect("JetStream enabled");
    assert!(
        store.starts_with(&*nats.store_dir().to_string_lossy()),
        "store {store} not under {:?}",
        nats.store_dir()
    );

    let subsz = nats.monitor_json("/subsz?subs=1").await;
    assert!(subsz.get("num_subscriptions").is_some(), "subsz: {subsz}");
    assert!(nats.log_path().is_file());
}

#[tokio::test]
async fn websocket_and_extra_config() {
    let opts = NatsOptions {
        websocket: true,
        extra_config: "max_payload: 65536".into(),
    };
    let nats = NatsServer::start_with(opts).await;
    let ws = nats.websocket_url().expect("websocket enabled");
    let varz = nats.monitor_json("/varz").await;
    assert_eq!(ws, format!("ws://127.0.0.1:{}", varz["websocket"]["port"]));
    assert_eq!(varz["max_payload"].as_u64(), Some(65536));
}

#[tokio::test]
async fn restart_keeps_ports_and_store() {
    let mut nats = NatsServer::start_with(NatsOptions {
        websocket: true,
        ..Default::default()
    })
    .await;
    let (port, monitor, ws, pid) = (nats.port(), nats.monitor_url(), nats.websocket_url(), nats.pid());
    let marker = nats.store_dir().join("marker");
    std::fs::write(&marker, b"kept").unwrap();

    nats.restart().await;
    assert_ne!(nats.pid(), pid, "a new process");
    assert_eq!(
        (nats.port(), nats.monitor_url(), nats.websocket_url()),
        (port, monitor, ws)
    );
    assert!(marker.is_file(), "store dir survives a restart");
    assert!(greeting(port).await.starts_with("INFO "));
    assert_eq!(
        nats.monitor_json("/varz").await["port"].as_u64(),
        Some(u64::from(port))
    );

    nats.stop().await;
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "stopped server still accepts"
    );
    nats.restart().await;
    assert!(greeting(port).await.starts_with("INFO "));
}

#[tokio::test]
async fn drop_kills_the_server_and_removes_its_dir() {
    let nats = NatsServer::start().await;
    let (port, dir) = (nats.port(), nats.store_dir().parent().unwrap().to_path_buf());
    drop(nats);
    assert!(!dir.exists(), "temp dir {dir:?} left behind");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "server still listening after drop"
    );
}

#[tokio::test]
async fn a_bad_config_fails_fast_with_the_log() {
    let opts = NatsOptions {
        extra_config: "this is { not valid".into(),
        ..Default::default()
    };
    let err = NatsServer::try_start_with(opts)
        .await
        .expect_err("a broken config must not start");
    let text = err.to_string();
    assert!(
        matches!(err, chorus_testkit::Error::ServerExited { .. }),
        "{text}"
    );
    // The message quotes the end of the server's log, where it names the parse error.
    assert!(
        text.to_lowercase().contains("parse error"),
        "error should quote the server's complaint: {text}"
    );
}

#[tokio::test]
async fn wait_ready_sees_a_200_and_gives_up_on_silence_or_a_dead_process() {
    use chorus_testkit::Error;
    use chorus_testkit::http::{try_wait_ready, wait_ready};
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};

    let nats = NatsServer::start().await;
    let monitor: SocketAddr = nats.monitor_url()["http://".len()..].parse().unwrap();
    wait_ready(monitor, "/healthz").await;

    // Nobody listens here: not ready, and said so once the time is up.
    let silent = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = try_wait_ready(silent, "/readyz", Duration::from_millis(200), || Ok(()))
        .await
        .expect_err("nothing answers there");
    assert!(matches!(err, Error::Unready { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!("http://{silent}/readyz")),
        "{err}"
    );

    // A process that is gone ends the wait at once, long before the time is up.
    let began = Instant::now();
    let err = try_wait_ready(silent, "/readyz", Duration::from_secs(30), || {
        Err(Error::NotRunning)
    })
    .await
    .expect_err("the process is gone");
    assert!(matches!(err, Error::NotRunning), "{err}");
    assert!(began.elapsed() < Duration::from_secs(5));
}
