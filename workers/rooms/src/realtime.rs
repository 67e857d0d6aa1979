//! A realtime room's task on the replica that owns it ([`LiveRoom`]): the room itself
//! ticks on a tick thread ([`crate::ticker`]); this task is its link to the bus. It passes
//! inputs to the thread (members' publishes on `room.{rid}.input`, checked by the
//! `Chorus-User` header the bridge stamps; and `svc.rooms.input`/`leave`, answered once a
//! tick applied them), appends each tick's inputs to the log with compare-and-set, keeps
//! the snapshot the thread makes once a second, answers `svc.rooms.state` from the latest
//! broadcast, renews the lease, and finishes the room when the game is over.

use crate::call::{Ask, Call, Forwarded};
use crate::error::RoomsError;
use crate::finish;
use crate::model::RoomMeta;
use crate::room::blocking;
use crate::seats;
use crate::shared::Rooms;
use crate::store::AppendError;
use crate::tickmsg::{self, Latest, Start, Told};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// A realtime room, owned by this replica.
pub struct LiveRoom {
    /// The worker's shared parts.
    rooms: Arc<Rooms>,
    /// What the room is.
    meta: RoomMeta,
    /// The stream sequence of the log's last entry (0: none), for compare-and-set.
    last: u64,
    /// Our lease's revision.
    lease: u64,
    /// The latest broadcast, written by the tick thread (with the whole state, even when
    /// the game hides part of it and broadcasts `{seq}` alone).
    latest: Latest,
    /// The game's rules, when it hides part of its state (`view`): each member's state is
    /// then its own view.
    hides: Option<Arc<dyn chorus_games::Game>>,
    /// Set when the room must stop here (lost to another replica, or it failed).
    stop: bool,
}

/// Runs realtime room `meta` here: its state after `tick` (with the log's last entry at
/// `last`) and the logged entries after it; subscribes its subjects and starts its task.
pub async fn start(
    rooms: &Arc<Rooms>,
    meta: RoomMeta,
    state: Value,
    tick: u64,
    last: u64,
    backlog: Vec<crate::model::Entry>,
    lease: u64,
) -> Result<(), RoomsError> {
    let rid = meta.room.clone();
    let game = rooms.game(&meta.game)?;
    let hz = game.meta().tick_hz;
    let hides = game.hides().then_some(game);
    let forwarded = rooms
        .nats
        .subscribe(format!("int.rooms.room.{rid}"))
        .await
        .map_err(RoomsError::bus)?;
    let inputs = rooms
        .nats
        .subscribe(format!("room.{rid}.input"))
        .await
        .map_err(RoomsError::bus)?;
    rooms.nats.flush().await.map_err(RoomsError::bus)?;
    let (told_tx, told) = mpsc::unbounded_channel();
    let latest: Latest = Arc::new(Mutex::new(Bytes::new()));
    let start = Start {
        meta: meta.clone(),
        hz,
        state,
        tick,
        backlog,
        told: told_tx,
        latest: latest.clone(),
        hides: hides.is_some(),
    };
    rooms.ticker.tell(&rid, tickmsg::Ask::Start(Box::new(start)));
    let (tx, calls) = mpsc::channel(64);
    rooms.insert(&rid, tx);
    let room = LiveRoom {
        rooms: rooms.clone(),
        meta,
        last,
        lease,
        latest,
        hides,
        stop: false,
    };
    tokio::spawn(room.run(calls, forwarded, inputs, told));
    Ok(())
}

/// A realtime room as its log says, for a replica taking it over: its snapshot (else the
/// first state) and the inputs logged after it; the tick thread replays them.
pub async fn take_over(rooms: &Arc<Rooms>, meta: RoomMeta, lease: u64) -> Result<(), RoomsError> {
    let (state, tick, after) = match rooms.store.snapshot(&meta.room).await? {
        Some(snap) => (snap.state, snap.tick, snap.after),
        None => {
            let game = rooms.game(&meta.game)?;
            let (players, seed) = (meta.game_players(), meta.seed);
            (blocking(move || game.init(&players, seed)).await?, 0, 0)
        }
    };
    let entries = rooms.store.read_log(&meta.room, after).await?;
    let last = entries.last().map_or(after, |(seq, _)| *seq);
    let backlog = entries
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| e.seq > tick)
        .collect();
    tracing::info!(room = %meta.room, from_tick = tick, "realtime room rebuilt from its snapshot and log");
    start(rooms, meta, state, tick, last, backlog, lease).await
}

impl LiveRoom {
    async fn run(
        mut self,
        mut calls: mpsc::Receiver<Call>,
        mut forwarded: async_nats::Subscriber,
        mut inputs: async_nats::Subscriber,
        mut told: mpsc::UnboundedReceiver<Told>,
    ) {
        let mut renew = tokio::time::interval(self.rooms.settings.lease / 3);
        renew.tick().await;
        loop {
            tokio::select! {
                biased;
                news = told.recv() => match news {
                    Some(Told::Over { tick, state }) => {
                        self.finish(tick, &state, &mut renew).await;
                        break;
                    }
                    Some(news) => self.hear(news).await,
                    None => break,
                },
                Some(msg) = inputs.next() => self.input(msg),
                call = calls.recv() => match call {
                    Some(call) => {
                        let answer = self.serve(&call.player, call.ask).await;
                        let _ = call.reply.send(answer);
                    }
                    None => break,
                },
                Some(msg) = forwarded.next() => self.serve_forwarded(msg).await,
                _ = renew.tick() => self.renew().await,
            }
            if self.stop {
                break;
            }
        }
        self.rooms.ticker.tell(
            &self.meta.room,
            tickmsg::Ask::Stop {
                rid: self.meta.room.clone(),
            },
        );
        let _ = forwarded.unsubscribe().await;
        let _ = inputs.unsubscribe().await;
        self.rooms.forget(&self.meta.room);
    }

