//! The kit against a real nats-server and a real Postgres: typed endpoints over shared
//! state in a queue group, errors (the kit's or a worker's own) as `Chorus-Error`, the
//! caller from the bridge's headers, `/readyz` once the endpoints are subscribed, a worker
//! stopped by the end of an essential task, migrations.

use chorus_kit::db::{self, Migration};
use chorus_kit::metrics::Metrics;
use chorus_kit::{Empty, KitArgs, KitError, Request, Service, ServiceError, Spec, Worker};
use chorus_protocol::ErrorCode;
use chorus_testkit::client::http_get;
use chorus_testkit::{NatsServer, TestDb};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use tokio::sync::oneshot;

#[derive(Deserialize)]
struct Add {
    a: i64,
    b: i64,
}

#[derive(Serialize)]
struct Sum {
    sum: i64,
    by: Option<String>,
}

/// What the calculator's handlers share: a running total.
type Total = Arc<AtomicI64>;

/// A worker's own error, as a worker with more rules would have.
#[derive(Debug, thiserror::Error)]
enum CalcError {
    #[error("taken")]
    Taken,
    #[error(transparent)]
    Kit(#[from] ServiceError),
}

impl From<CalcError> for ServiceError {
    fn from(e: CalcError) -> ServiceError {
        match e {
            CalcError::Taken => ServiceError::new(ErrorCode::Conflict, e.to_string()),
            CalcError::Kit(e) => e,
        }
    }
}

async fn add(total: Total, req: Request, add: Add) -> Result<Sum, ServiceError> {
    total.fetch_add(add.a + add.b, Ordering::Relaxed);
    Ok(Sum {
        sum: add.a + add.b,
        by: req.caller.map(|c| c.name),
    })
}

async fn total(total: Total, _: Request, _: Empty) -> Result<Value, ServiceError> {
    Ok(json!({"total": total.load(Ordering::Relaxed)}))
}

async fn whoami(_: Total, req: Request, _: Empty) -> Result<Value, CalcError> {
    let user = req.user()?;
    Ok(json!({"id": user.id, "conn": user.conn}))
}

async fn fail(_: Total, _: Request, _: Empty) -> Result<Value, CalcError> {
    Err(CalcError::Taken)
}

fn service() -> Service<Total> {
    Service::with_state("calc", Total::default())
        .method("add", add)
        .method("total", total)
        .method("whoami", whoami)
        .method("fail", fail)
        .merge(
            Service::new("ping").method("ping", |(), _: Request, _: Empty| async {
                Ok::<_, ServiceError>("pong")
            }),
        )
}

fn bridge_headers(ns: &str) -> async_nats::HeaderMap {
    let mut h = async_nats::HeaderMap::new();
    h.insert("Chorus-User", "u1");
    h.insert("Chorus-Name", "ann");
    h.insert("Chorus-Ns", ns);
    h.insert("Chorus-Conn", "b-1");
    h
}

async fn call(
    nats: &async_nats::Client,
    subject: &str,
    headers: async_nats::HeaderMap,
    body: &str,
) -> (Option<String>, String) {
    let req = async_nats::Request::new()
        .headers(headers)
        .payload(body.to_string().into());
    let reply = nats.send_request(subject.to_string(), req).await.unwrap();
    let code = reply
        .headers
        .as_ref()
        .and_then(|h| h.get("Chorus-Error"))
        .map(|v| v.as_str().to_string());
    (code, String::from_utf8(reply.payload.to_vec()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_endpoints_reply_and_errors_carry_chorus_error() {
    let server = NatsServer::start().await;
    let nats = async_nats::connect(server.url()).await.unwrap();
    let metrics = Arc::new(Metrics::new("calc"));
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(service().serve(nats.clone(), metrics.clone(), async {
        let _ = stopped.await;
    }));
    let client = async_nats::connect(server.url()).await.unwrap();
    server.await_subscriptions(5).await;

    let (code, body) = call(
        &client,
        "svc.calc.add",
        bridge_headers("guest"),
        r#"{"a":2,"b":3}"#,
    )
    .await;
    assert_eq!(
        (code, serde_json::from_str::<Value>(&body).unwrap()),
        (None, json!({"sum":5,"by":"ann"}))
    );
    // Every method is on /metrics from the start, at zero until called.
    let text = metrics.encode();
    assert!(text.contains(r#"method="whoami",code="ok"} 0"#), "{text}");
    let (code, body) = call(
        &client,
        "svc.calc.add",
        async_nats::HeaderMap::new(),
        r#"{"a":2}"#,
    )
    .await;
    assert_eq!(code.as_deref(), Some("bad_request"), "{body}");
    let (code, _) = call(&client, "svc.calc.add", async_nats::HeaderMap::new(), "not json").await;
    assert_eq!(code.as_deref(), Some("bad_request"));
    let (code, body) = call(&client, "svc.calc.fail", async_nats::HeaderMap::new(), "").await;
    assert_eq!((code.as_deref(), body.as_str()), (Some("conflict"), "taken"));
    let (code, _) = call(&client, "svc.calc.whoami", bridge_headers("guest"), "{}").await;
    assert_eq!(code.as_deref(), Some("unauthorized"));
    let (code, body) = call(&client, "svc.calc.whoami", bridge_headers("private"), "{}").await;
    assert_eq!(
        (code, serde_json::from_str::<Value>(&body).unwrap()),
        (None, json!({"id":"u1","conn":"b-1"}))
    );
    // The state is shared by every handler: `total` sees what `add` did.
    let (_, body) = call(&client, "svc.calc.total", async_nats::HeaderMap::new(), "").await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!({"total": 5}));
    let (code, body) = call(&client, "svc.ping.ping", async_nats::HeaderMap::new(), "").await;
    assert_eq!((code, body.as_str()), (None, r#""pong""#));

    let text = metrics.encode();
    assert!(
        text.contains(r#"chorus_worker_requests_total{worker="calc",method="add",code="ok"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"method="fail",code="conflict"} 1"#), "{text}");
    assert!(text.contains(r#"method="ping.ping",code="ok"} 1"#), "{text}");
    stop.send(()).unwrap();
    served.await.unwrap().unwrap();
}

/// A nats-server, and a worker `calc` started on it (its HTTP listener on a free port), not
/// serving yet.
async fn started() -> (NatsServer, Worker) {
    let server = NatsServer::start().await;
    let args = KitArgs {
        nats_url: server.url(),
        database_url: None,
        db_pool: 1,
        http_addr: "127.0.0.1:0".parse().unwrap(),
        log: "info".into(),
        log_format: "text".into(),
        otlp_endpoint: None,
    };
    let worker = Worker::start(Spec::new("calc"), &args).await.unwrap();
    (server, worker)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_answers_once_every_endpoint_is_subscribed() {
    let (server, worker) = started().await;
    let http = worker.http_addr();
    // Up and connected, but not serving: alive, not ready.
    chorus_runtime::bus::round_trip(&worker.nats, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(http_get(http, "/healthz").await.0, 200);
    assert_eq!(http_get(http, "/readyz").await, (503, "not serving\n".into()));

    let ready = worker.ready();
    let (stop, stopped) = oneshot::channel::<()>();
    let run = tokio::spawn(worker.run(service(), async {
        let _ = stopped.await;
    }));
    ready.serving().await;
    assert_eq!(http_get(http, "/readyz").await, (200, "ready\n".into()));
    // Ready means the server holds every subscription: a request now is answered.
    let connz = server.monitor_json("/connz?subs=1").await.to_string();
    for subject in [
        "svc.calc.add",
        "svc.calc.total",
        "svc.calc.whoami",
        "svc.calc.fail",
        "svc.ping.ping",
    ] {
        assert!(
            connz.contains(&format!("\"{subject}\"")),
            "{subject} not subscribed: {connz}"
        );
    }
    let client = async_nats::connect(server.url()).await.unwrap();
    let (code, _) = call(
        &client,
        "svc.calc.add",
        async_nats::HeaderMap::new(),
        r#"{"a":1,"b":1}"#,
    )
    .await;
    assert_eq!(code, None);

    stop.send(()).unwrap();
    run.await.unwrap().unwrap();
    assert!(!ready.is_serving(), "drained");
}

/// `chorus_worker_nats_connected` of the worker whose `/metrics` is at `http`.
async fn nats_connected(http: std::net::SocketAddr) -> Option<i64> {
    let (status, text) = http_get(http, "/metrics").await;
    assert_eq!(status, 200);
    text.lines()
        .find_map(|l| l.strip_prefix(r#"chorus_worker_nats_connected{worker="calc"} "#))
        .map(|v| v.parse().unwrap())
}

/// Scrapes until the gauge reads `want` (the client notices a lost server within its
/// reconnect loop; no fixed sleep), for at most 20 s.
async fn await_nats_connected(http: std::net::SocketAddr, want: i64) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut every = tokio::time::interval(std::time::Duration::from_millis(50));
    loop {
        every.tick().await;
        let now = nats_connected(http).await;
        if now == Some(want) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nats_connected stayed {now:?}, not {want}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_say_whether_the_worker_has_nats() {
    let (mut server, worker) = started().await;
    let http = worker.http_addr();
    // The connection is made in the background (retry_on_initial_connect): once a round
    // trip went through, it is up.
    chorus_runtime::bus::round_trip(&worker.nats, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(nats_connected(http).await, Some(1), "connected");
    server.stop().await;
    await_nats_connected(http, 0).await;
    assert_eq!(http_get(http, "/readyz").await.0, 503);
    server.restart().await;
    await_nats_connected(http, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_essential_task_that_ends_stops_the_worker_with_its_error() {
    let (_server, worker) = started().await;
    let (fail, failed) = oneshot::channel::<()>();
    worker.context().essential("the listener", async {
        let _ = failed.await;
        Err(std::io::Error::other("lost the stream"))
    });
    let ready = worker.ready();
    let run = tokio::spawn(worker.run(service(), std::future::pending()));
    ready.serving().await;
    fail.send(()).unwrap();
    let err = run.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            KitError::Ended {
                task: "the listener",
                ..
            }
        ),
        "{err:?}"
    );
    let source = std::error::Error::source(&err).map(ToString::to_string);
    assert_eq!(source.as_deref(), Some("lost the stream"));
    assert!(!ready.is_serving());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_once_in_order() {
    let test_db = TestDb::create().await;
    let pool = db::connect(test_db.url(), 2).await.unwrap();
    let migrations = [
        Migration {
            version: 1,
            name: "things",
            sql: "CREATE TABLE things (id bigint PRIMARY KEY)",
        },
        Migration {
            version: 2,
            name: "thing names",
            sql: "ALTER TABLE things ADD COLUMN name text",
        },
    ];
    assert_eq!(db::migrate(&pool, "calc", &migrations[..1]).await.unwrap(), 1);
    assert_eq!(db::migrate(&pool, "calc", &migrations).await.unwrap(), 1);
    assert_eq!(db::migrate(&pool, "calc", &migrations).await.unwrap(), 0);
    let client = pool.get().await.unwrap();
    client
        .execute("INSERT INTO things (id, name) VALUES (1, 'x')", &[])
        .await
        .unwrap();
    let broken = [Migration {
        version: 3,
        name: "broken",
        sql: "ALTER TABLE nope ADD COLUMN x int",
    }];
    let err = db::migrate(&pool, "calc", &broken).await.unwrap_err();
    assert!(err.to_string().contains("migration 3 (broken)"), "{err}");
    let versions: Vec<i64> = client
        .query(
            "SELECT version FROM chorus_migrations WHERE worker = 'calc' ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, vec![1, 2]);
}
