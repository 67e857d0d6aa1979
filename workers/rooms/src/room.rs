//! One room this replica owns, run by its own task ([`Room::run`]): it takes calls one at a
//! time (from this replica's handlers, or forwarded by other replicas on
//! `int.rooms.room.{rid}`), has the game turn each input into events, folds them into the
//! state, appends them to the log with compare-and-set, and broadcasts `{seq, state}` on
//! `room.{rid}.state`. It renews its lease, forfeits a player whose turn time runs out,
//! and finishes the room (Postgres, ratings, `evt.rooms.finished`) once the state says it
//! is over. A replica that takes the room over rebuilds the same `Room` from the log.

use crate::call::{Ask, Call, Forwarded};
use crate::error::RoomsError;
use crate::finish;
use crate::model::{Entry, RoomMeta, now_ms};
use crate::seats;
use crate::shared::Rooms;
use crate::store::AppendError;
use chorus_games::{Game, Verdict, outcome, turn};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// A room, live on this replica.
pub struct Room {
    /// The worker's shared parts.
    rooms: Arc<Rooms>,
    /// What the room is.
    meta: RoomMeta,
    /// Its rules.
    game: Arc<dyn Game>,
    /// The fold of every event so far.
    state: Value,
    /// How many entries the log holds.
    seq: u64,
    /// The stream sequence of the log's last entry (0: none), for compare-and-set.
    last: u64,
    /// When the last entry (or the room) was made, unix ms: turn time counts from it.
    last_ts: u64,
    /// Our lease's revision.
    lease: u64,
    /// The `seq` at which the player to move was last forfeited for time.
    timed_out_at: Option<u64>,
    /// Set when another replica took the room: stop at once.
    lost: bool,
}

impl Room {
    /// A room just created with its first `state`.
    pub fn new(rooms: Arc<Rooms>, meta: RoomMeta, game: Arc<dyn Game>, state: Value, lease: u64) -> Room {
        let last_ts = meta.created_ms;
        Room {
            rooms,
            meta,
            game,
            state,
            seq: 0,
            last: 0,
            last_ts,
            lease,
            timed_out_at: None,
            lost: false,
        }
    }

    /// The room as its log says, for a replica taking it over: `init` with the room's
    /// players and seed, then every logged event folded in.
    pub async fn rebuild(
        rooms: Arc<Rooms>,
        meta: RoomMeta,
        game: Arc<dyn Game>,
        lease: u64,
    ) -> Result<Room, RoomsError> {
        let entries = rooms.store.read_log(&meta.room, 0).await?;
        let (players, seed) = (meta.game_players(), meta.seed);
        let events: Vec<Value> = entries.iter().flat_map(|(_, e)| e.events.clone()).collect();
        let g = game.clone();
        let state = blocking(move || g.init(&players, seed).and_then(|s| g.apply(s, &events))).await?;
        let mut room = Room::new(rooms, meta, game, state, lease);
        if let Some((stream_seq, entry)) = entries.last() {
            (room.seq, room.last, room.last_ts) = (entry.seq, *stream_seq, entry.ts);
        }
        tracing::info!(room = %room.meta.room, seq = room.seq, "room rebuilt from its log");
        Ok(room)
    }

    /// Serves the room until it finishes or is lost; then leaves the replica's table.
    pub async fn run(
        mut self,
        mut calls: tokio::sync::mpsc::Receiver<Call>,
        mut forwarded: async_nats::Subscriber,
    ) {
        let mut renew = tokio::time::interval(self.rooms.settings.lease / 3);
        renew.tick().await;
        loop {
            if outcome(&self.state).is_some() {
                self.finish(&mut renew).await;
                break;
            }
            let deadline = self.turn_deadline();
            tokio::select! {
                call = calls.recv() => match call {
                    Some(call) => {
                        let answer = self.serve(&call.player, call.ask).await;
                        let _ = call.reply.send(answer);
                    }
                    None => break,
                },
                Some(msg) = forwarded.next() => self.serve_forwarded(msg).await,
                _ = renew.tick() => self.renew().await,
                _ = sleep_until_ms(deadline), if deadline.is_some() => self.time_out().await,
            }
            if self.lost {
                tracing::warn!(room = %self.meta.room, "another replica took the room");
                break;
            }
        }
        let _ = forwarded.unsubscribe().await;
        self.rooms.forget(&self.meta.room);
    }

    /// One call from a player (or from a phone steering a player's seat).
    async fn serve(&mut self, caller: &str, ask: Ask) -> Result<Value, RoomsError> {
        if matches!(ask, Ask::Pair(_) | Ask::Resume(_)) {
            return seats::on_owner(&self.rooms, &mut self.meta, caller, ask).await;
        }
        let player = &seats::seat_for(&self.meta, caller, &ask)?;
        match ask {
            Ask::Pair(_) | Ask::Resume(_) => unreachable!("pairing is answered above"),
            Ask::State => {
                let (g, s, p) = (self.game.clone(), self.state.clone(), player.clone());
                let seen = blocking(move || g.view(&s, &p)).await?;
                Ok(json!({
                    "room": self.meta.room, "game": self.meta.game, "seq": self.seq, "state": seen,
                    "players": self.meta.players, "over": outcome(&self.state).is_some(),
                }))
            }
            _ if outcome(&self.state).is_some() => Err(RoomsError::Over),
            Ask::Leave => {
                let forfeit = json!({"type": "forfeit", "player": player, "reason": "left"});
                self.commit(Some(player), None, vec![forfeit])
                    .await
                    .map(|seq| json!({ "seq": seq }))
            }
            Ask::Input(input) => {
                let (g, s, p, i) = (
                    self.game.clone(),
                    self.state.clone(),
                    player.to_string(),
                    input.clone(),
                );
                match blocking(move || g.command(&s, &p, &i)).await? {
                    Verdict::Refused(refusal) => Err(RoomsError::Refused(refusal)),
                    Verdict::Events(events) if events.is_empty() => Ok(json!({ "seq": self.seq })),
                    Verdict::Events(events) => self
                        .commit(Some(player), Some(input), events)
                        .await
                        .map(|seq| json!({ "seq": seq })),
                }
            }
        }
    }

