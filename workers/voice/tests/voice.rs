//! The voice worker against a real nats-server: joins, the limit, the rights it grants and
//! takes back by pair, what members hear, and members whose heartbeat stopped leaving by
//! themselves.

use chorus_testkit::NatsServer;
use chorus_voice::Settings;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

struct Stack {
    _nats: NatsServer,
    client: async_nats::Client,
}

async fn stack(ttl: Duration) -> Stack {
    let nats = NatsServer::start().await;
    let worker = async_nats::connect(nats.url()).await.unwrap();
    chorus_voice::spawn_in_process(worker, Settings::for_tests(ttl))
        .await
        .unwrap();
    let client = async_nats::connect(nats.url()).await.unwrap();
    Stack { _nats: nats, client }
}

/// `svc.voice.{method}` as user `uid` (a guest when `uid` starts with `g-`).
async fn call(client: &async_nats::Client, method: &str, uid: &str, body: Value) -> Result<Value, String> {
    let mut h = async_nats::HeaderMap::new();
    h.insert("Chorus-User", uid);
    h.insert("Chorus-Name", format!("user-{uid}").as_str());
    h.insert(
        "Chorus-Ns",
        if uid.starts_with("g-") { "guest" } else { "private" },
    );
    h.insert("Chorus-Conn", "c");
    let req = async_nats::Request::new()
        .headers(h)
        .payload(body.to_string().into());
    let reply = client
        .send_request(format!("svc.voice.{method}"), req)
        .await
        .unwrap();
    match reply.headers.as_ref().and_then(|h| h.get("Chorus-Error")) {
        Some(code) => Err(code.as_str().to_string()),
        None => Ok(serde_json::from_slice(&reply.payload).unwrap()),
    }
}

impl Stack {
    async fn call(&self, method: &str, uid: &str, body: Value) -> Result<Value, String> {
        call(&self.client, method, uid, body).await
    }

    async fn join(&self, uid: &str, channel: &str) -> Result<Value, String> {
        self.call("join", uid, json!({"channel": channel})).await
    }

    /// Subscribes, confirmed by a round trip through the server.
    async fn listen(&self, subject: &str) -> async_nats::Subscriber {
        let sub = self.client.subscribe(subject.to_string()).await.unwrap();
        chorus_runtime::bus::round_trip(&self.client, WAIT).await.unwrap();
        sub
    }
}

async fn next(sub: &mut async_nats::Subscriber) -> (String, Value) {
    let msg = tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("in time")
        .unwrap();
    (
        msg.subject.to_string(),
        serde_json::from_slice(&msg.payload).unwrap(),
    )
}

