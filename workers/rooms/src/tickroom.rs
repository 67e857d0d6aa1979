//! One realtime room on its tick thread ([`TickRoom`]): its live state in the thread's
//! engine, its inputs waiting for the next tick, and what one tick does: apply them (each
//! its own call: a refused or failing input fails alone), run `tick` (a failing tick fails
//! alone), write the state out once, broadcast `{"seq":tick,"state":…}`, hand the applied
//! inputs to the room's task for the log and, once a second, a snapshot. Started from a
//! snapshot and the inputs logged after it, it replays them at their ticks and catches up
//! to the tick due now without broadcasting the ticks in between.

use crate::error::RoomsError;
use crate::model::{Entry, Logged, now_ms};
use crate::tickmsg::{Latest, Pending, Shared, Start, Told};
use bytes::Bytes;
use chorus_games::{Live, LiveGame};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// A realtime room on this thread.
pub struct TickRoom {
    /// The room id.
    pub rid: String,
    /// Its game id (the thread's engine for it).
    pub game: String,
    /// Its state, in that engine.
    live: Option<Live>,
    /// Ticks per second, and the time one tick stands for.
    hz: u32,
    dt_ms: u32,
    /// The tick the state is at.
    tick: u64,
    /// When tick 0 was, on this machine's monotonic clock.
    base: Instant,
    /// Inputs for the next tick, in arrival order.
    pub pending: Vec<Pending>,
    /// `room.{rid}.state`.
    subject: async_nats::Subject,
    /// The room's task.
    told: mpsc::UnboundedSender<Told>,
    /// The latest broadcast, for `svc.rooms.state`.
    latest: Latest,
    /// The state written out at the last tick.
    buf: Vec<u8>,
    /// Whether the game hides part of its state (`view`): the broadcast is `{seq}` alone,
    /// and members ask for their own view.
    hides: bool,
}

impl TickRoom {
    /// The room of `start` in `game`, caught up to the tick due now; `None` when it could
    /// not start or ended while catching up (its task has been told).
    pub fn start(start: Start, game: &dyn LiveGame, shared: &Shared) -> Option<TickRoom> {
        let Start {
            meta,
            hz,
            state,
            tick,
            backlog,
            told,
            latest,
            hides,
        } = start;
        let live = match game.live_insert(&state) {
            Ok(live) => live,
            Err(e) => {
                let _ = told.send(Told::Failed(e.to_string()));
                return None;
            }
        };
        let behind = Duration::from_millis(now_ms().saturating_sub(meta.created_ms));
        let mut room = TickRoom {
            subject: format!("room.{}.state", meta.room).into(),
            rid: meta.room,
            game: meta.game,
            live: Some(live),
            hz,
            dt_ms: 1000 / hz,
            tick,
            base: Instant::now().checked_sub(behind).unwrap_or_else(Instant::now),
            pending: Vec::new(),
            told,
            latest,
            buf: Vec::with_capacity(1024),
            hides,
        };
        let target = crate::tickmsg::tick_now(meta.created_ms, hz).max(backlog.last().map_or(0, |e| e.seq));
        let mut backlog = backlog.into_iter().peekable();
        while room.tick < target {
            while let Some(entry) = backlog.next_if(|e| e.seq <= room.tick + 1) {
                room.pending
                    .extend(entry.inputs.into_iter().map(|l| match (l.input, l.forfeit) {
                        (Some(input), _) => Pending::Input(l.by, input, None),
                        (None, _) => Pending::Forfeit(l.by, None),
                    }));
            }
            if room.step(game, shared, false) {
                return None;
            }
        }
        match room.write_out(game) {
            Some(true) => {
                room.tell_over(game);
                return None;
            }
            Some(false) => room.publish(shared),
            None => {}
        }
        Some(room)
    }

    /// When the next tick is due.
    pub fn due(&self) -> Instant {
        self.base + Duration::from_nanos(1_000_000_000 / u64::from(self.hz) * (self.tick + 1))
    }

