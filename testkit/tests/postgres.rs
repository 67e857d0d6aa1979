//! Proves `TestDb` against a real Postgres (env `DATABASE_URL`): a fresh database that is
//! usable, then gone after drop, even from outside a runtime. Built only with the
//! `postgres` feature (`cargo test -p chorus-testkit --features postgres`; a workspace run
//! has it, since the workers enable it).

use chorus_testkit::TestDb;

#[tokio::test]
async fn test_db_is_usable_then_gone() {
    let db = TestDb::create().await;
    assert!(db.url().ends_with(db.name()) || db.url().contains(&format!("/{}?", db.name())));
    let client = db.connect().await;
    let one: i32 = client.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    let current: String = client
        .query_one("SELECT current_database()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(current, db.name());

    // Dropped even while our client is still connected (WITH (FORCE)).
    let name = db.name().to_string();
    drop(db);
    let admin_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| chorus_testkit::postgres::DEFAULT_DATABASE_URL.to_string());
    let (admin, conn) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let left: i64 = admin
        .query_one("SELECT count(*) FROM pg_database WHERE datname = $1", &[&name])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "database {name} still exists after drop");
}

#[test]
fn test_db_drops_outside_a_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(TestDb::create());
    drop(rt);
    drop(db); // no runtime here at all: must neither panic nor hang
}
