//! `round_trip` against a real nats-server: once it returns, the server holds what the
//! client subscribed before it; with the server gone, it gives up in time.

use chorus_runtime::bus::{RoundTripError, round_trip};
use chorus_testkit::NatsServer;
use std::time::Duration;

#[tokio::test]
async fn after_a_round_trip_the_server_holds_the_subscriptions_sent_before_it() {
    let server = NatsServer::start().await;
    let nats = async_nats::connect(server.url()).await.unwrap();
    let _subs: Vec<_> =
        futures_util::future::join_all((0..50).map(|i| nats.subscribe(format!("bus.test.{i}"))))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    round_trip(&nats, Duration::from_secs(5)).await.unwrap();
    // Asked at once, without waiting: the server already counts all fifty.
    let connz = server.monitor_json("/connz?subs=1").await;
    let held = connz["connections"][0]["subscriptions_list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s.as_str().unwrap().starts_with("bus.test."))
        .count();
    assert_eq!(held, 50);
}

#[tokio::test]
async fn without_a_server_it_times_out() {
    let mut server = NatsServer::start().await;
    let nats = async_nats::connect(server.url()).await.unwrap();
    server.stop().await;
    let result = round_trip(&nats, Duration::from_millis(300)).await;
    assert!(matches!(result, Err(RoundTripError::Timeout(_))), "{result:?}");
}