    /// What the tick thread made: an entry to log, a snapshot to keep, a failure.
    async fn hear(&mut self, news: Told) {
        match news {
            Told::Entry(entry) => match self.rooms.store.append(&self.meta.room, self.last, &entry).await {
                Ok(stream_seq) => self.last = stream_seq,
                Err(AppendError::Lost) => {
                    tracing::warn!(room = %self.meta.room, "another replica took the realtime room");
                    self.stop = true;
                }
                Err(AppendError::Bus(e)) => {
                    tracing::warn!(room = %self.meta.room, error = %e, "logging a tick's inputs")
                }
            },
            Told::Snapshot { tick, state } => {
                if let Err(e) = self
                    .rooms
                    .store
                    .put_snapshot(&self.meta.room, tick, self.last, &state)
                    .await
                {
                    tracing::warn!(room = %self.meta.room, error = %e, "keeping a snapshot");
                }
            }
            Told::Failed(why) => {
                tracing::error!(room = %self.meta.room, error = %why, "a realtime room could not run");
                self.stop = true;
            }
            Told::Over { .. } => {}
        }
    }

    /// A member's (or its phone's) publish on `room.{rid}.input`: the game input, for the
    /// next tick, as the seat's.
    fn input(&self, msg: async_nats::Message) {
        let player = msg
            .headers
            .as_ref()
            .and_then(|h| h.get("Chorus-User"))
            .map(|v| v.as_str().to_string());
        let Some(player) = player.and_then(|p| self.meta.seat_of(&p).map(str::to_string)) else {
            return;
        };
        let Ok(input) = serde_json::from_slice::<Value>(&msg.payload) else {
            return;
        };
        let rid = self.meta.room.clone();
        self.rooms.ticker.tell(
            &rid.clone(),
            tickmsg::Ask::Input {
                rid,
                player,
                input,
                reply: None,
            },
        );
    }

    /// One call from a player (or a phone steering its seat): the state now, an input or a
    /// leave (answered by the tick), or a phone pairing.
    async fn serve(&mut self, caller: &str, ask: Ask) -> Result<Value, RoomsError> {
        if matches!(ask, Ask::Pair(_) | Ask::Resume(_)) {
            return seats::on_owner(&self.rooms, &mut self.meta, caller, ask).await;
        }
        let player = seats::seat_for(&self.meta, caller, &ask)?;
        let rid = self.meta.room.clone();
        let (reply, applied) = oneshot::channel();
        let reply = Some(reply);
        let ask = match ask {
            Ask::State => {
                let latest = self.latest.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let mut latest: Value = serde_json::from_slice(&latest).unwrap_or_else(|_| json!({"seq": 0}));
                let over = latest.get("state").and_then(chorus_games::outcome).is_some();
                let mut state = latest["state"].take();
                if let Some(game) = self.hides.clone() {
                    let seat = player.clone();
                    state = blocking(move || game.view(&state, &seat)).await?;
                }
                return Ok(json!({
                    "room": rid, "game": self.meta.game, "seq": latest["seq"], "state": state,
                    "players": self.meta.players, "over": over,
                }));
            }
            Ask::Input(input) => tickmsg::Ask::Input {
                rid: rid.clone(),
                player,
                input,
                reply,
            },
            Ask::Leave => tickmsg::Ask::Forfeit {
                rid: rid.clone(),
                player,
                reply,
            },
            Ask::Pair(_) | Ask::Resume(_) => unreachable!("pairing is answered above"),
        };
        self.rooms.ticker.tell(&rid, ask);
        match applied.await {
            Ok(applied) => applied.map(|tick| json!({ "seq": tick })),
            Err(_) => Err(RoomsError::Over),
        }
    }

    /// A call another replica forwarded.
    async fn serve_forwarded(&mut self, msg: async_nats::Message) {
        let Some(reply) = msg.reply.clone() else { return };
        let answer = match Forwarded::parse(&msg.payload) {
            Some((player, ask)) => self.serve(&player, ask).await,
            None => Err(RoomsError::Bus("a malformed forwarded call".into())),
        };
        if let Err(e) = self
            .rooms
            .nats
            .publish(reply, Forwarded::answer(answer).into())
            .await
        {
            tracing::warn!(room = %self.meta.room, error = %e, "answering a forwarded call");
        }
    }

    /// Extends the lease; a lease we no longer hold means another replica has the room.
    async fn renew(&mut self) {
        match self.rooms.renew_lease(&self.meta.room, self.lease).await {
            Some(revision) => self.lease = revision,
            None => self.stop = true,
        }
    }

    /// Writes the finished room down (see [`finish::finish_owned`]).
    async fn finish(&mut self, tick: u64, state: &Value, renew: &mut tokio::time::Interval) {
        let (rooms, meta) = (&self.rooms, &self.meta);
        if finish::finish_owned(rooms, meta, state, tick, &mut self.lease, renew).await {
            tracing::info!(room = %meta.room, game = %meta.game, tick, "realtime room finished");
        } else {
            self.stop = true;
        }
    }
}
