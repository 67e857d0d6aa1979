//! The kit against a real nats-server and a real Postgres: typed endpoints in a queue
//! group, errors as `Chorus-Error`, the caller from the bridge's headers, migrations.

use chorus_kit::db::{self, Migration};
use chorus_kit::metrics::Metrics;
use chorus_kit::{Empty, Request, Service, ServiceError};
use chorus_testkit::{NatsServer, TestDb};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
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

fn service() -> Service {
    Service::new("calc")
        .method("add", |req: Request, add: Add| async move {
            Ok(Sum {
                sum: add.a + add.b,
                by: req.caller.map(|c| c.name),
            })
        })
        .method("whoami", |req: Request, _: Empty| async move {
            let user = req.user()?;
            Ok(json!({"id": user.id, "conn": user.conn}))
        })
        .method("fail", |_: Request, _: Empty| async move {
            Err::<Value, _>(ServiceError::conflict("taken"))
        })
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
    server.await_subscriptions(3).await;

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

    let text = metrics.encode();
    assert!(
        text.contains(r#"chorus_worker_requests_total{worker="calc",method="add",code="ok"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"method="fail",code="conflict"} 1"#), "{text}");
    stop.send(()).unwrap();
    served.await.unwrap().unwrap();
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
