//! The rooms worker, as the matchmaker asks it: players' ratings (`int.rating.of`), and a
//! room for a group (`int.rooms.create`). Ratings are a nicety: without an answer everyone
//! is 1500. A room is not: without one, the players wait on.

use crate::error::MmError;
use crate::settings::Settings;
use chorus_kit::Waits;
use chorus_protocol::headers;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// `int.rating.of` as a metric label, whatever subject the settings name.
const RATING_OF: &str = "int.rating.of";

/// `int.rooms.create` as a metric label, whatever subject the settings name.
const ROOMS_CREATE: &str = "int.rooms.create";

/// A player as the rooms worker and the other players see them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Player {
    /// The user id.
    pub id: String,
    /// The display name.
    pub name: String,
}

/// `int.rooms.create`'s answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Room {
    /// The room's id.
    pub room: String,
    /// The players with their seats.
    pub players: Vec<Seated>,
}

/// A player in a new room, with their seat.
#[derive(Debug, Clone, Deserialize)]
pub struct Seated {
    /// The user id.
    pub id: String,
    /// Their seat, as the rooms worker names it.
    pub seat: Value,
}

/// `int.rating.of`'s answer.
#[derive(Deserialize)]
struct Ratings {
    ratings: HashMap<String, f64>,
}

/// Asks the rooms worker.
#[derive(Clone)]
pub struct Peers {
    /// The bus.
    nats: async_nats::Client,
    /// Where to ask for ratings.
    rating_subject: String,
    /// Where to ask for rooms.
    rooms_subject: String,
    /// How long to wait for ratings.
    rating_timeout: Duration,
    /// How long to wait for a room.
    rooms_timeout: Duration,
    /// The rating when nobody says.
    default_rating: f64,
    /// Times each request.
    waits: Waits,
}

impl Peers {
    /// Asks on `nats` where `settings` say, timing each request in `waits`.
    pub fn new(nats: async_nats::Client, settings: &Settings, waits: Waits) -> Peers {
        Peers {
            nats,
            rating_subject: settings.rating_subject.clone(),
            rooms_subject: settings.rooms_subject.clone(),
            rating_timeout: settings.rating_timeout,
            rooms_timeout: settings.rooms_timeout,
            default_rating: settings.default_rating,
            waits,
        }
    }

    /// `uid`'s rating in `game`; the default when the rooms worker does not answer in time
    /// or does not know them.
    pub async fn rating(&self, game: &str, uid: &str) -> f64 {
        let body = json!({"game": game, "users": [uid]});
        let asked = self.ask(RATING_OF, &self.rating_subject, &body, self.rating_timeout);
        match asked.await {
            Ok(reply) => match serde_json::from_slice::<Ratings>(&reply) {
                Ok(r) => r.ratings.get(uid).copied().unwrap_or(self.default_rating),
                Err(_) => {
                    tracing::warn!(subject = %self.rating_subject, "malformed ratings; using the default");
                    self.default_rating
                }
            },
            Err(e) => {
                tracing::debug!(error = %e, "no rating; using the default");
                self.default_rating
            }
        }
    }

    /// Opens a room of `game` for `players`.
    pub async fn create_room(&self, game: &str, players: &[Player], rated: bool) -> Result<Room, MmError> {
        let body = json!({"game": game, "players": players, "rated": rated});
        let asked = self.ask(ROOMS_CREATE, &self.rooms_subject, &body, self.rooms_timeout);
        let reply = asked.await?;
        serde_json::from_slice(&reply).map_err(|e| MmError::Rooms(format!("malformed reply: {e}")))
    }

    /// One request to `subject`, timed under `label`; its reply's body; a `Chorus-Error`
    /// reply is an error.
    async fn ask(
        &self,
        label: &'static str,
        subject: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<bytes::Bytes, MmError> {
        let payload = serde_json::to_vec(body).expect("serializes");
        let request = async_nats::Request::new()
            .payload(payload.into())
            .timeout(Some(timeout));
        let asked = self.nats.send_request(subject.to_string(), request);
        let msg = self.waits.nats(label, asked).await.map_err(|e| match e.kind() {
            async_nats::RequestErrorKind::TimedOut => MmError::Rooms(format!("{subject}: timed out")),
            _ => MmError::Rooms(format!("{subject}: {e}")),
        })?;
        if let Some(code) = msg.headers.as_ref().and_then(|h| h.get(headers::ERROR)) {
            return Err(MmError::Rooms(format!("{subject}: {}", code.as_str())));
        }
        Ok(msg.payload)
    }
}
