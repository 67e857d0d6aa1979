//! Opening and closing doors for a user from a worker: grants, revokes and kicks, published
//! on `ctl.grant.{uid}`, `ctl.revoke.{uid}` and `ctl.kick.{uid}` for every bridge to apply
//! (and to keep, for grants, across reconnects). Build a grant with
//! `chorus_protocol::grant::Grant::builder()`.

use chorus_protocol::grant::{Grant, Kick, Revoke};

/// Publishing a control message failed.
pub type CtlError = async_nats::PublishError;

/// Gives `uid` the rights in `grant`.
pub async fn grant(nats: &async_nats::Client, uid: &str, grant: &Grant) -> Result<(), CtlError> {
    let body = serde_json::to_vec(grant).expect("grants serialize");
    nats.publish(format!("ctl.grant.{uid}"), body.into()).await
}

/// Takes `patterns` back from `uid`; live subscriptions they allowed are dropped.
pub async fn revoke(nats: &async_nats::Client, uid: &str, patterns: &[&str]) -> Result<(), CtlError> {
    let body = Revoke {
        patterns: patterns.iter().map(|p| p.to_string()).collect(),
    };
    nats.publish(
        format!("ctl.revoke.{uid}"),
        serde_json::to_vec(&body).expect("serializes").into(),
    )
    .await
}

/// Closes every connection of `uid` (but `except_conn`), telling the client `reason`.
pub async fn kick(
    nats: &async_nats::Client,
    uid: &str,
    reason: &str,
    except_conn: Option<&str>,
) -> Result<(), CtlError> {
    let body = Kick {
        reason: reason.to_string(),
        except_conn: except_conn.map(str::to_string),
    };
    nats.publish(
        format!("ctl.kick.{uid}"),
        serde_json::to_vec(&body).expect("serializes").into(),
    )
    .await
}