    /// A call another replica forwarded: `{player, ask, input?}`, answered `{ok}` or `{error}`.
    async fn serve_forwarded(&mut self, msg: async_nats::Message) {
        let Some(reply) = msg.reply.clone() else { return };
        let answer = match Forwarded::parse(&msg.payload) {
            Some((player, ask)) => self.serve(&player, ask).await,
            None => Err(RoomsError::Bus("a malformed forwarded call".into())),
        };
        let body = Forwarded::answer(answer);
        if let Err(e) = self.rooms.nats.publish(reply, body.into()).await {
            tracing::warn!(room = %self.meta.room, error = %e, "answering a forwarded call");
        }
    }

    /// Appends `events` (by `by`, for `input`) to the log, after folding them; then
    /// broadcasts. Returns the new sequence number.
    async fn commit(
        &mut self,
        by: Option<&str>,
        input: Option<Value>,
        events: Vec<Value>,
    ) -> Result<u64, RoomsError> {
        let (g, s, ev) = (self.game.clone(), self.state.clone(), events.clone());
        let next = blocking(move || g.apply(s, &ev)).await?;
        let entry = Entry {
            seq: self.seq + 1,
            by: by.map(str::to_string),
            input,
            events,
            inputs: Vec::new(),
            ts: now_ms(),
        };
        match self.rooms.store.append(&self.meta.room, self.last, &entry).await {
            Ok(stream_seq) => {
                (self.state, self.seq, self.last, self.last_ts) = (next, entry.seq, stream_seq, entry.ts);
                self.broadcast().await;
                Ok(self.seq)
            }
            Err(AppendError::Lost) => {
                self.lost = true;
                Err(RoomsError::Lost)
            }
            Err(AppendError::Bus(e)) => Err(RoomsError::Bus(e)),
        }
    }

    /// `{seq, state}` to every member on `room.{rid}.state` (`{seq}` alone when the game
    /// hides part of its state: members then ask `svc.rooms.state` for their view).
    async fn broadcast(&self) {
        let body = if self.game.hides() {
            json!({ "seq": self.seq })
        } else {
            json!({ "seq": self.seq, "state": self.state })
        };
        let subject = format!("room.{}.state", self.meta.room);
        if let Err(e) = self.rooms.nats.publish(subject, body.to_string().into()).await {
            tracing::warn!(room = %self.meta.room, error = %e, "broadcasting the state");
        }
    }

    /// When the player to move forfeits, if the game limits turns (unix ms).
    fn turn_deadline(&self) -> Option<u64> {
        let limit = self.game.meta().turn_timeout_ms?;
        turn(&self.state)?;
        if self.timed_out_at == Some(self.seq) {
            return None;
        }
        Some(self.last_ts + limit)
    }

    /// The player to move ran out of time: they forfeit.
    async fn time_out(&mut self) {
        let Some(player) = turn(&self.state).map(str::to_string) else {
            return;
        };
        self.timed_out_at = Some(self.seq);
        let forfeit = json!({"type": "forfeit", "player": player, "reason": "timeout"});
        if let Err(e) = self.commit(None, None, vec![forfeit]).await {
            tracing::warn!(room = %self.meta.room, error = %e, "forfeiting for time");
        }
    }

    /// Extends the lease; a lease we no longer hold means another replica has the room.
    async fn renew(&mut self) {
        match self.rooms.renew_lease(&self.meta.room, self.lease).await {
            Some(revision) => self.lease = revision,
            None => self.lost = true,
        }
    }

    /// Writes the finished room down (see [`finish::finish_owned`]).
    async fn finish(&mut self, renew: &mut tokio::time::Interval) {
        let (rooms, meta) = (&self.rooms, &self.meta);
        if finish::finish_owned(rooms, meta, &self.state, self.seq, &mut self.lease, renew).await {
            tracing::info!(room = %meta.room, game = %meta.game, seq = self.seq, "room finished");
        } else {
            self.lost = true;
        }
    }
}

/// Runs a game call off the async threads: a rule may use its whole time budget.
pub async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, chorus_games::RuleError> + Send + 'static,
) -> Result<T, RoomsError> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| RoomsError::Bus(format!("a game call panicked: {e}")))?
        .map_err(RoomsError::Rule)
}

/// Sleeps until unix ms `deadline` (forever when `None`).
async fn sleep_until_ms(deadline: Option<u64>) {
    match deadline {
        Some(at) => tokio::time::sleep(Duration::from_millis(at.saturating_sub(now_ms()))).await,
        None => std::future::pending().await,
    }
}
