//! Friends and blocks, kept in Postgres beside the accounts they link: the `svc.friends.*`
//! endpoints `request`, `accept`, `decline`, `remove`, `block`, `unblock` and `list`, each
//! argument a user id; and two internal methods other workers ask, `int.friends.of` (whom
//! to tell when someone comes online) and `int.friends.blocked` (may these two talk).
//!
//! A block ends the friendship and every pending request both ways, and a blocked user
//! learns nothing of it: their request to the blocker is answered as if it were sent.
//! The other side hears of a request or an acceptance on its inbox `user.{uid}.friends`.
//! Every handler takes the shared [`Friends`] and fails with an [`AccountsError`].

use crate::error::AccountsError;
use crate::relations::{self, are_friends, befriend, has_blocked, take_request, unfriend};
use chorus_kit::{Empty, Request, Service, Waits};
use chorus_protocol::presence;
use deadpool_postgres::{GenericClient, Pool};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// The friends service's state.
pub struct Friends {
    /// Accounts, friendships, requests and blocks.
    db: Pool,
    /// To tell the other side, and to read who is online.
    nats: async_nats::Client,
    /// The presence worker's bucket, opened on first use (it may start after us).
    presence: OnceCell<async_nats::jetstream::kv::Store>,
    /// Times the queries other workers wait on (`int.friends.of`, `int.friends.blocked`).
    waits: Waits,
}

/// Someone in a friends list.
#[derive(Debug, Serialize)]
pub struct Person {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Whether they are online now.
    pub online: bool,
}

/// `svc.friends.list`: the caller's friends, requests both ways, and whom they blocked.
#[derive(Debug, Serialize)]
pub struct FriendsList {
    /// Accepted friends.
    pub friends: Vec<Person>,
    /// Requests to the caller, waiting for an answer.
    pub incoming: Vec<Person>,
    /// The caller's requests, waiting for an answer.
    pub outgoing: Vec<Person>,
    /// Users the caller blocked (so clients can hide them in shared channels).
    pub blocked: Vec<Person>,
}

/// `request` input.
#[derive(Deserialize)]
pub struct To {
    to: String,
}

/// `accept` and `decline` input.
#[derive(Deserialize)]
pub struct Requester {
    from: String,
}

/// `remove`, `block` and `unblock` input.
#[derive(Deserialize)]
pub struct User {
    user: String,
}

/// `of` input (internal).
#[derive(Deserialize)]
pub struct Of {
    user: String,
}

/// `blocked` input (internal): two users, in either order.
#[derive(Deserialize)]
pub struct Pair {
    a: String,
    b: String,
}

impl Friends {
    /// The service's state over the accounts database; queries timed in `waits`.
    pub fn new(db: Pool, nats: async_nats::Client, waits: Waits) -> Arc<Friends> {
        Arc::new(Friends {
            db,
            nats,
            presence: OnceCell::new(),
            waits,
        })
    }

    /// Which of `ids` are online, per the presence bucket (nobody, when there is none).
    async fn online(&self, ids: &[i64]) -> Vec<bool> {
        let store = self
            .presence
            .get_or_try_init(|| async {
                async_nats::jetstream::new(self.nats.clone())
                    .get_key_value(presence::BUCKET)
                    .await
            })
            .await;
        let Ok(store) = store else {
            return vec![false; ids.len()];
        };
        let lookups = ids
            .iter()
            .map(|id| store.get(presence::user_key(&id.to_string())));
        futures_util::future::join_all(lookups)
            .await
            .into_iter()
            .map(|v| matches!(v, Ok(Some(value)) if !value.is_empty()))
            .collect()
    }

    /// Tells `uid` on its inbox that `(by, by_name)` did `event` (`request`, `accepted`).
    async fn tell(&self, uid: i64, event: &str, by: i64, by_name: &str) {
        let subject = format!("user.{uid}.friends");
        let event = json!({"event": event, "user": {"id": by.to_string(), "name": by_name}});
        let body = serde_json::to_vec(&event).expect("serializes");
        if let Err(e) = self.nats.publish(subject, body.into()).await {
            tracing::warn!(error = %e, "friends event not published");
        }
    }

