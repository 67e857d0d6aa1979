//! Telling friends. The friends list lives with the accounts worker; this worker asks it
//! over NATS (`int.friends.of`, a method only workers may call) when a user comes or goes, and
//! publishes `{user, name, online}` on each friend's `user.{friend}.presence`. A blocked
//! user is no friend, so learns nothing.

use crate::store::Transition;
use chorus_kit::Waits;
use chorus_protocol::presence::{self, Notice};
use std::time::Duration;

/// The accounts worker's internal method that lists a user's friends.
const FRIENDS_OF: &str = "int.friends.of";

/// Why a user's friends could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FriendsError {
    /// The accounts worker did not answer.
    #[error("asking for friends: {0}")]
    Request(#[from] async_nats::RequestError),
    /// It answered with an error or something unreadable.
    #[error("the friends service answered: {0}")]
    Answer(String),
}

/// Asks for friends and tells them.
#[derive(Clone)]
pub struct Notifier {
    /// Where friends are asked for and told.
    nats: async_nats::Client,
    /// How long to wait for a friends list.
    timeout: Duration,
    /// Times the friends request (to nowhere until [`Notifier::with_waits`]).
    waits: Waits,
}

impl Notifier {
    /// A notifier waiting at most `timeout` for a friends list.
    pub fn new(nats: async_nats::Client, timeout: Duration) -> Notifier {
        Notifier {
            nats,
            timeout,
            waits: Waits::default(),
        }
    }

    /// The same notifier, timing its friends requests in `waits` (the worker's
    /// `Metrics::waits()`).
    pub fn with_waits(self, waits: Waits) -> Notifier {
        Notifier { waits, ..self }
    }

    /// The ids of `uid`'s friends.
    pub async fn friends_of(&self, uid: &str) -> Result<Vec<String>, FriendsError> {
        #[derive(serde::Deserialize)]
        struct Friends {
            friends: Vec<String>,
        }
        let body = serde_json::json!({ "user": uid }).to_string();
        let request = async_nats::Request::new()
            .payload(body.into())
            .timeout(Some(self.timeout));
        let asked = self.nats.send_request(FRIENDS_OF, request);
        let reply = self.waits.nats(FRIENDS_OF, asked).await?;
        if let Some(code) = reply
            .headers
            .as_ref()
            .and_then(|h| h.get(chorus_protocol::headers::ERROR))
        {
            return Err(FriendsError::Answer(code.to_string()));
        }
        let friends: Friends =
            serde_json::from_slice(&reply.payload).map_err(|e| FriendsError::Answer(e.to_string()))?;
        Ok(friends.friends)
    }

    /// Tells `uid`'s friends of its `transition`, if it is one.
    pub async fn tell_friends(&self, uid: &str, transition: Transition) {
        let (name, online) = match transition {
            Transition::Unchanged | Transition::None => return,
            Transition::Online(name) => (name, true),
            Transition::Offline(name) => (name, false),
        };
        let friends = match self.friends_of(uid).await {
            Ok(friends) => friends,
            Err(e) => {
                tracing::warn!(user = uid, error = %e, "friends not told");
                return;
            }
        };
        let notice = Notice {
            user: uid.to_string(),
            name,
            online,
        };
        let body = bytes::Bytes::from(serde_json::to_vec(&notice).expect("serializes"));
        for friend in friends {
            if let Err(e) = self
                .nats
                .publish(presence::notice_subject(&friend), body.clone())
                .await
            {
                tracing::warn!(error = %e, "presence notice not published");
            }
        }
    }
}
