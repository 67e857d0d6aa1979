//! Whether two users block each other, asked of the accounts worker (which keeps friends
//! and blocks in Postgres) over its internal method `int.friends.blocked`
//! (`CHORUS_CHAT_BLOCKS_SUBJECT`): `{"a":uid,"b":uid}` → `{"blocked":bool}`. The request
//! carries no `Chorus-*` headers: that is how the method knows a worker is asking. When the
//! answer does not come, a direct message is refused (fail closed), never sent unchecked.

use crate::settings::BLOCKS_SUBJECT;
use chorus_kit::{ServiceError, Waits};
use chorus_protocol::{ErrorCode, headers};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The request: the two users, in any order.
#[derive(Debug, Serialize)]
struct Pair<'a> {
    a: &'a str,
    b: &'a str,
}

/// The answer.
#[derive(Debug, Deserialize)]
struct Answer {
    /// Whether either blocks the other.
    blocked: bool,
}

/// Whether `a` blocks `b` or `b` blocks `a`; `not_found` when the accounts worker knows no
/// such user, `unavailable` when nobody can say in `timeout`. The request is timed in
/// `waits` as `int.friends.blocked`, whatever subject the setting names.
pub async fn either_blocks(
    nats: &async_nats::Client,
    waits: &Waits,
    subject: &str,
    timeout: Duration,
    a: &str,
    b: &str,
) -> Result<bool, ServiceError> {
    let refused = || ServiceError::new(ErrorCode::Unavailable, "cannot check blocks now; try again");
    let body = serde_json::to_vec(&Pair { a, b }).expect("serializes");
    let request = async_nats::Request::new()
        .payload(body.into())
        .timeout(Some(timeout));
    let asked = nats.send_request(subject.to_string(), request);
    let reply = waits.nats(BLOCKS_SUBJECT, asked).await.map_err(|e| {
        tracing::warn!(error = %e, "asking for blocks failed");
        refused()
    })?;
    if let Some(code) = reply.headers.as_ref().and_then(|h| h.get(headers::ERROR)) {
        // The accounts worker takes only account ids of existing users.
        if matches!(code.as_str(), "bad_request" | "not_found") {
            return Err(ServiceError::not_found("no such user"));
        }
        tracing::warn!(code = code.as_str(), "asking for blocks was refused");
        return Err(refused());
    }
    let answer: Answer = serde_json::from_slice(&reply.payload).map_err(|e| {
        tracing::warn!(error = %e, "the blocks answer does not parse");
        refused()
    })?;
    Ok(answer.blocked)
}