    /// `(id, name)` rows → people, with whether each is online.
    async fn people(&self, rows: Vec<tokio_postgres::Row>) -> Vec<Person> {
        let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        let online = self.online(&ids).await;
        rows.into_iter()
            .zip(online)
            .map(|(r, online)| Person {
                id: r.get::<_, i64>(0).to_string(),
                name: r.get(1),
                online,
            })
            .collect()
    }
}

/// The user id in argument `field`.
fn id(field: &'static str, value: &str) -> Result<i64, AccountsError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or(AccountsError::NotAUserId { field })
}

/// The signed-in caller's id.
fn me(req: &Request) -> Result<(i64, String), AccountsError> {
    let caller = req.user()?;
    Ok((id("caller", &caller.id)?, caller.name.clone()))
}

/// Another user's id, who must exist and not be the caller.
async fn other(
    db: &impl GenericClient,
    me: i64,
    field: &'static str,
    value: &str,
) -> Result<i64, AccountsError> {
    let other = id(field, value)?;
    if other == me {
        return Err(AccountsError::Yourself { field });
    }
    if !relations::exists(db, other).await? {
        return Err(AccountsError::NoSuchUser);
    }
    Ok(other)
}

async fn request(f: Arc<Friends>, req: Request, r: To) -> Result<serde_json::Value, AccountsError> {
    let (me, my_name) = me(&req)?;
    let mut db = f.db.get().await?;
    let tx = db.transaction().await?;
    let to = other(&tx, me, "to", &r.to).await?;
    if has_blocked(&tx, me, to).await? {
        return Err(AccountsError::YouBlocked);
    }
    if are_friends(&tx, me, to).await? {
        return Err(AccountsError::AlreadyFriends);
    }
    if has_blocked(&tx, to, me).await? {
        // They learn nothing: the answer is the one a sent request gets.
        return Ok(json!({"status": "requested"}));
    }
    // A request the other way already stands: this is an acceptance.
    if take_request(&tx, to, me).await? {
        befriend(&tx, me, to).await?;
        tx.commit().await?;
        f.tell(to, "accepted", me, &my_name).await;
        return Ok(json!({"status": "friends"}));
    }
    let inserted = tx
        .execute(
            "INSERT INTO friend_requests (from_id, to_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&me, &to],
        )
        .await?;
    tx.commit().await?;
    if inserted > 0 {
        f.tell(to, "request", me, &my_name).await;
    }
    Ok(json!({"status": "requested"}))
}

async fn accept(f: Arc<Friends>, req: Request, r: Requester) -> Result<serde_json::Value, AccountsError> {
    let (me, my_name) = me(&req)?;
    let from = id("from", &r.from)?;
    let mut db = f.db.get().await?;
    let tx = db.transaction().await?;
    if !take_request(&tx, from, me).await? {
        return Err(AccountsError::NoRequest);
    }
    befriend(&tx, me, from).await?;
    tx.commit().await?;
    f.tell(from, "accepted", me, &my_name).await;
    Ok(json!({"status": "friends"}))
}

async fn decline(f: Arc<Friends>, req: Request, r: Requester) -> Result<serde_json::Value, AccountsError> {
    let (me, _) = me(&req)?;
    let from = id("from", &r.from)?;
    let db = f.db.get().await?;
    if !take_request(&db, from, me).await? {
        return Err(AccountsError::NoRequest);
    }
    Ok(json!({"ok": true}))
}

/// Unfriends, or withdraws the caller's own pending request.
async fn remove(f: Arc<Friends>, req: Request, r: User) -> Result<serde_json::Value, AccountsError> {
    let (me, _) = me(&req)?;
    let user = id("user", &r.user)?;
    let db = f.db.get().await?;
    let unfriended = unfriend(&db, me, user).await?;
    let withdrawn = take_request(&db, me, user).await?;
    if !unfriended && !withdrawn {
        return Err(AccountsError::NothingToRemove);
    }
    Ok(json!({"ok": true}))
}

async fn block(f: Arc<Friends>, req: Request, r: User) -> Result<serde_json::Value, AccountsError> {
    let (me, _) = me(&req)?;
    let mut db = f.db.get().await?;
    let tx = db.transaction().await?;
    let user = other(&tx, me, "user", &r.user).await?;
    tx.execute(
        "INSERT INTO blocks (blocker, blocked) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[&me, &user],
    )
    .await?;
    unfriend(&tx, me, user).await?;
    take_request(&tx, me, user).await?;
    take_request(&tx, user, me).await?;
    tx.commit().await?;
    Ok(json!({"ok": true}))
}

