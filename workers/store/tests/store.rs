//! The store worker against a real nats-server and Postgres, called as a bridge would call
//! it: purchases once per key (across a restart), limits and balances, refunds, rewards
//! paid once, the goods a room's players own, and every refusal with its code.

mod common;

use common::{Stack, next_event};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_happens_once_per_key_even_after_a_restart() {
    let mut s = Stack::start().await;
    let mut events = s.wallet_events("1").await;
    let first = s.buy("1", "skin-red", "k-1").await.unwrap();
    assert_eq!(first["good"], "skin-red");
    assert_eq!(first["price"], 30);
    assert_eq!(first["balance"], 70);
    // The wallet opened with its grant, then the purchase: each told to the user.
    assert_eq!(
        next_event(&mut events).await,
        json!({"balance": 100, "reason": "grant"})
    );
    assert_eq!(
        next_event(&mut events).await,
        json!({"balance": 70, "reason": "purchase"})
    );

    assert_eq!(s.buy("1", "skin-red", "k-1").await.unwrap(), first);
    s.restart_store().await;
    assert_eq!(s.buy("1", "skin-red", "k-1").await.unwrap(), first);

    let wallet = s.call("1", "wallet", json!({})).await.unwrap();
    assert_eq!(wallet["balance"], 70);
    let reasons: Vec<&str> = wallet["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["purchase", "grant"], "{wallet}");
    assert_eq!(
        wallet["entries"][0]["ref"],
        format!("purchase:{}", first["purchase"])
    );
    let items = s.call("1", "inventory", json!(null)).await.unwrap();
    assert_eq!(items["items"].as_array().unwrap().len(), 1, "{items}");
    assert_eq!(items["items"][0]["good"], "skin-red");
    assert_eq!(items["items"][0]["name"], "Red skin");
    assert_eq!(s.balance_and_ledger_sum("1").await, (70, 70));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_and_short_wallets_are_conflicts_and_keep_their_answer() {
    let s = Stack::start().await;
    s.buy("1", "skin-red", "a").await.unwrap();
    let (code, message) = s.buy("1", "skin-red", "b").await.unwrap_err();
    assert_eq!(code, "conflict");
    assert!(message.contains("already own 1"), "{message}");

    let poor = s.buy("1", "crown", "c").await.unwrap_err();
    assert_eq!(poor.0, "conflict");
    assert_eq!(poor.1, "not enough coins: `crown` costs 500, you have 70");
    // The same key answers the same, whatever happened since.
    s.buy("1", "emote-gg", "d").await.unwrap();
    assert_eq!(s.buy("1", "crown", "c").await.unwrap_err(), poor);
    // A key names one purchase: another good under it is refused.
    let (code, message) = s.buy("1", "emote-gg", "a").await.unwrap_err();
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("conflict", "that idempotency_key was used to buy `skin-red`")
    );
    // Free goods have limits too.
    s.buy("1", "free-hat", "h1").await.unwrap();
    s.buy("1", "free-hat", "h2").await.unwrap();
    assert_eq!(s.buy("1", "free-hat", "h3").await.unwrap_err().0, "conflict");
    assert_eq!(s.balance_and_ledger_sum("1").await, (60, 60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let s = Stack::start().await;
    for method in ["catalog", "wallet", "inventory"] {
        let (code, message) = s.call("g-0123456789abcdef", method, json!({})).await.unwrap_err();
        assert_eq!(code, "forbidden", "{method}");
        assert_eq!(message, "guests have no wallet: sign in to use the store");
    }
    let guest = s.buy("g-0123456789abcdef", "skin-red", "k").await.unwrap_err();
    assert_eq!(guest.0, "forbidden");
    let unknown = s.buy("1", "unicorn", "k").await.unwrap_err();
    assert_eq!(
        unknown,
        ("not_found".into(), "no good `unicorn` in the catalog".into())
    );
    let missing = s.call("1", "buy", json!({"good": "skin-red"})).await.unwrap_err();
    assert_eq!(missing.0, "bad_request");
    assert!(missing.1.contains("idempotency_key is required"), "{}", missing.1);
    assert_eq!(s.buy("1", "skin-red", "").await.unwrap_err().0, "bad_request");
    let long = s.buy("1", "skin-red", &"k".repeat(65)).await.unwrap_err();
    assert_eq!(
        long,
        (
            "bad_request".into(),
            "idempotency_key is longer than 64 characters".into()
        )
    );
    assert_eq!(
        s.buy("1", "skin-red", &"k".repeat(64)).await.unwrap()["balance"],
        70
    );
    let no_good = s
        .call("1", "buy", json!({"idempotency_key": "x"}))
        .await
        .unwrap_err();
    assert_eq!(no_good.0, "bad_request");
    // Without a bridge's identity, no wallet is anyone's.
    let anonymous = s.bus.request("svc.store.wallet", "{}".into()).await.unwrap();
    assert_eq!(
        anonymous.headers.unwrap().get("Chorus-Error").unwrap().as_str(),
        "unauthorized"
    );
    // The catalog lists what is on sale, in file order.
    let catalog = s.call("1", "catalog", json!({})).await.unwrap();
    assert_eq!(
        catalog["goods"][0],
        json!({"id":"skin-red","name":"Red skin","price":30,"kind":"skin","limit":1})
    );
    assert_eq!(
        catalog["goods"][1],
        json!({"id":"emote-gg","name":"GG","price":10,"kind":"emote"})
    );
    assert_eq!(s.balance_and_ledger_sum("1").await, (70, 70));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_is_one_compensating_entry_and_happens_once() {
    let s = Stack::start().await;
    let bought = s.buy("7", "skin-red", "k").await.unwrap();
    let mut events = s.wallet_events("7").await;
    let purchase = bought["purchase"].clone();
    let refunded = s.internal("refund", json!({"purchase": purchase})).await.unwrap();
    assert_eq!(
        refunded,
        json!({"purchase": purchase, "user": "7", "good": "skin-red", "amount": 30, "balance": 100})
    );
    assert_eq!(
        next_event(&mut events).await,
        json!({"balance": 100, "reason": "refund"})
    );
    assert_eq!(s.entries("7", "refund").await, 1);
    let items = s.call("7", "inventory", json!({})).await.unwrap();
    assert_eq!(items, json!({"items": []}));
    assert_eq!(s.balance_and_ledger_sum("7").await, (100, 100));

    let again = s
        .internal("refund", json!({"purchase": purchase}))
        .await
        .unwrap_err();
    assert_eq!(again.0, "conflict");
    assert!(again.1.contains("already refunded"), "{}", again.1);
    assert_eq!(s.entries("7", "refund").await, 1);
    assert_eq!(
        s.internal("refund", json!({"purchase": 999_999}))
            .await
            .unwrap_err()
            .0,
        "not_found"
    );
    // Clients never refund: a request that came through a bridge is refused.
    let client = s
        .call_subject("7", "int.store.refund", json!({"purchase": purchase}))
        .await;
    assert_eq!(client.unwrap_err().0, "forbidden");
    // Refunded, the good no longer counts against its limit.
    assert_eq!(s.buy("7", "skin-red", "k2").await.unwrap()["balance"], 70);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_win_is_paid_once_however_often_its_event_comes() {
    let s = Stack::start().await;
    let js = async_nats::jetstream::new(s.bus.clone());
    let finished = |room: &str, rated: bool, winner: serde_json::Value, draw: bool| {
        json!({"room": room, "game": "tictactoe", "rated": rated, "draw": draw, "winner": winner,
               "players": [{"id": "1", "name": "ann", "seat": 0}, {"id": "2", "name": "bob", "seat": 1}]})
    };
    let publish = |event: serde_json::Value| {
        let js = js.clone();
        async move {
            js.publish("evt.rooms.finished", event.to_string().into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
    };
    let mut ann = s.wallet_events("1").await;
    let mut bob = s.wallet_events("2").await;
    // The same result twice (past the stream's duplicate window, as a replay would be),
    // then matches that pay nothing, then a sentinel: once bob is paid, all came before.
    publish(finished("r1", true, json!("1"), false)).await;
    publish(finished("r1", true, json!("1"), false)).await;
    publish(finished("r2", false, json!("1"), false)).await;
    publish(finished("r3", true, json!(null), true)).await;
    publish(finished("r4", true, json!("g-0123456789abcdef"), false)).await;
    publish(json!({"nonsense": true})).await;
    publish(finished("r5", true, json!("2"), false)).await;

    assert_eq!(
        next_event(&mut ann).await,
        json!({"balance": 100, "reason": "grant"})
    );
    assert_eq!(
        next_event(&mut ann).await,
        json!({"balance": 125, "reason": "reward"})
    );
    assert_eq!(
        next_event(&mut bob).await,
        json!({"balance": 100, "reason": "grant"})
    );
    assert_eq!(
        next_event(&mut bob).await,
        json!({"balance": 125, "reason": "reward"})
    );
    assert_eq!(s.entries("1", "reward").await, 1);
    assert_eq!(s.balance_and_ledger_sum("1").await, (125, 125));
    let wallet = s.call("1", "wallet", json!({})).await.unwrap();
    assert_eq!(wallet["entries"][0]["ref"], "room:r1");
    assert_eq!(wallet["entries"][0]["amount"], 25);
    let guests: i64 =
        s.db.connect()
            .await
            .query_one("SELECT count(*) FROM store_wallets WHERE user_id LIKE 'g-%'", &[])
            .await
            .unwrap()
            .get(0);
    assert_eq!(guests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_goods_of_a_kind_for_a_room() {
    let s = Stack::start().await;
    let hat = s.buy("1", "free-hat", "a").await.unwrap();
    s.buy("1", "free-hat", "b").await.unwrap();
    s.buy("1", "emote-gg", "c").await.unwrap();
    s.buy("2", "skin-red", "a").await.unwrap();
    let skins = s
        .internal("owned", json!({"users": ["1", "2", "3"], "kind": "skin"}))
        .await;
    assert_eq!(
        skins.unwrap(),
        json!({"owned": {"1": ["free-hat"], "2": ["skin-red"]}})
    );
    let all = s.internal("owned", json!({"users": ["1"]})).await.unwrap();
    assert_eq!(all, json!({"owned": {"1": ["emote-gg", "free-hat"]}}));
    s.internal("refund", json!({"purchase": hat["purchase"]}))
        .await
        .unwrap();
    let all = s
        .internal("owned", json!({"users": ["1"], "kind": "skin"}))
        .await
        .unwrap();
    assert_eq!(all, json!({"owned": {"1": ["free-hat"]}}));
    let many: Vec<String> = (0..65).map(|i| i.to_string()).collect();
    assert_eq!(
        s.internal("owned", json!({"users": many})).await.unwrap_err().0,
        "bad_request"
    );
}
