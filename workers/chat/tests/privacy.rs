//! The privacy proof, over the whole stack as real processes (`chorus-accounts`,
//! `chorus-chat`, `chorus-bridge`, all logging at debug level): two users chat in the lobby,
//! in a direct message, and edit; the words they wrote are then nowhere but in memory — not
//! in any file of the JetStream store, not in the database, not in any log line of any
//! process. When the TTL ends they are gone from memory too: the bucket says so (its
//! expiry markers), and history is empty.
//!
//! Beside it, the same stack from a guest's side: the lobby is readable, not writable, and
//! a user who floods it is refused.

mod common;

use async_nats::jetstream::kv::Operation;
use common::{Client, Stack, marker};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

/// Every file under `dir`, recursively, with its bytes.
fn files(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), bytes));
        }
    }
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// What `marker` looks like in a dump or a log: itself, and its base64 (as a JetStream API
/// reply or a debug print of bytes would carry it) at each of the three alignments it can
/// have inside a longer text, less the edges that depend on its neighbours.
fn disguises(marker: &str) -> Vec<String> {
    use base64::Engine;
    let mut all = vec![marker.to_string()];
    for shift in 0..3 {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{}{marker}", "x".repeat(shift)));
        // Whole 3-byte groups of the marker alone: 4 characters each.
        let first = shift.div_ceil(3);
        let last = (shift + marker.len()) / 3;
        all.push(encoded[first * 4..last * 4].to_string());
    }
    all
}

/// Whether `haystack` holds `marker` in any of its disguises.
fn betrays(haystack: &[u8], marker: &str) -> bool {
    disguises(marker).iter().any(|d| holds(haystack, d))
}

/// Asserts `marker` is in no file of the JetStream store, not in a dump of the database,
/// and in no log; and that each of those was really looked at.
async fn assert_no_trace(stack: &Stack, marker: &str, message_id: &str) {
    let mut stored = Vec::new();
    files(stack.nats.store_dir(), &mut stored);
    for (path, bytes) in &stored {
        assert!(!betrays(bytes, marker), "the chat reached the disk: {path}");
    }

    let dump = tokio::process::Command::new("pg_dump")
        .arg(stack.db.url())
        .output()
        .await
        .expect("running pg_dump");
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    assert!(
        holds(&dump.stdout, "ann") && holds(&dump.stdout, "bob"),
        "the dump holds the accounts"
    );
    assert!(!betrays(&dump.stdout, marker), "the chat reached the database");

    let logs = stack.logs();
    for (name, log) in &logs {
        assert!(!betrays(log.as_bytes(), marker), "{name} logged the chat");
    }
    let chat_log = &logs.iter().find(|(name, _)| name == "chorus-chat").unwrap().1;
    assert!(
        chat_log.contains(message_id),
        "the chat worker logs at debug level, ids only"
    );
}

/// Checks the text of the first `msg` on `subject` at `client`.
async fn delivered(client: &mut Client, subject: &str, event: &str, text: &str) -> Value {
    let frame = client.delivery(subject).await;
    assert_eq!(frame["data"]["event"], event, "{frame}");
    assert_eq!(frame["data"]["message"]["text"], text, "{frame}");
    frame["data"]["message"].clone()
}

