//! What travels between a realtime room's task and its tick thread ([`Ask`], [`Told`]),
//! and what every tick thread shares ([`Shared`]).

use crate::error::RoomsError;
use crate::model::{Entry, RoomMeta, now_ms};
use bytes::Bytes;
use prometheus_client::metrics::histogram::Histogram;
use serde_json::Value;
use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// The latest broadcast of a room (`{"seq":…,"state":…}`), for `svc.rooms.state`.
pub type Latest = Arc<Mutex<Bytes>>;

/// What a room's thread tells the room's task.
#[derive(Debug)]
pub enum Told {
    /// The inputs applied at a tick, to append to the log.
    Entry(Entry),
    /// The state after tick `tick` (JSON), to keep as the room's snapshot.
    Snapshot {
        /// The tick.
        tick: u64,
        /// The state.
        state: Bytes,
    },
    /// The game is over at `tick`, in `state`.
    Over {
        /// The last tick.
        tick: u64,
        /// The final state.
        state: Value,
    },
    /// The room could not run (its game failed to load or to take the state).
    Failed(String),
}

/// A room to run: its state at `tick` and the logged inputs after it.
pub struct Start {
    /// The room.
    pub meta: RoomMeta,
    /// Ticks per second.
    pub hz: u32,
    /// Its state after tick `tick` (the first state at 0).
    pub state: Value,
    /// The tick `state` is at.
    pub tick: u64,
    /// Logged entries after `tick` (a takeover replays them at their ticks).
    pub backlog: Vec<Entry>,
    /// Where the room's task hears from the thread.
    pub told: mpsc::UnboundedSender<Told>,
    /// The latest broadcast.
    pub latest: Latest,
    /// Whether the game hides part of its state: then the broadcast is `{seq}` alone.
    pub hides: bool,
}

/// An answer to an input or a forfeit: the tick that applied it.
pub type Applied = oneshot::Sender<Result<u64, RoomsError>>;

/// What a thread is asked.
pub enum Ask {
    /// Run a room.
    Start(Box<Start>),
    /// A player's input for the next tick (`reply`: for `svc.rooms.input`).
    Input {
        /// The room.
        rid: String,
        /// Who sent it.
        player: String,
        /// What they sent.
        input: Value,
        /// Where the tick that applied it (or the refusal) goes.
        reply: Option<Applied>,
    },
    /// A player leaves at the next tick.
    Forfeit {
        /// The room.
        rid: String,
        /// Who leaves.
        player: String,
        /// Where the tick that applied it goes.
        reply: Option<Applied>,
    },
    /// Stop running a room (another replica has it, or it finished).
    Stop {
        /// The room.
        rid: String,
    },
}

/// One pending input of a room.
pub enum Pending {
    /// A player's input.
    Input(String, Value, Option<Applied>),
    /// A player's forfeit.
    Forfeit(String, Option<Applied>),
}

/// What a tick thread needs besides its rooms.
#[derive(Clone)]
pub struct Shared {
    /// Where the game files are (each thread loads its own engines).
    pub games_dir: PathBuf,
    /// The engines' limits.
    pub limits: chorus_games::Limits,
    /// Where broadcasts go, a batch at a time, published by one task.
    pub publish: mpsc::UnboundedSender<Vec<(async_nats::Subject, Bytes)>>,
    /// This thread's broadcasts not yet handed over: a thread hands them over once per
    /// pass over its due ticks ([`Shared::flush`]), so the publisher wakes once per pass,
    /// not once per room.
    pub outbox: RefCell<Vec<(async_nats::Subject, Bytes)>>,
    /// How late ticks start, in seconds.
    pub lateness: Histogram,
}

impl Shared {
    /// Queues a broadcast for the next [`Shared::flush`].
    pub fn queue(&self, subject: async_nats::Subject, body: Bytes) {
        self.outbox.borrow_mut().push((subject, body));
    }

    /// Hands the queued broadcasts to the publisher.
    pub fn flush(&self) {
        let batch = std::mem::take(&mut *self.outbox.borrow_mut());
        if !batch.is_empty() {
            let _ = self.publish.send(batch);
        }
    }
}

/// The number of whole ticks of `hz` between unix ms `start` and `now`.
pub fn ticks_since(start_ms: u64, now: u64, hz: u32) -> u64 {
    now.saturating_sub(start_ms) * u64::from(hz) / 1000
}

/// The tick due now for a room that started at `start_ms`.
pub fn tick_now(start_ms: u64, hz: u32) -> u64 {
    ticks_since(start_ms, now_ms(), hz)
}
