//! The accounts worker against a real nats-server and a real Postgres, called the way the
//! bridge calls it (identity in the `Chorus-*` headers).

use chorus_accounts::Settings;
use chorus_protocol::token::Jwks;
use chorus_runtime::token::Verifier;
use chorus_testkit::{NatsServer, TestDb};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;

struct Stack {
    _nats: NatsServer,
    _db: TestDb,
    client: async_nats::Client,
}

async fn stack(attempts_per_minute: u32) -> Stack {
    let nats = NatsServer::start().await;
    let test_db = TestDb::create().await;
    let worker_nats = async_nats::connect(nats.url()).await.unwrap();
    let settings = Settings {
        attempts_per_minute,
        ..Settings::for_tests(900)
    };
    chorus_accounts::spawn_in_process(worker_nats, test_db.url(), settings)
        .await
        .unwrap();
    let client = async_nats::connect(nats.url()).await.unwrap();
    Stack {
        _nats: nats,
        _db: test_db,
        client,
    }
}

/// Who the bridge says is calling.
enum As<'a> {
    Guest(&'a str),
    User(&'a Value, &'a str),
}

impl Stack {
    /// `signup` as a guest on connection `conn`.
    async fn signup(
        &self,
        conn: &str,
        name: impl Into<Value>,
        password: impl Into<Value>,
    ) -> Result<Value, (String, String)> {
        self.call(
            "signup",
            As::Guest(conn),
            json!({"name": name.into(), "password": password.into()}),
        )
        .await
    }

    /// `login` as a guest on connection `conn`.
    async fn login(
        &self,
        conn: &str,
        name: impl Into<Value>,
        password: impl Into<Value>,
    ) -> Result<Value, (String, String)> {
        self.call(
            "login",
            As::Guest(conn),
            json!({"name": name.into(), "password": password.into()}),
        )
        .await
    }

    async fn call(&self, method: &str, who: As<'_>, body: Value) -> Result<Value, (String, String)> {
        self.request(&format!("svc.accounts.{method}"), Some(who), body)
            .await
    }

    /// `svc.friends.{method}` as the signed-in `who`.
    async fn friends(&self, method: &str, who: &Value, body: Value) -> Result<Value, (String, String)> {
        self.request(&format!("svc.friends.{method}"), Some(As::User(who, "c")), body)
            .await
    }

