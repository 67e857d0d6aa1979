//! Signing in through the bridge, with the real accounts worker and Postgres behind it:
//! tokens on `/private`, `auth` frames, expiry, and the forgeries the bridge must refuse.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chorus_testkit::client::{Ws, http_get};
use common::Harness;
use serde_json::{Value, json};

const PRIVATE: &str = "/core/game/v1/real-time/private";

async fn stack(access_ttl: u64) -> (Harness, chorus_testkit::TestDb) {
    Harness::with_accounts(access_ttl).await
}

async fn sign_up_and_log_in(h: &Harness, name: &str) -> Value {
    h.sign_up_and_log_in(name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_log_in_connect_private_me_refresh_log_out() {
    let (h, _db) = stack(900).await;
    let login = sign_up_and_log_in(&h, "ann").await;
    let token = login["access_token"].as_str().unwrap();

    let (mut ws, welcome) = Ws::connect(h.http, &format!("{PRIVATE}?token={token}"), &[])
        .await
        .unwrap();
    assert_eq!(welcome["user"], login["user"]);
    assert_eq!(welcome["user"]["ns"], "private");
    let me = ws
        .call(json!({"op":"req","id":"1","subject":"svc.accounts.me"}))
        .await;
    assert_eq!(me["data"]["user"]["name"], "ann");

    // Refresh: a new pair; the new access token extends this very connection.
    let refreshed = ws.call(json!({"op":"req","id":"2","subject":"svc.accounts.refresh","data":{"refresh_token":login["refresh_token"]}})).await;
    let new_token = refreshed["data"]["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        ws.call(json!({"op":"auth","id":"3","token":new_token})).await,
        json!({"op":"ok","id":"3"})
    );

    let out = ws.call(json!({"op":"req","id":"4","subject":"svc.accounts.logout","data":{"refresh_token":refreshed["data"]["refresh_token"]}})).await;
    assert_eq!(out["data"], json!({"ok": true}));
    let again = ws.call(json!({"op":"req","id":"5","subject":"svc.accounts.refresh","data":{"refresh_token":refreshed["data"]["refresh_token"]}})).await;
    assert_eq!(again["code"], "unauthorized");
    // A logged-out token is refused, not treated as a theft: nobody is kicked.
    assert_eq!(
        ws.call(json!({"op":"ping","id":"6"})).await,
        json!({"op":"pong","id":"6"})
    );

    // The same token by header and by first frame.
    let bearer = format!("Bearer {token}");
    let (_, welcome) = Ws::connect(h.http, PRIVATE, &[("Authorization", bearer.as_str())])
        .await
        .unwrap();
    assert_eq!(welcome["user"]["name"], "ann");
    let mut ws = Ws::connect_raw(h.http, "/v1/ws").await;
    ws.send(json!({"op":"auth","token":token})).await;
    assert_eq!(ws.recv().await["user"]["name"], "ann");

    // The JWKS the bridge serves is the accounts worker's.
    let (status, body) = http_get(h.http, "/.well-known/jwks.json").await;
    assert_eq!(status, 200);
    let jwks: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(jwks["keys"][0]["alg"], "ES256");
    assert_eq!(jwks["keys"][0]["crv"], "P-256");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_and_foreign_tokens_are_unauthorized() {
    let (h, _db) = stack(900).await;
    let login = sign_up_and_log_in(&h, "bob").await;
    let token = login["access_token"].as_str().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let header: Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    let enc = |v: &Value| B64.encode(v.to_string());
    let with_claims = |f: &dyn Fn(&mut Value)| {
        let mut c = claims.clone();
        f(&mut c);
        format!("{}.{}.{}", parts[0], enc(&c), parts[2])
    };
    let mut none_header = header.clone();
    none_header["alg"] = json!("none");
    let mut hs_header = header.clone();
    hs_header["alg"] = json!("HS256");
    let mut rs_header = header.clone();
    rs_header["alg"] = json!("RS256");
    let mut no_kid = header.clone();
    no_kid.as_object_mut().unwrap().remove("kid");
    let mut unknown_kid = header.clone();
    unknown_kid["kid"] = json!("not-a-key");
    let forged = [
        ("alg none", format!("{}.{}.", enc(&none_header), parts[1])),
        ("HS256", format!("{}.{}.{}", enc(&hs_header), parts[1], parts[2])),
        ("RS256", format!("{}.{}.{}", enc(&rs_header), parts[1], parts[2])),
        ("no kid", format!("{}.{}.{}", enc(&no_kid), parts[1], parts[2])),
        (
            "unknown kid",
            format!("{}.{}.{}", enc(&unknown_kid), parts[1], parts[2]),
        ),
        ("tampered", with_claims(&|c| c["sub"] = json!("999"))),
        ("expired", with_claims(&|c| c["exp"] = json!(1))),
        ("nbf", with_claims(&|c| c["nbf"] = json!(u32::MAX))),
        ("iss", with_claims(&|c| c["iss"] = json!("evil"))),
        ("aud", with_claims(&|c| c["aud"] = json!("evil"))),
        ("guest", with_claims(&|c| c["ns"] = json!("guest"))),
        ("malformed", "not.a.token".to_string()),
    ];
    for (what, bad) in &forged {
        let mut ws = Ws::connect_raw(h.http, &format!("{PRIVATE}?token={bad}")).await;
        let closed = ws.closed().await;
        assert_eq!(
            (closed.code, closed.reason.as_str()),
            (4500, "unauthorized"),
            "{what}"
        );
    }
    // The genuine token still works, so the refusals were about the forgeries.
    let (_, welcome) = Ws::connect(h.http, &format!("{PRIVATE}?token={token}"), &[])
        .await
        .unwrap();
    assert_eq!(welcome["user"]["name"], "bob");
    // A guest connection cannot turn into a user by an `auth` frame.
    let mut guest = h.ws().await;
    let err = guest.call(json!({"op":"auth","id":"a","token":token})).await;
    assert_eq!(
        (err["code"].as_str(), err["id"].as_str()),
        (Some("unauthorized"), Some("a"))
    );
    // A token of another user cannot take over a connection.
    let other = sign_up_and_log_in(&h, "carl").await;
    let (mut ws, _) = Ws::connect(h.http, &format!("{PRIVATE}?token={token}"), &[])
        .await
        .unwrap();
    let err = ws
        .call(json!({"op":"auth","id":"b","token":other["access_token"]}))
        .await;
    assert_eq!(
        (err["code"].as_str(), err["id"].as_str()),
        (Some("unauthorized"), Some("b"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unrefreshed_token_closes_the_connection_when_it_expires() {
    let (h, _db) = stack(2).await;
    let login = sign_up_and_log_in(&h, "dee").await;
    let (mut ws, _) = Ws::connect(
        h.http,
        &format!("{PRIVATE}?token={}", login["access_token"].as_str().unwrap()),
        &[],
    )
    .await
    .unwrap();
    let err = ws.recv().await;
    assert_eq!(
        (err["code"].as_str(), err["message"].as_str()),
        (Some("unauthorized"), Some("token expired"))
    );
    let closed = ws.closed().await;
    assert_eq!((closed.code, closed.reason.as_str()), (4500, "unauthorized"));
}
