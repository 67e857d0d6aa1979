//! What the bridge tells the bus about connections: the end of every connection, a guest's
//! too (`presence.disconnect.{uid}`, so a worker can end what it started, such as a
//! matchmaking ticket), and never a guest as online (`presence.connect.*` is for users).

mod common;

use chorus_protocol::presence::ConnEvent;
use common::{Harness, WAIT, Ws};
use futures_util::{FutureExt, StreamExt};

#[tokio::test]
async fn a_guest_that_leaves_is_told_and_was_never_announced() {
    let h = Harness::start().await;
    let nats = h.nats_client().await;
    let mut connects = nats.subscribe("presence.connect.*").await.unwrap();
    let mut disconnects = nats.subscribe("presence.disconnect.*").await.unwrap();
    chorus_runtime::bus::round_trip(&nats, std::time::Duration::from_secs(10))
        .await
        .unwrap();

    let (guest, welcome) = Ws::connect(h.http, "/core/game/v1/real-time/public", &[])
        .await
        .unwrap();
    assert_eq!(welcome["op"], "welcome", "{welcome}");
    drop(guest);

    let msg = tokio::time::timeout(WAIT, disconnects.next())
        .await
        .expect("a disconnect in time")
        .expect("the subscription lives");
    let event: ConnEvent = serde_json::from_slice(&msg.payload).unwrap();
    assert_eq!(event.user, welcome["user"]["id"].as_str().unwrap());
    assert_eq!(event.conn, welcome["conn"].as_str().unwrap());
    assert_eq!(
        msg.subject.as_str(),
        format!("presence.disconnect.{}", event.user)
    );

    // Nothing announced the guest online: after a round trip, no connect is buffered.
    chorus_runtime::bus::round_trip(&nats, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert!(
        connects.next().now_or_never().is_none(),
        "a guest was announced online"
    );
}