    /// Requests `subject` as `who` (`None`: as another worker, with no identity headers).
    async fn request(
        &self,
        subject: &str,
        who: Option<As<'_>>,
        body: Value,
    ) -> Result<Value, (String, String)> {
        let mut h = async_nats::HeaderMap::new();
        match who {
            None => {}
            Some(As::Guest(conn)) => {
                h.insert("Chorus-User", "g-1");
                h.insert("Chorus-Name", "guest-1");
                h.insert("Chorus-Ns", "guest");
                h.insert("Chorus-Conn", conn);
            }
            Some(As::User(user, conn)) => {
                h.insert("Chorus-User", user["id"].as_str().unwrap());
                h.insert("Chorus-Name", user["name"].as_str().unwrap());
                h.insert("Chorus-Ns", "private");
                h.insert("Chorus-Conn", conn);
            }
        }
        let req = async_nats::Request::new()
            .headers(h)
            .payload(body.to_string().into());
        let reply = self.client.send_request(subject.to_string(), req).await.unwrap();
        let text = String::from_utf8(reply.payload.to_vec()).unwrap();
        match reply.headers.as_ref().and_then(|h| h.get("Chorus-Error")) {
            Some(code) => Err((code.as_str().to_string(), text)),
            None => Ok(serde_json::from_str(&text).unwrap()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_login_me_refresh_logout() {
    let s = stack(100).await;
    let signed = s.signup("c1", "Ann_1", "hunter2hunter2").await.unwrap();
    assert_eq!(signed["user"]["name"], "Ann_1");
    let login = s.login("c1", "ann_1", "hunter2hunter2").await.unwrap();
    assert_eq!(login["expires_in"], 900);
    assert_eq!(
        login["user"],
        json!({"id": signed["user"]["id"], "name": "Ann_1", "ns": "private"})
    );

    // The access token verifies against the published JWKS.
    let jwks: Jwks =
        serde_json::from_value(s.call("jwks", As::Guest("c1"), json!(null)).await.unwrap()).unwrap();
    let claims = Verifier::new(&jwks, "chorus", "chorus", 5)
        .verify(login["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.sub, signed["user"]["id"].as_str().unwrap());

    let user = &login["user"];
    let me = s.call("me", As::User(user, "c2"), json!({})).await.unwrap();
    assert_eq!(me["user"]["name"], "Ann_1");
    assert_eq!(
        s.call("me", As::Guest("c1"), json!({})).await.unwrap_err().0,
        "unauthorized"
    );

    let refreshed = s
        .call(
            "refresh",
            As::Guest("c3"),
            json!({"refresh_token": login["refresh_token"]}),
        )
        .await
        .unwrap();
    assert_ne!(refreshed["refresh_token"], login["refresh_token"]);
    let logout = s
        .call(
            "logout",
            As::User(user, "c2"),
            json!({"refresh_token": refreshed["refresh_token"]}),
        )
        .await;
    assert_eq!(logout.unwrap(), json!({"ok": true}));
    let after = s
        .call(
            "refresh",
            As::Guest("c3"),
            json!({"refresh_token": refreshed["refresh_token"]}),
        )
        .await;
    assert_eq!(
        after.unwrap_err().0,
        "unauthorized",
        "a logged-out session cannot refresh"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reusing_a_rotated_refresh_token_revokes_the_family_and_kicks() {
    let s = stack(100).await;
    s.signup("c", "bob", "password-bob").await.unwrap();
    let login = s.login("c", "bob", "password-bob").await.unwrap();
    let uid = login["user"]["id"].as_str().unwrap().to_string();
    let mut kicks = s.client.subscribe(format!("ctl.kick.{uid}")).await.unwrap();
    chorus_runtime::bus::round_trip(&s.client, std::time::Duration::from_secs(10))
        .await
        .unwrap();

    let first = login["refresh_token"].clone();
    let second = s
        .call("refresh", As::Guest("c"), json!({"refresh_token": first}))
        .await
        .unwrap();
    // The thief replays the first token.
    let replay = s
        .call("refresh", As::Guest("x"), json!({"refresh_token": first}))
        .await;
    assert_eq!(replay.unwrap_err().0, "unauthorized");
    // The whole family is dead: the legitimate holder's newer token too.
    let legit = s
        .call(
            "refresh",
            As::Guest("c"),
            json!({"refresh_token": second["refresh_token"]}),
        )
        .await;
    assert_eq!(legit.unwrap_err().0, "unauthorized");
    let kick = tokio::time::timeout(Duration::from_secs(10), kicks.next())
        .await
        .unwrap()
        .unwrap();
    let kick: Value = serde_json::from_slice(&kick.payload).unwrap();
    assert_eq!(kick["reason"], "refresh token reuse");
    // Another login starts a new family that works.
    let again = s.login("c", "bob", "password-bob").await.unwrap();
    assert!(
        s.call(
            "refresh",
            As::Guest("c"),
            json!({"refresh_token": again["refresh_token"]})
        )
        .await
        .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_unique_regardless_of_case_and_failures_look_alike() {
    let s = stack(100).await;
    s.signup("c", "Carol", "password-c").await.unwrap();
    let dup = s.signup("c", "cAROL", "password-c").await;
    assert_eq!(dup.unwrap_err().0, "conflict");
    for (name, password) in [
        ("carol", "wrong-password"),
        ("nobody", "password-c"),
        ("x", "password-c"),
    ] {
        let err = s.login("c", name, password).await.unwrap_err();
        assert_eq!(
            err,
            ("unauthorized".to_string(), "wrong name or password".to_string()),
            "{name}"
        );
    }
    for body in [
        json!({"name":"ab","password":"password-c"}),
        json!({"name":"dave","password":"short"}),
    ] {
        assert_eq!(
            s.call("signup", As::Guest("c"), body).await.unwrap_err().0,
            "bad_request"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_are_limited_per_name_and_per_connection() {
    let s = stack(3).await;
    s.signup("setup", "erin", "password-e").await.unwrap();
    // Per name: different connections, same name.
    for i in 0..3 {
        let err = s
            .call(
                "login",
                As::Guest(&format!("n{i}")),
                json!({"name":"erin","password":"nope-nope"}),
            )
            .await;
        assert_eq!(err.unwrap_err().0, "unauthorized");
    }
    let err = s.login("n9", "ERIN", "password-e").await;
    assert_eq!(err.unwrap_err().0, "rate_limited");
    // Per connection: one connection, different names.
    for i in 0..3 {
        let err = s.login("same", format!("who{i}"), "nope-nope").await;
        assert_eq!(err.unwrap_err().0, "unauthorized");
    }
    let err = s.login("same", "other", "nope-nope").await;
    assert_eq!(err.unwrap_err().0, "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_ends_the_other_sessions() {
    let s = stack(100).await;
    s.signup("c", "fay", "password-1").await.unwrap();
    let a = s.login("a", "fay", "password-1").await.unwrap();
    let b = s.login("b", "fay", "password-1").await.unwrap();
    let uid = a["user"]["id"].as_str().unwrap().to_string();
    let mut kicks = s.client.subscribe(format!("ctl.kick.{uid}")).await.unwrap();
    chorus_runtime::bus::round_trip(&s.client, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let wrong = s
        .call(
            "password",
            As::User(&a["user"], "conn-a"),
            json!({"old_password":"nope-nope","new_password":"password-2"}),
        )
        .await;
    assert_eq!(wrong.unwrap_err().0, "unauthorized");
    let changed = s
        .call(
            "password",
            As::User(&a["user"], "conn-a"),
            json!({"old_password":"password-1","new_password":"password-2"}),
        )
        .await
        .unwrap();
    assert!(changed["access_token"].is_string());
    let kick: Value = serde_json::from_slice(&kicks.next().await.unwrap().payload).unwrap();
    assert_eq!(kick, json!({"reason":"password changed","except_conn":"conn-a"}));
    assert!(
        s.call(
            "refresh",
            As::Guest("b"),
            json!({"refresh_token": b["refresh_token"]})
        )
        .await
        .is_err()
    );
    assert!(
        s.call(
            "refresh",
            As::Guest("a"),
            json!({"refresh_token": changed["refresh_token"]})
        )
        .await
        .is_ok()
    );
    assert!(s.login("z", "fay", "password-1").await.is_err());
    assert!(s.login("z", "fay", "password-2").await.is_ok());
}

/// A signed-up user's `{id, name}`.
async fn user(s: &Stack, name: &str) -> Value {
    s.signup(name, name, "password-123").await.unwrap()["user"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn friends_request_accept_list_remove() {
    let s = stack(100).await;
    let (ann, bob, cat) = (
        user(&s, "ann").await,
        user(&s, "bob").await,
        user(&s, "cat").await,
    );
    let friends = |method, who, body| s.friends(method, who, body);
    let bob_id = bob["id"].as_str().unwrap().to_string();
    let ann_id = ann["id"].as_str().unwrap().to_string();
    let mut bob_inbox = s
        .client
        .subscribe(format!("user.{bob_id}.friends"))
        .await
        .unwrap();
    let mut ann_inbox = s
        .client
        .subscribe(format!("user.{ann_id}.friends"))
        .await
        .unwrap();
    chorus_runtime::bus::round_trip(&s.client, std::time::Duration::from_secs(10))
        .await
        .unwrap();

    let sent = friends("request", &ann, json!({"to": bob_id})).await.unwrap();
    assert_eq!(sent["status"], "requested");
    let heard: Value = serde_json::from_slice(&bob_inbox.next().await.unwrap().payload).unwrap();
    assert_eq!(
        heard,
        json!({"event": "request", "user": {"id": ann_id, "name": "ann"}})
    );

    let listed = friends("list", &bob, json!({})).await.unwrap();
    assert_eq!(listed["incoming"][0]["id"], ann_id.as_str());
    assert_eq!(listed["friends"], json!([]));
    let listed = friends("list", &ann, json!({})).await.unwrap();
    assert_eq!(listed["outgoing"][0]["name"], "bob");

    assert_eq!(
        friends("accept", &bob, json!({"from": ann_id})).await.unwrap()["status"],
        "friends"
    );
    let heard: Value = serde_json::from_slice(&ann_inbox.next().await.unwrap().payload).unwrap();
    assert_eq!(
        heard,
        json!({"event": "accepted", "user": {"id": bob_id, "name": "bob"}})
    );
    let listed = friends("list", &ann, json!({})).await.unwrap();
    assert_eq!(
        listed["friends"],
        json!([{"id": bob_id, "name": "bob", "online": false}])
    );
    assert_eq!(listed["outgoing"], json!([]));
    assert_eq!(
        friends("request", &ann, json!({"to": bob_id}))
            .await
            .unwrap_err()
            .0,
        "conflict"
    );

    // The internal list of friends, for the presence worker; refused through a bridge.
    let of = s
        .request("int.friends.of", None, json!({"user": ann_id}))
        .await
        .unwrap();
    assert_eq!(of["friends"], json!([bob_id]));
    let refused = s
        .request(
            "int.friends.of",
            Some(As::User(&cat, "c")),
            json!({"user": ann_id}),
        )
        .await;
    assert_eq!(refused.unwrap_err().0, "forbidden");

    // Declines, bad ids, unknown users, oneself.
    let cat_id = cat["id"].as_str().unwrap().to_string();
    friends("request", &cat, json!({"to": ann_id})).await.unwrap();
    friends("decline", &ann, json!({"from": cat_id})).await.unwrap();
    assert_eq!(
        friends("accept", &ann, json!({"from": cat_id}))
            .await
            .unwrap_err()
            .0,
        "not_found"
    );
    assert_eq!(
        friends("request", &ann, json!({"to": "x"})).await.unwrap_err().0,
        "bad_request"
    );
    assert_eq!(
        friends("request", &ann, json!({"to": "999999"}))
            .await
            .unwrap_err()
            .0,
        "not_found"
    );
    assert_eq!(
        friends("request", &ann, json!({"to": ann_id}))
            .await
            .unwrap_err()
            .0,
        "bad_request"
    );

    friends("remove", &bob, json!({"user": ann_id})).await.unwrap();
    assert_eq!(
        friends("list", &ann, json!({})).await.unwrap()["friends"],
        json!([])
    );
    assert_eq!(
        friends("remove", &bob, json!({"user": ann_id}))
            .await
            .unwrap_err()
            .0,
        "not_found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_ends_everything_and_the_blocked_learns_nothing() {
    let s = stack(100).await;
    let (ann, bob) = (user(&s, "ann").await, user(&s, "bob").await);
    let (ann_id, bob_id) = (ann["id"].as_str().unwrap(), bob["id"].as_str().unwrap());
    let call = |method, who, body| s.friends(method, who, body);
    let blocked = |a: &str, b: &str| {
        let body = json!({"a": a, "b": b});
        let s = &s;
        async move { s.request("int.friends.blocked", None, body).await.unwrap()["blocked"].clone() }
    };
    call("request", &ann, json!({"to": bob_id})).await.unwrap();
    call("accept", &bob, json!({"from": ann_id})).await.unwrap();
    assert_eq!(blocked(ann_id, bob_id).await, false);

    call("block", &bob, json!({"user": ann_id})).await.unwrap();
    assert_eq!(blocked(ann_id, bob_id).await, true);
    assert_eq!(blocked(bob_id, ann_id).await, true);
    // The friendship is gone on both sides.
    assert_eq!(call("list", &ann, json!({})).await.unwrap()["friends"], json!([]));
    let bobs = call("list", &bob, json!({})).await.unwrap();
    assert_eq!(bobs["friends"], json!([]));
    assert_eq!(bobs["blocked"][0]["id"], ann_id);
    // Ann's new request looks sent, but Bob never sees it.
    let mut bob_inbox = s
        .client
        .subscribe(format!("user.{bob_id}.friends"))
        .await
        .unwrap();
    chorus_runtime::bus::round_trip(&s.client, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        call("request", &ann, json!({"to": bob_id})).await.unwrap()["status"],
        "requested"
    );
    assert_eq!(
        call("list", &bob, json!({})).await.unwrap()["incoming"],
        json!([])
    );
    // Bob must unblock before he can ask.
    assert_eq!(
        call("request", &bob, json!({"to": ann_id})).await.unwrap_err().0,
        "forbidden"
    );
    call("unblock", &bob, json!({"user": ann_id})).await.unwrap();
    assert_eq!(blocked(ann_id, bob_id).await, false);
    call("request", &bob, json!({"to": ann_id})).await.unwrap();
    // Nothing reached Bob's inbox from the blocked request; the next event is his own doing.
    call("request", &ann, json!({"to": bob_id})).await.unwrap();
    let heard: Value = serde_json::from_slice(&bob_inbox.next().await.unwrap().payload).unwrap();
    assert_eq!(heard["event"], "accepted", "{heard}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_finds_a_name_in_any_case_for_users_only() {
    let s = stack(100).await;
    let (ann, bob) = (user(&s, "ann").await, user(&s, "Bob").await);
    let found = s
        .call("lookup", As::User(&ann, "c"), json!({"name": "BOB"}))
        .await
        .unwrap();
    assert_eq!(found["user"]["id"], bob["id"]);
    assert_eq!(found["user"]["name"], "Bob");

    let missing = s
        .call("lookup", As::User(&ann, "c"), json!({"name": "nobody"}))
        .await;
    assert_eq!(missing.unwrap_err().0, "not_found");
    let bad = s
        .call("lookup", As::User(&ann, "c"), json!({"name": "a b"}))
        .await;
    assert_eq!(bad.unwrap_err().0, "bad_request");
    let guest = s.call("lookup", As::Guest("c"), json!({"name": "bob"})).await;
    assert_eq!(guest.unwrap_err().0, "unauthorized");
}
