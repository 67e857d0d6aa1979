//! The bare presence protocol of small devices on the TCP listener
//! (`CHORUS_TCP_PRESENCE_HELLO=true`): online lines to the devices that list a newcomer,
//! offline lines to the listed friends of a leaver, across two bridges.

mod common;

use common::{Harness, Tcp};
use serde_json::{Value, json};
use std::net::SocketAddr;

/// A device on `addr` that said its hello.
async fn device(addr: SocketAddr, id: u64, friends: &[u64]) -> Tcp {
    let mut tcp = Tcp::connect(addr).await;
    tcp.send(json!({"user_id": id, "friends": friends})).await;
    tcp
}

fn line(online: bool, user_id: u64) -> Value {
    json!({"online": online, "user_id": user_id})
}

#[tokio::test]
async fn devices_see_exactly_their_friends_come_and_go_across_bridges() {
    let a = Harness::start_with(|c| c.tcp_presence_hello = true).await;
    let b = common::bridge(&a.nats.url(), |c| c.tcp_presence_hello = true).await;

    // 1 on bridge A lists 2 and 3; 2 on bridge B lists 1; 3 on bridge A lists 1 and 2.
    let mut d1 = device(a.tcp, 1, &[2, 3]).await;
    a.await_bridge_subscriptions("device.1.inbox", 1).await;
    let d2 = device(b.tcp, 2, &[1]).await;
    a.await_bridge_subscriptions("device.2.inbox", 1).await;
    // 2 came: 1 lists 2 and hears it; 3 is not here yet.
    assert_eq!(d1.recv().await, line(true, 2));

    let d3 = device(a.tcp, 3, &[1, 2]).await;
    a.await_bridge_subscriptions("device.3.inbox", 1).await;
    // 3 came: 1 lists 3. 2 does not list 3, so 2 hears nothing.
    assert_eq!(d1.recv().await, line(true, 3));

    // 2 leaves: its listed friend 1 is told; 3 (who lists 2 but is not listed by 2) is not.
    assert_eq!(d2.finish().await, Vec::<Value>::new(), "2 heard nothing");
    assert_eq!(d1.recv().await, line(false, 2));

    // 1 leaves: of its listed friends 2 and 3, only 3 is online.
    assert_eq!(d1.finish().await, Vec::<Value>::new(), "1 heard nothing more");
    let mut d3 = d3;
    assert_eq!(d3.recv().await, line(false, 1));
    assert_eq!(d3.finish().await, Vec::<Value>::new(), "3 heard only that");
}

#[tokio::test]
async fn a_bad_hello_gets_an_error_line_and_the_device_stays() {
    let h = Harness::start_with(|c| {
        c.tcp_presence_hello = true;
        c.device_max_friends = 2;
        c.first_frame_timeout_ms = 60_000;
    })
    .await;
    let mut d5 = Tcp::connect(h.tcp).await;
    for bad in [
        json!({"user_id": "five"}),
        json!({"user_id": 5, "friends": "6"}),
        json!({"user_id": 5, "friends": [6, 7, 8]}),
    ] {
        let err = d5.call(bad).await;
        assert_eq!(err["op"], "err", "{err}");
        assert_eq!(err["code"], "bad_request", "{err}");
        assert!(err["message"].as_str().unwrap().starts_with("bad hello"), "{err}");
    }
    // Still connected: a good hello now works.
    d5.send(json!({"user_id": 5, "friends": [6]})).await;
    h.await_bridge_subscriptions("device.5.inbox", 1).await;
    let d6 = device(h.tcp, 6, &[]).await;
    assert_eq!(d5.recv().await, line(true, 6));
    drop(d6);
}

#[tokio::test]
async fn without_the_setting_a_hello_is_just_a_bad_frame() {
    let h = Harness::start().await;
    let mut tcp = Tcp::connect(h.tcp).await;
    tcp.send(json!({"user_id": 1, "friends": [2]})).await;
    // A guest, welcomed, and told the line is not a frame.
    assert_eq!(tcp.recv().await["op"], "welcome");
    let err = tcp.recv().await;
    assert_eq!(
        (err["op"].as_str(), err["code"].as_str()),
        (Some("err"), Some("bad_request"))
    );
}
