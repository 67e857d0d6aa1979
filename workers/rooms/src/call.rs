//! What travels to a room's task: a player's [`Ask`] as a [`Call`] from this replica, or
//! [`Forwarded`] on `int.rooms.room.{rid}` from another replica, and the answer back.

use crate::error::RoomsError;
use chorus_protocol::ErrorCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// What a player asks of a room.
#[derive(Debug, Clone)]
pub enum Ask {
    /// An input for the game.
    Input(Value),
    /// Leaving (a forfeit).
    Leave,
    /// The current state, as this player may see it.
    State,
    /// The caller's seat is steered from now on by phone `pad` (a claimed code).
    Pair(PadClaim),
    /// Phone `pad` (the caller: a new connection) takes back the seat whose resume secret
    /// hashes to `resume`.
    Resume(PadClaim),
}

/// A phone claiming a seat.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PadClaim {
    /// The phone's user id.
    pub pad: String,
    /// The phone's display name.
    pub name: String,
    /// SHA-256 (hex) of the phone's resume secret.
    pub resume: String,
}

/// A call to a room's task, with where its answer goes.
pub struct Call {
    /// The caller's user id.
    pub player: String,
    /// What they ask.
    pub ask: Ask,
    /// The answer.
    pub reply: oneshot::Sender<Result<Value, RoomsError>>,
}

/// How calls travel to the owner on `int.rooms.room.{rid}`, and answers back.
pub struct Forwarded;

impl Forwarded {
    /// The body of a forwarded call.
    pub fn body(player: &str, ask: &Ask) -> Vec<u8> {
        let v = match ask {
            Ask::Input(input) => json!({"player": player, "ask": "input", "input": input}),
            Ask::Leave => json!({"player": player, "ask": "leave"}),
            Ask::State => json!({"player": player, "ask": "state"}),
            Ask::Pair(claim) => json!({"player": player, "ask": "pair", "claim": claim}),
            Ask::Resume(claim) => json!({"player": player, "ask": "resume", "claim": claim}),
        };
        v.to_string().into_bytes()
    }

    /// A forwarded call's player and ask.
    pub fn parse(body: &[u8]) -> Option<(String, Ask)> {
        let v: Value = serde_json::from_slice(body).ok()?;
        let player = v.get("player")?.as_str()?.to_string();
        let ask = match v.get("ask")?.as_str()? {
            "input" => Ask::Input(v.get("input").cloned().unwrap_or(Value::Null)),
            "leave" => Ask::Leave,
            "state" => Ask::State,
            "pair" => Ask::Pair(serde_json::from_value(v.get("claim")?.clone()).ok()?),
            "resume" => Ask::Resume(serde_json::from_value(v.get("claim")?.clone()).ok()?),
            _ => return None,
        };
        Some((player, ask))
    }

    /// The owner's answer as sent back: `{ok}` or `{error:{code,message}}`.
    pub fn answer(answer: Result<Value, RoomsError>) -> Vec<u8> {
        let v = match answer {
            Ok(ok) => json!({ "ok": ok }),
            Err(e) => {
                let wire = chorus_kit::ServiceError::from(e);
                json!({"error": {"code": wire.code, "message": wire.message}})
            }
        };
        v.to_string().into_bytes()
    }

    /// The answer read back.
    pub fn read(body: &[u8]) -> Result<Value, RoomsError> {
        let mut v: Value = serde_json::from_slice(body).map_err(RoomsError::bus)?;
        if let Some(ok) = v.get_mut("ok") {
            return Ok(ok.take());
        }
        let code: ErrorCode =
            serde_json::from_value(v["error"]["code"].clone()).unwrap_or(ErrorCode::Internal);
        let message = v["error"]["message"]
            .as_str()
            .unwrap_or("internal error")
            .to_string();
        Err(RoomsError::Remote { code, message })
    }
}