    /// One tick; `live`: a tick on time (else one replayed while catching up: nothing is
    /// logged, broadcast or observed). Returns whether the game is over (the room's task
    /// has been told, and the room must go).
    pub fn step(&mut self, game: &dyn LiveGame, shared: &Shared, live: bool) -> bool {
        let Some(state) = self.live.as_ref() else {
            return true;
        };
        if live {
            let late = Instant::now().saturating_duration_since(self.due());
            shared.lateness.observe(late.as_secs_f64());
        }
        let t = self.tick + 1;
        let mut logged = Vec::new();
        for pending in self.pending.drain(..) {
            match pending {
                Pending::Input(by, input, reply) => {
                    let verdict = match game.live_command(state, &by, &input) {
                        Ok(None) => Ok(t),
                        Ok(Some(refusal)) => Err(RoomsError::Refused(refusal)),
                        Err(rule) => Err(RoomsError::Rule(rule)),
                    };
                    if verdict.is_ok() {
                        logged.push(Logged {
                            by,
                            input: Some(input),
                            forfeit: None,
                        });
                    }
                    if let Some(reply) = reply {
                        let _ = reply.send(verdict);
                    }
                }
                Pending::Forfeit(by, reply) => {
                    let forfeit = json!({"type": "forfeit", "player": by, "reason": "left"});
                    let verdict = game
                        .live_apply(state, &[forfeit])
                        .map(|()| t)
                        .map_err(RoomsError::Rule);
                    if verdict.is_ok() {
                        logged.push(Logged {
                            by,
                            input: None,
                            forfeit: Some("left".into()),
                        });
                    }
                    if let Some(reply) = reply {
                        let _ = reply.send(verdict);
                    }
                }
            }
        }
        if let Err(e) = game.live_tick(state, self.dt_ms) {
            tracing::debug!(room = %self.rid, tick = t, error = %e, "a tick failed; the room goes on");
        }
        self.tick = t;
        if live && !logged.is_empty() {
            let entry = Entry {
                seq: t,
                by: None,
                input: None,
                events: Vec::new(),
                inputs: logged,
                ts: now_ms(),
            };
            let _ = self.told.send(Told::Entry(entry));
        }
        let written = self.write_out(game);
        let over = written == Some(true);
        if live && written.is_some() {
            self.publish(shared);
            if t.is_multiple_of(u64::from(self.hz)) {
                let snapshot = Told::Snapshot {
                    tick: t,
                    state: Bytes::copy_from_slice(&self.buf),
                };
                let _ = self.told.send(snapshot);
            }
        }
        if over {
            self.tell_over(game);
        }
        over
    }

    /// Writes the state out into `buf`: whether the game is over, `None` when it could not
    /// be written (nothing is broadcast then).
    fn write_out(&mut self, game: &dyn LiveGame) -> Option<bool> {
        let state = self.live.as_ref()?;
        self.buf.clear();
        match game.live_encode(state, &mut self.buf) {
            Ok(over) => Some(over.is_some()),
            Err(e) => {
                tracing::warn!(room = %self.rid, error = %e, "writing a realtime state out");
                None
            }
        }
    }

    /// Tells the room's task the game is over, with the final state.
    fn tell_over(&self, game: &dyn LiveGame) {
        let state = self
            .live
            .as_ref()
            .and_then(|live| game.live_value(live).ok())
            .unwrap_or_default();
        let _ = self.told.send(Told::Over {
            tick: self.tick,
            state,
        });
    }

    /// Broadcasts the state written out last (only its `seq` when the game hides part of
    /// it), and keeps it as the latest.
    fn publish(&self, shared: &Shared) {
        let mut body = Vec::with_capacity(self.buf.len() + 32);
        body.extend_from_slice(format!("{{\"seq\":{},\"state\":", self.tick).as_bytes());
        body.extend_from_slice(&self.buf);
        body.push(b'}');
        let body = Bytes::from(body);
        *self.latest.lock().unwrap_or_else(|p| p.into_inner()) = body.clone();
        let broadcast = match self.hides {
            true => Bytes::from(format!("{{\"seq\":{}}}", self.tick)),
            false => body,
        };
        shared.queue(self.subject.clone(), broadcast);
    }

    /// Takes the room's state out of the engine.
    pub fn close(mut self, game: &dyn LiveGame) {
        if let Some(live) = self.live.take() {
            game.live_remove(live);
        }
    }
}