async fn unblock(f: Arc<Friends>, req: Request, r: User) -> Result<serde_json::Value, AccountsError> {
    let (me, _) = me(&req)?;
    let user = id("user", &r.user)?;
    let db = f.db.get().await?;
    let deleted = db
        .execute(
            "DELETE FROM blocks WHERE blocker = $1 AND blocked = $2",
            &[&me, &user],
        )
        .await?;
    if deleted == 0 {
        return Err(AccountsError::NotBlocked);
    }
    Ok(json!({"ok": true}))
}

async fn list(f: Arc<Friends>, req: Request, _: Empty) -> Result<FriendsList, AccountsError> {
    let (me, _) = me(&req)?;
    let db = f.db.get().await?;
    let friends = db
        .query(
            "SELECT x.id, x.name FROM friendships f JOIN accounts x ON x.id = CASE WHEN f.a = $1 THEN f.b ELSE f.a END
             WHERE f.a = $1 OR f.b = $1 ORDER BY lower(x.name)",
            &[&me],
        )
        .await?;
    let incoming = db
        .query(
            "SELECT x.id, x.name FROM friend_requests r JOIN accounts x ON x.id = r.from_id WHERE r.to_id = $1 ORDER BY r.created_at",
            &[&me],
        )
        .await?;
    let outgoing = db
        .query(
            "SELECT x.id, x.name FROM friend_requests r JOIN accounts x ON x.id = r.to_id WHERE r.from_id = $1 ORDER BY r.created_at",
            &[&me],
        )
        .await?;
    let blocked = db
        .query(
            "SELECT x.id, x.name FROM blocks b JOIN accounts x ON x.id = b.blocked WHERE b.blocker = $1 ORDER BY lower(x.name)",
            &[&me],
        )
        .await?;
    let mut blocked = f.people(blocked).await;
    // Whether someone you blocked is online is none of your business either.
    blocked.iter_mut().for_each(|p| p.online = false);
    Ok(FriendsList {
        friends: f.people(friends).await,
        incoming: f.people(incoming).await,
        outgoing: f.people(outgoing).await,
        blocked,
    })
}

/// `int.friends.of`: the friends of `user` (ids), for the presence worker.
async fn of(f: Arc<Friends>, _req: Request, r: Of) -> Result<serde_json::Value, AccountsError> {
    let user = id("user", &r.user)?;
    let db = f.db.get().await?;
    let rows = f
        .waits
        .db(
            "friends_of",
            db.query(
                "SELECT CASE WHEN a = $1 THEN b ELSE a END FROM friendships WHERE a = $1 OR b = $1",
                &[&user],
            ),
        )
        .await?;
    let ids: Vec<String> = rows.iter().map(|r| r.get::<_, i64>(0).to_string()).collect();
    Ok(json!({ "friends": ids }))
}

/// `int.friends.blocked`: whether either of two users blocked the other, for the chat
/// worker.
async fn blocked(f: Arc<Friends>, _req: Request, p: Pair) -> Result<serde_json::Value, AccountsError> {
    let (a, b) = (id("a", &p.a)?, id("b", &p.b)?);
    let db = f.db.get().await?;
    const EITHER: &str =
        "SELECT 1 FROM blocks WHERE (blocker = $1 AND blocked = $2) OR (blocker = $2 AND blocked = $1)";
    let row = f.waits.db("blocked", db.query_opt(EITHER, &[&a, &b])).await?;
    Ok(json!({ "blocked": row.is_some() }))
}

/// The `svc.friends.*` service over `friends`.
pub fn service(friends: Arc<Friends>) -> Service<Arc<Friends>> {
    Service::with_state("friends", friends)
        .method("request", request)
        .method("accept", accept)
        .method("decline", decline)
        .method("remove", remove)
        .method("block", block)
        .method("unblock", unblock)
        .method("list", list)
        .internal_method("of", of)
        .internal_method("blocked", blocked)
}