#[test]
fn a_marker_is_found_in_base64_at_any_alignment() {
    use base64::Engine;
    let marker = marker();
    for prefix in ["", "a", "ab", "abc", "{\"text\":\"meet at the "] {
        let text = format!("{prefix}{marker} door");
        let encoded = base64::engine::general_purpose::STANDARD.encode(&text);
        assert!(betrays(encoded.as_bytes(), &marker), "{prefix:?}");
        assert!(betrays(text.as_bytes(), &marker));
    }
    assert!(!betrays(b"nothing to see", &marker));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_lives_only_in_memory_is_never_logged_and_expires() {
    let stack = Stack::start(&[("CHORUS_CHAT_TTL_SECS", "3"), ("CHORUS_CHAT_MARKER_SECS", "60")]).await;
    let nats = async_nats::connect(stack.nats.url()).await.unwrap();
    let bucket = async_nats::jetstream::new(nats)
        .get_key_value("chat")
        .await
        .unwrap();
    let mut watch = bucket.watch_all().await.unwrap();

    let marker = marker();
    let mut ann = stack.user("ann").await;
    let mut bob = stack.user("bob").await;
    let (ann_id, bob_id) = (ann.id(), bob.id());
    for client in [&mut ann, &mut bob] {
        client.sub("chat.lobby").await;
        let inbox = format!("user.{}.>", client.id());
        client.sub(&inbox).await;
    }

    let text = format!("meet at the {marker} door");
    let sent = ann
        .request("svc.chat.send", json!({"channel": "lobby", "text": text}))
        .await
        .unwrap();
    let lobby_id = sent["id"].as_str().unwrap().to_string();
    for client in [&mut ann, &mut bob] {
        assert_eq!(delivered(client, "chat.lobby", "send", &text).await, sent);
    }

    let whisper = format!("the {marker} password");
    let dm = ann
        .request("svc.chat.dm", json!({"to": bob_id, "text": whisper}))
        .await
        .unwrap();
    let dm_id = dm["id"].as_str().unwrap().to_string();
    assert_eq!(
        delivered(&mut bob, &format!("user.{bob_id}.dm"), "send", &whisper).await,
        dm
    );
    assert_eq!(
        delivered(&mut ann, &format!("user.{ann_id}.dm"), "send", &whisper).await,
        dm
    );

    let edited_text = format!("meet at the {marker} gate");
    let edit = json!({"channel": "lobby", "id": lobby_id, "text": edited_text});
    let edited = ann.request("svc.chat.edit", edit).await.unwrap();
    for client in [&mut ann, &mut bob] {
        assert_eq!(
            delivered(client, "chat.lobby", "edit", &edited_text).await,
            edited
        );
    }

    // Live in memory, and nowhere else.
    let lobby_history = json!({"channel": "lobby"});
    let shown = bob
        .request("svc.chat.history", lobby_history.clone())
        .await
        .unwrap();
    assert_eq!(shown["messages"], json!([edited]));
    assert_no_trace(&stack, &marker, &lobby_id).await;

    // Then the TTL ends: the bucket marks each key's expiry.
    let (lo, hi) = if ann_id <= bob_id {
        (&ann_id, &bob_id)
    } else {
        (&bob_id, &ann_id)
    };
    let mut live: BTreeSet<String> = [format!("ch.lobby.{lobby_id}"), format!("dm.{lo}.{hi}.{dm_id}")].into();
    let deadline = Duration::from_secs(20);
    tokio::time::timeout(deadline, async {
        while !live.is_empty() {
            let entry = watch.next().await.expect("the watch is open").unwrap();
            if matches!(entry.operation, Operation::Purge | Operation::Delete) {
                live.remove(&entry.key);
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("still live after {deadline:?}: {live:?}"));

    let after = bob.request("svc.chat.history", lobby_history).await.unwrap();
    assert_eq!(after["messages"], json!([]), "the lobby forgot");
    for (client, peer) in [(&mut ann, &bob_id), (&mut bob, &ann_id)] {
        let after = client
            .request("svc.chat.history", json!({"dm": peer}))
            .await
            .unwrap();
        assert_eq!(after["messages"], json!([]), "the conversation forgot");
    }
    assert_no_trace(&stack, &marker, &lobby_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_read_the_lobby_but_cannot_write_and_floods_are_refused() {
    let stack = Stack::start(&[]).await;
    let mut guest = stack.guest().await;
    guest.sub("chat.lobby").await;
    let mut ann = stack.user("ann").await;

    let sent = ann
        .request(
            "svc.chat.send",
            json!({"channel": "lobby", "text": "hello, guests"}),
        )
        .await
        .unwrap();
    let frame = guest.delivery("chat.lobby").await;
    assert_eq!(frame["data"], json!({"event": "send", "message": sent}));
    let history = guest
        .request("svc.chat.history", json!({"channel": "lobby"}))
        .await
        .unwrap();
    assert_eq!(history["messages"], json!([sent]));

    let send = json!({"channel": "lobby", "text": "me too"});
    let refused = guest.request("svc.chat.send", send.clone()).await.unwrap_err();
    assert_eq!(refused.0, "forbidden", "{refused:?}");
    let dm = json!({"to": ann.id(), "text": "psst"});
    let refused_dm = guest.request("svc.chat.dm", dm).await.unwrap_err();
    assert_eq!(refused_dm.0, "forbidden", "{refused_dm:?}");

    // The default allowance: a burst of 5, then one a second.
    let mut bob = stack.user("bob").await;
    let started = std::time::Instant::now();
    let mut accepted = 0;
    let code = loop {
        match bob.request("svc.chat.send", send.clone()).await {
            Ok(_) => accepted += 1,
            Err((code, _)) => break code,
        }
    };
    assert_eq!(code, "rate_limited");
    let refilled = started.elapsed().as_secs();
    assert!(
        (5..=5 + refilled).contains(&accepted),
        "{accepted} accepted in {refilled} s"
    );
}