fn strings(v: &Value) -> Vec<String> {
    let mut s: Vec<String> = v
        .as_array()
        .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    s.sort();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_may_reach_each_other_only_while_both_are_in() {
    let s = stack(Duration::from_secs(60)).await;
    let mut ctl = s.listen("ctl.>").await;
    let mut events = s.listen("voice.lobby").await;

    let first = s.join("1", "lobby").await.unwrap();
    assert_eq!(first["members"], json!([{"id": "1", "name": "user-1"}]));
    assert_eq!(first["max_peers"], 6);
    assert_eq!(first["ice_servers"], json!([]));
    let (subject, grant) = next(&mut ctl).await;
    assert_eq!(subject, "ctl.grant.1");
    assert_eq!(strings(&grant["sub"]), ["voice.lobby"]);
    assert_eq!(strings(&grant["pub"]), Vec::<String>::new());
    assert_eq!(
        next(&mut events).await.1,
        json!({"event": "joined", "user": "1", "name": "user-1"})
    );

    let second = s.join("2", "lobby").await.unwrap();
    assert_eq!(second["members"].as_array().unwrap().len(), 2);
    let (subject, grant) = next(&mut ctl).await;
    assert_eq!(subject, "ctl.grant.2");
    assert_eq!(strings(&grant["pub"]), ["user.1.rtc"]);
    let (subject, grant) = next(&mut ctl).await;
    assert_eq!(subject, "ctl.grant.1");
    assert_eq!(strings(&grant["pub"]), ["user.2.rtc"]);
    assert_eq!(next(&mut events).await.1["event"], "joined");

    // Joining again only renews: no new doors, no new announcement.
    let again = s.join("2", "lobby").await.unwrap();
    assert_eq!(again["members"].as_array().unwrap().len(), 2);

    s.call("leave", "2", json!({"channel": "lobby"})).await.unwrap();
    let (subject, revoke) = next(&mut ctl).await;
    assert_eq!(subject, "ctl.revoke.2", "{revoke}");
    assert_eq!(strings(&revoke["patterns"]), ["user.1.rtc", "voice.lobby"]);
    let (subject, revoke) = next(&mut ctl).await;
    assert_eq!(subject, "ctl.revoke.1");
    assert_eq!(strings(&revoke["patterns"]), ["user.2.rtc"]);
    assert_eq!(
        next(&mut events).await.1,
        json!({"event": "left", "user": "2", "name": "user-2"})
    );

    assert_eq!(
        s.call("leave", "2", json!({"channel": "lobby"})).await,
        Err("not_found".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_holds_six_and_the_seventh_is_refused() {
    let s = stack(Duration::from_secs(60)).await;
    for uid in 1..=6 {
        s.join(&uid.to_string(), "full").await.unwrap();
    }
    assert_eq!(s.join("7", "full").await, Err("conflict".into()));
    s.call("leave", "3", json!({"channel": "full"})).await.unwrap();
    let seventh = s.join("7", "full").await.unwrap();
    assert_eq!(seventh["members"].as_array().unwrap().len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_guests_are_refused() {
    let s = stack(Duration::from_secs(60)).await;
    assert_eq!(s.join("1", "a.b").await, Err("bad_request".into()));
    assert_eq!(s.join("1", "").await, Err("bad_request".into()));
    assert_eq!(s.join("g-1", "lobby").await, Err("unauthorized".into()));
    assert_eq!(s.call("join", "1", json!({})).await, Err("bad_request".into()));
    assert_eq!(
        s.call("heartbeat", "1", json!({"channel": "lobby"})).await,
        Err("not_found".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_another_channel_leaves_the_first() {
    let s = stack(Duration::from_secs(60)).await;
    s.join("1", "a").await.unwrap();
    s.join("2", "a").await.unwrap();
    let mut a = s.listen("voice.a").await;
    s.join("1", "b").await.unwrap();
    assert_eq!(next(&mut a).await.1["event"], "left");
    let a_now = s.join("3", "a").await.unwrap();
    let ids: Vec<&str> = a_now["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["2", "3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_heartbeat_stops_leaves_by_itself() {
    let s = stack(Duration::from_millis(1500)).await;
    let beating = s.join("1", "room").await.unwrap();
    let period = Duration::from_millis(beating["heartbeat_ms"].as_u64().unwrap());
    assert_eq!(period, Duration::from_millis(500));
    s.join("2", "room").await.unwrap();
    let mut events = s.listen("voice.room").await;
    let mut revokes = s.listen("ctl.revoke.>").await;

    // Member 1 beats as a client does; member 2 never does, like a crashed tab.
    let client = s.client.clone();
    let beats = tokio::spawn(async move {
        let mut every = tokio::time::interval(period);
        loop {
            every.tick().await;
            call(&client, "heartbeat", "1", json!({"channel": "room"}))
                .await
                .unwrap();
        }
    });

    assert_eq!(
        next(&mut events).await.1,
        json!({"event": "left", "user": "2", "name": "user-2"})
    );
    let mut revoked: Vec<(String, Vec<String>)> = Vec::new();
    for _ in 0..2 {
        let (subject, body) = next(&mut revokes).await;
        revoked.push((subject, strings(&body["patterns"])));
    }
    revoked.sort();
    assert_eq!(
        revoked,
        [
            ("ctl.revoke.1".to_string(), vec!["user.2.rtc".to_string()]),
            (
                "ctl.revoke.2".to_string(),
                vec!["user.1.rtc".to_string(), "voice.room".to_string()]
            ),
        ]
    );
    // Member 1, beating, is still in.
    let third = s.join("3", "room").await.unwrap();
    let ids: Vec<&str> = third["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1", "3"]);
    beats.abort();
}
