//! Voice signalling through a real bridge: members of one voice channel reach each other's
//! `user.{peer}.rtc` inbox, a user outside the channel reaches nobody's, and leaving closes
//! the doors both ways. The accounts and voice workers run in-process behind the bridge.

mod common;

use chorus_testkit::client::{WAIT, Ws};
use common::Harness;
use serde_json::{Value, json};
use std::net::SocketAddr;

const PRIVATE: &str = "/core/game/v1/real-time/private";

struct User {
    ws: Ws,
    id: String,
}

async fn user(h: &Harness, name: &str) -> User {
    let login = h.sign_up_and_log_in(name).await;
    User {
        ws: connect(h.http, &login).await,
        id: login["user"]["id"].as_str().unwrap().to_string(),
    }
}

async fn connect(http: SocketAddr, login: &Value) -> Ws {
    let token = login["access_token"].as_str().unwrap();
    let (ws, welcome) = Ws::connect(http, &format!("{PRIVATE}?token={token}"), &[])
        .await
        .unwrap();
    assert_eq!(welcome["op"], "welcome", "{welcome}");
    ws
}

fn rtc(uid: &str) -> String {
    format!("user.{uid}.rtc")
}

/// Publishes on `subject` with an ack until the bridge's answer is `want` (`ok` or an
/// error code): grants and revokes reach the bridges asynchronously.
async fn publish_until(ws: &mut Ws, subject: &str, want: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let frame = json!({"op":"pub","id":"p","subject":subject,"data":{"description":{"type":"offer","sdp":"v=0"}}});
        let answer = ws.call(frame).await;
        let got = if answer["op"] == "ok" {
            "ok"
        } else {
            answer["code"].as_str().unwrap_or("?")
        };
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{subject}: still {answer}, want {want}"
        );
    }
}

async fn request(ws: &mut Ws, subject: &str, data: Value) -> Value {
    ws.call(json!({"op":"req","id":"r","subject":subject,"data":data}))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_members_of_one_channel_reach_each_others_rtc_inbox() {
    let (h, _db) = Harness::with_accounts(900).await;
    chorus_voice::spawn_in_process(
        h.nats_client().await,
        chorus_voice::Settings::for_tests(std::time::Duration::from_secs(60)),
    )
    .await
    .unwrap();
    let mut ann = user(&h, "ann").await;
    let mut bob = user(&h, "bob").await;
    let mut cat = user(&h, "cat").await;

    let sub = bob
        .ws
        .call(json!({"op":"sub","id":"s","subject":rtc(&bob.id)}))
        .await;
    assert_eq!(sub["op"], "ok", "{sub}");
    // Another user's rtc inbox is nobody else's to read.
    let spy = cat
        .ws
        .call(json!({"op":"sub","id":"s","subject":rtc(&bob.id)}))
        .await;
    assert_eq!(spy["code"], "forbidden", "{spy}");

    for u in [&mut ann, &mut bob] {
        let joined = request(&mut u.ws, "svc.voice.join", json!({"channel":"lobby"})).await;
        assert_eq!(joined["op"], "reply", "{joined}");
    }
    publish_until(&mut ann.ws, &rtc(&bob.id), "ok").await;
    let offer = loop {
        let frame = bob.ws.recv().await;
        if frame["op"] == "msg" {
            break frame;
        }
    };
    assert_eq!(offer["subject"], rtc(&bob.id));
    assert_eq!(offer["from"]["id"], ann.id.as_str());
    assert_eq!(offer["data"]["description"]["type"], "offer");
    publish_until(&mut bob.ws, &rtc(&ann.id), "ok").await;

    // Outside the channel: refused on both members' inboxes.
    publish_until(&mut cat.ws, &rtc(&bob.id), "forbidden").await;
    publish_until(&mut cat.ws, &rtc(&ann.id), "forbidden").await;

    // Ann leaves: neither may reach the other any more.
    let left = request(&mut ann.ws, "svc.voice.leave", json!({"channel":"lobby"})).await;
    assert_eq!(left["op"], "reply", "{left}");
    publish_until(&mut ann.ws, &rtc(&bob.id), "forbidden").await;
    publish_until(&mut bob.ws, &rtc(&ann.id), "forbidden").await;
}
