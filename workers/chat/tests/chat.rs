//! The chat worker in-process on a real nats-server, called over plain NATS with the identity
//! headers a bridge would stamp (the bridge's stamping is tested with the bridge): sending
//! and history, the checks on writers (guests, length, rate), edits and retractions,
//! channels (grants, revokes, owners, mutes), and direct messages, with blocks asked of the
//! real accounts worker.

mod common;

use async_nats::jetstream::stream::StorageType;
use chorus_chat::Settings;
use chorus_testkit::NatsServer;
use common::{User, call, code, ids, next_json, settings, start_accounts, start_chat, start_chat_metered};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn client(nats: &NatsServer) -> async_nats::Client {
    async_nats::connect(nats.url()).await.unwrap()
}

async fn subscribe(client: &async_nats::Client, subject: &str) -> async_nats::Subscriber {
    let sub = client.subscribe(subject.to_string()).await.unwrap();
    chorus_runtime::bus::round_trip(client, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    sub
}

async fn send(client: &async_nats::Client, user: &User, channel: &str, text: &str) -> Value {
    call(
        client,
        "chat.send",
        Some(user),
        json!({"channel": channel, "text": text}),
    )
    .await
    .unwrap_or_else(|e| panic!("send as {}: {e:?}", user.id))
}

async fn history(client: &async_nats::Client, user: &User, query: Value) -> Vec<String> {
    ids(&call(client, "chat.history", Some(user), query).await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_stored_then_published_and_read_back() {
    let nats = NatsServer::start().await;
    start_chat(&nats, settings()).await;
    let client = client(&nats).await;
    let mut lobby = subscribe(&client, "chat.lobby").await;
    let ann = User::new("7", "ann");

    let sent = send(&client, &ann, "lobby", "hello").await;
    assert_eq!(sent["author"], json!({"id": "7", "name": "ann"}));
    assert_eq!(
        (&sent["channel"], &sent["text"]),
        (&json!("lobby"), &json!("hello"))
    );
    assert!(sent["ts"].as_u64().unwrap() > 1_700_000_000_000);
    assert!(
        sent.get("to").is_none() && sent.get("edited_ts").is_none(),
        "{sent}"
    );
    let id = sent["id"].as_str().unwrap();
    assert_eq!(id.len(), 21);
    assert_eq!(
        next_json(&mut lobby).await,
        json!({"event": "send", "message": sent})
    );

    // Stored before it was published, under its key, in a memory-only bucket with the TTL.
    let kv = async_nats::jetstream::new(client.clone())
        .get_key_value("chat")
        .await
        .unwrap();
    let stored = kv.get(format!("ch.lobby.{id}")).await.unwrap().expect("stored");
    assert_eq!(serde_json::from_slice::<Value>(&stored).unwrap(), sent);
    let config = &kv.stream.cached_info().config;
    assert_eq!(config.storage, StorageType::Memory);
    assert_eq!(config.max_age, Duration::from_secs(600));
    assert_eq!(config.max_messages_per_subject, 1);
    assert!(config.allow_message_ttl && config.subject_delete_marker_ttl.is_some());

    let guest = User::guest();
    assert_eq!(
        history(&client, &guest, json!({"channel": "lobby"})).await,
        vec![id]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_newest_first_bounded_and_pages_with_before() {
    let nats = NatsServer::start().await;
    // A read that fell back on the idle timeout would take 10 s: none may.
    let settings = Settings {
        history_max: 4,
        history_idle: Duration::from_secs(10),
        ..settings()
    };
    start_chat(&nats, settings).await;
    let client = client(&nats).await;
    let ann = User::new("7", "ann");
    let started = Instant::now();
    assert!(
        history(&client, &ann, json!({"channel": "lobby"}))
            .await
            .is_empty()
    );

    let mut sent = Vec::new();
    for i in 0..6 {
        sent.push(
            send(&client, &ann, "lobby", &format!("m{i}")).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    sent.sort();
    sent.reverse();
    let lobby = |extra: Value| {
        let mut q = json!({"channel": "lobby"});
        q.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        q
    };
    assert_eq!(
        history(&client, &ann, lobby(json!({}))).await,
        sent[..4],
        "bounded by the maximum"
    );
    assert_eq!(
        history(&client, &ann, lobby(json!({"limit": 2}))).await,
        sent[..2]
    );
    let page2 = history(&client, &ann, lobby(json!({"limit": 2, "before": sent[1]}))).await;
    assert_eq!(page2, sent[2..4]);
    let last = history(&client, &ann, lobby(json!({"limit": 3, "before": sent[3]}))).await;
    assert_eq!(last, sent[4..]);
    assert!(
        history(&client, &ann, lobby(json!({"before": sent[5]})))
            .await
            .is_empty()
    );
    // A place with nothing in it, in a bucket that is not empty.
    assert!(history(&client, &ann, json!({"dm": "8"})).await.is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a read waited for its idle timeout"
    );

    let bad = |q: Value| call(&client, "chat.history", Some(&ann), q);
    assert_eq!(
        code(bad(json!({"channel": "lobby", "before": "nope"})).await),
        "bad_request"
    );
    assert_eq!(code(bad(json!({})).await), "bad_request");
    assert_eq!(
        code(bad(json!({"channel": "lobby", "dm": "8"})).await),
        "bad_request"
    );
    assert_eq!(code(bad(json!({"channel": "Lobby"})).await), "bad_request");
    let guest = User::guest();
    assert_eq!(
        code(call(&client, "chat.history", Some(&guest), json!({"dm": "7"})).await),
        "forbidden"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_read_the_lobby_but_may_not_write() {
    let nats = NatsServer::start().await;
    start_chat(&nats, settings()).await;
    let client = client(&nats).await;
    let guest = User::guest();
    let try_as = |method: &'static str, body: Value| {
        let (client, guest) = (client.clone(), guest.clone());
        async move { code(call(&client, method, Some(&guest), body).await) }
    };
    assert_eq!(
        try_as("chat.send", json!({"channel": "lobby", "text": "hi"})).await,
        "forbidden"
    );
    assert_eq!(
        try_as("chat.dm", json!({"to": "7", "text": "hi"})).await,
        "forbidden"
    );
    assert_eq!(try_as("chat.join", json!({"channel": "room"})).await, "forbidden");
    let anonymous = call(
        &client,
        "chat.send",
        None,
        json!({"channel": "lobby", "text": "hi"}),
    )
    .await;
    assert_eq!(code(anonymous), "unauthorized");
    assert!(
        history(&client, &guest, json!({"channel": "lobby"}))
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flooding_is_rate_limited_per_user() {
    let nats = NatsServer::start().await;
    let settings = Settings {
        rate_per_sec: 1,
        rate_burst: 5,
        ..Settings::default()
    };
    start_chat(&nats, settings).await;
    let client = client(&nats).await;
    let (ann, bob) = (User::new("7", "ann"), User::new("8", "bob"));
    // A burst of 5, then one a second: however slow this machine, the flood stops there.
    let started = Instant::now();
    let spam = json!({"channel": "lobby", "text": "spam"});
    let mut accepted = 0;
    let refused = loop {
        match call(&client, "chat.send", Some(&ann), spam.clone()).await {
            Ok(_) => accepted += 1,
            Err((code, _)) => break code,
        }
    };
    assert_eq!(refused, "rate_limited");
    let refilled = started.elapsed().as_secs();
    assert!(
        (5..=5 + refilled).contains(&accepted),
        "{accepted} accepted in {refilled} s"
    );
    send(&client, &bob, "lobby", "not me").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn length_is_checked_in_characters() {
    let nats = NatsServer::start().await;
    start_chat(
        &nats,
        Settings {
            max_chars: 10,
            ..settings()
        },
    )
    .await;
    let client = client(&nats).await;
    let ann = User::new("7", "ann");
    send(&client, &ann, "lobby", "0123456789").await;
    send(&client, &ann, "lobby", "éééééééééé").await;
    for text in ["01234567890", "", "  \n\t ", "ééééééééééé"] {
        let answer = call(
            &client,
            "chat.send",
            Some(&ann),
            json!({"channel": "lobby", "text": text}),
        )
        .await;
        assert_eq!(code(answer), "bad_request", "{text:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_fans_out_keeps_the_messages_life_and_shows_in_history() {
    let nats = NatsServer::start().await;
    start_chat(&nats, settings()).await;
    let client = client(&nats).await;
    let mut lobby = subscribe(&client, "chat.lobby").await;
    let (ann, bob) = (User::new("7", "ann"), User::new("8", "bob"));
    let sent = send(&client, &ann, "lobby", "helo").await;
    next_json(&mut lobby).await;
    let id = sent["id"].as_str().unwrap();

    let edit = json!({"channel": "lobby", "id": id, "text": "hello"});
    let edited = call(&client, "chat.edit", Some(&ann), edit.clone())
        .await
        .unwrap();
    assert_eq!(
        (&edited["id"], &edited["ts"], &edited["author"]),
        (&sent["id"], &sent["ts"], &sent["author"])
    );
    assert_eq!(edited["text"], "hello");
    assert!(edited["edited_ts"].as_u64().unwrap() >= sent["ts"].as_u64().unwrap());
    assert_eq!(
        next_json(&mut lobby).await,
        json!({"event": "edit", "message": edited})
    );
    let shown = call(&client, "chat.history", Some(&bob), json!({"channel": "lobby"}))
        .await
        .unwrap();
    assert_eq!(shown["messages"], json!([edited]));

    // Rewritten with the time it had left (600 s, less the moment since), not a new life.
    let kv = async_nats::jetstream::new(client.clone())
        .get_key_value("chat")
        .await
        .unwrap();
    let raw = kv
        .stream
        .direct_get_last_for_subject(format!("$KV.chat.ch.lobby.{id}"))
        .await
        .unwrap();
    let ttl: u64 = raw
        .headers
        .get("Nats-TTL")
        .expect("a per-message TTL")
        .as_str()
        .parse()
        .unwrap();
    assert!((590..600).contains(&ttl), "Nats-TTL {ttl}");

    // Only the author; only a message that exists.
    let by_bob = call(&client, "chat.edit", Some(&bob), edit.clone()).await;
    assert_eq!(code(by_bob), "forbidden");
    let retract_by_bob = call(
        &client,
        "chat.retract",
        Some(&bob),
        json!({"channel": "lobby", "id": id}),
    )
    .await;
    assert_eq!(code(retract_by_bob), "forbidden");
    let ghost = json!({"channel": "lobby", "id": "0000000000001deadbeef", "text": "boo"});
    assert_eq!(
        code(call(&client, "chat.edit", Some(&ann), ghost).await),
        "not_found"
    );
    let too_long = json!({"channel": "lobby", "id": id, "text": "x".repeat(501)});
    assert_eq!(
        code(call(&client, "chat.edit", Some(&ann), too_long).await),
        "bad_request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retraction_fans_out_and_leaves_history() {
    let nats = NatsServer::start().await;
    start_chat(&nats, settings()).await;
    let client = client(&nats).await;
    let mut lobby = subscribe(&client, "chat.lobby").await;
    let ann = User::new("7", "ann");
    let first = send(&client, &ann, "lobby", "oops").await;
    let second = send(&client, &ann, "lobby", "fine").await;
    next_json(&mut lobby).await;
    next_json(&mut lobby).await;

    let target = json!({"channel": "lobby", "id": first["id"]});
    let gone = call(&client, "chat.retract", Some(&ann), target.clone())
        .await
        .unwrap();
    let expected = json!({"id": first["id"], "channel": "lobby", "author": {"id": "7", "name": "ann"}});
    assert_eq!(gone, expected);
    assert_eq!(
        next_json(&mut lobby).await,
        json!({"event": "retract", "message": expected})
    );
    assert_eq!(
        history(&client, &ann, json!({"channel": "lobby"})).await,
        vec![second["id"].as_str().unwrap()]
    );
    assert_eq!(
        code(call(&client, "chat.retract", Some(&ann), target).await),
        "not_found"
    );
    let edit = json!({"channel": "lobby", "id": first["id"], "text": "back"});
    assert_eq!(
        code(call(&client, "chat.edit", Some(&ann), edit).await),
        "not_found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_grants_the_channel_and_leaving_revokes_it() {
    let nats = NatsServer::start().await;
    start_chat(&nats, settings()).await;
    let client = client(&nats).await;
    let (ann, bob, cy) = (User::new("7", "ann"), User::new("8", "bob"), User::new("9", "cy"));
    let mut grants = subscribe(&client, "ctl.grant.7").await;
    let mut revokes = subscribe(&client, "ctl.revoke.7").await;
    let mut room = subscribe(&client, "chat.room").await;

    let joined = call(&client, "chat.join", Some(&ann), json!({"channel": "room"}))
        .await
        .unwrap();
    assert_eq!(
        (&joined["channel"], &joined["owner"], &joined["members"]),
        (&json!("room"), &json!("7"), &json!(1))
    );
    let expires_at = joined["expires_at"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!((now + 86_000..=now + 86_401).contains(&expires_at), "{joined}");
    let grant = next_json(&mut grants).await;
    assert_eq!(grant["sub"], json!(["chat.room"]));
    assert_eq!(grant["expires_at"], json!(expires_at));

    let joined = call(&client, "chat.join", Some(&bob), json!({"channel": "room"}))
        .await
        .unwrap();
    assert_eq!((&joined["owner"], &joined["members"]), (&json!("7"), &json!(2)));
    let said = send(&client, &bob, "room", "hi room").await;
    assert_eq!(
        next_json(&mut room).await,
        json!({"event": "send", "message": said})
    );
    assert_eq!(history(&client, &ann, json!({"channel": "room"})).await.len(), 1);

    // Members only: to write, and to read.
    let outsider = call(
        &client,
        "chat.send",
        Some(&cy),
        json!({"channel": "room", "text": "let me in"}),
    )
    .await;
    assert_eq!(code(outsider), "forbidden");
    let peek = call(&client, "chat.history", Some(&cy), json!({"channel": "room"})).await;
    assert_eq!(code(peek), "forbidden");
    let nowhere = call(
        &client,
        "chat.send",
        Some(&cy),
        json!({"channel": "nowhere", "text": "hi"}),
    )
    .await;
    assert_eq!(code(nowhere), "not_found");

    call(&client, "chat.leave", Some(&ann), json!({"channel": "room"}))
        .await
        .unwrap();
    assert_eq!(next_json(&mut revokes).await, json!({"patterns": ["chat.room"]}));
    let gone = call(
        &client,
        "chat.send",
        Some(&ann),
        json!({"channel": "room", "text": "still here?"}),
    )
    .await;
    assert_eq!(code(gone), "forbidden");
    // The owner left: the longest-standing member owns it now.
    let rejoined = call(&client, "chat.join", Some(&ann), json!({"channel": "room"}))
        .await
        .unwrap();
    assert_eq!(rejoined["owner"], "8");

    // The last to leave closes it; the next to join makes it anew.
    for user in [&ann, &bob] {
        call(&client, "chat.leave", Some(user), json!({"channel": "room"}))
            .await
            .unwrap();
    }
    let anew = call(&client, "chat.join", Some(&cy), json!({"channel": "room"}))
        .await
        .unwrap();
    assert_eq!((&anew["owner"], &anew["members"]), (&json!("9"), &json!(1)));

    for bad in ["lobby", "Room", "a.b", ""] {
        let answer = call(&client, "chat.join", Some(&ann), json!({"channel": bad})).await;
        assert_eq!(code(answer), "bad_request", "{bad:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_mutes_members_and_nobody_else_may() {
    let nats = NatsServer::start().await;
    start_chat(&nats, settings()).await;
    let client = client(&nats).await;
    let (ann, bob, cy) = (User::new("7", "ann"), User::new("8", "bob"), User::new("9", "cy"));
    for user in [&ann, &bob, &cy] {
        call(&client, "chat.join", Some(user), json!({"channel": "room"}))
            .await
            .unwrap();
    }
    let said = send(&client, &bob, "room", "before").await;

    let by_cy = call(
        &client,
        "chat.mute",
        Some(&cy),
        json!({"channel": "room", "user": "8"}),
    )
    .await;
    assert_eq!(code(by_cy), "forbidden");
    send(&client, &bob, "room", "not muted").await;

    let muted = call(
        &client,
        "chat.mute",
        Some(&ann),
        json!({"channel": "room", "user": "8", "secs": 60}),
    )
    .await
    .unwrap();
    assert_eq!((&muted["channel"], &muted["user"]), (&json!("room"), &json!("8")));
    let muted_send = call(
        &client,
        "chat.send",
        Some(&bob),
        json!({"channel": "room", "text": "hey"}),
    )
    .await;
    assert_eq!(code(muted_send), "forbidden");
    let muted_edit = json!({"channel": "room", "id": said["id"], "text": "hey"});
    assert_eq!(
        code(call(&client, "chat.edit", Some(&bob), muted_edit).await),
        "forbidden"
    );
    send(&client, &cy, "room", "others still talk").await;
    send(&client, &bob, "lobby", "the mute is for that room only").await;

    let by_bob = call(
        &client,
        "chat.unmute",
        Some(&bob),
        json!({"channel": "room", "user": "8"}),
    )
    .await;
    assert_eq!(code(by_bob), "forbidden");
    call(
        &client,
        "chat.unmute",
        Some(&ann),
        json!({"channel": "room", "user": "8"}),
    )
    .await
    .unwrap();
    send(&client, &bob, "room", "back").await;

    let mute = |body: Value| call(&client, "chat.mute", Some(&ann), body);
    assert_eq!(
        code(mute(json!({"channel": "room", "user": "10"})).await),
        "not_found"
    );
    assert_eq!(
        code(mute(json!({"channel": "room", "user": "7"})).await),
        "bad_request"
    );
    assert_eq!(
        code(mute(json!({"channel": "room", "user": "8", "secs": 0})).await),
        "bad_request"
    );
    assert_eq!(
        code(mute(json!({"channel": "lobby", "user": "8"})).await),
        "forbidden"
    );
}

async fn sign_up(client: &async_nats::Client, name: &str) -> User {
    let body = json!({"name": name, "password": "password-123"});
    let signed_up = call(client, "accounts.signup", None, body).await.unwrap();
    User::new(signed_up["user"]["id"].as_str().unwrap(), name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_message_reaches_both_sides_and_their_history_only() {
    let nats = NatsServer::start().await;
    let _db = start_accounts(&nats).await;
    let (_chat, metrics) = start_chat_metered(&nats, settings()).await;
    let client = client(&nats).await;
    let (ann, bob, cy) = (
        sign_up(&client, "ann").await,
        sign_up(&client, "bob").await,
        sign_up(&client, "cyd").await,
    );
    let mut ann_inbox = subscribe(&client, &format!("user.{}.dm", ann.id)).await;
    let mut bob_inbox = subscribe(&client, &format!("user.{}.dm", bob.id)).await;

    let sent = call(
        &client,
        "chat.dm",
        Some(&ann),
        json!({"to": bob.id, "text": "psst"}),
    )
    .await
    .unwrap();
    assert_eq!(
        (&sent["to"], &sent["author"]["id"]),
        (&json!(bob.id), &json!(ann.id))
    );
    assert!(sent.get("channel").is_none(), "{sent}");
    // What the send waited on is timed: the blocks request, and the bucket.
    let asked = r#"worker="chat",subject="int.friends.blocked",result="ok""#;
    assert_eq!(
        metrics.histogram_count("chorus_worker_nats_request_seconds", asked),
        1
    );
    let stored = r#"worker="chat",bucket="chat",op="create""#;
    assert_eq!(metrics.histogram_count("chorus_worker_kv_seconds", stored), 1);
    let event = json!({"event": "send", "message": sent});
    assert_eq!(next_json(&mut bob_inbox).await, event);
    assert_eq!(next_json(&mut ann_inbox).await, event, "the sender's other tabs");
    let id = sent["id"].as_str().unwrap();
    assert_eq!(history(&client, &ann, json!({"dm": bob.id})).await, vec![id]);
    assert_eq!(history(&client, &bob, json!({"dm": ann.id})).await, vec![id]);
    assert!(history(&client, &cy, json!({"dm": ann.id})).await.is_empty());
    assert!(
        history(&client, &ann, json!({"channel": "lobby"}))
            .await
            .is_empty()
    );

    let edit = json!({"dm": bob.id, "id": id, "text": "psst!"});
    let edited = call(&client, "chat.edit", Some(&ann), edit).await.unwrap();
    let event = json!({"event": "edit", "message": edited});
    assert_eq!(next_json(&mut bob_inbox).await, event);
    assert_eq!(next_json(&mut ann_inbox).await, event);
    let not_hers = json!({"dm": ann.id, "id": id, "text": "mine now"});
    assert_eq!(
        code(call(&client, "chat.edit", Some(&bob), not_hers).await),
        "forbidden"
    );
    let gone = call(
        &client,
        "chat.retract",
        Some(&ann),
        json!({"dm": bob.id, "id": id}),
    )
    .await
    .unwrap();
    assert_eq!(
        next_json(&mut bob_inbox).await,
        json!({"event": "retract", "message": gone})
    );
    assert!(history(&client, &bob, json!({"dm": ann.id})).await.is_empty());

    let dm = |to: &str| call(&client, "chat.dm", Some(&ann), json!({"to": to, "text": "hi"}));
    assert_eq!(code(dm(&ann.id).await), "bad_request", "to oneself");
    assert_eq!(code(dm("g-0123456789abcdef").await), "forbidden", "to a guest");
    assert_eq!(code(dm("x.y").await), "bad_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_message_is_refused_when_either_side_blocks() {
    let nats = NatsServer::start().await;
    let _db = start_accounts(&nats).await;
    start_chat(&nats, settings()).await;
    let client = client(&nats).await;
    let (ann, bob) = (sign_up(&client, "ann").await, sign_up(&client, "bob").await);
    let dm = |from: User, to: User| {
        let client = client.clone();
        async move {
            call(
                &client,
                "chat.dm",
                Some(&from),
                json!({"to": to.id, "text": "hi"}),
            )
            .await
        }
    };
    dm(ann.clone(), bob.clone()).await.unwrap();
    call(&client, "friends.block", Some(&bob), json!({"user": ann.id}))
        .await
        .unwrap();
    assert_eq!(code(dm(ann.clone(), bob.clone()).await), "forbidden");
    assert_eq!(code(dm(bob.clone(), ann.clone()).await), "forbidden");
    call(&client, "friends.unblock", Some(&bob), json!({"user": ann.id}))
        .await
        .unwrap();
    dm(ann.clone(), bob.clone()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_message_fails_closed_when_blocks_cannot_be_checked() {
    let nats = NatsServer::start().await;
    let settings = Settings {
        blocks_timeout: Duration::from_millis(300),
        ..settings()
    };
    let (_chat, metrics) = start_chat_metered(&nats, settings).await;
    let client = client(&nats).await;
    let ann = User::new("7", "ann");
    let answer = call(&client, "chat.dm", Some(&ann), json!({"to": "8", "text": "hi"})).await;
    assert_eq!(code(answer), "unavailable");
    let asked = r#"worker="chat",subject="int.friends.blocked",result="no_responders""#;
    assert_eq!(
        metrics.histogram_count("chorus_worker_nats_request_seconds", asked),
        1
    );
    // Nothing was kept (and so nothing went out: a message fans out only once stored).
    assert!(history(&client, &ann, json!({"dm": "8"})).await.is_empty());
}
